"""Pick the segments whose labels would teach the model most (uncertainty sampling).

Every segment of the corpus is scored by the model (as ``detector label`` scores it: by default
with the corpus's own site templates counted first); the ones whose advert score is closest to
the threshold (where the model hesitates) come first. To spread the picks, a segment whose
shape (:func:`detector.templates.shape`: names, numbers, dates, tickers and URLs masked) was
already picked is left out, an article gives at most ``per_article`` segments, and the sites
take turns (round robin, each site offering its most uncertain segment left), optionally capped
by ``per_site``. Sites are those of :func:`detector.batch.chunk_sites`.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detector.batch import chunk_sites, count_input
from detector.defaults import DEFAULT_PER_ARTICLE
from detector.detect import Detector
from detector.errors import InputError
from detector.io import Input
from detector.model import EDITORIAL
from detector.review.tasks import DEFAULT_LABELS, task_format, write_tasks
from detector.templates import ONE_SITE, shape

__all__ = [
    "CONTEXT_CHARS",
    "DEFAULT_PER_ARTICLE",
    "PickResult",
    "pick",
    "pick_to_file",
]

log = logging.getLogger(__name__)

#: Characters of article text shown before and after the segment.
CONTEXT_CHARS = 300
#: Candidates kept per site, as a multiple of the number of tasks asked for (bounds memory).
_POOL_FACTOR = 4

@dataclass
class _Article:
    id: str
    text: str
    site: str | None
    model_spans: list[dict[str, Any]]


@dataclass
class _Candidate:
    distance: float
    order: int  # corpus order: ties go to the earlier segment
    article: _Article
    start: int
    end: int
    score: float
    guess: str
    shape: str

    def key(self) -> tuple[float, int]:
        return (self.distance, self.order)


def pick(
    corpus: str,
    detector: Any,
    *,
    n: int = 200,
    per_article: int = DEFAULT_PER_ARTICLE,
    per_site: int | None = None,
    site_field: str | None = None,
    batch: bool = True,
    text_field: str = "text",
    id_field: str = "id",
    encoding: str = "utf-8",
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """The ``n`` most informative segments of ``corpus`` as review tasks.

    Parameters
    ----------
    corpus : str
        Anything ``detector label`` reads: text file, folder, JSONL, CSV or Parquet.
    detector : Detector
        Scores the segments; its threshold is where the model hesitates most.
    n : int
        How many tasks (fewer if the corpus has fewer distinct segments).
    per_article, per_site : int
        Caps on the tasks from one article and from one site (None: no site cap).
    site_field : str
        Field naming the site; without it the host of a ``url`` field, else a ``source``
        field, else one site.
    batch : bool
        Count the corpus's site templates first and score with them (unless ``detector``
        already has templates), as ``detector label`` does.
    progress : callable
        Called with (articles, characters) after each chunk.
    """
    if n < 1 or per_article < 1 or (per_site is not None and per_site < 1):
        raise ValueError("n, per_article and per_site must be positive")
    source = Input(corpus, text_field, id_field, encoding=encoding)
    if batch and detector.templates is None and source.kind != "stdin":
        detector = Detector(
            detector.model,
            threshold=detector.threshold,
            keep=detector.keep,
            templates=count_input(source, site_field=site_field),
        )
    pools: dict[str, dict[str, _Candidate]] = {}
    seen_ids: set[str] = set()
    order = 0
    for chunk in source.chunks():
        texts = [chunk.texts[k] for k in chunk.good]
        sites = chunk_sites(chunk, site_field, corpus)
        labeled = detector.label_many(texts, sites=[sites[k] for k in chunk.good])
        for k, spans in zip(chunk.good, labeled):
            article_id = chunk.ids[k]
            if article_id in seen_ids:
                raise InputError(
                    f"{corpus}: article id {article_id!r} appears twice; tasks need unique "
                    f"ids (pass --id-field)"
                )
            seen_ids.add(article_id)
            article = _Article(
                article_id,
                chunk.texts[k],
                None if sites[k] == ONE_SITE else sites[k],
                [
                    {"start": s.start, "end": s.end, "label": s.label}
                    for s in spans
                    if s.label != EDITORIAL
                ],
            )
            candidates = []
            for s in spans:
                segment_text = article.text[s.start : s.end]
                if not any(c.isalnum() for c in segment_text):
                    continue
                distance = abs(s.score - detector.threshold)
                candidates.append(
                    _Candidate(distance, order, article, s.start, s.end, s.score, s.label,
                               shape(segment_text))
                )
                order += 1
            _offer(pools.setdefault(article.site or "", {}), candidates, per_article, n)
        if progress is not None:
            progress(len(texts), sum(len(t) for t in texts))
    chosen = _round_robin(pools, n, per_site)
    log.info("picked %d segments from %d sites", len(chosen), len(pools))
    return [_task(k, c) for k, c in enumerate(chosen, 1)]


def _offer(
    pool: dict[str, _Candidate], candidates: list[_Candidate], per_article: int, n: int
) -> None:
    """Add an article's most uncertain distinct shapes to its site's pool, keeping the pool
    to the most uncertain few (one candidate per shape)."""
    taken = 0
    shapes = set()
    for c in sorted(candidates, key=_Candidate.key):
        if taken == per_article:
            break
        if c.shape in shapes:
            continue
        shapes.add(c.shape)
        taken += 1
        old = pool.get(c.shape)
        if old is None or c.key() < old.key():
            pool[c.shape] = c
    limit = _POOL_FACTOR * n
    if len(pool) > 2 * limit:
        keep = heapq.nsmallest(limit, pool.values(), key=_Candidate.key)
        pool.clear()
        pool.update((c.shape, c) for c in keep)


def _round_robin(
    pools: dict[str, dict[str, _Candidate]], n: int, per_site: int | None
) -> list[_Candidate]:
    """Sites take turns, most uncertain site first; each turn gives the site's most uncertain
    candidate whose shape and article are still free."""
    queues = {site: sorted(pool.values(), key=_Candidate.key) for site, pool in pools.items()}
    turn = sorted((q for q in queues.values() if q), key=lambda q: q[0].key())
    iterators: list[Iterator[_Candidate]] = [iter(q) for q in turn]
    counts = [0] * len(iterators)
    chosen: list[_Candidate] = []
    shapes: set[str] = set()
    live = list(range(len(iterators)))
    while live and len(chosen) < n:
        still = []
        for i in live:
            if len(chosen) == n:
                break
            if per_site is not None and counts[i] >= per_site:
                continue
            for c in iterators[i]:
                if c.shape not in shapes:
                    shapes.add(c.shape)
                    chosen.append(c)
                    counts[i] += 1
                    still.append(i)
                    break
        live = still
    return chosen


def _task(number: int, c: _Candidate) -> dict[str, Any]:
    text = c.article.text
    before = text[max(0, c.start - CONTEXT_CHARS) : c.start]
    after = text[c.end : c.end + CONTEXT_CHARS]
    return {
        "task": number,
        "article": c.article.id,
        "site": c.article.site,
        "start": c.start,
        "end": c.end,
        "score": round(c.score, 4),
        "guess": c.guess,
        "label": None,
        "before": before,
        "segment": text[c.start : c.end],
        "after": after,
        "text": text,
        "model_spans": c.article.model_spans,
    }


@dataclass
class PickResult:
    """The tasks picked and the files they were written to."""

    tasks: list[dict[str, Any]]
    files: list[Path] = field(default_factory=list)

    @property
    def articles(self) -> int:
        return len({t["article"] for t in self.tasks})

    @property
    def sites(self) -> int:
        return len({t["site"] for t in self.tasks})


def pick_to_file(
    corpus: str,
    output: str,
    detector: Any,
    *,
    fmt: str | None = None,
    labels: Sequence[str] = (),
    model_name: str = "detector",
    **options: Any,
) -> PickResult:
    """:func:`pick` and write the tasks to ``output`` as JSONL, CSV or Label Studio JSON
    (``fmt``, else from the extension: .jsonl, .csv, .json); ``labels`` are offered to the
    labeler besides advert, editorial and neutral; ``model_name`` names the model in Label
    Studio's predictions."""
    kind = task_format(output, fmt)
    tasks = pick(corpus, detector, **options)
    offered = list(dict.fromkeys([*DEFAULT_LABELS, *labels]))
    files = write_tasks(tasks, output, kind, labels=offered, model_name=model_name)
    return PickResult(tasks, files)
