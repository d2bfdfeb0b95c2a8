"""Run a Detector over a whole input (file, folder, stdin or table), chunk by chunk.

The one loop the CLI's ``strip`` and ``label`` share: read a chunk, label all its articles in one
batched prediction, write the chunk, report progress. Output keeps the input's format. Before
it, :func:`count_input` can make one streaming pass over the input to count each site's
recurring segment shapes (:mod:`detector.templates`), which the labeling pass then uses; its
:class:`Spool` keeps each chunk's segments and shape keys so that the labeling pass does not
make them again.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, BinaryIO

import numpy as np

from detector.detect import Detector
from detector.errors import DetectorError, InputError
from detector.html import PageLog, as_article, extract_pages, fingerprint
from detector.io import DEFAULT_CHUNK_ROWS, Chunk, Input, Output, PendingPage, TableWriter
from detector.segment import Segment, segment_bounds
from detector.templates import (
    ONE_SITE,
    Prepared,
    Shaped,
    TemplateTable,
    shape_articles,
    site_of,
)

__all__ = [
    "MODES",
    "RunStats",
    "Spool",
    "SpoolEntry",
    "chunk_sites",
    "count_input",
    "run",
    "spool_fits",
    "top_templates",
]

#: Where an article's site comes from when no --site-field is given: the host of its URL,
#: else its source.
SITE_FIELDS = ("url", "source")

MODES = ("strip", "mark", "label")

#: Whether worker processes are forked (on Linux), else started by joblib's loky. Forking is
#: not safe on macOS, where system libraries may crash in a forked child.
FORK_WORKERS = sys.platform.startswith("linux")
#: prctl's option that sends a signal to a process when its parent ends (linux/prctl.h).
PR_SET_PDEATHSIG = 1


@dataclass
class RunStats:
    """What a run did, for the CLI's summary line."""

    articles: int = 0
    chars_in: int = 0
    chars_removed: int = 0
    #: (article id, reason) of every bad row passed through unchanged (on_error="skip").
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SpoolEntry:
    """Where one chunk's segments and shape keys lie in a :class:`Spool` file: small enough to
    travel to a worker process with the chunk, which then reads them itself."""

    path: str
    offset: int
    articles: int
    segments: int

    def read(self, texts: Sequence[str]) -> Prepared | None:
        """The chunk's :class:`~detector.templates.Prepared` work, or None when ``texts`` are
        not the texts it was made from (their lengths or checksums differ)."""
        if len(texts) != self.articles:
            return None
        offset = self.offset
        arrays = []
        for dtype, count in (
            (np.int64, 3 * self.articles),
            (np.int32, 3 * self.segments),
            (np.uint32, 8 * self.segments),
        ):
            arrays.append(np.fromfile(self.path, dtype=dtype, count=count, offset=offset))
            offset += count * np.dtype(dtype).itemsize
        articles = arrays[0].reshape(-1, 3)
        if not np.array_equal(articles[:, :2], _fingerprints(texts)):
            return None
        bounds = arrays[1].reshape(-1, 3)
        starts, ends, lines = (bounds[:, k].tolist() for k in range(3))
        segments = []
        row = 0
        for text, n in zip(texts, articles[:, 2].tolist()):
            segments.append(
                [
                    Segment(a, b, text[a:b], line)
                    for a, b, line in zip(
                        starts[row : row + n], ends[row : row + n], lines[row : row + n]
                    )
                ]
            )
            row += n
        return Prepared(segments, arrays[2].reshape(-1, 8))


def _fingerprints(texts: Sequence[str]) -> np.ndarray:
    """Each text's length and CRC-32, to tell the texts a spool entry was made from."""
    return np.array(list(map(fingerprint, texts)), dtype=np.int64).reshape(-1, 2)


#: Spool bytes per byte of input, with room to spare: two thirds were measured on a real scrape.
SPOOL_PER_INPUT_BYTE = 1.0
#: Space left free in the temporary folder besides the spool.
SPOOL_MARGIN = 2**30


def spool_fits(input_bytes: int, folder: str | None = None) -> bool:
    """Whether the spool of an input of ``input_bytes`` fits in ``folder`` (the temporary
    folder by default) with :data:`SPOOL_MARGIN` to spare."""
    free = shutil.disk_usage(folder or tempfile.gettempdir()).free
    return free >= input_bytes * SPOOL_PER_INPUT_BYTE + SPOOL_MARGIN


