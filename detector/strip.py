"""Text + labeled spans -> cleaned or marked text.

Stripping removes exactly the given spans and tidies the whitespace they leave behind; every
character outside the spans stays, in order. The only characters dropped besides the spans are
whitespace characters next to a removed span (so that a removed line does not leave a blank line
and a removed sentence does not leave a double space).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import Protocol

__all__ = [
    "MARK_CLOSE",
    "MARK_OPEN",
    "kept_ranges",
    "map_back",
    "mark_spans",
    "merge_spans",
    "strip_spans",
]

MARK_OPEN = "⟦{label} {score:.2f}⟧"
MARK_CLOSE = "⟦/{label}⟧"
_PUNCT_AFTER = ".,;:!?)]}»“”\"'’"


class _Span(Protocol):
    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


def merge_spans(text: str, spans: Iterable[_Span | tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint (start, end) ranges; spans separated only by whitespace are joined."""
    ranges = sorted((s.start, s.end) if not isinstance(s, tuple) else (s[0], s[1]) for s in spans)
    merged: list[tuple[int, int]] = []
    for a, b in ranges:
        a, b = max(a, 0), min(b, len(text))
        if a >= b:
            continue
        if merged and (a <= merged[-1][1] or text[merged[-1][1] : a].isspace()):
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def strip_spans(text: str, spans: Iterable[_Span | tuple[int, int]]) -> str:
    """Remove ``spans`` from ``text`` and tidy the whitespace around each removal.

    >>> strip_spans("Keep this.\\nBuy now!\\nKeep that.", [(11, 19)])
    'Keep this.\\nKeep that.'
    >>> strip_spans("One. Ad here. Two.", [(5, 13)])
    'One. Two.'
    """
    return "".join(text[a:b] for a, b in kept_ranges(text, spans))


def kept_ranges(text: str, spans: Iterable[_Span | tuple[int, int]]) -> list[tuple[int, int]]:
    """The (start, end) ranges of ``text`` that stripping ``spans`` keeps, in order.

    Everything outside the spans is kept except whitespace next to a removal: of the whitespace
    before and after a removed span, one run stays, so that the text around it is neither
    glued nor spaced twice. Inside a line that is the run before it (or none, when punctuation
    follows: "Fed (read: ...)." -> "Fed."); where a run holds a line break, the one with more
    line breaks stays, so a removed line or sentence never joins two paragraphs.
    """
    kept: list[tuple[int, int]] = []
    pos = 0
    n = len(text)
    started = False  # whether a non-space character is kept before the span
    for a, b in merge_spans(text, spans):
        after = b
        while after < n and text[after].isspace():
            after += 1
        if after == n:
            # A removed tail: drop the whitespace before it, keep the text's own line ending.
            kept.append((pos, _rstrip_end(text, pos, a)))
            end = _rstrip_end(text, 0, n)
            if _line_breaks(text[end:n]):
                kept.append((end, n))
            pos = n
            break
        before = _rstrip_end(text, pos, a)
        started = started or before > pos
        breaks_before, breaks_after = _line_breaks(text[before:a]), _line_breaks(text[b:after])
        if breaks_after > breaks_before and started:
            kept.append((pos, before))  # the break after the span parts what it separated
            pos = b
            continue
        if not breaks_before and not breaks_after and text[after] in _PUNCT_AFTER:
            kept.append((pos, before))  # "Fed (read: ...)." -> "Fed.", not "Fed ."
        else:
            kept.append((pos, a))
        pos = after
    kept.append((pos, n))
    return [(a, b) for a, b in kept if a < b]


def _rstrip_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _line_breaks(space: str) -> int:
    """How many line breaks a run of whitespace holds (\\r\\n is one; any break
    :meth:`str.splitlines` knows counts)."""
    return len(f"x{space}x".splitlines()) - 1


def map_back(
    spans: Iterable[tuple[int, int]], kept: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Spans of a stripped text, as spans of the original; ``kept`` from :func:`kept_ranges`.

    A span that crosses a removed stretch comes back as several spans.
    """
    starts = []
    offset = 0
    for a, b in kept:
        starts.append(offset)
        offset += b - a
    out = []
    for s, e in spans:
        k = max(bisect_right(starts, s) - 1, 0)
        while k < len(kept) and starts[k] < e:
            (a, b), at = kept[k], starts[k]
            lo, hi = max(s, at), min(e, at + b - a)
            if lo < hi:
                out.append((a + lo - at, a + hi - at))
            k += 1
    return out


def mark_spans(text: str, spans: Sequence[tuple[int, int, str, float]]) -> str:
    """Wrap each (start, end, label, score) span in visible markers; nothing is removed."""
    out = []
    pos = 0
    for a, b, label, score in sorted(spans):
        out.append(text[pos:a])
        out.append(MARK_OPEN.format(label=label, score=score))
        out.append(text[a:b])
        out.append(MARK_CLOSE.format(label=label))
        pos = b
    out.append(text[pos:])
    return "".join(out)
