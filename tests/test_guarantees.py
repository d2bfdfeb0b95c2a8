"""Guarantees under hostile conditions: editorial text survives any input, interrupted runs
never leave a half-written output, huge or pathological input stays cheap, and the readers
fail only with InputError.

Hypothesis budgets come from the profile in conftest.py (HYPOTHESIS_PROFILE=long for a deep
run).
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from detector.cli import cli
from detector.detect import Detector, LabeledSpan
from detector.errors import InputError
from detector.io import Input
from detector.segment import segment

REPO = Path(__file__).resolve().parents[1]
#: `detector.segment` the module (the package re-exports a function of the same name).
segment_module = importlib.import_module("detector.segment")


def _first_records(n: int) -> list[dict[str, Any]]:
    with open(REPO / "data" / "train.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in itertools.islice(fh, n)]


# Real advert and editorial pieces, so that random text also contains things the model removes.
_RECORDS = _first_records(40)
_PIECES = sorted(
    {r["text"][s["start"] : s["end"]] for r in _RECORDS for s in r["spans"]}
    | {s.text for r in _RECORDS[:10] for s in segment(r["text"])[:6]}
)
_HOSTILE = [
    "\r", "\n", "\r\n", "\n\n", "\t", " ", "\u00a0", "\u2028", "\x85", "\x0b", "\x1c",
    "\u200b", "\u200d", "\ufeff", "\u202e", "\u202c", "\x00", "\x7f",
    "😀", "👍🏽", "👨‍👩‍👧", "e\u0301", "\u0308", "\u0301\u0301", "ß", "İ", "ǅ",
    ".", "!?", "…", "(", ")", "[", "]", "makeArticleAd();", "Dr.", "24. Januar", "2017.",
]
texts = st.one_of(
    st.text(),  # every category but surrogates: controls, format chars, marks, emoji
    st.lists(
        st.one_of(st.sampled_from(_HOSTILE), st.sampled_from(_PIECES), st.text(max_size=8)),
        max_size=25,
    ).map("".join),
)
thresholds = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _solid(text: str) -> str:
    return "".join(c for c in text if not c.isspace())


def _is_subsequence(small: str, big: str) -> bool:
    it = iter(big)
    return all(c in it for c in small)


def _with_threshold(detector: Detector, threshold: float) -> Detector:
    return Detector(detector.model, threshold=threshold, keep=detector.keep)


# -- 1. editorial text is never altered ------------------------------------------------------


@given(text=texts, threshold=thresholds)
def test_strip_removes_exactly_the_removable_spans(
    detector_tiny: Detector, text: str, threshold: float
) -> None:
    detector = _with_threshold(detector_tiny, threshold)
    removed = [s for s in detector.label(text) if s.label in detector.removable]
    out = detector.strip(text)
    gone = [False] * len(text)
    for s in removed:
        gone[s.start : s.end] = [True] * (s.end - s.start)
    kept = "".join(c for c, g in zip(text, gone) if not g)
    assert _solid(out) == _solid(kept)
    assert _is_subsequence(out, text)  # nothing added, nothing reordered
    if not removed:
        assert out == text


@pytest.fixture(scope="module")
def batch_detector(detector_tiny: Detector, tiny_records: list) -> Detector:
    """The tiny model with the site-template counts of its own training sites."""
    from detector.templates import count_templates

    table = count_templates((r["source"], r["text"]) for r in tiny_records)
    return Detector(detector_tiny.model, keep=detector_tiny.keep, templates=table)


@given(text=texts, threshold=thresholds, pick=st.integers(min_value=0), glue=st.sampled_from(
    ["", " ", "\n"]))
def test_strip_in_batch_mode_removes_exactly_the_removable_spans(
    batch_detector: Detector, tiny_records: list, text: str, threshold: float, pick: int,
    glue: str
) -> None:
    """The site-template evidence changes scores, never what stripping may do to the text:
    arbitrary text glued to an article of a counted site, whose segments recur there."""
    record = tiny_records[pick % len(tiny_records)]
    site, text = record["source"], record["text"] + glue + text
    detector = Detector(
        batch_detector.model, threshold=threshold, templates=batch_detector.templates
    )
    spans = detector.label_many([text], sites=[site])[0]
    removed = [s for s in spans if s.label in detector.removable]
    out = detector.strip_many([text], sites=[site])[0]
    gone = [False] * len(text)
    for s in removed:
        gone[s.start : s.end] = [True] * (s.end - s.start)
    kept = "".join(c for c, g in zip(text, gone) if not g)
    assert _solid(out) == _solid(kept)
    assert _is_subsequence(out, text)
    assert detector.strip_many([out], sites=[site])[0] == out  # idempotent in batch mode too
    if not removed:
        assert out == text


def _check_spans(text: str, spans: list[LabeledSpan], labels: set[str]) -> None:
    covered = [False] * len(text)
    prev_end = 0
    for s in spans:
        piece = text[s.start : s.end]
        assert piece and piece == piece.strip(), (s, piece)
        assert prev_end <= s.start < s.end <= len(text), "sorted and disjoint"
        assert s.label in labels
        assert 0.0 <= s.score <= 1.0
        covered[s.start : s.end] = [True] * (s.end - s.start)
        prev_end = s.end
    missed = [c for c, cov in zip(text, covered) if not cov and not c.isspace()]
    assert not missed, missed


@given(text=texts, threshold=thresholds)
def test_label_spans_are_stripped_sorted_and_cover_every_non_space(
    detector_tiny: Detector, text: str, threshold: float
) -> None:
    detector = _with_threshold(detector_tiny, threshold)
    _check_spans(text, detector.label(text), set(detector.model.labels))


@given(text=texts)
def test_threshold_one_keeps_the_text(detector_tiny: Detector, text: str) -> None:
    detector = _with_threshold(detector_tiny, 1.0)
    assert detector.strip(text) == text
    assert not [s for s in detector.label(text) if s.label in detector.removable]


def test_strip_twice_changes_nothing_on_training_articles(
    detector_tiny: Detector, train_records: list[dict[str, Any]]
) -> None:
    texts_ = [r["text"] for r in train_records[:40]]
    once = detector_tiny.strip_many(texts_)
    twice = detector_tiny.strip_many(once)
    changed = [r["id"] for r, a, b in zip(train_records, once, twice) if a != b]
    assert not changed, f"strip is not idempotent on {changed}"


# -- 2. interruptions: a real process, killed mid-run ----------------------------------------


def _command() -> list[str]:
    script = shutil.which("detector", path=str(Path(sys.executable).parent)) or shutil.which(
        "detector"
    )
    return [script] if script else [sys.executable, "-m", "detector"]


def _default_sigint() -> None:
    # A shell's background job may inherit SIGINT ignored; Python then never raises
    # KeyboardInterrupt. Give the child the default so Python installs its own handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def big_jsonl(tmp_path_factory: pytest.TempPathFactory, train_records: list) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    rows = itertools.islice(itertools.cycle(train_records), 3000)
    with open(path, "w", encoding="utf-8") as fh:
        for i, r in enumerate(rows):
            fh.write(json.dumps({"id": f"a{i}", "text": r["text"]}, ensure_ascii=False) + "\n")
    return path


def _start_and_wait_for_temp(
    workdir: Path, big: Path, model: Path, out: Path, *options: str
) -> subprocess.Popen[bytes]:
    """Start `detector strip`; return once its temporary output exists (skip if it finished)."""
    cmd = [*_command(), "strip", str(big), "-o", str(out), "--model", str(model), "--quiet",
           *options]
    log = open(workdir / "stderr.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=_default_sigint
    )
    log.close()
    deadline = time.monotonic() + 60
    while not _temps(out):
        if proc.poll() is not None:
            pytest.skip(f"the run ended (exit {proc.returncode}) before it could be interrupted")
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail("no temporary output appeared within 60 s")
        time.sleep(0.02)
    return proc


def _temps(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.*.tmp"))


def test_sigkill_mid_run_leaves_no_output(
    tmp_path: Path, big_jsonl: Path, tiny_model_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    proc = _start_and_wait_for_temp(tmp_path, big_jsonl, tiny_model_path, out)
    time.sleep(1.0)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be killed")
    proc.kill()
    proc.wait(timeout=30)
    assert not out.exists()
    assert all(p.name != out.name for p in tmp_path.iterdir())
    for leftover in _temps(out):  # allowed after SIGKILL, and only under a temporary name
        leftover.unlink()


def test_sigint_mid_run_keeps_old_output_and_cleans_up(
    tmp_path: Path, big_jsonl: Path, tiny_model_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    old = '{"id": "old", "text": "the previous run\'s output"}\n'
    out.write_text(old, encoding="utf-8")
    proc = _start_and_wait_for_temp(tmp_path, big_jsonl, tiny_model_path, out)
    time.sleep(0.5)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be interrupted")
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=60)
    stderr = (tmp_path / "stderr.log").read_text(encoding="utf-8", errors="replace")
    assert code != 0, stderr
    assert out.read_text(encoding="utf-8") == old
    assert _temps(out) == [], stderr
    assert "Traceback" not in stderr, stderr


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie waiting for its new parent counts)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigterm_mid_run_cleans_up_like_sigint(
    tmp_path: Path, big_jsonl: Path, tiny_model_path: Path, jobs: str
) -> None:
    """kill, timeout and job schedulers send SIGTERM: no temporary file, no worker left."""
    out = tmp_path / "out.jsonl"
    proc = _start_and_wait_for_temp(tmp_path, big_jsonl, tiny_model_path, out, "--jobs", jobs)
    time.sleep(0.5)
    workers = _children(proc.pid)
    if proc.poll() is not None or (jobs == "2" and not workers):
        pytest.skip("the run finished before it could be stopped")
    proc.terminate()
    code = proc.wait(timeout=60)
    stderr = (tmp_path / "stderr.log").read_text(encoding="utf-8", errors="replace")
    assert code == 128 + signal.SIGTERM, stderr
    assert not out.exists() and _temps(out) == [], stderr
    assert "Traceback" not in stderr, stderr
    deadline = time.monotonic() + 10
    while not all(map(_gone, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(map(_gone, workers)), workers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_workers_end_with_their_parent(
    tmp_path: Path, big_jsonl: Path, tiny_model_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    proc = _start_and_wait_for_temp(tmp_path, big_jsonl, tiny_model_path, out, "--jobs", "2")
    deadline = time.monotonic() + 10
    while not (workers := _children(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.02)  # the labeling pass starts its pool just after opening its output
    if proc.poll() is not None or not workers:
        pytest.skip("the run finished before it could be killed")
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while not all(map(_gone, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(map(_gone, workers)), f"workers {workers} outlived their killed parent"
    for leftover in _temps(out):
        leftover.unlink()


# -- 3. huge and hostile input -----------------------------------------------------------------


#: Labeling runs at ~60 KB/s on one huge line with the tiny model: 5 MB takes ~90 s, so the
#: default run uses 1 MB and the long profile the full 5 MB.
HUGE_MB = 5 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 1


def test_huge_single_line_article(detector_tiny: Detector) -> None:
    words = "market shares rose sharply after the quarterly report was published today ".split()
    text = " ".join(itertools.islice(itertools.cycle(words), 160_000 * HUGE_MB))
    text = text[: HUGE_MB * 2**20].strip()
    assert "\n" not in text and len(text) >= HUGE_MB * 10**6
    started = time.perf_counter()
    spans = detector_tiny.label(text)
    assert time.perf_counter() - started < 60 * HUGE_MB
    assert spans and spans[0].start == 0 and spans[-1].end == len(text)
    assert sum(not c.isspace() for s in spans for c in text[s.start : s.end]) == len(
        text.replace(" ", "")
    )


def _best_time(fn: Callable[[], object], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _growth(unit: str, chars: int) -> float:
    """How much longer segment() takes on 4x the text: ~4 when linear, ~16 when quadratic."""
    small = unit * (chars // len(unit))
    big = unit * (4 * chars // len(unit))
    _check_lossless(big)
    return _best_time(lambda: segment(big)) / max(_best_time(lambda: segment(small)), 1e-4)


def _check_lossless(text: str) -> None:
    segs = segment(text)
    assert "".join(s.text for s in segs).replace(" ", "") == text.replace(" ", "")


@pytest.mark.parametrize("unit", [".", "!?", "a.", "A.", "1.", "( ", "… ", ". "])
def test_repeated_punctuation_segments_in_linear_time(unit: str) -> None:
    assert _growth(unit, 20_000) < 10


def test_repeated_punctuation_labels(detector_tiny: Detector) -> None:
    for text in ["." * 200_000, "!?" * 100_000, "a." * 100_000]:
        _check_spans(text, detector_tiny.label(text), set(detector_tiny.model.labels))


def test_long_word_without_spaces_segments_fast() -> None:
    text = "a" * 40_000
    started = time.perf_counter()
    segment(text)
    assert time.perf_counter() - started < 0.5  # linear is ~10 ms


_NASTY = (
    "Editorial\u200b sentence with a zero\u200dwidth joiner.\n"
    "\u202eRTL override text\u202c stays in place.\x00 A NUL byte here.\r\n"
    "Emoji 👍🏽 and combining e\u0301 marks\ufeff.\u2028Line separator inside.\n"
)


def _nasty_article(train_records: list) -> str:
    return _NASTY + train_records[0]["text"] + "\n" + _NASTY


def test_hostile_characters_in_text_file(
    tmp_path: Path, tiny_model_path: Path, train_records: list
) -> None:
    text = _nasty_article(train_records)
    path = tmp_path / "nasty.txt"
    path.write_bytes(text.encode("utf-8"))
    result = CliRunner().invoke(cli, ["strip", str(path), "--model", str(tiny_model_path)])
    assert result.exit_code == 0, result.output
    assert _is_subsequence(result.stdout, text)
    assert "\x00" in result.stdout and "\u202e" in result.stdout  # editorial lines kept


def test_hostile_characters_in_jsonl_field(
    tmp_path: Path, tiny_model_path: Path, train_records: list
) -> None:
    text = _nasty_article(train_records)
    path, out = tmp_path / "nasty.jsonl", tmp_path / "out.jsonl"
    rows = [
        {"id": "nasty\u202e\x00", "text": text, "other": "\u200b\x00"},
        {"id": 2, "text": _NASTY},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    args = ["strip", str(path), "-o", str(out), "--model", str(tiny_model_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    assert [{k: v for k, v in g.items() if k != "text"} for g in got] == [
        {k: v for k, v in r.items() if k != "text"} for r in rows
    ]
    for g, r in zip(got, rows):
        assert _is_subsequence(g["text"], r["text"])


def test_twenty_thousand_tiny_rows_label(tmp_path: Path, tiny_model_path: Path) -> None:
    words = ["Buy now!", "Shares rose.", "Read more", "Die Aktie fiel.", "x", "\u200b", "42"]
    path, out = tmp_path / "tiny.jsonl", tmp_path / "labels.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(20_000):
            text = f"{words[i % 7]} {words[(i * 3) % 7]}"
            fh.write(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n")
    started = time.perf_counter()
    args = ["label", str(path), "-o", str(out), "--model", str(tiny_model_path), "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - started < 120
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 20_001
    assert [json.loads(line)["id"] for line in lines[:3]] == ["0", "1", "2"]


# -- 4. the readers fail only with InputError --------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _drain(path: Path) -> list[str] | None:
    """Every text the reader yields, or None when it refuses the input with InputError."""
    try:
        out = []
        for chunk in Input(str(path)).chunks(rows=3):
            assert len(chunk.texts) == len(chunk.ids)
            assert all(isinstance(t, str) for t in chunk.texts)
            assert all(isinstance(i, str) for i in chunk.ids)
            out.extend(chunk.texts)
        return out
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc).strip("\n")
        return None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                               max_size=4),
    max_leaves=12,
)
json_lines = st.one_of(
    json_values.map(json.dumps),
    st.fixed_dictionaries({"text": json_values}, optional={"id": json_values}).map(json.dumps),
    st.fixed_dictionaries({"text": st.text()}, optional={"id": json_values}).map(
        lambda r: json.dumps(r, ensure_ascii=False)
    ),
    st.text(max_size=30),
)
jsonl_files = st.one_of(
    st.binary(max_size=300),
    st.lists(json_lines, max_size=8).map(lambda ls: "\n".join(ls).encode("utf-8")),
    st.lists(st.one_of(json_lines.map(str.encode), st.binary(max_size=20)), max_size=8).map(
        b"\n".join
    ),
)
_csv_cells = st.text(alphabet=st.sampled_from('ab,"\n\r\t x\x00é\u200b;'), max_size=12)
csv_files = st.one_of(
    st.binary(max_size=300),
    st.lists(st.lists(_csv_cells, max_size=4).map(",".join), max_size=8).map(
        lambda rows: ("id,text\n" + "\n".join(rows)).encode("utf-8")
    ),
    st.tuples(st.binary(max_size=200)).map(lambda t: b"text,id\n" + t[0]),
)
_fuzz = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@_fuzz
@given(data=jsonl_files)
@example(data=b'{"\\n":null}')  # a field named by a line break: the message stays one line
def test_jsonl_reader_fuzz(fuzz_dir: Path, data: bytes) -> None:
    path = fuzz_dir / "fuzz.jsonl"
    path.write_bytes(data)
    _drain(path)


@_fuzz
@given(data=csv_files)
def test_csv_reader_fuzz(fuzz_dir: Path, data: bytes) -> None:
    path = fuzz_dir / "fuzz.csv"
    path.write_bytes(data)
    _drain(path)


@_fuzz
@given(data=st.binary(max_size=300))
def test_txt_reader_fuzz_bytes(fuzz_dir: Path, data: bytes) -> None:
    path = fuzz_dir / "fuzz.txt"
    path.write_bytes(data)
    _drain(path)


@_fuzz
@given(text=st.text())
def test_txt_reader_reads_any_text_exactly(fuzz_dir: Path, text: str) -> None:
    path = fuzz_dir / "any.txt"
    path.write_bytes(text.encode("utf-8"))
    assert _drain(path) == ([text] if text.strip() else None)


@pytest.mark.parametrize(
    "line",
    ["[" * 100_000, '{"text": "x", "id": ' + "1" * 5000 + "}", "9" * 5000],
    ids=["deep-nesting", "huge-int-id", "huge-int"],
)
def test_jsonl_reader_hostile_json_is_an_input_error(tmp_path: Path, line: str) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_text('{"text": "fine"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        list(Input(str(path)).chunks())
