"""The Dask engine on a real LocalCluster of two worker processes: its output, row for row,
is the single-process output; its errors are one line."""

from __future__ import annotations

import gzip
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import fails, invoke, ok

from detector.detect import Detector

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from detector.dask_engine import (  # noqa: E402
    MISSING_EXTRA,
    label_dataframe,
    read_dataframe,
    strip_dataframe,
)

PARTS = 3
PER_PART = 12


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster, set_as_default=False) as client:
        yield client


@pytest.fixture(scope="module")
def records(train_records: list) -> list[dict]:
    """Articles with adverts and without, and an extra field that must come through."""
    picked = train_records[: PARTS * PER_PART]
    return [{"id": r["id"], "text": r["text"], "n": k} for k, r in enumerate(picked)]


@pytest.fixture(scope="module")
def tables(records: list[dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The records as one JSONL and one Parquet file, and as folders of part files of each."""
    root = tmp_path_factory.mktemp("tables")
    (root / "all.jsonl").write_text(_jsonl(records), encoding="utf-8")
    pd.DataFrame(records).to_parquet(root / "all.parquet", index=False)
    for kind in ("jsonl", "parquet"):
        (root / kind).mkdir()
    for p in range(PARTS):
        part = records[p * PER_PART : (p + 1) * PER_PART]
        (root / "jsonl" / f"part-{p}.jsonl").write_text(_jsonl(part), encoding="utf-8")
        pd.DataFrame(part).to_parquet(root / "parquet" / f"part-{p}.parquet", index=False)
    (root / "jsonl" / "_SUCCESS").write_text("")  # a marker file that is not a part
    return root


def _jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def read_parts(folder: Path) -> list[dict]:
    parts = sorted(folder.iterdir())
    assert [p.name.split(".")[0] for p in parts] == [f"part-{k:05d}" for k in range(len(parts))]
    if parts[0].suffix == ".parquet":
        return pd.concat([pd.read_parquet(p) for p in parts]).to_dict("records")
    text = [(gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()).decode()
            for p in parts]
    return [json.loads(line) for part in text for line in part.splitlines()]


def single_process(*args: str, output: Path) -> list[dict]:
    ok(*args, "-o", str(output), "--quiet")
    if output.suffix == ".parquet":
        return pd.read_parquet(output).to_dict("records")
    return [json.loads(line) for line in output.read_text("utf-8").splitlines()]


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_strip_folder_of_parts_matches_single_process(
    kind: str, tables: Path, tmp_path: Path, cluster: Any, tiny_model_path: Path
) -> None:
    model = ["--model", str(tiny_model_path)]
    expected = single_process("strip", str(tables / f"all.{kind}"), *model,
                              output=tmp_path / f"single.{kind}")
    out = tmp_path / "dask"
    result = ok("strip", str(tables / kind), "-o", str(out), *model, "--engine", "dask",
                "--scheduler", cluster.scheduler_address)
    assert result.stderr == f"wrote {PARTS} part files to {out}\n"
    got = read_parts(out)
    assert got == expected
    assert sum(g["text"] != r["text"] for g, r in zip(got, expected)) == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_jsonl_parts_keep_every_byte_but_the_texts(tmp_path: Path, cluster: Any,
                                                    tiny_model_path: Path) -> None:
    """Strip on Dask writes the lines the single-process engine writes, byte for byte: numbers
    as written (1E5, an int in a column with nulls), fields some rows lack, escapes, spacing."""
    lines = [
        '{"id": 1, "n": 1E5, "text": "Rain today.\\nSubscribe now!", "x": {"a": [1, 2]}}',
        '{"text":"Caf\\u00e9 sales rose.\\nJetzt Newsletter abonnieren!","id":2,"n":null}',
        "",
        '\t{ "id" : 3 , "text" : "Shares fell.", "extra": 12345678901234567890 }',
    ]
    src = tmp_path / "in"
    src.mkdir()
    (src / "part-0.jsonl").write_text("\ufeff" + "\n".join(lines[:2]) + "\n", "utf-8")
    (src / "part-1.jsonl").write_text("\n".join(lines[2:]) + "\r\n", "utf-8")
    model = ["--model", str(tiny_model_path)]
    whole = tmp_path / "whole.jsonl"
    whole.write_text("\n".join(lines) + "\n", "utf-8")
    for mode in ([], ["--mark"]):
        single = tmp_path / "single.jsonl"
        ok("strip", str(whole), "-o", str(single), *model, *mode, "--quiet")
        out = tmp_path / f"dask{len(mode)}"
        ok("strip", str(src), "-o", str(out), *model, *mode, "--engine", "dask",
           "--scheduler", cluster.scheduler_address, "--quiet")
        got = b"".join(p.read_bytes() for p in sorted(out.iterdir()))
        assert got == single.read_bytes()
        assert b"1E5" in got and b'"n":null' in got and b"12345678901234567890" in got


def test_label_on_jsonl_parts_writes_what_one_process_writes(
    tmp_path: Path, cluster: Any, tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids as written (1, not 1.0), a row without one named by its part and line, also when
    a part is read in several partitions."""
    from detector import dask_engine

    rows = ['{"id": 1, "text": "Rain today. Subscribe now!"}', '{"id": null, "text": "Sun."}',
            "", '{"text": "Shares fell. Read also: Ten stocks to buy."}',
            '{"id": "x", "text": "Ok."}']
    src = tmp_path / "in"
    src.mkdir()
    for k in range(2):
        (src / f"part-{k}.jsonl").write_text("\n".join(rows) + "\n", "utf-8")
    monkeypatch.setattr(dask_engine, "JSONL_BLOCKSIZE", 64)  # several partitions a part
    # lines are counted by the counting pass (--batch) or a pass of their own (--no-batch)
    for mode in ("--batch", "--no-batch"):
        model = ["--model", str(tiny_model_path), mode]
        single = tmp_path / f"single{mode}.jsonl"
        ok("label", str(src), "-o", str(single), *model, "--quiet")
        out = tmp_path / f"dask{mode}"
        ok("label", str(src), "-o", str(out), *model, "--engine", "dask",
           "--scheduler", cluster.scheduler_address, "--quiet")
        assert len(list(out.iterdir())) > 2
        got = b"".join(p.read_bytes() for p in sorted(out.iterdir()))
        assert got == single.read_bytes()
        ids = [json.loads(line)["id"] for line in got.splitlines()]
        assert ids == ["1", "part-0.jsonl:2", "part-0.jsonl:4", "x", "1", "part-1.jsonl:2",
                       "part-1.jsonl:4", "x"]


def test_parquet_parts_keep_their_column_types(tmp_path: Path, cluster: Any,
                                               tiny_model_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "in"
    src.mkdir()
    for k in range(2):
        pq.write_table(pa.table({
            "id": [f"{k}-{i}" for i in range(3)],
            "text": ["Rain today. Subscribe now!"] * 3,
            "tags": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
            "meta": pa.array([{"n": i} for i in range(3)], pa.struct([("n", pa.int64())])),
        }), src / f"part-{k}.parquet")
    out = tmp_path / "out"
    ok("strip", str(src), "-o", str(out), "--model", str(tiny_model_path), "--engine", "dask",
       "--scheduler", cluster.scheduler_address)
    before = pq.read_table(src / "part-0.parquet")
    after = pq.read_table(sorted(out.iterdir())[0])
    assert after.schema.equals(before.schema)  # list, struct and string as they were
    assert after.drop_columns(["text"]).equals(before.drop_columns(["text"]))


@pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")  # dask's own call
def test_python_entry_points_keep_parquet_column_types(tmp_path: Path,
                                                       tiny_model_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from detector.dask_engine import read_dataframe, strip_dataframe, write_dataframe

    src = tmp_path / "in"
    src.mkdir()
    pq.write_table(pa.table({
        "text": ["Rain today. Subscribe now!"] * 2,
        "tags": pa.array([["a"], None], pa.list_(pa.string())),
    }), src / "part-0.parquet")
    ddf, kind = read_dataframe(str(src))
    clean = strip_dataframe(ddf, model=str(tiny_model_path))
    schema = pq.read_schema(src / "part-0.parquet")
    import dask

    with dask.config.set(scheduler="sync"):
        assert write_dataframe(clean, str(tmp_path / "out"), kind, schema=schema) == 1
    after = pq.read_table(next((tmp_path / "out").iterdir()))
    assert after.schema.equals(schema) and after.column("tags").to_pylist() == [["a"], None]


def test_compressed_parts_are_written_compressed(
    tables: Path, tmp_path: Path, cluster: Any, tiny_model_path: Path
) -> None:
    model = ["--model", str(tiny_model_path)]
    expected = single_process("strip", str(tables / "all.jsonl"), *model,
                              output=tmp_path / "single.jsonl")
    src = tmp_path / "gz"
    src.mkdir()
    for part in (tables / "jsonl").glob("part-*.jsonl"):
        (src / f"{part.name}.gz").write_bytes(gzip.compress(part.read_bytes()))
    out = tmp_path / "dask"
    ok("strip", str(src), "-o", str(out), *model, "--engine", "dask",
       "--scheduler", cluster.scheduler_address, "--quiet")
    assert sorted(p.name for p in out.iterdir()) == [f"part-{k:05d}.jsonl.gz" for k in range(PARTS)]
    assert read_parts(out) == expected


def test_mark_glob_matches_single_process(
    tables: Path, tmp_path: Path, cluster: Any, tiny_model_path: Path
) -> None:
    model = ["--model", str(tiny_model_path)]
    expected = single_process("strip", str(tables / "all.parquet"), "--mark", *model,
                              output=tmp_path / "single.parquet")
    assert any("⟦advert" in r["text"] for r in expected)
    out = tmp_path / "dask"
    ok("strip", str(tables / "parquet" / "part-*.parquet"), "-o", str(out), "--mark", *model,
       "--engine", "dask", "--scheduler", cluster.scheduler_address, "--quiet")
    assert read_parts(out) == expected


def test_label_matches_single_process(
    tables: Path, tmp_path: Path, cluster: Any, tiny_model_path: Path
) -> None:
    model = ["--model", str(tiny_model_path)]
    expected = single_process("label", str(tables / "all.jsonl"), *model,
                              output=tmp_path / "single.jsonl")
    out = tmp_path / "dask"
    ok("label", f"file://{tables / 'parquet'}", "-o", str(out), *model, "--engine", "dask",
       "--scheduler", cluster.scheduler_address, "--quiet")
    assert read_parts(out) == expected  # JSONL parts, whatever the input's format


def test_local_cluster_started_for_the_run(
    tables: Path, tmp_path: Path, tiny_model_path: Path
) -> None:
    """Without --scheduler: a local cluster of --jobs worker processes, closed afterwards."""
    model = ["--model", str(tiny_model_path)]
    expected = single_process("strip", str(tables / "all.jsonl"), *model,
                              output=tmp_path / "single.jsonl")
    out = tmp_path / "dask"
    ok("strip", str(tables / "jsonl"), "-o", str(out), *model, "--engine", "dask", "--jobs",
       "2", "--quiet")
    assert read_parts(out) == expected


def test_python_entry_points(
    records: list[dict], client: Any, tiny_model_path: Path, detector_tiny: Detector
) -> None:
    ddf = dd.from_pandas(pd.DataFrame(records), npartitions=PARTS)
    clean = strip_dataframe(ddf, model=str(tiny_model_path)).compute(scheduler=client)
    texts = [r["text"] for r in records]
    assert clean["text"].tolist() == detector_tiny.strip_many(texts)
    assert clean["n"].tolist() == list(range(len(records)))

    labels = label_dataframe(ddf, model=detector_tiny).compute(scheduler=client)
    assert labels["id"].tolist() == [r["id"] for r in records]
    assert labels["spans"].tolist() == [
        [s.to_dict() for s in spans] for spans in detector_tiny.label_many(texts)
    ]


def _models_loaded() -> tuple[int, int]:
    from detector.detect import _load_once

    info = _load_once.cache_info()
    return info.misses, info.currsize


def test_each_worker_loads_a_model_once(
    records: list[dict], client: Any, tiny_model_path: Path
) -> None:
    ddf = dd.from_pandas(pd.DataFrame(records * 2), npartitions=8)
    strip_dataframe(ddf, model=str(tiny_model_path)).compute(scheduler=client)
    loaded = client.run(_models_loaded)
    assert len(loaded) == 2
    for misses, models in loaded.values():
        assert 1 <= misses == models  # never the same model twice in one worker


def test_non_text_value_names_partition_and_row(
    tables: Path, tmp_path: Path, cluster: Any, tiny_model_path: Path
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jsonl").write_text(_jsonl([{"id": "1", "text": "Fine."}]), encoding="utf-8")
    (src / "b.jsonl").write_text(
        _jsonl([{"id": "2", "text": "Fine."}, {"id": "3", "text": None}]), encoding="utf-8"
    )
    fails(f"{src} partition 1 row 1: column 'text' is not text (got null)",
          "strip", str(src), "-o", str(tmp_path / "out"), "--model", str(tiny_model_path),
          "--engine", "dask", "--scheduler", cluster.scheduler_address)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in"]  # the temporary folder is gone


def test_errors_before_any_work(tables: Path, tmp_path: Path) -> None:
    dask = ["--engine", "dask"]
    fails(f"{tables / 'jsonl'} has no column 'body' (columns: id, text, n); pass --text-field "
          "text", "strip", str(tables / "jsonl"), "-o", str(tmp_path / "o"), "--text-field",
          "body", *dask)
    fails(f"{tables / 'jsonl'} has no column 'url' (columns: id, text, n); pass --id-field id",
          "label", str(tables / "jsonl"), "-o", str(tmp_path / "o"), "--id-field", "url", *dask)
    fails(f"{tmp_path / 'nothing'} does not exist",
          "strip", str(tmp_path / "nothing"), "-o", str(tmp_path / "o"), *dask)
    (tmp_path / "empty").mkdir()
    fails(f"{tmp_path / 'empty'} has no Parquet or JSONL part files",
          "strip", str(tmp_path / "empty"), "-o", str(tmp_path / "o"), *dask)
    fails(f"{tables / 'all.jsonl'} already exists; remove it or choose a new output folder",
          "strip", str(tables / "jsonl"), "-o", str(tables / "all.jsonl"), *dask)
    fails("--engine dask writes a folder of part files: pass -o OUTPUT",
          "strip", str(tables / "jsonl"), *dask)
    fails("--on-error skip is not supported with --engine dask",
          "strip", str(tables / "jsonl"), "-o", str(tmp_path / "o"), "--on-error", "skip", *dask)
    fails("--scheduler needs --engine dask",
          "strip", str(tables / "all.jsonl"), "--scheduler", "tcp://127.0.0.1:8786")
    assert not (tmp_path / "o").exists()


def test_unreachable_scheduler(tables: Path, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    result = invoke("strip", str(tables / "jsonl"), "-o", str(tmp_path / "o"), "--engine",
                    "dask", "--scheduler", address)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot reach the Dask scheduler at {address} (")
    assert result.stderr.endswith("); check the address, or leave out --scheduler for a local "
                                  "cluster\n")
    assert result.stderr.count("\n") == 1


def test_a_scheduler_address_where_something_else_answers(tables: Path, tmp_path: Path) -> None:
    import socketserver
    import threading

    class Web(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(1024)
            self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Web) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        address = f"tcp://127.0.0.1:{server.server_address[1]}"
        fails(f"cannot reach the Dask scheduler at {address} (what answers there does not "
              "speak Dask's protocol); check the address, or leave out --scheduler for a local "
              "cluster", "strip", str(tables / "jsonl"), "-o", str(tmp_path / "o"), "--engine",
              "dask", "--scheduler", address)
        server.shutdown()


def test_missing_extra(tables: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    fails(MISSING_EXTRA, "strip", str(tables / "jsonl"), "-o", str(tmp_path / "o"), "--engine",
          "dask")
    assert MISSING_EXTRA == "the Dask engine needs the dask extra: pip install 'detector[dask]'"


def test_read_dataframe_formats(tables: Path) -> None:
    ddf, kind = read_dataframe(str(tables / "jsonl"))
    assert (kind, ddf.npartitions) == ("jsonl", PARTS)
    ddf, kind = read_dataframe(f"file://{tables / 'parquet' / '*.parquet'}")
    assert (kind, ddf.npartitions) == ("parquet", PARTS)
    ddf, kind = read_dataframe(str(tables / "all.jsonl"))
    assert (kind, ddf.npartitions, len(ddf)) == ("jsonl", 1, PARTS * PER_PART)


def test_html_column_matches_single_process(tmp_path: Path, cluster: Any) -> None:
    pytest.importorskip("trafilatura")
    pages = sorted((Path(__file__).resolve().parent / "html").glob("*.html"))
    rows = [{"id": p.stem, "page": p.read_text(encoding="utf-8")} for p in pages]
    src = tmp_path / "pages"
    src.mkdir()
    for k, row in enumerate(rows):
        (src / f"part-{k}.jsonl").write_text(_jsonl([row]), encoding="utf-8")
    (tmp_path / "all.jsonl").write_text(_jsonl(rows), encoding="utf-8")
    options = ["--html", "--text-field", "page"]
    for command in ("strip", "label"):
        expected = single_process(command, str(tmp_path / "all.jsonl"), *options,
                                  output=tmp_path / f"single-{command}.jsonl")
        out = tmp_path / f"dask-{command}"
        ok(command, str(src), "-o", str(out), *options, "--engine", "dask", "--scheduler",
           cluster.scheduler_address, "--quiet")
        assert read_parts(out) == expected
        assert "<p>" not in json.dumps(expected)


def test_malformed_part(tmp_path: Path, cluster: Any, tiny_model_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "part-2.jsonl").write_text(_jsonl([{"id": "1", "text": "Fine."}]), encoding="utf-8")
    (src / "part-10.jsonl").write_text('{"id": "2", "text": "Fine."}\n{"id": 3, "te\n',
                                       encoding="utf-8")
    result = invoke("strip", str(src), "-o", str(tmp_path / "out"), "--model",
                    str(tiny_model_path), "--engine", "dask", "--scheduler",
                    cluster.scheduler_address)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {src / 'part-10.jsonl'} line 2 is not valid JSON "
        "(Unterminated string starting at)\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["in"]


@pytest.mark.parametrize("batch", ["--batch", "--no-batch"])
def test_parts_with_different_columns(tmp_path: Path, cluster: Any, tiny_model_path: Path,
                                      batch: str) -> None:
    import pandas as pd

    src = tmp_path / "in"
    src.mkdir()
    pd.DataFrame({"id": ["1"], "text": ["Fine."], "n": [1]}).to_parquet(src / "part-0.parquet")
    pd.DataFrame({"id": ["2"], "text": ["Fine."]}).to_parquet(src / "part-1.parquet")
    result = invoke("strip", str(src), "-o", str(tmp_path / "out"), "--model",
                    str(tiny_model_path), "--engine", "dask", "--scheduler",
                    cluster.scheduler_address, batch)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {src} cannot be read: its parts do not all have the same "
                             "columns (['n'] not in index)\n")
    assert [p.name for p in tmp_path.iterdir()] == ["in"]


def test_broken_compressed_part(tmp_path: Path, cluster: Any, tiny_model_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    fine = _jsonl([{"id": "1", "text": "A."}]).encode()
    (src / "part-1.jsonl.gz").write_bytes(gzip.compress(fine))
    (src / "part-2.jsonl.gz").write_bytes(b"not gzip")
    result = invoke("strip", str(src), "-o", str(tmp_path / "out"), "--model",
                    str(tiny_model_path), "--engine", "dask", "--scheduler",
                    cluster.scheduler_address)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {src / 'part-2.jsonl.gz'} cannot be read (Not a gzipped file (b'no'))\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["in"]


def test_malformed_first_part_is_a_one_line_error(tmp_path: Path, tiny_model_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "part-1.jsonl").write_text('{"id": "1", "text": "Fine."}\n{"id": 2, "text": \n',
                                      encoding="utf-8")
    result = invoke("strip", str(src), "-o", str(tmp_path / "out"), "--model",
                    str(tiny_model_path), "--engine", "dask")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {src / 'part-1.jsonl'} line 2 is not valid JSON (Expecting value)\n"
    )


def test_part_with_a_byte_order_mark(tables: Path, tmp_path: Path) -> None:
    from detector.dask_engine import read_dataframe

    src = tmp_path / "in"
    src.mkdir()
    records = [{"id": "1", "text": "A."}]
    (src / "part-1.jsonl").write_bytes(b"\xef\xbb\xbf" + _jsonl(records).encode())
    ddf, _ = read_dataframe(str(src))
    assert ddf.compute().to_dict("records") == records


def test_parts_are_read_in_natural_order(tmp_path: Path) -> None:
    for k in (10, 2, 1):
        (tmp_path / f"part-{k}.jsonl").write_text(_jsonl([{"id": str(k), "text": "x"}]),
                                                  encoding="utf-8")
    ddf, _ = read_dataframe(str(tmp_path))
    assert ddf.compute(scheduler="sync")["id"].tolist() == ["1", "2", "10"]


@pytest.mark.parametrize("evidence", ["--no-batch", "--templates"])
def test_template_evidence_as_single_process(
    evidence: str, tables: Path, tmp_path: Path, cluster: Any, tiny_model_path: Path
) -> None:
    """The default counts the whole input first (the parametrized tests above); a saved table
    and no counts give the single-process output too."""
    options = ["--model", str(tiny_model_path)]
    if evidence == "--templates":
        table = tmp_path / "templates.npz"
        ok("templates", str(tables / "all.jsonl"), "-o", str(table), "--quiet")
        options += ["--templates", str(table)]
    else:
        options.append("--no-batch")
    expected = single_process("label", str(tables / "all.jsonl"), *options,
                              output=tmp_path / "single.jsonl")
    out = tmp_path / "dask"
    ok("label", str(tables / "jsonl"), "-o", str(out), *options, "--engine", "dask",
       "--scheduler", cluster.scheduler_address, "--quiet")
    assert read_parts(out) == expected
