"""Inputs + a Detector -> one self-contained HTML report (see :mod:`detector.report_html`).

The inputs stream through in chunks: every article counts in the per-source summary (articles,
share of text removed, score histogram), the first ``limit`` are kept for display. Articles
that carry gold ``spans`` (data/FORMAT.md) are also scored with :func:`detector.evaluate`'s
character counts, so the report's figures are exactly those of ``detector evaluate``, and once
more at each threshold of the precision/recall curve.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detector.defaults import REPORT_LIMIT
from detector.detect import Detector, LabeledSpan
from detector.evaluate import char_counts, summarize
from detector.io import Chunk, Input, atomic_write, labeled_spans

__all__ = [
    "CURVE_THRESHOLDS",
    "DEFAULT_LIMIT",
    "HISTOGRAM_BINS",
    "Article",
    "ReportData",
    "SourceSummary",
    "collect",
    "write_report",
]

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = REPORT_LIMIT
#: Thresholds at which gold articles are labeled again for the precision/recall chart.
CURVE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
HISTOGRAM_BINS = 20
#: Gold classes of a segment in the histogram: the label covering most of its characters.
SEGMENT_CLASSES = ("advert", "editorial", "neutral", "unlabeled")
ALL = "ALL"


@dataclass
class Article:
    """One article to display: its text, every predicted segment and, if labeled, gold spans."""

    id: str
    source: str
    text: str
    spans: list[LabeledSpan]
    removed: list[bool]
    gold: list[dict[str, Any]] | None = None


@dataclass
class SourceSummary:
    """What a source's articles add up to; ``counts`` and ``curve`` only over gold articles."""

    articles: int = 0
    gold_articles: int = 0
    with_adverts: int = 0
    chars: int = 0
    removed_chars: int = 0
    #: Segments per score bin and gold class (SEGMENT_CLASSES).
    histogram: list[dict[str, int]] = field(
        default_factory=lambda: [dict.fromkeys(SEGMENT_CLASSES, 0) for _ in range(HISTOGRAM_BINS)]
    )
    counts: dict[str, int] = field(default_factory=dict)
    curve: dict[float, dict[str, int]] = field(default_factory=dict)

    @property
    def removed_share(self) -> float:
        return self.removed_chars / self.chars if self.chars else 0.0

    def metrics(self) -> dict[str, float] | None:
        """detector.evaluate's figures over the gold articles, or None without any."""
        return summarize(self.counts) if self.gold_articles else None

    def curve_metrics(self) -> dict[float, dict[str, float]]:
        return {t: summarize(c) for t, c in sorted(self.curve.items())}


@dataclass
class ReportData:
    """Everything the HTML shows: per-source summaries (``ALL`` first) and the shown articles."""

    title: str
    threshold: float
    model: str
    sources: dict[str, SourceSummary]
    articles: list[Article]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def collect(
    inputs: Sequence[Input],
    detector: Detector,
    *,
    limit: int = DEFAULT_LIMIT,
    curve: Sequence[float] = CURVE_THRESHOLDS,
    title: str = "detector report",
    model_name: str = "default",
    progress: Callable[[int, int], None] | None = None,
    site_field: str | None = None,
) -> ReportData:
    """Label every article of ``inputs`` and gather what the report shows.

    Gold articles (a JSONL ``spans`` field) are labeled once more at each threshold of
    ``curve`` other than the detector's own. With the detector's template counts, each
    article's site comes from ``site_field`` as in :func:`detector.batch.chunk_sites`.
    """
    from detector.batch import chunk_sites

    removable = set(detector.removable)
    at = {
        t: Detector(detector.model, threshold=t, keep=detector.keep, templates=detector.templates)
        for t in curve
    }
    at.pop(detector.threshold, None)
    thresholds = sorted({*curve, detector.threshold}) if curve else []
    summaries: dict[str, SourceSummary] = {ALL: SourceSummary()}
    shown: list[Article] = []
    skipped: list[tuple[str, str]] = []
    for source in inputs:
        fallback = "stdin" if source.path == "-" else Path(source.path).name
        for chunk in source.chunks():
            skipped += [(chunk.ids[k], why) for k, why in sorted(chunk.skipped.items())]
            rows = list(_rows(chunk, source.path, fallback))
            every_site = chunk_sites(chunk, site_field, source.path)
            sites = [every_site[k] for k in chunk.good]
            labeled = detector.label_many([text for _, _, text, _ in rows], sites=sites)
            gold_rows = [k for k, row in enumerate(rows) if row[3] is not None]
            position = {k: j for j, k in enumerate(gold_rows)}
            others = {
                t: d.label_many(
                    [rows[k][2] for k in gold_rows], sites=[sites[k] for k in gold_rows]
                )
                for t, d in at.items()
            }
            for k, ((ident, name, text, gold), spans) in enumerate(zip(rows, labeled)):
                removed = [s.label in removable for s in spans]
                targets = [summaries[ALL], summaries.setdefault(name, SourceSummary())]
                for summary in targets:
                    _count(summary, text, spans, removed, gold)
                if gold is not None:
                    for t in thresholds:
                        got = others[t][position[k]] if t in others else spans
                        counts = char_counts(text, gold, _pred(got))
                        for summary in targets:
                            _add(summary.curve.setdefault(t, {}), counts)
                if len(shown) < limit:
                    shown.append(Article(ident, name, text, spans, removed, gold))
            if progress is not None:
                progress(len(rows), sum(len(r[2]) for r in rows))
    summaries = {ALL: summaries.pop(ALL), **dict(sorted(summaries.items()))}
    if len(summaries) == 2:  # one source: ALL would repeat it
        del summaries[ALL]
    logger.info("%d articles, %d shown", next(iter(summaries.values())).articles, len(shown))
    return ReportData(title, detector.threshold, model_name, summaries, shown, skipped)


