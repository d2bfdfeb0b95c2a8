"""Shared fixtures: labeled articles from data/train.jsonl and one tiny model per session."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from threadpoolctl import threadpool_limits

from detector.cli import cli
from detector.detect import Detector
from detector.model import Model, save_model
from detector.training import train

REPO = Path(__file__).resolve().parents[1]
TRAIN_DATA = REPO / "data" / "train.jsonl"
SHARED = Path(__file__).resolve().parents[2] / "shared"
#: Articles per source in the tiny training set (28 sources, en and de: 168 articles), each of
#: another editorial article, so that every source is a batch in which its adverts recur.
TINY_PER_SOURCE = 6


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def invoke(*args: str, input: bytes | str | None = None) -> Result:
    """Run the command line in-process, as a user would from a shell."""
    return CliRunner().invoke(cli, list(args), input=input)


def ok(*args: str, input: bytes | str | None = None) -> Result:
    result = invoke(*args, input=input)
    assert result.exit_code == 0, result.output
    return result


def fails(message: str, *args: str, input: bytes | str | None = None) -> None:
    """The command exits 1 with exactly ``Error: message`` on stderr and no traceback."""
    result = invoke(*args, input=input)
    assert result.exit_code == 1, result.output
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""
    assert result.exception is None or isinstance(result.exception, SystemExit)


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a clean skip when that checkout is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared is not checked out)")
    return path


@pytest.fixture(scope="session", autouse=True)
def _single_threaded_blas() -> Iterator[None]:
    # lbfgs on a few thousand rows is ~7x slower with threaded BLAS on a 2-core runner.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def train_records() -> list[dict[str, Any]]:
    return load_jsonl(TRAIN_DATA)


@pytest.fixture(scope="session")
def tiny_records(train_records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first variant of the first few articles of every source, in file order:
    deterministic, en + de."""
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    groups: set[str] = set()
    for r in train_records:
        if len(by_source[r["source"]]) < TINY_PER_SOURCE and r["group"] not in groups:
            by_source[r["source"]].append(r)
            groups.add(r["group"])
    return [r for source in sorted(by_source) for r in by_source[source]]


@pytest.fixture(scope="session")
def tiny_model(tiny_records: list[dict[str, Any]], _single_threaded_blas: None) -> Model:
    """The one model fit of the session."""
    return train(tiny_records, holdout=0.0, params={"n_features": 2**16},
                 sources=["tests/tiny"])


@pytest.fixture(scope="session")
def tiny_model_path(tiny_model: Model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.joblib"
    save_model(tiny_model, path)
    return path


@pytest.fixture(scope="session")
def detector_tiny(tiny_model_path: Path) -> Detector:
    return Detector.load(tiny_model_path)


# -- hypothesis profiles: "ci" by default, HYPOTHESIS_PROFILE=long for a deep run ----------
import os  # noqa: E402

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", max_examples=50, deadline=None)
settings.register_profile("long", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
