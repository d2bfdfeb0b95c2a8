"""Answered review tasks (our JSONL, the edited CSV, a Label Studio export) -> training data.

One record per article with at least one answer, in data/FORMAT.md: ``id``, ``text``,
``spans`` and ``source`` (the site) when known. An answered segment becomes a span of its
label (``editorial``: no span); the rest of the article keeps the model's guesses made at pick
time (``model_spans``: pick chose the segments the model was least sure of, so the others are
its confident calls), unless ``model_spans=False`` makes them editorial. Anything that cannot
be placed exactly is refused with the file and the line, row or task.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detector.errors import DataError, InputError
from detector.io import Input, Output
from detector.model import EDITORIAL
from detector.review.tasks import DEFAULT_LABELS, SKIP, read_task_file, task_format

__all__ = ["ImportResult", "import_answers", "read_answers"]


@dataclass
class _Answer:
    where: str
    task: dict[str, Any]
    label: str | None


@dataclass
class _Article:
    id: str
    text: str
    site: str | None
    model_spans: list[dict[str, Any]]
    first: str  # where the article was first met
    answers: dict[tuple[int, int], tuple[str, str]] = field(default_factory=dict)


@dataclass
class ImportResult:
    """What was imported: the records written and how many answers they hold."""

    records: list[dict[str, Any]]
    answers: int
    skipped: int
    path: str | None = None


def import_answers(
    path: str,
    output: str | None = None,
    *,
    fmt: str | None = None,
    labels: Sequence[str] = (),
    corpus: str | None = None,
    text_field: str = "text",
    id_field: str = "id",
    model_spans: bool = True,
) -> ImportResult:
    """Read answered tasks from ``path`` and write the labeled articles to ``output`` (JSONL).

    Parameters
    ----------
    path : str
        Our JSONL tasks (.jsonl), the edited CSV (.csv) or a Label Studio export (.json).
    labels : sequence of str
        Labels allowed besides advert, editorial and neutral.
    corpus : str
        Where to read the article texts (by id) when the tasks do not carry them.
    model_spans : bool
        Keep the model's pick-time guesses for the segments nobody answered.
    """
    records, answered, skipped = read_answers(
        path,
        fmt=fmt,
        labels=labels,
        corpus=corpus,
        text_field=text_field,
        id_field=id_field,
        model_spans=model_spans,
    )
    if output is not None:
        with Output(output, "jsonl").writer() as writer:
            writer.write_records(records)
    return ImportResult(records, answered, skipped, output)


def read_answers(
    path: str,
    *,
    fmt: str | None = None,
    labels: Sequence[str] = (),
    corpus: str | None = None,
    text_field: str = "text",
    id_field: str = "id",
    model_spans: bool = True,
) -> tuple[list[dict[str, Any]], int, int]:
    """The labeled articles of ``path``, the number of answers and of skipped tasks."""
    kind = task_format(path, fmt)
    reader = {"jsonl": _jsonl_answers, "csv": _csv_answers, "labelstudio": _labelstudio_answers}
    allowed = list(dict.fromkeys([*DEFAULT_LABELS, *labels]))
    texts = _corpus_texts(corpus, text_field, id_field) if corpus else None
    articles: dict[str, _Article] = {}
    answered = skipped = 0
    for answer in reader[kind](path):
        label = _label(answer, allowed)
        if label is None:
            skipped += 1
            continue
        _place(answer, label, articles, texts, corpus)
        answered += 1
    records = [_record(a, model_spans) for a in articles.values()]
    return records, answered, skipped


def _label(answer: _Answer, allowed: list[str]) -> str | None:
    label = (answer.label or "").strip().lower()
    if not label or label == SKIP:
        return None
    if label not in allowed:
        raise DataError(
            f"{answer.where}: unknown label {label!r} (allowed: {', '.join(allowed)}); "
            f"pass --labels {label} to allow it"
        )
    return label


def _place(
    answer: _Answer,
    label: str,
    articles: dict[str, _Article],
    texts: Mapping[str, str] | None,
    corpus: str | None,
) -> None:
    where, task = answer.where, answer.task
    for name in ("article", "start", "end", "segment"):
        if task.get(name) is None or task.get(name) == "":
            raise DataError(f"{where} has no field '{name}'")
    article_id = str(task["article"])
    try:
        start, end = int(task["start"]), int(task["end"])
    except (TypeError, ValueError):
        raise DataError(f"{where}: start and end must be integers") from None
    if texts is not None:
        if article_id not in texts:
            raise DataError(f"{where}: article {article_id!r} is not in the corpus {corpus}")
        text = texts[article_id]
    elif isinstance(task.get("text"), str) and task["text"]:
        text = task["text"]
    else:
        raise DataError(
            f"{where}: no article text; pass --corpus with the articles the tasks were picked from"
        )
    if not 0 <= start < end <= len(text):
        raise DataError(
            f"{where}: offsets {start}-{end} are outside article {article_id!r} "
            f"(length {len(text)})"
        )
    if text[start:end] != task["segment"]:
        raise DataError(
            f"{where}: the segment no longer matches article {article_id!r} at {start}-{end} "
            "(the text or the offsets were changed)"
        )
    article = articles.get(article_id)
    if article is None:
        article = _Article(
            article_id, text, _site(task.get("site")), _model_spans(task, where, len(text)), where
        )
        articles[article_id] = article
    elif article.text != text:
        raise DataError(
            f"{where}: article {article_id!r} has another text than at {article.first}"
        )
    for (a, b), (_, other) in article.answers.items():
        if (a, b) != (start, end) and a < end and start < b:
            raise DataError(
                f"{where}: segment {start}-{end} overlaps the answered segment {a}-{b} of "
                f"article {article_id!r} at {other}"
            )
    article.answers[(start, end)] = (label, where)


def _site(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _model_spans(task: dict[str, Any], where: str, n: int) -> list[dict[str, Any]]:
    spans = task.get("model_spans") or []
    if isinstance(spans, str):
        try:
            spans = json.loads(spans)
        except json.JSONDecodeError:
            raise DataError(f"{where}: field 'model_spans' is not valid JSON") from None
    out = []
    try:
        for s in spans:
            a, b, label = int(s["start"]), int(s["end"]), str(s["label"])
            if not 0 <= a < b <= n:
                raise DataError(f"{where}: a model span {a}-{b} is outside the article")
            out.append({"start": a, "end": b, "label": label})
    except (KeyError, TypeError, ValueError):
        raise DataError(
            f"{where}: field 'model_spans' must be a list of start, end, label"
        ) from None
    return out


def _record(article: _Article, model_spans: bool) -> dict[str, Any]:
    answered = [(a, b, label) for (a, b), (label, _) in article.answers.items()]
    spans = [(a, b, label) for a, b, label in answered if label != EDITORIAL]
    if model_spans:
        spans += [
            (s["start"], s["end"], s["label"])
            for s in article.model_spans
            if s["label"] != EDITORIAL
            and not any(a < s["end"] and s["start"] < b for a, b, _ in answered)
        ]
    spans.sort()
    record: dict[str, Any] = {
        "id": article.id,
        "text": article.text,
        "spans": [{"start": a, "end": b, "label": label} for a, b, label in spans],
    }
    if article.site:
        record["source"] = article.site
    return record


def _corpus_texts(corpus: str, text_field: str, id_field: str) -> dict[str, str]:
    texts: dict[str, str] = {}
    for chunk in Input(corpus, text_field, id_field).chunks():
        texts.update(zip(chunk.ids, chunk.texts))
    return texts


# -- the three formats ---------------------------------------------------------------------


def _jsonl_answers(path: str) -> Iterator[_Answer]:
    for task in read_task_file(path):
        label = task.get("label")
        yield _Answer(f"{path} line {task['_line']}", task, None if label is None else str(label))


def _csv_answers(path: str) -> Iterator[_Answer]:
    import pandas as pd

    if not os.path.exists(path):
        raise InputError(f"{path} does not exist")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid UTF-8 CSV ({str(exc).strip()})") from None
    columns = [str(c) for c in frame.columns]
    for name in ("article", "start", "end", "segment", "label"):
        if name not in columns:
            raise InputError(f"{path} has no column '{name}' (columns: {', '.join(columns)})")
    for i, row in enumerate(frame.to_dict("records")):
        yield _Answer(f"{path} row {i + 2}", {str(k): v for k, v in row.items()}, row["label"])


def _labelstudio_answers(path: str) -> Iterator[_Answer]:
    if not os.path.exists(path):
        raise InputError(f"{path} does not exist")
    try:
        items = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise InputError(f"{path} is not valid JSON") from None
    if not isinstance(items, list):
        raise InputError(f"{path} is not a Label Studio export (a JSON list of tasks)")
    for k, item in enumerate(items, 1):
        where = f"{path} task {k}"
        if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
            raise DataError(f"{where} has no 'data' object")
        yield _Answer(where, item["data"], _labelstudio_label(item, where))


def _labelstudio_label(item: dict[str, Any], where: str) -> str | None:
    """The choice (or Labels tag) of the last annotation that was not cancelled."""
    annotations = [
        a
        for a in item.get("annotations") or []
        if isinstance(a, dict) and not a.get("was_cancelled")
    ]
    if not annotations:
        return None
    chosen: list[str] = []
    for result in annotations[-1].get("result") or []:
        value = result.get("value") if isinstance(result, dict) else None
        if isinstance(value, dict):
            for key in ("choices", "labels"):
                if isinstance(value.get(key), list):
                    chosen.extend(str(v) for v in value[key])
    chosen = list(dict.fromkeys(chosen))
    if len(chosen) > 1:
        raise DataError(f"{where}: {len(chosen)} labels chosen ({', '.join(chosen)}); choose one")
    return chosen[0] if chosen else None
