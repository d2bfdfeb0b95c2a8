"""The click command line: a thin shell over the library (imported by nobody)."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import signal
import string
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import click

from detector.defaults import (
    DEFAULT_KEEP,
    DEFAULT_MODEL,
    DEFAULT_PER_ARTICLE,
    DEFAULT_THRESHOLD,
    REPORT_LIMIT,
    REVIEW_FORMATS,
)
from detector.errors import DetectorError
from detector.io import DECODE_ERRORS, DEFAULT_ID_FIELD, DEFAULT_TEXT_FIELD, ON_ERROR

ENGINES = ("local", "dask")


def _fail_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn DetectorError into click's one-line 'Error: ...' and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DetectorError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            sys.stderr.close()  # e.g. `detector strip big.jsonl | head`
            sys.exit(1)
        except OSError as exc:  # the system refused: no space left, permission denied, ...
            reason = exc.strerror or str(exc)
            message = reason if exc.filename is None else f"{exc.filename}: {reason}"
            raise click.ClickException(message) from None

    return wrapper


def model_options(*, several: bool = False) -> Callable[..., Any]:
    """--model (repeatable with ``several``, as --model default --model mine.joblib),
    --threshold and --trust-model."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option(
            "--trust-model",
            is_flag=True,
            help="Load a model that has no card (joblib files can run code: only trusted files).",
        )(command)
        command = click.option(
            "--threshold",
            type=click.FloatRange(0.0, 1.0),
            default=DEFAULT_THRESHOLD,
            show_default=True,
            help="Advert probability from which a segment is removed (1.0: never); higher "
            "keeps more.",
        )(command)
        return click.option(
            "--model",
            "model_paths" if several else "model_path",
            multiple=several,
            default=[DEFAULT_MODEL] if several else DEFAULT_MODEL,
            show_default=True,
            help="Model file, or 'default' for the shipped model"
            + ("; give two to compare them." if several else "."),
        )(command)

    return decorate


def html_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--html",
        is_flag=True,
        help="The text is HTML (the --text-field of a table, stdin, any file): extract its main "
        "text with trafilatura first (needs the html extra). .html/.htm files always are.",
    )(command)


def table_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--error-report",
        help="With --on-error skip: where to list the skipped rows (JSONL); default "
        "OUTPUT.errors.jsonl, or stderr without -o.",
    )(command)
    command = click.option(
        "--encoding", default="utf-8", show_default=True, help="Text encoding of INPUT."
    )(command)
    command = click.option(
        "--errors",
        "decode_errors",
        type=click.Choice(DECODE_ERRORS),
        default="strict",
        show_default=True,
        help="Invalid UTF-8: an error, or replace the bad bytes with U+FFFD.",
    )(command)
    command = click.option(
        "--on-error",
        type=click.Choice(ON_ERROR),
        default="fail",
        show_default=True,
        help="A bad row (malformed line, missing or non-text field): stop, or pass it "
        "through unchanged and list it in the error report.",
    )(command)
    command = click.option(
        "--id-field",
        default=DEFAULT_ID_FIELD,
        show_default=True,
        help="Column/field with the article id.",
    )(command)
    command = click.option(
        "--text-field",
        default=DEFAULT_TEXT_FIELD,
        show_default=True,
        help="Column/field with the article text.",
    )(command)
    return command


