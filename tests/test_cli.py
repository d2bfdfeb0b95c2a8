"""The command line: every command on every input format, and one-line errors with exit 1."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import fails, invoke, ok

from detector.cli import cli
from detector.detect import Detector
from detector.model import card_path
from detector.segment import segment

MARKER = re.compile(r"⟦/?[a-z]+[^⟧]*⟧")


@pytest.fixture(scope="module")
def articles(tiny_records: list, detector_tiny: Detector) -> list[dict]:
    """Four articles from different sources in which the tiny model finds adverts."""
    found: dict[str, dict] = {}
    for r in tiny_records:
        if r["spans"] and r["source"] not in found and detector_tiny.strip(r["text"]) != r["text"]:
            found[r["source"]] = r
    assert len(found) >= 4, "the tiny model should find adverts in its own training data"
    return list(found.values())[::2][:4]


@pytest.fixture(scope="module")
def model(tiny_model_path: Path) -> list[str]:
    return ["--model", str(tiny_model_path)]


@pytest.fixture(scope="module")
def expected(articles: list[dict], detector_tiny: Detector) -> list[str]:
    cleaned = detector_tiny.strip_many([r["text"] for r in articles])
    assert all(c != r["text"] for c, r in zip(cleaned, articles)), "fixture needs adverts"
    return cleaned


# -- help and the installed script -------------------------------------------------------


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_help(command: str) -> None:
    result = ok(command, "--help")
    doc = cli.commands[command].help or ""
    assert " ".join(doc.split("\n")[0].split()) in " ".join(result.output.split())
    assert "Example: detector " in result.output


def test_group_help_lists_every_command() -> None:
    result = ok("--help")
    for command in cli.commands:
        assert command in result.output


def test_version() -> None:
    from detector import __version__

    assert __version__ in ok("--version").output


def test_installed_console_script() -> None:
    script = shutil.which("detector", path=str(Path(sys.executable).parent)) or shutil.which(
        "detector")
    if script is None:
        pytest.skip("the detector console script is not installed")
    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Find and strip advert boilerplate" in done.stdout
    for command in cli.commands:
        assert command in done.stdout


# -- strip and label on every format -------------------------------------------------------


def test_strip_txt_to_stdout(tmp_path: Path, articles: list, expected: list, model: list) -> None:
    path = tmp_path / "a.txt"
    path.write_text(articles[0]["text"], encoding="utf-8")
    assert ok("strip", str(path), *model).stdout == expected[0]


def test_strip_txt_to_file(tmp_path: Path, articles: list, expected: list, model: list) -> None:
    path, out = tmp_path / "a.txt", tmp_path / "out.txt"
    path.write_text(articles[0]["text"], encoding="utf-8")
    assert ok("strip", str(path), "-o", str(out), *model).stdout == ""
    assert out.read_text(encoding="utf-8") == expected[0]


def test_strip_stdin(articles: list, expected: list, model: list) -> None:
    result = ok("strip", "-", *model, input=articles[1]["text"].encode("utf-8"))
    assert result.stdout == expected[1]


def test_strip_folder(tmp_path: Path, articles: list, expected: list, model: list) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i, r in enumerate(articles):
        # an upper-case suffix is a text file too; the output is named .txt
        (src / f"{i}.{'TXT' if i == 1 else 'txt'}").write_text(r["text"], encoding="utf-8")
    (src / "readme.md").write_text("not an article", encoding="utf-8")
    (src / ".notes.txt").write_text("a hidden file, not an article", encoding="utf-8")
    ok("strip", str(src), "-o", str(dst), *model)
    assert sorted(p.name for p in dst.iterdir()) == [f"{i}.txt" for i in range(len(articles))]
    for i, text in enumerate(expected):
        assert (dst / f"{i}.txt").read_text(encoding="utf-8") == text


def _parts_folder(src: Path, articles: list) -> list[str]:
    """A folder of part files as Spark or Dask write them: two JSONL parts, a CSV and a
    Parquet part, an empty part and a _SUCCESS marker. Returns the part names."""
    src.mkdir()
    rows = [{"id": r["id"], "source": r["source"], "text": r["text"]} for r in articles]
    _write_jsonl(src / "part-0.jsonl", rows[:2])
    _write_jsonl(src / "part-1.jsonl", rows[2:3])
    pd.DataFrame(rows[3:]).to_csv(src / "part-2.csv", index=False)
    pd.DataFrame(rows[:1]).to_parquet(src / "part-3.parquet")
    (src / "part-4.jsonl").write_text("", encoding="utf-8")
    (src / "_SUCCESS").write_text("", encoding="utf-8")
    return ["part-0.jsonl", "part-1.jsonl", "part-2.csv", "part-3.parquet", "part-4.jsonl"]


def _read_part(path: Path) -> list[str]:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)["text"].tolist()
    if path.suffix == ".parquet":
        return pd.read_parquet(path)["text"].tolist()
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_strip_folder_of_parts(jobs: str, tmp_path: Path, articles: list, expected: list,
                               model: list) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    names = _parts_folder(src, articles)
    ok("strip", str(src), "-o", str(dst), "--no-batch", "-j", jobs, *model)
    assert sorted(p.name for p in dst.iterdir()) == names  # no _SUCCESS, no temp files
    got = [_read_part(dst / name) for name in names]
    assert got == [expected[:2], expected[2:3], expected[3:], expected[:1], []]
    assert (dst / "part-4.jsonl").read_bytes() == b""


def test_folder_of_parts_is_one_batch(tmp_path: Path, articles: list, model: list) -> None:
    """Counted over all parts, labeled as one JSONL holding every part's rows would be."""
    src = tmp_path / "in"
    _parts_folder(src, articles)
    whole = _write_jsonl(tmp_path / "whole.jsonl", [
        {"id": r["id"], "source": r["source"], "text": r["text"]}
        for r in [*articles[:2], articles[2], *articles[3:], articles[0]]])
    folder = ok("label", str(src), "--site-field", "source", *model).stdout
    assert folder == ok("label", str(whole), "--site-field", "source", *model).stdout
    assert len(folder.splitlines()) == len(articles) + 1


