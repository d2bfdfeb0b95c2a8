"""Batch runs: several worker processes give the same output, in input order, as one."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from detector.batch import run
from detector.detect import Detector
from detector.io import Input, Output


def _write(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")


def test_jobs_give_the_same_output_in_order(tmp_path: Path, tiny_model_path: Path,
                                            train_records: list) -> None:
    records = [{"id": r["id"], "text": r["text"], "n": i}
               for i, r in enumerate(train_records[:30])]
    src = tmp_path / "in.jsonl"
    _write(src, records)
    detector = Detector.load(tiny_model_path)
    outputs = []
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}.jsonl"
        stats = run(detector, Input(str(src)), Output(str(out), "jsonl"), chunk_rows=4,
                    jobs=jobs)
        assert stats.articles == 30
        outputs.append(out.read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    assert [json.loads(x)["n"] for x in outputs[1].splitlines()] == list(range(30))


def test_loaded_detector_travels_as_its_path(tiny_model_path: Path) -> None:
    detector = Detector.load(tiny_model_path, threshold=0.9)
    payload = pickle.dumps(detector)
    assert len(payload) < 2000  # the path and settings, not the model
    again = pickle.loads(payload)
    assert again.threshold == 0.9
    assert again.model is detector.model  # loaded once per process
