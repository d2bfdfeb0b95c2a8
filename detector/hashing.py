"""A vectorised twin of ``HashingVectorizer.transform`` for the analyzers detector uses.

scikit-learn builds every n-gram as a Python string and hashes it one at a time, which is most
of the cost of featurizing a segment. Every word n-gram is a substring of the segment's tokens
joined by spaces, and every ``char_wb`` n-gram a substring of its padded words, so here the
n-grams are (start, length) pairs into one UTF-8 buffer per batch and MurmurHash3 runs over all
of them at once in numpy. The counts are the ones scikit-learn counts, entry for entry:
:func:`hash_transform` returns its matrix (and falls back to the vectorizer itself for
settings it does not cover), :func:`hashed_dot` multiplies them by a model's weights without
building a matrix at all. Only :func:`hash_transform` needs scikit-learn and scipy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["Hashing", "fold_digits", "hash_transform", "hashed_dot", "murmurhash3_32"]

# A regex substitution: three times faster than str.translate on segment texts, which are
# mostly free of digits.
_NONZERO_DIGIT = re.compile("[1-9]")


def fold_digits(text: str) -> str:
    """``text`` lower-cased with every ASCII digit written as 0: the n-gram vectorizers'
    preprocessor, so that "Analyse vom 3. März" and "vom 14. Mai", or "$39" and "$1,000",
    share their n-grams (a site's adverts repeat with other numbers).

    >>> fold_digits("Q3 2025: +26%")
    'q0 0000: +00%'
    """
    return _NONZERO_DIGIT.sub("0", text.lower())

_C1 = np.uint32(0xCC9E2D51)
_C2 = np.uint32(0x1B873593)


@dataclass(frozen=True)
class Hashing:
    """The settings of a ``HashingVectorizer`` that the bulk path reproduces."""

    analyzer: str  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    token_pattern: str
    n_features: int
    alternate_sign: bool
    norm: str | None  # "l1", "l2" or None
    #: The vectorizer's preprocessor is :func:`fold_digits` (a class default, so that the
    #: settings pickled in model files made before it read as False).
    digits_folded: bool = False

    @classmethod
    def of(cls, vectorizer: Any) -> Hashing | None:
        """The settings of ``vectorizer``, or None when the bulk path would not build exactly
        its matrix."""
        from sklearn.feature_extraction.text import HashingVectorizer

        v = vectorizer
        if type(v) is not HashingVectorizer or not _supported(v):
            return None
        return cls(
            analyzer=v.analyzer,
            ngram_range=tuple(v.ngram_range),  # type: ignore[arg-type]
            token_pattern=v.token_pattern,
            n_features=int(v.n_features),
            alternate_sign=bool(v.alternate_sign),
            norm=v.norm,
            digits_folded=v.preprocessor is fold_digits,
        )

    def preprocessed(self, texts: list[str]) -> list[str]:
        """``texts`` as the vectorizer's n-grams are taken from: lower-cased, and with
        :func:`fold_digits` when that is its preprocessor."""
        return list(map(fold_digits if self.digits_folded else str.lower, texts))

    def counts(
        self, texts: list[str], *, preprocessed: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The nonzero entries of the vectorizer's matrix for ``texts``, row by row and column
        by column within a row: (rows, columns, values), normalized as the vectorizer does.
        With ``preprocessed``, ``texts`` are already :meth:`preprocessed`.

        A lone surrogate (which UTF-8 cannot hold; JSON can) is hashed as its three-byte
        "surrogatepass" encoding, so any Python string can be labeled.
        """
        if not preprocessed:
            texts = self.preprocessed(texts)
        if self.analyzer == "word":
            grams = _word_grams(texts, re.compile(self.token_pattern), self.ngram_range)
        else:
            grams = _char_wb_grams(texts, self.ngram_range)
        buf, starts, lengths, rows = grams
        hashes = murmurhash3_32(buf, starts, lengths).astype(np.int64)
        keys = rows * self.n_features + np.abs(hashes) % self.n_features
        # One sort of row-major keys gives the entries in order and their counts.
        if self.alternate_sign:
            order = np.argsort(keys, kind="stable")
            keys = keys[order]
            first = np.flatnonzero(np.diff(keys, prepend=-1))
            signs = np.where(hashes[order] >= 0, 1.0, -1.0)
            values = np.add.reduceat(signs, first) if len(first) else signs[:0]
        else:
            keys = np.sort(keys, kind="stable")
            first = np.flatnonzero(np.diff(keys, prepend=-1))
            values = np.diff(first, append=len(keys)).astype(np.float64)
        unique = keys[first]
        rows, cols = unique // self.n_features, unique % self.n_features
        if self.norm is not None:
            size = np.abs(values) if self.norm == "l1" else values * values
            norms = np.bincount(rows, weights=size, minlength=len(texts))
            if self.norm == "l2":
                norms = np.sqrt(norms)
            norms[norms == 0.0] = 1.0
            values = values / norms[rows]
        return rows, cols, values


def hash_transform(vectorizer: Any, texts: Sequence[str]) -> sp.csr_matrix:
    """``vectorizer.transform(texts)``, computed in bulk when its settings allow.

    >>> from sklearn.feature_extraction.text import HashingVectorizer
    >>> v = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 4), n_features=2**10)
    >>> texts = ["Kaufen oder verkaufen?!"]
    >>> (hash_transform(v, texts) != v.transform(texts)).nnz
    0
    """
    import scipy.sparse as sp

    texts = list(texts)
    spec = Hashing.of(vectorizer)
    if not texts or spec is None:
        return vectorizer.transform(texts)
    rows, cols, values = spec.counts(texts)
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(texts)), out=indptr[1:])
    return sp.csr_matrix((values, cols, indptr), shape=(len(texts), spec.n_features))


