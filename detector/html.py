"""Raw HTML -> main text, with trafilatura, before the detector sees it.

trafilatura removes the page chrome (navigation, footers, link lists, comments); the detector
then removes the adverts that trafilatura keeps because they sit inside the article body. The
extracted text keeps trafilatura's paragraph breaks, one paragraph a line. Needs the ``html``
extra: ``pip install 'detector[html]'``.
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import IO, Any

from detector.errors import DetectorError, InputError, MissingExtraError

__all__ = [
    "HTML_SUFFIXES",
    "MISSING_EXTRA",
    "PageLog",
    "TRAFILATURA_OPTIONS",
    "check_available",
    "as_article",
    "extract_pages",
    "extract_text",
    "fingerprint",
    "is_html",
]

HTML_SUFFIXES = (".html", ".htm")
MISSING_EXTRA = "HTML input needs the html extra: pip install 'detector[html]'"
#: trafilatura.extract options: plain text with its paragraph breaks, no reader comments; when
#: unsure keep the text (favor_recall), as the detector removes what is promotional and lost
#: editorial text cannot come back.
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "output_format": "txt",
    "include_comments": False,
    "include_tables": True,
    "favor_recall": True,
    "deduplicate": False,
}


def is_html(name: str) -> bool:
    """Whether a file name has an HTML suffix (.html, .htm)."""
    return name.lower().endswith(HTML_SUFFIXES)


def _trafilatura() -> Any:
    try:
        import trafilatura
    except ImportError:  # trafilatura itself, or jusText's lxml_html_clean
        raise MissingExtraError(MISSING_EXTRA) from None
    return trafilatura


# lxml refuses a Python string that declares its own encoding, as XHTML pages often do.
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")


def extract_text(html: str, where: str) -> str:
    """The main text of an HTML page, one paragraph a line.

    Parameters
    ----------
    html : str
        The page's markup.
    where : str
        The file (and row) it came from, for the error message.

    Raises
    ------
    InputError
        When trafilatura finds no main text in the page.
    MissingExtraError
        When trafilatura is not installed.
    """
    trafilatura = _trafilatura()
    html = _XML_DECLARATION.sub("", html, count=1)
    text = trafilatura.extract(html, **TRAFILATURA_OPTIONS) if html.strip() else None
    if not text or not text.strip():
        raise InputError(f"{where}: no main text found in the HTML")
    return text


def as_article(main: str, whole_file: bool) -> str:
    """A page's main text as an article: that of a whole file ends with a line break, as text
    files do."""
    return main + ("\n" if whole_file else "")


def extract_pages(
    texts: list[str], pages: dict[int, str], on_error: str = "fail"
) -> tuple[dict[int, str], dict[int, str]]:
    """The main text of each page of ``texts`` named in ``pages`` (its index -> where it came
    from, for the error message), and the pages without one, each with its error. With
    ``on_error="fail"`` the first such page raises.
    """
    found: dict[int, str] = {}
    failed: dict[int, str] = {}
    for k, where in sorted(pages.items()):
        try:
            found[k] = extract_text(texts[k], where)
        except InputError as exc:
            if on_error == "fail":
                raise
            failed[k] = str(exc)
    return found, failed


def check_available() -> None:
    """Raise the one-line missing-extra error early, before any input is read."""
    _trafilatura()


class PageLog:
    """The main text of each HTML page a first pass extracted, in reading order, in a file:
    a second pass over the same input takes it from there instead of running trafilatura
    again (the template counting pass, then the labeling pass).

    A page is known by its length and CRC-32. Pages are looked up in the order they were
    remembered; a page that differs (a file changed between the passes, or a page the first
    pass could not extract) is extracted afresh and leaves the log where it was.
    """

    _HEAD = struct.Struct("<qIq")  # page length, page CRC-32, extracted text's UTF-8 length

    def __init__(self, path: str):
        self.path = path
        self._out: IO[bytes] | None = open(path, "wb")  # noqa: SIM115 (closed by close)
        self._in: IO[bytes] | None = None
        self._next: tuple[int, int, str] | None = None

    def remember(self, page: str, text: str) -> None:
        """Log ``text`` as the main text of ``page`` (first pass)."""
        assert self._out is not None, "the page log is finished"
        data = text.encode("utf-8", "surrogatepass")
        try:
            self._out.write(self._HEAD.pack(*fingerprint(page), len(data)) + data)
        except OSError as exc:
            raise DetectorError(
                f"cannot write the page log {self.path} ({exc.strerror or exc}); free space "
                "there, point TMPDIR at a larger disk, or pass --no-batch"
            ) from None

    @property
    def writing(self) -> bool:
        """Whether pages are still being logged (the first pass), not yet looked up."""
        return self._out is not None

    def finish(self) -> None:
        """End the first pass: from now on pages are looked up, from the first one logged."""
        if self._out is not None:
            self._out.close()
            self._out = None
            self._in = open(self.path, "rb")  # noqa: SIM115 (closed by close)

    def recall(self, page: str) -> str | None:
        """The logged main text of ``page`` if it is the next page logged (second pass)."""
        if self._next is None and self._in is not None:
            head = self._in.read(self._HEAD.size)
            if len(head) < self._HEAD.size:
                return None
            length, crc, size = self._HEAD.unpack(head)
            self._next = (length, crc, self._in.read(size).decode("utf-8", "surrogatepass"))
        if self._next is None or self._next[:2] != fingerprint(page):
            return None
        text, self._next = self._next[2], None
        return text

    def close(self) -> None:
        for fh in (self._out, self._in):
            if fh is not None:
                fh.close()
        self._out = self._in = None


def fingerprint(text: str) -> tuple[int, int]:
    """A text's length and CRC-32: how a second pass over an input knows a text the first
    pass saw (an HTML page here, an article in the template spool)."""
    return len(text), zlib.crc32(text.encode("utf-8", "surrogatepass"))
