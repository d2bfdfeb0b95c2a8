"""What the site-template pass costs: strip with and without counting the batch first.

    python benchmarks/templates.py                          # data/train.jsonl, each article once
    python benchmarks/templates.py --input scrape.jsonl     # any JSONL with a 'text' field

Prints one table: the counting pass alone, strip without templates (--no-batch), strip with
the counting pass first (the default for files), and the cost of the pass as a share of the
throughput. Single process, wall-clock, all in the same run; each figure is the best of
``--repeat`` runs (the two modes take turns), so that a busy moment of the machine does not
decide the ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import build_corpus  # noqa: E402


def _cold() -> None:
    """Forget what an earlier run left in the per-process caches, as in a fresh process."""
    from detector import templates

    # detector.segment names the function too (detector/__init__.py): take the module.
    segmenter = sys.modules["detector.segment"]

    templates._shaped.cache_clear()
    segmenter._LINES.clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, help="repeat the training articles to this size")
    parser.add_argument("--input", help="a JSONL file with a 'text' field instead")
    parser.add_argument("--site-field", help="field naming each article's site")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each mode (best counts)")
    args = parser.parse_args()

    from detector import Detector
    from detector.batch import Spool, count_input, run
    from detector.io import Input, Output
    from detector.model import load_model

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(args.input) if args.input else Path(tmp) / "corpus.jsonl"
        n = build_corpus(src, args.mb) if not args.input else sum(1 for _ in open(src, "rb"))
        size_mb = os.path.getsize(src) / 1e6
        out = Output(str(Path(tmp) / "clean.jsonl"), "jsonl")
        plain = counting = batched = float("inf")
        for _ in range(args.repeat):
            # A fresh model object per run: first-pass scores are cached per segment text.
            detector = Detector(load_model())
            _cold()
            start = time.perf_counter()
            run(detector, Input(str(src)), out, site_field=args.site_field)
            plain = min(plain, time.perf_counter() - start)

            detector = Detector(load_model())
            _cold()
            start = time.perf_counter()
            with Spool.temporary() as spool:  # as the command line does
                table = count_input(Input(str(src)), site_field=args.site_field, spool=spool)
                counting = min(counting, time.perf_counter() - start)
                detector.templates = table
                run(detector, Input(str(src)), out, site_field=args.site_field, spool=spool)
            batched = min(batched, time.perf_counter() - start)

    print(f"corpus: {n:,} articles, {size_mb:.1f} MB, {len(table.sites):,} sites")
    print(f"{'what':40} {'seconds':>9} {'MB/s':>8}")
    for name, seconds in [
        ("counting pass alone", counting),
        ("strip --no-batch", plain),
        ("strip with the counting pass (default)", batched),
    ]:
        print(f"{name:40} {seconds:9.2f} {size_mb / seconds:8.2f}")
    print(f"throughput cost of the template pass: {1 - plain / batched:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
