"""Raw HTML -> main text, with trafilatura, before the detector sees it.

trafilatura removes the page chrome (navigation, footers, link lists, comments); the detector
then removes the adverts that trafilatura keeps because they sit inside the article body. The
extracted text keeps trafilatura's paragraph breaks, one paragraph a line. Needs the ``html``
extra: ``pip install 'detector[html]'``.
"""

from __future__ import annotations

from typing import Any

from detector.errors import InputError, MissingExtraError

__all__ = [
    "HTML_SUFFIXES",
    "MISSING_EXTRA",
    "TRAFILATURA_OPTIONS",
    "check_available",
    "extract_text",
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
    text = trafilatura.extract(html, **TRAFILATURA_OPTIONS) if html.strip() else None
    if not text or not text.strip():
        raise InputError(f"{where}: no main text found in the HTML")
    return text


def check_available() -> None:
    """Raise the one-line missing-extra error early, before any input is read."""
    _trafilatura()
