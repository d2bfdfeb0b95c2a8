"""Build, train, save and load the segment classifier and its model card.

The classifier has two passes (:class:`SegmentClassifier`): a linear model over the segment
features, then a context model over the first pass's out-of-fold probabilities of each segment
and its neighbours. Models are saved with joblib beside a JSON card holding the versions, the
training-data hash, the labels, the held-out metrics and the sha256 of the model file; loading
checks the hash and the versions before unpickling anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import platform
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from detector import __version__
from detector.errors import ModelError
from detector.features import build_features, context_features
from detector.io import make_temp

__all__ = [
    "EDITORIAL",
    "Model",
    "SegmentClassifier",
    "build_pipeline",
    "card_path",
    "default_model_path",
    "load_model",
    "save_model",
]

log = logging.getLogger(__name__)

EDITORIAL = "editorial"
ADVERT = "advert"
#: Segments featurized at once when predicting.
PREDICT_ROWS = 4096
#: Raised whenever the features or the saved classifier change shape: older models are refused.
MODEL_FORMAT = 2


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


@dataclass
class Model:
    """A fitted classifier and its card (what it was trained on and how well it did)."""

    classifier: SegmentClassifier
    card: dict[str, Any] = field(default_factory=dict)
    _scorer: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]

    def predict_proba(self, table: pd.DataFrame) -> np.ndarray:
        """``classifier.predict_proba(table)`` up to float rounding, faster: texts already seen
        by this model are not featurized again (see :mod:`detector.scoring`)."""
        from detector.scoring import CachedScorer  # scoring builds on this module's classifier

        if self._scorer is None or self._scorer.classifier is not self.classifier:
            self._scorer = CachedScorer(self.classifier)
        return self._scorer.predict_proba(table)


def default_model_path() -> Path:
    """The shipped model: inside the installed package, so it works outside the repo too."""
    return Path(__file__).parent / "models" / "default.joblib"


def card_path(model_path: Path) -> Path:
    return model_path.with_suffix(".card.json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    return {
        "detector": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
        "python": platform.python_version(),
    }


def save_model(model: Model, path: str | os.PathLike[str]) -> Path:
    """Write the model and its card atomically (temp file, then rename); returns the card path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cpath = card_path(path)
    tmp, ctmp = _temp_beside(path), _temp_beside(cpath)
    try:
        joblib.dump(model.classifier, tmp, compress=3)
        card = dict(model.card)
        card.update(
            format=MODEL_FORMAT,
            labels=model.labels,
            versions=library_versions(),
            sha256=_sha256(tmp),
            model_file=path.name,
        )
        ctmp.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        os.replace(ctmp, cpath)
    finally:
        for leftover in (tmp, ctmp):
            leftover.unlink(missing_ok=True)
    model.card = card
    return cpath


def _temp_beside(path: Path) -> Path:
    return Path(make_temp(path))


def load_model(path: str | os.PathLike[str] | None = None, *, trust: bool = False) -> Model:
    """Load a model after checking its card: file hash, model format and library versions.

    A model without a card is loaded only with ``trust=True``: joblib files can run code.
    """
    path = Path(path) if path is not None else default_model_path()
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist; pass --model with a model path")
    cpath = card_path(path)
    card: dict[str, Any] = {}
    if cpath.is_file():
        try:
            card = json.loads(cpath.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"model card {cpath} is unreadable ({exc})") from None
        _check_card(path, card)
    elif not trust:
        raise ModelError(
            f"model {path} has no card ({cpath.name}); joblib files can run code when loaded, "
            "so pass --trust-model only if you trust where it came from"
        )
    try:
        classifier = joblib.load(path)
    except _UNPICKLING_ERRORS as exc:
        raise ModelError(f"model file {path} could not be loaded ({type(exc).__name__})") from None
    if not isinstance(classifier, SegmentClassifier):
        raise ModelError(f"model file {path} does not hold a detector model")
    return Model(classifier, card)


_UNPICKLING_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    AttributeError,
    ImportError,
    IndexError,
    KeyError,
    TypeError,
    ValueError,
    OSError,
    zlib.error,
)


def _check_card(path: Path, card: dict[str, Any]) -> None:
    if card.get("format") != MODEL_FORMAT:
        raise ModelError(
            f"model {path} has format {card.get('format')!r}; this detector reads format "
            f"{MODEL_FORMAT}: retrain it with this version (detector train)"
        )
    actual = _sha256(path)
    if card.get("sha256") != actual:
        raise ModelError(
            f"model {path} does not match the sha256 in its card {card_path(path).name}: "
            "the file was changed or corrupted; refusing to load it"
        )
    want = card.get("versions", {}).get("scikit-learn", "")
    if want.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise ModelError(
            f"model {path} was trained with scikit-learn {want}, but {sklearn.__version__} is "
            f"installed: install scikit-learn=={want} or retrain the model (detector train)"
        )
