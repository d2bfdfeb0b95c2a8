"""ReportData -> one self-contained HTML page: inline CSS, inline SVG charts, a few lines of JS.

Nothing is fetched from anywhere: no fonts, images, scripts or styles outside the file. Every
piece of article text, id and source name goes through :func:`html.escape`. Colours are from
the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies), and each
highlight also differs in form (struck through when removed, underlined when missed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from html import escape
from typing import Any

from detector import __version__
from detector.evaluate import char_counts
from detector.report import (
    ALL,
    HISTOGRAM_BINS,
    Article,
    ReportData,
    SourceSummary,
    plural,
)

__all__ = ["CLASSES", "render"]

#: Highlight classes: (css class, legend text, with gold labels).
CLASSES = (
    ("cut", "removed as advert", False),
    ("neu", "neutral (kept)", False),
    ("tp", "advert, removed", True),
    ("fp", "editorial, removed wrongly", True),
    ("fn", "advert, missed", True),
    ("neu", "neutral (not scored)", True),
)
_BLUE, _ORANGE, _GREEN, _VERMILLION, _SKY, _GREY = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#56B4E9",
    "#8a8f98",
)
_HIST_COLOURS = {"advert": _BLUE, "editorial": _ORANGE, "neutral": _GREY, "unlabeled": "#5b7083"}

CSS = """
:root { --ink: #1d2430; --muted: #5d6673; --line: #dde1e7; --paper: #fff; --bg: #f5f6f8;
  --cut: #d4e6f4; --cut-ink: #0072B2; --fp: #f6cbb5; --fp-ink: #D55E00;
  --fn: #fcef9f; --fn-ink: #b07800; --neu: #e7e8ea; --neu-ink: #6b717a; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
.layout { display: grid; grid-template-columns: 250px minmax(0, 1fr); min-height: 100vh; }
nav { position: sticky; top: 0; height: 100vh; overflow-y: auto; padding: 20px 18px;
  background: #1f2733; color: #e8ebf0; font-size: 13.5px; }
nav h1 { font-size: 17px; margin: 0 0 4px; color: #fff; letter-spacing: .01em; }
nav .meta { color: #aab3c0; margin: 0 0 16px; }
nav h2 { font-size: 11px; text-transform: uppercase; letter-spacing: .08em; color: #8f9aab;
  margin: 18px 0 6px; }
nav a { color: #d6e6f5; text-decoration: none; display: block; padding: 2px 0; }
nav a:hover { color: #fff; text-decoration: underline; }
nav ul { list-style: none; margin: 0; padding: 0; }
nav .legend li { display: flex; align-items: center; gap: 8px; margin: 5px 0; }
nav label { display: block; margin: 3px 0; cursor: pointer; }
nav button { font: inherit; font-size: 12.5px; margin: 6px 6px 0 0; padding: 3px 9px;
  border-radius: 5px; border: 1px solid #4a5566; background: #2c3645; color: #e8ebf0;
  cursor: pointer; }
nav button:hover { background: #3a4657; }
.swatch { display: inline-block; width: 30px; padding: 0 3px; border-radius: 3px;
  font-size: 11px; line-height: 16px; text-align: center; color: var(--ink); }
main { padding: 26px 34px 60px; max-width: 1120px; }
section { margin-bottom: 34px; }
section > h2 { font-size: 20px; margin: 0 0 12px; }
section > h2 small { font-weight: normal; color: var(--muted); font-size: 14px; }
.note { color: var(--muted); margin: -6px 0 12px; font-size: 13.5px; }
.scroll { overflow-x: auto; }
table.summary { border-collapse: collapse; width: 100%; background: var(--paper);
  border: 1px solid var(--line); border-radius: 8px; font-size: 13.5px;
  font-variant-numeric: tabular-nums; }
table.summary th, table.summary td { padding: 7px 9px; border-bottom: 1px solid var(--line);
  text-align: right; white-space: nowrap; }
table.summary th { background: #eef0f3; font-weight: 600; color: #3b4452;
  white-space: normal; vertical-align: bottom; font-size: 12.5px; line-height: 1.3; }
table.summary th:first-child, table.summary td:first-child { text-align: left; }
table.summary tr.all td { font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr));
  gap: 16px; }
.card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px 10px; }
.card h3 { margin: 0 0 2px; font-size: 15px; }
.card .figures { color: var(--muted); font-size: 13px; margin: 0 0 8px; }
.card h4 { margin: 10px 0 2px; font-size: 12px; font-weight: 600; color: var(--muted);
  text-transform: uppercase; letter-spacing: .05em; }
.card svg { display: block; width: 100%; height: auto; }
.keys { font-size: 12px; color: var(--muted); margin: 2px 0 4px; }
.keys span { margin-right: 10px; white-space: nowrap; }
.keys i { display: inline-block; width: 14px; height: 3px; vertical-align: middle;
  margin-right: 4px; }
.keys b { display: inline-block; width: 10px; height: 10px; vertical-align: -1px;
  margin-right: 4px; border-radius: 2px; }
details.article { background: var(--paper); border: 1px solid var(--line); border-radius: 8px;
  margin: 0 0 10px; }
details.article > summary { cursor: pointer; padding: 9px 14px; display: flex; gap: 10px;
  align-items: baseline; flex-wrap: wrap; list-style-position: outside; }
details.article > summary::marker { color: var(--muted); }
details.article[open] > summary { border-bottom: 1px solid var(--line); }
.aid { font-weight: 600; }
.src { color: var(--muted); font-size: 13px; }
.badge { font-size: 12px; padding: 1px 7px; border-radius: 10px; background: #eef0f3;
  color: #3b4452; font-variant-numeric: tabular-nums; }
.badge.cut, .badge.tp { background: var(--cut); }
.badge.fp { background: var(--fp); }
.badge.fn { background: var(--fn); }
.text { padding: 12px 18px 16px; white-space: pre-wrap; overflow-wrap: anywhere;
  font: 16px/1.65 Charter, "Bitstream Charter", "Iowan Old Style", Georgia, "DejaVu Serif",
  serif; max-width: 78ch; }
.text span[title] { border-radius: 2px; }
.text .cut, .text .tp, .swatch.cut, .swatch.tp { background: var(--cut);
  text-decoration: line-through;
  text-decoration-color: rgba(0, 114, 178, .45); box-shadow: inset 0 -2px var(--cut-ink); }
.text .fp, .swatch.fp { background: var(--fp); text-decoration: line-through;
  text-decoration-color: rgba(213, 94, 0, .55); box-shadow: inset 0 -2px var(--fp-ink); }
.text .fn, .swatch.fn { background: var(--fn); text-decoration: underline wavy var(--fn-ink);
  text-decoration-thickness: 1.5px; text-underline-offset: 3px; }
.text .neu, .swatch.neu { background: var(--neu); color: var(--neu-ink); }
.text .neu.gone { text-decoration: line-through; }
.text [data-score]::before { content: attr(data-score); font: 600 10.5px/1 ui-monospace,
  "SFMono-Regular", Menlo, Consolas, monospace; color: #fff; background: var(--cut-ink);
  border-radius: 3px; padding: 2px 4px; margin-right: 4px; vertical-align: 2px;
  display: inline-block; text-decoration: none; }
.text .fp[data-score]::before { background: var(--fp-ink); }
.text .fn[data-score]::before { background: var(--fn-ink); }
footer { color: var(--muted); font-size: 12.5px; }
@media (max-width: 900px) {
  .layout { display: block; }
  nav { position: sticky; height: auto; max-height: 45vh; z-index: 2; }
  main { padding: 16px; }
}
"""

JS = """
const articles = Array.from(document.querySelectorAll("details.article"));
for (const radio of document.querySelectorAll("input[name=show]")) {
  radio.addEventListener("change", () => {
    for (const a of articles) a.hidden = radio.value !== "all" && a.dataset[radio.value] !== "1";
  });
}
document.getElementById("open-all").addEventListener("click", () => {
  for (const a of articles) if (!a.hidden) a.open = true;
});
document.getElementById("close-all").addEventListener("click", () => {
  for (const a of articles) a.open = false;
});
"""


def render(data: ReportData) -> str:
    """The whole page."""
    gold = any(s.gold_articles for s in data.sources.values())
    total = next(iter(data.sources.values()))
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(data.title)}</title>",
        f"<style>{CSS}</style></head><body>",
        '<div class="layout">',
        _nav(data, gold),
        "<main>",
        _summary(data, gold),
        _charts(data, gold),
        _articles(data, total.articles, gold),
        f"<footer>Made by detector {escape(__version__)}; self-contained: opens offline.</footer>",
        "</main></div>",
        '<script type="application/json" id="report-data">',
        _json_for_script(_data_json(data)),
        "</script>",
        f"<script>{JS}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# -- page parts ------------------------------------------------------------------------------


def _nav(data: ReportData, gold: bool) -> str:
    legend = "".join(
        f'<li><span class="swatch {cls}">Aa</span>{escape(text)}</li>'
        for cls, text, with_gold in CLASSES
        if with_gold == gold
    )
    sources = "".join(
        f'<li><a href="#src-{k}">{escape(n)}</a></li>' for k, n in enumerate(data.sources)
    )
    shows = [("all", "all articles"), ("removed", "with removals")]
    if gold:
        shows.append(("errors", "with errors"))
    radios = "".join(
        f'<label><input type="radio" name="show" value="{v}"{" checked" if v == "all" else ""}>'
        f" {text}</label>"
        for v, text in shows
    )
    return (
        f"<nav><h1>{escape(data.title)}</h1>"
        f'<p class="meta">model {escape(data.model)} · threshold {data.threshold:.2f}</p>'
        '<h2>Contents</h2><ul><li><a href="#summary">Summary</a></li>'
        '<li><a href="#charts">Charts</a></li><li><a href="#articles">Articles</a></li></ul>'
        f"<h2>Sources</h2><ul>{sources}</ul>"
        f'<h2>Legend</h2><ul class="legend">{legend}</ul>'
        '<p class="meta">Hover a passage for its advert score.</p>'
        f"<h2>Show</h2>{radios}"
        '<button id="open-all" type="button">expand all</button>'
        '<button id="close-all" type="button">collapse all</button>'
        "</nav>"
    )


_GOLD_COLUMNS = (
    ("gold articles", "docs", "d"),
    ("clean", "clean_docs", "d"),
    ("precision", "advert_precision", ".3f"),
    ("recall", "advert_recall", ".3f"),
    ("F1", "advert_f1", ".3f"),
    ("editorial loss", "editorial_loss", ".2%"),
    ("advert residue", "advert_residue", ".1%"),
)


def _summary(data: ReportData, gold: bool) -> str:
    head = ["source", "articles", "with adverts", "text removed"]
    if gold:
        head += [name for name, _, _ in _GOLD_COLUMNS]
    rows = []
    for name, s in data.sources.items():
        cells = [
            f"<td>{escape(name)}</td>",
            _cell("articles", s.articles, "d"),
            _cell("with_adverts", s.with_adverts, "d"),
            _cell("removed_share", s.removed_share, ".2%"),
        ]
        metrics = s.metrics()
        if gold:
            cells += [
                _cell(key, metrics[key], fmt) if metrics else "<td>–</td>"
                for _, key, fmt in _GOLD_COLUMNS
            ]
        css = ' class="all"' if name == ALL else ""
        rows.append(f'<tr{css} data-source="{escape(name)}">{"".join(cells)}</tr>')
    note = (
        "Text removed: share of non-space characters. Gold figures as "
        "<code>detector evaluate</code> computes them (characters under gold neutral spans "
        "count neither way)."
        if gold
        else "Text removed: share of non-space characters."
    )
    if data.skipped:
        skipped = len(data.skipped)
        note += f" {plural(skipped, 'unreadable row')} {'was' if skipped == 1 else 'were'} skipped."
    return (
        '<section id="summary"><h2>Summary</h2>'
        f'<p class="note">{note}</p>'
        '<div class="scroll"><table class="summary"><thead><tr>'
        + "".join(f"<th>{escape(h)}</th>" for h in head)
        + f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _cell(key: str, value: float, fmt: str) -> str:
    shown = f"{value:,}" if fmt == "d" else format(value, fmt)
    return f'<td data-metric="{key}" data-value="{value!r}">{shown}</td>'


def _charts(data: ReportData, gold: bool) -> str:
    cards = []
    for k, (name, s) in enumerate(data.sources.items()):
        metrics = s.metrics()
        figures = f"{plural(s.articles, 'article')} · {s.removed_share:.1%} of text removed"
        if metrics:
            figures += f" · F1 {metrics['advert_f1']:.3f}"
        card = [
            f'<div class="card" id="src-{k}"><h3>{escape(name)}</h3>',
            f'<p class="figures">{figures}</p>',
            "<h4>Advert scores of the segments</h4>",
            _histogram_keys(s),
            histogram_svg(s, data.threshold),
        ]
        if s.curve:
            card += [
                "<h4>Precision and recall by threshold</h4>",
                '<div class="keys">'
                f'<span><i style="background:{_BLUE}"></i>precision</span>'
                f'<span><i style="background:{_ORANGE}"></i>recall</span>'
                f'<span><i style="background:{_GREEN}"></i>F1</span></div>',
                curve_svg(s.curve_metrics(), data.threshold),
            ]
        card.append("</div>")
        cards.append("".join(card))
    return (
        '<section id="charts"><h2>Charts</h2>'
        '<p class="note">Segment counts on a square-root scale; the dashed line is the '
        "threshold. Hover a bar or a point for its figures.</p>"
        f'<div class="cards">{"".join(cards)}</div></section>'
    )


def _histogram_keys(s: SourceSummary) -> str:
    present = [c for c in _HIST_COLOURS if any(b[c] for b in s.histogram)]
    if present == ["unlabeled"]:
        return ""
    return (
        '<div class="keys">'
        + "".join(
            f'<span><b style="background:{_HIST_COLOURS[c]}"></b>gold {c}</span>' for c in present
        )
        + "</div>"
    )


def _articles(data: ReportData, total: int, gold: bool) -> str:
    shown = len(data.articles)
    count = f"{total:,} articles" if shown == total else f"showing {shown:,} of {total:,}"
    items = [_article(k, a, data.threshold) for k, a in enumerate(data.articles)]
    return (
        f'<section id="articles"><h2>Articles <small>{count}</small></h2>'
        + "".join(items)
        + "</section>"
    )


def _article(k: int, article: Article, threshold: float) -> str:
    text = article.text
    removed_spans = [s for s, r in zip(article.spans, article.removed) if r]
    removed = sum(not c.isspace() for s in removed_spans for c in text[s.start : s.end])
    solid = sum(not c.isspace() for c in text) or 1
    badges = [f'<span class="badge cut">{removed / solid:.0%} removed</span>']
    errors = False
    if article.gold is not None:
        counts = char_counts(text, article.gold, [s.to_dict() for s in article.spans])
        errors = bool(counts["fp"] or counts["fn"])
        if counts["fp"]:
            badges.append(f'<span class="badge fp">{counts["fp"]:,} editorial chars removed</span>')
        if counts["fn"]:
            badges.append(f'<span class="badge fn">{counts["fn"]:,} advert chars missed</span>')
        if not errors:
            badges.append('<span class="badge">matches gold</span>')
    flags = f'data-removed="{int(bool(removed))}" data-errors="{int(errors)}"'
    opened = " open" if removed or errors else ""
    body = "".join(_pieces(article, threshold))
    return (
        f'<details class="article" id="a-{k}" {flags}{opened}><summary>'
        f'<span class="aid">{escape(article.id)}</span>'
        f'<span class="src">{escape(article.source)}</span>{"".join(badges)}</summary>'
        f'<div class="text">{body}</div></details>'
    )


def _pieces(article: Article, threshold: float) -> Iterator[str]:
    """The article's text as escaped runs, each highlighted run with its class and score."""
    text, spans, gold = article.text, article.spans, article.gold
    cuts = {0, len(text)}
    for s in spans:
        cuts.update((s.start, s.end))
    for g in gold or ():
        cuts.update((g["start"], g["end"]))
    points = sorted(c for c in cuts if 0 <= c <= len(text))
    runs: list[list[Any]] = []  # [start, end, segment index or None, css class]
    si = gi = 0
    for a, b in zip(points, points[1:]):
        while si < len(spans) and spans[si].end <= a:
            si += 1
        seg = si if si < len(spans) and spans[si].start <= a else None
        g_label = None
        if gold is not None:
            while gi < len(gold) and gold[gi]["end"] <= a:
                gi += 1
            if gi < len(gold) and gold[gi]["start"] <= a:
                g_label = gold[gi]["label"]
        css = _css(seg is not None and article.removed[seg], spans[seg] if seg is not None
                   else None, g_label, gold is not None)
        if runs and runs[-1][2] == seg and runs[-1][3] == css:
            runs[-1][1] = b
        else:
            runs.append([a, b, seg, css])
    badged: set[int] = set()
    for a, b, seg, css in runs:
        chunk = escape(text[a:b])
        if seg is None or text[a:b].isspace():
            yield f'<span class="{css}">{chunk}</span>' if css else chunk
            continue
        span = spans[seg]
        state = "removed" if article.removed[seg] else "kept"
        tip = f"{span.label} · advert score {span.score:.2f} · {state} (threshold {threshold:.2f})"
        attrs = f' title="{escape(tip)}"'
        if css:
            attrs = f' class="{css}"' + attrs
            if seg not in badged and css in ("cut", "tp", "fp", "fn"):
                badged.add(seg)
                attrs += f' data-score="{span.score:.2f}"'
        yield f"<span{attrs}>{chunk}</span>"


def _css(removed: bool, span: Any, gold_label: str | None, has_gold: bool) -> str:
    if not has_gold:
        if removed:
            return "cut"
        return "neu" if span is not None and span.label == "neutral" else ""
    if gold_label == "neutral":
        return "neu gone" if removed else "neu"
    if gold_label is not None:
        return "tp" if removed else "fn"
    return "fp" if removed else ""


# -- charts ----------------------------------------------------------------------------------


def histogram_svg(summary: SourceSummary, threshold: float) -> str:
    """Stacked bars of segment counts per score bin (square-root scale), threshold dashed."""
    w, h, left, bottom, top = 320, 128, 34, 20, 16
    plot_w, plot_h = w - left - 8, h - bottom - top
    totals = [sum(b.values()) for b in summary.histogram]
    peak = max(totals) or 1
    bar = plot_w / HISTOGRAM_BINS
    out = [_svg_open(w, h, "Histogram of segment advert scores")]
    for frac in (0.25, 1.0):
        y = top + plot_h * (1 - frac**0.5)
        value = round(peak * frac)
        out.append(_grid_line(left, left + plot_w, y) + _text(left - 4, y + 4, f"{value:,}", "end"))
    for k, counts in enumerate(summary.histogram):
        total = totals[k]
        if not total:
            continue
        height = plot_h * (total / peak) ** 0.5
        y = top + plot_h - height
        lo, hi = k / HISTOGRAM_BINS, (k + 1) / HISTOGRAM_BINS
        parts = ", ".join(f"{c} {n:,}" for c, n in counts.items() if n and c != "unlabeled")
        tip = f"score {lo:.2f}–{hi:.2f}: {total:,} segments" + (f" ({parts})" if parts else "")
        out.append(f"<g><title>{escape(tip)}</title>")
        for cls, n in counts.items():
            if not n:
                continue
            piece = height * n / total
            out.append(
                f'<rect x="{left + k * bar + 1:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" '
                f'height="{piece:.1f}" fill="{_HIST_COLOURS[cls]}"/>'
            )
            y += piece
        out.append("</g>")
    out.append(_axis(left, plot_w, top, plot_h, threshold))
    out.append("</svg>")
    return "".join(out)


def curve_svg(curve: dict[float, dict[str, float]], threshold: float) -> str:
    """Advert precision, recall and F1 against the threshold, the chosen one dashed."""
    w, h, left, bottom, top = 320, 170, 34, 20, 16
    plot_w, plot_h = w - left - 8, h - bottom - top
    series = (
        ("advert_precision", _BLUE, ""),
        ("advert_recall", _ORANGE, "6 3"),
        ("advert_f1", _GREEN, "2 3"),
    )
    ts = sorted(curve)
    low = min([curve[t][key] for t in ts for key, _, _ in series], default=0.0)
    step = 0.1 if low >= 0.5 else 0.25
    floor = max(0.0, math.floor(min(low, 0.8) / step) * step)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (v - floor) / (1 - floor))

    out = [_svg_open(w, h, "Advert precision, recall and F1 by threshold")]
    for k in range(round((1 - floor) / step) + 1):
        v = floor + k * step
        out.append(_grid_line(left, left + plot_w, y_of(v)))
        out.append(_text(left - 4, y_of(v) + 4, f"{v:.2g}", "end"))
    for key, colour, dash in series:
        points = " ".join(f"{left + plot_w * t:.1f},{y_of(curve[t][key]):.1f}" for t in ts)
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"'
            f"{dashes}/>"
        )
    for t in ts:
        m = curve[t]
        tip = (
            f"threshold {t:.2f}: precision {m['advert_precision']:.3f}, recall "
            f"{m['advert_recall']:.3f}, F1 {m['advert_f1']:.3f}, editorial loss "
            f"{m['editorial_loss']:.2%}"
        )
        out.append(f"<g><title>{escape(tip)}</title>")
        for key, colour, _ in series:
            out.append(
                f'<circle cx="{left + plot_w * t:.1f}" cy="{y_of(m[key]):.1f}" r="3" '
                f'fill="{colour}"/>'
            )
        out.append("</g>")
    out.append(_axis(left, plot_w, top, plot_h, threshold))
    out.append("</svg>")
    return "".join(out)


def _svg_open(w: int, h: int, label: str) -> str:
    return (
        f'<svg viewBox="0 0 {w} {h}" role="img" '
        f'aria-label="{escape(label)}" font-family="system-ui, sans-serif" font-size="10">'
    )


def _grid_line(x1: float, x2: float, y: float) -> str:
    return f'<line x1="{x1}" x2="{x2}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7ec"/>'


def _text(x: float, y: float, text: str, anchor: str = "middle") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="#5d6673">'
        f"{escape(text)}</text>"
    )


def _axis(left: float, plot_w: float, top: float, plot_h: float, threshold: float) -> str:
    base = top + plot_h
    out = [f'<line x1="{left}" x2="{left + plot_w}" y1="{base}" y2="{base}" stroke="#9aa3af"/>']
    for v in (0.0, 0.5, 1.0):
        out.append(_text(left + plot_w * v, base + 13, f"{v:g}"))
    x = left + plot_w * threshold
    out.append(
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{base}" stroke="#1d2430" '
        'stroke-dasharray="3 3"/>'
    )
    out.append(_text(x, top - 5, f"threshold {threshold:.2f}"))
    return "".join(out)


# -- machine-readable copy and helpers -------------------------------------------------------


def _data_json(data: ReportData) -> dict[str, Any]:
    """The summary figures (no article text) for scripts and tests."""
    return {
        "title": data.title,
        "model": data.model,
        "threshold": data.threshold,
        "articles_shown": len(data.articles),
        "sources": {
            name: {
                "articles": s.articles,
                "with_adverts": s.with_adverts,
                "chars": s.chars,
                "removed_chars": s.removed_chars,
                "metrics": s.metrics(),
                "curve": {f"{t:g}": m for t, m in s.curve_metrics().items()},
            }
            for name, s in data.sources.items()
        },
    }


def _json_for_script(value: Any) -> str:
    """JSON that cannot end the <script> element it sits in."""
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


