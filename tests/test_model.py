"""Model files: the card travels with the model, and loading refuses what it cannot vouch for."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
import sklearn

from detector import __version__
from detector.errors import ModelError
from detector.features import segment_table
from detector.model import MODEL_FORMAT, Model, card_path, load_model, save_model
from detector.training import data_hash


@pytest.fixture
def model_copy(tiny_model_path: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny model and its card, free to be damaged."""
    path = tmp_path / "m.joblib"
    shutil.copy(tiny_model_path, path)
    shutil.copy(card_path(tiny_model_path), card_path(path))
    return path


def _edit_card(path: Path, **changes: object) -> None:
    cpath = card_path(path)
    card = json.loads(cpath.read_text(encoding="utf-8"))
    card.update(changes)
    cpath.write_text(json.dumps(card), encoding="utf-8")


def test_roundtrip_with_card(tiny_model: Model, tiny_model_path: Path, tiny_records: list) -> None:
    loaded = load_model(tiny_model_path)
    card = loaded.card
    assert card["sha256"] == hashlib.sha256(tiny_model_path.read_bytes()).hexdigest()
    assert card["versions"]["scikit-learn"] == sklearn.__version__
    assert card["versions"]["detector"] == __version__
    assert {"numpy", "pandas", "joblib", "python"} <= set(card["versions"])
    assert card["labels"] == loaded.labels == ["advert", "editorial", "neutral"]
    assert card["data_sha256"] == data_hash(tiny_records)
    assert card["articles"] == len(tiny_records)
    assert card["model_file"] == tiny_model_path.name
    assert card["format"] == MODEL_FORMAT
    assert "heldout" not in card  # holdout=0.0
    table, _ = segment_table((r["id"], r["text"]) for r in tiny_records[:3])
    np.testing.assert_array_equal(loaded.classifier.predict_proba(table),
                                  tiny_model.classifier.predict_proba(table))


def test_save_leaves_no_temp_files(tiny_model: Model, tmp_path: Path) -> None:
    cpath = save_model(Model(tiny_model.classifier, dict(tiny_model.card)), tmp_path / "x.joblib")
    assert cpath == tmp_path / "x.card.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.card.json", "x.joblib"]


def test_tampered_model_is_refused(model_copy: Path) -> None:
    with open(model_copy, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError) as info:
        load_model(model_copy)
    assert str(info.value) == (
        f"model {model_copy} does not match the sha256 in its card m.card.json: "
        "the file was changed or corrupted; refusing to load it")


def test_other_sklearn_minor_version_is_refused(model_copy: Path) -> None:
    major, minor = sklearn.__version__.split(".")[:2]
    other = f"{major}.{int(minor) + 1}.0"
    _edit_card(model_copy, versions={"scikit-learn": other})
    with pytest.raises(ModelError) as info:
        load_model(model_copy)
    assert str(info.value) == (
        f"model {model_copy} was trained with scikit-learn {other}, but {sklearn.__version__} "
        f"is installed: install scikit-learn=={other} or retrain the model (detector train)")


def test_other_sklearn_patch_version_loads(model_copy: Path) -> None:
    major, minor = sklearn.__version__.split(".")[:2]
    _edit_card(model_copy, versions={"scikit-learn": f"{major}.{minor}.99"})
    assert load_model(model_copy).labels == ["advert", "editorial", "neutral"]


def test_other_format_is_refused(model_copy: Path) -> None:
    _edit_card(model_copy, format=99)
    message = f"has format 99; this detector reads format {MODEL_FORMAT}"
    with pytest.raises(ModelError, match=message):
        load_model(model_copy)


def test_unreadable_card_is_refused(model_copy: Path) -> None:
    card_path(model_copy).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match=r"model card .*m\.card\.json is unreadable"):
        load_model(model_copy)


def test_model_without_card_needs_trust(model_copy: Path) -> None:
    card_path(model_copy).unlink()
    with pytest.raises(ModelError) as info:
        load_model(model_copy)
    assert str(info.value) == (
        f"model {model_copy} has no card (m.card.json); joblib files can run code when loaded, "
        "so pass --trust-model only if you trust where it came from")
    assert load_model(model_copy, trust=True).card == {}


def test_not_a_detector_model_is_refused(tmp_path: Path) -> None:
    import joblib

    path = tmp_path / "other.joblib"
    joblib.dump({"not": "a model"}, path)
    with pytest.raises(ModelError, match="does not hold a detector model"):
        load_model(path, trust=True)


def test_garbage_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.joblib"
    path.write_bytes(b"this is no pickle")
    with pytest.raises(ModelError, match=r"could not be loaded \(\w+\)"):
        load_model(path, trust=True)


def test_missing_model_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.joblib"
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert str(info.value) == f"model file {path} does not exist; pass --model with a model path"


def test_saved_model_is_readable_by_others(tiny_model_path: Path) -> None:
    mask = os.umask(0)
    os.umask(mask)
    for path in (tiny_model_path, card_path(tiny_model_path)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path
