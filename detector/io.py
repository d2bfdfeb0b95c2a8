"""Reading and writing text, HTML, folders, JSONL, CSV and Parquet: the one place that knows
formats.

Inputs are read in chunks (a chunk: a list of articles with their ids and the format's own
rows), so tables of any size stream through in flat memory. Outputs are written to a temporary
file beside the target and renamed into place only when everything was written, so an
interrupted run never leaves a half-written file under the final name. HTML (``.html``/``.htm``
files, or any input with ``html=True``) is read as the main text trafilatura extracts from it
(detector.html); the output then carries that text, cleaned.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import importlib
import io
import json
import lzma
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, NamedTuple

from detector.errors import DataError, EmptyInputError, InputError
from detector.html import (
    HTML_SUFFIXES,
    PageLog,
    as_article,
    check_available,
    extract_text,
    is_html,
)

__all__ = [
    "Chunk",
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_ID_FIELD",
    "DEFAULT_TEXT_FIELD",
    "Input",
    "Output",
    "PendingPage",
    "atomic_write",
    "check_output_file",
    "check_writable",
    "is_special",
    "input_kind",
    "labeled_spans",
    "read_labeled",
]

DEFAULT_TEXT_FIELD = "text"
DEFAULT_ID_FIELD = "id"
DEFAULT_CHUNK_ROWS = 512
ON_ERROR = ("fail", "skip")
DECODE_ERRORS = ("strict", "replace")
TABLE_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
#: A JSONL or CSV file may be compressed (rows.jsonl.gz): the codec by the last suffix, from
#: the standard library. Output is compressed when its name says so.
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma"}
#: What a broken compressed stream raises while it is read (lzma's error is not an OSError).
CODEC_ERRORS = (OSError, EOFError, lzma.LZMAError)


class PendingPage(NamedTuple):
    """An HTML page read as its markup, its main text still to be extracted."""

    #: Where it came from (file, line or row), for the error when it has no main text.
    where: str
    #: A whole file, whose text ends with a line break.
    whole_file: bool
    #: What the row, its id and its output name become when the page has no main text: it then
    #: goes out as it came, as an unreadable row does (a JSONL row as the line it was, named
    #: by its line number; a file under its own name).
    row: Any = None
    id: str | None = None
    name: str | None = None


@dataclass
class Chunk:
    """Some articles of an input: their texts and ids, and the rows they came from.

    ``skipped`` maps the index of a bad row (kept only with ``on_error="skip"``) to the
    reason; its text is empty and the writers pass the row through unchanged.
    """

    texts: list[str]
    ids: list[str]
    rows: Any = None
    names: list[str] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)
    #: Indices of the articles whose text was extracted from HTML.
    extracted: set[int] = field(default_factory=set)
    #: The part file the chunk comes from, for a folder of tables ("" otherwise).
    part: str = ""
    #: Rows whose text is an HTML page still to be extracted (see Input.defer_pages).
    pending: dict[int, PendingPage] = field(default_factory=dict)
    #: The line of each JSONL row read well, so that the writer replaces the text's value in
    #: it and keeps every other byte (numbers, escapes, key order, spacing) as it came.
    lines: dict[int, str] = field(default_factory=dict)

    @property
    def good(self) -> list[int]:
        """Indices of the rows that were read well (all but the skipped ones)."""
        return [k for k in range(len(self.texts)) if k not in self.skipped]

    def values(self, name: str) -> list[Any] | None:
        """Each row's value of field/column ``name`` (None where a row lacks it), or None
        when no row of this chunk has such a field (plain text, folders, other tables)."""
        if self.rows is None or isinstance(self.rows, bytes):  # bytes: a part without rows
            return None
        if isinstance(self.rows, list) and not self.rows:
            return None
        if isinstance(self.rows, list):
            if not any(isinstance(r, dict) and name in r for r in self.rows):
                return None
            return [r.get(name) if isinstance(r, dict) else None for r in self.rows]
        if hasattr(self.rows, "schema"):  # an Arrow record batch (Parquet)
            if name not in self.rows.schema.names:
                return None
            return self.rows.column(name).to_pylist()
        if name not in self.rows.columns:
            return None
        return self.rows[name].tolist()


@dataclass(frozen=True)
class RawLine:
    """A JSONL line that could not be read, written back exactly as it came."""

    data: bytes


def input_kind(path: str) -> str:
    """'stdin', 'folder' (of text or HTML files), 'parts' (a folder of JSONL, CSV or Parquet
    part files), 'jsonl', 'csv', 'parquet', 'html' or 'text', from the path alone (and the
    names in a folder)."""
    if path == "-":
        return "stdin"
    if os.path.isdir(path):
        return "parts" if _has_parts(path) else "folder"
    if is_html(path):
        return "html"
    return table_kind(path) or "text"


def table_kind(path: str | os.PathLike[str]) -> str | None:
    """'jsonl', 'csv' or 'parquet' by a file's name, else None. JSONL and CSV may be
    compressed: ``rows.jsonl.gz``, ``rows.csv.bz2``, ``rows.jsonl.xz``."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if len(suffixes) >= 2 and suffixes[-1] in COMPRESSIONS:
        kind = TABLE_SUFFIXES.get(suffixes[-2])
        return kind if kind in ("jsonl", "csv") else None
    return TABLE_SUFFIXES.get(suffixes[-1]) if suffixes else None


