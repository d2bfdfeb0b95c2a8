"""Training from several files: per-file weights, --base (shipped data as package data), card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import fails, invoke

from detector import training
from detector.classifier import build_pipeline
from detector.errors import DataError
from detector.features import segment_table
from detector.model import card_path
from detector.training import (
    base_data_path,
    parse_weight,
    read_training_files,
    segment_labels,
    train_files,
)

REPO = Path(__file__).resolve().parents[1]
PARAMS = {"n_features": 2**12, "cv": 2}


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


@pytest.fixture()
def two_files(tiny_records: list, tmp_path: Path) -> tuple[Path, Path]:
    """Seven sources in one file, seven others in the second (two articles each)."""
    by_source: dict[str, list] = {}
    for r in tiny_records:
        by_source.setdefault(r["source"], []).append(r)
    sources = sorted(by_source)
    first = [r for s in sources[:7] for r in by_source[s][:2]]
    second = [r for s in sources[7:14] for r in by_source[s][:2]]
    return write_jsonl(tmp_path / "a.jsonl", first), write_jsonl(tmp_path / "mine.jsonl", second)


# -- the shipped data is package data ------------------------------------------------------------


def test_base_data_is_inside_the_package_and_the_repo_path_points_to_it() -> None:
    path = base_data_path()
    assert path == Path(training.__file__).parent / "data" / "train.jsonl"
    assert path.is_file()
    repo_copy = REPO / "data" / "train.jsonl"
    assert repo_copy.resolve() == path.resolve()
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "data/train.jsonl" in pyproject["tool"]["setuptools"]["package-data"]["detector"]


# -- weights ---------------------------------------------------------------------------------------


def test_parse_weight() -> None:
    assert parse_weight("mine.jsonl=3") == ("mine.jsonl", 3.0)
    assert parse_weight("odd=name.jsonl=0.5") == ("odd=name.jsonl", 0.5)
    for spec, message in [
        ("mine.jsonl", "--weight 'mine.jsonl' must be FILE=WEIGHT, e.g. mine.jsonl=3"),
        ("=3", "--weight '=3' must be FILE=WEIGHT, e.g. mine.jsonl=3"),
        ("mine.jsonl=x", "--weight 'mine.jsonl=x': the weight must be a positive number"),
        ("mine.jsonl=0", "--weight 'mine.jsonl=0': the weight must be a positive number"),
        ("mine.jsonl=nan", "--weight 'mine.jsonl=nan': the weight must be a positive number"),
    ]:
        with pytest.raises(DataError) as info:
            parse_weight(spec)
        assert str(info.value) == message


def test_weights_follow_their_files(two_files: tuple[Path, Path]) -> None:
    a, mine = map(str, two_files)
    same = f"{Path(mine).parent}/./{Path(mine).name}"  # another spelling of mine's path
    records, weights, files = read_training_files([a, mine], weights={same: 3.0})
    assert weights == [1.0] * 14 + [3.0] * 14
    assert files == [{"path": a, "articles": 14, "weight": 1.0},
                     {"path": mine, "articles": 14, "weight": 3.0}]


def test_weight_for_a_file_that_is_not_given(two_files: tuple[Path, Path], tmp_path: Path) -> None:
    a, mine = map(str, two_files)
    fails(f"--weight names other.jsonl, which is not one of the data files ({a})",
          "train", a, "--weight", "other.jsonl=2", "-o", str(tmp_path / "m.joblib"))
    fails("--weight 'x' must be FILE=WEIGHT, e.g. mine.jsonl=3",
          "train", a, "--weight", "x", "-o", str(tmp_path / "m.joblib"))


def test_the_same_id_in_two_files(two_files: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = two_files
    first_id = json.loads(a.read_text(encoding="utf-8").splitlines()[0])["id"]
    copy = write_jsonl(tmp_path / "copy.jsonl", [json.loads(a.read_text().splitlines()[0])])
    fails(f"id {first_id!r} appears in both {a} and {copy}",
          "train", str(a), str(copy), "-o", str(tmp_path / "m.joblib"))


def test_no_data_at_all(tmp_path: Path) -> None:
    fails("no training data: give labeled JSONL files or --base",
          "train", "-o", str(tmp_path / "m.joblib"))


def _table(records: list) -> tuple[Any, list[str], list[int]]:
    table, segments = segment_table((r["id"], r["text"]) for r in records)
    y = [lab for r, s in zip(records, segments) for lab in segment_labels(r["text"], r["spans"], s)]
    return table, y, [len(s) for s in segments]


def test_sample_weight_multiplies_the_length_weights(tiny_records: list) -> None:
    records = tiny_records[::4]
    table, y, sizes = _table(records)
    plain = build_pipeline(**PARAMS).fit(table, y).predict_proba(table)
    doubled = build_pipeline(**PARAMS).fit(table, y, sample_weight=np.full(len(y), 2.0))
    np.testing.assert_allclose(doubled.predict_proba(table), plain, atol=1e-6)
    # Weighting the first half of the articles up fits them better than the rest.
    half = sum(sizes[: len(sizes) // 2])
    w = np.r_[np.full(half, 20.0), np.ones(len(y) - half)]
    weighted = build_pipeline(**PARAMS).fit(table, y, sample_weight=w).predict_proba(table)
    classes = sorted(set(y))
    truth = np.array([classes.index(v) for v in y])

    def loss(p: np.ndarray, rows: slice) -> float:
        return float(-np.mean(np.log(p[np.arange(len(y))[rows], truth[rows]] + 1e-12)))

    assert loss(weighted, slice(0, half)) < loss(plain, slice(0, half))
    assert loss(weighted, slice(half, None)) > loss(plain, slice(half, None))
    with pytest.raises(ValueError, match="one non-negative weight per row"):
        build_pipeline(**PARAMS).fit(table, y, sample_weight=-w)


# -- --base and the card -----------------------------------------------------------------------


@pytest.fixture()
def small_base(tiny_records: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """--base reads a small stand-in for the shipped data, so that the test trains quickly."""
    taken = _first_sources(tiny_records)
    base = write_jsonl(tmp_path / "base.jsonl",
                       [r for r in tiny_records[::4] if r["source"] not in taken])
    monkeypatch.setattr(training, "base_data_path", lambda: base)
    return base


def _first_sources(records: list) -> set[str]:
    return set(sorted({r["source"] for r in records})[:14])


def test_train_with_base_and_weight_records_everything(
    two_files: tuple[Path, Path], small_base: Path, tmp_path: Path
) -> None:
    _, mine = two_files
    n_base = len(small_base.read_text(encoding="utf-8").splitlines())
    model = train_files([str(mine)], weights={str(mine): 3.0}, base=True, holdout=0.3,
                        params=PARAMS)
    card = model.card
    assert card["files"] == [{"path": str(mine), "articles": 14, "weight": 3.0},
                             {"path": "base", "articles": n_base, "weight": 1.0}]
    assert card["base_data"] is True
    assert card["trained_on"] == [str(mine), "base"]
    assert card["articles"] == 14 + n_base
    assert card["grouped_by"] == "source"
    heldout = card["heldout"]
    assert heldout["split"].startswith("30% of the articles, grouped by source")
    assert set(heldout["metrics"]) == {"ALL", *heldout["sources"]}
    assert len(heldout["sources"]) >= 2


def test_train_cli_with_base_and_weight(two_files: tuple[Path, Path], small_base: Path,
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, mine = two_files
    # The CLI trains with the default hyperparameters: shrink them to keep the test quick.
    monkeypatch.setattr(training, "build_pipeline", lambda **p: build_pipeline(**PARAMS))
    out = tmp_path / "mine.joblib"
    result = invoke("train", str(mine), "--weight", f"{mine}=2", "--base", "-o", str(out),
                    "--holdout", "0.3", "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"wrote {out} and {card_path(out)}"
    card = json.loads(card_path(out).read_text(encoding="utf-8"))
    assert card["files"][0] == {"path": str(mine), "articles": 14, "weight": 2.0}
    assert card["base_data"] is True and card["files"][1]["path"] == "base"


def test_without_base_the_card_says_so(two_files: tuple[Path, Path]) -> None:
    a, mine = map(str, two_files)
    model = train_files([a, mine], holdout=0.0, params=PARAMS)
    assert model.card["base_data"] is False
    assert [f["weight"] for f in model.card["files"]] == [1.0, 1.0]
    assert model.card["grouped_by"] == "source"
