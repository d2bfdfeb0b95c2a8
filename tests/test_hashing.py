"""The bulk hashing path builds scikit-learn's HashingVectorizer matrix entry for entry."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32 as reference_murmur

from detector.features import build_features
from detector.hashing import Hashing, fold_digits, hash_transform, murmurhash3_32

# Scraped text: mixed case, umlauts, digits, punctuation, odd spaces, an emoji (4 UTF-8 bytes).
scraped = st.text(
    alphabet=st.sampled_from(list("aAbZzäÖßé19 .,!?-'’\n\t\u00a0\u2009_€😀İ")),
    max_size=80,
)
TEXTS = [
    "Siemens-Energy-Aktie: Kaufen oder verkaufen?! Neue Analyse vom 7. August",
    "Subscribe to our newsletter: www.example.com",
    "",
    "   \n\t ",
    "a",
    "Straße İstanbul 😀 x\u00a0y  z",
    "makeArticleAd();Those",
]


def _shipped(n_features: int) -> dict[str, HashingVectorizer]:
    """The vectorizers of the first pass as detector builds them."""
    return {name: t for name, t, _ in build_features(n_features=n_features).transformers}


def _vectorizers() -> list[HashingVectorizer]:
    shipped = _shipped(2**18)
    return [
        shipped["words"],
        shipped["chars"],
        # the settings of models made before digits were folded
        HashingVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b"),
        HashingVectorizer(analyzer="char_wb", ngram_range=(1, 5), n_features=2**10),
        HashingVectorizer(analyzer="word", ngram_range=(2, 3), n_features=2**12, norm="l1"),
        HashingVectorizer(analyzer="char_wb", ngram_range=(3, 3), norm=None, n_features=97),
    ]


def _same_matrix(a: object, b: object) -> None:
    a, b = a.tocsr(), b.tocsr()  # type: ignore[attr-defined]
    assert a.shape == b.shape
    assert (a != b).nnz == 0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_murmurhash_matches_scikit_learn(data: bytes) -> None:
    buf = np.frombuffer(b"xy" + data, dtype=np.uint8)
    got = murmurhash3_32(buf, np.array([2]), np.array([len(data)]))
    assert int(got[0]) == reference_murmur(data)


@pytest.mark.parametrize("vectorizer", _vectorizers(), ids=lambda v: v.analyzer)
def test_same_matrix_as_scikit_learn(vectorizer: HashingVectorizer) -> None:
    _same_matrix(hash_transform(vectorizer, TEXTS), vectorizer.transform(TEXTS))


@settings(max_examples=100, deadline=None)
@given(st.lists(scraped, min_size=1, max_size=6))
def test_same_matrix_on_any_text(texts: list[str]) -> None:
    for vectorizer in _vectorizers():
        _same_matrix(hash_transform(vectorizer, texts), vectorizer.transform(texts))


def test_other_settings_fall_back_to_scikit_learn() -> None:
    for vectorizer in [
        HashingVectorizer(analyzer="char", ngram_range=(2, 3)),
        HashingVectorizer(lowercase=False),
        HashingVectorizer(alternate_sign=True, n_features=2**8),
        HashingVectorizer(preprocessor=str.upper),
    ]:
        _same_matrix(hash_transform(vectorizer, TEXTS), vectorizer.transform(TEXTS))


def test_a_lone_surrogate_is_hashed_where_scikit_learn_fails() -> None:
    vectorizer = _shipped(2**10)["chars"]
    with pytest.raises(UnicodeEncodeError):
        vectorizer.transform(["bad \ud800 text"])
    got = hash_transform(vectorizer, ["bad \ud800 text", "bad text"])
    # the n-grams away from the surrogate are the plain text's
    assert got[0].nnz > got[1].nnz
    assert set(vectorizer.transform(["bad text"]).indices) <= set(got[0].indices)


def test_digits_fold_in_the_shipped_vectorizers() -> None:
    shipped = _shipped(2**10)
    assert all(Hashing.of(v).digits_folded for v in shipped.values() if v is not None
               and isinstance(v, HashingVectorizer))
    words = shipped["words"]
    _same_matrix(words.transform(["vom 3. März 2024"]), words.transform(["vom 7. März 1999"]))
    assert fold_digits("Q3 ÄB") == "q0 äb"


def test_settings_pickled_before_folding_read_as_not_folded() -> None:
    spec = Hashing.of(HashingVectorizer())
    assert spec is not None
    state = {k: v for k, v in vars(spec).items() if k != "digits_folded"}
    old = object.__new__(Hashing)
    old.__dict__.update(state)  # what unpickling a model file made before the field does
    assert old.digits_folded is False
