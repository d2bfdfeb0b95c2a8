"""The numpy scorer predicts what the straightforward two-pass classifier predicts."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import load_jsonl, shared_path
from sklearn.linear_model import SGDClassifier

from detector.classifier import build_pipeline
from detector.cues import context_features, segment_table
from detector.detect import Detector
from detector.model import Model
from detector.scoring import Linear, LinearScorer, compile_scorer
from detector.training import segment_labels

# Float sums grouped differently: scores agree to rounding, never more.
TOLERANCE = 1e-12


def _table(records: list[dict[str, Any]]) -> Any:
    table, _ = segment_table((str(i), r["text"]) for i, r in enumerate(records))
    return table


def test_same_probabilities_as_the_classifier(tiny_model: Model, train_records: list) -> None:
    table = _table(train_records[-40:])
    scorer = compile_scorer(tiny_model.classifier)
    assert isinstance(scorer, LinearScorer)
    want = tiny_model.classifier.predict_proba(table)
    cold = scorer.predict_proba(table)
    warm = scorer.predict_proba(table)  # every text now comes from the cache
    assert np.abs(cold - want).max() < TOLERANCE
    assert np.array_equal(cold, warm)
    assert np.array_equal(cold.argmax(axis=1), want.argmax(axis=1))


def test_a_small_cache_forgets_but_stays_right(tiny_model: Model, train_records: list) -> None:
    table = _table(train_records[-10:])
    scorer = compile_scorer(tiny_model.classifier)
    assert scorer is not None
    scorer.cache_size = 7
    want = tiny_model.classifier.predict_proba(table)
    for _ in range(2):
        assert np.abs(scorer.predict_proba(table) - want).max() < TOLERANCE
        assert len(scorer._cache) == 7


def _labeled_table(records: list[dict[str, Any]]) -> tuple[Any, list[str]]:
    """The segment table of ``records`` and the gold label of each of its rows."""
    table, segments = segment_table((r["id"], r["text"]) for r in records)
    labels = [
        label
        for r, segs in zip(records, segments)
        for label in segment_labels(r["text"], r["spans"], segs)
    ]
    return table, labels


def test_a_first_pass_of_another_shape_is_passed_through(tiny_records: list) -> None:
    table, labels = _labeled_table(tiny_records)
    classifier = build_pipeline(n_features=2**12)
    classifier.base.steps[-1] = ("clf", SGDClassifier(loss="log_loss", random_state=0))
    classifier.fit(table, labels)
    assert compile_scorer(classifier) is None
    model = Model(classifier)
    assert model.scorer is None
    assert np.array_equal(model.predict_proba(table), classifier.predict_proba(table))


def test_a_pickled_scorer_travels_without_its_cache(tiny_model: Model, train_records: list) -> None:
    scorer = compile_scorer(tiny_model.classifier)
    assert scorer is not None
    table = _table(train_records[-3:])
    scorer.predict_proba(table)
    twin = copy.deepcopy(scorer)
    assert len(scorer._cache) > 0 and len(twin._cache) == 0
    assert np.array_equal(twin.predict_proba(table), scorer.predict_proba(table))


def _straightforward(detector: Detector, texts: list[str], monkeypatch: Any) -> list:
    """label_many with the classifier's own predict_proba (no cache, scikit-learn features)."""
    with monkeypatch.context() as m:
        m.setattr(
            Model,
            "predict_proba",
            lambda self, table: self.classifier.predict_proba(pd.DataFrame(table)),
        )
        return detector.label_many(texts)


def _assert_same_labels(fast: list, slow: list) -> None:
    assert [[(s.start, s.end, s.label) for s in a] for a in fast] == [
        [(s.start, s.end, s.label) for s in a] for a in slow
    ]
    scores = [abs(x.score - y.score) for a, b in zip(fast, slow) for x, y in zip(a, b)]
    assert max(scores) < 1e-9


def test_detector_labels_as_the_straightforward_path(
    detector_tiny: Detector, train_records: list, monkeypatch: Any
) -> None:
    texts = [r["text"] for r in train_records[-60:]]
    _assert_same_labels(
        detector_tiny.label_many(texts), _straightforward(detector_tiny, texts, monkeypatch)
    )


def test_shipped_model_labels_real_articles_as_before(monkeypatch: Any) -> None:
    detector = Detector.load()
    texts = [r["text"] for r in load_jsonl(shared_path("data", "real", "newsde2020a.jsonl"))]
    texts = texts[:25]
    fast = detector.label_many(texts)
    again = detector.label_many(texts)  # relabel passes and repeats now hit the caches
    slow = _straightforward(detector, texts, monkeypatch)
    _assert_same_labels(fast, slow)
    _assert_same_labels(again, slow)
    assert any(s.label == "advert" for spans in slow for s in spans)


@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.7, 1.0])
def test_decide_matches_a_plain_loop(tiny_model: Model, threshold: float) -> None:
    detector = Detector(tiny_model, threshold=threshold)
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3), size=300)
    proba[:20] = [0.4, 0.2, 0.4]  # ties between advert and neutral: the first wins
    proba[20:40] = [0.5, 0.0, 0.5]
    classes = tiny_model.labels
    want = []
    for row in proba:
        best = max([0, 2], key=lambda j: row[j])
        if row[best] >= threshold and threshold < 1.0:
            want.append(classes[best])
        elif classes[best] == "neutral" and row[best] >= 0.5:
            want.append(classes[best])
        else:
            want.append("editorial")
    assert detector._decide(proba) == want


def test_two_labels_give_the_classifiers_probabilities(tiny_records: list) -> None:
    table, labels = _labeled_table(tiny_records)
    labels = ["editorial" if label == "neutral" else label for label in labels]
    classifier = build_pipeline(n_features=2**12).fit(table, labels)
    scorer = compile_scorer(classifier)
    assert scorer is not None
    assert scorer.first.link == scorer.context.link == "binary"
    want = classifier.predict_proba(table)
    assert np.abs(scorer.predict_proba(table) - want).max() < TOLERANCE


def test_one_vs_rest_link_is_scikit_learns(tiny_model: Model, train_records: list) -> None:
    # scikit-learn before 1.8 fits one-vs-rest regressions (multi_class="ovr"); this one
    # cannot, so the link is checked against the formula scikit-learn applies to them.
    context = tiny_model.classifier.context_
    reference = getattr(context, "_predict_proba_lr", None)
    if reference is None:
        pytest.skip("this scikit-learn has no one-vs-rest probabilities to compare with")
    scorer = compile_scorer(tiny_model.classifier)
    assert scorer is not None
    table = _table(train_records[-10:])
    ctx = context_features(scorer.first_proba(table), table, window=scorer.window)
    ovr = Linear(scorer.context.weights, scorer.context.intercept, scorer.classes, "ovr")
    decision = ctx @ ovr.weights + ovr.intercept
    assert np.abs(ovr.proba(decision, scorer.classes) - reference(ctx)).max() < TOLERANCE