def template_options(
    *, evaluating: bool = False, reporting: bool = False, site: bool = False
) -> Callable[..., Any]:
    """--templates FILE, --batch/--no-batch, --site-field, and with ``site`` --site (see
    detector.templates)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        if site:
            command = click.option(
                "--site",
                help="The site of every article (a URL counts as its host), for a --templates "
                "table counted by site; plain text and stdin have no field to say it.",
            )(command)
        command = click.option(
            "--site-field",
            help="Field/column naming each article's site (a URL counts as its host); default: "
            "the host of a 'url' field, else a 'source' field, else one site.",
        )(command)
        command = click.option(
            "--batch/--no-batch",
            default=True,
            show_default=True,
            help=(
                "Count each site's recurring segment shapes over each file of DATA (each file "
                "one batch, as strip and label count an input) and use them as evidence."
                if evaluating
                else "First count each site's recurring segment shapes over all of INPUT and "
                "use them as evidence (two passes; not for stdin)."
                if not reporting
                else "First count each site's recurring segment shapes over all INPUTs, as "
                "strip does, and use them as evidence."
            ),
        )(command)
        return click.option(
            "--templates",
            "templates_path",
            help="Use the shape counts saved by 'detector templates -o FILE' (no counting pass).",
        )(command)

    return decorate


def quiet_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")(command)


def jobs_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=0),
        default=0,
        show_default="one per core",
        help="Worker processes for tables and folders (0: one per core).",
    )(command)


def engine_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--scheduler",
        metavar="ADDRESS",
        help="With --engine dask: the scheduler to use (e.g. tcp://host:8786); default a local "
        "cluster of --jobs worker processes.",
    )(command)
    return click.option(
        "--engine",
        type=click.Choice(ENGINES),
        default="local",
        show_default=True,
        help="local: this machine's processes; dask: partitioned Parquet/JSONL (a path, glob, "
        "folder of part files or fsspec URL) on a Dask cluster, written as a folder of part "
        "files (needs the dask extra).",
    )(command)


def _load_detector(
    model_path: str, threshold: float, trust_model: bool, drop: tuple[str, ...] = ()
):
    from detector.detect import Detector

    keep = tuple(k for k in DEFAULT_KEEP if k not in drop)
    path = None if model_path == DEFAULT_MODEL else model_path
    return Detector.load(path, trust=trust_model, threshold=threshold, keep=keep)


class _Progress:
    """Articles and MB/s on stderr, only on a terminal and without --quiet."""

    def __init__(self, quiet: bool, what: str = "articles"):
        self.enabled = not quiet and sys.stderr.isatty()
        self.what = what
        self.articles = 0
        self.chars = 0
        self.started = time.monotonic()

    def __call__(self, articles: int, chars: int) -> None:
        self.articles += articles
        self.chars += chars
        if self.enabled:
            seconds = max(time.monotonic() - self.started, 1e-9)
            click.echo(
                f"\r{self.articles:,} {self.what}  {self.articles / seconds:,.0f}/s  "
                f"{self.chars / 1e6 / seconds:.2f} MB/s",
                err=True,
                nl=False,
            )

    def done(self) -> None:
        if self.enabled:
            click.echo(err=True)


@click.group()
@click.version_option(package_name="detector")
def cli() -> None:
    """Find and strip advert boilerplate in scraped articles."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    # trafilatura's warnings about a page it cannot use ("discarding data", "empty HTML
    # tree") would stand beside detector's own one-line error for that page
    logging.getLogger("trafilatura").setLevel(logging.ERROR)


