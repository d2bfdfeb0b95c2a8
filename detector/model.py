"""Save and load models and their cards.

A model file (joblib) holds the fitted :class:`~detector.classifier.SegmentClassifier`
(pickled) and its :class:`~detector.scoring.LinearScorer`, the same two passes as numpy
arrays. Beside it a JSON card holds the versions, the training-data hash, the labels, the
held-out metrics and the sha256 of the model file; loading checks the hash and the versions
before unpickling anything. Labeling a loaded model runs the scorer, so neither loading nor
labeling imports scikit-learn.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import platform
import zlib
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np

from detector import __version__
from detector.cues import Columns
from detector.errors import ModelError
from detector.io import atomic_write
from detector.scoring import LinearScorer

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EDITORIAL",
    "Model",
    "card_path",
    "default_model_path",
    "load_model",
    "save_model",
]

log = logging.getLogger(__name__)

EDITORIAL = "editorial"
ADVERT = "advert"
#: Raised whenever the features or the saved classifier change shape.
MODEL_FORMAT = 3
#: Formats this detector loads. Format 2 files hold the bare classifier: they load, but their
#: scorer is compiled when loaded, which imports scikit-learn.
READABLE_FORMATS = (2, 3)


def __getattr__(name: str) -> Any:
    # The estimator moved to detector.classifier; format 2 model files name it here.
    if name in ("SegmentClassifier", "build_pipeline"):
        from detector import classifier

        return getattr(classifier, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Model:
    """A fitted classifier and its card (what it was trained on and how well it did).

    Labeling runs the model's :class:`~detector.scoring.LinearScorer`; the scikit-learn
    classifier itself is unpickled only when asked for (training, inspecting, or a classifier
    of a shape the scorer does not cover), so a loaded model labels without importing
    scikit-learn.
    """

    def __init__(
        self,
        classifier: Any = None,
        card: dict[str, Any] | None = None,
        *,
        scorer: LinearScorer | None = None,
        pickled: bytes | None = None,
    ):
        if classifier is None and pickled is None:
            raise ValueError("a Model needs its classifier, fitted or pickled")
        self._classifier = classifier
        self._pickled = pickled
        self.card: dict[str, Any] = dict(card or {})
        self._scorer = scorer
        self._compiled = scorer is not None

    @property
    def classifier(self) -> Any:
        """The fitted :class:`~detector.classifier.SegmentClassifier`."""
        if self._classifier is None:
            self._classifier = pickle.loads(self._pickled)  # type: ignore[arg-type]
        return self._classifier

    @property
    def scorer(self) -> LinearScorer | None:
        """The classifier's arithmetic in numpy, or None when it has another shape."""
        if not self._compiled:
            from detector.scoring import compile_scorer

            self._scorer = compile_scorer(self.classifier)
            self._compiled = True
        return self._scorer

    @property
    def labels(self) -> list[str]:
        scorer = self.scorer
        classes = scorer.classes if scorer is not None else self.classifier.classes_
        return [str(c) for c in classes]

    def predict_proba(self, table: Columns | pd.DataFrame) -> np.ndarray:
        """``classifier.predict_proba(table)`` up to float rounding, faster: in numpy, and texts
        already seen by this model are not featurized again (see :mod:`detector.scoring`).
        ``table`` is a segment table, as columns or as a DataFrame."""
        scorer = self.scorer
        if scorer is not None:
            return scorer.predict_proba(table)
        import pandas as pd

        return self.classifier.predict_proba(pd.DataFrame(table))

    def pickled_classifier(self) -> bytes:
        """The classifier pickled: as it was loaded, or pickled now for a fitted one."""
        if self._pickled is None:
            return pickle.dumps(self.classifier, protocol=pickle.HIGHEST_PROTOCOL)
        return self._pickled

    def __getstate__(self) -> dict[str, Any]:
        # Travels to worker processes as in its file: the receiver does not import
        # scikit-learn unless it asks for the classifier.
        return {"card": self.card, "scorer": self.scorer, "pickled": self.pickled_classifier()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            None, state["card"], scorer=state["scorer"], pickled=state["pickled"]
        )
        self._compiled = True


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
        "scikit-learn": metadata.version("scikit-learn"),
        "numpy": np.__version__,
        "pandas": metadata.version("pandas"),
        "joblib": joblib.__version__,
        "python": platform.python_version(),
    }


def save_model(model: Model, path: str | os.PathLike[str]) -> Path:
    """Write the model and its card atomically (temp files, renamed once both are written);
    returns the card path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cpath = card_path(path)
    with atomic_write(path) as tmp, atomic_write(cpath) as ctmp:
        payload = {"scorer": model.scorer, "classifier": model.pickled_classifier()}
        joblib.dump(payload, tmp, compress=3)
        card = dict(model.card)
        card.update(
            format=MODEL_FORMAT,
            labels=model.labels,
            versions=library_versions(),
            sha256=_sha256(Path(tmp)),
            model_file=path.name,
        )
        Path(ctmp).write_text(
            json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    model.card = card
    return cpath


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
        payload = joblib.load(path)
    except _UNPICKLING_ERRORS as exc:
        raise ModelError(f"model file {path} could not be loaded ({type(exc).__name__})") from None
    if isinstance(payload, dict) and set(payload) == {"scorer", "classifier"}:
        scorer, pickled = payload["scorer"], payload["classifier"]
        if isinstance(pickled, bytes) and (scorer is None or isinstance(scorer, LinearScorer)):
            return Model(None, card, scorer=scorer, pickled=pickled)
    elif _is_classifier(payload):  # format 2: the bare classifier
        return Model(payload, card)
    raise ModelError(f"model file {path} does not hold a detector model")


def _is_classifier(obj: Any) -> bool:
    """Whether ``obj`` is a SegmentClassifier; scikit-learn is imported only to find out."""
    if type(obj).__name__ != "SegmentClassifier":
        return False
    from detector.classifier import SegmentClassifier

    return isinstance(obj, SegmentClassifier)


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
    if card.get("format") not in READABLE_FORMATS:
        raise ModelError(
            f"model {path} has format {card.get('format')!r}; this detector reads formats "
            f"{', '.join(map(str, sorted(READABLE_FORMATS)))}: retrain it with this version "
            "(detector train)"
        )
    actual = _sha256(path)
    if card.get("sha256") != actual:
        raise ModelError(
            f"model {path} does not match the sha256 in its card {card_path(path).name}: "
            "the file was changed or corrupted; refusing to load it"
        )
    want = card.get("versions", {}).get("scikit-learn", "")
    have = metadata.version("scikit-learn")
    if want.split(".")[:2] != have.split(".")[:2]:
        raise ModelError(
            f"model {path} was trained with scikit-learn {want}, but {have} is "
            f"installed: install scikit-learn=={want} or retrain the model (detector train)"
        )
