"""The detector over a Dask dataframe: partitions in parallel on a local or remote cluster.

>>> import dask.dataframe as dd                                   # doctest: +SKIP
>>> from detector.dask_engine import strip_dataframe              # doctest: +SKIP
>>> clean = strip_dataframe(dd.read_parquet("scrape/"), text_field="body")  # doctest: +SKIP
>>> clean.to_parquet("clean/")                                    # doctest: +SKIP

Each worker process loads the model once: the :class:`~detector.detect.Detector` travels to the
workers as its model path and settings, and the per-process model cache in
:mod:`detector.detect` keeps it loaded between partitions. The model file must therefore be
readable at the same path on every worker (the shipped model always is). Named so that it does
not shadow the ``dask`` package. Needs the ``dask`` extra: ``pip install 'detector[dask]'``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from detector.defaults import DEFAULT_KEEP, DEFAULT_MODEL, DEFAULT_THRESHOLD
from detector.errors import ClusterError, InputError, MissingExtraError
from detector.html import check_available
from detector.io import CODEC_ERRORS, COMPRESSIONS, parse_json_object, table_kind

__all__ = [
    "MISSING_EXTRA",
    "count_dataframe",
    "import_dask",
    "label_dataframe",
    "read_dataframe",
    "run_dask",
    "strip_dataframe",
    "write_dataframe",
]

log = logging.getLogger(__name__)

MISSING_EXTRA = "the Dask engine needs the dask extra: pip install 'detector[dask]'"
#: The table formats (:func:`detector.io.table_kind`) the Dask engine reads and writes.
PART_FORMATS = ("parquet", "jsonl")
#: Size of the partitions a big JSONL file is cut into (bytes).
JSONL_BLOCKSIZE = 64 * 2**20
#: Seconds to wait for a remote scheduler before giving up.
CONNECT_TIMEOUT = 10


def import_dask() -> Any:
    """dask.dataframe, or the one-line error that says which extra to install."""
    try:
        import dask.dataframe as dd
        import distributed  # noqa: F401
    except ImportError:
        raise MissingExtraError(MISSING_EXTRA) from None
    return dd


def _detector(model: Any, threshold: float, keep: Sequence[str], trust: bool) -> Any:
    from detector.detect import Detector

    if isinstance(model, Detector):
        return model
    path = None if model == DEFAULT_MODEL else os.path.abspath(os.fspath(model))
    return Detector.load(path, trust=trust, threshold=threshold, keep=keep)


def _check_field(ddf: Any, name: str, where: str, what: str, other: str) -> None:
    """A missing column is named with the columns there are and a hint (not the ``other``
    field's column), as detector.io says it."""
    from detector.io import _missing_field

    columns = [str(c) for c in ddf.columns]
    if name not in columns:
        message = _missing_field(where, name, columns, "column", [c for c in columns if c != other])
        raise InputError(message.replace("--text-field", what))


def _texts(part: Any, text_field: str, where: str, html: bool, number: int) -> list[str]:
    """The partition's texts (main text of HTML with ``html``); a non-text value is an error
    naming the partition and its row in it."""
    return _checked_texts(part[text_field].tolist(), text_field, where, html, number)


def _checked_texts(
    values: list[Any], text_field: str, where: str, html: bool, number: int
) -> list[str]:
    from detector.html import extract_text
    from detector.io import _describe

    texts = []
    for row, value in enumerate(values):
        at = f"{where} partition {number} row {row}"
        if not isinstance(value, str):
            raise InputError(f"{at}: column '{text_field}' is not text (got {_describe(value)})")
        texts.append(extract_text(value, at) if html else value)
    return texts


def _sites(part: Any, site_field: str | None) -> list[str]:
    """Each row's site, as the single-process engine finds it (detector.batch.chunk_sites):
    the ``site_field`` column, else the host of the row's ``url``, else its ``source``, else
    one site for everything."""
    from detector.batch import SITE_FIELDS, row_sites
    from detector.templates import site_of

    if site_field:
        return [site_of(v) for v in part[site_field].tolist()]
    columns = [part[name].tolist() if name in part.columns else None for name in SITE_FIELDS]
    return row_sites(columns, len(part))


def _with_templates(detector: Any, templates: Any) -> Any:
    """A detector like ``detector`` that labels with ``templates`` (the caller's untouched)."""
    from detector.detect import Detector

    if templates is None:
        return detector
    return Detector(
        detector.model, threshold=detector.threshold, keep=detector.keep, templates=templates
    )


def _strip_partition(
    part: Any,
    detector: Any,
    templates: Any,
    text_field: str,
    site_field: str | None,
    mark: bool,
    html: bool,
    where: str,
    partition_info: dict[str, Any] | None = None,
) -> Any:
    import pandas as pd

    if len(part) == 0:
        return part
    number = partition_info["number"] if partition_info else 0
    texts = _texts(part, text_field, where, html, number)
    detector = _with_templates(detector, templates)
    sites = _sites(part, site_field)
    done = (detector.mark_many if mark else detector.strip_many)(texts, sites=sites)
    part = part.copy()
    part[text_field] = pd.Series(done, index=part.index, dtype=part[text_field].dtype)
    return part


def _label_partition(
    part: Any,
    detector: Any,
    templates: Any,
    text_field: str,
    site_field: str | None,
    id_field: str,
    html: bool,
    where: str,
    partition_info: dict[str, Any] | None = None,
) -> Any:
    import pandas as pd

    number = partition_info["number"] if partition_info else 0
    texts = _texts(part, text_field, where, html, number) if len(part) else []
    detector = _with_templates(detector, templates)
    found = detector.label_many(texts, sites=_sites(part, site_field))
    spans = [[s.to_dict() for s in spans] for spans in found]
    columns: dict[str, Any] = {"id": [str(v) for v in part[id_field].tolist()]}
    if html:
        columns["text"] = texts
    columns["spans"] = spans
    return pd.DataFrame(columns, index=part.index).astype({c: object for c in columns})


def strip_dataframe(
    ddf: Any,
    *,
    text_field: str = "text",
    model: Any = DEFAULT_MODEL,
    threshold: float = DEFAULT_THRESHOLD,
    keep: Sequence[str] = DEFAULT_KEEP,
    trust_model: bool = False,
    mark: bool = False,
    html: bool = False,
    templates: Any = None,
    site_field: str | None = None,
) -> Any:
    """``ddf`` with the adverts stripped (or marked) from its ``text_field`` column.

    Every other column is left as it is; nothing is computed until the result is.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The articles, one a row.
    model : str or Detector
        A model path, ``"default"`` for the shipped model, or a loaded Detector.
    mark : bool
        Wrap adverts in visible markers instead of removing them.
    html : bool
        The column holds HTML: strip the main text trafilatura extracts from it.
    templates : TemplateTable, str or None
        Per-site segment shape counts (:func:`count_dataframe`, or a file saved by
        ``detector templates``), used as evidence as ``detector strip`` does; None: none.
    site_field : str, optional
        The column naming each article's site (default: a ``url`` column's host, else
        ``source``).
    """
    import_dask()
    detector = _detector(model, threshold, keep, trust_model)
    return _strip(ddf, detector, _table(templates), text_field, site_field, mark, html,
                  "the dataframe")


def label_dataframe(
    ddf: Any,
    *,
    text_field: str = "text",
    id_field: str = "id",
    model: Any = DEFAULT_MODEL,
    threshold: float = DEFAULT_THRESHOLD,
    keep: Sequence[str] = DEFAULT_KEEP,
    trust_model: bool = False,
    html: bool = False,
    templates: Any = None,
    site_field: str | None = None,
) -> Any:
    """A dataframe of ``id`` and ``spans`` (every segment: start, end, label, score), one row
    per article of ``ddf``, as ``detector label`` writes them; with ``html`` also ``text``, the
    extracted text the offsets point into. Options as :func:`strip_dataframe`."""
    import_dask()
    detector = _detector(model, threshold, keep, trust_model)
    return _label(ddf, detector, _table(templates), text_field, site_field, id_field, html,
                  "the dataframe")


def count_dataframe(
    ddf: Any, *, text_field: str = "text", site_field: str | None = None, html: bool = False
) -> Any:
    """The per-site segment shape counts of all articles of ``ddf``, as ``detector strip``
    counts them before labeling: partition by partition, in order, on the caller's side (the
    counts are order-sensitive, so that they equal the single-process ones exactly)."""
    import_dask()
    _check_fields(ddf, text_field, site_field, None, "the dataframe")
    return _count(ddf, text_field, site_field, html, "the dataframe")


def _count(ddf: Any, text_field: str, site_field: str | None, html: bool, where: str) -> Any:
    from detector.templates import TemplateTable, count_templates

    table = TemplateTable()
    for number in range(ddf.npartitions):
        part = ddf.get_partition(number).compute()
        texts = _texts(part, text_field, where, html, number)
        count_templates(zip(_sites(part, site_field), texts), table=table)
    return table


def _table(templates: Any) -> Any:
    from detector.templates import load_templates

    if templates is None or not isinstance(templates, (str, os.PathLike)):
        return templates
    return load_templates(os.path.abspath(templates))


def _check_fields(
    ddf: Any, text_field: str, site_field: str | None, id_field: str | None, where: str
) -> None:
    _check_field(ddf, text_field, where, "--text-field", id_field or "id")
    if id_field is not None:
        _check_field(ddf, id_field, where, "--id-field", text_field)
    if site_field is not None and site_field not in ddf.columns:
        raise InputError(f"{where} has no field '{site_field}' (given as --site-field)")


def _label(
    ddf: Any,
    detector: Any,
    templates: Any,
    text_field: str,
    site_field: str | None,
    id_field: str,
    html: bool,
    where: str,
) -> Any:
    import pandas as pd

    _check_fields(ddf, text_field, site_field, id_field, where)
    names = ["id", *(["text"] if html else []), "spans"]
    meta = pd.DataFrame({c: pd.Series(dtype=object) for c in names})
    return ddf.map_partitions(
        _label_partition, detector, templates, text_field, site_field, id_field, html, where,
        meta=meta,
    )


def _strip(
    ddf: Any,
    detector: Any,
    templates: Any,
    text_field: str,
    site_field: str | None,
    mark: bool,
    html: bool,
    where: str,
) -> Any:
    _check_fields(ddf, text_field, site_field, None, where)
    return ddf.map_partitions(
        _strip_partition, detector, templates, text_field, site_field, mark, html, where,
        meta=ddf._meta,
    )


# -- files: partitioned input and output -----------------------------------------------------


def read_dataframe(path: str, *, storage_options: dict[str, Any] | None = None) -> tuple[Any, str]:
    """A Dask dataframe of the Parquet or JSONL at ``path`` (a file, a glob, a folder of part
    files, or any fsspec URL), and its format: 'parquet', 'jsonl', or for compressed JSONL
    parts 'jsonl.gz', 'jsonl.bz2' or 'jsonl.xz' (the output is written the same way)."""
    dd = import_dask()
    fs, paths = _part_paths(path, storage_options)
    kinds = {_part_kind(p) for p in paths}
    if "" in kinds or len(kinds) != 1:
        raise InputError(
            f"{path}: the Dask engine reads Parquet (.parquet) or JSONL (.jsonl, or .jsonl.gz, "
            ".jsonl.bz2, .jsonl.xz) part files of one format"
        )
    kind = kinds.pop()
    urls = _urls(fs, paths)
    if kind == "parquet":
        return dd.read_parquet(urls, storage_options=storage_options), kind
    codec = COMPRESSIONS.get(_suffix(paths[0]))
    ddf = dd.read_json(
        urls,
        lines=True,
        orient="records",
        # A compressed part cannot be cut into blocks: it is one partition.
        blocksize=None if codec else JSONL_BLOCKSIZE,
        compression=codec or "infer",
        storage_options=storage_options,
        encoding="utf-8-sig",  # a part that starts with a byte-order mark reads as one without
        dtype=False,  # the values as JSON has them: no guessed numbers or dates
    )
    return ddf, kind


def _urls(fs: Any, paths: list[str]) -> list[str]:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return [p if protocol in ("file", "local") else f"{protocol}://{p}" for p in paths]


def _part_paths(path: str, storage_options: dict[str, Any] | None) -> tuple[Any, list[str]]:
    """The filesystem at ``path`` and its part files in natural order."""
    import fsspec
    from dask.utils import natural_sort_key

    try:
        fs, _, paths = fsspec.get_fs_token_paths(path, storage_options=storage_options)
    except (ImportError, ValueError) as exc:  # an unknown protocol, its package missing
        raise InputError(f"cannot open {path} ({exc})") from None
    if len(paths) == 1 and fs.isdir(paths[0]):
        paths = [
            p for p in fs.ls(paths[0], detail=False)
            if not os.path.basename(p).startswith(("_", ".")) and _part_kind(p)
        ]
        if not paths:
            raise InputError(f"{path} has no Parquet or JSONL part files")
    elif not paths or not all(fs.exists(p) for p in paths):
        raise InputError(f"{path} does not exist")
    return fs, sorted(paths, key=natural_sort_key)  # part-2 before part-10


def _first_bad_line(path: str) -> str | None:
    """Where the first line of the JSONL parts at ``path`` that is not a JSON object is, as a
    one-line message (Dask's parse error names neither the part nor the line)."""
    fs, paths = _part_paths(path, None)
    for part in paths:
        if not _part_kind(part).startswith("jsonl"):
            continue
        with fs.open(part, "rb", compression=COMPRESSIONS.get(_suffix(part))) as fh:
            try:
                for line_no, raw in enumerate(fh, 1):
                    problem = _line_problem(raw, f"{part} line {line_no}", first=line_no == 1)
                    if problem is not None:
                        return problem
            except CODEC_ERRORS as exc:
                return f"{part} cannot be read ({str(exc) or type(exc).__name__})"
    return None


def _line_problem(raw: bytes, where: str, *, first: bool) -> str | None:
    """What is wrong with one JSONL line at ``where``, as a message, or None."""
    try:
        line = raw.decode("utf-8-sig" if first else "utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        return f"{where} is not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
    if line.strip():
        try:
            parse_json_object(line, where)
        except InputError as exc:
            return str(exc)
    return None


def _suffix(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _part_kind(path: str) -> str:
    """A part file's format by its name ('parquet', 'jsonl', 'jsonl.gz', ...), else ''."""
    kind = table_kind(path)
    if kind not in PART_FORMATS:
        return ""
    last = _suffix(path)
    return f"{kind}{last}" if last in COMPRESSIONS else kind


def _part_name(number: int) -> str:
    return f"part-{number:05d}"


@dataclass(frozen=True)
class _Folder:
    """An output folder checked before any work starts, and the temporary one beside it."""

    fs: Any
    target: str
    tmp: str
    tmp_url: str


def _output_folder(path: str, storage_options: dict[str, Any] | None = None) -> _Folder:
    import fsspec

    fs, _, (target,) = fsspec.get_fs_token_paths(path, storage_options=storage_options)
    if fs.exists(target) and (not fs.isdir(target) or fs.ls(target, detail=False)):
        raise InputError(f"{path} already exists; remove it or choose a new output folder")
    parent, name = os.path.split(target.rstrip("/"))
    if parent and not fs.isdir(parent):
        raise InputError(f"cannot write {path}: folder {parent} does not exist")
    tmp = f"{parent}/.{name}.{uuid.uuid4().hex[:8]}.tmp" if parent else f".{name}.tmp"
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return _Folder(fs, target, tmp, tmp if protocol in ("file", "local") else f"{protocol}://{tmp}")


def write_dataframe(
    ddf: Any,
    path: str,
    kind: str,
    *,
    storage_options: dict[str, Any] | None = None,
    schema: Any = None,
) -> int:
    """Write ``ddf`` as a folder of part files of ``kind`` ('parquet' or 'jsonl') at ``path``:
    into a temporary folder beside it, renamed to ``path`` when every part was written (on a
    local disk the rename is atomic; on object stores it is a copy). Returns the number of
    part files.

    Parquet parts get the Arrow ``schema`` when given (for instance
    ``pyarrow.parquet.read_schema`` of an input part: list and struct columns, which Dask
    cannot infer from pandas' Python objects, then keep their types), else Dask's inferred one.
    """
    return _write(ddf, _output_folder(path, storage_options), kind, storage_options, schema)


def _write(
    ddf: Any,
    out: _Folder,
    kind: str,
    storage_options: dict[str, Any] | None,
    schema: Any = None,
) -> int:
    """Write the parts; Parquet with ``schema`` (the input's) when given, as Dask infers one
    otherwise (which fails on list and struct columns, held as Python objects)."""
    fs = out.fs
    try:
        if kind == "parquet":
            ddf.to_parquet(out.tmp_url, write_index=False, name_function=_parquet_name,
                           write_metadata_file=False, storage_options=storage_options,
                           schema="infer" if schema is None else schema)
        elif hasattr(ddf, "to_textfiles"):  # a bag of each partition's lines, as bytes
            ddf.to_textfiles(f"{out.tmp_url}/*.{kind}", name_function=_part_name,
                             compression=COMPRESSIONS.get(os.path.splitext(kind)[1]),
                             encoding=None, storage_options=storage_options)
        else:
            codec = COMPRESSIONS.get(os.path.splitext(kind)[1])
            ddf.to_json(f"{out.tmp_url}/*.{kind}", orient="records", lines=True,
                        force_ascii=False, name_function=_part_name, compression=codec,
                        storage_options=storage_options)
        if fs.exists(out.target):
            fs.rm(out.target, recursive=True)  # an empty folder (checked before the run)
        fs.mv(out.tmp, out.target, recursive=True)
    finally:
        if fs.exists(out.tmp):
            fs.rm(out.tmp, recursive=True)
    return ddf.npartitions


def _parquet_schema(path: str) -> Any:
    """The Arrow schema of the first Parquet part at ``path``: the other columns' types
    (lists, structs, string) and the file's metadata, for the output."""
    import pyarrow.parquet as pq

    fs, paths = _part_paths(path, None)
    with fs.open(paths[0], "rb") as fh:
        return pq.read_schema(fh)


def _parquet_name(number: int) -> str:
    return f"{_part_name(number)}.parquet"


@contextmanager
def _unreadable_parts(source: str) -> Iterator[None]:
    """A part that pandas or pyarrow cannot parse (they raise ValueError), a compressed part
    that cannot be decompressed, or parts with different columns, is a one-line error."""
    try:
        yield
    except KeyError as exc:  # a part without a column the first part has
        reason = exc.args[0] if exc.args else exc
        raise InputError(
            f"{source} cannot be read: its parts do not all have the same columns ({reason})"
        ) from None
    except (ValueError, *CODEC_ERRORS) as exc:
        located = _first_bad_line(source)
        if located is not None:
            raise InputError(located) from None
        if not isinstance(exc, ValueError):
            raise  # not the input's fault as far as can be seen: an output error, say
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        # Dask puts the reader's own message on a line of its own after a wrapper's.
        original = [line for line in lines if line.startswith("Original Message:")]
        reason = (
            original[0].removeprefix("Original Message:").strip() if original
            else lines[0] if lines else type(exc).__name__
        )
        raise InputError(f"{source} cannot be read ({reason})") from None


def _client(scheduler: str | None, workers: int) -> Any:
    """A client of the scheduler at ``scheduler``, or of a new local cluster of ``workers``
    processes (one thread each: the work holds the GIL)."""
    from distributed import Client, LocalCluster

    if scheduler is None:
        with warnings.catch_warnings():
            # Its internal HTTP server moves to a free port when 8787 is taken: no news.
            warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # A failed task comes back to the client as its exception; the workers' own
                # log lines about it (and about the cluster closing after it) are noise.
                silence_logs=logging.CRITICAL,
            )
        return Client(cluster, set_as_default=False)
    try:
        # The handshake alone first: a Client that fails half-way through its own handshake
        # (something other than a Dask scheduler answers, and its reply reads as a frame size
        # of exabytes) raises MemoryError and then hangs in its finaliser trying to close.
        asyncio.run(_handshake(scheduler))
        return Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, MemoryError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, MemoryError):
            reason = "what answers there does not speak Dask's protocol"
        raise ClusterError(
            f"cannot reach the Dask scheduler at {scheduler} ({reason}); check the address, "
            "or leave out --scheduler for a local cluster"
        ) from None


async def _handshake(address: str) -> None:
    """Connect to ``address`` and exchange Dask's handshake, then hang up."""
    from distributed.comm import connect

    comm = await connect(address, timeout=CONNECT_TIMEOUT)
    await comm.close()


def run_dask(
    input_path: str,
    output_path: str,
    *,
    mode: str = "strip",
    text_field: str = "text",
    id_field: str = "id",
    site_field: str | None = None,
    model: str = DEFAULT_MODEL,
    threshold: float = DEFAULT_THRESHOLD,
    keep: Sequence[str] = DEFAULT_KEEP,
    trust_model: bool = False,
    html: bool = False,
    templates: str | None = None,
    batch: bool = True,
    scheduler: str | None = None,
    workers: int = 1,
) -> int:
    """Strip, mark or label partitioned Parquet/JSONL at ``input_path`` on a Dask cluster into
    a folder of part files at ``output_path`` (strip and mark: the input's format; label:
    JSONL). Returns the number of part files written.

    Template evidence as in ``detector strip``: the table saved at ``templates``, else with
    ``batch`` the counts of the whole input (a first pass, counted here partition by partition
    and then sent once to every worker), else none.
    """
    if html:
        check_available()
    with _unreadable_parts(input_path):  # reading the first part already parses it
        ddf, kind = read_dataframe(input_path)
    detector = _detector(model, threshold, keep, trust_model)
    _check_fields(ddf, text_field, site_field, id_field if mode == "label" else None, input_path)
    table = _table(templates)
    out = _output_folder(output_path)
    client = _client(scheduler, workers)
    try:
        with client.as_current(), _unreadable_parts(input_path):
            if kind.startswith("jsonl"):
                # Line by line, not through pandas: every byte but the text's value stays,
                # and ids and numbers are as written.
                from detector.dask_jsonl import count_lines, jsonl_lines, label_jsonl, strip_jsonl

                pairs = jsonl_lines(input_path)
                sizes = None  # each partition's lines, which label needs and counting finds
                if table is None and batch:
                    counted, sizes = count_lines(pairs, text_field, site_field, html, input_path)
                    table = client.scatter(counted, broadcast=True)
                if mode == "label":
                    result = label_jsonl(input_path, pairs, sizes, detector, table, text_field,
                                         site_field, id_field, html)
                    return _write(result, out, "jsonl", None)
                result = strip_jsonl(pairs, detector, table, text_field, site_field,
                                     mode == "mark", html, input_path)
                return _write(result, out, kind, None)
            if table is None and batch:
                counted = _count(ddf, text_field, site_field, html, input_path)
                table = client.scatter(counted, broadcast=True)
            if mode == "label":
                result = _label(ddf, detector, table, text_field, site_field, id_field, html,
                                input_path)
                kind = "jsonl"
            else:
                result = _strip(ddf, detector, table, text_field, site_field, mode == "mark",
                                html, input_path)
            schema = _parquet_schema(input_path) if kind == "parquet" else None
            return _write(result, out, kind, None, schema)
    finally:
        cluster = client.cluster if scheduler is None else None
        client.close()
        if cluster is not None:
            cluster.close()
