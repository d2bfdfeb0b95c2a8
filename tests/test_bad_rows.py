"""Bad rows: --on-error fail (default) stops with the file and line; --on-error skip passes the
row through unchanged, counts it and lists it in an error report; --errors replace decodes
invalid UTF-8 instead of failing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import invoke

from detector.detect import Detector

GOOD = "Die Aktie stieg am Dienstag um 3 Prozent. Der Umsatz wuchs deutlich."
LINES = [
    json.dumps({"id": "a", "text": GOOD, "extra": [1, 2]}).encode(),
    b"{broken json",
    json.dumps({"id": "c", "text": None}).encode(),
    b'{"id": "d", "text": "caf\xe9"}',
    json.dumps({"id": "e", "text": "Ende der Meldung."}).encode(),
]


@pytest.fixture()
def mixed(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(LINES) + b"\n")
    return path


@pytest.fixture(scope="module")
def model(tiny_model_path: Path) -> list[str]:
    return ["--model", str(tiny_model_path)]


def test_fail_is_the_default(mixed: Path, model: list[str]) -> None:
    result = invoke("strip", str(mixed), "-o", str(mixed.with_name("out.jsonl")), *model)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {mixed} line 2 is not valid JSON "
        "(Expecting property name enclosed in double quotes)\n"
    )
    assert not mixed.with_name("out.jsonl").exists()


def test_skip_passes_bad_rows_through_unchanged(
    mixed: Path, model: list[str], detector_tiny: Detector
) -> None:
    out = mixed.with_name("out.jsonl")
    result = invoke("strip", str(mixed), "-o", str(out), "--on-error", "skip", *model)
    assert result.exit_code == 0, result.output
    lines = out.read_bytes().split(b"\n")[:-1]
    assert lines[1:4] == LINES[1:4]  # byte for byte, undecodable byte included
    first = json.loads(lines[0])
    assert first == {"id": "a", "text": detector_tiny.strip(GOOD), "extra": [1, 2]}
    report = Path(f"{out}.errors.jsonl")
    # a row that parses keeps its own id; the others are named by their line
    assert [json.loads(x)["id"] for x in report.read_text("utf-8").splitlines()] == ["2", "c", "4"]
    assert result.stderr == f"skipped 3 bad rows, passed through unchanged; see {report}\n"


def test_skip_in_label_lists_rows_on_stderr(mixed: Path, model: list[str]) -> None:
    result = invoke("label", str(mixed), "--on-error", "skip", *model)
    assert result.exit_code == 0, result.output
    ids = [json.loads(x)["id"] for x in result.stdout.splitlines()]
    assert ids == ["a", "e"]
    assert result.stderr.endswith("skipped 3 bad rows (listed above)\n")


def test_errors_replace_decodes_invalid_utf8(mixed: Path, model: list[str]) -> None:
    result = invoke("label", str(mixed), "--on-error", "skip", "--errors", "replace", *model)
    assert result.exit_code == 0, result.output
    ids = [json.loads(x)["id"] for x in result.stdout.splitlines()]
    assert ids == ["a", "d", "e"]
    text = mixed.with_name("bad.txt")
    text.write_bytes(b"Gute Nachrichten f\xfcr Anleger.\n")
    assert invoke("strip", str(text), *model).exit_code == 1
    replaced = invoke("strip", str(text), "--errors", "replace", *model)
    assert replaced.exit_code == 0
    assert replaced.stdout == "Gute Nachrichten f\ufffdr Anleger.\n"


def test_skip_in_tables_keeps_the_original_cell(tmp_path: Path, model: list[str]) -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "text": [GOOD, None], "url": ["u1", "u2"]})
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    frame.to_parquet(src)
    assert invoke("strip", str(src), "-o", str(out), *model).exit_code == 1
    result = invoke("strip", str(src), "-o", str(out), "--on-error", "skip", *model)
    assert result.exit_code == 0, result.output
    back = pq.read_table(out).to_pylist()
    assert [r["url"] for r in back] == ["u1", "u2"]
    assert back[1]["text"] is None
    assert "row 1: column 'text' is not text (got null)" in Path(f"{out}.errors.jsonl").read_text()


def test_skip_in_csv_passes_undecodable_rows_through_byte_for_byte(
    tmp_path: Path, model: list[str], detector_tiny: Detector
) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    rows = [b"id,text,note", f"a,{GOOD},ok".encode(), b"b,caf\xe9 au lait,ok",
            f"c,{GOOD},caf\xe9".encode("latin-1")]
    src.write_bytes(b"\n".join(rows) + b"\n")
    result = invoke("strip", str(src), "-o", str(out), *model)
    assert result.stderr == (f"Error: {src} line 3 is not valid UTF-8 (byte 0xe9); "
                             "pass --encoding or --errors replace\n")
    result = invoke("strip", str(src), "-o", str(out), "--on-error", "skip", *model)
    assert result.exit_code == 0, result.output
    back = out.read_bytes().split(b"\n")
    assert back[2] == rows[2]  # the bad text's row, as it came
    assert back[3] == f"c,{detector_tiny.strip(GOOD)},caf\xe9".encode("latin-1")  # note kept
    report = Path(f"{out}.errors.jsonl").read_text("utf-8")
    assert "row 3: column 'text' is not valid UTF-8" in report


def test_encoding_option(tmp_path: Path, model: list[str]) -> None:
    text = tmp_path / "latin.txt"
    text.write_bytes("Gute Nachrichten für Anleger.\n".encode("latin-1"))
    result = invoke("strip", str(text), *model)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {text} line 1 is not valid UTF-8 (byte 0xfc); "
        "pass --encoding or --errors replace\n"
    )
    decoded = invoke("strip", str(text), "--encoding", "latin-1", *model)
    assert decoded.exit_code == 0
    assert decoded.stdout == "Gute Nachrichten für Anleger.\n"
    unknown = invoke("strip", str(text), "--encoding", "nope", *model)
    assert unknown.exit_code == 1
    assert unknown.stderr == "Error: unknown encoding 'nope'\n"


def test_an_error_report_path_that_would_overwrite_data_is_refused(
    mixed: Path, model: list[str]
) -> None:
    out = mixed.with_name("out.jsonl")
    out.write_text("old output\n", "utf-8")
    for report, message in [
        (out, f"--error-report {out} is the output; give it another path"),
        (mixed, f"--error-report {mixed} is the input; give it another path"),
        (mixed.parent, f"cannot write {mixed.parent}: it is a folder; give a file name"),
    ]:
        result = invoke("strip", str(mixed), "-o", str(out), "--on-error", "skip",
                        "--error-report", str(report), *model)
        assert result.exit_code == 1
        assert result.stderr == f"Error: {message}\n"
    assert out.read_text("utf-8") == "old output\n"  # refused before any work
    assert mixed.read_bytes() == b"\n".join(LINES) + b"\n"
