"""Text -> segments: sentence-sized pieces with exact character offsets.

Scraped text is messy: paragraphs glued without a space (``in 2017.Daniel owns``), whole
articles on one line, ad-script residue inside a sentence (``quickly."makeArticleAd();Those``),
abbreviations and decimals that must not split (``Dr.``, ``z. B.``, ``3.5``, ``24. Januar``).
The segmenter finds cut points with a few cheap, linear rules and returns the stripped pieces
between them, so that every non-space character of the text lies in exactly one segment.
Pure Python: nothing here knows about features or models.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import OrderedDict
from typing import NamedTuple

__all__ = ["Segment", "segment", "segment_bounds", "remember_lines", "MAX_SEGMENT_CHARS"]

#: A segment longer than this is cut at a space, so one huge run-on line stays cheap to featurize.
MAX_SEGMENT_CHARS = 3000

#: Characters of lines whose pieces are remembered (see _pieces): a few chunks' worth of
#: articles. A budget of characters, not of lines, since a whole article is often one line.
LINE_CACHE_CHARS = 2**22


class _LineCache:
    """The pieces of recently segmented lines, first in first out within a character budget."""

    def __init__(self, budget: int):
        self.budget = budget
        self._pieces: OrderedDict[str, tuple[tuple[int, int], ...]] = OrderedDict()
        self._chars = 0

    def get(self, line: str) -> tuple[tuple[int, int], ...] | None:
        return self._pieces.get(line)

    def put(self, line: str, pieces: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        if line not in self._pieces:
            self._chars += len(line)
            while self._chars > self.budget and self._pieces:
                old, _ = self._pieces.popitem(last=False)
                self._chars -= len(old)
        self._pieces[line] = pieces
        return pieces

    def clear(self) -> None:
        self._pieces.clear()
        self._chars = 0


_LINES = _LineCache(LINE_CACHE_CHARS)

#: Tokens that end with a period without ending a sentence (compared lower-cased, no period).
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof st sr jr inc corp co ltd plc llc no nos vs etc e.g i.e approx ca dept est
    fig jan feb mar apr jun jul aug sep sept oct nov dec mt ft gen gov sen rep rev lt col sgt
    u.s u.k u.n e.u a.m p.m d.c n.y
    z.b u.a bzw evtl ggf inkl usw vgl sog mio mrd nr str tel abs bspw d.h z.t o.ä u.ä s.o
    hr fr dipl ing mag jh jhd
    """.split()
)

# A sentence end: punctuation, optional closing quotes/brackets, then a space or a glued start.
# The full-width marks of Chinese and Japanese end a sentence with no space after them.
_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”“’»«)\]」』）]*(?=\s*\S)")
_FULL_WIDTH_ENDS = "。！？"
# A lower-case word or a year glued to a capitalised word and a space: "WeedsThe question",
# "NewsSupreme Court", "2017Ashraf owns". Brand names such as "PayPal" or "iPhone" stay whole.
# The look-ahead comes first: the regex engine then skips quickly to capitals.
_CASE_GLUE = re.compile(r"(?=[A-ZÄÖÜ][a-zäöüß]*[\s,'’])(?:(?<=[a-zäöüß]{3})|(?<=[0-9]{4}))")
# Ad-script residue such as makeArticleAd(); glued to the sentences around it. The match starts
# at a word start and the name is capped, so a long run of letters stays linear.
_CODE_CALL = re.compile(r"(?<![\w$])[A-Za-z_$][\w$]{0,60}\([^()\n]{0,200}\);")
# Nouns after which "3." is a German ordinal ("am 3. März", "der 2. Liga"), not a sentence end.
ORDINAL_NOUNS = frozenset(
    """
    januar februar märz april mai juni juli august september oktober november dezember
    jahrhundert jahrtausend liga bundesliga platz rang runde quartal halbjahr mal klasse stock
    spieltag etappe auflage ausgabe kapitel jahrestag geburtstag todestag advent
    """.split()
)
_BRACKETS = {"(": ")", "[": "]"}
_BRACKET_CHARS = re.compile(r"[()\[\]]")
_MAX_WORD = 40
_MIN_BRACKET_WORDS = 4
_MAX_BRACKET_CHARS = 600


