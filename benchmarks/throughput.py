"""Throughput, model load and start-up time of detector, beside a plain JSONL copy as the floor.

    python benchmarks/throughput.py                    # data/train.jsonl, each article once
    python benchmarks/throughput.py --input ../shared/data/real/*.jsonl   # your own JSONL
    python benchmarks/throughput.py --mb 20            # training articles repeated to 20 MB

Prints one table; single process. MB/s and articles/s are given against wall-clock time and
against the process's CPU time, which is the steadier single-core figure on a shared machine.
The "x floor" column compares wall-clock time with the plain read-parse-write of the same JSONL.
Segments already scored are cached, so a corpus of repeated articles (--mb beyond the training
data) flatters: the default reads each article once.
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


def build_corpus(path: Path, megabytes: float | None) -> int:
    """The training articles (text and id only), each once, or repeated until the file reaches
    ``megabytes``."""
    articles = [
        {"id": r["id"], "text": r["text"]}
        for r in map(json.loads, (REPO / "data" / "train.jsonl").read_text("utf-8").splitlines())
    ]
    written = 0
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        while n == 0 or (megabytes is not None and written < megabytes * 1e6):
            for a in articles:
                line = json.dumps({**a, "id": f"{a['id']}-{n}"}, ensure_ascii=False) + "\n"
                fh.write(line)
                written += len(line.encode("utf-8"))
                n += 1
                if megabytes is not None and written >= megabytes * 1e6:
                    break
    return n


def join_inputs(paths: list[str], dst: Path) -> int:
    """Concatenate JSONL files into one corpus; returns the number of articles."""
    n = 0
    with open(dst, "w", encoding="utf-8") as fh:
        for p in paths:
            for line in open(p, encoding="utf-8"):
                if line.strip():
                    fh.write(line.rstrip("\n") + "\n")
                    n += 1
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


def cpu_timed(fn, *args) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, help="repeat the training articles to this size")
    parser.add_argument("--input", nargs="+", help="JSONL files with a 'text' field instead")
    args = parser.parse_args()

    from detector import Detector
    from detector.batch import run
    from detector.io import Input, Output

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "corpus.jsonl"
        if args.input:
            n = join_inputs(args.input, src)
            what = " + ".join(Path(p).name for p in args.input)
        else:
            n = build_corpus(src, args.mb)
            what = "data/train.jsonl" + (f" repeated to {args.mb:g} MB" if args.mb else "")
        size_mb = os.path.getsize(src) / 1e6

        load = timed(Detector.load)
        detector = Detector.load()
        floor = timed(plain_copy, src, Path(tmp) / "copy.jsonl")
        wall, cpu = cpu_timed(
            lambda: run(detector, Input(str(src)), Output(str(Path(tmp) / "clean.jsonl"), "jsonl"))
        )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "detector", "--help"], check=True,
                       capture_output=True)
        help_time = time.perf_counter() - start

    print(f"corpus: {what}: {n:,} articles, {size_mb:.1f} MB of JSONL")
    print(f"{'what':30} {'seconds':>8} {'MB/s':>7} {'articles/s':>11} {'x floor':>8}")
    print(f"{'plain JSONL read-parse-write':30} {floor:8.2f} {size_mb / floor:7.2f} "
          f"{n / floor:11,.0f} {1.0:8.1f}")
    print(f"{'detector strip, wall-clock':30} {wall:8.2f} {size_mb / wall:7.2f} "
          f"{n / wall:11,.0f} {wall / floor:8.1f}")
    print(f"{'detector strip, CPU time':30} {cpu:8.2f} {size_mb / cpu:7.2f} {n / cpu:11,.0f}")
    print(f"model load: {load:.2f} s   detector --help: {help_time:.2f} s   "
          f"peak RSS: {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
