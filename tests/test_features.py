"""Feature tables: shape features, segment positions, and context that stays in its article."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from detector.features import (
    POSITION_COLUMNS,
    ShapeFeatures,
    build_features,
    context_features,
    segment_table,
)
from detector.templates import TEMPLATE_COLUMNS

TEXTS = ["Kaufen oder verkaufen?! Jetzt Gratis-Analyse sichern!", "The Fed held rates at 5%.",
         "Subscribe to our newsletter: www.example.com", "", "makeArticleAd();"]


def test_shape_features_shape_and_names() -> None:
    shape = ShapeFeatures().fit(TEXTS)
    X = shape.transform(TEXTS)
    names = shape.get_feature_names_out()
    assert X.shape == (len(TEXTS), len(names)) == (len(TEXTS), shape.n_features_out_)
    assert len(set(names)) == len(names)
    assert all(n.startswith("shape_") for n in names)
    assert np.isfinite(X).all() and (X >= 0).all()
    assert ShapeFeatures().fit([]).transform([]).shape == (0, len(names))


def test_shape_features_must_be_fitted() -> None:
    with pytest.raises(NotFittedError):
        ShapeFeatures().transform(TEXTS)


def test_shape_features_see_calls_to_action() -> None:
    X = ShapeFeatures().fit_transform(TEXTS)
    names = list(ShapeFeatures().fit(TEXTS).get_feature_names_out())
    assert X[0, names.index("shape_interrobang")] == 1.0
    assert X[1, names.index("shape_interrobang")] == 0.0
    assert X[2, names.index("shape_url")] == 1.0
    assert X[4, names.index("shape_code")] == 1.0


def test_segment_table_columns_and_positions() -> None:
    articles = [("a", "Title here\nOne. Two. Three.\nRead more!"), ("b", "Solo line."),
                ("c", " \n")]
    table, segments = segment_table(articles)
    assert list(table.columns) == ["doc", "idx", "text", *POSITION_COLUMNS, *TEMPLATE_COLUMNS]
    assert not table[TEMPLATE_COLUMNS].to_numpy().any()  # no batch: no recurrence
    assert [len(s) for s in segments] == [5, 1, 0]
    a = table[table["doc"] == "a"]
    assert list(a["idx"]) == [0, 1, 2, 3, 4]
    assert list(a["text"]) == ["Title here", "One.", "Two.", "Three.", "Read more!"]
    assert list(a["rel_pos"]) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert list(a["is_first"]) == [1, 0, 0, 0, 0]
    assert list(a["is_last"]) == [0, 0, 0, 0, 1]
    assert list(a["line_start"]) == [1, 1, 0, 0, 1]
    assert list(a["line_end"]) == [1, 0, 0, 1, 1]
    assert list(a["line_rel"]) == [0.0, 0.5, 0.5, 0.5, 1.0]
    assert list(a["from_end"]) == [0.4, 0.3, 0.2, 0.1, 0.0]
    b = table[table["doc"] == "b"].iloc[0]
    assert (b["rel_pos"], b["is_first"], b["is_last"]) == (0.0, 1.0, 1.0)
    assert "c" not in set(table["doc"])


def test_segment_table_repeats() -> None:
    table, _ = segment_table([("a", "Buy 1 now. Story. Buy 2 now. Buy 3 now.")])
    assert list(table["repeats"]) == [2 / 3, 0.0, 2 / 3, 2 / 3]


def test_build_features_width() -> None:
    table, _ = segment_table([("a", TEXTS[0] + "\n" + TEXTS[1])])
    features = build_features(n_features=2**10)
    X = features.fit_transform(table)
    positions = len(POSITION_COLUMNS) if "position" in features.named_transformers_ else 0
    assert X.shape == (len(table), 2 * 2**10 + ShapeFeatures().fit([]).n_features_out_
                       + positions)


def _width(k: int, window: int) -> int:
    # own, neighbours with flags, tail max and mean, length, positions; then the template
    # columns, the neighbours' recurrence and recurrence and share times the probabilities
    return k + 2 * window * (k + 1) + 2 * k + 1 + len(POSITION_COLUMNS) + len(
        TEMPLATE_COLUMNS
    ) + 1 + 2 * k


@settings(max_examples=50, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=1, max_size=5), window=st.integers(1, 3))
def test_context_never_crosses_articles(sizes: list[int], window: int) -> None:
    articles = [(f"d{i}", " ".join(f"Sentence {j}." for j in range(n)))
                for i, n in enumerate(sizes)]
    table, _ = segment_table(articles)
    n, k = len(table), 3
    proba = np.arange(1, n * k + 1, dtype=float).reshape(n, k)  # every row distinct, none zero
    ctx = context_features(proba, table, window=window)
    assert ctx.shape == (n, _width(k, window))
    docs, idx = table["doc"].to_numpy(), table["idx"].to_numpy()
    col = k
    for offset in [d for d in range(-window, window + 1) if d]:
        block, flag = ctx[:, col : col + k], ctx[:, col + k]
        for i in range(n):
            j = i + offset
            inside = 0 <= j < n and docs[j] == docs[i]
            if inside:
                assert idx[j] == idx[i] + offset
                np.testing.assert_array_equal(block[i], proba[j])
                assert flag[i] == 0.0
            else:
                np.testing.assert_array_equal(block[i], 0.0)
                assert flag[i] == 1.0
        col += k + 1
    rest_max = ctx[:, col : col + k]
    for i in range(n):
        later = [j for j in range(i + 1, n) if docs[j] == docs[i]]
        expected = proba[later].max(axis=0) if later else np.zeros(k)
        np.testing.assert_array_equal(rest_max[i], expected)