class Segment(NamedTuple):
    """A piece of text: ``text == article[start:end]``; ``line`` counts non-empty lines.

    A named tuple: made millions of times per run, it is twice as cheap as a dataclass.
    """

    start: int
    end: int
    text: str
    line: int


def segment(text: str) -> list[Segment]:
    """Split ``text`` into segments covering every non-space character exactly once.

    >>> [s.text for s in segment("Prices rose 3.5% in 2017.Daniel owns shares.\\nRead more")]
    ['Prices rose 3.5% in 2017.', 'Daniel owns shares.', 'Read more']
    """
    return [Segment(a, b, text[a:b], line) for a, b, line in segment_bounds(text)]


def segment_bounds(text: str) -> list[tuple[int, int, int]]:
    """The (start, end, line) of each :func:`segment` of ``text``, without making the
    :class:`Segment` objects (the template counting pass needs only these)."""
    bounds: list[tuple[int, int, int]] = []
    line_no = 0
    pos = 0
    for line in text.splitlines(keepends=True):
        if not line.isspace():
            pieces = _LINES.get(line)
            if pieces is None:
                pieces = _LINES.put(line, _pieces(line))
            bounds += [(pos + a, pos + b, line_no) for a, b in pieces]
            line_no += 1
        pos += len(line)
    return bounds


def remember_lines(text: str, segments: list[Segment]) -> None:
    """Remember the pieces of ``text``'s lines as ``segments`` (its :func:`segment`, made
    elsewhere) has them, so that segmenting a text with the same lines costs no cutting.

    Lines are remembered, first in first out, up to :data:`LINE_CACHE_CHARS` characters: a relabel
    pass segments the cleaned text again, whose lines are mostly the original ones, and sites
    repeat their boilerplate lines across articles.
    """
    row = 0
    pos = 0
    line_no = 0
    for line in text.splitlines(keepends=True):
        if not line.isspace():
            pieces = []
            while row < len(segments) and segments[row].line == line_no:
                pieces.append((segments[row].start - pos, segments[row].end - pos))
                row += 1
            _LINES.put(line, tuple(pieces))
            line_no += 1
        pos += len(line)


def _pieces(line: str) -> tuple[tuple[int, int], ...]:
    """The stripped (start, end) pieces of one line between its cut points."""
    cuts = sorted(_cut_points(line))
    pieces = []
    prev = 0
    for cut in [*cuts, len(line)]:
        if cut <= prev:
            continue
        a, b = _strip_bounds(line, prev, cut)
        if a < b:
            pieces.extend(_split_long(line, a, b))
        prev = cut
    return tuple(pieces)


def _cut_points(line: str) -> set[int]:
    cuts: set[int] = set()
    guarded: list[tuple[int, int]] = []
    for a, b in _link_groups(line, _bracket_groups(line)):
        cuts.update((a, b))
        guarded.append((a, b))
    if ");" in line:  # the end of every script call
        for m in _CODE_CALL.finditer(line):
            cuts.update((m.start(), m.end()))
            guarded.append((m.start(), m.end()))
    guarded.sort()
    for m in _SENTENCE_END.finditer(line):
        if _is_sentence_end(line, m.start(), m.end()) and not _inside(guarded, m.end()):
            cuts.add(m.end())
    for m in _CASE_GLUE.finditer(line):
        if not _inside(guarded, m.start()):
            cuts.add(m.start())
    return cuts


def _is_sentence_end(line: str, start: int, end: int) -> bool:
    """Whether the punctuation run line[start:end] ends a sentence."""
    nxt = end
    while nxt < len(line) and line[nxt].isspace():
        nxt += 1
    if nxt >= len(line):
        return False
    follower = line[nxt]
    if line[start] in _FULL_WIDTH_ENDS:
        return True
    glued = nxt == end
    if follower.islower():
        return False
    word = _word_before(line, start)
    if glued and not (follower.isupper() or (follower.isdigit() and word.isalpha())):
        return False  # "3.5", "4,50", "v1.2": a glued sentence starts with a capital
    if line[start] != ".":
        return True
    if not word:
        return True
    if word.lower().rstrip(".") in ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha():
        return False  # an initial: "J. Smith", "z. B."
    if word.isdigit() and len(word) <= 2 and _next_word(line, nxt).lower() in ORDINAL_NOUNS:
        return False  # a German ordinal: "am 24. Januar", "3. Liga"
    return True


