"""The two-pass segment classifier as a scikit-learn estimator, and its default settings.

:class:`SegmentClassifier` fits a linear model over the segment features
(:mod:`detector.features`), then a context model over the first pass's out-of-fold
probabilities of each segment and its neighbours. Training and the scikit-learn side of a model
live here; labeling with a saved model runs :class:`detector.scoring.LinearScorer`, the same
arithmetic in numpy, so it does not import scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from detector.cues import context_features
from detector.features import build_features

__all__ = ["PREDICT_ROWS", "SegmentClassifier", "build_pipeline"]

#: Segments featurized at once when predicting.
PREDICT_ROWS = 4096


class SegmentClassifier(ClassifierMixin, BaseEstimator):
    """First pass over segment features, second pass over neighbours' first-pass scores.

    Parameters
    ----------
    base : Pipeline
        From a :func:`detector.features.segment_table` frame to class probabilities; its
        feature steps must be stateless (they are fitted once, outside the folds).
    context : estimator
        Classifier over :func:`detector.features.context_features`.
    window : int
        How many neighbours on each side the context pass sees.
    cv : int
        Folds (grouped by article) for the out-of-fold first-pass scores the context pass
        learns from, so that it never sees scores of segments the first pass was trained on.
    length_weight : float
        Weight each segment by its length to this power (0: all equal, 0.5: square root), as
        quality is measured in characters.
    """

    def __init__(
        self,
        base: Any = None,
        context: Any = None,
        *,
        window: int = 2,
        cv: int = 4,
        length_weight: float = 0.0,
    ):
        self.base = base
        self.context = context
        self.window = window
        self.cv = cv
        self.length_weight = length_weight

    def fit(
        self, X: pd.DataFrame, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> SegmentClassifier:
        """Fit both passes; ``sample_weight`` (one per row) multiplies the length weights."""
        y = np.asarray(y)
        groups = X["doc"].to_numpy()
        n_docs = len(set(groups))
        if n_docs < 2:
            raise ValueError("training needs at least two articles")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("training needs at least two labels")
        # The feature steps are stateless (hashing, shape, position), so they are computed
        # once and only the final classifier is refitted per fold.
        features = Pipeline(clone(self.base).steps[:-1])
        Xt = features.fit_transform(X)
        w = X["text"].str.len().to_numpy(dtype=np.float64) ** self.length_weight
        if sample_weight is not None:
            extra = np.asarray(sample_weight, dtype=np.float64)
            if extra.shape != w.shape or not np.all(extra >= 0):
                raise ValueError("sample_weight needs one non-negative weight per row")
            w = w * extra
        if not w.sum() > 0:
            raise ValueError("sample_weight is zero everywhere")
        w /= w.mean()
        oof = np.zeros((len(y), len(self.classes_)))
        folds = GroupKFold(n_splits=min(self.cv, n_docs))
        for train_idx, test_idx in folds.split(Xt, y, groups):
            fold = clone(self.base.steps[-1][1])
            fold.fit(Xt[train_idx], y[train_idx], sample_weight=w[train_idx])
            oof[test_idx] = _aligned_proba(fold, Xt[test_idx], self.classes_)
        ctx = context_features(oof, X, window=self.window)
        self.context_ = clone(self.context).fit(ctx, y, sample_weight=w)
        final = clone(self.base.steps[-1][1]).fit(Xt, y, sample_weight=w)
        self.base_ = Pipeline([*features.steps, (self.base.steps[-1][0], final)])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "context_")
        return self.context_proba(self.first_proba(X), X)

    def first_proba(self, X: pd.DataFrame) -> np.ndarray:
        """First-pass class probabilities of each segment row of ``X``."""
        # The sparse n-gram matrix is by far the largest object: build it a slice at a time,
        # so memory stays flat however many segments (or however long an article) come in.
        return np.vstack(
            [
                _aligned_proba(self.base_, X.iloc[i : i + PREDICT_ROWS], self.classes_)
                for i in range(0, max(len(X), 1), PREDICT_ROWS)
            ]
        )

    def context_proba(self, first: np.ndarray, X: pd.DataFrame) -> np.ndarray:
        """Final class probabilities from the first pass's (``first``) over the rows of ``X``."""
        ctx = context_features(first, X, window=self.window)
        return _aligned_proba(self.context_, ctx, self.classes_)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _aligned_proba(estimator: Any, X: Any, classes: np.ndarray) -> np.ndarray:
    """predict_proba with columns in ``classes`` order (a fold may lack a rare class)."""
    out = np.zeros((X.shape[0], len(classes)))
    if X.shape[0] == 0:
        return out
    proba = estimator.predict_proba(X)
    for j, c in enumerate(estimator.classes_):
        out[:, np.searchsorted(classes, c)] = proba[:, j]
    return out


def build_pipeline(
    *,
    C: float = 0.5,
    context_C: float = 0.1,
    n_features: int = 2**18,
    position: bool = True,
    cv: int = 3,
    length_weight: float = 0.5,
) -> SegmentClassifier:
    """The untrained two-pass classifier with the default hyperparameters.

    Segments are weighted by the square root of their length: quality is counted in
    characters, but with weights in proportion to length a one-word label ("Anzeige",
    "Sponsored") or a chart caption weighs next to nothing, and the model left them in.
    """
    base = Pipeline(
        [
            ("features", build_features(n_features=n_features, position=position)),
            ("clf", LogisticRegression(C=C, max_iter=1000)),
        ]
    )
    context = LogisticRegression(C=context_C, max_iter=1000)
    return SegmentClassifier(base, context, cv=cv, length_weight=length_weight)
