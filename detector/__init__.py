"""detector: find and strip advert boilerplate in scraped articles.

>>> from detector import Detector
>>> Detector.load().strip("Editorial text.")
'Editorial text.'
"""

from __future__ import annotations

__version__ = "1.0.0"

from detector.detect import DEFAULT_THRESHOLD, Detector, LabeledSpan  # noqa: E402
from detector.errors import DataError, DetectorError, InputError, ModelError  # noqa: E402
from detector.evaluate import evaluate  # noqa: E402
from detector.model import Model, load_model, save_model  # noqa: E402
from detector.segment import Segment, segment  # noqa: E402
from detector.strip import strip_spans  # noqa: E402
from detector.train import train  # noqa: E402

__all__ = [
    "DEFAULT_THRESHOLD",
    "DataError",
    "Detector",
    "DetectorError",
    "InputError",
    "LabeledSpan",
    "Model",
    "ModelError",
    "Segment",
    "__version__",
    "evaluate",
    "load_model",
    "save_model",
    "segment",
    "strip_spans",
    "train",
]
