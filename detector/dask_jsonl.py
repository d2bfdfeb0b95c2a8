"""JSONL parts on Dask, line by line: what the single-process engine writes, byte for byte.

pandas would rewrite every line (1E5 as 100000.0, an integer beside nulls as a float, a field
some rows lack as null, an integer id as "1.0"), so :func:`detector.dask_engine.run_dask` reads
JSONL parts as a bag of (line, part) pairs instead: ``strip`` and ``mark`` splice the new
text into each line (:func:`detector.io.with_text`), ``label`` writes ids as given and names a
row without one by its part and line, counted across the partitions of a big part.
"""

from __future__ import annotations

import json
import os
from typing import Any

from detector import dask_engine
from detector.dask_engine import (
    _checked_texts,
    _part_paths,
    _suffix,
    _urls,
    _with_templates,
)
from detector.io import COMPRESSIONS, id_text, json_line, with_text

__all__ = ["count_lines", "jsonl_lines", "label_jsonl", "strip_jsonl"]


def jsonl_lines(path: str) -> Any:
    """The lines of the JSONL parts at ``path`` as a Dask bag of (line, part) pairs,
    partitioned as :func:`~detector.dask_engine.read_dataframe` partitions them."""
    import dask.bag as db

    fs, paths = _part_paths(path, None)
    codec = COMPRESSIONS.get(_suffix(paths[0]))
    return db.read_text(_urls(fs, paths), blocksize=None if codec else dask_engine.JSONL_BLOCKSIZE,
                        compression=codec, encoding="utf-8", include_path=True)


def _line_rows(
    pairs: list[tuple[str, str]], text_field: str, site_field: str | None, html: bool,
    where: str, number: int,
) -> tuple[list[int], list[str], list[dict[str, Any]], list[str], list[str]]:
    """Of a partition's lines, those that hold a record: their places among the lines, the
    lines, records, texts and sites (as :func:`detector.batch.chunk_sites` finds them, row by
    row)."""
    from detector.batch import SITE_FIELDS, row_sites
    from detector.templates import site_of

    at: list[int] = []
    kept: list[str] = []
    records: list[dict[str, Any]] = []
    for k, (line, _) in enumerate(pairs):
        line = line.removeprefix("\ufeff")  # only a part's first line can start so
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            record = None
        if not isinstance(record, dict):
            # _unreadable_parts then finds which part and line it is
            raise ValueError(f"{where}: a line of partition {number} is not a JSON object")
        at.append(k)
        kept.append(line)
        records.append(record)
    texts = _checked_texts([r.get(text_field) for r in records], text_field, where, html, number)
    if site_field:
        sites = [site_of(r.get(site_field)) for r in records]
    else:
        sites = row_sites([[r.get(name) for r in records] for name in SITE_FIELDS], len(records))
    return at, kept, records, texts, sites


def _counted_part(
    pairs: list[tuple[str, str]], *args: Any
) -> tuple[list[str], list[str], tuple[str, int]]:
    """A partition's texts and sites, and its part and number of lines."""
    _, _, _, texts, sites = _line_rows(pairs, *args)
    return texts, sites, _partition_size(pairs)[0]


def count_lines(
    pairs: Any, text_field: str, site_field: str | None, html: bool, where: str
) -> tuple[Any, list[tuple[str, int]]]:
    """The template counts of all JSONL rows, partition by partition in order (as _count),
    and each partition's part and number of lines (for :func:`label_jsonl`)."""
    from dask import delayed

    from detector.templates import TemplateTable, count_templates

    table = TemplateTable()
    sizes = []
    for number, part in enumerate(pairs.to_delayed()):
        texts, sites, size = delayed(_counted_part)(
            part, text_field, site_field, html, where, number
        ).compute()
        count_templates(zip(sites, texts), table=table)
        sizes.append(size)
    return table, sizes


