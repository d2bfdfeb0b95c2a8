"""Review tasks: one segment to label, with its article, written as JSONL, CSV or Label Studio.

A task is a flat dict (see :data:`TASK_FIELDS`). It carries the whole article text and the
model's non-editorial guesses for the article (``model_spans``), so that the answers alone make
complete training data (:mod:`detector.review.answers`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from detector.defaults import REVIEW_FORMATS
from detector.errors import InputError
from detector.io import atomic_write

__all__ = [
    "DEFAULT_LABELS",
    "FORMATS",
    "SKIP",
    "TASK_FIELDS",
    "labeling_config",
    "read_task_file",
    "task_format",
    "write_tasks",
]

#: The labels a reviewer chooses from (``--labels`` adds more).
DEFAULT_LABELS = ("advert", "editorial", "neutral")
#: The answer that says "not this one": left out of the training data.
SKIP = "skip"
FORMATS = REVIEW_FORMATS
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".csv": "csv", ".json": "labelstudio"}

#: Fields of a task, in the order of the CSV columns (the large ones last).
TASK_FIELDS = (
    "task",
    "article",
    "site",
    "start",
    "end",
    "score",
    "guess",
    "label",
    "before",
    "segment",
    "after",
    "text",
    "model_spans",
)


def task_format(path: str, fmt: str | None = None) -> str:
    """``fmt`` if given, else the format named by the file's extension."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError(f"unknown task format {fmt!r} (known: {', '.join(FORMATS)})")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIX_FORMATS:
        raise InputError(
            f"{path}: cannot tell the task format from the extension {suffix or '(none)'}; "
            "use .jsonl, .csv or .json, or pass --format"
        )
    return _SUFFIX_FORMATS[suffix]


def config_path(path: str | os.PathLike[str]) -> Path:
    """Where the Label Studio labeling config of a task file goes: ``tasks.config.xml``."""
    return Path(path).with_suffix(".config.xml")


def write_tasks(
    tasks: Sequence[dict[str, Any]],
    path: str | os.PathLike[str],
    fmt: str,
    *,
    labels: Sequence[str] = DEFAULT_LABELS,
    model_name: str = "detector",
) -> list[Path]:
    """Write ``tasks`` atomically in ``fmt``; returns the files written (Label Studio: the
    tasks and the labeling config beside them)."""
    path = Path(path)
    if fmt == "jsonl":
        _write_text(path, "".join(_json_line(t) for t in tasks))
        return [path]
    if fmt == "csv":
        import pandas as pd

        frame = pd.DataFrame(
            [
                {**t, "label": t.get("label") or "", "model_spans": json.dumps(t["model_spans"])}
                for t in tasks
            ],
            columns=list(TASK_FIELDS),
        )
        with atomic_write(path) as tmp:
            frame.to_csv(tmp, index=False, encoding="utf-8")
        return [path]
    if fmt == "labelstudio":
        items = [_labelstudio_task(t, model_name) for t in tasks]
        _write_text(path, json.dumps(items, ensure_ascii=False, indent=1) + "\n")
        config = config_path(path)
        _write_text(config, labeling_config(labels))
        return [path, config]
    raise InputError(f"unknown task format {fmt!r} (known: {', '.join(FORMATS)})")


def _json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def _write_text(path: Path, payload: str) -> None:
    with atomic_write(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(payload)


def _labelstudio_task(task: dict[str, Any], model_name: str) -> dict[str, Any]:
    data = {k: v for k, v in task.items() if k != "label"}
    choice = {
        "from_name": "label",
        "to_name": "segment",
        "type": "choices",
        "value": {"choices": [task["guess"]]},
    }
    return {
        "data": data,
        "predictions": [{"model_version": model_name, "score": task["score"], "result": [choice]}],
    }


def labeling_config(labels: Sequence[str] = DEFAULT_LABELS) -> str:
    """A Label Studio labeling config: the segment highlighted between its context, one choice
    (pre-selected by the model's guess, which each task carries as a prediction).

    The names match the tasks :func:`write_tasks` makes (``$before``, ``$segment``,
    ``$after``; the choice is ``label`` on ``segment``).
    """
    choices = "\n".join(f"    <Choice value={quoteattr(label)}/>" for label in labels)
    return f"""<View>
  <Header value="Is the highlighted segment an advert, editorial or neutral?"/>
  <Text name="before" value="$before"/>
  <View style="background: #fff3b0; border-left: 4px solid #d99a00; padding: 6px 10px;">
    <Text name="segment" value="$segment"/>
  </View>
  <Text name="after" value="$after"/>
  <Choices name="label" toName="segment" choice="single" showInline="true" required="true">
{choices}
  </Choices>
</View>
"""


def read_task_file(path: str) -> list[dict[str, Any]]:
    """Our JSONL tasks, each checked to be a JSON object with a task number."""
    if not os.path.exists(path):
        raise InputError(f"{path} does not exist")
    tasks = []
    with open(path, encoding="utf-8", errors="strict") as fh:
        try:
            lines = list(fh)
        except UnicodeDecodeError:
            raise InputError(f"{path} is not valid UTF-8") from None
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path} line {line_no}"
        try:
            task = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise InputError(f"{where} is not valid JSON") from None
        if not isinstance(task, dict):
            raise InputError(f"{where} is not a JSON object")
        for name in ("article", "start", "end", "segment"):
            if name not in task:
                raise InputError(f"{where} has no field '{name}' (not a review pick task file)")
        task["_line"] = line_no
        tasks.append(task)
    if not tasks:
        raise InputError(f"{path} has no tasks")
    return tasks


def save_task_file(path: str, tasks: Sequence[dict[str, Any]]) -> None:
    """Rewrite the task file atomically: an interruption leaves the old or the new file."""
    _write_text(
        Path(path), "".join(_json_line({k: v for k, v in t.items() if k != "_line"}) for t in tasks)
    )
