"""The terminal labeling loop over a JSONL task file, one key per answer.

Every answer (and every undo) rewrites the task file atomically before the next task is shown,
so an interrupted session loses nothing and the next one starts at the first open task.
Reading keys and showing text are the caller's (the CLI passes click's); nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from detector.errors import InputError
from detector.review.tasks import SKIP, read_task_file, save_task_file

__all__ = ["KEYS", "LoopResult", "label_tasks", "render_task"]

#: Answer keys; ``u`` undoes the last answer and ``q`` (or Ctrl-C, Ctrl-D) stops.
KEYS = {"a": "advert", "e": "editorial", "n": "neutral", "s": SKIP}
_QUIT = {"q", "\x03", "\x04", ""}
HELP = "[a]dvert  [e]ditorial  [n]eutral  [s]kip  [u]ndo  [q]uit"


@dataclass
class LoopResult:
    """What a session did (answers given, undos) and how many tasks are still open."""

    answered: int
    undone: int
    total: int
    open: int


def render_task(task: dict[str, Any], total: int, note: str = "") -> str:
    """The task as terminal text: context dimmed, the segment highlighted, the model's guess."""
    before = str(task.get("before") or "")
    after = str(task.get("after") or "")
    site = f"  site {task['site']}" if task.get("site") else ""
    head = f"task {task.get('task', '?')} of {total}{site}  article {task['article']}"
    body = (
        click.style(("…" if before else "") + before, dim=True)
        # Brackets too, so the segment stands out where there are no colours.
        + click.style(f"⟦{task['segment']}⟧", bold=True, bg="yellow", fg="black")
        + click.style(after + ("…" if after else ""), dim=True)
    )
    guess = f"model: {task.get('guess', '?')} (advert score {float(task.get('score', 0)):.2f})"
    lines = [click.style(head, bold=True), "", body, "", guess]
    if note:
        lines.append(note)
    lines.append(HELP)
    return "\n".join(lines)


def label_tasks(
    path: str,
    read_key: Callable[[], str],
    show: Callable[[str], None],
) -> LoopResult:
    """Ask for a label of each open task of ``path`` until all are answered or the user quits.

    Parameters
    ----------
    path : str
        A JSONL task file of ``detector review pick``; answers go into its ``label`` fields.
    read_key : callable
        Returns the next key pressed ('' at the end of the input).
    show : callable
        Shows a screen of text.
    """
    if Path(path).suffix.lower() in (".csv", ".json"):
        raise InputError(
            f"{path}: review label works on JSONL tasks (review pick -o tasks.jsonl); label a "
            "CSV in a spreadsheet or Label Studio tasks in Label Studio, then run review import"
        )
    tasks = read_task_file(path)
    history: list[int] = []
    answered = undone = 0
    note = ""
    while True:
        current = _first_open(tasks)
        if current is None:
            if not history:
                break
            # Finished in this session: one last chance to undo the final answer.
            show(f"all {len(tasks)} tasks answered\n[u]ndo  [q]uit")
        else:
            show(render_task(tasks[current], len(tasks), note))
        note = ""
        key = read_key().lower()
        if key in _QUIT:
            break
        if key == "u":
            target = _undo_target(tasks, history, len(tasks) if current is None else current)
            if target is None:
                note = "nothing to undo"
                continue
            tasks[target]["label"] = None
            save_task_file(path, tasks)
            if history and history[-1] == target:
                history.pop()
            undone += 1
            note = f"undid task {tasks[target].get('task', target + 1)}"
            continue
        if key not in KEYS or current is None:
            note = f"unknown key {key!r}"
            continue
        tasks[current]["label"] = KEYS[key]
        save_task_file(path, tasks)
        history.append(current)
        answered += 1
    left = sum(1 for t in tasks if not t.get("label"))
    return LoopResult(answered=answered, undone=undone, total=len(tasks), open=left)


def _first_open(tasks: Sequence[dict[str, Any]]) -> int | None:
    return next((i for i, t in enumerate(tasks) if not t.get("label")), None)


def _undo_target(tasks: Sequence[dict[str, Any]], history: list[int], current: int) -> int | None:
    """The answer of this session given last, else (after a resume) the last answered task
    before the current one."""
    if history:
        return history[-1]
    return next((i for i in range(current - 1, -1, -1) if tasks[i].get("label")), None)
