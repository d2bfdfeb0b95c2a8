"""The review loop: pick (uncertainty, diversity, formats), the terminal loop, import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import fails, ok

from detector.detect import Detector
from detector.errors import DataError, InputError
from detector.io import read_labeled
from detector.review import (
    import_answers,
    label_tasks,
    labeling_config,
    pick,
    read_task_file,
    write_tasks,
)
from detector.templates import shape as text_shape

# -- helpers ----------------------------------------------------------------------------------


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def corpus(tiny_records: list, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny training articles as an unlabeled corpus (28 sites in `source`)."""
    records = [{"id": r["id"], "source": r["source"], "text": r["text"]} for r in tiny_records]
    return write_jsonl(tmp_path_factory.mktemp("corpus") / "corpus.jsonl", records)


@pytest.fixture(scope="module")
def model(tiny_model_path: Path) -> list[str]:
    return ["--model", str(tiny_model_path)]


def _all_segments(records: list, detector: Detector) -> list[dict[str, Any]]:
    out = []
    for r, spans in zip(records, detector.label_many([r["text"] for r in records])):
        for s in spans:
            text = r["text"][s.start : s.end]
            if any(c.isalnum() for c in text):
                out.append({"article": r["id"], "site": r["source"], "start": s.start,
                            "end": s.end, "score": s.score, "label": s.label,
                            "shape": text_shape(text)})
    return out


# -- pick: uncertainty and diversity ------------------------------------------------------------


def test_pick_takes_the_segments_closest_to_the_threshold(
    tiny_records: list, detector_tiny: Detector, tmp_path: Path
) -> None:
    # One site and no article cap: only the shape rule stands between us and pure uncertainty.
    records = [dict(r, source="one") for r in tiny_records[:30]]
    path = write_jsonl(tmp_path / "c.jsonl", records)
    tasks = pick(str(path), detector_tiny, n=25, per_article=1000, batch=False)
    assert len(tasks) == 25
    threshold = detector_tiny.threshold
    picked = {(t["article"], t["start"]) for t in tasks}
    worst = max(abs(t["score"] - threshold) for t in tasks)
    shapes = {text_shape(t["segment"]) for t in tasks}
    assert len(shapes) == 25
    others = [s for s in _all_segments(records, detector_tiny)
              if (s["article"], s["start"]) not in picked and s["shape"] not in shapes]
    assert others, "the corpus should have more segments than were picked"
    assert min(abs(s["score"] - threshold) for s in others) >= worst - 1e-4
    # Round robin inside one site is plain uncertainty order.
    distances = [abs(t["score"] - threshold) for t in tasks]
    assert distances == sorted(distances)


def test_pick_spreads_over_sites_and_articles(corpus: Path, detector_tiny: Detector) -> None:
    tasks = pick(str(corpus), detector_tiny, n=40, per_article=1)
    assert len(tasks) == 40
    assert len({t["article"] for t in tasks}) == 40
    per_site = pd.Series([t["site"] for t in tasks]).value_counts()
    assert len(per_site) == 28  # every site had its turn before any site got a third
    assert per_site.max() - per_site.min() <= 1
    assert len({text_shape(t["segment"]) for t in tasks}) == 40


def test_pick_caps_per_site(corpus: Path, detector_tiny: Detector) -> None:
    tasks = pick(str(corpus), detector_tiny, n=200, per_article=2, per_site=3)
    per_site = pd.Series([t["site"] for t in tasks]).value_counts()
    assert per_site.max() == 3 and len(tasks) == 3 * 28
    per_article = pd.Series([t["article"] for t in tasks]).value_counts()
    assert per_article.max() <= 2