class Spool:
    """The counting pass's segments and shape keys of every chunk, kept in a temporary file
    for the labeling pass: it then reads them instead of segmenting and shaping each article
    a second time. About 44 bytes per segment on disk (in the temporary folder, ``TMPDIR``);
    nothing of it stays in memory."""

    def __init__(self, path: str):
        self.path = path
        self.entries: list[SpoolEntry] = []
        self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115 (closed by finish)
        self._offset = 0
        #: The main texts of the HTML pages the counting pass extracted (see Input.pages).
        self.pages = PageLog(f"{path}.pages")

    @classmethod
    @contextlib.contextmanager
    def temporary(cls) -> Iterator[Spool]:
        """A spool in a temporary folder, removed with everything in it on exit."""
        with tempfile.TemporaryDirectory(prefix="detector-spool-") as folder:
            spool = cls(os.path.join(folder, "spool.bin"))
            try:
                yield spool
            finally:
                spool.finish()
                spool.pages.close()

    def append(
        self, texts: Sequence[str], bounds: np.ndarray, sizes: np.ndarray, keys: np.ndarray
    ) -> None:
        """Keep the next chunk's articles: the (start, end, line) ``bounds`` of their segments,
        the number of segments of each article, and each segment's text keys."""
        assert self._file is not None, "the spool is finished"
        articles = np.column_stack([_fingerprints(texts), sizes]).astype(np.int64)
        self.entries.append(SpoolEntry(self.path, self._offset, len(texts), len(bounds)))
        for array in (articles, bounds.astype(np.int32), keys.astype(np.uint32)):
            data = np.ascontiguousarray(array).tobytes()
            try:
                self._file.write(data)
            except OSError as exc:
                raise DetectorError(
                    f"cannot write the template spool {self.path} ({exc.strerror or exc}); "
                    "free space there, point TMPDIR at a larger disk, or pass --no-batch"
                ) from None
            self._offset += len(data)

    def finish(self) -> None:
        """Close the files for writing; the entries and pages can be read from now on."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.pages.finish()

    def entry(self, index: int) -> SpoolEntry | None:
        """The entry of chunk ``index``, if the counting pass wrote one."""
        self.finish()
        return self.entries[index] if index < len(self.entries) else None


def run(
    detector: Detector,
    source: Input,
    output: Output,
    *,
    mode: str = "strip",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    site_field: str | None = None,
    spool: Spool | None = None,
) -> RunStats:
    """Strip, mark or label every article of ``source`` into ``output``.

    With ``jobs`` > 1 chunks are processed in that many worker processes and written in input
    order; each worker loads the model once. ``progress(articles, chars)`` is called after each
    chunk with that chunk's counts. ``site_field`` names the field holding each article's
    site (see :func:`chunk_sites`), used with the detector's template counts. ``spool`` holds
    what :func:`count_input` already did for each chunk (segments, shape keys).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    stats = RunStats()
    if spool is not None:
        spool.finish()  # the main texts of HTML pages come from its page log from now on
    source.defer_pages = True  # HTML pages are extracted where the chunk is labeled
    chunks = source.chunks(chunk_rows)
    with output.writer() as writer:
        results = _results(
            detector, chunks, mode, jobs, site_field, source.path, spool, source.on_error,
            source.site,
        )
        for chunk, done in results:
            _write(chunk, done, mode, writer, source.text_field, stats)
            if progress is not None:
                progress(len(chunk.texts), sum(map(len, chunk.texts)))
    return stats


