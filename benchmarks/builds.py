"""Quality of a training-data build, over several build seeds: is a data change better, or noise?

    python benchmarks/builds.py                                  # data/pieces, seeds 1 2 3
    python benchmarks/builds.py --pieces /tmp/my_pieces --seeds 1 2 3 4
    python benchmarks/builds.py --gold ../shared/data/real/*.jsonl --threshold 0.7 0.8
    python benchmarks/builds.py --quick --seeds 1 2 3 4          # screening: half the time

For each seed, builds the training data from ``--pieces`` (a folder laid out like data/pieces)
with data/build.py, trains on it as ``detector train`` does (held-out split, then the final fit)
and measures the model on the ``--gold`` files, article by article and with each file as one
batch. Prints a line per seed and the means. The same pieces built with other seeds differ in
which invented site gets which template and where adverts land; on the real feeds that alone
moves advert F1 by about 0.03, so compare means over seeds, never one build with another.
Takes about two and a half minutes per seed on one core. ``--quick`` skips the final fit and
measures the held-out split's model on the gold files too: half the time, noisier figures
(it has seen 80% of the data), for screening ideas before a full comparison.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location("build", REPO / "data" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _figures(report: dict, source: str = "ALL") -> list[float]:
    row = report[source]
    return [row["advert_f1"], 100 * row["editorial_loss"]]


def main() -> int:
    from detector.defaults import DEFAULT_THRESHOLD

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", default=str(REPO / "data" / "pieces"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--gold", nargs="+", help="labeled JSONL files (default: ../shared real)")
    parser.add_argument("--threshold", type=float, nargs="+", default=[DEFAULT_THRESHOLD])
    parser.add_argument("--quick", action="store_true", help="no final fit (see above)")
    args = parser.parse_args()

    from detector.batch import chunk_sites
    from detector.detect import Detector
    from detector.evaluate import evaluate_detector
    from detector.io import Chunk, read_labeled
    from detector.templates import count_templates
    from detector.training import measure_heldout, train

    gold_paths = args.gold or sorted(glob.glob(str(REPO.parent / "shared/data/real/*.jsonl")))
    if not gold_paths:
        parser.error("no --gold files, and ../shared/data/real is not there")
    gold, sites = [], []
    for path in gold_paths:
        part = read_labeled(path)
        gold += part
        chunk = Chunk([r["text"] for r in part], [r["id"] for r in part], part)
        sites += chunk_sites(chunk, None, path)
    batch = count_templates(zip(sites, (r["text"] for r in gold)))
    sources = ["ALL", *sorted({str(r.get("source") or "?") for r in gold})]

    build = _build_module()
    build.PIECES = Path(args.pieces)
    lines = []
    for seed in args.seeds:
        build.SEED = seed
        records = build.build()
        print(f"seed {seed}: {len(records)} articles, training ...", file=sys.stderr)
        if args.quick:
            model, heldout = measure_heldout(records)
        else:
            model = train(records)
            heldout = model.card["heldout"]
        line = [*_figures(heldout["metrics"]), *_figures(heldout["batch_metrics"])]
        for threshold in args.threshold:
            detector = Detector(model, threshold=threshold)
            alone = evaluate_detector(detector, gold)
            detector.templates = batch
            batched = evaluate_detector(detector, gold, sites=sites)
            for source in sources:
                line += [*_figures(alone, source), *_figures(batched, source)]
        lines.append(line)
        print(_format(str(seed), line, sources, args.threshold), flush=True)
    mean = np.mean(lines, axis=0).tolist()
    print(_format("mean", mean, sources, args.threshold))
    return 0


def _format(name: str, line: list[float], sources: list[str], thresholds: list[float]) -> str:
    """One line: held-out (article | batch), then per threshold and source (article | batch),
    each as advert F1 / editorial loss in percent."""

    def pair(k: int) -> str:
        return f"{line[k]:.3f}/{line[k + 1]:.2f}% | {line[k + 2]:.3f}/{line[k + 3]:.2f}%"

    parts = [f"{name:>8}  held-out {pair(0)}"]
    k = 4
    for threshold in thresholds:
        for source in sources:
            parts.append(f"{source} @{threshold} {pair(k)}")
            k += 4
    return "   ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
