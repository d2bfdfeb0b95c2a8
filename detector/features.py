"""Segments (+ context) -> feature matrix: the scikit-learn side of the features.

Two feature sets, one per pass of the classifier:

* the *segment* features (:func:`build_features`): word and character n-grams of the segment's
  own text (lower-cased, digits folded to 0 by :func:`~detector.hashing.fold_digits`), its
  shape (:class:`ShapeFeatures`) and its place in the article;
* the *context* features (:func:`~detector.cues.context_features`): the first pass's class
  probabilities of the segment and of its neighbours.

Segments travel as a :class:`pandas.DataFrame` made by :func:`~detector.cues.segment_table`,
one row a segment. The numbers themselves are computed in :mod:`detector.cues`, without
scikit-learn, so that labeling with a saved model does not need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils.validation import check_is_fitted

from detector.cues import (
    POSITION_COLUMNS,
    SHAPE_NAMES,
    context_features,
    segment_table,
    shape_cues,
)
from detector.hashing import fold_digits

__all__ = [
    "POSITION_COLUMNS",
    "ShapeFeatures",
    "build_features",
    "context_features",
    "segment_table",
]


class ShapeFeatures(TransformerMixin, BaseEstimator):
    """Dense shape cues of each text: length, case, digits, punctuation, address, residue.

    Every feature is scaled to about [0, 1] so it sits well beside tf-idf-like n-grams.
    """

    def fit(self, X: Sequence[str], y: object = None) -> ShapeFeatures:
        self.n_features_out_ = len(SHAPE_NAMES)
        return self

    def transform(self, X: Sequence[str]) -> np.ndarray:
        check_is_fitted(self, "n_features_out_")
        return shape_cues(list(X))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array([f"shape_{n}" for n in SHAPE_NAMES], dtype=object)


def build_features(*, n_features: int = 2**18, position: bool = False) -> ColumnTransformer:
    """The first-pass feature union over a :func:`segment_table` frame.

    Position columns are left to the context pass unless ``position``: in the first pass they
    let the model learn "near the end means advert" instead of reading the text.
    """
    words = HashingVectorizer(
        analyzer="word",
        preprocessor=fold_digits,
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b\w+\b",
        n_features=n_features,
        alternate_sign=False,
        norm="l2",
    )
    chars = HashingVectorizer(
        analyzer="char_wb",
        preprocessor=fold_digits,
        ngram_range=(2, 4),
        n_features=n_features,
        alternate_sign=False,
        norm="l2",
    )
    parts: list[tuple[str, Any, Any]] = [
        ("words", words, "text"),
        ("chars", chars, "text"),
        ("shape", ShapeFeatures(), "text"),
    ]
    if position:
        parts.append(("position", "passthrough", POSITION_COLUMNS))
    return ColumnTransformer(
        parts,
        sparse_threshold=1.0,
    )
