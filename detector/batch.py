"""Run a Detector over a whole input (file, folder, stdin or table), chunk by chunk.

The one loop the CLI's ``strip`` and ``label`` share: read a chunk, label all its articles in one
batched prediction, write the chunk, report progress. Output keeps the input's format.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from detector.detect import Detector
from detector.io import DEFAULT_CHUNK_ROWS, Chunk, Input, Output, TableWriter

__all__ = ["MODES", "RunStats", "run"]

MODES = ("strip", "mark", "label")


@dataclass
class RunStats:
    """What a run did, for the CLI's summary line."""

    articles: int = 0
    chars_in: int = 0
    chars_removed: int = 0
    #: (article id, reason) of every bad row passed through unchanged (on_error="skip").
    skipped: list[tuple[str, str]] = field(default_factory=list)


def run(
    detector: Detector,
    source: Input,
    output: Output,
    *,
    mode: str = "strip",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> RunStats:
    """Strip, mark or label every article of ``source`` into ``output``.

    With ``jobs`` > 1 chunks are processed in that many worker processes and written in input
    order; each worker loads the model once. ``progress(articles, chars)`` is called after each
    chunk with that chunk's counts.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    stats = RunStats()
    with output.writer() as writer:
        for chunk, done in _results(detector, source.chunks(chunk_rows), mode, jobs):
            _write(chunk, done, mode, writer, source.text_field, stats)
            if progress is not None:
                progress(len(chunk.texts), sum(map(len, chunk.texts)))
    return stats


def _results(
    detector: Detector, chunks: Iterator[Chunk], mode: str, jobs: int
) -> Iterator[tuple[Chunk, list[Any]]]:
    """Each chunk with the results for its good rows, in input order."""
    if jobs == 1:
        for chunk in chunks:
            yield chunk, _compute(detector, mode, [chunk.texts[k] for k in chunk.good])
        return
    from joblib import Parallel, delayed

    sent: deque[Chunk] = deque()

    def tasks() -> Iterator[Any]:
        for chunk in chunks:
            sent.append(chunk)
            yield delayed(_compute)(detector, mode, [chunk.texts[k] for k in chunk.good])

    with Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs") as parallel:
        for done in parallel(tasks()):
            yield sent.popleft(), done


def _compute(detector: Detector, mode: str, texts: list[str]) -> list[Any]:
    """The work on one chunk's texts; runs in a worker process when jobs > 1."""
    if mode == "label":
        return [[s.to_dict() for s in spans] for spans in detector.label_many(texts)]
    if mode == "mark":
        return detector.mark_many(texts)
    return detector.strip_many(texts)


def _write(
    chunk: Chunk,
    done: list[Any],
    mode: str,
    writer: TableWriter,
    text_field: str,
    stats: RunStats,
) -> None:
    good = chunk.good
    stats.articles += len(good)
    stats.chars_in += sum(len(chunk.texts[k]) for k in good)
    stats.skipped += [(chunk.ids[k], reason) for k, reason in sorted(chunk.skipped.items())]
    if mode == "label":
        # Offsets of text extracted from HTML point into that text: it goes with its spans.
        writer.write_records([
            {"id": chunk.ids[k], **({"text": chunk.texts[k]} if k in chunk.extracted else {}),
             "spans": spans}
            for k, spans in zip(good, done)
        ])
        return
    out = list(chunk.texts)
    for k, text in zip(good, done):
        out[k] = text
    if mode == "strip":
        stats.chars_removed += sum(len(chunk.texts[k]) - len(t) for k, t in zip(good, done))
    writer.write_texts(chunk, out, text_field)