def test_pick_drops_copies_of_one_template(tmp_path: Path, detector_tiny: Detector) -> None:
    # 30 articles on 3 sites, each with the same promo line (only the name and figure differ).
    names = ["Apple", "Nvidia", "Tesla", "Siemens", "Bayer", "Airbus"]
    records = [
        {"id": f"a{i}", "url": f"https://www.site{i % 3}.example/story/{i}",
         "text": f"{names[i % 6]} reported results on day {i}.\n"
                 f"Should you invest ${1000 + i} in {names[i % 6]} right now?\n"
                 f"The shares closed {i} cents higher."}
        for i in range(30)
    ]
    path = write_jsonl(tmp_path / "t.jsonl", records)
    tasks = pick(str(path), detector_tiny, n=50, per_article=3)
    assert {t["site"] for t in tasks} <= {"site0.example", "site1.example", "site2.example"}
    assert len({t["site"] for t in tasks}) >= 2  # sites take turns
    promo = [t for t in tasks if t["segment"].startswith("Should you invest")]
    assert len(promo) == 1
    assert len(tasks) == len({text_shape(t["segment"]) for t in tasks}) == 3


def test_tasks_carry_their_article_context(corpus: Path, tiny_records: list,
                                          detector_tiny: Detector) -> None:
    tasks = pick(str(corpus), detector_tiny, n=10, batch=False)
    texts = {r["id"]: r["text"] for r in tiny_records}
    for k, t in enumerate(tasks, 1):
        text = texts[t["article"]]
        assert t["task"] == k and t["label"] is None
        assert t["text"] == text and text[t["start"] : t["end"]] == t["segment"]
        assert t["before"] == text[max(0, t["start"] - 300) : t["start"]]
        assert t["after"] == text[t["end"] : t["end"] + 300]
        spans = detector_tiny.label(text)
        (mine,) = [s for s in spans if s.start == t["start"]]
        assert (t["score"], t["guess"]) == (round(mine.score, 4), mine.label)
        assert t["model_spans"] == [{"start": s.start, "end": s.end, "label": s.label}
                                    for s in spans if s.label != "editorial"]


def test_pick_scores_as_detector_label_does(corpus: Path, model: list, tmp_path: Path) -> None:
    # Both count the corpus's site templates first, so the scores are the same.
    ok("label", str(corpus), "-o", str(tmp_path / "labels.jsonl"), *model)
    scores = {(r["id"], s["start"]): s["score"]
              for r in read_jsonl(tmp_path / "labels.jsonl") for s in r["spans"]}
    ok("review", "pick", str(corpus), "-n", "30", "-o", str(tmp_path / "t.jsonl"), *model)
    tasks = read_jsonl(tmp_path / "t.jsonl")
    assert len(tasks) == 30
    assert all(t["score"] == scores[(t["article"], t["start"])] for t in tasks)


def test_pick_reads_folders_without_sites(tmp_path: Path, tiny_records: list,
                                          detector_tiny: Detector) -> None:
    folder = tmp_path / "scrape"
    folder.mkdir()
    for r in tiny_records[:5]:
        (folder / f"{r['id']}.txt").write_text(r["text"], encoding="utf-8")
    tasks = pick(str(folder), detector_tiny, n=4)
    assert len(tasks) == 4
    assert {t["site"] for t in tasks} == {None}
    assert {t["article"] for t in tasks} <= {r["id"] for r in tiny_records[:5]}


def test_pick_reads_csv_with_url_sites(tmp_path: Path, tiny_records: list,
                                       detector_tiny: Detector) -> None:
    frame = pd.DataFrame({"id": [r["id"] for r in tiny_records[:6]],
                          "body": [r["text"] for r in tiny_records[:6]],
                          "url": [f"http://news{i % 2}.example/x" for i in range(6)]})
    frame.to_csv(tmp_path / "c.csv", index=False)
    tasks = pick(str(tmp_path / "c.csv"), detector_tiny, n=6, text_field="body")
    assert {t["site"] for t in tasks} == {"news0.example", "news1.example"}


def test_pick_refuses_duplicate_ids(tmp_path: Path, detector_tiny: Detector) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "x", "text": "One. Two."},
                                               {"id": "x", "text": "Three."}])
    with pytest.raises(InputError) as info:
        pick(str(path), detector_tiny)
    assert str(info.value) == (
        f"{path}: article id 'x' appears twice; tasks need unique ids (pass --id-field)")


# -- pick: output formats -----------------------------------------------------------------------


