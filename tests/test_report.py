"""detector report: a self-contained, escaped HTML page whose figures are evaluate's, and a
screenshot of it in headless Chromium (skipped when no browser is installed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke

from detector.defaults import DEFAULT_THRESHOLD
from detector.detect import Detector
from detector.evaluate import METRICS, evaluate_detector
from detector.io import Input
from detector.report import collect
from detector.report_html import CSS
from detector.templates import count_templates

HOSTILE = 'Markets <script>alert("x")</script> & "quotes" \'here\' </div><b>bold?</b>\n'


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


class Page(HTMLParser):
    """What the tests look at: every tag with its attributes, the text of each article body,
    the text of each highlighted run by class, and the summary cells."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.bodies: list[str] = []
        self.runs: list[tuple[str, str]] = []
        self.cells: dict[str, dict[str, str]] = {}
        self._stack: list[tuple[str, dict[str, str]]] = []
        self._body: list[str] | None = None
        self._depth = 0
        self._row: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        self._stack.append((tag, a))
        if tag == "div" and a.get("class") == "text":
            self._body, self._depth = [], len(self._stack)
        if tag == "tr" and "data-source" in a:
            self._row = a["data-source"]
            self.cells[self._row] = {}
        if tag == "td" and self._row is not None and "data-metric" in a:
            self.cells[self._row][a["data-metric"]] = a["data-value"]

    def handle_endtag(self, tag: str) -> None:
        if self._body is not None and len(self._stack) == self._depth and tag == "div":
            self.bodies.append("".join(self._body))
            self._body = None
        if tag == "tr":
            self._row = None
        if self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if self._body is not None:
            self._body.append(data)
            tag, attrs = self._stack[-1]
            if tag == "span" and attrs.get("class"):
                self.runs.append((attrs["class"], data))


@pytest.fixture(scope="module")
def gold_article(tiny_records: list[dict], detector_tiny: Detector) -> dict[str, Any]:
    """A tiny-model article relabeled so that it has all four cases: one removed segment is
    gold advert (true positive), another is not (false positive), a kept segment is gold
    advert (miss) and another gold neutral."""
    for r in tiny_records:
        spans = detector_tiny.label(r["text"])
        removed = [s for s in spans if s.label == "advert"]
        kept = [s for s in spans if s.label == "editorial" and r["text"][s.start : s.end].strip()]
        if len(removed) >= 2 and len(kept) >= 3:
            tp, fp, fn, neutral = removed[0], removed[1], kept[0], kept[-1]
            gold = sorted(
                [
                    {"start": tp.start, "end": tp.end, "label": "advert"},
                    {"start": fn.start, "end": fn.end, "label": "advert"},
                    {"start": neutral.start, "end": neutral.end, "label": "neutral"},
                ],
                key=lambda g: g["start"],
            )
            text = r["text"]
            return {
                "id": "four-cases",
                "source": "made-up",
                "text": text,
                "spans": gold,
                "expect": {
                    "tp": text[tp.start : tp.end],
                    "fp": text[fp.start : fp.end],
                    "fn": text[fn.start : fn.end],
                    "neu": text[neutral.start : neutral.end],
                },
            }
    raise AssertionError("the tiny model should remove two segments of some training article")


@pytest.fixture(scope="module")
def gold_records(tiny_records: list[dict], gold_article: dict) -> list[dict[str, Any]]:
    """The four-cases article, a hostile one, and training articles of three sources."""
    sources = sorted({r["source"] for r in tiny_records})[:3]
    picked = [r for r in tiny_records if r["source"] in sources]
    records = [{k: v for k, v in gold_article.items() if k != "expect"}]
    records.append({"id": "<hostile id>", "source": "<b>site</b>", "text": HOSTILE, "spans": []})
    records += [{k: r[k] for k in ("id", "source", "text", "spans")} for r in picked]
    return records


