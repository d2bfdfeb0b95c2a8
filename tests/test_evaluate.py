"""evaluate(): exact figures on hand-made cases, and agreement with the official scorer."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest
from conftest import SHARED, load_jsonl, shared_path

from detector.detect import Detector
from detector.evaluate import METRICS, char_counts, evaluate, format_report, summarize

TEXT = "ab cd ef gh"  # 8 non-space characters


def _span(a: int, b: int, label: str = "advert") -> dict:
    return {"start": a, "end": b, "label": label}


def test_char_counts_over_non_space_characters() -> None:
    counts = char_counts(TEXT, [_span(3, 8)], [_span(6, 11)])  # gold "cd ef", pred "ef gh"
    assert counts == {"tp": 2, "fp": 2, "fn": 2, "editorial": 4, "advert": 4,
                      "docs": 1, "clean_docs": 0}


def test_char_counts_neutral_gold_counts_neither_way() -> None:
    counts = char_counts(TEXT, [_span(0, 2), _span(9, 11, "neutral")], [_span(0, 11)])
    assert counts == {"tp": 2, "fp": 4, "fn": 0, "editorial": 4, "advert": 2,
                      "docs": 1, "clean_docs": 0}


def test_char_counts_kept_predicted_labels_remove_nothing() -> None:
    pred = [_span(0, 2, "editorial"), _span(3, 5, "neutral"), {"start": 6, "end": 8}]
    assert char_counts(TEXT, [_span(6, 8)], pred) == {
        "tp": 2, "fp": 0, "fn": 0, "editorial": 6, "advert": 2, "docs": 1, "clean_docs": 1}


def test_summarize_exact_figures() -> None:
    c = {"tp": 2, "fp": 2, "fn": 2, "editorial": 4, "advert": 4, "docs": 1, "clean_docs": 0}
    assert summarize(c) == {"docs": 1, "clean_docs": 0, "advert_precision": 0.5,
                            "advert_recall": 0.5, "advert_f1": 0.5, "editorial_loss": 0.5,
                            "advert_residue": 0.5}
    c = {"tp": 1, "fp": 0, "fn": 2, "editorial": 3, "advert": 3, "docs": 2, "clean_docs": 1}
    assert summarize(c) == {"docs": 2, "clean_docs": 1, "advert_precision": 1.0,
                            "advert_recall": 0.3333, "advert_f1": 0.5, "editorial_loss": 0.0,
                            "advert_residue": 0.6667}


def test_summarize_nothing_to_find_nothing_found() -> None:
    c = {"tp": 0, "fp": 0, "fn": 0, "editorial": 0, "advert": 0, "docs": 1, "clean_docs": 1}
    assert summarize(c)["advert_f1"] == 1.0
    assert summarize(c)["editorial_loss"] == 0.0


def test_evaluate_per_source_and_missing_predictions() -> None:
    gold = [{"id": "a", "source": "s1", "text": TEXT, "spans": [_span(0, 2)]},
            {"id": "b", "source": "s2", "text": TEXT, "spans": [_span(9, 11)]}]
    report = evaluate(gold, {"a": [_span(0, 2)]})
    assert list(report) == ["ALL", "s1", "s2"]
    assert report["s1"]["advert_f1"] == 1.0 and report["s1"]["clean_docs"] == 1
    assert report["s2"]["advert_recall"] == 0.0 and report["s2"]["advert_residue"] == 1.0
    assert report["ALL"]["advert_recall"] == 0.5
    assert report["ALL"]["missing_predictions"] == 1
    table = format_report(report)
    assert table.splitlines()[0].split() == ["source", *(m[:12] for m in METRICS)]
    assert len(table.splitlines()) == 4


def _scorer() -> ModuleType:
    path = SHARED / "tools" / "score.py"
    if not path.is_file():
        pytest.skip(f"{path} is not available (../shared is not checked out)")
    spec = importlib.util.spec_from_file_location("shared_score", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _agree(gold: list[dict], predictions: dict[str, list[dict]]) -> None:
    official = _scorer().score({r["id"]: r for r in gold},
                               {k: {"id": k, "spans": v} for k, v in predictions.items()},
                               "spans")
    assert evaluate(gold, predictions) == official


def test_agrees_with_scorer_on_the_seed() -> None:
    gold = load_jsonl(shared_path("data", "seed", "tesla-xai.jsonl"))
    _agree(gold, {r["id"]: r["spans"] for r in gold})  # perfect
    _agree(gold, {})  # nothing predicted
    _agree(gold, {gold[0]["id"]: [_span(0, 60), gold[0]["spans"][1]]})


def test_agrees_with_scorer_on_hand_cases() -> None:
    spans = [_span(0, 2), _span(9, 11, "neutral")]
    gold = [{"id": "a", "source": "s1", "text": TEXT, "spans": spans},
            {"id": "b", "text": TEXT, "spans": []}]
    _agree(gold, {"a": [_span(0, 5), _span(6, 8, "editorial")], "b": [{"start": 3, "end": 5}]})


def test_agrees_with_scorer_on_real_data(detector_tiny: Detector) -> None:
    files = sorted(shared_path("data", "real").glob("*.jsonl"))
    if not files:
        pytest.skip("no real labeled data in ../shared/data/real")
    for path in files:
        gold = load_jsonl(path)
        predicted = detector_tiny.label_many([r["text"] for r in gold])
        _agree(gold, {r["id"]: [s.to_dict() for s in spans] for r, spans in zip(gold, predicted)})
