"""Reading and writing every input format: texts found, everything else passed through."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pandas as pd
import pytest

from detector.errors import DataError, InputError
from detector.io import Input, Output, atomic_write, input_kind, read_labeled


@pytest.mark.parametrize("name, kind", [
    ("a.txt", "text"), ("a.md", "text"), ("a.jsonl", "jsonl"), ("a.NDJSON", "jsonl"),
    ("a.csv", "csv"), ("a.parquet", "parquet"), ("a.pq", "parquet"), ("-", "stdin"),
])
def test_input_kind(name: str, kind: str) -> None:
    assert input_kind(name) == kind


def test_folder_kind(tmp_path: Path) -> None:
    assert input_kind(str(tmp_path)) == "folder"
    (tmp_path / "a.txt").write_text("A.", encoding="utf-8")
    assert input_kind(str(tmp_path)) == "folder"
    (tmp_path / "part-0.parquet").write_bytes(b"")
    assert input_kind(str(tmp_path)) == "parts"


def _chunks(path: Path, **kw: str) -> list:
    return list(Input(str(path), **kw).chunks(rows=2))


def test_jsonl_chunks_keep_records(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    rows = [{"id": 7, "text": "A.", "extra": [1]}, {"text": "B."}, {"id": "z", "text": "C."}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    chunks = _chunks(path)
    assert [c.texts for c in chunks] == [["A.", "B."], ["C."]]
    assert [c.ids for c in chunks] == [["7", "2"], ["z"]]  # no id: the line number
    assert chunks[0].rows == rows[:2]


def test_csv_chunks_read_everything_as_text(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    pd.DataFrame({"id": ["007", "8", "9"], "body": ["A.", "", "C."]}).to_csv(path, index=False)
    chunks = _chunks(path, text_field="body")
    assert [c.texts for c in chunks] == [["A.", ""], ["C."]]
    assert [c.ids for c in chunks] == [["007", "8"], ["9"]]


def test_parquet_without_id_column_numbers_rows(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pd.DataFrame({"text": ["A.", "B.", "C."], "n": [1, 2, 3]}).to_parquet(path)
    assert [c.ids for c in _chunks(path)] == [["0", "1"], ["2"]]


def test_folder_reads_only_txt_files_in_order(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("B.", encoding="utf-8")
    (tmp_path / "a.txt").write_text("A.", encoding="utf-8")
    (tmp_path / "notes.md").write_text("skip", encoding="utf-8")
    (chunk,) = _chunks(tmp_path)
    assert (chunk.texts, chunk.ids, chunk.names) == (["A.", "B."], ["a", "b"], ["a.txt", "b.txt"])


def test_jsonl_record_fields_are_never_touched(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"text": "A.", "__line__": "mine"}) + "\n", encoding="utf-8")
    (chunk,) = _chunks(path)
    assert chunk.rows == [{"text": "A.", "__line__": "mine"}]


def test_invalid_utf8_csv_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"id,text\n1,fine\n2,caf\xe9\n")
    with pytest.raises(InputError, match=r"line 3 is not valid UTF-8"):
        _chunks(path)


def test_output_like_input(tmp_path: Path) -> None:
    assert Output.like(None, Input("-")).kind == "text"
    assert Output.like(None, Input("a.jsonl")).kind == "jsonl"
    with pytest.raises(InputError, match=r"^a\.parquet is parquet input: pass -o for the output$"):
        Output.like(None, Input("a.parquet"))
    target = tmp_path / "file.txt"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="is a file; the output of a folder must be a folder"):
        Output.like(str(target), Input(str(tmp_path)))


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        Path(tmp).write_text("half", encoding="utf-8")
        raise RuntimeError("interrupted")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_into_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "out.txt"
    with pytest.raises(InputError) as info, atomic_write(target):
        pass
    assert str(info.value) == f"cannot write {target}: folder {target.parent} does not exist"


def _labeled(tmp_path: Path, *records: dict) -> str:
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def test_read_labeled_normalises(tmp_path: Path) -> None:
    path = _labeled(tmp_path, {"id": 1, "text": "Ad. Story.",
                               "spans": [{"start": "0", "end": 3, "label": "advert", "x": 1}]},
                    {"id": "2", "text": "Story."})
    assert read_labeled(path) == [
        {"id": "1", "text": "Ad. Story.", "spans": [{"start": 0, "end": 3, "label": "advert"}]},
        {"id": "2", "text": "Story.", "spans": []},
    ]


@pytest.mark.parametrize("records, message", [
    ([{"text": "x"}], "{p} line 1 has no field 'id' (fields: text); labeled data has id, "
                      "text and spans (data/FORMAT.md)"),
    ([{"id": "a", "body": "x"}], "{p} line 1 has no field 'text' (fields: id, body); labeled "
                                 "data has id, text and spans (data/FORMAT.md)"),
    ([{"id": None, "text": "x"}], "{p} line 1: field 'id' is not a string or integer"),
    ([{"id": "a", "text": "x"}, {"id": "b", "text": "y"}],
     "{p} has no labeled article: no line has a field 'spans' (data/FORMAT.md)"),
    ([{"id": "a", "text": "xyz", "spans": [{"start": 0.5, "end": 2, "label": "advert"}]}],
     "{p} line 1: span 0 needs integer start, end and a label"),
    ([{"id": "a", "text": "xyz", "spans": [{"start": True, "end": 2, "label": "advert"}]}],
     "{p} line 1: span 0 needs integer start, end and a label"),
    ([{"id": "a", "text": "xyz", "spans": [{"start": 0, "end": 2, "label": None}]}],
     "{p} line 1: span 0 needs integer start, end and a label"),
    ([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}], "{p} line 2: id 'a' appears twice"),
    ([{"id": "a", "text": "x", "spans": {}}], "{p} line 1: field 'spans' is not a list"),
    ([{"id": "a", "text": "x", "spans": [{"start": 0}]}],
     "{p} line 1: span 0 needs integer start, end and a label"),
    ([{"id": "a", "text": "xy", "spans": [{"start": 0, "end": 3, "label": "advert"}]}],
     "{p} line 1: span 0 (0, 3) is outside the text (length 2)"),
    ([{"id": "a", "text": "xy", "spans": [{"start": 1, "end": 1, "label": "advert"}]}],
     "{p} line 1: span 0 (1, 1) is empty"),
    ([{"id": "a", "text": "x", "spans": [], "source": 5}],
     "{p} line 1: field 'source' is not a string (got int)"),
    ([{"id": "a", "text": "x", "spans": [], "source": ["a"]}],
     "{p} line 1: field 'source' is not a string (got list)"),
    ([{"id": "a", "text": "xyz", "spans": [{"start": 1, "end": 3, "label": "advert"},
                                           {"start": 0, "end": 1, "label": "advert"}]}],
     "{p} line 1: span 1 overlaps or is out of order"),
    ([], "{p} is empty"),
])
def test_read_labeled_errors(tmp_path: Path, records: list, message: str) -> None:
    path = _labeled(tmp_path, *records)
    with pytest.raises(DataError) as info:
        read_labeled(path)
    assert str(info.value) == message.format(p=path)


def test_read_labeled_needs_jsonl() -> None:
    with pytest.raises(DataError, match=r"^gold\.csv: labeled data must be JSONL \(\.jsonl\)$"):
        read_labeled("gold.csv")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_write_follows_umask(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with atomic_write(target) as tmp:
        Path(tmp).write_text("x", encoding="utf-8")
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()


def test_missing_text_field_hint_names_a_text_field(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": 1, "body": "Story."}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"; pass --text-field body$"):
        _chunks(path)


def test_parts_are_read_in_natural_order(tmp_path: Path) -> None:
    for name in ("part-10.jsonl", "part-2.jsonl", "part-1.csv"):
        if name.endswith(".csv"):
            pd.DataFrame({"text": [f"{name}."]}).to_csv(tmp_path / name, index=False)
        else:
            (tmp_path / name).write_text(json.dumps({"text": f"{name}."}) + "\n", "utf-8")
    (tmp_path / ".part-3.jsonl.crc").write_text("x", encoding="utf-8")
    chunks = _chunks(tmp_path)
    assert [c.part for c in chunks] == ["part-1.csv", "part-2.jsonl", "part-10.jsonl"]
    assert [c.texts for c in chunks] == [["part-1.csv."], ["part-2.jsonl."], ["part-10.jsonl."]]
    # rows without an id are told apart by their part
    assert [c.ids for c in chunks] == [["part-1.csv:0"], ["part-2.jsonl:1"], ["part-10.jsonl:1"]]


def test_jsonl_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    records = [{"id": "a", "text": "First.", "spans": []}, {"id": "b", "text": "Second."}]
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(map(json.dumps, records)).encode())
    (chunk,) = Input(str(path)).chunks()
    assert chunk.ids == ["a", "b"]
    assert [r["id"] for r in read_labeled(str(path))] == ["a", "b"]


@pytest.mark.parametrize("codec", ["gzip", "bz2", "lzma"])
def test_compressed_tables_read_and_write_by_name(tmp_path: Path, codec: str) -> None:
    import importlib

    from detector.io import COMPRESSIONS

    suffix = next(s for s, c in COMPRESSIONS.items() if c == codec)
    module = importlib.import_module(codec)
    rows = [{"id": "a", "text": "First."}, {"id": "b", "text": "Second."}]
    jsonl = tmp_path / f"in.jsonl{suffix}"
    jsonl.write_bytes(module.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    csv = tmp_path / f"in.csv{suffix}"
    csv.write_bytes(module.compress(b"id,text\na,First.\nb,Second.\n"))
    for path in (jsonl, csv):
        assert [c.texts for c in _chunks(path)] == [["First.", "Second."]]
    out = tmp_path / f"out.jsonl{suffix}"
    source = Input(str(jsonl))
    with Output.like(str(out), source).writer() as writer:
        for chunk in source.chunks():
            writer.write_texts(chunk, [t.upper() for t in chunk.texts], "text")
    lines = module.decompress(out.read_bytes()).decode().splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["FIRST.", "SECOND."]


def test_compressed_names() -> None:
    from detector.io import table_kind

    assert table_kind("a.jsonl.gz") == "jsonl"
    assert table_kind("a.2024.csv.xz") == "csv"
    assert table_kind("a.parquet.gz") is None  # Parquet compresses inside
    assert table_kind("a.gz") is None
    assert Input("a.txt.gz").kind == "text"


def test_broken_compressed_file_is_a_one_line_error(tmp_path: Path) -> None:
    import gzip

    fake = tmp_path / "fake.jsonl.gz"
    fake.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match=r"^.*fake\.jsonl\.gz cannot be read \(Not a gzipped"):
        _chunks(fake)
    for name in ("fake.jsonl.xz", "fake.csv.xz", "fake.jsonl.bz2"):
        (tmp_path / name).write_bytes(b"not compressed")
        with pytest.raises(InputError, match=rf"{re.escape(name)} cannot be read \("):
            _chunks(tmp_path / name)
    whole = gzip.compress(b"".join(b'{"text": "line %d"}\n' % k for k in range(2000)))
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match=r"cut\.jsonl\.gz cannot be read \(Compressed file ended"):
        _chunks(cut)
    table = gzip.compress(b"id,text\n" + b"".join(b"%d,row %d\n" % (k, k) for k in range(2000)))
    cut_csv = tmp_path / "cut.csv.gz"
    cut_csv.write_bytes(table[: len(table) // 2])
    with pytest.raises(InputError, match=r"cut\.csv\.gz cannot be read \(Compressed file ended"):
        _chunks(cut_csv)
