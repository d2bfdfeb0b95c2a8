"""Labeled articles -> trained Model with a card of held-out metrics.

Gold spans become one label per segment (a segment takes the label that covers most of its
non-space characters). Before the final fit on everything, a model is fitted on part of the
data and measured on the rest, split by source (site) when there are enough sources, so that
the card says how the model does on sites it has not seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GroupShuffleSplit
from threadpoolctl import threadpool_limits

from detector.classifier import build_pipeline
from detector.detect import DEFAULT_THRESHOLD, Detector
from detector.errors import DataError
from detector.evaluate import evaluate
from detector.features import segment_table
from detector.io import read_labeled
from detector.model import EDITORIAL, Model
from detector.segment import segment
from detector.templates import TemplateTable, site_of

__all__ = [
    "HOLDOUT_SHARE",
    "base_data_path",
    "data_hash",
    "measure_heldout",
    "parse_weight",
    "read_training_files",
    "segment_labels",
    "train",
    "train_files",
]

log = logging.getLogger(__name__)

HOLDOUT_SHARE = 0.2
#: Share of the training sites whose articles are seen one at a time, without template counts,
#: so that the model also learns to label a single article without a batch.
UNBATCHED_SHARE = 0.25
_MIN_SOURCES_FOR_GROUPING = 5


def segment_labels(
    text: str, spans: Sequence[Mapping[str, Any]], segments: Sequence[Any]
) -> list[str]:
    """The label of each segment: the gold label covering most of its non-space characters."""
    labels = []
    k = 0
    spans = sorted(spans, key=lambda s: s["start"])
    for seg in segments:
        votes: Counter[str] = Counter()
        while k < len(spans) and spans[k]["end"] <= seg.start:
            k += 1
        covered = 0
        j = k
        while j < len(spans) and spans[j]["start"] < seg.end:
            a, b = max(seg.start, spans[j]["start"]), min(seg.end, spans[j]["end"])
            n = sum(not c.isspace() for c in text[a:b])
            votes[spans[j]["label"]] += n
            covered += n
            j += 1
        votes[EDITORIAL] += sum(not c.isspace() for c in seg.text) - covered
        labels.append(votes.most_common(1)[0][0])
    return labels


def data_hash(records: Sequence[Mapping[str, Any]]) -> str:
    """sha256 over the records' ids, texts and spans, independent of file layout."""
    digest = hashlib.sha256()
    for r in records:
        digest.update(
            json.dumps(
                [r["id"], r["text"], r.get("spans", [])], ensure_ascii=False, sort_keys=True
            ).encode("utf-8")
        )
    return digest.hexdigest()


def batch_templates(
    records: Sequence[Mapping[str, Any]], *, unbatched: float = 0.0, seed: int = 0
) -> tuple[TemplateTable, list[str]]:
    """Template counts over labeled records, each record's site (its ``source``) with them.

    Variants of one article (records sharing a ``group``) count once, as one article would:
    otherwise their shared editorial sentences would look like a site's boilerplate. The
    sites of an ``unbatched`` share of sites are replaced by one per article, so that those
    articles are featurized as if labeled alone.
    """
    sites = [site_of(r.get("source")) for r in records]
    texts: dict[tuple[str, str], dict[str, float]] = {}
    for r, site in zip(records, sites):
        segs = segment(r["text"])
        seen = texts.setdefault((site, str(r.get("group") or r["id"])), {})
        for i, seg in enumerate(segs):
            seen.setdefault(seg.text, i / max(len(segs) - 1, 1))
    table = TemplateTable()
    for (site, _), first in texts.items():
        table.add(site, list(first), list(first.values()))
    names = sorted(set(sites))
    alone = set(random.Random(seed).sample(names, round(unbatched * len(names))))
    sites = [f"{site} {r['id']}" if site in alone else site for r, site in zip(records, sites)]
    return table, sites


