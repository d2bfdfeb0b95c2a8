"""segment(): exact offsets, full coverage, and the splits scraped text needs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.segment import MAX_SEGMENT_CHARS, remember_lines, segment

# Text that looks like scraper output: words, sentence ends, glue, newlines of every kind.
_PIECES = st.sampled_from(
    ["Dr.", "z. B.", "3.5", "4,50", "24. Januar", "2017.", "Daniel", "owns", "ÄÖÜß", "fell.",
     "makeArticleAd();", "(read more about it here)", "[", "]", ".", "!", "?", "…", "\"", "»",
     " ", "  ", "\n", "\r\n", "\r", "\t", "\u2028", "\x0b", "\x85", "\u00a0", "x", "The", "é"]
)
scrapy_text = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.lists(_PIECES, max_size=60).map("".join),
)


def _check_invariants(text: str) -> None:
    segs = segment(text)
    cover = [0] * len(text)
    prev_end = 0
    prev_line = -1
    for s in segs:
        assert text[s.start : s.end] == s.text
        assert s.text and s.text == s.text.strip()
        assert prev_end <= s.start < s.end  # ordered and disjoint
        assert s.line >= prev_line
        prev_end, prev_line = s.end, s.line
        for i in range(s.start, s.end):
            cover[i] += 1
    for ch, n in zip(text, cover):
        assert n == 1 or (ch.isspace() and n == 0), (ch, n)  # spaces may sit inside a segment


@settings(max_examples=300, deadline=None)
@given(scrapy_text)
def test_segments_cover_every_non_space_char_exactly_once(text: str) -> None:
    _check_invariants(text)


@given(st.lists(st.sampled_from(["word ", "x", ". ", "\n"]), min_size=1, max_size=8).map("".join),
       st.integers(1, 3))
@settings(max_examples=20, deadline=None)
def test_long_runs_are_cut_losslessly(unit: str, scale: int) -> None:
    text = unit * (MAX_SEGMENT_CHARS * scale // len(unit) + 1)
    _check_invariants(text)
    assert all(len(s.text) <= MAX_SEGMENT_CHARS for s in segment(text))


def _texts(text: str) -> list[str]:
    return [s.text for s in segment(text)]


def test_glued_paragraphs_split() -> None:
    assert _texts("Revenue doubled in 2017.Daniel owns the rest.") == [
        "Revenue doubled in 2017.", "Daniel owns the rest."]


def test_glued_words_split() -> None:
    assert _texts("Legal battle over weedsThe question, finally, is cost.") == [
        "Legal battle over weeds", "The question, finally, is cost."]


@pytest.mark.parametrize("text", [
    "Laut Dr. Müller ist das falsch.",
    "Das gilt z. B. für Banken.",
    "The rate rose 3.5 percent this year.",
    "Eine Tasse kostet 4,50 Euro im Café.",
    "Die Messe beginnt am 24. Januar in Berlin.",
    "Er spielt in der 3. Liga.",
    "J. Smith and Mr. Jones met at 9 a.m. today.",
    "Version v1.2 of the app is out.",
])
def test_no_split_inside_abbreviations_numbers_and_dates(text: str) -> None:
    assert _texts(text) == [text]


def test_ad_script_residue_is_its_own_segment() -> None:
    text = 'Shares rose quickly."makeArticleAd();Those gains did not last.'
    assert _texts(text) == [
        'Shares rose quickly."', "makeArticleAd();", "Those gains did not last."]


def test_long_bracket_teaser_is_its_own_segment() -> None:
    text = "Tesla fell 3% (read also: five stocks to buy now) on Monday."
    assert "(read also: five stocks to buy now)" in _texts(text)


def test_one_line_article() -> None:
    text = "First sentence here. Second one follows! Is there a third? Yes, there is."
    segs = segment(text)
    assert [s.text for s in segs] == [
        "First sentence here.", "Second one follows!", "Is there a third?", "Yes, there is."]
    assert {s.line for s in segs} == {0}


def test_crlf_lines() -> None:
    text = "Headline here\r\n\r\nFirst paragraph.\r\nSecond paragraph.\r\n"
    segs = segment(text)
    assert [s.text for s in segs] == ["Headline here", "First paragraph.", "Second paragraph."]
    assert [s.line for s in segs] == [0, 1, 2]  # blank lines do not count
    assert all("\r" not in s.text for s in segs)


@pytest.mark.parametrize("text", ["", " ", "\n\n", "\r\n\t \u2028"])
def test_blank_text_has_no_segments(text: str) -> None:
    assert segment(text) == []


# -- the fast cut-point code against the plain character loop it replaced -------------------
def _plain_bracket_groups(line: str) -> list[tuple[int, int]]:
    """Top-level bracket groups found by visiting every character."""
    from detector.segment import _BRACKETS, _MAX_BRACKET_CHARS, _MIN_BRACKET_WORDS

    groups, depth, opener, start = [], 0, "", 0
    for i, ch in enumerate(line):
        if depth == 0:
            if ch in _BRACKETS:
                depth, opener, start = 1, ch, i
        elif ch == opener:
            depth += 1
        elif ch == _BRACKETS[opener]:
            depth -= 1
            if depth == 0:
                body = line[start + 1 : i]
                if len(body.split()) >= _MIN_BRACKET_WORDS and i - start < _MAX_BRACKET_CHARS:
                    groups.append((start, i + 1))
        elif i - start > _MAX_BRACKET_CHARS:
            depth = 0
    return groups


_BRACKET_LINES = st.lists(
    st.sampled_from(["(", ")", "[", "]", " ", "a", "b c d e ", "x" * 150, "((", "]]"]),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_BRACKET_LINES)
def test_bracket_groups_equal_the_plain_loop(line: str) -> None:
    from detector.segment import _bracket_groups

    assert _bracket_groups(line) == _plain_bracket_groups(line)


@settings(max_examples=200, deadline=None)
@given(scrapy_text)
def test_case_glue_finds_what_the_lookbehind_first_order_finds(text: str) -> None:
    import re

    from detector.segment import _CASE_GLUE

    plain = re.compile(r"(?:(?<=[a-zäöüß]{3})|(?<=[0-9]{4}))(?=[A-ZÄÖÜ][a-zäöüß]*[\s,'’])")
    text = text.replace(" ", "WeedsThe NewsSupreme 2017Ashraf ")
    assert [m.start() for m in _CASE_GLUE.finditer(text)] == [
        m.start() for m in plain.finditer(text)
    ]


def _fresh(text: str) -> list:
    import sys

    sys.modules["detector.segment"]._LINES.clear()
    return segment(text)


@settings(max_examples=200, deadline=None)
@given(scrapy_text, scrapy_text)
def test_remembered_lines_give_what_cutting_gives(text: str, other: str) -> None:
    # The counting pass hands its segments over (remember_lines); segmenting a text that
    # shares lines with them (a relabel pass's cleaned text) must match a fresh segmentation.
    segs = _fresh(text)
    expected = _fresh(other + "\n" + text)
    remember_lines(text, segs)
    assert segment(text) == segs
    assert segment(other + "\n" + text) == expected


def test_the_line_cache_keeps_to_its_character_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    module = sys.modules["detector.segment"]
    cache = module._LineCache(100)
    monkeypatch.setattr(module, "_LINES", cache)
    text = "\n".join(f"Line number {i} of a long article, told in one go." for i in range(40))
    assert segment(text) == _fresh(text)
    assert 0 < cache._chars <= 100
    assert cache._chars == sum(map(len, cache._pieces))
    assert segment(text) == _fresh(text)  # what is still remembered gives the same pieces


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("Profits rose. [Read also: five stocks to buy now](https://example.com/a-b) Then more.",
         "[Read also: five stocks to buy now](https://example.com/a-b)"),
        ("Text here.\n![Chart of the share price today](/img/chart.png)\nMore text.",
         "![Chart of the share price today](/img/chart.png)"),
    ],
)
def test_markdown_link_is_one_segment_with_its_target(text: str, link: str) -> None:
    assert link in _texts(text)


def test_bracket_group_followed_by_a_prose_bracket_is_not_a_link() -> None:
    text = "Shares fell [see our chart of the day] (after the report) on Monday."
    assert "[see our chart of the day]" in _texts(text)


def test_full_width_sentence_ends() -> None:
    text = "今日は晴れです。ニュースレターに登録してください！「はい」と言った。"
    assert _texts(text) == [
        "今日は晴れです。", "ニュースレターに登録してください！", "「はい」と言った。"]