def open_binary(path: str | os.PathLike[str], mode: str = "rb") -> IO[bytes]:
    """A file opened in binary ``mode``, through its codec when its name ends in one."""
    return _opener(path)(path, mode)


@contextmanager
def _text_output(tmp: str, target: str) -> Iterator[IO[str]]:
    """The text file ``tmp`` for writing, compressed as ``target``'s name says; with
    surrogateescape, a skipped line with undecodable bytes goes out byte for byte."""
    text: dict[str, Any] = {"encoding": "utf-8", "newline": "", "errors": "surrogateescape"}
    if COMPRESSIONS.get(Path(target).suffix.lower()) != "gzip":
        with _opener(target)(tmp, "wt", **text) as fh:
            yield fh
        return
    # gzip.open(tmp) would record the temporary file's name in the header, which
    # gunzip -N and file managers restore: name the file being written instead.
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename=target, mode="wb", fileobj=raw) as packed,
        io.TextIOWrapper(packed, **text) as fh,
    ):
        yield fh


def _opener(path: str | os.PathLike[str]) -> Callable[..., IO[Any]]:
    """``open``, or the ``open`` of the codec ``path``'s name ends in (gzip, bz2, lzma)."""
    codec = COMPRESSIONS.get(Path(path).suffix.lower())
    return open if codec is None else importlib.import_module(codec).open


