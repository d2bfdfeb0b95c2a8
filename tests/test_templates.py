"""Segment shapes, per-site counts with bounded memory, saved tables and recurrence features."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from detector.errors import DetectorError
from detector.templates import (
    MIN_BATCH,
    ONE_SITE,
    TEMPLATE_COLUMNS,
    TemplateError,
    TemplateTable,
    _key,
    count_templates,
    exact_shape,
    load_templates,
    shape,
    site_of,
    template_columns,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "ACME-Aktie: Kaufen oder verkaufen?! Neue ACME-Analyse vom 3. März liefert die "
            "Antwort:",
            "Borealis-Aktie: Kaufen oder verkaufen?! Neue Borealis-Analyse vom 12. Juni liefert "
            "die Antwort:",
        ),
        ("10 stocks we like better than Walmart", "7 stocks we like better than Procter & Gamble"),
        (
            "Shares of Harlow (NASDAQ: HRLW) fell 4.5% to $12.40 on March 3, 2025.",
            "Shares of Keystone Energy (NYSE: KEY) fell 0.8% to $310.05 on Sept. 22, 2024.",
        ),
        ("Read more at www.example.com/a/b now", "Read more at https://other.example.org/x now"),
        ("Der Kurs lag am 03.03.2024 bei 4,50 Euro.", "Der Kurs lag am 1.12.2023 bei 120,75 Euro."),
    ],
)
def test_shape_masks_names_numbers_dates_tickers_urls(a: str, b: str) -> None:
    assert shape(a) == shape(b)


def test_shape_keeps_the_words_that_make_a_template() -> None:
    assert shape("10 stocks we like better than Walmart") != shape(
        "10 stocks we dislike more than Walmart"
    )


def test_short_texts_fall_back_to_their_exact_shape() -> None:
    # "ACME Aktie Chart" masked would be three names: every three-word heading would match.
    assert shape("ACME Aktie Chart") == "acme aktie chart"
    assert shape("Fazit") == exact_shape("Fazit") == "fazit"
    assert shape("Fazit") != shape("Ausblick")


def test_site_of_takes_a_url_host_or_the_value() -> None:
    assert site_of("https://www.example.com/news/1") == "example.com"
    assert site_of("nasdaq2017") == "nasdaq2017"
    assert site_of(None) == site_of("") == ONE_SITE


def test_counts_are_per_article_and_per_site() -> None:
    table = TemplateTable(width=4096)
    promo = "Get the free {} report: the 5 stocks our analysts like best today."
    for n in range(8):
        # the promo twice in one article still counts once for that article
        table.add("a.example", [f"Rain fell on day {n}.", promo.format("ACME"), promo.format("X")])
    table.add("b.example", [promo.format("Other")])
    assert table.sites == {"a.example": 8, "b.example": 1}
    assert table.count("a.example", promo.format("Borealis")) == 8
    assert table.count("b.example", promo.format("Borealis")) == 1
    assert table.count("c.example", promo.format("Borealis")) == 0
    assert table.count("a.example", "Rain fell on day 3.") == 8  # same shape: digits masked


def test_count_min_sketch_never_undercounts_in_a_tiny_table() -> None:
    table = TemplateTable(width=16)  # far too small: collisions everywhere
    truth: dict[str, int] = {}
    for n in range(60):
        texts = [
            f"sentence number {n % 7} is about rain and wind",
            f"another {n % 3} kind of words",
        ]
        texts = [t.replace(str(n % 7), "seven" * (n % 7)) for t in texts]
        table.add("s", texts)
        for t in {shape(x) for x in texts}:
            truth[t] = truth.get(t, 0) + 1
    for text_shape, n in truth.items():
        key = np.array([_key("s", text_shape)], dtype=np.uint64)
        estimate = int(table._shapes.get(key)[0])
        assert estimate >= n


def test_memory_is_bounded_whatever_the_batch() -> None:
    table = TemplateTable(width=1024)
    before = sum(a.nbytes for a in (table._shapes.table, table._exact.table, table._pos_sum))
    for n in range(3000):
        table.add(f"site{n % 50}", [f"Unique sentence {n} with words {n * 7919} here."])
    after = sum(a.nbytes for a in (table._shapes.table, table._exact.table, table._pos_sum))
    assert after == before
    assert all(len(t.counts) <= 200 for t in table._top.values())


def test_top_lists_the_most_frequent_shapes_with_an_example() -> None:
    words = ["cat", "dog", "owl", "elk", "yak", "emu"]
    table = count_templates(
        ("news.example", f"Story about a {w}. Sign up for our morning briefing today!")
        for w in words
    )
    top = table.top("news.example", 3)
    assert top[0] == (
        "⟨name⟩ up for our morning briefing today!",
        6,
        "Sign up for our morning briefing today!",
    )
    assert [count for _, count, _ in top[1:]] == [1, 1]


def test_save_and_load_round_trip(tmp_path) -> None:
    table = count_templates(
        (ONE_SITE, f"Day {n}. Subscribe to our daily newsletter now.") for n in range(6)
    )
    path = tmp_path / "t.npz"
    table.save(path)
    loaded = load_templates(path)
    assert loaded.sites == table.sites
    assert loaded.count(ONE_SITE, "Subscribe to our daily newsletter now.") == 6
    assert loaded.top(ONE_SITE, 5) == table.top(ONE_SITE, 5)
    # A saved table travels to worker processes as its path, not as its arrays.
    assert len(pickle.dumps(loaded)) < 1000
    assert pickle.loads(pickle.dumps(loaded)).sites == table.sites


def test_unsaved_table_pickles_whole() -> None:
    table = count_templates([(ONE_SITE, "Only one article here. Really.")])
    assert pickle.loads(pickle.dumps(table)).sites == {ONE_SITE: 1}


def test_bad_table_files_give_clear_errors(tmp_path) -> None:
    missing = tmp_path / "nope.npz"
    with pytest.raises(TemplateError, match="does not exist; make one with detector templates"):
        load_templates(missing)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(TemplateError, match=r"junk.npz is not a template table"):
        load_templates(junk)
    # a real table cut short, as an interrupted copy leaves it
    whole = tmp_path / "whole.npz"
    count_templates((ONE_SITE, f"Story {i}. Subscribe now!") for i in range(8)).save(whole)
    for size in (40, len(whole.read_bytes()) // 2, len(whole.read_bytes()) - 10):
        cut = tmp_path / f"cut{size}.npz"
        cut.write_bytes(whole.read_bytes()[:size])
        with pytest.raises(TemplateError, match=rf"cut{size}.npz is not a template table"):
            load_templates(cut)
    assert issubclass(TemplateError, DetectorError)


def test_features_are_zero_without_a_batch() -> None:
    texts = ["Subscribe now!", "Rain today."]
    assert not template_columns(None, texts, [ONE_SITE] * 2, np.zeros(2)).any()
    small = count_templates((ONE_SITE, "Rain today. Subscribe now!") for _ in range(MIN_BATCH - 1))
    assert not template_columns(small, texts, [ONE_SITE] * 2, np.zeros(2)).any()


def test_features_rise_with_recurrence() -> None:
    table = count_templates(
        (ONE_SITE, f"Story {w} about {w}s. Subscribe now for the briefing!")
        for w in ["cat", "dog", "owl", "elk", "yak", "emu", "gnu", "ram"]
    )
    cols = template_columns(
        table,
        ["Subscribe now for the briefing!", "A sentence never seen before here."],
        [ONE_SITE] * 2,
        np.array([1.0, 0.0]),
    )
    recur = TEMPLATE_COLUMNS.index("tpl_recur")
    share = TEMPLATE_COLUMNS.index("tpl_share")
    assert cols[0, 0] == cols[1, 0] == 1.0  # a batch is there
    assert cols[0, recur] == 1.0 and cols[1, recur] == 0.0
    assert cols[0, share] == 1.0 and cols[1, share] == 0.0
