"""data/challenge.py: the inline markers of the challenge set become labeled spans."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from detector.io import read_labeled

DATA = Path(__file__).resolve().parents[1] / "data"


def _challenge() -> ModuleType:
    spec = importlib.util.spec_from_file_location("challenge", DATA / "challenge.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_markers_become_spans_over_the_text_without_them() -> None:
    unmark = _challenge().unmark
    marked = "Prices rose.[[AD]] Read also: X [[/AD]]Next.\n[[NEU]]Photo: A[[/NEU]]"
    text, spans = unmark(marked, "t")
    assert text == "Prices rose. Read also: X Next.\nPhoto: A"
    assert spans == [
        {"start": 13, "end": 25, "label": "advert"},
        {"start": 32, "end": 40, "label": "neutral"},
    ]
    assert text[13:25] == "Read also: X"


@pytest.mark.parametrize(
    ("marked", "problem"),
    [
        ("a [[AD]]b", "never closed"),
        ("a [[/AD]]b", "without its opening"),
        ("[[AD]]a [[NEU]]b[[/NEU]][[/AD]]", "inside an open"),
        ("a [[AD]] [[/AD]]", "empty"),
    ],
)
def test_bad_markup_is_named(marked: str, problem: str) -> None:
    module = _challenge()
    with pytest.raises(module.MarkupError, match=problem):
        module.unmark(marked, "src line 1")


def test_built_files_are_valid_labeled_data() -> None:
    files = sorted((DATA / "challenge").glob("*.jsonl"))
    assert {f.stem for f in files} == {"de", "en"}
    for path in files:
        records = read_labeled(str(path))
        assert len(records) >= 40
        assert all("[[" not in r["text"] for r in records)