def test_pick_cli_jsonl(corpus: Path, model: list, tmp_path: Path) -> None:
    out = tmp_path / "tasks.jsonl"
    result = ok("review", "pick", str(corpus), "-n", "12", "-o", str(out), *model)
    tasks = read_jsonl(out)
    articles = len({t["article"] for t in tasks})
    sites = len({t["site"] for t in tasks})
    assert result.stdout == (f"picked 12 segments from {articles} articles on {sites} sites\n"
                             f"wrote {out}\n")
    assert len(tasks) == 12 and sites == 12


def test_pick_cli_csv_has_an_empty_label_column(corpus: Path, model: list,
                                                tmp_path: Path) -> None:
    out = tmp_path / "tasks.csv"
    ok("review", "pick", str(corpus), "-n", "5", "-o", str(out), *model)
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["task", "article", "site", "start", "end", "score", "guess",
                                   "label", "before", "segment", "after", "text", "model_spans"]
    assert (frame["label"] == "").all() and len(frame) == 5
    for _, row in frame.iterrows():
        assert row["text"][int(row["start"]) : int(row["end"])] == row["segment"]
        assert isinstance(json.loads(row["model_spans"]), list)


def test_pick_cli_label_studio(corpus: Path, model: list, tmp_path: Path) -> None:
    out = tmp_path / "tasks.json"
    result = ok("review", "pick", str(corpus), "-n", "3", "-o", str(out), "--labels", "teaser",
                *model)
    config = tmp_path / "tasks.config.xml"
    assert result.stdout.splitlines()[1] == f"wrote {out} and {config}"
    items = json.loads(out.read_text(encoding="utf-8"))
    assert len(items) == 3
    for item in items:
        data = item["data"]
        assert set(data) >= {"article", "start", "end", "segment", "before", "after", "text"}
        assert "label" not in data
        (prediction,) = item["predictions"]
        assert prediction["score"] == data["score"]
        assert prediction["model_version"] == f"detector {model[1]}"
        assert prediction["result"] == [{"from_name": "label", "to_name": "segment",
                                         "type": "choices",
                                         "value": {"choices": [data["guess"]]}}]
    xml = config.read_text(encoding="utf-8")
    assert xml == labeling_config(["advert", "editorial", "neutral", "teaser"])
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    choices = root.find("Choices")
    assert choices is not None and choices.get("name") == "label"
    assert choices.get("toName") == "segment"
    assert [c.get("value") for c in choices] == ["advert", "editorial", "neutral", "teaser"]
    assert {t.get("value") for t in root.iter("Text")} == {"$before", "$segment", "$after"}


def test_pick_format_option_overrides_the_extension(corpus: Path, model: list,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "tasks.txt"
    ok("review", "pick", str(corpus), "-n", "2", "-o", str(out), "--format", "csv", *model)
    assert out.read_text(encoding="utf-8").startswith("task,article,site,")


def test_pick_unknown_extension(corpus: Path, model: list, tmp_path: Path) -> None:
    out = tmp_path / "tasks.txt"
    fails(f"{out}: cannot tell the task format from the extension .txt; use .jsonl, .csv or "
          ".json, or pass --format", "review", "pick", str(corpus), "-o", str(out), *model)
    assert not out.exists()


def test_pick_missing_corpus(tmp_path: Path, model: list) -> None:
    fails(f"{tmp_path / 'none.jsonl'} does not exist", "review", "pick",
          str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "t.jsonl"), *model)


# -- the terminal loop --------------------------------------------------------------------------


@pytest.fixture()
def task_file(corpus: Path, detector_tiny: Detector, tmp_path: Path) -> Path:
    tasks = pick(str(corpus), detector_tiny, n=6)
    path = tmp_path / "tasks.jsonl"
    write_tasks(tasks, path, "jsonl")
    return path


def labels_of(path: Path) -> list[str | None]:
    return [t["label"] for t in read_jsonl(path)]