@pytest.fixture(scope="module")
def gold_page(gold_records: list[dict], tiny_model_path: Path,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("report")
    data = write_jsonl(folder / "gold.jsonl", gold_records)
    out = folder / "report.html"
    result = invoke("report", str(data), "-o", str(out), "--model", str(tiny_model_path))
    assert result.exit_code == 0, result.output
    n = len(gold_records)
    assert result.stdout == ""
    assert result.stderr == f"wrote {out}: {n} articles, {n} shown\n"
    return out, out.read_text("utf-8")


# -- self-contained and escaped ------------------------------------------------------------


def test_report_is_self_contained(gold_page: tuple[Path, str]) -> None:
    _, html = gold_page
    page = Page(html)
    for tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "action", "data"):
            value = attrs.get(name, "")
            assert not re.match(r"\s*(https?:)?//", value), (tag, name, value)
        assert tag not in ("link", "img", "iframe", "object", "embed"), tag
    scripts = [a for t, a in page.tags if t == "script"]
    assert scripts and all("src" not in a for a in scripts)
    assert "@import" not in html and "url(" not in html
    assert "http://" not in html and "https://" not in html  # none in these articles either


def test_article_text_is_escaped_and_shown_exactly(gold_page: tuple[Path, str],
                                                   gold_records: list[dict]) -> None:
    _, html = gold_page
    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;hostile id&gt;" in html and "&lt;b&gt;site&lt;/b&gt;" in html
    # every character of every article, in order, as the reader sees it: nothing added or lost
    assert Page(html).bodies == [r["text"] for r in gold_records]


def test_gold_cases_get_their_own_colours(gold_page: tuple[Path, str],
                                          gold_article: dict) -> None:
    _, html = gold_page
    runs = Page(html).runs
    for css, text in gold_article["expect"].items():
        assert (css, text) in runs or any(c.split()[0] == css and text in t for c, t in runs), css
    colours = {}
    for css in ("tp", "fp", "fn", "neu"):
        rule = re.search(rf"\.text \.{css}[ ,][^{{]*\{{ background: var\(--(\w+)\)", CSS)
        assert rule, css
        colours[css] = re.search(rf"--{rule.group(1)}: (#[0-9a-f]{{6}})", CSS).group(1)
    assert len(set(colours.values())) == 4, colours
    for text in ("advert, removed", "editorial, removed wrongly", "advert, missed",
                 "neutral (not scored)"):
        assert text in html
    assert 'data-errors="1"' in html and 'value="errors"' in html


def _batch_evaluation(detector: Detector, records: list[dict],
                      threshold: float = DEFAULT_THRESHOLD) -> dict:
    """What `detector evaluate --batch` says: the report, like strip, counts the batch first."""
    sites = [r["source"] for r in records]
    table = count_templates(zip(sites, (r["text"] for r in records)))
    batch = Detector(detector.model, threshold=threshold, templates=table)
    return evaluate_detector(batch, records, sites=sites)


def test_report_without_batch_is_evaluate_article_by_article(
    gold_records: list[dict], tiny_model_path: Path, detector_tiny: Detector, tmp_path: Path
) -> None:
    data, out = write_jsonl(tmp_path / "gold.jsonl", gold_records), tmp_path / "r.html"
    result = invoke("report", str(data), "-o", str(out), "--no-batch", "--no-curve",
                    "--model", str(tiny_model_path))
    assert result.exit_code == 0, result.output
    cells = Page(out.read_text("utf-8")).cells
    expected = evaluate_detector(detector_tiny, gold_records)
    assert expected != _batch_evaluation(detector_tiny, gold_records), "batch should matter"
    for source, row in expected.items():
        for metric in METRICS:
            assert float(cells[source][metric]) == row[metric]


def test_summary_figures_are_evaluates(gold_page: tuple[Path, str], gold_records: list[dict],
                                       detector_tiny: Detector) -> None:
    _, html = gold_page
    expected = _batch_evaluation(detector_tiny, gold_records)
    cells = Page(html).cells
    assert set(cells) == set(expected)
    for source, row in expected.items():
        for metric in METRICS:
            assert float(cells[source][metric]) == row[metric]
        articles = sum(1 for r in gold_records if source in ("ALL", r["source"]))
        assert int(cells[source]["articles"]) == articles