def _fit(
    records: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    weights: Sequence[float] | None = None,
    *,
    seed: int = 0,
) -> Model:
    templates, sites = batch_templates(records, unbatched=UNBATCHED_SHARE, seed=seed)
    table, segments = segment_table(
        ((r["id"], r["text"]) for r in records), templates=templates, sites=sites
    )
    y: list[str] = []
    for r, segs in zip(records, segments):
        y.extend(segment_labels(r["text"], r["spans"], segs))
    if len(set(y)) < 2:
        raise DataError("the training data needs at least one labeled span and some editorial text")
    # An article's weight multiplies the (length) weights of each of its segments.
    sample_weight = None
    if weights is not None:
        sample_weight = np.repeat(np.asarray(weights, dtype=np.float64), [len(s) for s in segments])
    classifier = build_pipeline(**params)
    # One BLAS thread: on few cores, threaded lbfgs steps are several times slower than one.
    with threadpool_limits(1):
        classifier.fit(table, y, sample_weight=sample_weight)
    return Model(classifier)


def train(
    records: Sequence[Mapping[str, Any]],
    *,
    holdout: float = HOLDOUT_SHARE,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    sources: Sequence[str] = (),
    weights: Sequence[float] | None = None,
) -> Model:
    """Fit on ``records`` after measuring a fit on part of them; the card holds the figures.

    ``weights`` (one per record, default 1) multiply the sample weights of each article's
    segments in both fits; the held-out figures are unweighted.
    """
    if len({r["id"] for r in records}) < 2:
        raise DataError("training needs at least two labeled articles")
    if weights is not None and len(weights) != len(records):
        raise ValueError("weights needs one weight per record")
    params = dict(params or {})
    started = time.monotonic()
    card: dict[str, Any] = {
        "trained_on": list(sources),
        "data_sha256": data_hash(records),
        "articles": len(records),
        "span_labels": dict(Counter(s["label"] for r in records for s in r["spans"])),
        "params": params,
        "threshold": DEFAULT_THRESHOLD,
        "grouped_by": _groups(records)[1],
    }
    if holdout > 0:
        _, card["heldout"] = measure_heldout(
            records, holdout=holdout, seed=seed, params=params, weights=weights
        )
    model = _fit(records, params, weights, seed=seed)
    card["train_seconds"] = round(time.monotonic() - started, 1)
    model.card = card
    return model


def measure_heldout(
    records: Sequence[Mapping[str, Any]],
    *,
    holdout: float = HOLDOUT_SHARE,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    weights: Sequence[float] | None = None,
) -> tuple[Model, dict[str, Any]]:
    """The model fitted on all but a ``holdout`` share of ``records`` (grouped by source, else
    by article) and its figures on that share, article by article and with each held-out site
    as one batch: what :func:`train` puts on the card as ``heldout``."""
    groups, grouped_by = _groups(records)
    split = GroupShuffleSplit(n_splits=1, test_size=holdout, random_state=seed)
    fit_idx, test_idx = next(split.split(np.zeros(len(records)), groups=groups))
    fit_part = [records[i] for i in fit_idx]
    test_part = [records[i] for i in test_idx]
    if len({r["id"] for r in fit_part}) < 2:
        raise DataError(
            f"holding out {holdout:.0%} of {len(records)} articles (grouped by {grouped_by}) "
            f"leaves {len(fit_part)} to fit on; label more articles, or pass --holdout 0 to "
            "train without held-out figures"
        )
    log.info("held-out fit on %d articles, testing on %d", len(fit_part), len(test_part))
    fit_weights = None if weights is None else [weights[i] for i in fit_idx]
    model = _fit(fit_part, dict(params or {}), fit_weights, seed=seed)
    detector = Detector(model)
    texts = [r["text"] for r in test_part]
    report = evaluate(test_part, _by_id(test_part, detector.label_many(texts)))
    detector.templates, sites = batch_templates(test_part)
    batch_report = evaluate(test_part, _by_id(test_part, detector.label_many(texts, sites=sites)))
    return model, {
        "split": f"{holdout:.0%} of the articles, grouped by {grouped_by}, seed {seed}",
        "articles": len(test_part),
        "sources": sorted({str(r.get("source", "?")) for r in test_part}),
        "metrics": report,
        "batch_metrics": batch_report,
    }