def test_folder_of_parts_errors(tmp_path: Path, articles: list, model: list) -> None:
    src = tmp_path / "in"
    _parts_folder(src, articles)
    fails(f"{src} is a folder of tables: pass -o for the output", "strip", str(src), *model)
    bad = src / "part-1.jsonl"
    bad.write_text(bad.read_text(encoding="utf-8") + "{oops\n", encoding="utf-8")
    for batch in ([], ["--no-batch"]):
        fails(f"{bad} line 2 is not valid JSON (Expecting property name enclosed in double "
              "quotes)", "strip", str(src), "-o", str(tmp_path / "out"), *batch, *model)
        written = sorted(p.name for p in (tmp_path / "out").glob("*"))
        assert written in ([], ["part-0.jsonl"]), written  # whole parts only, no temp file
    (src / "notes.txt").write_text("A page.", encoding="utf-8")
    fails(f"folder {src} mixes tables (part-0.jsonl) and text or HTML files (notes.txt); give "
          "it one kind of file", "strip", str(src), "-o", str(tmp_path / "out2"), *model)


def test_strip_jsonl_keeps_other_fields(tmp_path: Path, articles: list, expected: list,
                                        model: list) -> None:
    path, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    rows = [{"id": r["id"], "meta": {"source": r["source"], "n": [i, None]}, "text": r["text"],
             "lang": r["lang"]} for i, r in enumerate(articles)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    ok("strip", str(path), "-o", str(out), *model)
    lines = out.read_text(encoding="utf-8").splitlines()
    got = [json.loads(line) for line in lines]
    assert got == [{**row, "text": text} for row, text in zip(rows, expected)]
    assert [list(g) for g in got] == [list(r) for r in rows]  # field order kept too
    # stdout output is the same JSONL
    assert ok("strip", str(path), *model).stdout.splitlines() == lines


def test_strip_jsonl_keeps_every_other_byte_of_the_line(tmp_path: Path, articles: list,
                                                        expected: list, model: list) -> None:
    # numbers, escapes, spacing and key order as the scraper wrote them; only the text changes
    path, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    text = json.dumps(articles[0]["text"])
    lines = [
        '{"n": 1E5, "price": 2.50, "big": 1e400, "name": "caf\\u00e9",  "text" : ' + text
        + ', "nested": {"text": "inner"}}\r\n',
        '{ "text": ' + text + ' ,"id":"b"}\n',
    ]
    path.write_text("".join(lines), encoding="utf-8")
    ok("strip", str(path), "-o", str(out), *model)
    cleaned = json.dumps(expected[0], ensure_ascii=False)
    assert out.read_text(encoding="utf-8").splitlines() == [
        line.rstrip("\r\n").replace(text, cleaned) for line in lines
    ]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_lone_surrogate_in_jsonl_is_labeled_and_kept(tmp_path: Path, articles: list,
                                                      model: list, jobs: str) -> None:
    # JSON can escape half an emoji ("\\ud83d"); UTF-8 cannot hold it
    path, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    rows = [{"id": "a", "text": "Shares rose \ud83d on Monday. Low \udcff too."}, *articles]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "ascii")
    ok("strip", str(path), "-o", str(out), "--jobs", jobs, *model)
    got = [json.loads(line) for line in out.read_bytes().decode("utf-8").splitlines()]
    assert got[0] == rows[0]
    assert ok("label", str(path), *model).stdout.count('"spans"') == len(rows)
    ok("report", str(path), "-o", str(tmp_path / "r.html"), *model)


def test_compressed_jsonl_in_and_out(tmp_path: Path, articles: list, expected: list,
                                     model: list) -> None:
    import gzip

    path, out = tmp_path / "in.jsonl.gz", tmp_path / "out.jsonl.gz"
    path.write_bytes(gzip.compress(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in articles).encode()))
    ok("strip", str(path), "-o", str(out), *model)
    got = [json.loads(line) for line in gzip.decompress(out.read_bytes()).splitlines()]
    assert [g["text"] for g in got] == expected
    packed = out.read_bytes()
    assert packed[3] & 0x08  # FNAME: the header names the file (gunzip -N restores it)
    assert packed[10 : packed.index(b"\0", 10)] == b"out.jsonl"  # not the temporary file
    plain = json.loads(ok("evaluate", str(_write_jsonl(tmp_path / "gold.jsonl", articles)),
                          "--json", *model).stdout)
    assert json.loads(ok("evaluate", str(path), "--json", *model).stdout) == plain


