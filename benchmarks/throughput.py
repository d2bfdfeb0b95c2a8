"""Throughput, model load and start-up time of detector, beside a plain JSONL copy as the floor.

    python benchmarks/throughput.py            # ~5 MB built from data/train.jsonl
    python benchmarks/throughput.py --mb 50    # or any size; --input FILE.jsonl for your own

Prints one table. Figures are wall-clock on this machine, single process; the ratio column
compares each row with the plain read-parse-write of the same JSONL in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build_corpus(path: Path, megabytes: float) -> int:
    """Repeat the training articles (text and id only) until the file reaches the size."""
    articles = [
        {"id": r["id"], "text": r["text"]}
        for r in map(json.loads, (REPO / "data" / "train.jsonl").read_text("utf-8").splitlines())
    ]
    written = 0
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        while written < megabytes * 1e6:
            for a in articles:
                line = json.dumps({**a, "id": f"{a['id']}-{n}"}, ensure_ascii=False) + "\n"
                fh.write(line)
                written += len(line.encode("utf-8"))
                n += 1
                if written >= megabytes * 1e6:
                    break
    return n


def plain_copy(src: Path, dst: Path) -> None:
    with open(src, encoding="utf-8") as fin, open(dst, "w", encoding="utf-8") as fout:
        for line in fin:
            record = json.loads(line)
            fout.write(json.dumps(record, ensure_ascii=False) + "\n")


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=5.0, help="size of the built corpus")
    parser.add_argument("--input", help="a JSONL file with a 'text' field instead")
    args = parser.parse_args()

    from detector import Detector
    from detector.batch import run
    from detector.io import Input, Output

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(args.input) if args.input else Path(tmp) / "corpus.jsonl"
        n = build_corpus(src, args.mb) if not args.input else sum(1 for _ in open(src, "rb"))
        size_mb = os.path.getsize(src) / 1e6

        load = timed(Detector.load)
        detector = Detector.load()
        floor = timed(plain_copy, src, Path(tmp) / "copy.jsonl")
        strip = timed(
            lambda: run(detector, Input(str(src)), Output(str(Path(tmp) / "clean.jsonl"), "jsonl"))
        )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "detector", "--help"], check=True,
                       capture_output=True)
        help_time = time.perf_counter() - start

    rows = [
        ("plain JSONL read-parse-write", floor),
        ("detector strip (1 process)", strip),
    ]
    print(f"corpus: {n:,} articles, {size_mb:.1f} MB")
    print(f"{'what':32} {'seconds':>9} {'MB/s':>8} {'articles/s':>11} {'x floor':>8}")
    for name, seconds in rows:
        print(f"{name:32} {seconds:9.2f} {size_mb / seconds:8.2f} {n / seconds:11,.0f} "
              f"{seconds / floor:8.1f}")
    print(f"model load: {load:.2f} s   detector --help: {help_time:.2f} s   "
          f"peak RSS: {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
