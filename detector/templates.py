"""Segments of a batch -> per-site template counts -> recurrence features.

Adverts repeat: the same promo block, with the company, date and figures changed, sits under
many articles of one site. A segment's *shape* is its text with names, numbers, dates,
tickers, prices and URLs masked (:func:`shape`); a :class:`TemplateTable` counts, per site, in
how many articles each shape occurs, in one streaming pass with bounded memory (count-min
sketches). :func:`template_columns` turns the counts into features for the classifier's context
pass: recurrence is evidence the model weighs, never a rule, so a dateline or a disclaimer that
recurs stays what the model learned it to be.

>>> shape("ACME-Aktie: Kaufen oder verkaufen?! Neue ACME-Analyse vom 3. März liefert die Antwort")
'⟨name⟩: ⟨name⟩ oder verkaufen?! ⟨name⟩ vom ⟨date⟩ liefert die ⟨name⟩'
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
import os
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from detector.errors import DetectorError
from detector.io import file_stamp

__all__ = [
    "MIN_BATCH",
    "TEMPLATE_COLUMNS",
    "TemplateError",
    "TemplateTable",
    "count_templates",
    "exact_shape",
    "load_templates",
    "shape",
    "site_of",
    "template_columns",
]

#: Feature columns added to a segment table (zeros when there is no batch).
TEMPLATE_COLUMNS = ["tpl_batch", "tpl_recur", "tpl_share", "tpl_exact", "tpl_pos"]
#: A site needs this many articles in the batch before its recurrence counts mean anything.
MIN_BATCH = 5
#: Bumped whenever the masking changes: tables of another version would count other shapes.
SHAPE_VERSION = 1
#: Examples kept per site for :meth:`TemplateTable.top` (the most frequent shapes).
TOP_PER_SITE = 200
#: The site name used when articles carry no site.
ONE_SITE = "batch"

_MONTHS = (
    r"jan(?:uar|uary)?|feb(?:ruar|ruary)?|m[aä]r(?:z|ch)?|apr(?:il)?|ma[iy]|jun[ei]?|"
    r"jul[iy]?|aug(?:ust)?|sep(?:t|tember)?|o[ck]t(?:ober)?|nov(?:ember)?|de[cz](?:ember)?"
)
_MASKS = [
    ("⟨url⟩", r"https?://\S+|www\.\S+|\b[\w.-]+\.(?:com|de|net|org|in|co\.uk|io|at|ch)\b\S*"),
    (
        "⟨date⟩",
        rf"(?i:\b\d{{1,2}}\.\s?(?:{_MONTHS})\.?(?:\s\d{{4}})?|\b(?:{_MONTHS})\.?\s\d{{1,2}}"
        rf"(?:,?\s\d{{4}})?|\b\d{{1,2}}\.\d{{1,2}}\.(?:\d{{2,4}})?|\b\d{{4}}-\d{{2}}-\d{{2}}\b|"
        rf"\b\d{{1,2}}\s(?:{_MONTHS})\b)",
    ),
    ("⟨ticker⟩", r"\((?:[A-Z]{2,}[: ]\s?)?[A-Z][A-Z0-9.]{0,6}\)|\$[A-Z]{1,5}\b"),
    ("⟨num⟩", r"(?:[$€£¥₹]\s?)?\d(?:[\d.,']*\d)?(?:\s?(?:%|[$€£¥₹]))?"),
    ("⟨name⟩", r"\b[A-ZÀ-ÖØ-Þ][\w'’&.-]*|\b\w*[A-Z]\w*[A-Z]\w*"),
]
_MASK = re.compile("|".join(f"(?P<m{i}>{pattern})" for i, (_, pattern) in enumerate(_MASKS)))
_RUNS = re.compile(r"⟨name⟩(?:[\s&,'’.-]*(?:⟨name⟩|⟨ticker⟩))+")
_SPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_LITERAL = re.compile(r"(?<![⟨\w])[^\W\d_]{2,}(?![\w⟩])")


class TemplateError(DetectorError):
    """A template table file that cannot be read or does not fit this detector."""


#: Shapes and bucket keys remembered per process: the labeling pass meets the texts the counting
#: pass shaped, and its relabel passes meet them again.
SHAPE_CACHE = 2**16


@functools.lru_cache(maxsize=SHAPE_CACHE)
def exact_shape(text: str) -> str:
    """``text`` lower-cased, with digits as 0 and runs of whitespace as one space."""
    return _SPACE.sub(" ", _DIGITS.sub("0", text.lower())).strip()


@functools.lru_cache(maxsize=SHAPE_CACHE)
def shape(text: str) -> str:
    """``text`` with names, numbers, dates, tickers, prices and URLs masked.

    A shape with fewer than two literal words left ("⟨name⟩ ⟨name⟩") would match every short
    heading, so such texts fall back to :func:`exact_shape`.
    """
    masked = _MASK.sub(_mask_one, text)
    masked = _RUNS.sub("⟨name⟩", masked)
    masked = _SPACE.sub(" ", masked).strip()
    if len(_LITERAL.findall(masked)) < 2:
        return exact_shape(text)
    return masked


def _mask_one(match: re.Match[str]) -> str:
    return _MASKS[int(match.lastgroup[1:])][0]  # type: ignore[index]


def site_of(value: object) -> str:
    """The site an article belongs to: a URL's host, or the value as given."""
    if not isinstance(value, str) or not value.strip():
        return ONE_SITE
    value = value.strip()
    if "://" in value:
        host = urlsplit(value).hostname or value
        return host.removeprefix("www.")
    return value