def count_input(
    source: Input,
    *,
    site_field: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    table: TemplateTable | None = None,
    progress: Callable[[int, int], None] | None = None,
    spool: Spool | None = None,
    jobs: int = 1,
) -> TemplateTable:
    """One streaming pass over ``source``: the per-site shape counts of all its articles.

    With ``jobs`` > 1 the chunks are segmented and shaped in that many worker processes and
    counted here, in input order. With ``spool``, each chunk's segments and shape keys, and
    the main text of each HTML page (``source.pages``), are kept there for :func:`run`.
    """
    table = TemplateTable() if table is None else table
    if spool is not None:
        source.pages = spool.pages  # the labeling pass takes the extracted HTML from there
    source.defer_pages = True  # HTML pages are extracted where the chunk is counted

    def work(chunk: Chunk) -> tuple[Any, ...]:
        sites = chunk_sites(chunk, site_field, source.path, site=source.site)
        good = chunk.good
        texts, sites = [chunk.texts[k] for k in good], [sites[k] for k in good]
        return texts, sites, _pending_pages(chunk, good)

    arguments = map(work, source.chunks(chunk_rows))
    count = functools.partial(_count_chunk, on_error=source.on_error)
    for (texts, _, pending), (shaped, bounds, found, failed) in _in_order(count, arguments, jobs):
        if found and spool is not None:
            for i, main in found.items():  # in reading order, as the labeling pass meets them
                spool.pages.remember(texts[i], main)
        texts = _with_pages(texts, pending, found, failed)
        article_of = np.repeat(np.arange(len(texts)), shaped.sizes)
        table.update(shaped, functools.partial(_segment_text, texts, article_of, bounds))
        if spool is not None:
            spool.append(texts, bounds, shaped.sizes, shaped.keys)
        if progress is not None:
            progress(len(texts), sum(map(len, texts)))
    return table


def _segment_text(texts: list[str], article_of: np.ndarray, bounds: np.ndarray, row: int) -> str:
    return texts[article_of[row]][bounds[row, 0] : bounds[row, 1]]


def _count_chunk(
    texts: list[str],
    sites: list[str],
    pending: dict[int, PendingPage],
    *,
    on_error: str,
) -> tuple[Shaped, np.ndarray, dict[int, str], dict[int, str]]:
    """Extract the ``pending`` HTML pages of one chunk's articles, then segment and shape
    them (in a worker process when jobs > 1): what the table counts, the (start, end, line)
    of every segment for the spool, and the pages' main texts and failures (see
    :func:`_extracted`)."""
    texts, sites, found, failed = _extracted(texts, sites, pending, on_error)
    bounds = [segment_bounds(t) for t in texts]
    shaped = shape_articles(
        sites, [[text[a:b] for a, b, _ in rows] for text, rows in zip(texts, bounds)]
    )
    n = sum(map(len, bounds))
    flat = chain.from_iterable(chain.from_iterable(bounds))
    return shaped, np.fromiter(flat, dtype=np.int32, count=3 * n).reshape(-1, 3), found, failed


def _pending_pages(chunk: Chunk, good: list[int]) -> dict[int, PendingPage]:
    """The chunk's pending HTML pages by their place among its ``good`` rows, for a worker
    (without the raw row, which only the main process needs)."""
    if not chunk.pending:
        return {}
    pending = chunk.pending
    return {i: pending[k]._replace(row=None) for i, k in enumerate(good) if k in pending}


def _extracted(
    texts: list[str], sites: list[str], pending: dict[int, PendingPage], on_error: str
) -> tuple[list[str], list[str], dict[int, str], dict[int, str]]:
    """The texts and sites of the articles left once the ``pending`` pages are extracted, and
    the pages' main texts and failures, by their place in ``texts``."""
    if not pending:
        return texts, sites, {}, {}
    found, failed = extract_pages(texts, {i: p.where for i, p in pending.items()}, on_error)
    kept_sites = [site for i, site in enumerate(sites) if i not in failed]
    return _with_pages(texts, pending, found, failed), kept_sites, found, failed


def _with_pages(
    texts: list[str],
    pending: dict[int, PendingPage],
    found: dict[int, str],
    failed: dict[int, str],
) -> list[str]:
    """``texts`` with each extracted page's main text in place and the failed pages left out."""
    if not (found or failed):
        return texts
    return [
        as_article(found[i], pending[i].whole_file) if i in found else text
        for i, text in enumerate(texts)
        if i not in failed
    ]


def _settle(chunk: Chunk, found: dict[int, str], failed: dict[int, str]) -> None:
    """Put the main texts a worker extracted into ``chunk`` (places among its good rows); a
    page without one makes its row a skipped one, passed through as it came."""
    if not chunk.pending:
        return
    good = chunk.good
    for i, main in found.items():
        chunk.texts[good[i]] = as_article(main, chunk.pending[good[i]].whole_file)
    for i, reason in failed.items():
        k = good[i]
        page = chunk.pending[k]
        chunk.skipped[k] = reason
        chunk.texts[k] = ""
        if page.row is not None:
            chunk.rows[k] = page.row
        if page.id is not None:
            chunk.ids[k] = page.id
        if page.name is not None:
            chunk.names[k] = page.name
    chunk.pending.clear()


