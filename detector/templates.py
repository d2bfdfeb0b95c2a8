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
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from detector.errors import DetectorError
from detector.io import file_stamp
from detector.segment import Segment

__all__ = [
    "MIN_BATCH",
    "Prepared",
    "Shaped",
    "TEMPLATE_COLUMNS",
    "TemplateError",
    "TemplateTable",
    "count_templates",
    "exact_shape",
    "load_templates",
    "shape",
    "shape_articles",
    "site_of",
    "template_columns",
    "text_keys",
]

#: Feature columns added to a segment table (zeros when there is no batch).
TEMPLATE_COLUMNS = ["tpl_batch", "tpl_recur", "tpl_share", "tpl_exact", "tpl_pos"]
#: A site needs this many articles in the batch before its recurrence counts mean anything.
MIN_BATCH = 5
#: Bumped whenever the masking changes: tables of another version would count other shapes.
SHAPE_VERSION = 1
#: Examples kept per site for :meth:`TemplateTable.top` (the most frequent shapes).
TOP_PER_SITE = 200
#: Articles counted with one update of the sketches by count_templates.
COUNT_GROUP = 512
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
        rf"(?=[\dJFMASONDjfmasond])(?i:\b\d{{1,2}}\.\s?(?:{_MONTHS})\.?(?:\s\d{{4}})?|\b(?:{_MONTHS})\.?\s\d{{1,2}}"
        rf"(?:,?\s\d{{4}})?|\b\d{{1,2}}\.\d{{1,2}}\.(?:\d{{2,4}})?|\b\d{{4}}-\d{{2}}-\d{{2}}\b|"
        rf"\b\d{{1,2}}\s(?:{_MONTHS})\b)",
    ),
    ("⟨ticker⟩", r"\((?:[A-Z]{2,}[: ]\s?)?[A-Z][A-Z0-9.]{0,6}\)|\$[A-Z]{1,5}\b"),
    ("⟨num⟩", r"(?:[$€£¥₹]\s?)?\d(?:[\d.,']*\d)?(?:\s?(?:%|[$€£¥₹]))?"),
    ("⟨name⟩", r"\b[A-ZÀ-ÖØ-Þ][\w'’&.-]*|\b\w*[A-Z]\w*[A-Z]\w*"),
]
# Every mask starts at a word boundary or with one of these characters; the look-ahead lets the
# engine skip the other positions without trying each mask there (a third faster, same output).
_MASK = re.compile(
    r"(?=[\d($€£¥₹hw]|\b)(?:"
    + "|".join(f"(?P<m{i}>{pattern})" for i, (_, pattern) in enumerate(_MASKS))
    + ")"
)
_RUNS = re.compile(r"⟨name⟩(?:[\s&,'’.-]*(?:⟨name⟩|⟨ticker⟩))+")
_DIGITS = re.compile(r"\d+")
_LITERAL = re.compile(r"(?<![⟨\w])[^\W\d_]{2,}(?![\w⟩])")


class TemplateError(DetectorError):
    """A template table file that cannot be read or does not fit this detector."""


#: Segment texts whose shapes and bucket keys are remembered per process (see _shaped).
SHAPE_CACHE = 2**14


def exact_shape(text: str) -> str:
    """``text`` lower-cased, with digits as 0 and runs of whitespace as one space."""
    return " ".join(_DIGITS.sub("0", text.lower()).split())


def shape(text: str) -> str:
    """``text`` with names, numbers, dates, tickers, prices and URLs masked.

    A shape with fewer than two literal words left ("⟨name⟩ ⟨name⟩") would match every short
    heading, so such texts fall back to :func:`exact_shape`.
    """
    return _masked(text) or exact_shape(text)


def _masked(text: str) -> str | None:
    masked = " ".join(_RUNS.sub("⟨name⟩", _MASK.sub(_mask_one, text)).split())
    literals = _LITERAL.finditer(masked)
    if next(literals, None) is None or next(literals, None) is None:
        return None
    return masked


@functools.lru_cache(maxsize=SHAPE_CACHE)
def _shaped(site: str, text: str) -> bytes:
    """A segment text's :func:`text_keys` row on ``site`` as 32 bytes (its shape's digest,
    then its exact shape's): one lookup for a text met before (boilerplate recurs, and the
    labeling pass meets the texts again). Digests, not the shape strings, are kept: a third
    of the memory per text."""
    exact = exact_shape(text)
    return _digest(site, _masked(text) or exact) + _digest(site, exact)