def test_strip_jsonl_text_field(tmp_path: Path, articles: list, expected: list,
                                model: list) -> None:
    path = tmp_path / "in.jsonl"
    rows = [{"key": i, "body": r["text"], "text": "untouched"} for i, r in enumerate(articles)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = ok("strip", str(path), "--text-field", "body", "--id-field", "key", *model).stdout
    assert [json.loads(line) for line in out.splitlines()] == [
        {**row, "body": text} for row, text in zip(rows, expected)]


def test_strip_csv_keeps_other_columns(tmp_path: Path, articles: list, expected: list,
                                       model: list) -> None:
    path, out = tmp_path / "in.csv", tmp_path / "out.csv"
    frame = pd.DataFrame({"id": [f"00{i}" for i in range(len(articles))],
                          "text": [r["text"] for r in articles],
                          "price": ["4,50", "", "3.10", "n/a"][: len(articles)]})
    frame.to_csv(path, index=False)
    ok("strip", str(path), "-o", str(out), *model)
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(got.columns) == ["id", "text", "price"]
    assert got["id"].tolist() == frame["id"].tolist()
    assert got["price"].tolist() == frame["price"].tolist()
    assert got["text"].tolist() == expected


def test_strip_csv_keeps_its_header_as_written(tmp_path: Path, articles: list, model: list
                                              ) -> None:
    # a repeated and an empty column name, which pandas renames ("a.1", "Unnamed: 4")
    path, out = tmp_path / "in.csv", tmp_path / "out.csv"
    rows = [[str(i), r["text"], "x", "y", ""] for i, r in enumerate(articles)]
    pd.DataFrame(rows).to_csv(path, index=False, header=["id", "text", "a", "a", ""])
    ok("strip", str(path), "-o", str(out), *model)
    assert out.read_text(encoding="utf-8").splitlines()[0] == "id,text,a,a,"
    got = pd.read_csv(out, dtype=str, keep_default_na=False, header=None, skiprows=1)
    assert got[[0, 2, 3, 4]].values.tolist() == [[r[0], *r[2:]] for r in rows]


def test_strip_parquet_keeps_other_columns(tmp_path: Path, articles: list, expected: list,
                                           model: list) -> None:
    path, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    frame = pd.DataFrame({"n": list(range(len(articles))), "text": [r["text"] for r in articles],
                          "score": [0.5 * i for i in range(len(articles))]})
    frame.to_parquet(path)
    ok("strip", str(path), "-o", str(out), *model)
    got = pd.read_parquet(out)
    assert list(got.columns) == ["n", "text", "score"]
    assert got.dtypes.to_dict() == frame.dtypes.to_dict()
    pd.testing.assert_frame_equal(got.drop(columns="text"), frame.drop(columns="text"))
    assert got["text"].tolist() == expected


def test_strip_parquet_keeps_the_arrow_schema(tmp_path: Path, articles: list, expected: list,
                                              model: list) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # more rows than one chunk (512), a nullable int column null in the first chunk only,
    # types pandas would change (uint8, decimal, nested, map), a dictionary-typed text
    n = 1100
    texts = [articles[i % len(articles)]["text"] for i in range(n)]
    table = pa.table({
        "id": pa.array([None if i == 3 else i for i in range(n)], pa.int64()),
        "text": pa.array(texts, pa.string()).dictionary_encode(),
        "k": pa.array([None if i < 600 else i for i in range(n)], pa.int64()),
        "u": pa.array([i % 200 for i in range(n)], pa.uint8()),
        "d": pa.array([None] * n, pa.decimal128(10, 2)),
        "l": pa.array([[i, None] for i in range(n)], pa.list_(pa.int64())),
        "m": pa.array([[("x", i)] for i in range(n)], pa.map_(pa.string(), pa.int64())),
    }).replace_schema_metadata({"origin": "spark"})
    path, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(table, path)
    table = pq.read_table(path)  # as Parquet spells it (a list's item is its "element")
    # (the articles repeat: --no-batch, or they would count as each other's boilerplate)
    ok("strip", str(path), "-o", str(out), "--jobs", "2", "--no-batch", *model)
    got = pq.read_table(out)
    assert got.schema.equals(table.schema, check_metadata=True)
    assert got.drop_columns(["text"]).equals(table.drop_columns(["text"]))
    assert got["text"].to_pylist() == [expected[i % len(articles)] for i in range(n)]
    # a null id is the row's number, as a missing one
    labeled = ok("label", str(path), "--no-batch", *model).stdout.splitlines()
    ids = [json.loads(line)["id"] for line in labeled]
    assert ids[:5] == ["0", "1", "2", "3", "4"]


def test_strip_mark(tmp_path: Path, articles: list, model: list) -> None:
    path = tmp_path / "a.txt"
    path.write_text(articles[0]["text"], encoding="utf-8")
    marked = ok("strip", str(path), "--mark", *model).stdout
    assert re.search(r"⟦advert \d\.\d\d⟧", marked) and "⟦/advert⟧" in marked
    assert MARKER.sub("", marked) == articles[0]["text"]


def test_strip_threshold_one_changes_nothing(tmp_path: Path, articles: list, model: list) -> None:
    path = tmp_path / "a.txt"
    path.write_text(articles[0]["text"], encoding="utf-8")
    assert ok("strip", str(path), "--threshold", "1.0", *model).stdout == articles[0]["text"]


def _check_labels(record: dict, text: str, detector: Detector) -> None:
    segs = segment(text)
    spans = record["spans"]
    assert [(s["start"], s["end"]) for s in spans] == [(s.start, s.end) for s in segs]
    assert [text[s["start"] : s["end"]] for s in spans] == [s.text for s in segs]
    assert [s["label"] for s in spans] == [s.label for s in detector.label(text)]
    assert all(0.0 <= s["score"] <= 1.0 for s in spans)


def test_label_jsonl(tmp_path: Path, articles: list, model: list, detector_tiny: Detector) -> None:
    path, out = tmp_path / "in.jsonl", tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n"
                            for r in articles), encoding="utf-8")
    ok("label", str(path), "-o", str(out), *model)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == [a["id"] for a in articles]
    assert all(set(r) == {"id", "spans"} for r in records)
    assert any(s["label"] == "advert" for r in records for s in r["spans"])
    for record, article in zip(records, articles):
        _check_labels(record, article["text"], detector_tiny)


