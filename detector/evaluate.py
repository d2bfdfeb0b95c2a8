"""Gold + predictions -> Report: character-level advert metrics per source.

Follows ../shared/data/FORMAT.md and agrees with its scorer, ``tools/score.py``: all figures
are over non-space characters; gold ``neutral`` characters count neither way; a predicted span
counts as removed unless its label is ``editorial`` or ``neutral``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "METRICS",
    "char_counts",
    "compare_reports",
    "evaluate",
    "evaluate_detector",
    "format_report",
    "summarize",
]

METRICS = [
    "docs",
    "clean_docs",
    "advert_precision",
    "advert_recall",
    "advert_f1",
    "editorial_loss",
    "advert_residue",
]
_KEPT = ("editorial", "neutral")


def _mask(n: int, spans: Iterable[Mapping[str, Any]]) -> bytearray:
    m = bytearray(n)
    for s in spans:
        a, b = max(0, int(s["start"])), min(n, int(s["end"]))
        if a < b:
            m[a:b] = b"\x01" * (b - a)
    return m


def char_counts(
    text: str, gold: Sequence[Mapping[str, Any]], pred: Sequence[Mapping[str, Any]]
) -> dict[str, int]:
    """True/false positives, misses and totals over the non-space characters of one article."""
    n = len(text)
    gm = _mask(n, [s for s in gold if s.get("label") != "neutral"])
    ig = _mask(n, [s for s in gold if s.get("label") == "neutral"])
    pm = _mask(n, [s for s in pred if s.get("label", "advert") not in _KEPT])
    tp = fp = fn = ed = ad = 0
    for ch, g, p, z in zip(text, gm, pm, ig):
        if z or ch.isspace():
            continue
        if g:
            ad += 1
            tp += p
            fn += not p
        else:
            ed += 1
            fp += p
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "editorial": ed,
        "advert": ad,
        "docs": 1,
        "clean_docs": int(fp == 0 and fn == 0),
    }


def summarize(c: Mapping[str, int]) -> dict[str, float]:
    """Precision, recall, F1, editorial loss and advert residue from summed counts."""
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "docs": c["docs"],
        "clean_docs": c["clean_docs"],
        "advert_precision": round(p, 4),
        "advert_recall": round(r, 4),
        "advert_f1": round(f, 4),
        "editorial_loss": round(c["fp"] / c["editorial"], 5) if c["editorial"] else 0.0,
        "advert_residue": round(c["fn"] / c["advert"], 4) if c["advert"] else 0.0,
    }


def evaluate(
    gold: Iterable[Mapping[str, Any]], predictions: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, dict[str, float]]:
    """Metrics for ``ALL`` and for each source; ``predictions`` maps article id to spans.

    An article without a prediction counts as nothing removed.
    """
    return _report((record, predictions.get(record["id"])) for record in gold)


def _report(
    scored: Iterable[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]] | None]],
) -> dict[str, dict[str, float]]:
    """Metrics for ``ALL`` and for each source over (gold article, predicted spans or None)."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    missing = 0
    for record, pred in scored:
        if pred is None:
            missing += 1
            pred = []
        counts = char_counts(record["text"], record.get("spans", []), pred)
        for key in ("ALL", record.get("source") or "?"):
            for k, v in counts.items():
                totals[key][k] += v
    report = {k: summarize(v) for k, v in sorted(totals.items())}
    if "ALL" in report:
        report["ALL"]["missing_predictions"] = missing
    return report


def format_report(report: Mapping[str, Mapping[str, float]]) -> str:
    """A fixed-width table, one row per source, like score.py prints."""
    lines = ["source".ljust(28) + "".join(c[:12].rjust(13) for c in METRICS)]
    for name, row in report.items():
        lines.append(name[:27].ljust(28) + "".join(str(row[c]).rjust(13) for c in METRICS))
    return "\n".join(lines)


def evaluate_detector(
    detector: Any, gold: Sequence[Mapping[str, Any]], *, sites: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """Label the gold articles with ``detector`` (anything with ``label_many``) and score it.

    ``sites`` (one per article) go to the detector's template counts, for the batch mode.
    Each article is scored with its own labels, even where two gold files share an id.
    """
    texts = [r["text"] for r in gold]
    predicted = (
        detector.label_many(texts) if sites is None else detector.label_many(texts, sites=sites)
    )
    return _report(zip(gold, ([s.to_dict() for s in spans] for spans in predicted)))


def compare_reports(
    first: Mapping[str, Mapping[str, float]], second: Mapping[str, Mapping[str, float]]
) -> str:
    """Advert F1 and editorial loss of two reports side by side per source, with the change."""
    lines = [
        "source".ljust(28)
        + "".join(c.rjust(12) for c in ["f1 A", "f1 B", "f1 B-A", "loss A", "loss B", "loss B-A"])
    ]
    for name in first:
        if name not in second:
            continue
        a, b = first[name], second[name]
        f1a, f1b = a["advert_f1"], b["advert_f1"]
        la, lb = a["editorial_loss"], b["editorial_loss"]
        cells = [
            f"{f1a:.4f}",
            f"{f1b:.4f}",
            f"{f1b - f1a:+.4f}",
            f"{la:.5f}",
            f"{lb:.5f}",
            f"{lb - la:+.5f}",
        ]
        lines.append(name[:27].ljust(28) + "".join(c.rjust(12) for c in cells))
    return "\n".join(lines)
