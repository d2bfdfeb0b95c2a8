"""Run a Detector over a whole input (file, folder, stdin or table), chunk by chunk.

The one loop the CLI's ``strip`` and ``label`` share: read a chunk, label all its articles in one
batched prediction, write the chunk, report progress. Output keeps the input's format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
    progress: Callable[[int, int], None] | None = None,
) -> RunStats:
    """Strip, mark or label every article of ``source`` into ``output``.

    ``progress(articles, chars)`` is called after each chunk with that chunk's counts.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    stats = RunStats()
    with output.writer() as writer:
        for chunk in source.chunks(chunk_rows):
            _process(detector, chunk, mode, writer, source.text_field, stats)
            if progress is not None:
                progress(len(chunk.texts), sum(map(len, chunk.texts)))
    return stats


def _process(
    detector: Detector,
    chunk: Chunk,
    mode: str,
    writer: TableWriter,
    text_field: str,
    stats: RunStats,
) -> None:
    good = [k for k in range(len(chunk.texts)) if k not in chunk.skipped]
    texts = [chunk.texts[k] for k in good]
    stats.articles += len(texts)
    stats.chars_in += sum(map(len, texts))
    stats.skipped += [(chunk.ids[k], reason) for k, reason in sorted(chunk.skipped.items())]
    if mode == "label":
        labeled = detector.label_many(texts)
        writer.write_records(
            [
                {"id": chunk.ids[k], "spans": [s.to_dict() for s in spans]}
                for k, spans in zip(good, labeled)
            ]
        )
        return
    if mode == "mark":
        done = detector.mark_many(texts)
    else:
        done = detector.strip_many(texts)
        stats.chars_removed += sum(map(len, texts)) - sum(map(len, done))
    out = list(chunk.texts)
    for k, text in zip(good, done):
        out[k] = text
    writer.write_texts(chunk, out, text_field)