def test_curve_points_are_evaluate_at_that_threshold(gold_page: tuple[Path, str],
                                                     gold_records: list[dict],
                                                     detector_tiny: Detector) -> None:
    _, html = gold_page
    blob = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html,
                     re.S)
    data = json.loads(blob.group(1))
    assert data["threshold"] == DEFAULT_THRESHOLD
    for t in ("0.3", "0.7", "0.9"):
        expected = _batch_evaluation(detector_tiny, gold_records, threshold=float(t))
        for source, row in expected.items():
            got = data["sources"][source]["curve"][t]
            assert {k: got[k] for k in METRICS} == {k: row[k] for k in METRICS}, (t, source)


def test_no_curve_keeps_the_figures(gold_page: tuple[Path, str], gold_records: list[dict],
                                    tiny_model_path: Path, tmp_path: Path) -> None:
    data, out = write_jsonl(tmp_path / "gold.jsonl", gold_records), tmp_path / "r.html"
    result = invoke("report", str(data), "-o", str(out), "--no-curve",
                    "--model", str(tiny_model_path))
    assert result.exit_code == 0, result.output
    html = out.read_text("utf-8")
    assert "Precision and recall by threshold" not in html
    assert "Precision and recall by threshold" in gold_page[1]
    assert Page(html).cells == Page(gold_page[1]).cells


def test_histogram_counts_every_segment(gold_records: list[dict], detector_tiny: Detector,
                                        tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "gold.jsonl", gold_records)
    data = collect([Input(str(path))], detector_tiny)
    segments = [s for r in gold_records for s in detector_tiny.label(r["text"])
                if r["text"][s.start : s.end].strip()]
    assert sum(sum(b.values()) for b in data.sources["ALL"].histogram) == len(segments)
    adverts = sum(b["advert"] for b in data.sources["ALL"].histogram)
    assert 0 < adverts < len(segments)


# -- inputs without gold, limits, errors ---------------------------------------------------


