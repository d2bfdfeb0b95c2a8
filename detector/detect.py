"""Text -> scored segments -> labels: the :class:`Detector` users call.

>>> from detector import Detector
>>> detector = Detector.load()                       # the shipped model
>>> cleaned = detector.strip("Editorial text.\\nACME-Aktie: Kaufen oder verkaufen?!")
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from threadpoolctl import ThreadpoolController

from detector.cues import segment_columns
from detector.defaults import DEFAULT_KEEP, DEFAULT_THRESHOLD
from detector.errors import ModelError
from detector.io import file_stamp
from detector.model import (
    ADVERT,
    EDITORIAL,
    Model,
    card_path,
    default_model_path,
    load_model,
)
from detector.strip import kept_ranges, map_back, mark_spans, strip_spans
from detector.templates import ONE_SITE, Prepared, TemplateTable, site_of

__all__ = ["DEFAULT_THRESHOLD", "DEFAULT_KEEP", "Detector", "LabeledSpan"]

#: Upper bound on labeling passes over one text (see Detector.label_many).
MAX_STRIP_PASSES = 10
#: Characters of text labeled in one batched prediction (see Detector.label_many).
LABEL_CHARS = 2**20


class LabeledSpan(NamedTuple):
    """A segment with its label and advert score; the span shape of data/FORMAT.md.

    A named tuple, like :class:`~detector.segment.Segment`: one is made per segment and pass.
    """

    start: int
    end: int
    label: str
    score: float

    def to_dict(self) -> dict[str, object]:
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "score": round(self.score, 4),
        }


def _relabel(
    text: str, spans: list[LabeledSpan], removals: list[tuple[int, int, str]], *, share: float
) -> list[LabeledSpan]:
    """Give each segment of which a later pass removes more than ``share`` of the non-space
    characters that removal's label. Both lists are sorted: one sweep over them."""
    out = []
    removals = sorted(removals)
    k = 0
    for span in spans:
        while k < len(removals) and removals[k][1] <= span.start:
            k += 1
        solid = sum(not c.isspace() for c in text[span.start : span.end])
        j = k
        while j < len(removals) and removals[j][0] < span.end:
            a, b, label = removals[j]
            lo, hi = max(a, span.start), min(b, span.end)
            if lo < hi and sum(not c.isspace() for c in text[lo:hi]) > share * solid:
                span = LabeledSpan(span.start, span.end, label, span.score)
                break
            j += 1
        out.append(span)
    return out


def _groups(texts: Sequence[str], budget: int) -> list[tuple[int, int]]:
    """Consecutive index ranges covering ``texts``, each of at most ``budget`` characters
    (or one text, when a single text is longer)."""
    out = []
    start, size = 0, 0
    for i, text in enumerate(texts):
        if size and size + len(text) > budget:
            out.append((start, i))
            start, size = i, 0
        size += len(text)
    if start < len(texts):
        out.append((start, len(texts)))
    return out


def _blocks(text: str, spans: list[LabeledSpan]) -> list[tuple[int, int, str, float]]:
    """Runs of same-label spans separated only by whitespace, as one (start, end, label,
    lowest score) each, so that a marked advert block reads as one block."""
    out: list[tuple[int, int, str, float]] = []
    for s in spans:
        if out and out[-1][2] == s.label and text[out[-1][1] : s.start].isspace():
            a, _, label, score = out[-1]
            out[-1] = (a, s.end, label, min(score, s.score))
        else:
            out.append((s.start, s.end, s.label, s.score))
    return out


def _cached_model(path: str | None, trust: bool) -> Model:
    """The model at ``path``, loaded (and checked) once per process while the model file and
    its card stay unchanged."""
    where = default_model_path() if path is None else Path(path)
    stamp = file_stamp(where)
    if stamp is None:
        return load_model(path, trust=trust)  # reports the missing file
    return _load_once(path, trust, stamp, file_stamp(card_path(where)))


@functools.lru_cache(maxsize=4)
def _load_once(
    path: str | None, trust: bool, model: tuple[int, int], card: tuple[int, int] | None
) -> Model:
    return load_model(path, trust=trust)


@functools.cache
def _blas_threads() -> ThreadpoolController:
    """The process's BLAS thread pools. Prediction runs them with one thread: its dense products
    are small, and a second OpenBLAS thread spins more than it helps (about 10% of the CPU time
    of a single-core run, and it competes with the other workers under --jobs)."""
    return ThreadpoolController()


def _reload(
    path: str | None,
    trust: bool,
    threshold: float,
    keep: Sequence[str],
    templates: TemplateTable | None = None,
) -> Detector:
    return Detector.load(path, trust=trust, threshold=threshold, keep=keep, templates=templates)


