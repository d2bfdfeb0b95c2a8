"""Training: segment labels from gold spans, held-out figures in the card, bad data refused."""

from __future__ import annotations

import pytest

from detector.errors import DataError
from detector.segment import segment
from detector.training import data_hash, segment_labels, train


def _labels(text: str, spans: list[dict]) -> list[str]:
    return segment_labels(text, spans, segment(text))


def test_whole_segment_spans() -> None:
    text = "Story one.\nBuy now!\nStory two."
    assert _labels(text, [{"start": 11, "end": 19, "label": "advert"}]) == [
        "editorial", "advert", "editorial"]


def test_majority_of_non_space_characters_wins() -> None:
    text = "Buy now or never, friends."  # one segment, 22 non-space characters
    assert _labels(text, [{"start": 0, "end": 16, "label": "advert"}]) == ["advert"]  # 13 vs 9
    assert _labels(text, [{"start": 0, "end": 7, "label": "advert"}]) == ["editorial"]  # 6 vs 16


def test_spaces_do_not_vote() -> None:
    text = "Ad         x editorial-text."  # the span holds 2 non-space chars and many spaces
    assert _labels(text, [{"start": 0, "end": 12, "label": "advert"}]) == ["editorial"]


def test_several_labels_in_one_segment() -> None:
    text = "Advert words here plus neutral bits and more neutral."
    spans = [{"start": 0, "end": 17, "label": "advert"},
             {"start": 18, "end": 53, "label": "neutral"}]
    assert _labels(text, spans) == ["neutral"]


def test_spans_across_segments() -> None:
    text = "Keep me. Ad one. Ad two. Keep me too."
    spans = [{"start": 9, "end": 24, "label": "advert"}]
    assert _labels(text, spans) == ["editorial", "advert", "advert", "editorial"]


def test_data_hash_depends_on_content() -> None:
    a = [{"id": "1", "text": "x", "spans": []}]
    b = [{"id": "1", "text": "y", "spans": []}]
    assert data_hash(a) == data_hash([dict(a[0], source="ignored")]) != data_hash(b)


def test_train_records_heldout_metrics(train_records: list) -> None:
    # 3 articles from each of 6 sources: grouped by source, so held-out sites are unseen.
    by_source: dict[str, list] = {}
    for r in train_records:
        if len(by_source.setdefault(r["source"], [])) < 3 and len(by_source) <= 6:
            by_source[r["source"]].append(r)
    records = [r for rs in list(by_source.values())[:6] for r in rs]
    model = train(records, holdout=0.34, params={"n_features": 2**12, "cv": 2})
    heldout = model.card["heldout"]
    assert "grouped by source, seed 0" in heldout["split"]
    assert heldout["articles"] == 3 * len(heldout["sources"])
    metrics = heldout["metrics"]
    assert {"ALL", *heldout["sources"]} == set(metrics)
    assert metrics["ALL"]["docs"] == heldout["articles"]
    assert 0.0 <= metrics["ALL"]["advert_f1"] <= 1.0
    assert model.card["articles"] == len(records)
    assert model.card["span_labels"]["advert"] > 0


def test_no_spans_is_a_data_error() -> None:
    records = [{"id": str(i), "text": "Plain editorial text. More of it.", "spans": []}
               for i in range(3)]
    with pytest.raises(DataError) as info:
        train(records, holdout=0.0)
    assert str(info.value) == (
        "the training data needs at least one labeled span and some editorial text")


def test_one_article_is_a_data_error(train_records: list) -> None:
    with pytest.raises(DataError) as info:
        train(train_records[:1], holdout=0.0)
    assert str(info.value) == "training needs at least two labeled articles"
