"""Fast prediction: the classifier's first pass split into a cached text part and the rest.

The first pass is a logistic regression over [n-grams and shape of the text | position
columns], so its decision is ``text_part(text) + position_part(row) + intercept``. The text part
is by far the dearer and depends on nothing but the segment's text: :class:`CachedScorer`
computes it once per distinct text (with the bulk hashing of :mod:`detector.hashing`) and keeps
it in an LRU cache. The relabel passes of :meth:`detector.detect.Detector.label_many` see
mostly texts already scored, and so does boilerplate repeated across the articles of a site.
Probabilities equal those of ``SegmentClassifier.predict_proba`` up to float rounding (the sums
are grouped differently); a classifier of another shape is simply passed through.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.extmath import softmax

from detector.features import ShapeFeatures
from detector.hashing import hash_transform

__all__ = ["CACHE_TEXTS", "CachedScorer"]

#: Distinct segment texts whose first-pass text part is remembered (about 0.4 kB each on real
#: articles): the boilerplate of a batch and the segments a relabel pass meets again.
CACHE_TEXTS = 20_000
#: Distinct new texts featurized at once, so that memory stays flat.
FEATURIZE_ROWS = 1024


@dataclass(frozen=True)
class _LinearFirstPass:
    """The fitted first pass taken apart: text transformers with their weights, and the rest."""

    text: list[tuple[Any, np.ndarray]]
    position_columns: list[str]
    position_weights: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray
    binary: bool


def _take_apart(base: Any) -> _LinearFirstPass | None:
    """The linear pieces of a fitted ``Pipeline([ColumnTransformer, LogisticRegression])``, or
    None when the pipeline has another shape."""
    if not isinstance(base, Pipeline) or len(base.steps) != 2:
        return None
    columns, clf = base.steps[0][1], base.steps[1][1]
    if type(columns) is not ColumnTransformer or type(clf) is not LogisticRegression:
        return None
    coef = np.asarray(clf.coef_, dtype=np.float64)
    text: list[tuple[Any, np.ndarray]] = []
    position: list[str] = []
    position_slices: list[np.ndarray] = []
    for name, transformer, cols in columns.transformers_:
        where = columns.output_indices_[name]
        if isinstance(transformer, str) and transformer == "drop" or where.start == where.stop:
            continue
        if _is_identity(transformer) and isinstance(cols, list):
            position += cols
            position_slices.append(np.arange(where.start, where.stop))
        elif cols == "text" and type(transformer) in (HashingVectorizer, ShapeFeatures):
            text.append((transformer, np.ascontiguousarray(coef[:, where].T)))
        else:
            return None
    picked = np.concatenate(position_slices) if position_slices else np.zeros(0, dtype=int)
    return _LinearFirstPass(
        text=text,
        position_columns=position,
        position_weights=np.ascontiguousarray(coef[:, picked].T),
        intercept=np.asarray(clf.intercept_, dtype=np.float64),
        classes=clf.classes_,
        binary=len(clf.classes_) <= 2,
    )


def _is_identity(transformer: Any) -> bool:
    """A passthrough step (fitted, it is a FunctionTransformer without a function)."""
    if isinstance(transformer, str):
        return transformer == "passthrough"
    return type(transformer) is FunctionTransformer and transformer.func is None


class CachedScorer:
    """``classifier.predict_proba`` with the first pass's text part cached per distinct text.

    Parameters
    ----------
    classifier : SegmentClassifier
        A fitted two-pass classifier (:class:`detector.model.SegmentClassifier`).
    cache_size : int
        Distinct texts remembered; the least recently used are forgotten first.
    """

    def __init__(self, classifier: Any, *, cache_size: int = CACHE_TEXTS):
        self.classifier = classifier
        self.cache_size = cache_size
        self._parts = _take_apart(classifier.base_)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"classifier": self.classifier, "cache_size": self.cache_size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["classifier"], cache_size=state["cache_size"])  # type: ignore[misc]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities of each segment row of a :func:`segment_table` frame."""
        if self._parts is None:
            return self.classifier.predict_proba(X)
        return self.classifier.context_proba(self.first_proba(X), X)

    def first_proba(self, X: pd.DataFrame) -> np.ndarray:
        """What ``classifier.first_proba(X)`` gives, up to float rounding."""
        parts = self._parts
        if parts is None:
            return self.classifier.first_proba(X)
        decision = self._text_decisions(X["text"].tolist())
        if parts.position_columns:
            position = X[parts.position_columns].to_numpy(dtype=np.float64)
            decision += position @ parts.position_weights
        decision += parts.intercept
        if parts.binary:
            p = expit(decision[:, 0])
            proba = np.stack([1 - p, p], axis=1)
        else:
            proba = softmax(decision, copy=False)
        out = np.zeros((len(X), len(self.classifier.classes_)))
        for j, c in enumerate(parts.classes):
            out[:, np.searchsorted(self.classifier.classes_, c)] = proba[:, j]
        return out

    def _text_decisions(self, texts: list[str]) -> np.ndarray:
        """The text part of the first-pass decision of each text, from the cache or computed."""
        width = len(self._parts.intercept)  # type: ignore[union-attr]
        out = np.empty((len(texts), width))
        with self._lock:
            cache = self._cache
            todo: dict[str, list[int]] = {}
            for i, text in enumerate(texts):
                row = cache.get(text)
                if row is None:
                    todo.setdefault(text, []).append(i)
                else:
                    cache.move_to_end(text)
                    out[i] = row
            new = list(todo)
            for a in range(0, len(new), FEATURIZE_ROWS):
                chunk = new[a : a + FEATURIZE_ROWS]
                rows = self._compute(chunk)
                for text, row in zip(chunk, rows):
                    out[todo[text]] = row
                    cache[text] = row
            while len(cache) > self.cache_size:
                cache.popitem(last=False)
        return out

    def _compute(self, texts: list[str]) -> np.ndarray:
        decision = np.zeros((len(texts), len(self._parts.intercept)))  # type: ignore[union-attr]
        for transformer, weights in self._parts.text:  # type: ignore[union-attr]
            if isinstance(transformer, HashingVectorizer):
                features = hash_transform(transformer, texts)
            else:
                features = transformer.transform(texts)
            decision += features @ weights
        return decision
