"""The click command line: a thin shell over the library (imported by nobody)."""

from __future__ import annotations

import functools
import json
import logging
import os
import string
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from detector.defaults import DEFAULT_KEEP, DEFAULT_MODEL, DEFAULT_THRESHOLD
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


def table_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--html",
        is_flag=True,
        help="The text is HTML (the --text-field of a table, stdin, any file): extract its main "
        "text with trafilatura first (needs the html extra). .html/.htm files always are.",
    )(command)
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


def quiet_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")(command)


def jobs_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=0),
        default=1,
        show_default=True,
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

    def __init__(self, quiet: bool):
        self.enabled = not quiet and sys.stderr.isatty()
        self.articles = 0
        self.chars = 0
        self.started = time.monotonic()

    def __call__(self, articles: int, chars: int) -> None:
        self.articles += articles
        self.chars += chars
        if self.enabled:
            seconds = max(time.monotonic() - self.started, 1e-9)
            click.echo(
                f"\r{self.articles:,} articles  {self.articles / seconds:,.0f}/s  "
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
    html: bool,
    engine: str,
    scheduler: str | None,
    drop: tuple[str, ...] = (),
) -> None:
    if engine == "dask":
        unsupported = {
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
            scheduler=scheduler,
            jobs=jobs,
            drop=drop,
            quiet=quiet,
            unsupported=[option for option, given in unsupported.items() if given],
        )
        return
    if scheduler is not None:
        raise DetectorError("--scheduler needs --engine dask")
    from detector.batch import run
    from detector.io import Input, Output

    source = Input(
        input_path,
        text_field,
        id_field,
        on_error=on_error,
        errors=decode_errors,
        encoding=encoding,
        html=html,
    )
    sink = Output(output, "jsonl") if mode == "label" else Output.like(output, source)
    detector = _load_detector(model_path, threshold, trust_model, drop)
    progress = _Progress(quiet)
    stats = run(
        detector, source, sink, mode=mode, jobs=jobs or os.cpu_count() or 1, progress=progress
    )
    progress.done()
    if stats.skipped:
        _report_skipped(stats.skipped, error_report or (output and f"{output}.errors.jsonl"))


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
        scheduler=scheduler,
        workers=jobs or os.cpu_count() or 1,
    )
    if not quiet:
        click.echo(f"wrote {parts} part file{'s' if parts != 1 else ''} to {output}", err=True)


def _report_skipped(skipped: list[tuple[str, str]], path: str | None) -> None:
    from detector.io import Output

    records = [{"id": i, "error": reason} for i, reason in skipped]
    if path is None:
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False), err=True)
        click.echo(f"skipped {len(records)} bad rows (listed above)", err=True)
        return
    with Output(path, "jsonl").writer() as writer:
        writer.write_records(records)
    click.echo(f"skipped {len(records)} bad rows, passed through unchanged; see {path}", err=True)


@cli.command()
@click.argument("input_path", metavar="INPUT")
@click.option("-o", "--output", help="Output path (same format as INPUT); stdout if omitted.")
@click.option("--mark", is_flag=True, help="Wrap adverts in visible markers instead of removing.")
@click.option("--drop", multiple=True, help="Also remove this kept label (e.g. --drop neutral).")
@model_options()
@table_options
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
@click.option("-o", "--output", help="JSONL output path; stdout if omitted.")
@model_options()
@table_options
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
@click.argument("data", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="Where to write the model (.joblib).")
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
def train(data: tuple[str, ...], output: str, holdout: float, seed: int, quiet: bool) -> None:
    """Train a model on labeled JSONL files (data/FORMAT.md) and print held-out metrics.

    Example: detector train data/train.jsonl -o models/mine.joblib
    """
    from detector.evaluate import format_report
    from detector.io import read_labeled
    from detector.model import save_model
    from detector.training import train as train_model

    if not quiet:
        logging.getLogger("detector").setLevel(logging.INFO)
    records = [r for path in data for r in read_labeled(path)]
    model = train_model(records, holdout=holdout, seed=seed, sources=list(data))
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
@_fail_cleanly
def evaluate(
    data: tuple[str, ...],
    as_json: bool,
    model_paths: tuple[str, ...],
    threshold: float,
    trust_model: bool,
) -> None:
    """Measure models on labeled JSONL files: advert precision/recall/F1, editorial loss.

    Example: detector evaluate ../shared/data/real/*.jsonl --model default --model mine.joblib
    """
    from detector.evaluate import compare_reports, evaluate_detector, format_report
    from detector.io import read_labeled

    records = [r for path in data for r in read_labeled(path)]
    reports = {
        path: evaluate_detector(_load_detector(path, threshold, trust_model), records)
        for path in dict.fromkeys(model_paths)
    }
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


def main() -> None:
    cli(prog_name="detector")
