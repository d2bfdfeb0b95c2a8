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
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import GroupShuffleSplit
from threadpoolctl import threadpool_limits

from detector.detect import DEFAULT_THRESHOLD, Detector
from detector.errors import DataError
from detector.evaluate import evaluate
from detector.features import segment_table
from detector.model import EDITORIAL, Model, build_pipeline
from detector.segment import segment
from detector.templates import TemplateTable, site_of

__all__ = ["HOLDOUT_SHARE", "data_hash", "segment_labels", "train"]

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
    records: Sequence[Mapping[str, Any]], params: Mapping[str, Any], *, seed: int = 0
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
    classifier = build_pipeline(**params)
    # One BLAS thread: on few cores, threaded lbfgs steps are several times slower than one.
    with threadpool_limits(1):
        classifier.fit(table, y)
    return Model(classifier)


def train(
    records: Sequence[Mapping[str, Any]],
    *,
    holdout: float = HOLDOUT_SHARE,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    sources: Sequence[str] = (),
) -> Model:
    """Fit on ``records`` after measuring a fit on part of them; the card holds the figures."""
    if len({r["id"] for r in records}) < 2:
        raise DataError("training needs at least two labeled articles")
    params = dict(params or {})
    started = time.monotonic()
    groups, grouped_by = _groups(records)
    card: dict[str, Any] = {
        "trained_on": list(sources),
        "data_sha256": data_hash(records),
        "articles": len(records),
        "span_labels": dict(Counter(s["label"] for r in records for s in r["spans"])),
        "params": params,
        "threshold": DEFAULT_THRESHOLD,
    }
    if holdout > 0:
        split = GroupShuffleSplit(n_splits=1, test_size=holdout, random_state=seed)
        fit_idx, test_idx = next(split.split(np.zeros(len(records)), groups=groups))
        fit_part = [records[i] for i in fit_idx]
        test_part = [records[i] for i in test_idx]
        log.info("held-out fit on %d articles, testing on %d", len(fit_part), len(test_part))
        detector = Detector(_fit(fit_part, params, seed=seed))
        texts = [r["text"] for r in test_part]
        predicted = detector.label_many(texts)
        report = evaluate(test_part, _by_id(test_part, predicted))
        detector.templates, sites = batch_templates(test_part)
        batch_report = evaluate(
            test_part, _by_id(test_part, detector.label_many(texts, sites=sites))
        )
        card["heldout"] = {
            "split": f"{holdout:.0%} of the articles, grouped by {grouped_by}, seed {seed}",
            "articles": len(test_part),
            "sources": sorted({str(r.get("source", "?")) for r in test_part}),
            "metrics": report,
            "batch_metrics": batch_report,
        }
    model = _fit(records, params, seed=seed)
    card["train_seconds"] = round(time.monotonic() - started, 1)
    model.card = card
    return model


def _by_id(records: Sequence[Mapping[str, Any]], predicted: Sequence[Any]) -> dict[str, Any]:
    return {r["id"]: [s.to_dict() for s in spans] for r, spans in zip(records, predicted)}


def _groups(records: Sequence[Mapping[str, Any]]) -> tuple[list[str], str]:
    sources = [str(r.get("source") or "") for r in records]
    if len(set(sources)) >= _MIN_SOURCES_FOR_GROUPING:
        return sources, "source"
    return [str(r.get("group") or r["id"]) for r in records], "article"