@dataclass
class Input:
    """An input path with the fields to read; iterate :meth:`chunks` to stream it."""

    path: str
    text_field: str = DEFAULT_TEXT_FIELD
    id_field: str = DEFAULT_ID_FIELD
    #: "fail": stop at the first bad row; "skip": pass bad rows through and note them.
    on_error: str = "fail"
    #: How undecodable bytes are handled: "strict" (an error) or "replace" (U+FFFD).
    errors: str = "strict"
    #: The input's text encoding (any codec name Python knows).
    encoding: str = "utf-8"
    #: The text is HTML (the text field of a table, stdin, every file): extract its main text.
    html: bool = False
    #: The site of every article (``--site``), when the input cannot say it itself.
    site: str | None = None
    #: Put before an id made from a line or row number (a part's name, in a folder of tables,
    #: so that the ids of rows without one differ between parts).
    id_prefix: str = ""
    #: The main texts of HTML pages a first pass over this input extracted (template counting
    #: passes log them, labeling passes take them from there).
    pages: PageLog | None = field(default=None, repr=False, compare=False)
    #: Leave the main-text extraction of HTML pages to whoever processes the chunks (worker
    #: processes, with --jobs): a page the log does not know is read as its markup and noted
    #: in :attr:`Chunk.pending` (see :func:`detector.html.extract_pages`).
    defer_pages: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}")
        if self.errors not in DECODE_ERRORS:
            raise ValueError(f"errors must be one of {DECODE_ERRORS}")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise InputError(f"unknown encoding {self.encoding!r}") from None
        if self.html or self.kind == "html":
            check_available()

    def page_text(
        self,
        text: str,
        where: str,
        name: str = "",
        *,
        whole_file: bool = False,
        chunk: Chunk | None = None,
    ) -> str:
        """``text`` itself, or its main text when it is HTML (``html``, or by the file name);
        the text of a whole file ends with a line break, as text files do.

        With :attr:`defer_pages`, a page that is not in the page log comes back as it is and
        is noted as pending in ``chunk``, whose next row it is.
        """
        if self.html or is_html(name):
            pages = self.pages
            main = None if pages is None or pages.writing else pages.recall(text)
            if main is None and self.defer_pages and chunk is not None:
                chunk.pending[len(chunk.texts)] = PendingPage(where, whole_file)
                return text
            if main is None:
                main = extract_text(text, where)
                if pages is not None and pages.writing:
                    pages.remember(text, main)
            return as_article(main, whole_file)
        return text

    @property
    def _escaping(self) -> bool:
        """Whether a table reader keeps undecodable bytes as surrogates: with --on-error skip
        and strict decoding, a row with such bytes in its text is a bad row, not the end."""
        return self.on_error == "skip" and self.errors == "strict"

    def decode(self, data: bytes, path: str, line_no: int | None = None) -> str:
        if self.errors == "replace":
            return data.decode(self.encoding, errors="replace")
        return _decode(data, path, line_no, self.encoding)

    @functools.cached_property
    def kind(self) -> str:
        return input_kind(self.path)

    def chunks(self, rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[Chunk]:
        reader = {
            "stdin": self._read_stdin,
            "text": self._read_text,
            "html": self._read_text,
            "folder": self._read_folder,
            "parts": self._read_parts,
            "jsonl": self._read_jsonl,
            "csv": self._read_csv,
            "parquet": self._read_parquet,
        }[self.kind]
        yield from reader(rows)

    def _read_stdin(self, rows: int) -> Iterator[Chunk]:
        text = self.decode(sys.stdin.buffer.read(), "<stdin>")
        if not text.strip():
            raise InputError("<stdin> is empty")
        extracted = {0} if self.html else set()
        page = self.page_text(text, "<stdin>", whole_file=True)
        yield Chunk([page], ["stdin"], extracted=extracted)

    def _read_text(self, rows: int) -> Iterator[Chunk]:
        text = self.decode(_read_bytes(self.path), self.path)
        if not text.strip():
            raise EmptyInputError(f"{self.path} is empty")
        name = Path(self.path).name
        page = self.page_text(text, self.path, name, whole_file=True)
        extracted = {0} if self.html or is_html(name) else set()
        yield Chunk([page], [Path(self.path).stem], names=[name], extracted=extracted)

    def _read_folder(self, rows: int) -> Iterator[Chunk]:
        files = _folder_files(self.path)
        for start in range(0, len(files), rows):
            part = files[start : start + rows]
            names = [f"{p.stem}.txt" for p in part]
            chunk = Chunk([], [p.stem for p in part], rows=[], names=names)
            for k, p in enumerate(part):
                data = _read_bytes(str(p))
                chunk.rows.append(data)
                try:
                    text = self.decode(data, str(p))
                    chunk.texts.append(
                        self.page_text(text, str(p), p.name, whole_file=True, chunk=chunk)
                    )
                except InputError as exc:
                    if self.on_error == "fail":
                        raise
                    chunk.texts.append("")
                    chunk.skipped[k] = str(exc)
                    chunk.names[k] = p.name  # passed through unchanged, under its own name
                else:
                    if k in chunk.pending:
                        chunk.pending[k] = chunk.pending[k]._replace(name=p.name)
                    if self.html or is_html(p.name):
                        chunk.extracted.add(k)
            yield chunk

    def _read_parts(self, rows: int) -> Iterator[Chunk]:
        """Each part file in natural order, read as that table (a row without an id gets the
        part's name and its line or row number, "part-1.jsonl:7"); a part with no rows goes
        through unchanged (as a chunk without articles whose ``rows`` are its bytes)."""
        for p in _part_files(self.path, strict=True):
            seen = False
            try:
                for chunk in replace(self, path=str(p), id_prefix=f"{p.name}:").chunks(rows):
                    chunk.part = p.name
                    seen = True
                    yield chunk
            except EmptyInputError:
                if seen:
                    raise
                yield Chunk([], [], rows=_read_bytes(str(p)), part=p.name)

    def _read_jsonl(self, rows: int) -> Iterator[Chunk]:
        _check_file(self.path)
        seen = False
        with _readable(self.path), open_binary(self.path) as fh:
            chunk = Chunk([], [], [])
            for line_no, raw in enumerate(fh, 1):
                record = None
                try:
                    line = _unmarked(self.decode(raw, self.path, line_no), line_no)
                    if not line.strip():
                        continue
                    where = f"{self.path} line {line_no}"
                    record = parse_json_object(line, where)
                    _check_text(record, self.text_field, where, list(record), self.id_field)
                    text = self.page_text(record[self.text_field], where, chunk=chunk)
                except InputError as exc:
                    if self.on_error == "fail":
                        raise
                    chunk.skipped[len(chunk.texts)] = str(exc)
                    chunk.rows.append(RawLine(raw))
                    chunk.texts.append("")
                    fallback = f"{self.id_prefix}{line_no}"
                    # a row that parsed is listed under its own id; its line is in the error
                    given = None if record is None else record.get(self.id_field)
                    chunk.ids.append(id_text(given, fallback))
                else:
                    k = len(chunk.texts)
                    if k in chunk.pending:
                        chunk.pending[k] = chunk.pending[k]._replace(
                            row=RawLine(raw), id=f"{self.id_prefix}{line_no}"
                        )
                    if self.html:
                        chunk.extracted.add(k)
                    chunk.rows.append(record)
                    chunk.lines[k] = line
                    chunk.texts.append(text)
                    chunk.ids.append(
                        id_text(record.get(self.id_field), f"{self.id_prefix}{line_no}")
                    )
                if len(chunk.texts) >= rows:
                    yield chunk
                    seen, chunk = True, Chunk([], [], [])
            if chunk.texts:
                yield chunk
                seen = True
        if not seen:
            raise EmptyInputError(f"{self.path} is empty")

    def _read_csv(self, rows: int) -> Iterator[Chunk]:
        import pandas as pd

        _check_file(self.path)
        options: dict[str, Any] = dict(
            dtype=str, keep_default_na=False, encoding=self.encoding, encoding_errors=self.errors
        )
        if self._escaping:
            # undecodable bytes become lone surrogates, so that the row they are in can be
            # skipped and written back byte for byte (the output file escapes them back)
            options.update(dtype=object, encoding_errors="surrogateescape")
        try:
            # pandas renames a repeated or empty column name ("a.1", "Unnamed: 4"); the header
            # as written goes out again (see TableWriter.write_frame)
            header = pd.read_csv(self.path, header=None, nrows=1, **options).iloc[0].tolist()
            reader = pd.read_csv(self.path, chunksize=rows, **options)
            seen = False
            for offset, frame in _enumerate_rows(reader):
                frame.attrs["header"] = header
                yield self._frame_chunk(frame, offset, first_line=2)
                seen = True
        except UnicodeDecodeError:
            self.decode(_read_bytes(self.path), self.path)  # raises with the line number
            raise
        except pd.errors.EmptyDataError:
            raise EmptyInputError(f"{self.path} is empty") from None
        except pd.errors.ParserError as exc:
            raise InputError(f"{self.path} is not valid CSV ({str(exc).strip()})") from None
        except CODEC_ERRORS as exc:
            raise InputError(f"{self.path} cannot be read ({_reason(exc)})") from None
        if not seen:
            raise EmptyInputError(f"{self.path} is empty")

    def _read_parquet(self, rows: int) -> Iterator[Chunk]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        _check_file(self.path)
        try:
            parquet = pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{self.path} is not a readable Parquet file ({exc})") from None
        seen = False
        offset = 0
        # Arrow record batches, not pandas frames: every other column goes out as it came in
        # (types, nulls, nested values, the file's metadata), and only the text is replaced.
        for batch in parquet.iter_batches(batch_size=rows):
            column = functools.partial(_batch_column, batch)
            yield self._rows_chunk(batch, batch.schema.names, column, offset, first_line=0)
            offset += batch.num_rows
            seen = True
        if not seen:
            raise EmptyInputError(f"{self.path} is empty")

    def _frame_chunk(self, frame: Any, offset: int, *, first_line: int) -> Chunk:
        columns = [str(c) for c in frame.columns]
        return self._rows_chunk(
            frame, columns, lambda name: frame[name].tolist(), offset, first_line=first_line
        )

    def _rows_chunk(
        self,
        rows: Any,
        columns: list[str],
        column: Callable[[str], list[Any]],
        offset: int,
        *,
        first_line: int,
    ) -> Chunk:
        """A chunk of table ``rows`` (a pandas frame or an Arrow record batch) with the given
        ``columns``; ``column(name)`` gives a column's values."""
        if self.text_field not in columns:
            others = _by_text_length([c for c in columns if c != self.id_field], column)
            raise InputError(_missing_field(self.path, self.text_field, columns, "column", others))
        ids = [f"{self.id_prefix}{offset + i}" for i in range(len(rows))]
        if self.id_field in columns:
            ids = [id_text(v, fallback) for v, fallback in zip(column(self.id_field), ids)]
        chunk = Chunk([], ids, rows)
        for i, value in enumerate(column(self.text_field)):
            where = f"{self.path} row {offset + i + first_line}"
            try:
                if not isinstance(value, str):
                    raise InputError(
                        f"{where}: column '{self.text_field}' is not text (got {_describe(value)})"
                    )
                if self._escaping and _SURROGATE.search(value):
                    raise InputError(
                        f"{where}: column '{self.text_field}' is not valid {_name(self.encoding)}"
                        "; pass --encoding or --errors replace"
                    )
                value = self.page_text(value, where, chunk=chunk)
            except InputError as exc:
                if self.on_error == "fail":
                    raise
                chunk.skipped[i] = str(exc)
                value = ""
            else:
                if self.html:
                    chunk.extracted.add(i)
            chunk.texts.append(value)
        return chunk


def _part_files(folder: str, *, strict: bool = False) -> list[Path]:
    """The JSONL, CSV and Parquet files of a folder in natural order (part-2 before part-10,
    as the Dask engine reads them); hidden files and names starting with "_", such as
    Spark's _SUCCESS, are not parts. With ``strict``, text or HTML files beside them are an
    error: a folder is one kind of input or the other."""
    parts, pages = [], []
    for p in sorted(Path(folder).iterdir(), key=_natural):
        if not p.is_file():
            continue
        if _is_part(p.name):
            parts.append(p)
        elif _is_page(p.name):
            pages.append(p)
    if strict and parts and pages:
        raise InputError(
            f"folder {folder} mixes tables ({parts[0].name}) and text or HTML files "
            f"({pages[0].name}); give it one kind of file"
        )
    return parts


def _has_parts(folder: str) -> bool:
    """Whether a folder holds a part file (what :func:`_part_files` lists), without listing
    all of a folder of a million text files."""
    with os.scandir(folder) as entries:
        return any(_is_part(e.name) and e.is_file() for e in entries)


def _is_part(name: str) -> bool:
    """A table's name that is not hidden and not a marker such as Spark's _SUCCESS."""
    return not name.startswith((".", "_")) and table_kind(name) is not None


def _is_page(name: str) -> bool:
    """A text or HTML file's name (.txt, .TXT, .html, .htm), not a hidden file."""
    return not name.startswith(".") and (
        name.lower().endswith(".txt") or name.lower().endswith(HTML_SUFFIXES)
    )


def _natural(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def _folder_files(folder: str) -> list[Path]:
    """The .txt and HTML files of a folder, sorted; two that would share an output name
    (a.txt and a.html) are an error."""
    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and _is_page(p.name))
    if not files:
        raise InputError(
            f"folder {folder} has no .txt, .html, .jsonl, .csv or .parquet files"
        )
    seen: dict[str, str] = {}
    for p in files:
        if p.stem in seen:
            raise InputError(
                f"folder {folder} has both {seen[p.stem]} and {p.name}, which would both be "
                f"written as {p.stem}.txt; rename one"
            )
        seen[p.stem] = p.name
    return files


def _enumerate_rows(reader: Any) -> Iterator[tuple[int, Any]]:
    offset = 0
    for frame in reader:
        yield offset, frame
        offset += len(frame)


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise InputError(f"{path} does not exist")
    if os.path.isdir(path):
        raise InputError(f"{path} is a folder, not a file")


def _read_bytes(path: str) -> bytes:
    _check_file(path)
    with _readable(path), open_binary(path) as fh:
        return fh.read()


@contextmanager
def _readable(path: str) -> Iterator[None]:
    """A file that cannot be opened or decompressed is a one-line error naming it."""
    try:
        yield
    except CODEC_ERRORS as exc:
        raise InputError(f"{path} cannot be read ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _decode(data: bytes, path: str, line_no: int | None = None, encoding: str = "utf-8") -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = line_no if line_no is not None else data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path} line {line} is not valid {_name(encoding)} (byte 0x{data[exc.start]:02x}); "
            "pass --encoding or --errors replace"
        ) from None


def _unmarked(line: str, line_no: int) -> str:
    """A JSONL file's line without the byte-order mark some editors put at its start."""
    return line.removeprefix("\ufeff") if line_no == 1 else line


def _name(encoding: str) -> str:
    return "UTF-8" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


#: A lone surrogate: JSON can hold one (as a \\u escape), UTF-8 cannot.
_SURROGATE = re.compile("[\ud800-\udfff]")


_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _value_span(line: str | None, name: str) -> tuple[int, int] | None:
    """Where the value of the top-level field ``name`` lies in a JSON object's ``line`` (its
    last occurrence, the one json.loads keeps); None when there is no such field. Keys and
    values are skipped by the json module's own scanner, so the walk stays linear."""
    if line is None:
        return None
    found = None
    i = _skip(line, 0)
    if line[i : i + 1] != "{":
        return None
    i = _skip(line, i + 1)
    try:
        while line[i : i + 1] == '"':
            key, i = _DECODER.raw_decode(line, i)
            i = _skip(line, i)
            if line[i : i + 1] != ":":
                return None
            start = _skip(line, i + 1)
            _, end = _DECODER.raw_decode(line, start)
            if key == name:
                found = (start, end)
            i = _skip(line, end)
            if line[i : i + 1] == "}":
                return found
            if line[i : i + 1] != ",":
                return None
            i = _skip(line, i + 1)
    except ValueError:  # not what json.loads read: the writer dumps the record instead
        return None
    return None


def _skip(line: str, i: int) -> int:
    """The position after the JSON whitespace at ``i``."""
    return _SPACE.match(line, i).end()  # type: ignore[union-attr]


def with_text(line: str | None, record: dict[str, Any], text_field: str, text: str) -> str:
    """The JSONL ``line`` that ``record`` was read from, with the value of its ``text_field``
    replaced by ``text`` and every other byte kept (an other line ending becomes \n); without
    a line, or one the scanner cannot walk, the record is written anew."""
    span = _value_span(line, text_field)
    if line is None or span is None:
        return json_line({**record, text_field: text})
    line = line.rstrip("\r\n")
    return f"{line[: span[0]]}{json_line(text)[:-1]}{line[span[1] :]}\n"


def json_line(record: Any) -> str:
    """``record`` as one JSONL line, non-ASCII as it is; a record holding a lone surrogate
    (read from a JSON escape such as "\\ud83d") keeps it as that escape, since UTF-8 cannot
    hold it."""
    line = json.dumps(record, ensure_ascii=False)
    if _SURROGATE.search(line):
        line = json.dumps(record)
    return line + "\n"


def parse_json_object(line: str, where: str) -> dict[str, Any]:
    """One JSONL line as its object, or an InputError saying what is wrong at ``where``."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} is not valid JSON ({exc.msg})") from None
    except (ValueError, RecursionError):  # a 5,000-digit number, [[[[... 100,000 deep
        raise InputError(
            f"{where} is not valid JSON (nested too deeply or number too long)"
        ) from None
    if not isinstance(record, dict):
        raise InputError(f"{where} is not a JSON object")
    return record


def _check_text(
    record: dict[str, Any], name: str, where: str, fields: list[str], id_field: str
) -> None:
    if name not in record:
        texts = _by_text_length([k for k in record if k != id_field], lambda k: [record[k]])
        raise InputError(_missing_field(where, name, fields, "field", texts))
    if not isinstance(record[name], str):
        raise InputError(f"{where}: field '{name}' is not a string (got {_describe(record[name])})")


def _by_text_length(names: list[str], values: Callable[[str], list[Any]]) -> list[str]:
    """The ``names`` whose values include text, the most text first: the likeliest article
    column leads the hint (an id, a source or a language name is short)."""
    size = {n: sum(len(v) for v in values(n) if isinstance(v, str)) for n in names}
    return sorted((n for n in names if size[n]), key=lambda n: -size[n])


def _missing_field(
    where: str, name: str, fields: list[str], what: str, candidates: list[str] | None = None
) -> str:
    listed = ", ".join(map(_shown, fields)) if fields else "none"
    candidates = fields if candidates is None else candidates
    hint = f"; pass --text-field {_shown(candidates[0])}" if candidates else ""
    plural = "columns" if what == "column" else "fields"
    return f"{where} has no {what} '{_shown(name)}' ({plural}: {listed}){hint}"


def _shown(name: str) -> str:
    """A field name for a one-line message: line breaks and other control characters
    escaped, everything else (umlauts too) as it is."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)


def id_text(value: Any, fallback: str) -> str:
    """An article's id as text: JSON's spelling for true and false, and ``fallback`` (its
    line or row) when the id is missing or null."""
    if _describe(value) == "null":
        return fallback
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _describe(value: Any) -> str:
    if value is None or type(value).__name__ == "NAType" or value != value:  # None, NA, NaN
        return "null"
    return type(value).__name__


_KIND_NAMES = {"jsonl": "JSONL", "csv": "CSV", "parquet": "Parquet", "text": "plain text"}
_SUFFIXES = {"jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet", "text": ".txt"}


class Output:
    """Where results go: a file written atomically, a folder, or stdout when path is None."""

    def __init__(self, path: str | None, kind: str):
        self.path = path
        self.kind = kind

    @classmethod
    def like(cls, path: str | None, source: Input) -> Output:
        """Output in the input's format (text for stdin)."""
        kind = {"stdin": "text", "html": "text"}.get(source.kind, source.kind)
        if path is None and kind in ("parquet", "folder", "parts"):
            what = {"parts": "a folder of tables"}.get(kind, f"{kind} input")
            raise InputError(f"{source.path} is {what}: pass -o for the output")
        if path is not None and kind in ("folder", "parts") and os.path.isfile(path):
            raise InputError(f"{path} is a file; the output of a folder must be a folder")
        why = f"strip keeps the format of {source.path} ({_KIND_NAMES.get(kind, kind)})"
        return cls.named(path, kind, why)

    @classmethod
    def named(cls, path: str | None, kind: str, why: str) -> Output:
        """Output of ``kind`` to ``path``, unless the path's name says another table format:
        writing JSONL under a .parquet name would only mislead."""
        named = None if path is None else table_kind(path)
        if named is not None and kind in _SUFFIXES and named != kind:
            raise InputError(
                f"{path} names {_KIND_NAMES[named]} output, but {why}; "
                f"give it a {_SUFFIXES[kind]} name"
            )
        return cls(path, kind)

    @contextmanager
    def writer(self) -> Iterator[TableWriter]:
        if self.kind == "folder":
            assert self.path is not None
            os.makedirs(self.path, exist_ok=True)
            yield TableWriter(None, "folder", self.path)
            return
        if self.kind == "parts":
            assert self.path is not None
            os.makedirs(self.path, exist_ok=True)
            parts = PartsWriter(self.path)
            try:
                yield parts
            except BaseException as exc:
                parts.finish(exc)
                raise
            parts.finish()
            return
        if self.path is None:
            if sys.stdout is None:  # started with stdout closed (`detector strip x >&-`)
                raise InputError("cannot write to stdout: it is closed; pass -o FILE")
            yield TableWriter(sys.stdout, self.kind, None)
            sys.stdout.flush()
            return
        with atomic_write(self.path) as tmp:
            opened = open(tmp, "wb") if self.kind == "parquet" else _text_output(tmp, self.path)
            with opened as fh:
                writer = TableWriter(fh, self.kind, None)
                yield writer
                writer.close()


class TableWriter:
    """Writes chunks in one format: texts replaced, every other field/column untouched."""

    def __init__(self, fh: IO[Any] | None, kind: str, folder: str | None):
        self.fh = fh
        self.kind = kind
        self.folder = folder
        self._header = True
        self._parquet: Any = None

    def write_texts(self, chunk: Chunk, texts: list[str], text_field: str) -> None:
        """Write a chunk with its texts replaced; skipped rows go out as they came in."""
        if self.kind == "text":
            assert self.fh is not None
            self.fh.write("".join(texts))
        elif self.kind == "folder":
            assert self.folder is not None
            for k, (name, text) in enumerate(zip(chunk.names, texts)):
                with atomic_write(os.path.join(self.folder, name)) as tmp:
                    if k in chunk.skipped:
                        Path(tmp).write_bytes(chunk.rows[k])
                    else:
                        Path(tmp).write_text(text, encoding="utf-8")
        elif self.kind == "jsonl":
            assert self.fh is not None
            for k, (row, text) in enumerate(zip(chunk.rows, texts)):
                if isinstance(row, RawLine):
                    line = row.data.decode("utf-8", errors="surrogateescape")
                    self.fh.write(line if line.endswith("\n") else line + "\n")
                elif k in chunk.skipped:
                    self.write_records([row])
                else:
                    self.fh.write(with_text(chunk.lines.get(k), row, text_field, text))
        elif self.kind == "parquet":
            self.write_batch(_with_texts(chunk, texts, text_field))
        else:
            frame = chunk.rows.copy()
            kept = [k for k in range(len(texts)) if k not in chunk.skipped]
            column = frame.columns.get_loc(text_field)
            frame.iloc[kept, column] = [texts[k] for k in kept]
            self.write_frame(frame)

    def write_records(self, records: list[dict[str, Any]]) -> None:
        assert self.fh is not None
        self.fh.write("".join(map(json_line, records)))

    def write_frame(self, frame: Any) -> None:
        header = frame.attrs.get("header", True) if self._header else False
        frame.to_csv(self.fh, index=False, header=header)
        self._header = False

    def write_batch(self, batch: Any) -> None:
        """Write an Arrow record batch to the Parquet file, with the schema of the first."""
        import pyarrow.parquet as pq

        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.fh, batch.schema)
        self._parquet.write_batch(batch)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()