@pytest.mark.parametrize("kind", ["txt", "stdin", "folder", "csv", "parquet"])
def test_label_other_inputs_write_jsonl(kind: str, tmp_path: Path, articles: list, model: list,
                                        detector_tiny: Detector) -> None:
    text = articles[2]["text"]
    args, stdin, want_id = ["-"], None, "stdin"
    if kind == "txt":
        (tmp_path / "art.txt").write_text(text, encoding="utf-8")
        args, want_id = [str(tmp_path / "art.txt")], "art"
    elif kind == "stdin":
        stdin = text.encode("utf-8")
    elif kind == "folder":
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "art.txt").write_text(text, encoding="utf-8")
        args, want_id = [str(tmp_path / "d")], "art"
    elif kind == "csv":
        pd.DataFrame({"id": ["x1"], "text": [text]}).to_csv(tmp_path / "a.csv", index=False)
        args, want_id = [str(tmp_path / "a.csv")], "x1"
    else:
        pd.DataFrame({"text": [text]}).to_parquet(tmp_path / "a.parquet")
        args, want_id = [str(tmp_path / "a.parquet")], "0"
    (line,) = ok("label", *args, *model, input=stdin).stdout.splitlines()
    record = json.loads(line)
    assert record["id"] == want_id
    _check_labels(record, text, detector_tiny)


# -- train and evaluate ------------------------------------------------------------------------


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def test_train_then_strip(tmp_path: Path, tiny_records: list) -> None:
    data = _write_jsonl(tmp_path / "train.jsonl", tiny_records[::16])  # 7 articles, 7 sources
    out = tmp_path / "m" / "mine.joblib"
    result = ok("train", str(data), "-o", str(out), "--holdout", "0.3", "-q")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("held-out: 30% of the articles, grouped by source, seed 0 (")
    assert lines[1].split()[:2] == ["source", "docs"]
    assert lines[2].startswith("ALL")
    assert lines[-1] == f"wrote {out} and {card_path(out)}"
    card = json.loads(card_path(out).read_text(encoding="utf-8"))
    assert card["trained_on"] == [str(data)]
    assert card["heldout"]["articles"] == int(lines[0].split("(")[1].split()[0]) > 0
    text = tiny_records[0]["text"]
    result = ok("strip", "-", "--model", str(out), input=text)
    assert result.stdout == Detector.load(out).strip(text)


def test_train_bad_data(tmp_path: Path) -> None:
    data = _write_jsonl(tmp_path / "t.jsonl", [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])
    fails(f"{data} line 2: id 'a' appears twice", "train", str(data), "-o", str(tmp_path / "m"))


def test_output_named_for_another_format_is_refused(tmp_path: Path, articles: list,
                                                    model: list) -> None:
    path = _write_jsonl(tmp_path / "in.jsonl", articles)
    for name in ("out.parquet", "out.csv", "out.csv.gz"):
        fails(f"{tmp_path / name} names {'Parquet' if 'parquet' in name else 'CSV'} output, but "
              f"strip keeps the format of {path} (JSONL); give it a .jsonl name",
              "strip", str(path), "-o", str(tmp_path / name), *model)
    fails(f"{tmp_path / 'l.csv'} names CSV output, but label writes JSONL; give it a .jsonl name",
          "label", str(path), "-o", str(tmp_path / "l.csv"), *model)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_output_dash_is_stdout(tmp_path: Path, articles: list, expected: list,
                               model: list) -> None:
    path = tmp_path / "a.txt"
    path.write_text(articles[0]["text"], encoding="utf-8")
    assert ok("strip", str(path), "-o", "-", *model).stdout == expected[0]
    assert ok("label", str(path), "-o", "-", *model).stdout.startswith('{"id": "a", "spans"')
    assert not (tmp_path / "-").exists() and not Path("-").exists()


def test_train_with_too_few_articles_to_hold_out(tmp_path: Path) -> None:
    rows = [{"id": str(i), "text": f"Story {i}. Subscribe now!",
             "spans": [{"start": 9, "end": 23, "label": "advert"}]} for i in range(2)]
    data = _write_jsonl(tmp_path / "t.jsonl", rows)
    fails("holding out 20% of 2 articles (grouped by article) leaves 1 to fit on; label more "
          "articles, or pass --holdout 0 to train without held-out figures",
          "train", str(data), "-o", str(tmp_path / "m.joblib"), "-q")
    assert not (tmp_path / "m.joblib").exists()


def test_templates_output_dash_is_refused(tmp_path: Path, articles: list, model: list) -> None:
    path = _write_jsonl(tmp_path / "a.jsonl", articles)
    fails("-o - : the counts are a binary .npz file; give it a file name",
          "templates", str(path), "-o", "-", *model)
    assert not Path("-").exists()