def plural(n: int, noun: str) -> str:
    """``n`` with thousands separators and ``noun``, plural unless ``n`` is 1: "1 article",
    "2,310 articles"."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def write_report(
    inputs: Sequence[Input],
    output: str,
    detector: Detector,
    **options: Any,
) -> ReportData:
    """Write the HTML report on ``inputs`` to ``output`` (atomically); options as :func:`collect`.

    Returns what the report shows, for a summary line.
    """
    from detector.report_html import render

    with atomic_write(output) as tmp:  # a missing output folder fails before the work
        data = collect(inputs, detector, **options)
        # a lone surrogate (UTF-8 cannot hold it) shows as a character reference
        Path(tmp).write_text(render(data), encoding="utf-8", errors="xmlcharrefreplace")
    return data


def _rows(chunk: Chunk, path: str, fallback: str) -> Iterator[tuple[str, str, str, Any]]:
    """(id, source, text, gold spans or None) for each good row of a chunk."""
    frame_sources = None if isinstance(chunk.rows, list) else chunk.values("source")
    for k in chunk.good:
        row = chunk.rows[k] if isinstance(chunk.rows, list) else None
        name: Any = None
        gold = None
        if isinstance(row, dict):
            name = row.get("source")
            if "spans" in row:
                gold = labeled_spans(row, f"{path} article {chunk.ids[k]!r}")
        elif frame_sources is not None:
            name = frame_sources[k]
        source = name if isinstance(name, str) and name else fallback
        yield chunk.ids[k], source, chunk.texts[k], gold


def _pred(spans: Sequence[LabeledSpan]) -> list[dict[str, Any]]:
    return [s.to_dict() for s in spans]


def _count(
    summary: SourceSummary,
    text: str,
    spans: Sequence[LabeledSpan],
    removed: Sequence[bool],
    gold: list[dict[str, Any]] | None,
) -> None:
    """Add one article to a source's summary."""
    summary.articles += 1
    solid = [sum(not c.isspace() for c in text[s.start : s.end]) for s in spans]
    summary.chars += sum(not c.isspace() for c in text)
    summary.removed_chars += sum(n for n, r in zip(solid, removed) if r)
    summary.with_adverts += any(removed)
    for span, n in zip(spans, solid):
        if n:
            b = min(int(span.score * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)
            summary.histogram[b][_segment_class(text, span, gold)] += 1
    if gold is not None:
        summary.gold_articles += 1
        _add(summary.counts, char_counts(text, gold, _pred(spans)))


def _segment_class(text: str, span: LabeledSpan, gold: list[dict[str, Any]] | None) -> str:
    """The gold label covering most of a segment's non-space characters."""
    if gold is None:
        return "unlabeled"
    share = {"advert": 0, "neutral": 0}
    for g in gold:
        lo, hi = max(g["start"], span.start), min(g["end"], span.end)
        if lo < hi:
            key = "neutral" if g["label"] == "neutral" else "advert"
            share[key] += sum(not c.isspace() for c in text[lo:hi])
    solid = sum(not c.isspace() for c in text[span.start : span.end])
    best = max(share, key=lambda k: share[k])
    return best if 2 * share[best] > solid else "editorial"


def _add(total: dict[str, int], counts: dict[str, int]) -> None:
    for key, value in counts.items():
        total[key] = total.get(key, 0) + value