def _run(
    mode: str,
    input_path: str,
    output: str | None,
    *,
    model_path: str,
    threshold: float,
    trust_model: bool,
    text_field: str,
    id_field: str,
    on_error: str,
    decode_errors: str,
    encoding: str,
    error_report: str | None,
    quiet: bool,
    jobs: int,
    templates_path: str | None,
    batch: bool,
    site_field: str | None,
    site: str | None,
    html: bool,
    engine: str,
    scheduler: str | None,
    drop: tuple[str, ...] = (),
) -> None:
    if site is not None and site_field is not None:
        raise DetectorError("--site and --site-field exclude each other: give one")
    if engine == "dask":
        unsupported = {
            "--site": site is not None,
            "--on-error skip": on_error != "fail",
            "--errors replace": decode_errors != "strict",
            "--encoding": encoding.lower().replace("_", "-") not in ("utf-8", "utf8"),
            "--error-report": error_report is not None,
        }
        _run_dask(
            mode,
            input_path,
            output,
            model_path=model_path,
            threshold=threshold,
            trust_model=trust_model,
            text_field=text_field,
            id_field=id_field,
            html=html,
            templates_path=templates_path,
            batch=batch,
            site_field=site_field,
            scheduler=scheduler,
            jobs=jobs,
            drop=drop,
            quiet=quiet,
            unsupported=[option for option, given in unsupported.items() if given],
        )
        return
    if scheduler is not None:
        raise DetectorError("--scheduler needs --engine dask")
    if output == "-":
        output = None
    from detector.batch import run
    from detector.io import Input, Output

    if output is not None and input_path != "-" and _same(output, input_path):
        raise DetectorError(f"-o {output} is the input; give the output another path")
    _check_error_report(error_report, [input_path], output)

    source = Input(
        input_path,
        text_field,
        id_field,
        on_error=on_error,
        errors=decode_errors,
        encoding=encoding,
        html=html,
        site=site,
    )
    if mode == "label":
        sink = Output.named(output, "jsonl", "label writes JSONL")
    else:
        sink = Output.like(output, source)
    detector = _load_detector(model_path, threshold, trust_model, drop)
    # One article (a text or HTML file, stdin) is one chunk: no worker would share the work.
    jobs = 1 if source.kind in ("text", "html", "stdin") else jobs or os.cpu_count() or 1
    with _batch_templates(source, templates_path, batch, site_field, jobs, quiet) as counted:
        detector.templates, spool = counted
        progress = _Progress(quiet)
        stats = run(
            detector,
            source,
            sink,
            mode=mode,
            jobs=jobs,
            progress=progress,
            site_field=site_field,
            spool=spool,
        )
        progress.done()
    if stats.skipped:
        _report_skipped(stats.skipped, error_report or (output and f"{output}.errors.jsonl"))


@contextlib.contextmanager
def _batch_templates(
    source: Any,
    templates_path: str | None,
    batch: bool,
    site_field: str | None,
    jobs: int,
    quiet: bool,
) -> Iterator[tuple[Any, Any]]:
    """The template counts to label with (a saved table, a first pass over the input(s), or
    none) and, for a first pass over one input, the :class:`~detector.batch.Spool` of its
    segments and shape keys.

    With several workers a counted table is saved to a temporary file first, so that it
    travels to them as a path (each loads it once) instead of with every chunk.
    """
    from detector.batch import Spool, count_input, spool_fits
    from detector.io import is_special
    from detector.templates import MIN_BATCH, ONE_SITE, TemplateTable, load_templates, site_of

    if templates_path is not None:
        table = load_templates(templates_path)
        sources = source if isinstance(source, list) else [source]
        listed = ", ".join(sorted(table.sites)[:5]) + (", ..." if len(table.sites) > 5 else "")
        given = {site_of(s.site) for s in sources if s.site is not None}
        missing = sorted(given - set(table.sites))
        if missing:
            logging.getLogger(__name__).warning(
                "%s has no counts for site %s (it has %s), so they do not apply here",
                templates_path,
                missing[0],
                listed,
            )
        siteless = all(s.kind in ("stdin", "text", "html", "folder") for s in sources)
        if siteless and not given and ONE_SITE not in table.sites:
            # Text has no field to name its site, so it is the one site ONE_SITE.
            logging.getLogger(__name__).warning(
                "%s was counted by site (%s) and this input has no site field, so its counts "
                "do not apply here; name the site with --site, or count a corpus without a url "
                "or source field to use them on plain text",
                templates_path,
                listed,
            )
        yield table, None
        return
    sources = source if isinstance(source, list) else [source]
    # A text or HTML file is one article: fewer than MIN_BATCH of them never make a batch,
    # so reading them twice would change nothing.
    single = all(s.kind in ("text", "html") for s in sources) and len(sources) < MIN_BATCH
    # stdin and named pipes can be read only once: no counting pass (as with --no-batch)
    once = any(s.kind == "stdin" or is_special(s.path) for s in sources)
    if not batch or single or once:
        yield None, None
        return
    with contextlib.ExitStack() as stack:
        spool = None
        if not isinstance(source, list):
            size = _input_bytes(source.path)
            if spool_fits(size):
                spool = stack.enter_context(Spool.temporary())
            else:
                logging.getLogger(__name__).warning(
                    "not enough free space in %s for the template spool (about %d MB): the "
                    "labeling pass segments and shapes every article again (slower); point "
                    "TMPDIR at a larger disk to avoid that",
                    tempfile.gettempdir(),
                    size // 2**20,
                )
        progress = _Progress(quiet, "articles counted")
        table = TemplateTable()
        for one in sources:
            count_input(
                one,
                site_field=site_field,
                table=table,
                progress=progress,
                spool=spool,
                jobs=jobs,
            )
        progress.done()
        if jobs > 1:
            folder = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="detector-templates-")
            )
            table.save(os.path.join(folder, "templates.npz"))
        yield table, spool