def _in_order(
    func: Callable[..., Any], arguments: Iterator[tuple[Any, ...]], jobs: int
) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """``(args, func(*args))`` for each of ``arguments``, in their order; with ``jobs`` > 1
    computed in that many worker processes, a few tasks ahead of the caller.

    ``func`` (with what it binds: the detector and its template counts, tens of MB for a big
    batch) goes to each worker once, not with every task. On Linux the workers are forked, so
    they start with the caller's imports and loaded model (see :data:`FORK_WORKERS`).
    """
    if jobs == 1:
        for args in arguments:
            yield args, func(*args)
        return
    ahead: deque[tuple[tuple[Any, ...], Any]] = deque()
    with _workers(jobs, func) as pool:
        try:
            for args in arguments:
                ahead.append((args, pool.submit(_do_task, *args)))
                if len(ahead) > 2 * jobs:
                    args, future = ahead.popleft()
                    yield args, future.result()
            while ahead:
                args, future = ahead.popleft()
                yield args, future.result()
        finally:
            for _, future in ahead:  # the caller stopped early: drop the work queued ahead
                future.cancel()


@contextlib.contextmanager
def _workers(jobs: int, func: Callable[..., Any]) -> Iterator[Any]:
    """An executor of ``jobs`` processes that run :func:`_do_task` with ``func``."""
    if FORK_WORKERS:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        gc.freeze()  # a collection in a worker would write to every inherited object's page
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(
            jobs, context, initializer=_start_worker, initargs=(func, os.getpid())
        )
        try:
            yield pool
        finally:
            # Also when interrupted (Ctrl-C, SIGTERM): the workers finish the chunk they are on
            # (a worker killed while it sends its result would leave the pool's manager waiting
            # for the rest of the message for ever), and a second Ctrl-C must not break off this
            # wait (the interpreter would then wait for the pool at exit).
            with _sigint_ignored():
                pool.shutdown(cancel_futures=True)
            gc.unfreeze()
    else:
        from joblib.externals.loky import get_reusable_executor

        yield get_reusable_executor(jobs, initializer=_set_task, initargs=(func,))


#: The function a worker process runs its tasks with (see _in_order).
_task: Callable[..., Any] | None = None


def _set_task(func: Callable[..., Any]) -> None:
    global _task
    _task = func


def _start_worker(func: Callable[..., Any], parent: int) -> None:
    """A forked worker's start: its task, and its end when the parent process ends (even by
    SIGKILL: a worker left behind would run on and hold its memory)."""
    _set_task(func)
    # The parent handles Ctrl-C and SIGTERM (a terminal sends Ctrl-C to the whole process
    # group) and shuts the pool down; a worker stopped half-way through sending a result
    # would leave the pool waiting for the rest of it for ever.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux's C library: the parent's shutdown has to do
        pass
    if os.getppid() != parent:  # the parent ended before prctl took effect
        os._exit(1)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        # None: a handler not set from Python, which cannot be set back; the default then
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def _do_task(*args: Any) -> Any:
    assert _task is not None, "a worker runs tasks only after _set_task"
    return _task(*args)


def chunk_sites(
    chunk: Chunk, site_field: str | None, path: str = "input", *, site: str | None = None
) -> list[str]:
    """Each article's site: ``site`` when given (the user's, for every article); else its
    ``site_field`` value (a URL counts as its host); without ``site_field``, the host of its
    ``url`` field, else its ``source`` field, else the one site of the whole input. Decided row
    by row, so how an input is cut into chunks never matters."""
    if not chunk.texts:  # an empty part of a folder of tables
        return []
    if site is not None:
        return [site_of(site)] * len(chunk.texts)
    if site_field is not None:
        values = chunk.values(site_field)
        if values is None:
            raise InputError(f"{path} has no field '{site_field}' (given as --site-field)")
        return [site_of(v) for v in values]
    return row_sites([chunk.values(name) for name in SITE_FIELDS], len(chunk.texts))


def row_sites(columns: Sequence[Sequence[Any] | None], rows: int) -> list[str]:
    """Per row, the site of the first of ``columns`` (the values of SITE_FIELDS, None for a
    field the input lacks) that names one; ONE_SITE where none does."""
    present = [c for c in columns if c is not None]
    sites = []
    for values in zip(*present) if present else [()] * rows:
        site = ONE_SITE
        for value in values:
            site = site_of(value)
            if site != ONE_SITE:
                break
        sites.append(site)
    return sites