#: Each mask's name by its group number in _MASK (its patterns capture no groups of their own).
_MASK_NAMES = ("", *(name for name, _ in _MASKS))


def _mask_one(match: re.Match[str]) -> str:
    return _MASK_NAMES[match.lastindex]  # type: ignore[index]


def site_of(value: object) -> str:
    """The site an article belongs to: a URL's host, or the value as given."""
    if not isinstance(value, str) or not value.strip():
        return ONE_SITE
    value = value.strip()
    if "://" in value:
        host = urlsplit(value).hostname or value
        return host.removeprefix("www.")
    return value


def _digest(site: str, text_shape: str) -> bytes:
    data = f"{site}\x00{text_shape}".encode("utf-8", "surrogatepass")  # any str, even "\ud800"
    return hashlib.blake2b(data, digest_size=16).digest()


def _key(site: str, text_shape: str) -> tuple[int, ...]:
    return struct.unpack("<4I", _digest(site, text_shape))


def text_keys(sites: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """The bucket seeds of each segment text: its shape's (columns 0-3) and its exact shape's
    (columns 4-7), as ``uint32``. What a table counts and looks up; the counting pass can keep
    them (:class:`detector.batch.Spool`) so that the labeling pass need not shape again."""
    rows = b"".join(_shaped(site, t) for site, t in zip(sites, texts))
    return _as_keys(rows)


def _as_keys(digests: bytes) -> np.ndarray:
    """Rows of 32-byte :func:`_shaped` digests as a writable (n, 8) ``uint32`` array."""
    return np.frombuffer(digests, dtype="<u4").astype(np.uint32).reshape(-1, 8)


@dataclass
class Prepared:
    """What a counting pass already knows of some articles: each one's segments, and the
    :func:`text_keys` of all their segments in order. Handed to
    :meth:`detector.Detector.label_many` so that the labeling pass neither segments nor
    shapes those articles again."""

    segments: list[list[Segment]]
    keys: np.ndarray

    def part(self, a: int, b: int) -> Prepared:
        """What is known of articles ``a`` to ``b`` (exclusive)."""
        if a == 0 and b == len(self.segments):
            return self
        sizes = [len(s) for s in self.segments]
        first = sum(sizes[:a])
        return Prepared(self.segments[a:b], self.keys[first : first + sum(sizes[a:b])])

    def known(
        self, texts: Sequence[str], sites: Sequence[str], which: Sequence[int]
    ) -> dict[tuple[str, str], int]:
        """The row in :attr:`keys` of each (site, segment text) of articles ``which``, for
        :meth:`prepare`; the segmenter remembers those articles' lines, which their cleaned
        texts mostly keep."""
        from detector.segment import remember_lines

        starts = np.cumsum([0, *map(len, self.segments)]).tolist()
        out: dict[tuple[str, str], int] = {}
        for i in which:
            site = sites[i]
            remember_lines(texts[i], self.segments[i])
            for row, s in enumerate(self.segments[i], start=starts[i]):
                out.setdefault((site, s.text), row)
        return out

    def prepare(
        self, texts: Sequence[str], sites: Sequence[str], known: dict[tuple[str, str], int]
    ) -> Prepared:
        """Segment ``texts`` and key their segments, taking the keys of segment texts that
        are ``known`` (a relabel pass meets mostly the segments of the first)."""
        from detector.segment import segment

        segments = [segment(t) for t in texts]
        rows = [
            known.get((site, s.text), -1) for site, segs in zip(sites, segments) for s in segs
        ]
        where = np.array(rows, dtype=np.int64)
        keys = self.keys[where]
        missing = np.flatnonzero(where < 0).tolist()
        if missing:
            site_of_row = [site for site, segs in zip(sites, segments) for _ in segs]
            texts_of_row = [s.text for segs in segments for s in segs]
            keys[missing] = text_keys(
                [site_of_row[i] for i in missing], [texts_of_row[i] for i in missing]
            )
        return Prepared(segments, keys)


class _Sketch:
    """A count-min sketch (depth 4) with conservative update: never undercounts."""

    def __init__(self, width: int):
        self.width = width
        self.table = np.zeros((4, width), dtype=np.uint32)

    def _cells(self, keys: np.ndarray) -> np.ndarray:
        return (keys % np.uint64(self.width)).astype(np.int64)

    def add(self, keys: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Add ``times`` to the count of each row of ``keys`` (distinct rows); returns each
        row's count after the update."""
        cells = self._cells(keys)
        current = self.table[np.arange(4), cells].min(axis=1) + times.astype(np.uint32)
        flat = (cells + np.arange(4) * self.width).ravel()
        np.maximum.at(self.table.reshape(-1), flat, np.repeat(current, 4))
        return current

    def get(self, keys: np.ndarray) -> np.ndarray:
        if len(keys) == 0:
            return np.zeros(0, dtype=np.int64)
        return self.table[np.arange(4), self._cells(keys)].min(axis=1).astype(np.int64)


@dataclass
class _Top:
    """The most frequent shapes of one site (space-saving: bounded, approximate), by their
    bucket key (the first four :func:`text_keys` columns)."""

    counts: dict[tuple[int, ...], int]
    shapes: dict[tuple[int, ...], str]
    examples: dict[tuple[int, ...], str]
    #: Never above the smallest count kept once full: a shape counted no higher is skipped
    #: without scanning the list.
    floor: int = 0


@dataclass
class Shaped:
    """Articles ready to be counted (:func:`shape_articles`), their distinct shapes already
    tallied; made in any process, counted by :meth:`TemplateTable.update` in the one that
    holds the table."""

    #: Each article's site.
    sites: list[str]
    #: The :func:`text_keys` of all segments, article after article.
    keys: np.ndarray
    #: Segments per article.
    sizes: np.ndarray
    #: Each distinct (site, shape): its bucket seeds, in how many of the articles it occurs,
    #: the sum of its relative positions there, and the row of a segment that has it.
    shape_keys: np.ndarray
    shape_times: np.ndarray
    shape_where: np.ndarray
    shape_rows: np.ndarray
    #: Each distinct (site, exact shape): its bucket seeds and in how many articles it occurs.
    exact_keys: np.ndarray
    exact_times: np.ndarray


def shape_articles(
    sites: Sequence[str],
    articles: Sequence[Sequence[str]],
    positions: Sequence[Sequence[float]] | None = None,
) -> Shaped:
    """Shape and key the segment texts of each article (of its site) for counting.

    ``positions`` gives each segment's relative position in its article (by default its
    index over the article's segments).
    """
    all_keys = []
    shape_rows: list[int] = []
    exact_rows: list[int] = []
    where: list[float] = []
    row = 0
    for a, (site, texts) in enumerate(zip(sites, articles)):
        shaped = [_shaped(site, t) for t in texts]
        n = len(texts)
        all_keys.append(_as_keys(b"".join(shaped)))
        first: dict[bytes, int] = {}
        first_exact: dict[bytes, int] = {}
        for i, digests in enumerate(shaped):
            first.setdefault(digests[:16], i)
            first_exact.setdefault(digests[16:], i)
        pos = positions[a] if positions is not None else None
        shape_rows += [row + i for i in first.values()]
        where += [pos[i] if pos is not None else i / max(n - 1, 1) for i in first.values()]
        exact_rows += [row + i for i in first_exact.values()]
        row += n
    keys = np.concatenate(all_keys) if all_keys else np.zeros((0, 8), dtype=np.uint32)
    shape_keys, shape_times, shape_where, shape_at = _tally(
        keys[shape_rows, :4], np.array(where, dtype=np.float64)
    )
    exact_keys, exact_times, _, _ = _tally(keys[exact_rows, 4:], np.zeros(len(exact_rows)))
    return Shaped(
        list(sites),
        keys,
        np.array([len(t) for t in articles], dtype=np.int64),
        shape_keys,
        shape_times,
        shape_where,
        np.array(shape_rows, dtype=np.int64)[shape_at],
        exact_keys,
        exact_times,
    )


def _tally(keys: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, ...]:
    """The distinct rows of ``keys`` (told apart by their first 64 bits: one sort of
    integers), how often each occurs, the sum of its ``where`` and its first index."""
    wide = keys.astype(np.uint64)
    first = wide[:, 0] | (wide[:, 1] << np.uint64(32))
    _, at, inverse, times = np.unique(
        first, return_index=True, return_inverse=True, return_counts=True
    )
    sums = np.bincount(inverse.reshape(-1), weights=where, minlength=len(at))
    return wide[at], times, sums, at


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
    ...     _ = table.add("site.example", [f"Story {n} about rain.", "Get our newsletter now!"])
    >>> table.count("site.example", "Get our newsletter today!")
    0
    >>> table.count("site.example", "Get our newsletter now!")
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
    ) -> np.ndarray:
        """Count one article (or one group of variants of an article) of ``site``.

        Each shape counts once per call, however often it occurs in ``texts``. Returns the
        :func:`text_keys` of ``texts``.
        """
        return self.add_many([site], [texts], None if positions is None else [positions])[0]

    def add_many(
        self,
        sites: Sequence[str],
        articles: Sequence[Sequence[str]],
        positions: Sequence[Sequence[float]] | None = None,
    ) -> list[np.ndarray]:
        """:meth:`add` each article (its segment texts) of its site, with one update of the
        sketches for all of them. Returns the :func:`text_keys` of each article's texts."""
        shaped = shape_articles(sites, articles, positions)
        texts = [t for article in articles for t in article]
        self.update(shaped, texts.__getitem__)
        return np.split(shaped.keys, np.cumsum(shaped.sizes)[:-1])

    def update(self, shaped: Shaped, text_of: Callable[[int], str]) -> None:
        """Count :func:`shape_articles`' work; ``text_of(row)`` is the text of segment
        ``row`` (asked only for shapes that enter a site's list of examples)."""
        for site in shaped.sites:
            self.sites[site] = self.sites.get(site, 0) + 1
        if not len(shaped.shape_keys):
            return
        counts = self._shapes.add(shaped.shape_keys, shaped.shape_times)
        self._exact.add(shaped.exact_keys, shaped.exact_times)
        flat = (self._shapes._cells(shaped.shape_keys) + np.arange(4) * self.width).ravel()
        np.add.at(self._pos_count.reshape(-1), flat, np.repeat(shaped.shape_times, 4))
        np.add.at(
            self._pos_sum.reshape(-1), flat, np.repeat(shaped.shape_where, 4).astype(np.float32)
        )
        names = list(dict.fromkeys(shaped.sites))
        number = {name: i for i, name in enumerate(names)}
        article_site = np.array([number[site] for site in shaped.sites], dtype=np.int64)
        site_of = np.repeat(article_site, shaped.sizes)[shaped.shape_rows]
        for k, site in enumerate(names):
            js = np.flatnonzero(site_of == k) if len(names) > 1 else np.arange(len(counts))
            top = self._top.get(site)
            if top is not None and len(top.counts) >= TOP_PER_SITE:
                # A full list changes only for counts above its floor (see _remember).
                js = js[counts[js] > top.floor]
            self._remember(
                site,
                [tuple(key) for key in shaped.shape_keys[js].tolist()],
                counts[js],
                shaped.shape_rows[js].tolist(),
                text_of,
            )

    def _remember(
        self,
        site: str,
        keys: list[tuple[int, ...]],
        counts: np.ndarray,
        rows: list[int],
        text_of: Callable[[int], str],
    ) -> None:
        top = self._top.setdefault(site, _Top({}, {}, {}))
        for key, c, row in zip(keys, counts.tolist(), rows):
            if key in top.counts:
                top.counts[key] = c
                continue
            if len(top.counts) >= TOP_PER_SITE:
                if c <= top.floor:
                    continue
                weakest = min(top.counts, key=top.counts.__getitem__)
                top.floor = top.counts[weakest]
                if c <= top.floor:
                    continue
                for kept in (top.counts, top.shapes, top.examples):
                    del kept[weakest]
            example = text_of(row)
            top.counts[key] = c
            top.shapes[key] = shape(example)
            top.examples[key] = example
            if len(top.counts) >= TOP_PER_SITE:
                top.floor = min(top.counts.values())

    def count(self, site: str, text: str) -> int:
        """In how many articles of ``site`` the shape of ``text`` occurs (never less)."""
        return int(self.lookup(site, [text])[0][0])

    def lookup(self, site: str, texts: Sequence[str]) -> tuple[np.ndarray, ...]:
        """Per text: shape count, exact count and the shape's mean relative position."""
        return self.lookup_keys(text_keys([site] * len(texts), texts))

    def lookup_keys(self, keys: np.ndarray) -> tuple[np.ndarray, ...]:
        """:meth:`lookup` by the :func:`text_keys` of the texts."""
        n = len(keys)
        if not n:
            empty = np.zeros(0)
            return empty, empty, empty
        shape_keys = keys[:, :4].astype(np.uint64)
        shapes = self._shapes.get(shape_keys)
        exact = self._exact.get(keys[:, 4:].astype(np.uint64))
        cells = self._shapes._cells(shape_keys)
        rows = np.arange(4)
        counts = self._pos_count[rows, cells]
        best = counts.argmin(axis=1)
        picked = counts[np.arange(n), best].astype(np.float64)
        sums = self._pos_sum[rows, cells][np.arange(n), best].astype(np.float64)
        mean_pos = np.divide(sums, picked, out=np.full(n, 0.5), where=picked > 0)
        return shapes.astype(np.float64), exact.astype(np.float64), mean_pos

    def top(self, site: str, n: int = 20) -> list[tuple[str, int, str]]:
        """The ``n`` most frequent shapes of ``site``: (shape, articles, an example text)."""
        entry = self._top.get(site)
        if entry is None:
            return []
        best = heapq.nlargest(
            n, entry.counts.items(), key=lambda kv: (kv[1], entry.shapes[kv[0]])
        )
        return [(entry.shapes[key], c, entry.examples[key]) for key, c in best]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the table atomically to ``path`` (a ``.npz`` file)."""
        from detector.io import atomic_write

        meta = {
            "shape_version": SHAPE_VERSION,
            "width": self.width,
            "sites": self.sites,
            "top": {
                site: [
                    {t.shapes[key]: c for key, c in t.counts.items()},
                    {t.shapes[key]: example for key, example in t.examples.items()},
                ]
                for site, t in self._top.items()
            },
        }
        with atomic_write(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                shapes=self._shapes.table,
                exact=self._exact.table,
                pos_count=self._pos_count,
                pos_sum=self._pos_sum,
                # ASCII JSON: shapes and examples may hold a lone surrogate, which UTF-8 cannot
                meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
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
    except (OSError, ValueError, KeyError, UnicodeDecodeError, EOFError, zipfile.BadZipFile,
            zlib.error) as exc:  # a truncated or corrupt file fails in any of these
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
    table._top = {site: _top_from(site, c, e) for site, (c, e) in meta["top"].items()}
    table.path = os.fspath(path)
    table._stamp = file_stamp(table.path)
    return table


def _top_from(site: str, counts: dict[str, int], examples: dict[str, str]) -> _Top:
    """A site's example list as :meth:`TemplateTable.save` wrote it (by shape)."""
    keys = {sh: _key(site, sh) for sh in counts}
    return _Top(
        {keys[sh]: int(c) for sh, c in counts.items()},
        {key: sh for sh, key in keys.items()},
        {keys[sh]: str(examples.get(sh, "")) for sh in counts},
    )


def template_columns(
    table: TemplateTable | None,
    texts: Sequence[str],
    sites: Sequence[str],
    rel_pos: np.ndarray,
    keys: np.ndarray | None = None,
) -> np.ndarray:
    """The :data:`TEMPLATE_COLUMNS` of each segment, given its text, site and position (and
    its :func:`text_keys` when known already).

    All zeros for a segment whose site has fewer than :data:`MIN_BATCH` articles in ``table``
    (or when there is no table): a single article is labeled as without a batch.
    """
    out = np.zeros((len(texts), len(TEMPLATE_COLUMNS)))
    if table is None or not len(texts):
        return out
    names = list(dict.fromkeys(sites))
    if len(names) == 1:
        code = np.zeros(len(texts), dtype=np.int64)
    else:
        number = {name: i for i, name in enumerate(names)}
        code = np.fromiter(map(number.__getitem__, sites), dtype=np.int64, count=len(texts))
    n_site = np.array([table.sites.get(name, 0) for name in names], dtype=np.float64)[code]
    rows = np.flatnonzero(n_site >= MIN_BATCH)
    if not len(rows):
        return out
    if keys is None:
        which = rows.tolist()
        keys = text_keys([sites[i] for i in which], [texts[i] for i in which])
    else:
        keys = keys[rows]
    shapes, exact, mean_pos = table.lookup_keys(keys)
    recurs = shapes >= 2
    out[rows, 0] = 1.0
    out[rows, 1] = np.minimum(np.log2(np.maximum(shapes, 1)), 3) / 3
    out[rows, 2] = np.clip((shapes - 1) / np.maximum(n_site[rows] - 1, 1), 0, 1)
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
    from itertools import islice

    from detector.segment import segment_bounds

    table = TemplateTable() if table is None else table
    stream = iter(articles)
    while group := list(islice(stream, COUNT_GROUP)):
        texts = [[text[a:b] for a, b, _ in segment_bounds(text)] for _, text in group]
        table.add_many([site for site, _ in group], texts)
    return table
