"""HTML input: trafilatura removes the page chrome, the detector the adverts it keeps.

The two pages in tests/html/ were written for these tests: a navigation bar, a list of links
and a footer around an article body with one promo paragraph inside it. They run on the
shipped model (these promo paragraphs are of the kinds it was trained on).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import invoke, ok

from detector.html import MISSING_EXTRA

HTML = Path(__file__).resolve().parent / "html"

PAGES = {
    "de-windpark.html": {
        "editorial": [
            "Windpark-Betreiber Nordwind erhöht nach starkem Halbjahr die Prognose",
            "Hamburg – Der Windpark-Betreiber Nordwind hat im ersten Halbjahr deutlich mehr "
            "Strom erzeugt als ein Jahr zuvor und hebt seine Ziele für das Gesamtjahr an. Der "
            "Umsatz stieg um 18 Prozent auf 412 Millionen Euro, das operative Ergebnis um ein "
            "Viertel.",
            "Für das Gesamtjahr rechnet das Unternehmen nun mit einem operativen Ergebnis "
            "zwischen 150 und 165 Millionen Euro. Bisher hatte Nordwind 140 Millionen Euro in "
            "Aussicht gestellt. Die Aktie legte am Vormittag um drei Prozent zu.",
            "Analysten lobten vor allem den gesunkenen Schuldenstand. Die Nettoverschuldung fiel "
            "zum Ende des Halbjahres auf 1,1 Milliarden Euro.",
        ],
        "advert": "Nordwind-Aktie: Kaufen oder verkaufen?!",
        "chrome": ["Startseite", "Anmelden", "Meistgelesen", "Impressum", "Datenschutz"],
    },
    "en-freight.html": {
        "editorial": [
            "Harbor Freight Lines beats forecasts as container rates recover",
            "Net income rose to $212 million, or $1.41 per share, from $88 million a year "
            "earlier. Revenue climbed 23% to $1.9 billion.",
            "Shares of Harbor Freight Lines rose 6% in after-hours trading.",
        ],
        "advert": "10 stocks we like better than Harbor Freight Lines",
        "chrome": ["Subscribe", "More from Dockside", "Privacy policy", "All rights reserved"],
    },
}


def assert_cleaned(text: str, page: str) -> None:
    """Every editorial paragraph kept whole on a line of its own, advert and chrome gone."""
    expected = PAGES[page]
    lines = text.splitlines()
    for paragraph in expected["editorial"]:
        assert paragraph in lines
    assert expected["advert"] not in text
    for chrome in expected["chrome"]:
        assert chrome not in text


# -- needs no trafilatura: the missing extra is one clear line ----------------------------


def test_missing_extra_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # `import trafilatura` fails
    table = tmp_path / "pages.jsonl"
    table.write_text(json.dumps({"id": "1", "text": "<p>x</p>"}) + "\n", encoding="utf-8")
    folder = tmp_path / "pages"
    folder.mkdir()
    shutil.copy(HTML / "en-freight.html", folder)
    for args in (
        [str(HTML / "en-freight.html")],
        [str(table), "--html"],
        [str(table), "--html", "--on-error", "skip"],  # not a bad row: stops the run
        [str(folder), "-o", str(tmp_path / "out")],
    ):
        result = invoke("strip", *args)
        assert result.exit_code == 1, result.output
        assert result.stderr == f"Error: {MISSING_EXTRA}\n"
    assert MISSING_EXTRA == "HTML input needs the html extra: pip install 'detector[html]'"


def test_plain_text_folder_needs_no_trafilatura(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "trafilatura", None)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Editorial text.\n", encoding="utf-8")
    ok("strip", str(folder), "-o", str(tmp_path / "out"))
    assert (tmp_path / "out" / "a.txt").read_text(encoding="utf-8") == "Editorial text.\n"


# -- with trafilatura -----------------------------------------------------------------------


@pytest.fixture()
def trafilatura() -> None:
    pytest.importorskip("trafilatura")


@pytest.mark.parametrize("page", sorted(PAGES))
def test_html_file_is_extracted_then_stripped(page: str, trafilatura: None) -> None:
    result = ok("strip", str(HTML / page))
    assert_cleaned(result.stdout, page)
    assert result.stdout.endswith(".\n")


def test_marked_html_shows_the_advert_trafilatura_kept(trafilatura: None) -> None:
    result = ok("strip", str(HTML / "en-freight.html"), "--mark")
    marked = [line for line in result.stdout.splitlines() if line.startswith("⟦advert")]
    assert len(marked) == 1 and PAGES["en-freight.html"]["advert"] in marked[0]


def test_stdin_with_html_flag(trafilatura: None) -> None:
    page = (HTML / "de-windpark.html").read_text(encoding="utf-8")
    assert_cleaned(ok("strip", "-", "--html", input=page).stdout, "de-windpark.html")
    # Without --html, stdin is text: the markup stays.
    assert "<nav>" in ok("strip", "-", "--threshold", "1.0", input=page).stdout


def test_folder_of_html_and_text(tmp_path: Path, trafilatura: None) -> None:
    folder = tmp_path / "scrape"
    folder.mkdir()
    for page in PAGES:
        shutil.copy(HTML / page, folder)
    (folder / "note.txt").write_text("A plain note.\n", encoding="utf-8")
    out = tmp_path / "clean"
    ok("strip", str(folder), "-o", str(out), "--quiet")
    assert sorted(p.name for p in out.iterdir()) == ["de-windpark.txt", "en-freight.txt",
                                                     "note.txt"]
    for page in PAGES:
        assert_cleaned((out / page.replace(".html", ".txt")).read_text(encoding="utf-8"), page)
    assert (out / "note.txt").read_text(encoding="utf-8") == "A plain note.\n"


def test_folder_with_clashing_names(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / "a.html").write_text("<p>x</p>", encoding="utf-8")
    result = invoke("strip", str(tmp_path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: folder {tmp_path} has both a.html and a.txt, which would both be written "
        "as a.txt; rename one\n"
    )


def _pages_table() -> list[dict]:
    return [
        {"id": page, "html": (HTML / page).read_text(encoding="utf-8"), "n": k}
        for k, page in enumerate(sorted(PAGES))
    ]


def test_jsonl_html_column(tmp_path: Path, trafilatura: None) -> None:
    src = tmp_path / "pages.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in _pages_table()), encoding="utf-8")
    out = tmp_path / "clean.jsonl"
    ok("strip", str(src), "-o", str(out), "--html", "--text-field", "html")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["n"]) for r in rows] == [(p, k) for k, p in enumerate(sorted(PAGES))]
    for r in rows:
        assert_cleaned(r["html"], r["id"])
        assert not r["html"].endswith("\n")  # a field gets the text, no line break added


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_frame_html_column(tmp_path: Path, suffix: str, trafilatura: None) -> None:
    src = tmp_path / f"pages{suffix}"
    frame = pd.DataFrame(_pages_table())
    frame.to_csv(src, index=False) if suffix == ".csv" else frame.to_parquet(src, index=False)
    out = tmp_path / f"clean{suffix}"
    ok("strip", str(src), "-o", str(out), "--html", "--text-field", "html")
    cleaned = pd.read_csv(out, dtype={"n": int}) if suffix == ".csv" else pd.read_parquet(out)
    assert cleaned["n"].tolist() == [0, 1]
    for page, text in zip(cleaned["id"], cleaned["html"]):
        assert_cleaned(text, page)


def test_label_html_carries_the_text_its_offsets_point_into(trafilatura: None) -> None:
    result = ok("label", str(HTML / "en-freight.html"))
    record = json.loads(result.stdout)
    assert record["id"] == "en-freight"
    text = record["text"]
    assert "Subscribe" not in text and PAGES["en-freight.html"]["advert"] in text
    adverts = [text[s["start"] : s["end"]] for s in record["spans"] if s["label"] == "advert"]
    assert any(a.startswith(PAGES["en-freight.html"]["advert"]) for a in adverts)


def test_a_page_without_text_is_one_line_on_a_real_stderr(tmp_path: Path,
                                                          trafilatura: None) -> None:
    # trafilatura logs why it gave up; through the CLI's logging that came before the error
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body></body></html>", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "detector", "strip", str(empty)],
                          capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"Error: {empty}: no main text found in the HTML\n"


def test_xhtml_with_an_xml_declaration(tmp_path: Path, trafilatura: None) -> None:
    page = tmp_path / "x.html"
    body = "Net income rose to $212 million, or $1.41 per share, the company said on Monday."
    page.write_text('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html><html '
                    f'xmlns="http://www.w3.org/1999/xhtml"><body><p>{body}</p></body></html>',
                    encoding="utf-8")
    assert body in ok("strip", str(page)).stdout


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_page_without_main_text(jobs: str, tmp_path: Path, trafilatura: None) -> None:
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body><script>var page = 1;</script><img src='a.png'></body></html>",
                     encoding="utf-8")
    result = invoke("strip", str(empty))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {empty}: no main text found in the HTML\n"

    src = tmp_path / "pages.jsonl"
    rows = [{"id": "empty", "html": empty.read_text(encoding="utf-8")}, *_pages_table()]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = invoke("strip", str(src), "--html", "--text-field", "html", "-j", jobs)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {src} line 1: no main text found in the HTML\n"

    out = tmp_path / "clean.jsonl"
    ok("strip", str(src), "-o", str(out), "--html", "--text-field", "html",
       "--on-error", "skip", "-j", jobs)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == rows[0]  # passed through unchanged
    report = [json.loads(x) for x in Path(f"{out}.errors.jsonl").read_text().splitlines()]
    assert report == [{"id": "1", "error": f"{src} line 1: no main text found in the HTML"}]


def test_page_log_recalls_pages_in_order_and_skips_changed_ones(tmp_path: Path) -> None:
    from detector.html import PageLog

    log = PageLog(str(tmp_path / "pages"))
    assert log.writing
    for page, text in [("<p>a</p>", "a"), ("<p>b</p>", "b\nß"), ("<p>c</p>", "c")]:
        log.remember(page, text)
    log.finish()
    assert not log.writing
    assert log.recall("<p>a</p>") == "a"
    assert log.recall("<p>B changed</p>") is None  # extracted afresh; the log waits
    assert log.recall("<p>b</p>") == "b\nß"
    assert log.recall("<p>c</p>") == "c"
    assert log.recall("<p>d</p>") is None  # past the end
    log.close()


def test_batch_mode_extracts_each_page_once(tmp_path: Path, trafilatura: None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The counting pass logs each page's main text; the labeling pass takes it from there,
    and the result is that of extracting every page twice (no room for the spool)."""
    from collections import namedtuple

    import detector.html
    import detector.io

    folder = tmp_path / "scrape"
    folder.mkdir()
    for k in range(3):
        for page in PAGES:
            shutil.copy(HTML / page, folder / f"{k}-{page}")
    calls: list[str] = []
    extract = detector.html.extract_text
    # Pages are extracted where their chunk is processed (detector.html.extract_pages), or
    # while reading (detector.io) by commands that process in this process only.
    for module in (detector.html, detector.io):
        monkeypatch.setattr(module, "extract_text",
                            lambda html, where: calls.append(where) or extract(html, where))
    ok("strip", str(folder), "-o", str(tmp_path / "once"), "--quiet", "-j", "1")
    assert len(calls) == 6
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(2**31, 2**31 - 2**20, 2**20))
    ok("strip", str(folder), "-o", str(tmp_path / "twice"), "--quiet", "-j", "1")
    assert len(calls) == 6 + 12
    for name in sorted(p.name for p in (tmp_path / "once").iterdir()):
        assert (tmp_path / "once" / name).read_text(encoding="utf-8") == (
            tmp_path / "twice" / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("batch", ["--batch", "--no-batch"])
def test_pages_are_extracted_in_the_worker_processes(batch: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """With --jobs 2 trafilatura runs where the chunk is processed, not in the main process,
    and the output is that of one process."""
    import detector.html

    folder = tmp_path / "scrape"
    folder.mkdir()
    for k in range(3):
        for page in PAGES:
            shutil.copy(HTML / page, folder / f"{k}-{page}")
    ok("strip", str(folder), "-o", str(tmp_path / "one"), "--quiet", "-j", "1", batch)
    calls: list[str] = []
    extract = detector.html.extract_text
    monkeypatch.setattr(detector.html, "extract_text",
                        lambda html, where: calls.append(where) or extract(html, where))
    ok("strip", str(folder), "-o", str(tmp_path / "two"), "--quiet", "-j", "2", batch)
    assert calls == []  # the forked workers extracted every page, each in its own copy
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir())
    for name in names:
        assert (tmp_path / "one" / name).read_text(encoding="utf-8") == (
            tmp_path / "two" / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_folder_page_without_main_text_is_passed_through_under_its_name(
    jobs: str, tmp_path: Path
) -> None:
    folder = tmp_path / "scrape"
    folder.mkdir()
    for page in PAGES:
        shutil.copy(HTML / page, folder / page)
    empty = b"<html><body><script>var page = 1;</script></body></html>"
    (folder / "empty.html").write_bytes(empty)
    out = tmp_path / "clean"
    ok("strip", str(folder), "-o", str(out), "--on-error", "skip", "-j", jobs, "--quiet")
    assert (out / "empty.html").read_bytes() == empty
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["empty.html", *(Path(page).stem + ".txt" for page in PAGES)]
    )
    report = [json.loads(x) for x in Path(f"{out}.errors.jsonl").read_text().splitlines()]
    assert report == [{"id": "empty", "error": f"{folder / 'empty.html'}: no main text found "
                                                "in the HTML"}]
