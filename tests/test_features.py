"""Feature tables: shape features, segment positions, and context that stays in its article."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
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


# -- the fast shape and table code against the plain per-text loops it replaced -------------
def _plain_shape(text: str) -> list[float]:
    """The shape columns computed one text and one character at a time."""
    from detector import cues as f

    words = f._WORD.findall(text)
    n_words = max(len(words), 1)
    letters = [c for c in text if c.isalpha()]
    stripped = text.rstrip(f._CLOSERS + " ")
    last = stripped[-1:] if stripped else ""
    lowered = [w.lower() for w in words]
    address = sum(w in f.SECOND_PERSON for w in words[1:]) + (words[:1] == ["you"])
    first_letter = next((c for c in text if c.isalpha()), "")
    bracketed = text[:1] in "([" and text[-1:] in ")]"
    return [
        math.log1p(len(text)) / 8,
        math.log1p(len(words)) / 6,
        sum(c.isupper() for c in letters) / max(len(letters), 1),
        sum(w[0].isupper() for w in words) / n_words,
        sum(c.isdigit() for c in text) / max(len(text), 1),
        float(bool(f._CURRENCY.search(text))),
        float(bool(f._DATE.search(text))),
        min(text.count("!"), 3) / 3,
        min(text.count("?"), 3) / 3,
        float("?!" in text or "!?" in text),
        float(bool(f._URL.search(text))),
        float(last in f._TERMINAL),
        float(last == ":"),
        float(last not in f._TERMINAL and last != ":"),
        float(bracketed),
        min(address / n_words * 5, 1.0),
        float((lowered[:1] or [""])[0] in f.CALL_TO_ACTION),
        min(sum(w in f.CALL_TO_ACTION for w in lowered) / n_words * 4, 1.0),
        float(bool(f._CODE.search(text))),
        float(any(q in text for q in '"„“”«»')),
        float(bool(f._SEPARATORS.search(text))),
        min(sum(len(w) for w in words) / n_words / 12, 1.0),
        float(first_letter.isupper()),
        float(bracketed and first_letter.isupper()),
    ]


_SHAPE_ALPHABET = list("aZ äÜß1²³!?.:;()[]{}\"'«»„“|-=<>$€@/ Ⅷǅ_😀\u00a0\n") + [
    "you ", "Sie ", "Click ", "www.", ".com", "EUR", "7. Mai ", "Jan 3", "();", "\ud800",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_SHAPE_ALPHABET), max_size=30).map("".join),
                max_size=8))
def test_shape_features_equal_the_plain_loop(texts: list[str]) -> None:
    X = ShapeFeatures().fit([]).transform(texts)
    assert X.shape == (len(texts), len(_plain_shape("")))
    for row, text in zip(X, texts):
        assert row.tolist() == _plain_shape(text), text


def test_shape_features_equal_the_plain_loop_on_training_text(train_records: list) -> None:
    table, _ = segment_table((r["id"], r["text"]) for r in train_records[::40])
    texts = table["text"].tolist()
    assert ShapeFeatures().fit([]).transform(texts).tolist() == list(map(_plain_shape, texts))


def _plain_tail_stats(proba: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, k = proba.shape
    tail_max, tail_mean = np.zeros((n, k)), np.zeros((n, k))
    running_max, running_sum, count = np.zeros(k), np.zeros(k), 0
    for i in range(n - 1, -1, -1):
        if i == n - 1 or docs[i + 1] != docs[i]:
            running_max[:], running_sum[:], count = 0.0, 0.0, 0
        tail_max[i] = running_max
        tail_mean[i] = running_sum / count if count else 0.0
        np.maximum(running_max, proba[i], out=running_max)
        running_sum += proba[i]
        count += 1
    return tail_max, tail_mean


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from("aab"), max_size=30), st.integers(0, 2**32 - 1))
def test_tail_stats_equal_the_plain_loop(docs: list[str], seed: int) -> None:
    from detector.cues import _tail_stats

    proba = np.random.default_rng(seed).dirichlet(np.ones(3), size=len(docs))
    got = _tail_stats(proba, np.array(docs))
    want = _plain_tail_stats(proba, np.array(docs))
    assert all(np.array_equal(g, w) for g, w in zip(got, want))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["1", "12", "2024", "-", "01", ".", " ", "\n", "Mai", "jan",
                                 "ſep", "MÄRZ", "uary", "x", "Oct.", "3.5.24", "ab"]),
                max_size=12).map("".join))
def test_date_parts_match_where_the_date_regex_matches(text: str) -> None:
    from detector.cues import _DATE, _DATE_PARTS

    assert any(p.search(text) for p in _DATE_PARTS) == bool(_DATE.search(text))


def _plain_table(articles: list[tuple[str, str]]) -> pd.DataFrame:
    """segment_table built one row at a time."""
    import re
    from collections import Counter

    from detector.segment import segment

    digits = re.compile(r"\d+")
    rows: dict[str, list] = {k: [] for k in ["doc", "idx", "text", *POSITION_COLUMNS]}
    for doc_id, text in articles:
        segs = segment(text)
        n, n_lines = len(segs), (segs[-1].line + 1 if segs else 1)
        shapes = Counter(digits.sub("0", s.text.lower()) for s in segs)
        for i, s in enumerate(segs):
            values = [doc_id, i, s.text, i / max(n - 1, 1), min(n - 1 - i, 10) / 10,
                      float(i == 0), float(i == n - 1),
                      float(i == 0 or segs[i - 1].line != s.line),
                      float(i == n - 1 or segs[i + 1].line != s.line),
                      s.line / max(n_lines - 1, 1), min(n_lines - 1 - s.line, 10) / 10,
                      min(shapes[digits.sub("0", s.text.lower())] - 1, 3) / 3]
            for key, value in zip(rows, values):
                rows[key].append(value)
    return pd.DataFrame(rows)


def test_segment_table_equals_the_plain_loop(train_records: list) -> None:
    articles = [(r["id"], r["text"]) for r in train_records[::50]]
    articles += [("nul", "Buy 1 now.\x00 Buy 2 now.\x00"), ("dotted-i", "İ 1. İ 22.\nİ 3."),
                 ("empty", ""), ("space", " \n ")]
    table, _ = segment_table(articles)
    table = table.drop(columns=TEMPLATE_COLUMNS)  # all zeros without a batch (tested above)
    want = _plain_table(articles)
    assert table.equals(want) and (table.dtypes == want.dtypes).all()
    assert segment_table([])[0].drop(columns=TEMPLATE_COLUMNS).equals(_plain_table([]))
