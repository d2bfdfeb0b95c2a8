"""Run a Detector over a whole input (file, folder, stdin or table), chunk by chunk.

The one loop the CLI's ``strip`` and ``label`` share: read a chunk, label all its articles in one
batched prediction, write the chunk, report progress. Output keeps the input's format. Before
it, :func:`count_input` can make one streaming pass over the input to count each site's
recurring segment shapes (:mod:`detector.templates`), which the labeling pass then uses.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from detector.detect import Detector
from detector.errors import InputError
from detector.io import DEFAULT_CHUNK_ROWS, Chunk, Input, Output, TableWriter
from detector.templates import ONE_SITE, TemplateTable, count_templates, site_of

__all__ = ["MODES", "RunStats", "chunk_sites", "count_input", "run", "top_templates"]

#: Where an article's site comes from when no --site-field is given: the host of its URL,
#: else its source.
SITE_FIELDS = ("url", "source")

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
    site_field: str | None = None,
) -> RunStats:
    """Strip, mark or label every article of ``source`` into ``output``.

    With ``jobs`` > 1 chunks are processed in that many worker processes and written in input
    order; each worker loads the model once. ``progress(articles, chars)`` is called after each
    chunk with that chunk's counts. ``site_field`` names the field holding each article's
    site (see :func:`chunk_sites`), used with the detector's template counts.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    stats = RunStats()
    chunks = source.chunks(chunk_rows)
    with output.writer() as writer:
        for chunk, done in _results(detector, chunks, mode, jobs, site_field, source.path):
            _write(chunk, done, mode, writer, source.text_field, stats)
            if progress is not None:
                progress(len(chunk.texts), sum(map(len, chunk.texts)))
    return stats


def count_input(
    source: Input,
    *,
    site_field: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    table: TemplateTable | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TemplateTable:
    """One streaming pass over ``source``: the per-site shape counts of all its articles."""
    table = TemplateTable() if table is None else table
    for chunk in source.chunks(chunk_rows):
        sites = chunk_sites(chunk, site_field, source.path)
        good = chunk.good
        count_templates(((sites[k], chunk.texts[k]) for k in good), table=table)
        if progress is not None:
            progress(len(good), sum(len(chunk.texts[k]) for k in good))
    return table


def chunk_sites(chunk: Chunk, site_field: str | None, path: str = "input") -> list[str]:
    """Each article's site: its ``site_field`` value (a URL counts as its host); without
    ``site_field``, the host of a ``url`` field, else a ``source`` field, else one site for the
    whole input."""
    if site_field is not None:
        values = chunk.values(site_field)
        if values is None:
            raise InputError(f"{path} has no field '{site_field}' (given as --site-field)")
        return [site_of(v) for v in values]
    for name in SITE_FIELDS:
        values = chunk.values(name)
        if values is not None:
            return [site_of(v) for v in values]
    return [ONE_SITE] * len(chunk.texts)


def _results(
    detector: Detector,
    chunks: Iterator[Chunk],
    mode: str,
    jobs: int,
    site_field: str | None = None,
    path: str = "input",
) -> Iterator[tuple[Chunk, list[Any]]]:
    """Each chunk with the results for its good rows, in input order."""

    def work(chunk: Chunk) -> tuple[list[str], list[str]]:
        sites = chunk_sites(chunk, site_field, path)
        return [chunk.texts[k] for k in chunk.good], [sites[k] for k in chunk.good]

    if jobs == 1:
        for chunk in chunks:
            yield chunk, _compute(detector, mode, *work(chunk))
        return
    from joblib import Parallel, delayed

    sent: deque[Chunk] = deque()

    def tasks() -> Iterator[Any]:
        for chunk in chunks:
            sent.append(chunk)
            yield delayed(_compute)(detector, mode, *work(chunk))

    with Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs") as parallel:
        for done in parallel(tasks()):
            yield sent.popleft(), done


def _compute(detector: Detector, mode: str, texts: list[str], sites: list[str]) -> list[Any]:
    """The work on one chunk's texts; runs in a worker process when jobs > 1."""
    if mode == "label":
        return [[s.to_dict() for s in spans] for spans in detector.label_many(texts, sites=sites)]
    if mode == "mark":
        return detector.mark_many(texts, sites=sites)
    return detector.strip_many(texts, sites=sites)


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


def top_templates(table: TemplateTable, detector: Detector, *, n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` most frequent shapes of each site, largest sites first, each with its number
    of articles, its share of the site's articles, an example and the advert score the
    detector gives that example with the table's counts (what it would strip)."""
    scorer = Detector(
        detector.model, threshold=detector.threshold, keep=detector.keep, templates=table
    )
    out = []
    for site, articles in sorted(table.sites.items(), key=lambda kv: (-kv[1], kv[0])):
        top = table.top(site, n)
        if not top:
            continue
        labeled = scorer.label_many([example for _, _, example in top], sites=[site] * len(top))
        for (shape, count, example), spans in zip(top, labeled):
            removed = [s for s in spans if s.label in scorer.removable]
            out.append(
                {
                    "site": site,
                    "site_articles": articles,
                    "shape": shape,
                    "articles": count,
                    "share": round(count / articles, 4),
                    "advert_score": round(max((s.score for s in spans), default=0.0), 4),
                    "removed": bool(removed),
                    "example": example,
                }
            )
    return out