def hashed_dot(
    spec: Hashing, texts: list[str], weights: np.ndarray, *, preprocessed: bool = False
) -> np.ndarray:
    """The vectorizer's matrix for ``texts`` times ``weights`` (n_features x k), without the
    matrix: one row of k sums per text. ``preprocessed`` as for :meth:`Hashing.counts`."""
    rows, cols, values = spec.counts(texts, preprocessed=preprocessed)
    out = np.empty((len(texts), weights.shape[1]))
    for j in range(weights.shape[1]):
        out[:, j] = np.bincount(rows, weights=values * weights[cols, j], minlength=len(texts))
    return out


def _supported(v: Any) -> bool:
    """Settings under which the bulk path builds exactly scikit-learn's matrix."""
    plain = (
        v.input == "content"
        and v.strip_accents is None
        and v.lowercase
        and v.preprocessor in (None, fold_digits)
        and v.tokenizer is None
        and v.stop_words is None
        and not v.binary
        and v.norm in ("l1", "l2", None)
        and np.dtype(v.dtype) == np.float64
        and 1 <= v.ngram_range[0] <= v.ngram_range[1]
    )
    if not plain:
        return False
    if v.analyzer == "word":
        return re.compile(v.token_pattern).groups == 0
    # a padded word has at least 3 characters: n-grams from 3 up never need the short-word rule
    return v.analyzer == "char_wb" and v.ngram_range[0] <= 3


def _utf8(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of ``text`` and the byte offset of each character (plus the end)."""
    buf = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    offsets = np.flatnonzero((buf & 0xC0) != 0x80)
    return buf, np.append(offsets, len(buf))


def _word_grams(
    texts: list[str], pattern: re.Pattern[str], ngram_range: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Word n-grams of all (preprocessed) texts as (buffer, byte starts, byte lengths, row of
    each n-gram)."""
    tokens = [pattern.findall(t) for t in texts]
    flat = list(chain.from_iterable(tokens))
    doc = np.repeat(np.arange(len(texts)), [len(t) for t in tokens])
    lengths = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat))
    first = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
    buf, offsets = _utf8(" ".join(flat))
    i, n = _windows(doc, *ngram_range)
    last = i + n - 1
    return _as_bytes(buf, offsets, first[i], first[last] + lengths[last], doc[i])


def _char_wb_grams(
    texts: list[str], ngram_range: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``char_wb`` n-grams (inside each word padded with a space either side) of all
    (preprocessed) texts."""
    words = [t.split() for t in texts]
    flat = list(chain.from_iterable(words))
    doc = np.repeat(np.arange(len(texts)), [len(w) for w in words])
    padded = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat)) + 2
    word_of = np.repeat(np.arange(len(flat)), padded)
    buf, offsets = _utf8(" " + "  ".join(flat) + " " if flat else "")
    p, n = _windows(word_of, *ngram_range)
    return _as_bytes(buf, offsets, p, p + n, doc[word_of[p]])


def _windows(group: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """(first item, size) of every run of ``lo`` to ``hi`` consecutive items of one group.

    Ordered by first item, so that the n-grams come row by row: sorting their keys later is
    then mostly merging rows that are already in order.
    """
    sizes = np.arange(lo, hi + 1)
    first = np.arange(len(group))[:, None]
    last = first + sizes - 1
    inside = last < len(group)
    inside &= group[first] == group[np.minimum(last, max(len(group) - 1, 0))]
    return np.broadcast_to(first, inside.shape)[inside], np.broadcast_to(sizes, inside.shape)[
        inside
    ]


def _as_bytes(
    buf: np.ndarray, offsets: np.ndarray, starts: np.ndarray, ends: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Character ranges -> byte ranges of the buffer."""
    first = offsets[starts]
    return buf, first, offsets[ends] - first, rows


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def murmurhash3_32(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """MurmurHash3 (x86, 32 bit, seed 0) of each ``buf[start:start + length]``, as int32.

    The values of ``sklearn.utils.murmurhash3_32(bytes, positive=False)``:

    >>> buf = np.frombuffer("ab über".encode(), dtype=np.uint8)
    >>> from sklearn.utils import murmurhash3_32 as reference
    >>> int(murmurhash3_32(buf, np.array([3]), np.array([5]))[0]) == reference("über".encode())
    True
    """
    data = np.zeros(len(buf) + 4, dtype=np.uint32)
    data[: len(buf)] = buf
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    h = np.zeros(len(starts), dtype=np.uint32)
    blocks = lengths // 4
    for j in range(int(blocks.max(initial=0))):
        todo = np.flatnonzero(blocks > j) if j else np.flatnonzero(blocks)
        at = starts[todo] + 4 * j
        k = data[at] | (data[at + 1] << np.uint32(8))
        k |= (data[at + 2] << np.uint32(16)) | (data[at + 3] << np.uint32(24))
        k = _rotl(k * _C1, 15) * _C2
        hj = _rotl(h[todo] ^ k, 13)
        h[todo] = hj * np.uint32(5) + np.uint32(0xE6546B64)
    tail = lengths & 3
    todo = np.flatnonzero(tail)
    at = starts[todo] + lengths[todo] - tail[todo]
    size = tail[todo]
    k = data[at].copy()
    k |= np.where(size >= 2, data[at + 1] << np.uint32(8), np.uint32(0))
    k |= np.where(size >= 3, data[at + 2] << np.uint32(16), np.uint32(0))
    h[todo] ^= _rotl(k * _C1, 15) * _C2
    h ^= lengths.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h.view(np.int32)