def test_label_loop_answers_undoes_and_quits(task_file: Path) -> None:
    result = ok("review", "label", str(task_file), input="aeuenq")
    assert labels_of(task_file) == ["advert", "editorial", "neutral", None, None, None]
    assert result.stdout.endswith(
        f"answered 4, undid 1; 3 of 6 tasks open; saved in {task_file}\n")
    assert "undid task 2" in result.stdout
    assert "task 4 of 6" in result.stdout


def test_label_loop_resumes_where_it_stopped(task_file: Path) -> None:
    ok("review", "label", str(task_file), input="as")
    assert labels_of(task_file) == ["advert", "skip", None, None, None, None]
    result = ok("review", "label", str(task_file), input="n")  # input ends: like quitting
    first_screen = result.stdout.split("model:")[0]
    assert "task 3 of 6" in first_screen
    assert labels_of(task_file) == ["advert", "skip", "neutral", None, None, None]
    # After a resume, undo goes back to the last answered task.
    ok("review", "label", str(task_file), input="uu\x03")
    assert labels_of(task_file) == ["advert", None, None, None, None, None]


def test_label_loop_to_the_end_and_undo_there(task_file: Path) -> None:
    result = ok("review", "label", str(task_file), input="aaaaaeu")
    assert "all 6 tasks answered" in result.stdout
    assert labels_of(task_file) == ["advert"] * 5 + [None]
    ok("review", "label", str(task_file), input="n")
    assert labels_of(task_file)[-1] == "neutral"
    result = ok("review", "label", str(task_file), input="")
    assert result.stdout == f"answered 0, undid 0; 0 of 6 tasks open; saved in {task_file}\n"


def test_label_loop_ignores_unknown_keys_and_reports_nothing_to_undo(task_file: Path) -> None:
    result = ok("review", "label", str(task_file), input="uxAq")
    assert "nothing to undo" in result.stdout
    assert "unknown key 'x'" in result.stdout
    assert labels_of(task_file)[:2] == ["advert", None]


def test_label_loop_shows_the_segment_highlighted(task_file: Path) -> None:
    task = read_jsonl(task_file)[0]
    screens: list[str] = []
    keys = iter("q")
    label_tasks(str(task_file), lambda: next(keys), screens.append)
    screen = screens[0]
    assert f"task 1 of 6  site {task['site']}  article {task['article']}" in screen
    assert "\x1b[30m\x1b[43m\x1b[1m⟦" + task["segment"] + "⟧" in screen  # black on yellow
    assert f"model: {task['guess']} (advert score {task['score']:.2f})" in screen
    assert screen.endswith("[a]dvert  [e]ditorial  [n]eutral  [s]kip  [u]ndo  [q]uit")


