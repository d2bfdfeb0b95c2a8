"""Segments -> the numbers the features are made of, with numpy only.

* :func:`segment_columns`: one row per segment with its place in the article (position, whole
  line or glued into one, repeated elsewhere in the article) and its recurrence on its site
  (:func:`segment_table` gives the same as a pandas DataFrame, importing pandas then);
* :func:`shape_cues`: the shape of each segment's text (length, case, digits, currency, dates,
  ``?!``, URLs, imperatives, second-person address, script residue);
* :func:`context_features`: the first pass's class probabilities of each segment and of its
  neighbours, because adverts come in blocks and a caption such as "ACME Aktie Chart" is an
  advert by its surroundings.

Nothing here imports scikit-learn: labeling with a saved model
(:class:`detector.scoring.LinearScorer`) needs these and no more. The scikit-learn transformers
that wrap them for training are in :mod:`detector.features`.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from detector.segment import Segment, segment
from detector.templates import TEMPLATE_COLUMNS, TemplateTable, template_columns

if TYPE_CHECKING:
    import pandas as pd

#: A segment table's columns by name: "doc", "idx" and "text", then POSITION_COLUMNS and
#: TEMPLATE_COLUMNS (:func:`segment_columns`). The functions that read one take its
#: DataFrame (:func:`segment_table`) as well.
Columns = Mapping[str, Any]

__all__ = [
    "POSITION_COLUMNS",
    "SHAPE_NAMES",
    "Columns",
    "column_matrix",
    "context_features",
    "segment_columns",
    "segment_table",
    "shape_cues",
]

POSITION_COLUMNS = [
    "rel_pos",
    "from_end",
    "is_first",
    "is_last",
    "line_start",
    "line_end",
    "line_rel",
    "lines_from_end",
    "repeats",
]

# Small per-language word lists; word n-grams learn the rest from data. Add a language by
# adding its words here.
SECOND_PERSON = frozenset(
    "you your yours yourself you're you'll you've Sie Ihnen Ihr Ihre Ihren Ihrem Ihrer Ihres "
    "du dich dir dein deine euch euer".split()
)
CALL_TO_ACTION = frozenset(
    """
    click tap subscribe sign register download install follow join read watch listen get grab
    claim try order buy discover learn see visit support donate share unlock upgrade
    here now today free exclusive report newsletter app podcast alerts telegram whatsapp
    klicken abonnieren anmelden registrieren herunterladen laden folgen lesen hören sehen
    bestellen sichern holen entdecken erfahren testen unterstützen spenden teilen
    hier jetzt heute gratis kostenlos kostenlose kostenlosen exklusiv report newsletter app
    """.split()
)
_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|januar|februar|märz|mai|juni|juli|"
    "oktober|dezember"
)
_DATE = re.compile(
    rf"\b(?:\d{{1,2}}\.\s?(?:{_MONTHS})|(?:{_MONTHS})[a-z]*\.? \d{{1,2}}|"
    r"\d{1,2}\.\d{1,2}\.\d{2,4}|\d{4}-\d{2}-\d{2})",
    re.IGNORECASE,
)
_CURRENCY = re.compile(r"[$€£¥₹]|\b(?:EUR|USD|GBP|Rs|INR|Euro|Dollar|crore|lakh)\b")
_URL = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|de|net|org|in|co\.uk|io)\b|@\w")
_CODE = re.compile(r"\(\);|function\s*\(|[{}]|\w+\s*=\s*['\"\w]|</?\w+>|\[\w+[^\]]*\]")
_WORD = re.compile(r"\w[\w'’-]*")
_DIGITS = re.compile(r"\d+")
_TERMINAL = ".!?…"
_CLOSERS = "\"'”“’»«)]"
_SEPARATORS = re.compile(r"[|»›→>•]|--")


def segment_columns(
    articles: Iterable[tuple[str, str]],
    *,
    templates: TemplateTable | None = None,
    sites: Sequence[str] | None = None,
    segments: Sequence[list[Segment]] | None = None,
    keys: np.ndarray | None = None,
) -> tuple[dict[str, Any], list[list[Segment]]]:
    """One row per segment of each ``(doc_id, text)`` article, with its place in the article.

    With ``templates`` (counts over the batch, :mod:`detector.templates`) and the ``sites`` of
    the articles, the :data:`TEMPLATE_COLUMNS` say how often each segment's shape recurs on its
    site; without, they are zeros. ``segments`` (each article's :func:`segment`) and ``keys``
    (the :func:`~detector.templates.text_keys` of all segments, in order) skip that work when a
    counting pass has done it already. Returns the columns and the segments of each article.
    """
    rows: dict[str, Any] = {k: [] for k in ["doc", "idx", "text"]}
    position: dict[str, list[np.ndarray]] = {k: [] for k in POSITION_COLUMNS}
    all_segments = []
    given = iter(segments) if segments is not None else None
    for doc_id, text in articles:
        segs = segment(text) if given is None else next(given)
        all_segments.append(segs)
        n = len(segs)
        if not n:
            continue
        texts = [s.text for s in segs]
        line = np.fromiter((s.line for s in segs), dtype=np.int64, count=n)
        i = np.arange(n)
        n_lines = segs[-1].line + 1
        repeats = _repeat_keys(texts)
        shapes = Counter(repeats)
        new_line = np.diff(line, prepend=-1) != 0
        rows["doc"] += [doc_id] * n
        rows["idx"].append(i)
        rows["text"] += texts
        position["rel_pos"].append(i / max(n - 1, 1))
        position["from_end"].append(np.minimum(n - 1 - i, 10) / 10)
        position["is_first"].append((i == 0).astype(np.float64))
        position["is_last"].append((i == n - 1).astype(np.float64))
        position["line_start"].append(new_line.astype(np.float64))
        position["line_end"].append(np.append(new_line[1:], True).astype(np.float64))
        position["line_rel"].append(line / max(n_lines - 1, 1))
        position["lines_from_end"].append(np.minimum(n_lines - 1 - line, 10) / 10)
        counts = np.fromiter(map(shapes.__getitem__, repeats), dtype=np.int64, count=n)
        position["repeats"].append(np.minimum(counts - 1, 3) / 3)
    if rows["idx"]:
        rows["idx"] = np.concatenate(rows["idx"])
        rows.update({k: np.concatenate(v) for k, v in position.items()})
    else:
        rows.update({k: [] for k in position})
    site_per_row: list[str] = []
    if templates is not None and sites is not None:
        for site, segs in zip(sites, all_segments):
            site_per_row += [site] * len(segs)
    columns = template_columns(
        templates if site_per_row else None,
        rows["text"],
        site_per_row,
        np.asarray(rows["rel_pos"], dtype=np.float64),
        keys,
    )
    for j, name in enumerate(TEMPLATE_COLUMNS):
        rows[name] = columns[:, j]
    return rows, all_segments


def segment_table(
    articles: Iterable[tuple[str, str]],
    *,
    templates: TemplateTable | None = None,
    sites: Sequence[str] | None = None,
    segments: Sequence[list[Segment]] | None = None,
    keys: np.ndarray | None = None,
) -> tuple[pd.DataFrame, list[list[Segment]]]:
    """:func:`segment_columns` as a pandas DataFrame, one row per segment: what the
    scikit-learn side (training, :mod:`detector.features`) takes."""
    import pandas as pd

    columns, all_segments = segment_columns(
        articles, templates=templates, sites=sites, segments=segments, keys=keys
    )
    return pd.DataFrame(columns), all_segments


def column_matrix(table: Columns | pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """The named columns of a segment table side by side, as floats."""
    if not names:
        return np.zeros((len(table["text"]), 0))
    return np.column_stack([np.asarray(table[name], dtype=np.float64) for name in names])


def _repeat_keys(texts: list[str]) -> list[str]:
    """Each text lower-cased with its digit runs as "0": repeats differ only in numbers."""
    # One lower() and one sub() over the joined texts; NUL is neither a digit nor changed by
    # lower(), so the split gives the texts back unless one of them holds a NUL itself.
    keys = _DIGITS.sub("0", "\0".join(texts).lower()).split("\0")
    if len(keys) != len(texts):
        keys = [_DIGITS.sub("0", t.lower()) for t in texts]
    return keys


SHAPE_NAMES = [
    "log_chars",
    "log_words",
    "upper",
    "title_words",
    "digits",
    "currency",
    "date",
    "exclaim",
    "question",
    "interrobang",
    "url",
    "ends_sentence",
    "ends_colon",
    "no_terminal",
    "bracketed",
    "second_person",
    "imperative",
    "call_to_action",
    "code",
    "quotes",
    "separators",
    "word_len",
    "starts_upper",
    "bracket_upper",
]


# Substrings without which a cue's regex cannot match: most segments have none of them, and one
# scan for them all is far cheaper than the cue's own regex.
_CURRENCY_HINTS = re.compile(
    "|".join(map(re.escape, "$ € £ ¥ ₹ EUR USD GBP Rs INR Euro Dollar crore lakh".split()))
)
_URL_HINTS = re.compile(
    "|".join(map(re.escape, ":// www. @ .com .de .net .org .in .co.uk .io".split()))
)
# _DATE split by how its alternatives start, each compiled so that the regex engine can skip
# quickly to a digit or to a month's first letter; together they match where _DATE matches.
_DATE_PARTS = (
    re.compile(
        rf"\b\d(?:\d?\.\s?(?:{_MONTHS})|\d?\.\d{{1,2}}\.\d{{2,4}}|\d{{3}}-\d{{2}}-\d{{2}})",
        re.IGNORECASE,
    ),
    re.compile(rf"(?=[jfmasond])\b(?:{_MONTHS})[a-z]*\.? \d{{1,2}}", re.IGNORECASE),
)
_CODE_HINTS = frozenset("(){}=<[")
_SEPARATOR_HINTS = frozenset("|»›→>•")
_QUOTES = frozenset('"„“”«»')


_ALPHA, _UPPER, _DIGIT = 1, 2, 4


def _flags(ch: str) -> int:
    return _ALPHA * ch.isalpha() | _UPPER * ch.isupper() | _DIGIT * ch.isdigit()


@functools.cache
def _bmp_flags() -> np.ndarray:
    """_flags of every code point below 0x10000, built once (a few milliseconds)."""
    return np.fromiter(map(_flags, map(chr, range(0x10000))), dtype=np.uint8, count=0x10000)


def _sums(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Sums of consecutive runs of ``values``, run ``i`` being ``sizes[i]`` long."""
    total = np.concatenate([[0], np.cumsum(values, dtype=np.int64)])
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return total[bounds[1:]] - total[bounds[:-1]]


def _char_flags(text: str) -> np.ndarray:
    """_flags of every character of ``text``."""
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    flags = _bmp_flags()[np.minimum(points, 0xFFFF)]
    astral = np.flatnonzero(points > 0xFFFF)
    flags[astral] = [_flags(text[i]) for i in astral]
    return flags


def _has(pattern: re.Pattern[str], text: str, hints: re.Pattern[str]) -> bool:
    """Whether ``pattern`` occurs in ``text``; searched only if one of its hints occurs."""
    return hints.search(text) is not None and pattern.search(text) is not None


def shape_cues(texts: list[str]) -> np.ndarray:
    """The SHAPE_NAMES columns of each text. Counts over characters and words are taken for
    all texts at once; the few cues that need a regex are searched for only where they can
    occur."""
    n = len(texts)
    out = np.zeros((n, len(SHAPE_NAMES)))
    if not n:
        return out
    length = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    flags = _char_flags("".join(texts))
    alpha = (flags & _ALPHA).astype(bool)
    letters = _sums(alpha, length)
    upper = _sums(alpha & (flags & _UPPER).astype(bool), length)
    digits = _sums((flags & _DIGIT).astype(bool), length)
    starts = np.concatenate([[0], np.cumsum(length)[:-1]])
    alpha_at = np.flatnonzero(alpha)
    k = np.minimum(np.searchsorted(alpha_at, starts), max(len(alpha_at) - 1, 0))
    if len(alpha_at):
        has_letter = (alpha_at[k] >= starts) & (alpha_at[k] < starts + length)
        first_upper = has_letter & (flags[alpha_at[k]] & _UPPER).astype(bool)
    else:
        first_upper = np.zeros(n, dtype=bool)

    words = [_WORD.findall(t) for t in texts]
    counts = np.fromiter(map(len, words), dtype=np.int64, count=n)
    flat = list(chain.from_iterable(words))
    n_words = np.maximum(counts, 1)
    title = _sums((_char_flags("".join([w[0] for w in flat])) & _UPPER).astype(bool), counts)
    # German "Sie" opening a sentence usually means "she/they", not the polite "you".
    second = np.fromiter(map(SECOND_PERSON.__contains__, flat), dtype=bool, count=len(flat))
    first_index = np.concatenate([[0], np.cumsum(counts)[:-1]])[counts > 0]
    opening = np.zeros(len(flat), dtype=bool)
    opening[first_index] = True
    address = _sums(second & ~opening, counts)
    address += np.array([ws[:1] == ["you"] for ws in words], dtype=np.int64)
    cta_words = np.fromiter(
        map(CALL_TO_ACTION.__contains__, map(str.lower, flat)), dtype=bool, count=len(flat)
    )
    cta = _sums(cta_words, counts)
    imperative = np.zeros(n, dtype=bool)
    imperative[counts > 0] = cta_words[first_index]
    word_chars = _sums(np.fromiter(map(len, flat), dtype=np.int64, count=len(flat)), counts)

    cues = np.array([_cues(t, d > 0) for t, d in zip(texts, digits)], dtype=np.float64)
    bracketed = cues[:, 9].astype(bool)
    out[:, 0] = [math.log1p(x) / 8 for x in length.tolist()]
    out[:, 1] = [math.log1p(x) / 6 for x in counts.tolist()]
    out[:, 2] = upper / np.maximum(letters, 1)
    out[:, 3] = title / n_words
    out[:, 4] = digits / np.maximum(length, 1)
    out[:, 5:15] = cues
    out[:, 15] = np.minimum(address / n_words * 5, 1.0)
    out[:, 16] = imperative
    out[:, 17] = np.minimum(cta / n_words * 4, 1.0)
    out[:, 18:21] = np.array([_residue(t) for t in texts], dtype=np.float64).reshape(n, 3)
    out[:, 21] = np.minimum(word_chars / n_words / 12, 1.0)
    out[:, 22] = first_upper
    out[:, 23] = bracketed & first_upper
    return out


def _cues(text: str, has_digit: bool) -> tuple[float, ...]:
    """Shape columns currency .. bracketed of one text."""
    stripped = text.rstrip(_CLOSERS + " ")
    last = stripped[-1:] if stripped else ""
    return (
        _has(_CURRENCY, text, _CURRENCY_HINTS),
        # every date pattern has a decimal digit, and a decimal digit is a digit
        has_digit and any(p.search(text) is not None for p in _DATE_PARTS),
        min(text.count("!"), 3) / 3,
        min(text.count("?"), 3) / 3,
        "?!" in text or "!?" in text,
        _has(_URL, text, _URL_HINTS),
        last in _TERMINAL,
        last == ":",
        last not in _TERMINAL and last != ":",
        text[:1] in "([" and text[-1:] in ")]",
    )


def _residue(text: str) -> tuple[bool, bool, bool]:
    """Shape columns code, quotes and separators of one text."""
    return (
        not _CODE_HINTS.isdisjoint(text) and _CODE.search(text) is not None,
        not _QUOTES.isdisjoint(text),
        not _SEPARATOR_HINTS.isdisjoint(text) or "--" in text,
    )


def context_features(
    proba: np.ndarray, table: Columns | pd.DataFrame, *, window: int = 2
) -> np.ndarray:
    """Second-pass features: each segment's and its neighbours' first-pass probabilities.

    ``proba`` holds one row of class probabilities per row of ``table``; neighbours are taken
    within the same article only, and a missing neighbour is marked by a flag.
    """
    n = proba.shape[0]
    docs = np.asarray(table["doc"])
    idx = np.asarray(table["idx"])
    blocks = [proba]
    for offset in [d for d in range(-window, window + 1) if d]:
        j = np.clip(np.arange(n) + offset, 0, n - 1)
        valid = (docs[j] == docs) & (idx[j] == idx + offset)
        blocks += [np.where(valid[:, None], proba[j], 0.0), (~valid).astype(np.float64)[:, None]]
    rest_max, rest_mean = _tail_stats(proba, docs)
    blocks += [rest_max, rest_mean]
    text = table["text"]
    lengths = np.log1p(np.fromiter(map(len, text), dtype=np.float64, count=len(text)))[:, None] / 8
    blocks.append(lengths)
    blocks.append(column_matrix(table, POSITION_COLUMNS))
    blocks += _recurrence(proba, table, docs, idx)
    return np.hstack(blocks)


def _recurrence(
    proba: np.ndarray, table: Columns | pd.DataFrame, docs: np.ndarray, idx: np.ndarray
) -> list[np.ndarray]:
    """Template features: the segment's recurrence on its site, its neighbours' recurrence,
    and recurrence times the first-pass probabilities (a recurring segment that already looks
    like an advert is likelier one; a recurring dateline that looks editorial is not)."""
    n = proba.shape[0]
    if not all(name in table for name in TEMPLATE_COLUMNS):
        tpl = np.zeros((n, len(TEMPLATE_COLUMNS)))
    else:
        tpl = column_matrix(table, TEMPLATE_COLUMNS)
    recur = tpl[:, TEMPLATE_COLUMNS.index("tpl_recur")]
    share = tpl[:, TEMPLATE_COLUMNS.index("tpl_share")]
    near = np.zeros(n)
    for offset in (-1, 1):
        j = np.clip(np.arange(n) + offset, 0, n - 1)
        valid = (docs[j] == docs) & (idx[j] == idx + offset)
        near = np.maximum(near, np.where(valid, recur[j], 0.0))
    return [tpl, near[:, None], recur[:, None] * proba, share[:, None] * proba]


def _tail_stats(proba: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per segment: max and mean probabilities of the segments after it in its article."""
    n, k = proba.shape
    tail_max = np.zeros((n, k))
    tail_mean = np.zeros((n, k))
    ends = np.flatnonzero(docs[1:] != docs[:-1]) + 1 if n else np.zeros(0, dtype=int)
    for a, b in zip([0, *ends], [*ends, n]):
        if b - a < 2:
            continue
        # Running max and sum from the article's end back: the sums are added in the order of
        # a loop from the last segment, so the means are the same to the last bit.
        later = proba[a + 1 : b][::-1]
        tail_max[a : b - 1] = np.maximum.accumulate(later, axis=0)[::-1]
        counts = np.arange(1, b - a)[:, None]
        tail_mean[a : b - 1] = (np.cumsum(later, axis=0) / counts)[::-1]
    return tail_max, tail_mean
