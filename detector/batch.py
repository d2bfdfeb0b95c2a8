"""Run a Detector over a whole input (file, folder, stdin or table), chunk by chunk.

The one loop the CLI's ``strip`` and ``label`` share: read a chunk, label all its articles in one
batched prediction, write the chunk, report progress. Output keeps the input's format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
    stats.articles += len(chunk.texts)
    stats.chars_in += sum(map(len, chunk.texts))
    if mode == "label":
        labeled = detector.label_many(chunk.texts)
        writer.write_records(
            [
                {"id": doc_id, "spans": [s.to_dict() for s in spans]}
                for doc_id, spans in zip(chunk.ids, labeled)
            ]
        )
        return
    if mode == "mark":
        texts = detector.mark_many(chunk.texts)
    else:
        texts = detector.strip_many(chunk.texts)
        stats.chars_removed += sum(map(len, chunk.texts)) - sum(map(len, texts))
    writer.write_texts(chunk, texts, text_field)
