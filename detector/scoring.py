"""Scores -> probabilities with a saved model, in numpy: no scikit-learn needed to label.

Both passes of :class:`detector.classifier.SegmentClassifier` are logistic regressions. The
first pass's decision over [n-grams and shape of the text | position columns] is
``text_part(text) + position_part(row) + intercept``; the second pass's is the product of the
context features (:func:`detector.cues.context_features`) with its weights.
:func:`compile_scorer` takes the weights out of the fitted scikit-learn estimators once, when a
model is saved, and :class:`LinearScorer` computes the probabilities from them with detector's
own hashing (:mod:`detector.hashing`) and cues (:mod:`detector.cues`). So labeling imports
neither scikit-learn nor scipy, which is most of a fresh process's start-up time and memory.

The text part is by far the dearer and depends on nothing but the segment's text: it is
computed once per distinct text and kept in an LRU cache. The relabel passes of
:meth:`detector.detect.Detector.label_many` see mostly texts already scored, and so does
boilerplate repeated across the articles of a site. Probabilities equal those of
``SegmentClassifier.predict_proba`` up to float rounding (the sums are grouped differently).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from detector.cues import Columns, column_matrix, context_features, shape_cues
from detector.hashing import Hashing, hashed_dot

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CACHE_TEXTS", "LinearScorer", "compile_scorer"]

#: Distinct segment texts whose first-pass text part is remembered (about 0.4 kB each on real
#: articles): the boilerplate of a batch and the segments a relabel pass meets again.
CACHE_TEXTS = 20_000
#: Distinct new texts featurized at once, so that memory stays flat.
FEATURIZE_ROWS = 1024
#: How a logistic regression turns decisions into probabilities: the sigmoid of the one
#: decision of a binary model, the softmax of a multinomial one, or one-vs-rest sigmoids
#: normalized to sum to one.
LINKS = ("binary", "softmax", "ovr")


@dataclass
class Linear:
    """A fitted logistic regression's arithmetic: ``link(X @ weights + intercept)``."""

    weights: np.ndarray  # features x decisions (empty for the first pass: see LinearScorer)
    intercept: np.ndarray  # decisions
    classes: np.ndarray  # the regression's classes, in the order of its probabilities
    link: str  # one of LINKS

    def proba(self, decision: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Probabilities from the decisions (intercept added), columns in ``classes`` order."""
        if self.link == "binary":
            p = np.exp(-np.logaddexp(0.0, -decision[:, 0]))
            proba = np.stack([1.0 - p, p], axis=1)
        elif self.link == "softmax":
            z = np.exp(decision - decision.max(axis=1, keepdims=True))
            proba = z / z.sum(axis=1, keepdims=True)
        else:
            p = np.exp(-np.logaddexp(0.0, -decision))
            proba = p / p.sum(axis=1, keepdims=True)
        out = np.zeros((len(decision), len(classes)))
        out[:, np.searchsorted(classes, self.classes)] = proba
        return out


@dataclass
class LinearScorer:
    """``SegmentClassifier.predict_proba`` in numpy, with the first pass's text part cached.

    Made by :func:`compile_scorer`; saved inside the model file.
    """

    classes: np.ndarray
    #: The first pass: the n-gram hashings with their rows of weights, the weights of the
    #: shape cues (None when the pipeline has none), the position columns and theirs.
    hashings: list[tuple[Hashing, np.ndarray]]
    shape_weights: np.ndarray | None
    position_columns: list[str]
    position_weights: np.ndarray
    first: Linear
    context: Linear
    window: int
    cache_size: int = CACHE_TEXTS
    _cache: OrderedDict[str, np.ndarray] = field(
        default_factory=OrderedDict, init=False, repr=False, compare=False
    )
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_cache"], state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cache = OrderedDict()
        self._lock = threading.Lock()

    def predict_proba(self, X: Columns | pd.DataFrame) -> np.ndarray:
        """Class probabilities of each segment row of a segment table
        (:func:`~detector.cues.segment_columns` or :func:`~detector.cues.segment_table`)."""
        first = self.first_proba(X)
        ctx = context_features(first, X, window=self.window)
        decision = ctx @ self.context.weights + self.context.intercept
        return self.context.proba(decision, self.classes)

    def first_proba(self, X: Columns | pd.DataFrame) -> np.ndarray:
        """What ``SegmentClassifier.first_proba(X)`` gives, up to float rounding."""
        decision = self._text_decisions(list(X["text"]))
        if self.position_columns:
            decision += column_matrix(X, self.position_columns) @ self.position_weights
        decision += self.first.intercept
        return self.first.proba(decision, self.classes)

    def _text_decisions(self, texts: list[str]) -> np.ndarray:
        """The text part of the first-pass decision of each text, from the cache or computed."""
        out = np.empty((len(texts), len(self.first.intercept)))
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
        decision = np.zeros((len(texts), len(self.first.intercept)))
        # The word and the character n-grams are taken from the same preprocessed texts:
        # lower-case (and fold digits) once for both.
        preprocessed: dict[bool, list[str]] = {}
        for hashing, weights in self.hashings:
            if hashing.digits_folded not in preprocessed:
                preprocessed[hashing.digits_folded] = hashing.preprocessed(texts)
            decision += hashed_dot(
                hashing, preprocessed[hashing.digits_folded], weights, preprocessed=True
            )
        if self.shape_weights is not None:
            decision += shape_cues(texts) @ self.shape_weights
        return decision


def compile_scorer(classifier: Any) -> LinearScorer | None:
    """The :class:`LinearScorer` of a fitted :class:`~detector.classifier.SegmentClassifier`,
    or None when its passes have another shape (then the classifier itself predicts)."""
    from detector.classifier import SegmentClassifier

    if type(classifier) is not SegmentClassifier:
        return None
    first = _take_apart(classifier.base_)
    context = _linear(classifier.context_)
    if first is None or context is None:
        return None
    hashings, shape_weights, position_columns, position_weights, linear = first
    return LinearScorer(
        classes=classifier.classes_,
        hashings=hashings,
        shape_weights=shape_weights,
        position_columns=position_columns,
        position_weights=position_weights,
        first=linear,
        context=context,
        window=classifier.window,
    )


def _linear(clf: Any) -> Linear | None:
    """A fitted LogisticRegression as a :class:`Linear`, or None for another estimator."""
    from sklearn.linear_model import LogisticRegression

    if type(clf) is not LogisticRegression:
        return None
    if len(clf.classes_) <= 2:
        link = "binary"
    elif getattr(clf, "multi_class", "auto") == "ovr" or clf.solver == "liblinear":
        link = "ovr"
    else:
        link = "softmax"
    return Linear(
        weights=np.ascontiguousarray(np.asarray(clf.coef_, dtype=np.float64).T),
        intercept=np.asarray(clf.intercept_, dtype=np.float64),
        classes=clf.classes_,
        link=link,
    )


def _take_apart(
    base: Any,
) -> (
    tuple[list[tuple[Hashing, np.ndarray]], np.ndarray | None, list[str], np.ndarray, Linear] | None
):
    """The linear pieces of a fitted ``Pipeline([ColumnTransformer, LogisticRegression])``:
    hashings with their weights, shape weights, position columns with theirs, and the
    regression; None when the pipeline has another shape."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from detector.features import ShapeFeatures

    if not isinstance(base, Pipeline) or len(base.steps) != 2:
        return None
    columns, linear = base.steps[0][1], _linear(base.steps[1][1])
    if type(columns) is not ColumnTransformer or linear is None:
        return None
    weights = linear.weights
    hashings: list[tuple[Hashing, np.ndarray]] = []
    shape: np.ndarray | None = None
    position: list[str] = []
    position_rows: list[np.ndarray] = []
    for name, transformer, cols in columns.transformers_:
        where = columns.output_indices_[name]
        if isinstance(transformer, str) and transformer == "drop" or where.start == where.stop:
            continue
        if _is_identity(transformer) and isinstance(cols, list):
            position += cols
            position_rows.append(np.arange(where.start, where.stop))
        elif cols == "text" and type(transformer) is ShapeFeatures and shape is None:
            shape = np.ascontiguousarray(weights[where])
        elif cols == "text" and (hashing := Hashing.of(transformer)) is not None:
            hashings.append((hashing, np.ascontiguousarray(weights[where])))
        else:
            return None
    picked = np.concatenate(position_rows) if position_rows else np.zeros(0, dtype=int)
    position_weights = np.ascontiguousarray(weights[picked])
    # The weights are kept in the pieces above; the model file need not hold them twice.
    linear.weights = weights[:0]
    return hashings, shape, position, position_weights, linear


def _is_identity(transformer: Any) -> bool:
    """A passthrough step (fitted, it is a FunctionTransformer without a function)."""
    from sklearn.preprocessing import FunctionTransformer

    if isinstance(transformer, str):
        return transformer == "passthrough"
    return type(transformer) is FunctionTransformer and transformer.func is None
