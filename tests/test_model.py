"""Model files: the card travels with the model, and loading refuses what it cannot vouch for."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
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
    message = "has format 99; this detector reads formats 2, 3: retrain it"
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


def test_a_loaded_model_labels_without_scikit_learn(tiny_model_path: Path) -> None:
    # A fresh process: loading and labeling import neither scikit-learn nor scipy nor pandas,
    # which are most of a process's start-up time and memory.
    code = (
        "import sys; from detector import Detector; "
        f"d = Detector.load({str(tiny_model_path)!r}); "
        "d.label_many(['Editorial text.', 'Subscribe to our newsletter now!']); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'pandas'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_model_file_of_format_2_still_loads(
    tiny_model: Model, model_copy: Path, tiny_records: list
) -> None:
    # Format 2 held the bare classifier; its scorer is compiled when the model is used.
    import joblib

    joblib.dump(tiny_model.classifier, model_copy, compress=3)
    sha = hashlib.sha256(model_copy.read_bytes()).hexdigest()
    _edit_card(model_copy, format=2, sha256=sha)
    loaded = load_model(model_copy)
    table, _ = segment_table((r["id"], r["text"]) for r in tiny_records[:5])
    assert loaded.labels == tiny_model.labels
    np.testing.assert_array_equal(loaded.predict_proba(table), tiny_model.predict_proba(table))


def test_a_pickled_model_travels_without_unpickling_its_classifier(
    tiny_model_path: Path, tiny_records: list
) -> None:
    loaded = load_model(tiny_model_path)
    twin = pickle.loads(pickle.dumps(loaded))
    table, _ = segment_table((r["id"], r["text"]) for r in tiny_records[:5])
    np.testing.assert_array_equal(twin.predict_proba(table), loaded.predict_proba(table))
    assert twin._classifier is None  # labeling needed the scorer only
    np.testing.assert_array_equal(
        twin.classifier.predict_proba(table), loaded.classifier.predict_proba(table)
    )


def test_a_model_file_holds_the_scorer_and_the_pickled_classifier(tiny_model_path: Path) -> None:
    import joblib

    from detector.classifier import SegmentClassifier
    from detector.scoring import LinearScorer

    payload = joblib.load(tiny_model_path)
    assert set(payload) == {"scorer", "classifier"}
    assert isinstance(payload["scorer"], LinearScorer)
    assert isinstance(pickle.loads(payload["classifier"]), SegmentClassifier)
