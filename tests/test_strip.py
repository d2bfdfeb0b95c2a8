"""strip_spans/mark_spans and Detector.strip: only whole labeled spans ever leave the text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.detect import Detector
from detector.segment import segment
from detector.strip import MARK_CLOSE, MARK_OPEN, mark_spans, merge_spans, strip_spans

_WORDS = st.sampled_from(
    ["Buy now!", "Editorial text.", "Kaufen oder verkaufen?!", "The Fed (read: rates) held.",
     "3.5%", "Dr. Müller", ".", ",", ")", "»", " ", "  ", "\n", "\n\n", "\r\n", "\t", "x"]
)
texts = st.one_of(st.text(max_size=200), st.lists(_WORDS, max_size=40).map("".join))


def _non_space(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace())


def _outside(text: str, spans: list[tuple[int, int]]) -> str:
    removed = bytearray(len(text))
    for a, b in spans:
        removed[a:b] = b"\x01" * (b - a)
    return "".join(ch for ch, r in zip(text, removed) if not r and not ch.isspace())


@st.composite
def text_and_spans(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    text = draw(texts)
    segs = segment(text)
    chosen = draw(st.lists(st.booleans(), min_size=len(segs), max_size=len(segs)))
    return text, [(s.start, s.end) for s, keep in zip(segs, chosen) if keep]


@settings(max_examples=300, deadline=None)
@given(text_and_spans())
def test_strip_spans_is_lossless_outside_the_spans(case: tuple[str, list[tuple[int, int]]]) -> None:
    text, spans = case
    assert _non_space(strip_spans(text, spans)) == _outside(text, spans)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_removing_nothing_returns_the_input(text: str) -> None:
    assert strip_spans(text, []) == text


@settings(max_examples=200, deadline=None)
@given(text_and_spans())
def test_mark_spans_keeps_every_character(case: tuple[str, list[tuple[int, int]]]) -> None:
    text, spans = case
    marked = mark_spans(text, [(a, b, "advert", 0.9) for a, b in spans])
    assert marked.count(MARK_OPEN.format(label="advert", score=0.9)) == len(spans)
    assert re.sub(r"⟦/?advert[^⟧]*⟧", "", marked) == text


@pytest.mark.parametrize("text, span, expected", [
    ("Keep this.\nBuy now!\nKeep that.", (11, 19), "Keep this.\nKeep that."),
    ("One. Ad here. Two.", (5, 13), "One. Two."),
    ("Story ends here.\n\nSubscribe to our newsletter!\n", (18, 46), "Story ends here.\n"),
    ("Story ends here. Subscribe now!", (17, 31), "Story ends here."),
    ("Subscribe now!\n\nStory starts here.", (0, 14), "Story starts here."),
    ("The Fed (read: rates) held.", (8, 21), "The Fed held."),
    ("The Fed (read more here).", (8, 24), "The Fed."),
    # a removed sentence at a line's end: the line break after it stays
    ("Profit rose. Buy now!\nSales fell.", (13, 21), "Profit rose.\nSales fell."),
    ("Profit rose. Buy now!\r\nSales fell.", (13, 21), "Profit rose.\r\nSales fell."),
    # a removed line before a quotation: no gluing to the line above
    ("Profit rose.\nBuy now!\n\u201cWe grew,\u201d he said.", (13, 21),
     "Profit rose.\n\u201cWe grew,\u201d he said."),
    ("Profit rose.\nBuy now!\n\"We grew\", he said.", (13, 21),
     "Profit rose.\n\"We grew\", he said."),
    # the blank line between paragraphs stays, before or after the removed line
    ("Profit rose.\nBuy now!\n\nSales fell.", (13, 21), "Profit rose.\n\nSales fell."),
    ("Profit rose.\n\nBuy now!\nSales fell.", (14, 22), "Profit rose.\n\nSales fell."),
    # a removed last line keeps the text's own line ending, whatever it is
    ("Profit rose.\rBuy now!\r", (13, 21), "Profit rose.\r"),
    ("Profit rose.\u2028Buy now!\u2028", (13, 21), "Profit rose.\u2028"),
])
def test_removal_tidies_whitespace(text: str, span: tuple[int, int], expected: str) -> None:
    assert strip_spans(text, [span]) == expected


def test_merge_spans_joins_spans_separated_by_whitespace() -> None:
    text = "A. Ad one. Ad two. B."
    assert merge_spans(text, [(11, 18), (3, 10)]) == [(3, 18)]
    assert merge_spans(text, [(3, 10), (19, 21)]) == [(3, 10), (19, 21)]


def test_mark_format() -> None:
    assert mark_spans("Hi. Buy now!", [(4, 12, "advert", 0.87)]) == (
        "Hi. " + MARK_OPEN.format(label="advert", score=0.87) + "Buy now!"
        + MARK_CLOSE.format(label="advert"))


def test_detector_strip_is_idempotent(detector_tiny: Detector, train_records: list) -> None:
    texts = [r["text"] for r in train_records[::50]]
    once = detector_tiny.strip_many(texts)
    twice = detector_tiny.strip_many(once)
    changed = [r["id"] for r, a, b in zip(train_records[::50], once, twice) if a != b]
    assert not changed


def test_threshold_one_keeps_everything(detector_tiny: Detector, tiny_records: list) -> None:
    keep_all = Detector(detector_tiny.model, threshold=1.0)
    for r in tiny_records[::8]:
        assert keep_all.strip(r["text"]) == r["text"], r["id"]


def test_detector_removes_something_on_training_articles(
    detector_tiny: Detector, tiny_records: list
) -> None:
    with_adverts = [r for r in tiny_records if r["spans"]][:10]
    stripped = detector_tiny.strip_many([r["text"] for r in with_adverts])
    assert sum(s != r["text"] for s, r in zip(stripped, with_adverts)) >= 5


@settings(max_examples=25, deadline=None)
@given(threshold=st.floats(0.0, 1.0), pick=st.integers(0, 10**6))
def test_editorial_text_is_sacred(detector_tiny: Detector, train_records: list,
                                  threshold: float, pick: int) -> None:
    text = train_records[pick % len(train_records)]["text"]
    detector = Detector(detector_tiny.model, threshold=threshold)
    removed = [(s.start, s.end) for s in detector.label(text) if s.label in detector.removable]
    assert set(removed) <= {(s.start, s.end) for s in segment(text)}  # whole segments only
    assert _non_space(detector.strip(text)) == _outside(text, removed)
