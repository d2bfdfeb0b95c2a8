"""Segments (+ context) -> feature matrix.

Two feature sets, one per pass of the classifier:

* the *segment* features (:func:`build_features`): word and character n-grams of the segment's
  own text, its shape (length, case, digits, currency, dates, ``?!``, URLs, imperatives,
  second-person address, script residue) and its place in the article (position, whole line or
  glued into one, repeated elsewhere in the article);
* the *context* features (:func:`context_features`): the first pass's class probabilities of the
  segment and of its neighbours, because adverts come in blocks and a caption such as
  "ACME Aktie Chart" is an advert by its surroundings.

Segments travel as a :class:`pandas.DataFrame` made by :func:`segment_table`, one row a segment.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils.validation import check_is_fitted

from detector.segment import Segment, segment
from detector.templates import TEMPLATE_COLUMNS, TemplateTable, template_columns

__all__ = [
    "POSITION_COLUMNS",
    "ShapeFeatures",
    "build_features",
    "context_features",
    "segment_table",
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


def segment_table(
    articles: Iterable[tuple[str, str]],
    *,
    templates: TemplateTable | None = None,
    sites: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, list[list[Segment]]]:
    """One row per segment of each ``(doc_id, text)`` article, with its place in the article.

    With ``templates`` (counts over the batch, :mod:`detector.templates`) and the ``sites`` of
    the articles, the :data:`TEMPLATE_COLUMNS` say how often each segment's shape recurs on its
    site; without, they are zeros. Returns the table and the segments of each article.
    """
    rows: dict[str, list] = {k: [] for k in ["doc", "idx", "text", *POSITION_COLUMNS]}
    all_segments = []
    for doc_id, text in articles:
        segs = segment(text)
        all_segments.append(segs)
        n = len(segs)
        n_lines = segs[-1].line + 1 if segs else 1
        shapes = Counter(_DIGITS.sub("0", s.text.lower()) for s in segs)
        for i, s in enumerate(segs):
            line_start = i == 0 or segs[i - 1].line != s.line
            line_end = i == n - 1 or segs[i + 1].line != s.line
            rows["doc"].append(doc_id)
            rows["idx"].append(i)
            rows["text"].append(s.text)
            rows["rel_pos"].append(i / max(n - 1, 1))
            rows["from_end"].append(min(n - 1 - i, 10) / 10)
            rows["is_first"].append(float(i == 0))
            rows["is_last"].append(float(i == n - 1))
            rows["line_start"].append(float(line_start))
            rows["line_end"].append(float(line_end))
            rows["line_rel"].append(s.line / max(n_lines - 1, 1))
            rows["lines_from_end"].append(min(n_lines - 1 - s.line, 10) / 10)
            rows["repeats"].append(min(shapes[_DIGITS.sub("0", s.text.lower())] - 1, 3) / 3)
    table = pd.DataFrame(rows)
    site_per_row: list[str] = []
    if templates is not None and sites is not None:
        for site, segs in zip(sites, all_segments):
            site_per_row += [site] * len(segs)
    columns = template_columns(
        templates if site_per_row else None,
        rows["text"],
        site_per_row,
        table["rel_pos"].to_numpy(dtype=np.float64),
    )
    for j, name in enumerate(TEMPLATE_COLUMNS):
        table[name] = columns[:, j]
    return table, all_segments


class ShapeFeatures(TransformerMixin, BaseEstimator):
    """Dense shape cues of each text: length, case, digits, punctuation, address, residue.

    Every feature is scaled to about [0, 1] so it sits well beside tf-idf-like n-grams.
    """

    def fit(self, X: Sequence[str], y: object = None) -> ShapeFeatures:
        self.n_features_out_ = len(_SHAPE_NAMES)
        return self

    def transform(self, X: Sequence[str]) -> np.ndarray:
        check_is_fitted(self, "n_features_out_")
        return np.array([_shape(t) for t in X], dtype=np.float64).reshape(-1, len(_SHAPE_NAMES))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array([f"shape_{n}" for n in _SHAPE_NAMES], dtype=object)


_SHAPE_NAMES = [
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


def _shape(text: str) -> list[float]:
    words = _WORD.findall(text)
    n_words = max(len(words), 1)
    letters = [c for c in text if c.isalpha()]
    n_letters = max(len(letters), 1)
    stripped = text.rstrip(_CLOSERS + " ")
    last = stripped[-1:] if stripped else ""
    first_word = words[0].lower() if words else ""
    lowered = [w.lower() for w in words]
    # German "Sie" opening a sentence usually means "she/they", not the polite "you".
    address = sum(w in SECOND_PERSON for w in words[1:]) + (words[:1] == ["you"])
    first_letter = next((c for c in text if c.isalpha()), "")
    bracketed = text[:1] in "([" and text[-1:] in ")]"
    return [
        math.log1p(len(text)) / 8,
        math.log1p(len(words)) / 6,
        sum(c.isupper() for c in letters) / n_letters,
        sum(w[0].isupper() for w in words) / n_words,
        sum(c.isdigit() for c in text) / max(len(text), 1),
        float(bool(_CURRENCY.search(text))),
        float(bool(_DATE.search(text))),
        min(text.count("!"), 3) / 3,
        min(text.count("?"), 3) / 3,
        float("?!" in text or "!?" in text),
        float(bool(_URL.search(text))),
        float(last in _TERMINAL),
        float(last == ":"),
        float(last not in _TERMINAL and last != ":"),
        float(bracketed),
        min(address / n_words * 5, 1.0),
        float(first_word in CALL_TO_ACTION),
        min(sum(w in CALL_TO_ACTION for w in lowered) / n_words * 4, 1.0),
        float(bool(_CODE.search(text))),
        float(any(q in text for q in '"„“”«»')),
        float(bool(_SEPARATORS.search(text))),
        min(sum(len(w) for w in words) / n_words / 12, 1.0),
        float(first_letter.isupper()),
        float(bracketed and first_letter.isupper()),
    ]


def build_features(*, n_features: int = 2**18, position: bool = False) -> ColumnTransformer:
    """The first-pass feature union over a :func:`segment_table` frame.

    Position columns are left to the context pass unless ``position``: in the first pass they
    let the model learn "near the end means advert" instead of reading the text.
    """
    words = HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b\w+\b",
        n_features=n_features,
        alternate_sign=False,
        norm="l2",
    )
    chars = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 4),
        n_features=n_features,
        alternate_sign=False,
        norm="l2",
    )
    parts = [
        ("words", words, "text"),
        ("chars", chars, "text"),
        ("shape", ShapeFeatures(), "text"),
    ]
    if position:
        parts.append(("position", "passthrough", POSITION_COLUMNS))
    return ColumnTransformer(
        parts,
        sparse_threshold=1.0,
    )


def context_features(proba: np.ndarray, table: pd.DataFrame, *, window: int = 2) -> np.ndarray:
    """Second-pass features: each segment's and its neighbours' first-pass probabilities.

    ``proba`` holds one row of class probabilities per row of ``table``; neighbours are taken
    within the same article only, and a missing neighbour is marked by a flag.
    """
    n = proba.shape[0]
    docs = table["doc"].to_numpy()
    idx = table["idx"].to_numpy()
    blocks = [proba]
    for offset in [d for d in range(-window, window + 1) if d]:
        j = np.clip(np.arange(n) + offset, 0, n - 1)
        valid = (docs[j] == docs) & (idx[j] == idx + offset)
        blocks += [np.where(valid[:, None], proba[j], 0.0), (~valid).astype(np.float64)[:, None]]
    rest_max, rest_mean = _tail_stats(proba, docs)
    blocks += [rest_max, rest_mean]
    lengths = np.log1p(table["text"].str.len().to_numpy(dtype=np.float64))[:, None] / 8
    blocks.append(lengths)
    blocks.append(table[POSITION_COLUMNS].to_numpy(dtype=np.float64))
    blocks += _recurrence(proba, table, docs, idx)
    return np.hstack(blocks)


def _recurrence(
    proba: np.ndarray, table: pd.DataFrame, docs: np.ndarray, idx: np.ndarray
) -> list[np.ndarray]:
    """Template features: the segment's recurrence on its site, its neighbours' recurrence,
    and recurrence times the first-pass probabilities (a recurring segment that already looks
    like an advert is likelier one; a recurring dateline that looks editorial is not)."""
    n = proba.shape[0]
    if not set(TEMPLATE_COLUMNS) <= set(table.columns):
        tpl = np.zeros((n, len(TEMPLATE_COLUMNS)))
    else:
        tpl = table[TEMPLATE_COLUMNS].to_numpy(dtype=np.float64)
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
    running_max = np.zeros(k)
    running_sum = np.zeros(k)
    count = 0
    for i in range(n - 1, -1, -1):
        if i == n - 1 or docs[i + 1] != docs[i]:
            running_max[:] = 0.0
            running_sum[:] = 0.0
            count = 0
        tail_max[i] = running_max
        tail_mean[i] = running_sum / count if count else 0.0
        np.maximum(running_max, proba[i], out=running_max)
        running_sum += proba[i]
        count += 1
    return tail_max, tail_mean