def test_train_no_spans(tmp_path: Path) -> None:
    data = _write_jsonl(tmp_path / "t.jsonl", [{"id": "a", "text": "One.", "spans": []},
                                                {"id": "b", "text": "Two.", "spans": []}])
    fails("the training data needs at least one labeled span and some editorial text",
          "train", str(data), "-o", str(tmp_path / "m.joblib"), "--holdout", "0", "-q")
    # no 'spans' field at all: not labeled data (evaluate too)
    unlabeled = _write_jsonl(tmp_path / "u.jsonl", [{"id": "a", "text": "One."}])
    for command in (["train", "-o", str(tmp_path / "m.joblib")], ["evaluate"]):
        fails(f"{unlabeled} has no labeled article: no line has a field 'spans' "
              "(data/FORMAT.md)", command[0], str(unlabeled), *command[1:])


def test_evaluate_json_matches_library(tmp_path: Path, articles: list, model: list,
                                       detector_tiny: Detector) -> None:
    from detector.evaluate import evaluate

    data = _write_jsonl(tmp_path / "gold.jsonl", articles)
    report = json.loads(ok("evaluate", str(data), "--json", "--no-batch", *model).stdout)
    predicted = detector_tiny.label_many([r["text"] for r in articles])
    assert report == evaluate(articles, {r["id"]: [s.to_dict() for s in spans]
                                         for r, spans in zip(articles, predicted)})
    table = ok("evaluate", str(data), *model).stdout.splitlines()
    assert table[0].split()[:2] == ["source", "docs"] and table[1].startswith("ALL")


def test_evaluate_scores_what_label_writes(tmp_path: Path, tiny_records: list,
                                           model: list) -> None:
    """By default both count each file's site templates first; two files may share ids."""
    from detector.evaluate import evaluate

    sources = sorted({r["source"] for r in tiny_records})
    first = [r for r in tiny_records if r["source"] in sources[:2]]
    second = [r for r in tiny_records if r["source"] in sources[2:4]][: len(first)]
    second = [{**r, "id": a["id"]} for r, a in zip(second, first)]  # the same ids
    paths = [_write_jsonl(tmp_path / f"gold{k}.jsonl", rows)
             for k, rows in enumerate([first, second])]
    both = json.loads(ok("evaluate", *map(str, paths), "--json", *model).stdout)
    for path, rows in zip(paths, [first, second]):
        labels = tmp_path / f"{path.stem}.labels.jsonl"
        ok("label", str(path), "-o", str(labels), *model)
        predicted = {r["id"]: r["spans"] for r in map(json.loads, labels.open())}
        alone = evaluate(rows, predicted)
        assert json.loads(ok("evaluate", str(path), "--json", *model).stdout) == alone
        for source in {r["source"] for r in rows}:
            assert both[source] == alone[source]
    fails(f"{paths[0]} is given twice", "evaluate", str(paths[0]), str(paths[0]), *model)
    fails(f"--model {model[1]} is given twice", "evaluate", str(paths[0]), *model, *model)


def test_evaluate_needs_jsonl(tmp_path: Path, model: list) -> None:
    path = tmp_path / "gold.csv"
    path.write_text("id,text\n1,x\n", encoding="utf-8")
    fails(f"{path}: labeled data must be JSONL (.jsonl)", "evaluate", str(path), *model)


# -- errors: exact message, exit code 1, no traceback ----------------------------------------


def test_missing_input(tmp_path: Path, model: list) -> None:
    for name in ("nope.txt", "nope.jsonl", "nope.csv", "nope.parquet"):
        path = tmp_path / name
        fails(f"{path} does not exist", "strip", str(path), "-o", str(tmp_path / "o"), *model)


@pytest.mark.parametrize("command", ["strip", "label", "templates", "train"])
def test_output_that_is_a_folder(tmp_path: Path, model: list, command: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "a", "text": "Fine.", "spans": []}) + "\n", "utf-8")
    folder = tmp_path / "out"
    folder.mkdir()
    options = [] if command == "train" else model
    fails(f"cannot write {folder}: it is a folder; give a file name",
          command, str(path), "-o", str(folder), *options)
    assert list(folder.iterdir()) == []


def test_output_paths_that_are_not_new_files(tmp_path: Path, model: list,
                                             articles: list, expected: list) -> None:
    """The input itself, a file as folder, a link, a pipe, a full device."""
    import threading

    src = _write_jsonl(tmp_path / "in.jsonl", articles)
    before = src.read_bytes()
    for command in ("strip", "label"):
        fails(f"-o {src} is the input; give the output another path",
              command, str(src), "-o", str(src), *model)
    assert src.read_bytes() == before
    fails(f"cannot write {src}/out.jsonl: {src} is a file, not a folder",
          "strip", str(src), "-o", str(src / "out.jsonl"), *model)
    fails(f"cannot write {tmp_path}/new/: it is a folder; give a file name",  # it wrote 'new'
          "strip", str(src), "-o", f"{tmp_path}/new/", *model)
    assert not (tmp_path / "new").exists()
    # a link stays a link; the file it points to gets the output
    target, link = tmp_path / "target.jsonl", tmp_path / "link.jsonl"
    target.write_text("old\n", "utf-8")
    link.symlink_to(target.name)
    ok("strip", str(src), "-o", str(link), *model)
    assert link.is_symlink()
    assert [json.loads(x)["text"] for x in target.read_text("utf-8").splitlines()] == expected
    # a pipe is written, not replaced by a file
    pipe = tmp_path / "pipe.jsonl"
    os.mkfifo(pipe)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()))
    reader.start()
    ok("strip", str(src), "-o", str(pipe), *model)
    reader.join(30)
    assert pipe.is_fifo() and got and got[0] == target.read_bytes()
    if Path("/dev/full").exists():
        fails("No space left on device", "strip", str(src), "-o", "/dev/full", *model)
    # train makes missing folders, but the nearest one that exists must be a folder
    fails(f"cannot write {src}/m/x.joblib: {src} is a file, not a folder",
          "train", str(src), "-o", str(src / "m" / "x.joblib"))