def _batch_column(batch: Any, name: str) -> list[Any]:
    return batch.column(name).to_pylist()


def _with_texts(chunk: Chunk, texts: list[str], text_field: str) -> Any:
    """The chunk's Arrow record batch with its text column's good rows replaced by ``texts``:
    the column keeps its type (large_string, dictionary ...), every other column is the
    input's own array."""
    import pyarrow as pa

    batch = chunk.rows
    where = batch.schema.get_field_index(text_field)
    old = batch.column(where)
    values = old.to_pylist()
    for k in chunk.good:
        values[k] = texts[k]
    columns = list(batch.columns)
    columns[where] = pa.array(values, type=old.type)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


class PartsWriter(TableWriter):
    """Writes a folder of tables part by part: each part file of the input becomes the file
    of the same name (and format) in ``folder``, renamed into place once it is complete. The
    chunks of a part come one after another, so one part is open at a time."""

    def __init__(self, folder: str):
        super().__init__(None, "parts", folder)
        self.part = ""
        self._open: ExitStack | None = None
        self._writer: TableWriter | None = None

    def write_texts(self, chunk: Chunk, texts: list[str], text_field: str) -> None:
        assert self.folder is not None
        if isinstance(chunk.rows, bytes):  # a part without rows goes out as it came in
            self.finish()
            with atomic_write(os.path.join(self.folder, chunk.part)) as tmp:
                Path(tmp).write_bytes(chunk.rows)
            return
        if chunk.part != self.part or self._writer is None:
            self.finish()
            self._start(chunk.part)
        assert self._writer is not None
        self._writer.write_texts(chunk, texts, text_field)

    def _start(self, part: str) -> None:
        assert self.folder is not None
        kind = table_kind(part)
        assert kind is not None
        output = Output(os.path.join(self.folder, part), kind)
        stack = ExitStack()
        self._writer = stack.enter_context(output.writer())
        self._open, self.part = stack, part

    def finish(self, error: BaseException | None = None) -> None:
        """Complete the open part (rename it into place), or drop it after ``error``."""
        if self._open is None:
            return
        stack, self._open, self._writer = self._open, None, None
        if error is None:
            stack.close()
        else:
            stack.__exit__(type(error), error, error.__traceback__)


