"""The review loop: pick what to label, label it, import the answers as training data.

``pick`` chooses the segments the model is least sure of, spread over sites and articles, and
writes them as tasks (JSONL, CSV or Label Studio); ``label_tasks`` is the terminal loop over a
JSONL task file; ``import_answers`` turns answered tasks into data/FORMAT.md JSONL.
"""

from __future__ import annotations

from detector.review.answers import ImportResult, import_answers, read_answers
from detector.review.loop import KEYS, LoopResult, label_tasks, render_task
from detector.review.pick import PickResult, pick, pick_to_file
from detector.review.tasks import (
    DEFAULT_LABELS,
    FORMATS,
    labeling_config,
    read_task_file,
    write_tasks,
)

__all__ = [
    "DEFAULT_LABELS",
    "FORMATS",
    "KEYS",
    "ImportResult",
    "LoopResult",
    "PickResult",
    "import_answers",
    "label_tasks",
    "labeling_config",
    "pick",
    "pick_to_file",
    "read_answers",
    "read_task_file",
    "render_task",
    "write_tasks",
]