def _results(
    detector: Detector,
    chunks: Iterator[Chunk],
    mode: str,
    jobs: int,
    site_field: str | None = None,
    path: str = "input",
    spool: Spool | None = None,
    on_error: str = "fail",
    site: str | None = None,
) -> Iterator[tuple[Chunk, list[Any]]]:
    """Each chunk with the results for its good rows, in input order (its HTML pages
    extracted where it was processed, and those without a main text skipped)."""

    def work(index: int, chunk: Chunk) -> tuple[Any, ...]:
        sites = chunk_sites(chunk, site_field, path, site=site)
        entry = spool.entry(index) if spool is not None else None
        good = chunk.good
        texts, sites = [chunk.texts[k] for k in good], [sites[k] for k in good]
        return texts, sites, entry, _pending_pages(chunk, good)

    in_chunks: deque[Chunk] = deque()

    def arguments() -> Iterator[tuple[Any, ...]]:
        for index, chunk in enumerate(chunks):
            in_chunks.append(chunk)
            yield work(index, chunk)

    compute = functools.partial(_compute, detector, mode, on_error=on_error)
    for _, (done, found, failed) in _in_order(compute, arguments(), jobs):
        chunk = in_chunks.popleft()
        _settle(chunk, found, failed)
        yield chunk, done


def _compute(
    detector: Detector,
    mode: str,
    texts: list[str],
    sites: list[str],
    entry: SpoolEntry | None = None,
    pending: dict[int, PendingPage] | None = None,
    *,
    on_error: str = "fail",
) -> tuple[list[Any], dict[int, str], dict[int, str]]:
    """The work on one chunk's texts, once its ``pending`` HTML pages are extracted; runs in
    a worker process when jobs > 1. Returns the results of the articles left, and the pages'
    main texts and failures (see :func:`_settle`)."""
    texts, sites, found, failed = _extracted(texts, sites, pending or {}, on_error)
    prepared = entry.read(texts) if entry is not None else None
    done: list[Any]
    if mode == "label":
        labeled = detector.label_many(texts, sites=sites, prepared=prepared)
        done = [[s.to_dict() for s in spans] for spans in labeled]
    elif mode == "mark":
        done = detector.mark_many(texts, sites=sites, prepared=prepared)
    else:
        done = detector.strip_many(texts, sites=sites, prepared=prepared)
    return done, found, failed


def _write(
    chunk: Chunk,
    done: list[Any],
    mode: str,
    writer: TableWriter,
    text_field: str,
    stats: RunStats,
) -> None:
    good = chunk.good
    stats.articles += len(good)
    stats.chars_in += sum(len(chunk.texts[k]) for k in good)
    stats.skipped += [(chunk.ids[k], reason) for k, reason in sorted(chunk.skipped.items())]
    if mode == "label":
        # Offsets of text extracted from HTML point into that text: it goes with its spans.
        writer.write_records([
            {"id": chunk.ids[k], **({"text": chunk.texts[k]} if k in chunk.extracted else {}),
             "spans": spans}
            for k, spans in zip(good, done)
        ])
        return
    out = list(chunk.texts)
    for k, text in zip(good, done):
        out[k] = text
    if mode == "strip":
        stats.chars_removed += sum(len(chunk.texts[k]) - len(t) for k, t in zip(good, done))
    writer.write_texts(chunk, out, text_field)


def top_templates(table: TemplateTable, detector: Detector, *, n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` most frequent shapes of each site, largest sites first, each with its number
    of articles, its share of the site's articles, an example and the advert score the
    detector gives that example with the table's counts (what it would strip)."""
    scorer = Detector(
        detector.model, threshold=detector.threshold, keep=detector.keep, templates=table
    )
    out = []
    for site, articles in sorted(table.sites.items(), key=lambda kv: (-kv[1], kv[0])):
        top = table.top(site, n)
        if not top:
            continue
        labeled = scorer.label_many([example for _, _, example in top], sites=[site] * len(top))
        for (shape, count, example), spans in zip(top, labeled):
            removed = [s for s in spans if s.label in scorer.removable]
            out.append(
                {
                    "site": site,
                    "site_articles": articles,
                    "shape": shape,
                    "articles": count,
                    "share": round(count / articles, 4),
                    "advert_score": round(max((s.score for s in spans), default=0.0), 4),
                    "removed": bool(removed),
                    "example": example,
                }
            )
    return out