class Detector:
    """Label the segments of articles and strip or mark the ones to remove.

    Parameters
    ----------
    model : Model
        A trained model (:func:`detector.model.load_model`).
    threshold : float
        Minimum probability of a removable label for a segment to get it; higher keeps more.
    keep : sequence of str
        Non-editorial labels that are kept in the text (``neutral`` by default).
    templates : TemplateTable, optional
        Per-site shape counts over the batch (:mod:`detector.templates`): segments whose
        shape recurs on their site are scored with that evidence too.
    """

    def __init__(
        self,
        model: Model,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        keep: Sequence[str] = DEFAULT_KEEP,
        templates: TemplateTable | None = None,
    ):
        self.model = model
        self.threshold = threshold
        self.keep = tuple(keep)
        self.templates = templates
        self._loaded_from: tuple[str | None, bool] | None = None

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        trust: bool = False,
        threshold: float = DEFAULT_THRESHOLD,
        keep: Sequence[str] = DEFAULT_KEEP,
        templates: TemplateTable | None = None,
    ) -> Detector:
        """A detector with the model at ``path`` (the shipped model when None)."""
        where = None if path is None else os.fspath(path)
        detector = cls(
            _cached_model(where, trust), threshold=threshold, keep=keep, templates=templates
        )
        detector._loaded_from = (where, trust)
        return detector

    def __reduce_ex__(self, protocol: Any) -> Any:
        # A detector loaded from a file travels to worker processes as its path: each worker
        # then loads the model once (see _cached_model), not once per batch of articles.
        if self._loaded_from is None:
            return super().__reduce_ex__(protocol)
        path, trust = self._loaded_from
        return (_reload, (path, trust, self.threshold, self.keep, self.templates))

    @property
    def removable(self) -> tuple[str, ...]:
        return tuple(c for c in self.model.labels if c != EDITORIAL and c not in self.keep)

    def label_many(
        self,
        texts: Sequence[str],
        *,
        sites: Sequence[str] | None = None,
        prepared: Prepared | None = None,
    ) -> list[list[LabeledSpan]]:
        """Label every segment of each text, in batched predictions of up to LABEL_CHARS
        characters of text.

        ``sites`` names each text's site for the template counts (one site for all when
        omitted); it matters only with :attr:`templates`. ``prepared`` holds the texts'
        segments and shape keys when a counting pass made them already.

        Removing a block changes the context of what is left, so after the first pass the
        cleaned text is labeled again until nothing more goes (at most MAX_STRIP_PASSES
        passes; two are the rule); a segment removed by a later pass takes that pass's label
        and keeps its first-pass score. The last pass saw exactly the stripped text and found
        nothing to remove, so stripping the cleaned text once more changes nothing.
        """
        if sites is None:
            sites = [ONE_SITE] * len(texts)
        labeled: list[list[LabeledSpan]] = []
        # A group of texts at a time: the features of a batch take some 20 times its text's
        # memory, so a chunk of long articles is labeled in parts (the labels are the same).
        for a, b in _groups(texts, LABEL_CHARS):
            part = None if prepared is None else prepared.part(a, b)
            labeled += self._label_group(texts[a:b], sites[a:b], part)
        return labeled

    def _label_group(
        self, texts: Sequence[str], sites: Sequence[str], prepared: Prepared | None
    ) -> list[list[LabeledSpan]]:
        """:meth:`label_many` for one group of texts."""
        labeled = self._label_once(texts, sites, prepared)
        removed = [[(s.start, s.end) for s in self._to_remove(spans)] for spans in labeled]
        pending = [i for i, r in enumerate(removed) if r]
        relabel = None  # the first pass's segments and keys, for the cleaned texts
        if prepared is not None and pending:
            known = prepared.known(texts, sites, pending)
            relabel = functools.partial(prepared.prepare, known=known)
        for _ in range(MAX_STRIP_PASSES - 1):
            if not pending:
                break
            kept = {i: kept_ranges(texts[i], removed[i]) for i in pending}
            cleaned = ["".join(texts[i][a:b] for a, b in kept[i]) for i in pending]
            cleaned_sites = [sites[i] for i in pending]
            again = self._label_once(
                cleaned, cleaned_sites, None if relabel is None else relabel(cleaned, cleaned_sites)
            )
            still = []
            for i, spans in zip(pending, again):
                more = [(s.start, s.end, s.label) for s in self._to_remove(spans)]
                if not more:
                    continue
                back = [
                    (a, b, label) for x, y, label in more for a, b in map_back([(x, y)], kept[i])
                ]
                relabeled = _relabel(texts[i], labeled[i], back, share=0.5)
                if relabeled == labeled[i]:  # only slivers of segments: take them whole
                    relabeled = _relabel(texts[i], labeled[i], back, share=0.0)
                labeled[i] = relabeled
                removed[i] = [(s.start, s.end) for s in self._to_remove(labeled[i])]
                still.append(i)
            pending = still
        return labeled

    def _label_once(
        self, texts: Sequence[str], sites: Sequence[str], prepared: Prepared | None = None
    ) -> list[list[LabeledSpan]]:
        """One batched prediction: every segment with its label and advert score."""
        table, segments = segment_columns(
            ((str(i), t) for i, t in enumerate(texts)),
            templates=self.templates,
            sites=sites,
            segments=None if prepared is None else prepared.segments,
            keys=None if prepared is None else prepared.keys,
        )
        if len(table["text"]) == 0:
            return [[] for _ in texts]
        try:
            with _blas_threads().limit(limits=1, user_api="blas"):
                proba = self.model.predict_proba(table)
        except ValueError as exc:  # features of another detector version
            raise ModelError(
                f"the model does not fit this detector's features ({exc}); retrain it with "
                "detector train"
            ) from None
        labels = self._decide(proba)
        scores = self._advert_score(proba)
        out: list[list[LabeledSpan]] = []
        row = 0
        for segs in segments:
            spans = []
            for s in segs:
                spans.append(LabeledSpan(s.start, s.end, labels[row], float(scores[row])))
                row += 1
            out.append(spans)
        return out

    def label(self, text: str, *, site: str = ONE_SITE) -> list[LabeledSpan]:
        """Every segment of ``text`` with its label and advert score; ``site`` names its
        site in :attr:`templates` (a table counted by site; a URL counts as its host)."""
        return self.label_many([text], sites=[site_of(site)])[0]

    def strip_many(
        self,
        texts: Sequence[str],
        *,
        sites: Sequence[str] | None = None,
        prepared: Prepared | None = None,
    ) -> list[str]:
        """Strip each text: its removable segments go, editorial characters stay in order."""
        return [
            strip_spans(t, self._to_remove(spans))
            for t, spans in zip(texts, self.label_many(texts, sites=sites, prepared=prepared))
        ]

    def strip(self, text: str, *, site: str = ONE_SITE) -> str:
        """``text`` without its advert segments; editorial characters kept in order.
        ``site`` names its site in :attr:`templates` (a table counted by site)."""
        return self.strip_many([text], sites=[site_of(site)])[0]

    def mark_many(
        self,
        texts: Sequence[str],
        *,
        sites: Sequence[str] | None = None,
        prepared: Prepared | None = None,
    ) -> list[str]:
        return [
            mark_spans(t, _blocks(t, self._to_remove(spans)))
            for t, spans in zip(texts, self.label_many(texts, sites=sites, prepared=prepared))
        ]

    def mark(self, text: str, *, site: str = ONE_SITE) -> str:
        """``text`` with advert segments wrapped in visible markers, for review; ``site`` as
        for :meth:`strip`."""
        return self.mark_many([text], sites=[site_of(site)])[0]

    def _to_remove(self, spans: Iterable[LabeledSpan]) -> list[LabeledSpan]:
        removable = set(self.removable)
        return [s for s in spans if s.label in removable]

    def _decide(self, proba: np.ndarray) -> list[str]:
        """Per row: the likeliest non-editorial label when its probability reaches the threshold
        (0.5 for a kept label such as neutral, which is never removed anyway), else editorial.
        Threshold 1.0 removes nothing, even where a probability rounds to exactly 1.0."""
        classes = list(self.model.labels)
        other = [j for j, c in enumerate(classes) if c != EDITORIAL]
        if not other:
            return [EDITORIAL] * len(proba)
        best = np.asarray(other)[np.argmax(proba[:, other], axis=1)]  # the first of equals
        p = proba[np.arange(len(proba)), best]
        kept = np.isin(best, [j for j in other if classes[j] in self.keep])
        chosen = ((p >= self.threshold) & (self.threshold < 1.0)) | (kept & (p >= 0.5))
        names = np.array(classes, dtype=object)
        return np.where(chosen, names[best], EDITORIAL).tolist()

    def _advert_score(self, proba: np.ndarray) -> np.ndarray:
        classes = list(self.model.labels)
        if ADVERT in classes:
            return proba[:, classes.index(ADVERT)]
        if EDITORIAL in classes:
            return 1.0 - proba[:, classes.index(EDITORIAL)]
        return proba.max(axis=1)