def _keys(site: str, shapes: Iterable[str]) -> np.ndarray:
    """Four 32-bit bucket seeds per (site, shape), stable across processes and runs."""
    return np.array([_key(site, s) for s in shapes], dtype=np.uint64).reshape(-1, 4)


@functools.lru_cache(maxsize=SHAPE_CACHE)
def _key(site: str, text_shape: str) -> tuple[int, ...]:
    digest = hashlib.blake2b(f"{site}\x00{text_shape}".encode(), digest_size=16).digest()
    return struct.unpack("<4I", digest)


class _Sketch:
    """A count-min sketch (depth 4) with conservative update: never undercounts."""

    def __init__(self, width: int):
        self.width = width
        self.table = np.zeros((4, width), dtype=np.uint32)

    def _cells(self, keys: np.ndarray) -> np.ndarray:
        return (keys % np.uint64(self.width)).astype(np.int64)

    def add(self, keys: np.ndarray) -> np.ndarray:
        cells = self._cells(keys)
        rows = np.arange(4)
        current = self.table[rows, cells].min(axis=1) + 1
        for d in range(4):
            np.maximum.at(self.table[d], cells[:, d], current.astype(np.uint32))
        return current

    def get(self, keys: np.ndarray) -> np.ndarray:
        if len(keys) == 0:
            return np.zeros(0, dtype=np.int64)
        return self.table[np.arange(4), self._cells(keys)].min(axis=1).astype(np.int64)


@dataclass
class _Top:
    """The most frequent shapes of one site (space-saving: bounded, approximate)."""

    counts: dict[str, int]
    examples: dict[str, str]
    #: Never above the smallest count kept once full: a shape counted no higher is skipped
    #: without scanning the list.
    floor: int = 0