def test_broken_links_in_a_folder_are_not_articles(tmp_path: Path, model: list) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Rain is expected on Tuesday.\n", "utf-8")
    (folder / "gone.txt").symlink_to("nothing-here.txt")
    (folder / "loop1.txt").symlink_to("loop2.txt")
    (folder / "loop2.txt").symlink_to("loop1.txt")
    for mode in ("--batch", "--no-batch"):
        out = tmp_path / f"out{mode}"
        ok("strip", str(folder), "-o", str(out), mode, *model)
        assert [p.name for p in out.iterdir()] == ["a.txt"]


def test_a_pipe_as_input_is_read_once(tmp_path: Path, model: list, articles: list,
                                      expected: list) -> None:
    """No counting pass: a second reading would wait for a writer for ever."""
    import threading

    pipe = tmp_path / "in.jsonl"
    os.mkfifo(pipe)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in articles)
    writer = threading.Thread(target=pipe.write_text, args=(data, "utf-8"))
    writer.start()
    out = tmp_path / "out.jsonl"
    ok("strip", str(pipe), "-o", str(out), *model)
    writer.join(30)
    assert [json.loads(x)["text"] for x in out.read_text("utf-8").splitlines()] == expected


def test_empty_inputs(tmp_path: Path, model: list) -> None:
    for name, content in [("e.txt", ""), ("w.txt", " \n\n"), ("e.jsonl", "\n"), ("e.csv", "")]:
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        fails(f"{path} is empty", "strip", str(path), *model)
    (tmp_path / "empty").mkdir()
    fails(f"folder {tmp_path / 'empty'} has no .txt, .html, .jsonl, .csv or .parquet files",
          "strip", str(tmp_path / "empty"), "-o", str(tmp_path / "out"), *model)


def test_invalid_utf8_names_the_line(tmp_path: Path, model: list) -> None:
    txt = tmp_path / "bad.txt"
    txt.write_bytes(b"Fine first line.\nCaf\xe9 au lait.\n")
    fails(f"{txt} line 2 is not valid UTF-8 (byte 0xe9); pass --encoding or --errors replace",
          "strip", str(txt), *model)
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_bytes(b'{"text": "ok"}\n{"text": "ok"}\n{"text": "caf\xff"}\n')
    fails(f"{jsonl} line 3 is not valid UTF-8 (byte 0xff); pass --encoding or --errors replace",
          "strip", str(jsonl), *model)
    fails("<stdin> line 1 is not valid UTF-8 (byte 0xff); pass --encoding or --errors replace",
          "strip", "-", *model, input=b"caf\xff")


def test_missing_text_column(tmp_path: Path, model: list) -> None:
    """The hint names the column with the most text, not the first one (a source, a url)."""
    frame = pd.DataFrame({"source": ["wire"], "body": ["A story of some length."], "n": [1]})
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    fails(f"{csv} has no column 'text' (columns: source, body, n); pass --text-field body",
          "strip", str(csv), *model)
    pq = tmp_path / "data.parquet"
    frame.to_parquet(pq)
    fails(f"{pq} has no column 'text' (columns: source, body, n); pass --text-field body",
          "strip", str(pq), "-o", str(tmp_path / "o.parquet"), *model)
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_text('{"source": "wire", "body": "A story of some length.", "n": 1}\n',
                     encoding="utf-8")
    fails(f"{jsonl} line 1 has no field 'text' (fields: source, body, n); pass --text-field "
          "body", "strip", str(jsonl), *model)
    jsonl.write_text('{"n": 1}\n', encoding="utf-8")
    fails(f"{jsonl} line 1 has no field 'text' (fields: n)", "strip", str(jsonl), *model)