def test_plain_texts_limit_and_no_gold_columns(tmp_path: Path, tiny_records: list[dict],
                                               tiny_model_path: Path) -> None:
    folder = tmp_path / "scrape"
    folder.mkdir()
    texts = [r["text"] for r in tiny_records[:6]]
    for k, text in enumerate(texts):
        (folder / f"{k}.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "r.html"
    result = invoke("report", str(folder), "-o", str(out), "--limit", "2",
                    "--model", str(tiny_model_path), "--title", "Scrape <May>")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"wrote {out}: 6 articles, 2 shown\n"
    html = out.read_text("utf-8")
    page = Page(html)
    assert page.bodies == texts[:2]
    assert set(page.cells) == {"scrape"}  # one source, named after the folder
    assert set(page.cells["scrape"]) == {"articles", "with_adverts", "removed_share"}
    assert page.cells["scrape"]["articles"] == "6"
    assert "precision" not in html.split('id="articles"')[0].split('id="summary"')[1]
    assert "showing 2 of 6" in html and "<title>Scrape &lt;May&gt;</title>" in html
    assert any(css == "cut" for css, _ in page.runs)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_folder_of_parts_with_an_empty_part(tmp_path: Path, tiny_records: list[dict],
                                              tiny_model_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    rows = [{"id": str(k), "text": r["text"]} for k, r in enumerate(tiny_records[:3])]
    (folder / "part-0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    (folder / "part-1.jsonl").write_bytes(b"")
    out = tmp_path / "r.html"
    for batch in ("--batch", "--no-batch"):
        result = invoke("report", str(folder), "-o", str(out), batch,
                        "--model", str(tiny_model_path))
        assert result.exit_code == 0, result.output
        assert result.stderr == f"wrote {out}: 3 articles, 3 shown\n"


def test_source_field_and_skipped_rows(tmp_path: Path, tiny_records: list[dict],
                                            tiny_model_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    rows = [{"id": "1", "source": "alpha", "text": tiny_records[0]["text"]},
            {"id": "2", "source": "beta", "text": tiny_records[1]["text"]}]
    path.write_text(json.dumps(rows[0]) + "\n{broken\n" + json.dumps(rows[1]) + "\n", "utf-8")
    out = tmp_path / "r.html"
    result = invoke("report", str(path), "-o", str(out), "--on-error", "skip",
                    "--model", str(tiny_model_path))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.endswith(f"\nwrote {out}: 2 articles, 2 shown\n")
    assert set(Page(out.read_text("utf-8")).cells) == {"ALL", "alpha", "beta"}
    assert "1 unreadable row was skipped" in out.read_text("utf-8")
    listed = Path(f"{out}.errors.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(x)["id"] for x in listed] == ["2"]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "{d}/nope.jsonl does not exist"),
        ("bad span", "{d}/bad.jsonl article 'x': span 0 (5, 500) is outside the text "
                     "(length 11)"),
        ("no folder", "cannot write {d}/no/r.html: folder {d}/no does not exist"),
        ("bad json", "{d}/bad.jsonl line 1 is not valid JSON (Expecting value)"),
    ],
)
def test_errors_are_one_line(case: str, message: str, tmp_path: Path,
                             tiny_model_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    target, out = bad, tmp_path / "r.html"
    if case == "missing":
        target = tmp_path / "nope.jsonl"
    elif case == "bad span":
        write_jsonl(bad, [{"id": "x", "text": "Some words.", "spans": [
            {"start": 5, "end": 500, "label": "advert"}]}])
    elif case == "no folder":
        write_jsonl(bad, [{"id": "x", "text": "Some words."}])
        out = tmp_path / "no" / "r.html"
    else:
        bad.write_text("nope\n", encoding="utf-8")
    result = invoke("report", str(target), "-o", str(out), "--model", str(tiny_model_path))
    assert result.exit_code == 1, result.output
    assert result.stderr == "Error: " + message.format(d=tmp_path) + "\n"
    assert result.stdout == ""
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# -- what a browser shows --------------------------------------------------------------------


def _browser() -> str | None:
    """A Chromium or Chrome that runs (Ubuntu's chromium-browser may be a stub for a snap)."""
    found = ["/usr/bin/chromium"] if os.path.exists("/usr/bin/chromium") else []
    names = ("chromium", "chromium-browser", "google-chrome")
    found += [p for n in names if (p := shutil.which(n))]
    for path in found:
        try:
            probe = subprocess.run([path, "--version"], capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return path
    return None


def test_screenshot_in_headless_chromium(gold_article: dict, tiny_model_path: Path,
                                         tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip("no runnable Chromium or Chrome (apt-get install chromium)")
    image_module = pytest.importorskip("PIL.Image")
    data = write_jsonl(tmp_path / "gold.jsonl",
                       [{k: v for k, v in gold_article.items() if k != "expect"}])
    report = tmp_path / "report.html"
    result = invoke("report", str(data), "-o", str(report), "--model", str(tiny_model_path))
    assert result.exit_code == 0, result.output
    png = tmp_path / "shot.png"
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
        "--window-size=1280,2000", report.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    with image_module.open(png) as image:
        assert image.size == (1280, 2000)
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 200, "the page should not be blank"
    counts = {c: n for n, c in colours}

    def share(hex_colour: str) -> float:
        target = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        near = sum(n for c, n in counts.items()
                   if max(abs(a - b) for a, b in zip(c, target)) <= 3)
        return near / (1280 * 2000)

    assert share("#1f2733") > 0.05, "the dark navigation column is drawn"
    for name in ("cut", "fp", "fn"):  # the highlight backgrounds of the first article
        colour = re.search(rf"--{name}: (#[0-9a-f]{{6}})", CSS).group(1)
        assert share(colour) > 0.0005, name