def _by_id(records: Sequence[Mapping[str, Any]], predicted: Sequence[Any]) -> dict[str, Any]:
    return {r["id"]: [s.to_dict() for s in spans] for r, spans in zip(records, predicted)}


def _groups(records: Sequence[Mapping[str, Any]]) -> tuple[list[str], str]:
    sources = [str(r.get("source") or "") for r in records]
    if len(set(sources)) >= _MIN_SOURCES_FOR_GROUPING:
        return sources, "source"
    return [str(r.get("group") or r["id"]) for r in records], "article"


def base_data_path() -> Path:
    """The shipped training data (package data, so ``--base`` works outside the repo too)."""
    return Path(__file__).parent / "data" / "train.jsonl"


def parse_weight(spec: str) -> tuple[str, float]:
    """``FILE=WEIGHT`` -> (FILE, WEIGHT); split at the last ``=``, the weight positive.

    >>> parse_weight("mine.jsonl=3")
    ('mine.jsonl', 3.0)
    """
    path, sep, value = spec.rpartition("=")
    if not sep or not path:
        raise DataError(f"--weight {spec!r} must be FILE=WEIGHT, e.g. mine.jsonl=3")
    try:
        weight = float(value)
    except ValueError:
        weight = math.nan
    if not (math.isfinite(weight) and weight > 0):
        raise DataError(f"--weight {spec!r}: the weight must be a positive number")
    return path, weight


def read_training_files(
    paths: Sequence[str],
    *,
    weights: Mapping[str, float] | None = None,
    base: bool = False,
) -> tuple[list[dict[str, Any]], list[float], list[dict[str, Any]]]:
    """Read labeled JSONL files (plus the shipped data with ``base``) for :func:`train`.

    Returns the records, one weight per record (its file's weight, default 1) and a
    description of each file for the model card. An article id may appear in one file only.
    """
    # ./mine.jsonl and mine.jsonl name the same file.
    weights = {os.path.normpath(p): w for p, w in (weights or {}).items()}
    unknown = [p for p in weights if p not in {os.path.normpath(q) for q in paths}]
    if unknown:
        raise DataError(
            f"--weight names {unknown[0]}, which is not one of the data files "
            f"({', '.join(paths) or 'none'})"
        )
    files = [(p, weights.get(os.path.normpath(p), 1.0), False) for p in paths]
    if base:
        files.append((str(base_data_path()), 1.0, True))
    if not files:
        raise DataError("no training data: give labeled JSONL files or --base")
    records: list[dict[str, Any]] = []
    record_weights: list[float] = []
    described = []
    seen: dict[str, str] = {}
    for path, weight, is_base in files:
        part = read_labeled(path)
        for r in part:
            if r["id"] in seen:
                raise DataError(f"id {r['id']!r} appears in both {seen[r['id']]} and {path}")
            seen[r["id"]] = path
        records.extend(part)
        record_weights.extend([weight] * len(part))
        described.append(
            {"path": "base" if is_base else path, "articles": len(part), "weight": weight}
        )
    return records, record_weights, described


def train_files(
    paths: Sequence[str],
    *,
    weights: Mapping[str, float] | None = None,
    base: bool = False,
    holdout: float = HOLDOUT_SHARE,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
) -> Model:
    """Train on labeled JSONL files, each with its weight, plus the shipped data with ``base``.

    The card records the files, their weights, whether the shipped data was added, the
    held-out grouping and the held-out metrics per source.
    """
    records, record_weights, files = read_training_files(paths, weights=weights, base=base)
    weighted = any(w != 1.0 for w in record_weights)
    model = train(
        records,
        holdout=holdout,
        seed=seed,
        params=params,
        sources=[f["path"] for f in files],
        weights=record_weights if weighted else None,
    )
    model.card.update(files=files, base_data=base)
    return model