def _input_bytes(path: str) -> int:
    """The size of an input file, or of all files under an input folder (0 for stdin; a
    broken link in a folder counts 0, as reading skips it)."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    if os.path.isdir(path):
        return sum(
            os.path.getsize(file)
            for folder, _, names in os.walk(path)
            for file in (os.path.join(folder, name) for name in names)
            if os.path.isfile(file)
        )
    return 0


def _run_dask(
    mode: str,
    input_path: str,
    output: str | None,
    *,
    model_path: str,
    threshold: float,
    trust_model: bool,
    text_field: str,
    id_field: str,
    html: bool,
    templates_path: str | None,
    batch: bool,
    site_field: str | None,
    scheduler: str | None,
    jobs: int,
    drop: tuple[str, ...],
    quiet: bool,
    unsupported: list[str],
) -> None:
    from detector.dask_engine import import_dask, run_dask

    import_dask()
    # The scheduler's and nannies' INFO lines are not for the user of a command line tool.
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if unsupported:
        raise DetectorError(f"{unsupported[0]} is not supported with --engine dask")
    if output is None:
        raise DetectorError("--engine dask writes a folder of part files: pass -o OUTPUT")
    parts = run_dask(
        input_path,
        output,
        mode=mode,
        text_field=text_field,
        id_field=id_field,
        model=model_path,
        threshold=threshold,
        keep=tuple(k for k in DEFAULT_KEEP if k not in drop),
        trust_model=trust_model,
        html=html,
        templates=templates_path,
        batch=batch,
        site_field=site_field,
        scheduler=scheduler,
        workers=jobs or os.cpu_count() or 1,
    )
    if not quiet:
        click.echo(f"wrote {parts} part file{'s' if parts != 1 else ''} to {output}", err=True)


def _check_error_report(path: str | None, inputs: list[str], output: str | None) -> None:
    """An --error-report path that would overwrite the input or the output, or that cannot be
    written, is an error before any work."""
    if path is None:
        return
    from detector.io import check_writable

    for what, other in [("input", p) for p in inputs] + [("output", output)]:
        if other is not None and other != "-" and _same(other, path):
            raise DetectorError(f"--error-report {path} is the {what}; give it another path")
    check_writable(path)


def _same(path: str, other: str) -> bool:
    """Whether two paths name one file (through links too)."""
    return os.path.realpath(path) == os.path.realpath(other)


def _report_skipped(skipped: list[tuple[str, str]], path: str | None) -> None:
    from detector.io import Output, json_line

    records = [{"id": i, "error": reason} for i, reason in skipped]
    if path is None:
        for record in records:
            click.echo(json_line(record), err=True, nl=False)
        click.echo(f"skipped {len(records)} bad rows (listed above)", err=True)
        return
    with Output(path, "jsonl").writer() as writer:
        writer.write_records(records)
    click.echo(f"skipped {len(records)} bad rows, passed through unchanged; see {path}", err=True)


@cli.command()
@click.argument("input_path", metavar="INPUT")
@click.option(
    "-o", "--output", help="Output path (same format as INPUT); stdout if omitted or '-'."
)
@click.option("--mark", is_flag=True, help="Wrap adverts in visible markers instead of removing.")
@click.option("--drop", multiple=True, help="Also remove this kept label (e.g. --drop neutral).")
@model_options()
@table_options
@html_option
@template_options(site=True)
@jobs_option
@engine_options
@quiet_option
@_fail_cleanly
def strip(input_path: str, output: str | None, mark: bool, **options: Any) -> None:
    """Remove adverts from INPUT: a .txt file, '-', a folder, or a JSONL/CSV/Parquet table.

    Example: detector strip articles.jsonl -o clean.jsonl --text-field text
    """
    _run("mark" if mark else "strip", input_path, output, **options)


@cli.command()
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", help="JSONL output path; stdout if omitted or '-'.")
@model_options()
@table_options
@html_option
@template_options(site=True)
@jobs_option
@engine_options
@quiet_option
@_fail_cleanly
def label(input_path: str, output: str | None, **options: Any) -> None:
    """Write every segment of each article with offsets, label and advert score (JSONL).

    Example: detector label articles.jsonl -o labels.jsonl
    """
    _run("label", input_path, output, **options)


@cli.command()
@click.argument("data", nargs=-1)
@click.option("-o", "--output", required=True, help="Where to write the model (.joblib).")
@click.option(
    "--weight",
    "weights",
    multiple=True,
    metavar="FILE=W",
    help="Multiply the sample weights of FILE's articles by W (repeatable).",
)
@click.option("--base", is_flag=True, help="Add the shipped training data to DATA.")
@click.option(
    "--holdout",
    type=click.FloatRange(0.0, 0.9),
    default=0.2,
    show_default=True,
    help="Share of articles (grouped by source) held out for the card's metrics.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split.")
@quiet_option
@_fail_cleanly
def train(
    data: tuple[str, ...],
    output: str,
    weights: tuple[str, ...],
    base: bool,
    holdout: float,
    seed: int,
    quiet: bool,
) -> None:
    """Train a model on labeled JSONL files (data/FORMAT.md) and print held-out metrics.

    Example: detector train mine.jsonl --weight mine.jsonl=3 --base -o models/mine.joblib
    """
    from detector.evaluate import format_report
    from detector.io import check_creatable
    from detector.model import save_model
    from detector.training import parse_weight, train_files

    check_creatable(output)  # save_model makes missing folders
    if not quiet:
        logging.getLogger("detector").setLevel(logging.INFO)
    weighted = dict(parse_weight(spec) for spec in weights)
    model = train_files(data, weights=weighted, base=base, holdout=holdout, seed=seed)
    card = save_model(model, output)
    heldout = model.card.get("heldout")
    if heldout:
        click.echo(f"held-out: {heldout['split']} ({heldout['articles']} articles)")
        click.echo(format_report(heldout["metrics"]))
    click.echo(f"wrote {output} and {card}")


@cli.command()
@click.argument("data", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@model_options(several=True)
@template_options(evaluating=True)
@_fail_cleanly
def evaluate(
    data: tuple[str, ...],
    as_json: bool,
    model_paths: tuple[str, ...],
    threshold: float,
    trust_model: bool,
    templates_path: str | None,
    batch: bool,
    site_field: str | None,
) -> None:
    """Measure models on labeled JSONL files: advert precision/recall/F1, editorial loss.

    Example: detector evaluate ../shared/data/real/*.jsonl --model default --model mine.joblib
    """
    from detector.batch import chunk_sites
    from detector.evaluate import compare_reports, evaluate_detector, format_report
    from detector.io import Chunk, read_labeled
    from detector.templates import count_templates, load_templates

    for given, what in ((data, ""), (model_paths, "--model ")):
        twice = next((path for k, path in enumerate(given) if path in given[:k]), None)
        if twice is not None:
            raise DetectorError(f"{what}{twice} is given twice")
    records, sites = [], []
    for number, path in enumerate(data):
        part = read_labeled(path)
        records += part
        texts = [r["text"] for r in part]
        found = chunk_sites(Chunk(texts, [r["id"] for r in part], part), site_field, path)
        if templates_path is None:
            # Counted here, each file is its own batch, as 'detector label FILE' counts it.
            found = [f"{number}\0{site}" for site in found]
        sites += found
    templates = None
    if templates_path is not None:
        templates = load_templates(templates_path)
    elif batch:
        templates = count_templates(zip(sites, (r["text"] for r in records)))
    reports = {}
    for path in model_paths:
        detector = _load_detector(path, threshold, trust_model)
        detector.templates = templates
        reports[path] = evaluate_detector(detector, records, sites=sites)
    if as_json:
        only = next(iter(reports.values()))
        click.echo(json.dumps(only if len(reports) == 1 else reports, indent=1))
        return
    for k, (path, report) in enumerate(reports.items()):
        if len(reports) > 1:
            if k:
                click.echo()
            click.echo(f"model {string.ascii_uppercase[k]}: {path}")
        click.echo(format_report(report))
    if len(reports) == 2:
        first, second = reports.values()
        click.echo("\n" + compare_reports(first, second))


@cli.command()
@click.argument("corpus")
@click.option("-o", "--output", help="Save the counts (.npz) for --templates.")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Shapes shown per site.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@click.option(
    "--site-field",
    help="Field/column naming each article's site; default: the host of a 'url' field, else "
    "a 'source' field, else one site.",
)
@model_options()
@table_options
@html_option
@quiet_option
@_fail_cleanly
def templates(
    corpus: str,
    output: str | None,
    top: int,
    as_json: bool,
    site_field: str | None,
    model_path: str,
    threshold: float,
    trust_model: bool,
    text_field: str,
    id_field: str,
    on_error: str,
    decode_errors: str,
    encoding: str,
    error_report: str | None,
    quiet: bool,
    html: bool,
) -> None:
    """Count each site's recurring segment shapes in CORPUS; show the most frequent.

    Each shape is shown with the share of its site's articles that carry it, the advert score
    the model gives it and an example; -o saves the counts for strip/label --templates.

    Example: detector templates scrape.jsonl --site-field site -o scrape.templates.npz
    """
    from detector.batch import count_input, top_templates
    from detector.io import Input, check_writable

    if output == "-":
        raise DetectorError("-o - : the counts are a binary .npz file; give it a file name")
    if output:
        check_writable(output)
    source = Input(
        corpus,
        text_field,
        id_field,
        on_error=on_error,
        errors=decode_errors,
        encoding=encoding,
        html=html,
    )
    progress = _Progress(quiet, "articles counted")
    table = count_input(source, site_field=site_field, progress=progress)
    progress.done()
    if output:
        table.save(output)
    rows = top_templates(table, _load_detector(model_path, threshold, trust_model), n=top)
    if as_json:
        from detector.io import json_line

        for row in rows:
            click.echo(json_line(row), nl=False)
    else:
        click.echo(_format_templates(rows))
    if output:
        click.echo(f"wrote {output}", err=True)


def _format_templates(rows: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    site = None
    for row in rows:
        if row["site"] != site:
            site = row["site"]
            if lines:
                lines.append("")
            lines.append(f"{site}: {row['site_articles']:,} articles")
            lines.append(f"  {'articles':>8} {'share':>6} {'advert':>6}  shape / example")
        mark = "strip" if row["removed"] else "keep"
        lines.append(
            f"  {row['articles']:>8,} {row['share']:>6.0%} {row['advert_score']:>6.2f}  "
            f"[{mark}] {_clip(row['shape'], 90)}"
        )
        lines.append(f"  {'':>22}  e.g. {_clip(row['example'], 90)}")
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@cli.command()
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="Where to write the report (.html).")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=REPORT_LIMIT,
    show_default=True,
    help="Articles shown in full; the summary counts them all.",
)
@click.option("--title", default="detector report", show_default=True, help="Page title.")
@click.option(
    "--no-curve",
    is_flag=True,
    help="Skip the precision/recall chart (which labels gold articles once per threshold).",
)
@model_options()
@table_options
@template_options(reporting=True)
@quiet_option
@_fail_cleanly
def report(
    inputs: tuple[str, ...],
    output: str,
    limit: int,
    title: str,
    no_curve: bool,
    model_path: str,
    threshold: float,
    trust_model: bool,
    text_field: str,
    id_field: str,
    on_error: str,
    decode_errors: str,
    encoding: str,
    error_report: str | None,
    quiet: bool,
    templates_path: str | None,
    batch: bool,
    site_field: str | None,
) -> None:
    """Write one self-contained HTML page showing what is removed from INPUT and why.

    Adverts are highlighted with their scores; a summary per source gives the share of text
    removed and a score histogram. JSONL articles with gold `spans` (data/FORMAT.md) also
    show false positives and misses and a precision/recall-by-threshold chart (labeling them
    once per threshold).

    Example: detector report articles.jsonl -o report.html --limit 100
    """
    from detector.io import Input
    from detector.report import CURVE_THRESHOLDS, plural, write_report

    _check_error_report(error_report, list(inputs), output)
    sources = [
        Input(p, text_field, id_field, on_error=on_error, errors=decode_errors, encoding=encoding)
        for p in inputs
    ]
    detector = _load_detector(model_path, threshold, trust_model)
    with _batch_templates(sources, templates_path, batch, site_field, 1, quiet) as counted:
        detector.templates, _ = counted
        progress = _Progress(quiet)
        data = write_report(
            sources,
            output,
            detector,
            limit=limit,
            curve=() if no_curve else CURVE_THRESHOLDS,
            title=title,
            model_name=model_path,
            progress=progress,
            site_field=site_field,
        )
        progress.done()
    if data.skipped:
        _report_skipped(data.skipped, error_report or f"{output}.errors.jsonl")
    total = next(iter(data.sources.values()))
    shown = f"{len(data.articles):,} shown"
    click.echo(f"wrote {output}: {plural(total.articles, 'article')}, {shown}", err=True)


@cli.group()
def review() -> None:
    """Pick the segments worth labeling, label them, import the answers as training data.

    Example: detector review pick scrape.jsonl -n 200 -o tasks.jsonl
    """


@review.command()
@click.argument("corpus")
@click.option("-o", "--output", required=True, help="Task file: .jsonl, .csv or .json.")
@click.option("-n", "count", type=click.IntRange(min=1), default=200, show_default=True,
              help="How many segments to pick.")
@click.option("--format", "fmt", type=click.Choice(REVIEW_FORMATS),
              help="Task format (default: from the extension of -o).")
@click.option("--per-article", type=click.IntRange(min=1), default=DEFAULT_PER_ARTICLE,
              show_default=True, help="At most this many segments from one article.")
@click.option("--per-site", type=click.IntRange(min=1),
              help="At most this many segments from one site (default: sites take turns).")
@click.option("--labels", "extra_labels", multiple=True,
              help="Offer this label too (Label Studio config; repeatable).")
@click.option("--text-field", default=DEFAULT_TEXT_FIELD, show_default=True,
              help="Column/field with the article text.")
@click.option("--id-field", default=DEFAULT_ID_FIELD, show_default=True,
              help="Column/field with the article id.")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of CORPUS.")
@model_options()
@template_options()
@quiet_option
@_fail_cleanly
def pick(
    corpus: str,
    output: str,
    count: int,
    fmt: str | None,
    extra_labels: tuple[str, ...],
    model_path: str,
    threshold: float,
    trust_model: bool,
    templates_path: str | None,
    batch: bool,
    quiet: bool,
    **options: Any,
) -> None:
    """Pick the segments of CORPUS the model is least sure of, spread over sites and articles.

    Example: detector review pick scrape.jsonl -n 200 -o tasks.csv
    """
    from detector.report import plural
    from detector.review import pick_to_file
    from detector.templates import load_templates

    detector = _load_detector(model_path, threshold, trust_model)
    if templates_path is not None:
        detector.templates = load_templates(templates_path)
    progress = _Progress(quiet)
    result = pick_to_file(
        corpus,
        output,
        detector,
        batch=batch,
        fmt=fmt,
        labels=extra_labels,
        model_name=f"detector {model_path}",
        n=count,
        progress=progress,
        **options,
    )
    progress.done()
    click.echo(
        f"picked {plural(len(result.tasks), 'segment')} from "
        f"{plural(result.articles, 'article')} on {plural(result.sites, 'site')}"
    )
    click.echo("wrote " + " and ".join(str(f) for f in result.files))


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _read_key() -> str:
    """One key from the terminal; from a pipe, the next non-blank character ('' at the end),
    so that answers can be scripted: ``printf 'aen' | detector review label tasks.jsonl``."""
    if not _stdin_is_terminal():
        while (key := sys.stdin.read(1)).isspace():
            pass
        return key
    try:
        return click.getchar()
    except (KeyboardInterrupt, EOFError):
        return "q"


@review.command("label")
@click.argument("tasks")
@_fail_cleanly
def review_label(tasks: str) -> None:
    """Label the tasks of a JSONL task file in the terminal, one key per answer.

    Keys: a advert, e editorial, n neutral, s skip, u undo, q quit. Every answer is saved at
    once; run it again to go on where you stopped.

    Example: detector review label tasks.jsonl
    """
    from detector.review import label_tasks

    def show(screen: str) -> None:
        if sys.stdout.isatty():
            click.clear()
        else:
            click.echo()
        click.echo(screen)

    result = label_tasks(tasks, _read_key, show)
    click.echo(
        f"answered {result.answered}, undid {result.undone}; {result.open} of {result.total} "
        f"tasks open; saved in {tasks}"
    )


@review.command("import")
@click.argument("answers")
@click.option("-o", "--output", required=True, help="Labeled JSONL to write (data/FORMAT.md).")
@click.option("--format", "fmt", type=click.Choice(REVIEW_FORMATS),
              help="Format of ANSWERS (default: from the extension: .jsonl, .csv, .json).")
@click.option("--labels", multiple=True,
              help="Allow this label besides advert, editorial, neutral (repeatable).")
@click.option("--corpus", help="Read the article texts from here (by id) instead of the tasks.")
@click.option("--text-field", default=DEFAULT_TEXT_FIELD, show_default=True,
              help="With --corpus: column/field with the article text.")
@click.option("--id-field", default=DEFAULT_ID_FIELD, show_default=True,
              help="With --corpus: column/field with the article id.")
@click.option("--no-model-spans", is_flag=True,
              help="Unanswered segments count as editorial instead of keeping the model's guess.")
@_fail_cleanly
def import_(answers: str, output: str, no_model_spans: bool, **options: Any) -> None:
    """Turn answered tasks (JSONL, edited CSV or Label Studio export) into labeled JSONL.

    Example: detector review import tasks.csv -o labeled.jsonl
    """
    from detector.review import import_answers

    result = import_answers(answers, output, model_spans=not no_model_spans, **options)
    spans = sum(len(r["spans"]) for r in result.records)
    click.echo(
        f"imported {result.answers} answers ({result.skipped} skipped or open) into "
        f"{len(result.records)} articles with {spans} spans; wrote {output}"
    )



def main() -> None:
    # SIGTERM (kill, timeout, a scheduler ending a job) unwinds like Ctrl-C does: temporary
    # files are removed and worker processes stopped; the exit status stays 128 + 15.
    signal.signal(signal.SIGTERM, _terminated)
    cli(prog_name="detector")


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)
