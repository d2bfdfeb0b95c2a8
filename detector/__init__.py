"""detector: find and strip advert boilerplate in scraped articles.

>>> from detector import Detector
>>> Detector.load().strip("Editorial text.")
'Editorial text.'

The names that need scikit-learn and pandas are imported on first use, so that
``detector --help`` starts without loading them.
"""

from __future__ import annotations

import importlib
from typing import Any

from detector.errors import DataError, DetectorError, InputError, ModelError
from detector.evaluate import evaluate
from detector.segment import Segment, segment
from detector.strip import strip_spans

__version__ = "1.0.0"

_LAZY = {
    "DEFAULT_THRESHOLD": "detector.detect",
    "Detector": "detector.detect",
    "LabeledSpan": "detector.detect",
    "Model": "detector.model",
    "load_model": "detector.model",
    "save_model": "detector.model",
    "train": "detector.training",
}

__all__ = [
    "DataError",
    "DetectorError",
    "InputError",
    "ModelError",
    "Segment",
    "__version__",
    "evaluate",
    "segment",
    "strip_spans",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'detector' has no attribute {name!r}")