def test_malformed_jsonl(tmp_path: Path, model: list) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n{"text": \n', encoding="utf-8")
    fails(f"{path} line 2 is not valid JSON (Expecting value)", "strip", str(path), *model)
    path.write_text('["text"]\n', encoding="utf-8")
    fails(f"{path} line 1 is not a JSON object", "strip", str(path), *model)


def test_non_string_text(tmp_path: Path, model: list) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n{"text": 42}\n', encoding="utf-8")
    fails(f"{path} line 2: field 'text' is not a string (got int)", "strip", str(path), *model)
    path.write_text('{"text": null}\n', encoding="utf-8")
    fails(f"{path} line 1: field 'text' is not a string (got null)", "strip", str(path), *model)
    pq = tmp_path / "bad.parquet"
    pd.DataFrame({"text": [1, 2]}).to_parquet(pq)
    fails(f"{pq} row 0: column 'text' is not text (got int)",
          "strip", str(pq), "-o", str(tmp_path / "o.parquet"), *model)


def test_parquet_needs_output(tmp_path: Path, model: list) -> None:
    pq = tmp_path / "a.parquet"
    pd.DataFrame({"text": ["x"]}).to_parquet(pq)
    fails(f"{pq} is parquet input: pass -o for the output", "strip", str(pq), *model)


def test_unreadable_or_tampered_model(tmp_path: Path, tiny_model_path: Path) -> None:
    txt = tmp_path / "a.txt"
    txt.write_text("Story.", encoding="utf-8")
    missing = tmp_path / "none.joblib"
    fails(f"model file {missing} does not exist; pass --model with a model path",
          "strip", str(txt), "--model", str(missing))
    bad = tmp_path / "bad.joblib"
    shutil.copy(tiny_model_path, bad)
    shutil.copy(card_path(tiny_model_path), card_path(bad))
    with open(bad, "ab") as fh:
        fh.write(b"\0")
    fails(f"model {bad} does not match the sha256 in its card bad.card.json: the file was "
          "changed or corrupted; refusing to load it", "strip", str(txt), "--model", str(bad))
    card_path(bad).write_text("{", encoding="utf-8")
    result = invoke("label", str(txt), "--model", str(bad))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(f"Error: model card {card_path(bad)} is unreadable (")


def test_model_without_card_needs_trust(tmp_path: Path, tiny_model_path: Path) -> None:
    txt = tmp_path / "a.txt"
    txt.write_text("Story.\n", encoding="utf-8")
    bare = tmp_path / "bare.joblib"
    shutil.copy(tiny_model_path, bare)
    fails(f"model {bare} has no card (bare.card.json); joblib files can run code when loaded, "
          "so pass --trust-model only if you trust where it came from",
          "strip", str(txt), "--model", str(bare))
    assert ok("strip", str(txt), "--model", str(bare), "--trust-model").stdout == "Story.\n"


def test_evaluate_compares_two_models(tmp_path: Path, tiny_model_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps({"id": "a", "text": "Editorial text. Buy now!", "source": "s",
                    "spans": [{"start": 16, "end": 24, "label": "advert"}]}) + "\n",
        encoding="utf-8",
    )
    other = tmp_path / "other.joblib"
    shutil.copy(tiny_model_path, other)
    shutil.copy(card_path(tiny_model_path), card_path(other))
    result = ok("evaluate", str(gold), "--model", str(tiny_model_path), "--model", str(other),
                "--threshold", "1.0")
    lines = result.stdout.splitlines()
    assert lines[0] == f"model A: {tiny_model_path}"
    assert f"model B: {other}" in lines
    assert lines[-2].split() == ["ALL", "0.0000", "0.0000", "+0.0000", "0.00000", "0.00000",
                                 "+0.00000"]
    single = ok("evaluate", str(gold), "--json", "--model", str(tiny_model_path),
                "--threshold", "1.0").stdout
    assert json.loads(single)["ALL"]["advert_recall"] == 0.0


# -- site templates: the batch pass, saved tables, the templates command --------------------


@pytest.fixture(scope="module")
def batch_file(tmp_path_factory: pytest.TempPathFactory, tiny_records: list) -> Path:
    """Twelve articles of two sites, each site's adverts recurring across its articles."""
    sources = sorted({r["source"] for r in tiny_records})[:2]
    rows = [{"id": r["id"], "source": r["source"], "text": r["text"]}
            for r in tiny_records if r["source"] in sources]
    path = tmp_path_factory.mktemp("batch") / "batch.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _labels(path: Path) -> list[list[dict]]:
    return [json.loads(line)["spans"] for line in path.read_text("utf-8").splitlines()]


def test_label_counts_the_batch_first(tmp_path: Path, batch_file: Path, model: list,
                                      detector_tiny: Detector) -> None:
    from detector.templates import count_templates

    rows = [json.loads(line) for line in batch_file.read_text("utf-8").splitlines()]
    texts, sites = [r["text"] for r in rows], [r["source"] for r in rows]
    batched, alone = tmp_path / "batched.jsonl", tmp_path / "alone.jsonl"
    ok("label", str(batch_file), "-o", str(batched), *model)
    ok("label", str(batch_file), "-o", str(alone), "--no-batch", *model)
    table = count_templates(zip(sites, texts))
    with_table = Detector(detector_tiny.model, templates=table)
    assert _labels(batched) == [[s.to_dict() for s in spans]
                                for spans in with_table.label_many(texts, sites=sites)]
    assert _labels(alone) == [[s.to_dict() for s in spans]
                              for spans in detector_tiny.label_many(texts)]
    assert _labels(batched) != _labels(alone), "recurrence should move some scores"


def test_one_text_names_its_site_in_a_table_counted_by_site(batch_file: Path,
                                                            detector_tiny: Detector) -> None:
    from detector.templates import count_templates

    rows = [json.loads(line) for line in batch_file.read_text("utf-8").splitlines()]
    texts, sites = [r["text"] for r in rows], [r["source"] for r in rows]
    with_table = Detector(detector_tiny.model, templates=count_templates(zip(sites, texts)))
    def shown(spans: list) -> list[dict]:  # scores rounded: one text and a batch sum apart
        return [s.to_dict() for s in spans]

    batched = [shown(spans) for spans in with_table.label_many(texts, sites=sites)]
    assert [shown(with_table.label(t, site=s)) for t, s in zip(texts, sites)] == batched
    assert with_table.strip(texts[0], site=sites[0]) == with_table.strip_many(texts, sites=sites)[0]
    assert with_table.mark(texts[0], site=sites[0]) == with_table.mark_many(texts, sites=sites)[0]
    assert [shown(with_table.label(t)) for t in texts] != batched, "the table moves scores"


def test_saved_templates_and_workers_give_the_batch_result(tmp_path: Path, batch_file: Path,
                                                           model: list) -> None:
    table = tmp_path / "t.npz"
    ok("templates", str(batch_file), "-o", str(table), *model)
    batched, saved, parallel = (tmp_path / f"{n}.jsonl" for n in ("b", "s", "p"))
    ok("label", str(batch_file), "-o", str(batched), *model)
    ok("label", str(batch_file), "-o", str(saved), "--templates", str(table), *model)
    ok("label", str(batch_file), "-o", str(parallel), "--jobs", "2", *model)
    assert _labels(saved) == _labels(batched) == _labels(parallel)


def test_without_room_for_the_spool_the_batch_result_is_the_same(
        tmp_path: Path, batch_file: Path, model: list, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import shutil
    from collections import namedtuple

    batched, tight = tmp_path / "b.jsonl", tmp_path / "t.jsonl"
    ok("label", str(batch_file), "-o", str(batched), *model)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(2**31, 2**31 - 2**20, 2**20))
    ok("label", str(batch_file), "-o", str(tight), *model)
    assert _labels(tight) == _labels(batched)
    assert "not enough free space" in caplog.text and "TMPDIR" in caplog.text


def test_a_table_counted_by_site_warns_on_plain_text(
        tmp_path: Path, batch_file: Path, model: list, caplog: pytest.LogCaptureFixture) -> None:
    by_site, one_site = tmp_path / "by_site.npz", tmp_path / "one.npz"
    ok("templates", str(batch_file), "-o", str(by_site), *model)
    rows = [json.loads(line) for line in batch_file.read_text("utf-8").splitlines()]
    plain = _write_jsonl(tmp_path / "plain.jsonl", [{"id": r["id"], "text": r["text"]}
                                                    for r in rows])
    ok("templates", str(plain), "-o", str(one_site), *model)
    text = rows[0]["text"]
    ok("label", "-", "--templates", str(one_site), *model, input=text)
    assert "counted by site" not in caplog.text
    ok("label", "-", "--templates", str(by_site), *model, input=text)
    assert f"{by_site} was counted by site (" in caplog.text
    assert "its counts do not apply here; name the site with --site" in caplog.text


def test_site_names_the_site_of_plain_text(tmp_path: Path, batch_file: Path, model: list,
                                           detector_tiny: Detector,
                                           caplog: pytest.LogCaptureFixture) -> None:
    from detector.templates import load_templates

    by_site = tmp_path / "by_site.npz"
    ok("templates", str(batch_file), "-o", str(by_site), *model)
    row = json.loads(batch_file.read_text("utf-8").splitlines()[0])
    with_table = Detector(detector_tiny.model, templates=load_templates(str(by_site)))
    want = [s.to_dict() for s in with_table.label(row["text"], site=row["source"])]
    got = ok("label", "-", "--templates", str(by_site), "--site", row["source"], *model,
             input=row["text"]).stdout
    assert json.loads(got)["spans"] == want
    assert "counted by site" not in caplog.text
    assert want != [s.to_dict() for s in with_table.label(row["text"])], "the site matters"
    ok("label", "-", "--templates", str(by_site), "--site", "elsewhere.example", *model,
       input=row["text"])
    assert f"{by_site} has no counts for site elsewhere.example (it has " in caplog.text
    fails("--site and --site-field exclude each other: give one",
          "label", str(batch_file), "--site", "a", "--site-field", "source", *model)


def test_templates_command_shows_each_sites_recurring_shapes(batch_file: Path,
                                                             model: list) -> None:
    out = ok("templates", str(batch_file), "--top", "3", *model).stdout
    sites = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert len(sites) == 2 and all(line.endswith(" articles") for line in sites)
    rows = [json.loads(line) for line in
            ok("templates", str(batch_file), "--top", "3", "--json", *model).stdout.splitlines()]
    assert {r["site"] for r in rows} == {line.split(":")[0] for line in sites}
    assert all(set(r) == {"site", "site_articles", "shape", "articles", "share", "advert_score",
                          "removed", "example"} for r in rows)
    assert max(r["articles"] for r in rows) > 1, "adverts recur within a site"


def test_template_errors(tmp_path: Path, batch_file: Path, model: list) -> None:
    missing = tmp_path / "missing.npz"
    fails(f"template table {missing} does not exist; make one with detector templates",
          "strip", str(batch_file), "--templates", str(missing), *model)
    fails(f"{batch_file} has no field 'site' (given as --site-field)",
          "strip", str(batch_file), "--site-field", "site", *model)


def test_evaluate_batch_mode(batch_file: Path, tiny_records: list, model: list,
                             detector_tiny: Detector) -> None:
    from detector.evaluate import evaluate_detector
    from detector.templates import count_templates

    gold_path = batch_file.with_name("gold.jsonl")
    rows = [r for r in tiny_records
            if r["source"] in {json.loads(x)["source"] for x in batch_file.open()}]
    gold_path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    sites = [r["source"] for r in rows]
    table = count_templates(zip(sites, (r["text"] for r in rows)))
    want = evaluate_detector(Detector(detector_tiny.model, templates=table), rows, sites=sites)
    got = json.loads(ok("evaluate", str(gold_path), "--batch", "--json", *model).stdout)
    assert got == json.loads(json.dumps(want))