def file_stamp(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(mtime in ns, size) of a file, or None when it cannot be read: a changed file is a new
    stamp, for caches that load a file once per process."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def make_temp(target: Path) -> str:
    """An empty temporary file beside ``target`` with the permissions a new file would get."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp


def check_output_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, or an error if it names a folder (checked before long work too)."""
    target = Path(path)
    if target.is_dir() or str(path).endswith(("/", os.sep)):  # Path drops a trailing slash
        raise InputError(f"cannot write {path}: it is a folder; give a file name")
    return target


def check_writable(path: str | os.PathLike[str]) -> Path:
    """:func:`check_output_file`, and an error if the folder it would be written in does not
    exist or cannot be written in (checked before long work)."""
    target = check_output_file(path)
    if is_special(target):
        return target  # written as it is (see atomic_write)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.exists():
        raise InputError(f"cannot write {target}: folder {directory} does not exist")
    _check_folder(target, directory)
    return target


def check_creatable(path: str | os.PathLike[str]) -> Path:
    """:func:`check_output_file` for a file whose missing folders are made: the nearest
    folder that exists must be one and be writable."""
    target = check_output_file(path)
    ancestor = target.parent if str(target.parent) else Path(".")
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    _check_folder(target, ancestor)
    return target


def _check_folder(target: Path, folder: Path) -> None:
    """An error unless ``folder``, which exists, is a folder ``target`` can be written in."""
    if not folder.is_dir():
        raise InputError(f"cannot write {target}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {target}: folder {folder} is not writable")


def is_special(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` exists and is neither a regular file nor a folder: a device
    (/dev/null) or a pipe, which is read or written once, in place."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # missing, or a dangling link: a new file
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success.

    A symbolic link stays a link: the file it points to is the one replaced. A device or a
    pipe (``-o /dev/null``) cannot be replaced by renaming: it is written directly.
    """
    target = check_writable(path)
    if is_special(target):
        yield str(target)
        return
    if target.is_symlink():
        target = target.resolve()
    tmp = make_temp(target)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_labeled(path: str) -> list[dict[str, Any]]:
    """Labeled articles (data/FORMAT.md), validated: ids unique, spans in bounds and sorted."""
    records = []
    ids: set[str] = set()
    labeled = False  # whether any line has a 'spans' field
    source = Input(path)
    if source.kind != "jsonl":
        raise DataError(f"{path}: labeled data must be JSONL (.jsonl)")
    _check_file(path)
    with _readable(path), open_binary(path) as fh:
        for line_no, raw in enumerate(fh, 1):
            line = _unmarked(_decode(raw, path, line_no), line_no)
            if not line.strip():
                continue
            where = f"{path} line {line_no}"
            record = parse_json_object(line, where)
            _check_labeled(record, where)
            record["id"] = str(record["id"])
            if record["id"] in ids:
                raise DataError(f"{where}: id {record['id']!r} appears twice")
            ids.add(record["id"])
            labeled = labeled or "spans" in record
            record["spans"] = _valid_spans(record, where)
            records.append(record)
    if not records:
        raise DataError(f"{path} is empty")
    if not labeled:
        raise DataError(
            f"{path} has no labeled article: no line has a field 'spans' (data/FORMAT.md)"
        )
    return records


def labeled_spans(record: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The record's ``spans``, checked as :func:`read_labeled` checks them (errors name
    ``where``)."""
    return _valid_spans(record, where)


def _check_labeled(record: dict[str, Any], where: str) -> None:
    """The fields every labeled article has (data/FORMAT.md): a text, an id, spans."""
    for name in ("text", "id"):
        if name not in record:
            fields = ", ".join(map(_shown, record)) or "none"
            raise DataError(
                f"{where} has no field '{name}' (fields: {fields}); labeled data has id, text "
                "and spans (data/FORMAT.md)"
            )
    if not isinstance(record["text"], str):
        raise DataError(f"{where}: field 'text' is not a string (got {_describe(record['text'])})")
    if not isinstance(record["id"], (str, int)) or isinstance(record["id"], bool):
        raise DataError(f"{where}: field 'id' is not a string or integer")
    source = record.get("source")
    if source is not None and not isinstance(source, str):
        raise DataError(f"{where}: field 'source' is not a string (got {_describe(source)})")


def _offset(value: Any) -> int | None:
    """A span offset: an integer, or a string of digits (as tables write them); not a float,
    which would be cut, nor a boolean."""
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _valid_spans(record: dict[str, Any], where: str) -> list[dict[str, Any]]:
    spans = record.get("spans", [])
    if not isinstance(spans, list):
        raise DataError(f"{where}: field 'spans' is not a list")
    n = len(record["text"])
    end = 0
    out = []
    for k, span in enumerate(spans):
        fields = span if isinstance(span, dict) else {}
        a, b, label = _offset(fields.get("start")), _offset(fields.get("end")), fields.get("label")
        if a is None or b is None or not isinstance(label, str) or not label:
            raise DataError(f"{where}: span {k} needs integer start, end and a label")
        if a == b:
            raise DataError(f"{where}: span {k} ({a}, {b}) is empty")
        if not 0 <= a < b <= n:
            raise DataError(f"{where}: span {k} ({a}, {b}) is outside the text (length {n})")
        if a < end:
            raise DataError(f"{where}: span {k} overlaps or is out of order")
        end = b
        out.append({"start": a, "end": b, "label": label})
    return out
