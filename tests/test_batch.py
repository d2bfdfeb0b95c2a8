"""Batch runs: several worker processes give the same output, in input order, as one."""

from __future__ import annotations

import functools
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from detector.batch import FORK_WORKERS, Spool, _in_order, count_input, run
from detector.detect import Detector
from detector.errors import DetectorError, InputError
from detector.io import Input, Output
from detector.segment import segment
from detector.templates import count_templates


def _write(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")


def test_jobs_give_the_same_output_in_order(tmp_path: Path, tiny_model_path: Path,
                                            train_records: list, worker_kind: bool) -> None:
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


def _square_or_refuse(limit: int, x: int) -> int:
    if x > limit:
        raise InputError(f"input.jsonl, line {x}: too big")
    return x * x


@pytest.fixture(params=[True, False], ids=["forked", "loky"])
def worker_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both ways of starting workers: forked (Linux) and joblib's loky (elsewhere)."""
    import detector.batch

    monkeypatch.setattr(detector.batch, "FORK_WORKERS", request.param)
    return request.param


def test_workers_return_results_in_order_and_raise_what_the_task_raised(
    worker_kind: bool,
) -> None:
    func = functools.partial(_square_or_refuse, 100)
    assert [r for _, r in _in_order(func, ((x,) for x in range(20)), 2)] == [
        x * x for x in range(20)
    ]
    refused = functools.partial(_square_or_refuse, 5)
    with pytest.raises(InputError, match=r"^input.jsonl, line 6: too big$"):
        list(_in_order(refused, ((x,) for x in range(20)), 2))


@pytest.mark.skipif(not FORK_WORKERS, reason="loky keeps its workers for reuse")
def test_a_consumer_that_stops_early_leaves_no_worker_behind() -> None:
    import multiprocessing

    before = set(multiprocessing.active_children())  # loky's reusable workers may live on
    results = _in_order(functools.partial(_square_or_refuse, 100), ((x,) for x in range(50)), 2)
    assert next(results) == ((0,), 0)
    assert set(multiprocessing.active_children()) - before
    results.close()
    assert set(multiprocessing.active_children()) <= before


def test_loaded_detector_travels_as_its_path(tiny_model_path: Path) -> None:
    detector = Detector.load(tiny_model_path, threshold=0.9)
    payload = pickle.dumps(detector)
    assert len(payload) < 2000  # the path and settings, not the model
    again = pickle.loads(payload)
    assert again.threshold == 0.9
    assert again.model is detector.model  # loaded once per process


def _tables_equal(a, b) -> bool:
    return (
        a.sites == b.sites
        and np.array_equal(a._shapes.table, b._shapes.table)
        and np.array_equal(a._exact.table, b._exact.table)
        and np.array_equal(a._pos_count, b._pos_count)
        and np.array_equal(a._pos_sum, b._pos_sum)
        and all(a.top(s, 200) == b.top(s, 200) for s in a.sites)
    )


def _site_records(train_records: list) -> list[dict]:
    return [{"id": r["id"], "text": r["text"], "source": r["source"]} for r in train_records[:40]]


def test_counting_in_workers_gives_the_same_table(tmp_path: Path, train_records: list) -> None:
    src = tmp_path / "in.jsonl"
    _write(src, _site_records(train_records))
    one = count_input(Input(str(src)), chunk_rows=6)
    two = count_input(Input(str(src)), chunk_rows=6, jobs=2)
    assert len(one.sites) > 1
    assert _tables_equal(one, two)
    # Counting chunk by chunk is counting article by article.
    plain = count_templates(
        (r["source"], r["text"]) for r in _site_records(train_records)
    )
    assert plain.sites == one.sites
    assert all(plain.top(s, 200) == one.top(s, 200) for s in one.sites)


def test_the_spool_spares_work_and_changes_nothing(tmp_path: Path, tiny_model_path: Path,
                                                   train_records: list) -> None:
    src = tmp_path / "in.jsonl"
    _write(src, _site_records(train_records))
    detector = Detector.load(tiny_model_path)
    detector.templates = count_input(Input(str(src)), chunk_rows=6)
    plain = tmp_path / "plain.jsonl"
    run(detector, Input(str(src)), Output(str(plain), "jsonl"), mode="label", chunk_rows=6)
    for jobs in (1, 2):
        with Spool.temporary() as spool:
            count_input(Input(str(src)), chunk_rows=6, spool=spool, jobs=jobs)
            assert len(spool.entries) == 7
            spooled = tmp_path / f"spooled{jobs}.jsonl"
            run(detector, Input(str(src)), Output(str(spooled), "jsonl"), mode="label",
                chunk_rows=6, spool=spool, jobs=jobs)
        assert spooled.read_text(encoding="utf-8") == plain.read_text(encoding="utf-8")


def test_a_spool_entry_refuses_other_texts(tmp_path: Path, train_records: list) -> None:
    texts = [r["text"] for r in train_records[:3]]
    src = tmp_path / "in.jsonl"
    _write(src, [{"id": str(i), "text": t} for i, t in enumerate(texts)])
    with Spool.temporary() as spool:
        count_input(Input(str(src)), spool=spool)
        entry = spool.entry(0)
        assert entry is not None and spool.entry(1) is None
        prepared = entry.read(texts)
        assert prepared is not None
        assert prepared.segments == [segment(t) for t in texts]
        assert len(prepared.keys) == sum(map(len, prepared.segments))
        # Same lengths, other characters (the file changed between the passes): not used.
        changed = [texts[0].replace("e", "a", 1), *texts[1:]]
        assert len(changed[0]) == len(texts[0])
        assert entry.read(changed) is None
        assert entry.read(texts[:2]) is None


def test_a_full_disk_under_the_spool_is_a_clear_error(tmp_path: Path) -> None:
    class Full:
        def write(self, data: bytes) -> int:
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            pass

    spool = Spool(str(tmp_path / "spool.bin"))
    spool._file.close()
    spool._file = Full()  # type: ignore[assignment]
    with pytest.raises(DetectorError, match="No space left on device.*--no-batch"):
        spool.append(["Some text."], np.zeros((1, 3)), np.array([1]), np.zeros((1, 8)))


def test_labeling_in_groups_of_texts_changes_no_label(
    tmp_path: Path, tiny_model_path: Path, train_records: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    import detector.detect as detect

    records = _site_records(train_records)[:20]
    src = tmp_path / "in.jsonl"
    _write(src, records)
    texts = [r["text"] for r in records]
    sites = [r["source"] for r in records]
    labeler = Detector.load(tiny_model_path)
    with Spool.temporary() as spool:
        labeler.templates = count_input(Input(str(src)), spool=spool)
        prepared = spool.entry(0).read(texts)  # type: ignore[union-attr]
        whole = labeler.label_many(texts, sites=sites, prepared=prepared)
        monkeypatch.setattr(detect, "LABEL_CHARS", 1500)
        assert len(detect._groups(texts, 1500)) > 5
        for grouped in (labeler.label_many(texts, sites=sites, prepared=prepared),
                        labeler.label_many(texts, sites=sites)):
            # The same spans and labels; scores up to the rounding of the matrix products.
            assert [[s[:3] for s in spans] for spans in grouped] == [
                [s[:3] for s in spans] for spans in whole
            ]
            assert np.allclose([s.score for spans in grouped for s in spans],
                               [s.score for spans in whole for s in spans], rtol=0, atol=1e-9)


def test_each_row_finds_its_own_site_however_the_input_is_chunked() -> None:
    from detector.batch import chunk_sites
    from detector.io import Chunk
    from detector.templates import ONE_SITE

    rows = [{"text": "a", "source": "Wire"},
            {"text": "b", "url": "https://www.example.com/x", "source": "Wire"},
            {"text": "c", "url": None, "source": "Wire"},
            {"text": "d"}]

    def sites(part: list[dict]) -> list[str]:
        return chunk_sites(Chunk([r["text"] for r in part], list("abcd")[: len(part)], part),
                           None)

    expected = ["Wire", "example.com", "Wire", ONE_SITE]
    assert sites(rows) == expected
    # One row to a chunk: a chunk without a 'url' field names the same sites as one with it.
    assert [s for r in rows for s in sites([r])] == expected
    given = chunk_sites(Chunk([r["text"] for r in rows], list("abcd"), rows), None,
                        site="https://www.example.org/x")  # --site: every article's
    assert given == ["example.org"] * 4