def _strip_lines(
    pairs: list[tuple[str, str]],
    number: int,
    detector: Any,
    templates: Any,
    text_field: str,
    site_field: str | None,
    mark: bool,
    html: bool,
    where: str,
) -> list[bytes]:
    """A partition's output: its lines with their texts stripped (or marked), as one block of
    bytes (none for a partition without records, so that its part file is empty)."""
    _, kept, records, texts, sites = _line_rows(pairs, text_field, site_field, html, where,
                                                number)
    if not kept:
        return []
    detector = _with_templates(detector, templates)
    done = (detector.mark_many if mark else detector.strip_many)(texts, sites=sites)
    out = "".join(with_text(line, r, text_field, t) for line, r, t in zip(kept, records, done))
    return [out.encode("utf-8")]


def strip_jsonl(
    pairs: Any,
    detector: Any,
    templates: Any,
    text_field: str,
    site_field: str | None,
    mark: bool,
    html: bool,
    where: str,
) -> Any:
    """``strip`` (or with ``mark``, ``--mark``) over the bag of (line, part) ``pairs``: a bag
    of each partition's output lines, as bytes, for :func:`~detector.dask_engine._write`."""
    import dask.bag as db
    from dask import delayed

    return db.from_delayed([
        delayed(_strip_lines)(part, number, detector, templates, text_field, site_field, mark,
                              html, where)
        for number, part in enumerate(pairs.to_delayed())
    ])


def _label_lines(
    pairs: list[tuple[str, str]],
    number: int,
    first_line: int,
    prefix: str,
    detector: Any,
    templates: Any,
    text_field: str,
    site_field: str | None,
    id_field: str,
    html: bool,
    where: str,
) -> list[bytes]:
    """A partition's ``label`` output, as one block of bytes: what the single-process engine
    writes for these lines, the ``first_line``-th of their part onwards (a row without an id
    is named by ``prefix`` and its line number, as there)."""
    at, _, records, texts, sites = _line_rows(pairs, text_field, site_field, html, where, number)
    if not records:
        return []
    detector = _with_templates(detector, templates)
    found = detector.label_many(texts, sites=sites)
    out = "".join(
        json_line({
            "id": id_text(r.get(id_field), f"{prefix}{first_line + k}"),
            **({"text": text} if html else {}),
            "spans": [s.to_dict() for s in spans],
        })
        for k, r, text, spans in zip(at, records, texts, found)
    )
    return [out.encode("utf-8")]


def label_jsonl(
    path: str,
    pairs: Any,
    sizes: list[tuple[str, int]] | None,
    detector: Any,
    templates: Any,
    text_field: str,
    site_field: str | None,
    id_field: str,
    html: bool,
) -> Any:
    """``label`` over the (line, part) ``pairs`` of the JSONL parts at ``path``. A row without
    an id gets its line number in its part, as in the single-process engine, also when a big
    part is read in several partitions: ``sizes`` (each partition's part and number of lines,
    from :func:`count_lines`) say where each partition starts; without them a first, cheap
    pass counts the lines."""
    import dask.bag as db
    from dask import delayed

    if sizes is None:
        sizes = pairs.map_partitions(_partition_size).compute()
    fs, parts = _part_paths(path, None)
    several = len(parts) > 1 or fs.isdir(path)
    seen: dict[str, int] = {}
    tasks = []
    for number, (part, (name, count)) in enumerate(zip(pairs.to_delayed(), sizes)):
        first = seen.get(name, 0) + 1
        seen[name] = first - 1 + count
        prefix = f"{os.path.basename(name)}:" if several else ""
        tasks.append(delayed(_label_lines)(part, number, first, prefix, detector, templates,
                                           text_field, site_field, id_field, html, path))
    return db.from_delayed(tasks)


def _partition_size(pairs: list[tuple[str, str]]) -> list[tuple[str, int]]:
    return [(pairs[0][1] if pairs else "", len(pairs))]