def _next_word(line: str, start: int) -> str:
    end = start
    while end < len(line) and line[end].isalpha():
        end += 1
    return line[start:end]


def _word_before(line: str, end: int) -> str:
    """The word (with inner periods, as in "U.S") ending at ``end``; long runs are cut, so
    that text like "a.a.a.a..." stays linear."""
    start = end
    while start > max(0, end - _MAX_WORD) and (line[start - 1].isalnum() or line[start - 1] == "."):
        start -= 1
    return line[start:end]


def _bracket_groups(line: str) -> list[tuple[int, int]]:
    """Top-level (...) or [...] groups long enough to be a teaser of their own."""
    groups: list[tuple[int, int]] = []
    if "(" not in line and "[" not in line:
        return groups
    depth = 0
    opener = closer = ""
    start = 0
    prev = -1
    # Only the brackets are visited; the characters skipped between two of them are what would
    # give up on an unclosed bracket once it is more than _MAX_BRACKET_CHARS behind.
    for m in _BRACKET_CHARS.finditer(line):
        i, ch = m.start(), m.group()
        if depth and i - 1 > prev and i - 1 - start > _MAX_BRACKET_CHARS:
            depth = 0
        prev = i
        if depth == 0:
            if ch in _BRACKETS:
                depth, opener, closer, start = 1, ch, _BRACKETS[ch], i
        elif ch == opener:
            depth += 1
        elif ch == closer:
            depth -= 1
            if depth == 0:
                body = line[start + 1 : i]
                if len(body.split()) >= _MIN_BRACKET_WORDS and i - start < _MAX_BRACKET_CHARS:
                    groups.append((start, i + 1))
        elif i - start > _MAX_BRACKET_CHARS:
            depth = 0  # an unclosed bracket: give up on it rather than scan the whole line
    return groups


def _link_groups(line: str, groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The bracket groups with their Markdown link parts: a ``[teaser](target)`` or an image's
    ``![caption](target)`` is one segment, not a teaser and a stray URL."""
    if "](" not in line:
        return groups
    out = []
    for a, b in groups:
        if line[a] == "[" and line.startswith("(", b):
            close = line.find(")", b + 1, b + 1 + _MAX_BRACKET_CHARS)
            target = line[b + 1 : close]
            if close != -1 and target and not any(ch.isspace() or ch == "(" for ch in target):
                a, b = (a - 1 if a and line[a - 1] == "!" else a), close + 1
        out.append((a, b))
    return out


def _inside(groups: list[tuple[int, int]], pos: int) -> bool:
    """Whether pos lies strictly inside one of the sorted, mostly disjoint groups."""
    i = bisect_right(groups, (pos, pos))
    return any(a < pos < b for a, b in groups[max(0, i - 2) : i])


def _strip_bounds(line: str, a: int, b: int) -> tuple[int, int]:
    while a < b and line[a].isspace():
        a += 1
    while b > a and line[b - 1].isspace():
        b -= 1
    return a, b


def _split_long(line: str, a: int, b: int) -> list[tuple[int, int]]:
    """Cut a piece longer than MAX_SEGMENT_CHARS at spaces (or hard, if it has none)."""
    out = []
    while b - a > MAX_SEGMENT_CHARS:
        cut = line.rfind(" ", a + MAX_SEGMENT_CHARS // 2, a + MAX_SEGMENT_CHARS)
        if cut == -1:
            cut = a + MAX_SEGMENT_CHARS
        x, y = _strip_bounds(line, a, cut)
        if x < y:
            out.append((x, y))
        a, _ = _strip_bounds(line, cut, b)
    if a < b:
        out.append((a, b))
    return out