class TemplateTable:
    """Per-site counts of segment shapes over a batch of articles.

    Parameters
    ----------
    width : int
        Buckets per row of each count-min sketch; memory is ``64 * width`` bytes (32 MB at
        the default) whatever the batch size. The default keeps counts exact in practice up
        to millions of distinct (site, shape) pairs.

    Examples
    --------
    >>> table = TemplateTable(width=1024)
    >>> for n in range(6):
    ...     table.add("site.example", [f"Story {n} about rain.", "Get our free newsletter now!"])
    >>> table.count("site.example", "Get our free newsletter today!")
    0
    >>> table.count("site.example", "Get our free newsletter now!")
    6
    """

    def __init__(self, width: int = 2**19):
        if width < 16:
            raise ValueError("width must be at least 16")
        self.width = width
        self._shapes = _Sketch(width)
        self._exact = _Sketch(width)
        self._pos_count = np.zeros((4, width), dtype=np.uint32)
        self._pos_sum = np.zeros((4, width), dtype=np.float32)
        self.sites: dict[str, int] = {}
        self._top: dict[str, _Top] = {}
        #: The file this table was saved to or loaded from, with its (mtime, size) then.
        self.path: str | None = None
        self._stamp: tuple[int, int] | None = None

    def __reduce_ex__(self, protocol: Any) -> Any:
        # A table backed by an unchanged file travels to worker processes as its path: each
        # worker loads it once (see _load_cached), not once per chunk of articles.
        unchanged = self._stamp is not None and file_stamp(self.path or "") == self._stamp
        if self.path is not None and unchanged:
            return (_load_cached, (self.path, self._stamp))
        return super().__reduce_ex__(protocol)

    def add(
        self, site: str, texts: Sequence[str], positions: Sequence[float] | None = None
    ) -> None:
        """Count one article (or one group of variants of an article) of ``site``.

        Each shape counts once per call, however often it occurs in ``texts``.
        """
        self.sites[site] = self.sites.get(site, 0) + 1
        if positions is None:
            positions = [i / max(len(texts) - 1, 1) for i in range(len(texts))]
        first: dict[str, tuple[str, float]] = {}
        exact: set[str] = set()
        for text, pos in zip(texts, positions):
            first.setdefault(shape(text), (text, pos))
            exact.add(exact_shape(text))
        if not first:
            return
        shapes = list(first)
        keys = _keys(site, shapes)
        counts = self._shapes.add(keys)
        self._exact.add(_keys(site, exact))
        cells = self._shapes._cells(keys)
        where = np.array([first[s][1] for s in shapes], dtype=np.float32)
        for d in range(4):
            np.add.at(self._pos_count[d], cells[:, d], 1)
            np.add.at(self._pos_sum[d], cells[:, d], where)
        self._remember(site, shapes, counts, [first[s][0] for s in shapes])

    def _remember(
        self, site: str, shapes: list[str], counts: np.ndarray, examples: list[str]
    ) -> None:
        top = self._top.setdefault(site, _Top({}, {}))
        for s, c, example in zip(shapes, counts.tolist(), examples):
            if s in top.counts or len(top.counts) < TOP_PER_SITE:
                top.counts[s] = int(c)
                top.examples.setdefault(s, example)
                continue
            if c <= top.floor:
                continue
            weakest = min(top.counts, key=top.counts.__getitem__)
            top.floor = top.counts[weakest]
            if c > top.floor:
                del top.counts[weakest]
                top.examples.pop(weakest, None)
                top.counts[s] = int(c)
                top.examples[s] = example
                top.floor = min(top.counts.values())

    def count(self, site: str, text: str) -> int:
        """In how many articles of ``site`` the shape of ``text`` occurs (never less)."""
        return int(self._shapes.get(_keys(site, [shape(text)]))[0])

    def lookup(self, site: str, texts: Sequence[str]) -> tuple[np.ndarray, ...]:
        """Per text: shape count, exact count and the shape's mean relative position."""
        if not texts:
            empty = np.zeros(0)
            return empty, empty, empty
        keys = _keys(site, [shape(t) for t in texts])
        shapes = self._shapes.get(keys)
        exact = self._exact.get(_keys(site, [exact_shape(t) for t in texts]))
        cells = self._shapes._cells(keys)
        rows = np.arange(4)
        counts = self._pos_count[rows, cells]
        best = counts.argmin(axis=1)
        picked = counts[np.arange(len(texts)), best].astype(np.float64)
        sums = self._pos_sum[rows, cells][np.arange(len(texts)), best].astype(np.float64)
        mean_pos = np.divide(sums, picked, out=np.full(len(texts), 0.5), where=picked > 0)
        return shapes.astype(np.float64), exact.astype(np.float64), mean_pos

    def top(self, site: str, n: int = 20) -> list[tuple[str, int, str]]:
        """The ``n`` most frequent shapes of ``site``: (shape, articles, an example text)."""
        entry = self._top.get(site)
        if entry is None:
            return []
        best = heapq.nlargest(n, entry.counts.items(), key=lambda kv: (kv[1], kv[0]))
        return [(s, c, entry.examples.get(s, "")) for s, c in best]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the table atomically to ``path`` (a ``.npz`` file)."""
        from detector.io import atomic_write

        meta = {
            "shape_version": SHAPE_VERSION,
            "width": self.width,
            "sites": self.sites,
            "top": {s: [t.counts, t.examples] for s, t in self._top.items()},
        }
        with atomic_write(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                shapes=self._shapes.table,
                exact=self._exact.table,
                pos_count=self._pos_count,
                pos_sum=self._pos_sum,
                meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
            )
        self.path = os.fspath(path)
        self._stamp = file_stamp(self.path)


@functools.lru_cache(maxsize=2)
def _load_cached(path: str, stamp: tuple[int, int]) -> TemplateTable:
    return load_templates(path)


def load_templates(path: str | os.PathLike[str]) -> TemplateTable:
    """A table written by :meth:`TemplateTable.save`; a clear error when it is not one."""
    where = Path(path)
    if not where.is_file():
        raise TemplateError(
            f"template table {where} does not exist; make one with detector templates"
        )
    try:
        with np.load(where, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            arrays = {k: data[k] for k in ("shapes", "exact", "pos_count", "pos_sum")}
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise TemplateError(
            f"{where} is not a template table ({type(exc).__name__}); make one with "
            "detector templates CORPUS -o FILE"
        ) from None
    if meta.get("shape_version") != SHAPE_VERSION:
        raise TemplateError(
            f"template table {where} has shape version {meta.get('shape_version')!r}; this "
            f"detector counts version {SHAPE_VERSION}: rebuild it with detector templates"
        )
    table = TemplateTable(width=int(meta["width"]))
    if any(a.shape != (4, table.width) for a in arrays.values()):
        raise TemplateError(f"template table {where} is damaged (sketch sizes disagree)")
    table._shapes.table = arrays["shapes"].astype(np.uint32)
    table._exact.table = arrays["exact"].astype(np.uint32)
    table._pos_count = arrays["pos_count"].astype(np.uint32)
    table._pos_sum = arrays["pos_sum"].astype(np.float32)
    table.sites = {str(k): int(v) for k, v in meta["sites"].items()}
    table._top = {s: _Top(dict(c), dict(e)) for s, (c, e) in meta["top"].items()}
    table.path = os.fspath(path)
    table._stamp = file_stamp(table.path)
    return table


def template_columns(
    table: TemplateTable | None, texts: Sequence[str], sites: Sequence[str], rel_pos: np.ndarray
) -> np.ndarray:
    """The :data:`TEMPLATE_COLUMNS` of each segment, given its text, site and position.

    All zeros for a segment whose site has fewer than :data:`MIN_BATCH` articles in ``table``
    (or when there is no table): a single article is labeled as without a batch.
    """
    out = np.zeros((len(texts), len(TEMPLATE_COLUMNS)))
    if table is None or not len(texts):
        return out
    order: dict[str, list[int]] = {}
    for i, site in enumerate(sites):
        order.setdefault(site, []).append(i)
    for site, rows in order.items():
        n_site = table.sites.get(site, 0)
        if n_site < MIN_BATCH:
            continue
        shapes, exact, mean_pos = table.lookup(site, [texts[i] for i in rows])
        recurs = shapes >= 2
        out[rows, 0] = 1.0
        out[rows, 1] = np.minimum(np.log2(np.maximum(shapes, 1)), 3) / 3
        out[rows, 2] = np.clip((shapes - 1) / max(n_site - 1, 1), 0, 1)
        out[rows, 3] = np.minimum(np.log2(np.maximum(exact, 1)), 3) / 3
        out[rows, 4] = np.where(recurs, mean_pos, rel_pos[rows])
    return out


def count_templates(
    articles: Iterable[tuple[str, str]], *, table: TemplateTable | None = None
) -> TemplateTable:
    """Count the segment shapes of ``(site, text)`` articles (into ``table`` when given).

    >>> days = [f"Rain on day {d}. Subscribe now!" for d in range(5)]
    >>> table = count_templates(("news.example", text) for text in days)
    >>> table.sites, table.count("news.example", "Subscribe now!")
    ({'news.example': 5}, 5)
    """
    from detector.segment import segment

    table = TemplateTable() if table is None else table
    for site, text in articles:
        table.add(site, [s.text for s in segment(text)])
    return table
