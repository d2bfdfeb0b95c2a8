"""Build the challenge set data/challenge/*.jsonl from its marked sources in data/challenge/src/.

    python data/challenge.py            # writes data/challenge/de.jsonl and en.jsonl
    python data/challenge.py --check    # fails if they are out of date (CI runs this)

The challenge set is for evaluation only; neither data/build.py nor the shipped model reads it
(see data/README.md). Its articles were written apart from data/pieces/, with advert spans
marked inline, [[AD]]...[[/AD]], and neutral ones [[NEU]]...[[/NEU]]. This script removes
the markers and writes each article in the labeled format (../shared/data/FORMAT.md): `id`,
`text`, `spans`, plus `source` (challenge-<lang>), `lang` and `kinds` (the advert kinds the
article carries, as its writer listed them).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "challenge"
SOURCES = HERE / "src"
MARKER = re.compile(r"\[\[(/?)(AD|NEU)\]\]")
LABELS = {"AD": "advert", "NEU": "neutral"}


class MarkupError(ValueError):
    pass


def unmark(marked: str, where: str) -> tuple[str, list[dict[str, Any]]]:
    """The text without its markers and the labeled spans the markers delimited."""
    parts: list[str] = []
    spans: list[dict[str, Any]] = []
    length = 0
    open_tag: tuple[str, int] | None = None
    last = 0
    for match in MARKER.finditer(marked):
        parts.append(marked[last : match.start()])
        length += match.start() - last
        last = match.end()
        closing, tag = match.group(1) == "/", match.group(2)
        if not closing:
            if open_tag is not None:
                raise MarkupError(f"{where}: [[{tag}]] inside an open [[{open_tag[0]}]]")
            open_tag = (tag, length)
            continue
        if open_tag is None or open_tag[0] != tag:
            raise MarkupError(f"{where}: [[/{tag}]] without its opening marker")
        start = open_tag[1]
        open_tag = None
        inner = "".join(parts)[start:length]
        if not inner.strip():
            raise MarkupError(f"{where}: an empty [[{tag}]] span")
        # A span covers its text from the first to the last non-space character.
        start += len(inner) - len(inner.lstrip())
        end = length - (len(inner) - len(inner.rstrip()))
        spans.append({"start": start, "end": end, "label": LABELS[tag]})
    if open_tag is not None:
        raise MarkupError(f"{where}: [[{open_tag[0]}]] is never closed")
    parts.append(marked[last:])
    return "".join(parts), spans


def build() -> dict[Path, str]:
    """Each output file's path and its content."""
    out: dict[Path, str] = {}
    for src in sorted(SOURCES.glob("*.jsonl")):
        lines = []
        ids: set[str] = set()
        for line_no, line in enumerate(src.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{src} line {line_no}"
            record = json.loads(line)
            if record["id"] in ids:
                raise MarkupError(f"{where}: id {record['id']!r} appears twice")
            ids.add(record["id"])
            text, spans = unmark(record["text"], where)
            lang = record.get("lang") or src.stem
            lines.append(
                json.dumps(
                    {
                        "id": record["id"],
                        "text": text,
                        "spans": spans,
                        "source": f"challenge-{lang}",
                        "lang": lang,
                        "kinds": record.get("kinds", []),
                    },
                    ensure_ascii=False,
                )
            )
        out[HERE / src.name] = "\n".join(lines) + "\n"
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args()
    try:
        files = build()
    except MarkupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stale = [p for p, text in files.items() if not p.is_file() or p.read_text("utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path} is out of date: run python data/challenge.py", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(files[path], encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