def test_label_loop_reads_single_keys_on_a_terminal(task_file: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import detector.cli

    # On a terminal the keys come from click.getchar (which CliRunner feeds from the input).
    monkeypatch.setattr(detector.cli, "_stdin_is_terminal", lambda: True)
    ok("review", "label", str(task_file), input="ae\n")
    assert labels_of(task_file)[:3] == ["advert", "editorial", None]


def test_label_loop_from_a_pipe_skips_blanks(task_file: Path) -> None:
    ok("review", "label", str(task_file), input="a\n e\n")
    assert labels_of(task_file)[:3] == ["advert", "editorial", None]


def test_every_answer_is_on_disk_before_the_next_key(task_file: Path) -> None:
    # What a kill between two keys would leave: the file as read when the next key is asked.
    seen: list[list[str | None]] = []
    keys = iter("aens")

    def read_key() -> str:
        seen.append(labels_of(task_file))
        return next(keys, "q")

    result = label_tasks(str(task_file), read_key, lambda screen: None)
    assert seen == [
        [None] * 6,
        ["advert"] + [None] * 5,
        ["advert", "editorial"] + [None] * 4,
        ["advert", "editorial", "neutral"] + [None] * 3,
        ["advert", "editorial", "neutral", "skip", None, None],
    ]
    assert (result.answered, result.open, result.total) == (4, 2, 6)
    assert not list(task_file.parent.glob(".*.tmp"))


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGKILL"])
def test_killed_labeling_keeps_every_answer(task_file: Path, signal_name: str) -> None:
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "detector", "review", "label", str(task_file)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert proc.stdin is not None
    proc.stdin.write(b"ae")
    proc.stdin.flush()  # the pipe stays open: the loop now waits for the third key
    deadline = time.monotonic() + 60
    while labels_of(task_file)[:2] != ["advert", "editorial"]:
        assert time.monotonic() < deadline, "the answers never reached the file"
        time.sleep(0.05)
    proc.send_signal(getattr(signal, signal_name))
    proc.wait(timeout=60)
    assert labels_of(task_file) == ["advert", "editorial", None, None, None, None]
    assert not list(task_file.parent.glob(".*.tmp"))
    proc.stdin.close()


def test_label_refuses_csv_and_label_studio_tasks(tmp_path: Path) -> None:
    for name in ("tasks.csv", "tasks.json"):
        path = tmp_path / name
        path.write_text("task\n1\n", encoding="utf-8")
        fails(f"{path}: review label works on JSONL tasks (review pick -o tasks.jsonl); label a "
              "CSV in a spreadsheet or Label Studio tasks in Label Studio, then run review "
              "import", "review", "label", str(path))


def test_label_needs_a_task_file(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [{"id": "a", "text": "no task"}])
    fails(f"{path} line 1 has no field 'article' (not a review pick task file)",
          "review", "label", str(path))


# -- import ---------------------------------------------------------------------------------------


ARTICLE = "Markets rose today.\nSubscribe to our newsletter now!\nPhoto: Agency\nThe end."


def _task(k: int, start: int, end: int, label: str | None, **extra: Any) -> dict[str, Any]:
    return {"task": k, "article": extra.pop("article", "a1"), "site": "example.com",
            "start": start, "end": end, "score": 0.6, "guess": "editorial", "label": label,
            "before": "", "segment": ARTICLE[start:end], "after": "", "text": ARTICLE,
            "model_spans": [{"start": 53, "end": 65, "label": "neutral"}], **extra}


def _answered_tasks() -> list[dict[str, Any]]:
    second = "Another story.\nRead also: ten tips\nMore story."
    return [
        _task(1, 20, 52, "advert"),
        _task(2, 0, 19, "editorial"),
        _task(3, 66, 74, "skip"),
        {**_task(4, 15, 34, "advert", article="b2"), "text": second,
         "segment": second[15:34], "model_spans": []},
        _task(5, 66, 74, None, article="c3"),
    ]


EXPECTED = [
    {"id": "a1", "text": ARTICLE, "source": "example.com",
     "spans": [{"start": 20, "end": 52, "label": "advert"},
               {"start": 53, "end": 65, "label": "neutral"}]},
    {"id": "b2", "text": "Another story.\nRead also: ten tips\nMore story.",
     "source": "example.com", "spans": [{"start": 15, "end": 34, "label": "advert"}]},
]


def _as_csv(tasks: list[dict[str, Any]], path: Path) -> Path:
    write_tasks(tasks, path, "csv")
    return path


def _as_labelstudio(tasks: list[dict[str, Any]], path: Path) -> Path:
    write_tasks(tasks, path, "labelstudio")
    items = json.loads(path.read_text(encoding="utf-8"))
    for item, task in zip(items, tasks):
        if task["label"] is not None:
            item["annotations"] = [
                {"was_cancelled": True, "result": [
                    {"type": "choices", "value": {"choices": ["neutral"]}}]},
                {"id": 7, "result": [{"from_name": "label", "to_name": "segment",
                                      "type": "choices", "value": {"choices": [task["label"]]}}]},
            ]
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def _as_jsonl(tasks: list[dict[str, Any]], path: Path) -> Path:
    write_tasks(tasks, path, "jsonl")
    return path


WRITERS = {"jsonl": (_as_jsonl, "tasks.jsonl"), "csv": (_as_csv, "tasks.csv"),
           "labelstudio": (_as_labelstudio, "export.json")}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_import_each_format(fmt: str, tmp_path: Path) -> None:
    write, name = WRITERS[fmt]
    path = write(_answered_tasks(), tmp_path / name)
    out = tmp_path / "labeled.jsonl"
    result = ok("review", "import", str(path), "-o", str(out))
    assert result.stdout == (
        f"imported 3 answers (2 skipped or open) into 2 articles with 3 spans; wrote {out}\n")
    assert read_jsonl(out) == EXPECTED
    assert read_labeled(str(out))  # valid training data


def test_import_without_model_spans(tmp_path: Path) -> None:
    path = _as_jsonl(_answered_tasks(), tmp_path / "t.jsonl")
    records = import_answers(str(path), model_spans=False).records
    assert records[0]["spans"] == [{"start": 20, "end": 52, "label": "advert"}]


def test_an_answer_replaces_the_model_guess(tmp_path: Path) -> None:
    path = _as_jsonl([_task(1, 53, 65, "editorial")], tmp_path / "t.jsonl")
    (record,) = import_answers(str(path)).records
    assert record["spans"] == []


def test_import_with_corpus_texts(tmp_path: Path) -> None:
    tasks = [{k: v for k, v in _task(1, 20, 52, "advert").items() if k != "text"}]
    path = _as_csv(tasks, tmp_path / "t.csv")
    fails(f"{path} row 2: no article text; pass --corpus with the articles the tasks were "
          "picked from", "review", "import", str(path), "-o", str(tmp_path / "o.jsonl"))
    corpus = tmp_path / "corpus.csv"
    pd.DataFrame({"key": ["a1"], "body": [ARTICLE]}).to_csv(corpus, index=False)
    out = tmp_path / "o.jsonl"
    ok("review", "import", str(path), "-o", str(out), "--corpus", str(corpus),
       "--id-field", "key", "--text-field", "body")
    assert read_jsonl(out)[0]["spans"][0] == {"start": 20, "end": 52, "label": "advert"}
    other = write_jsonl(tmp_path / "other.jsonl", [{"id": "zz", "text": ARTICLE}])
    fails(f"{path} row 2: article 'a1' is not in the corpus {other}",
          "review", "import", str(path), "-o", str(out), "--corpus", str(other))


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_import_refuses_an_unknown_label(fmt: str, tmp_path: Path) -> None:
    write, name = WRITERS[fmt]
    path = write([_task(1, 0, 19, "editorial"), _task(2, 20, 52, "Teaser")], tmp_path / name)
    where = {"jsonl": "line 2", "csv": "row 3", "labelstudio": "task 2"}[fmt]
    out = tmp_path / "o.jsonl"
    fails(f"{path} {where}: unknown label 'teaser' (allowed: advert, editorial, neutral); "
          "pass --labels teaser to allow it", "review", "import", str(path), "-o", str(out))
    assert not out.exists()
    ok("review", "import", str(path), "-o", str(out), "--labels", "teaser")
    assert read_jsonl(out)[0]["spans"][0] == {"start": 20, "end": 52, "label": "teaser"}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_import_refuses_changed_text(fmt: str, tmp_path: Path) -> None:
    write, name = WRITERS[fmt]
    changed = ARTICLE.replace("Markets", "Stocks!")
    path = write([_task(1, 0, 19, "advert", text=changed)], tmp_path / name)
    where = {"jsonl": "line 1", "csv": "row 2", "labelstudio": "task 1"}[fmt]
    fails(f"{path} {where}: the segment no longer matches article 'a1' at 0-19 (the text or "
          "the offsets were changed)", "review", "import", str(path),
          "-o", str(tmp_path / "o.jsonl"))


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_import_refuses_offsets_outside_the_article(fmt: str, tmp_path: Path) -> None:
    write, name = WRITERS[fmt]
    path = write([_task(1, 70, 90, "advert")], tmp_path / name)
    where = {"jsonl": "line 1", "csv": "row 2", "labelstudio": "task 1"}[fmt]
    fails(f"{path} {where}: offsets 70-90 are outside article 'a1' (length {len(ARTICLE)})",
          "review", "import", str(path), "-o", str(tmp_path / "o.jsonl"))


def test_import_refuses_other_misplaced_answers(tmp_path: Path) -> None:
    out = str(tmp_path / "o.jsonl")
    path = _as_jsonl([_task(1, 0, 19, "advert"), _task(2, 10, 30, "advert")], tmp_path / "a.jsonl")
    fails(f"{path} line 2: segment 10-30 overlaps the answered segment 0-19 of article 'a1' at "
          f"{path} line 1", "review", "import", str(path), "-o", out)
    path = _as_jsonl([_task(1, 0, 19, "advert"), _task(2, 0, 7, "advert", text="Markets")],
                     tmp_path / "b.jsonl")
    fails(f"{path} line 2: article 'a1' has another text than at {path} line 1",
          "review", "import", str(path), "-o", out)
    path = _as_csv([_task(1, 0, 19, "advert")], tmp_path / "c.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[0, "start"] = "zero"
    frame.to_csv(path, index=False)
    fails(f"{path} row 2: start and end must be integers", "review", "import", str(path),
          "-o", out)
    frame.drop(columns=["segment"]).to_csv(path, index=False)
    fails(f"{path} has no column 'segment' (columns: task, article, site, start, end, score, "
          "guess, label, before, after, text, model_spans)", "review", "import", str(path),
          "-o", out)


def test_import_label_studio_errors(tmp_path: Path) -> None:
    out = str(tmp_path / "o.jsonl")
    path = tmp_path / "e.json"
    path.write_text('{"data": {}}', encoding="utf-8")
    fails(f"{path} is not a Label Studio export (a JSON list of tasks)",
          "review", "import", str(path), "-o", out)
    path.write_text("[{}]", encoding="utf-8")
    fails(f"{path} task 1 has no 'data' object", "review", "import", str(path), "-o", out)
    item = {"data": _task(1, 0, 19, None), "annotations": [{"result": [
        {"value": {"choices": ["advert", "neutral"]}}]}]}
    path.write_text(json.dumps([item]), encoding="utf-8")
    fails(f"{path} task 1: 2 labels chosen (advert, neutral); choose one",
          "review", "import", str(path), "-o", out)
    # A Labels tag (span labeling) instead of Choices: its label is the segment's.
    item["annotations"] = [{"result": [{"value": {"start": 0, "end": 5, "labels": ["advert"]}}]}]
    path.write_text(json.dumps([item]), encoding="utf-8")
    ok("review", "import", str(path), "-o", out)
    assert read_jsonl(Path(out))[0]["spans"][0] == {"start": 0, "end": 19, "label": "advert"}


def test_import_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "answers.xlsx"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(InputError) as info:
        import_answers(str(path))
    assert str(info.value) == (f"{path}: cannot tell the task format from the extension .xlsx; "
                               "use .jsonl, .csv or .json, or pass --format")


def test_import_of_picked_and_labeled_tasks_trains(corpus: Path, detector_tiny: Detector,
                                                  tmp_path: Path) -> None:
    from detector.training import train

    tasks = pick(str(corpus), detector_tiny, n=12)
    for t in tasks:
        t["label"] = "advert" if t["score"] >= 0.5 else "editorial"
    path = _as_csv(tasks, tmp_path / "t.csv")
    result = import_answers(str(path), str(tmp_path / "l.jsonl"))
    records = read_labeled(str(tmp_path / "l.jsonl"))
    assert records == result.records and len(records) == len({t["article"] for t in tasks})
    model = train(records, holdout=0.0, params={"n_features": 2**12, "cv": 2})
    assert "advert" in model.labels


def test_read_task_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("[1]\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 1 is not a JSON object"):
        read_task_file(str(path))
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(InputError, match="has no tasks"):
        read_task_file(str(path))
    with pytest.raises(DataError):
        import_answers(str(_as_jsonl([_task(1, 0, 19, "spam")], tmp_path / "s.jsonl")))


# -- help -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["pick", "label", "import"])
def test_review_help(command: str) -> None:
    result = ok("review", command, "--help")
    assert "Example: detector review " + command in result.output
