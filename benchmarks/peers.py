"""detector beside its peers on the same articles: throughput, peak memory, start-up.

    pip install -e '.[bench]'
    python benchmarks/peers.py                    # 50 MB built from data/train.jsonl
    python benchmarks/peers.py --mb 500 --only detector-2   # peak memory on a big input
    python benchmarks/peers.py --corpus mine.jsonl --sample 5000
    python benchmarks/peers.py --corpus ../shared/data/unlabeled/*.jsonl   # real scraped articles
    python benchmarks/peers.py --repeat 3         # each row three times, median time

Every row runs in a process of its own, timed wall-clock from start to exit, its peak memory
the highest sum of the resident sizes (RSS) of it and all its children (worker processes
included), and the same sum of proportional sizes (PSS: a page shared by the parent and its
forked workers counts once in all).
trafilatura and jusText get each article as simple HTML, one <p> per line; the floor reads,
parses and writes the JSONL and does nothing else. MB are the corpus file's bytes.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROWS = ("floor", "detector-1", "detector-1-nobatch", "detector-2", "trafilatura", "justext")
POLL_SECONDS = 0.05
PSS_EVERY = 10  # polls


# -- the corpus -----------------------------------------------------------------------------


def build_corpus(path: Path, megabytes: float, seed: int = 0) -> int:
    """data/train.jsonl's articles (id, lang, text), shuffled and repeated with new ids until
    the file holds ``megabytes``; returns how many distinct articles there are."""
    with open(REPO / "data" / "train.jsonl", encoding="utf-8") as fh:
        articles = [json.loads(line) for line in fh if line.strip()]
    rng = random.Random(seed)
    written, round_no = 0, 0
    with open(path, "w", encoding="utf-8") as out:
        while written < megabytes * 1e6:
            rng.shuffle(articles)
            for a in articles:
                record = {"id": f"{a['id']}-r{round_no}", "lang": a.get("lang"), "text": a["text"]}
                line = json.dumps(record, ensure_ascii=False) + "\n"
                out.write(line)
                written += len(line.encode("utf-8"))
                if written >= megabytes * 1e6:
                    break
            round_no += 1
    return len(articles)


def take_sample(src: Path, dst: Path, articles: int) -> None:
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        for k, line in enumerate(fin):
            if k >= articles:
                break
            fout.write(line)


def count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


# -- the peers, each run as `peers.py --worker NAME IN OUT` in a process of its own ---------


def as_html(text: str) -> str:
    """An article as a simple page: one <p> per non-empty line."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>\n" for line in text.splitlines() if line)
    return f"<html><body>\n{paragraphs}</body></html>"


def trafilatura_extractor() -> Callable[[dict], str]:
    import trafilatura

    from detector.html import TRAFILATURA_OPTIONS

    return lambda record: trafilatura.extract(as_html(record["text"]), **TRAFILATURA_OPTIONS) or ""


def justext_extractor() -> Callable[[dict], str]:
    import justext

    stoplists = {"en": justext.get_stoplist("English"), "de": justext.get_stoplist("German")}

    def extract(record: dict) -> str:
        stoplist = stoplists.get(record.get("lang") or "en", stoplists["en"])
        paragraphs = justext.justext(as_html(record["text"]), stoplist)
        return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)

    return extract


def run_worker(name: str, src: str, dst: str) -> None:
    extract = {
        "floor": lambda: (lambda record: record["text"]),
        "trafilatura": trafilatura_extractor,
        "justext": justext_extractor,
    }[name]()
    with open(src, encoding="utf-8") as fin, open(dst, "w", encoding="utf-8") as fout:
        for line in fin:
            record = json.loads(line)
            record["text"] = extract(record)
            fout.write(json.dumps(record, ensure_ascii=False) + "\n")


# -- measuring ------------------------------------------------------------------------------


def measure(command: list[str]) -> tuple[float, float, float]:
    """Run ``command``; its wall-clock seconds and the peak RSS and PSS (MB) of its process
    tree. PSS counts a page shared by n processes (forked workers share their parent's
    imports and model) as 1/n in each; where the system does not report it, it is the RSS."""
    import psutil

    start = time.perf_counter()
    proc = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_rss = peak_pss = 0
    polls = 0
    while proc.poll() is None:
        # PSS reads every page map of every process: often enough to see the peak, rarely
        # enough not to take CPU from the run on a small machine.
        rss, pss = _tree_memory(proc, proportional=polls % PSS_EVERY == 0)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        polls += 1
        time.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        error = proc.stderr.read().decode(errors="replace").strip().splitlines()
        raise SystemExit(f"{' '.join(command)} failed: {error[-1] if error else proc.returncode}")
    return seconds, peak_rss / 1e6, peak_pss / 1e6


def _tree_memory(proc: object, proportional: bool) -> tuple[int, int]:
    """The summed RSS of ``proc`` and its children, and their summed PSS if ``proportional``
    (else 0)."""
    import psutil

    rss = pss = 0
    try:
        members = [proc, *proc.children(recursive=True)]  # type: ignore[attr-defined]
    except psutil.Error:
        return 0, 0
    for p in members:
        try:
            info = p.memory_info()
            rss += info.rss
            if proportional:
                pss += getattr(p.memory_full_info(), "pss", info.rss)
        except psutil.Error:
            continue
    return rss, pss


def median_seconds(command: list[str], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def model_load_seconds() -> tuple[float, float]:
    """(import + load, load alone) of the shipped model in a fresh process, median of 3."""
    code = (
        "import time; t0 = time.perf_counter(); import detector.detect as d; "
        "t1 = time.perf_counter(); d.Detector.load(); t2 = time.perf_counter(); "
        "print(t2 - t0, t2 - t1)"
    )
    runs = []
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                              text=True)
        runs.append(tuple(map(float, done.stdout.split())))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def detector_command(src: Path, dst: Path, jobs: int, batch: bool = True) -> list[str]:
    return [sys.executable, "-m", "detector", "strip", str(src), "-o", str(dst), "--quiet",
            "--jobs", str(jobs), *([] if batch else ["--no-batch"])]


def worker_command(name: str, src: Path, dst: Path) -> list[str]:
    return [sys.executable, __file__, "--worker", name, str(src), str(dst)]


# -- the table ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the built corpus (MB)")
    parser.add_argument("--corpus", nargs="+",
                        help="JSONL files with 'id' and 'text' instead (read as one corpus)")
    parser.add_argument("--sample", type=int,
                        help="run trafilatura and jusText on the first N articles only")
    parser.add_argument("--only", action="append", choices=ROWS,
                        help="run only these rows (repeatable); default all")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each row this many times; the table shows the median time")
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "IN", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(*args.worker)
        return 0
    rows = args.only or list(ROWS)

    with tempfile.TemporaryDirectory(prefix="detector-bench-") as tmp:
        work = Path(tmp)
        distinct = None
        if args.corpus and len(args.corpus) == 1:
            src = Path(args.corpus[0])
        elif args.corpus:
            src = work / "corpus.jsonl"
            with open(src, "wb") as out:
                for name in args.corpus:
                    out.write(Path(name).read_bytes())
        else:
            src = work / "corpus.jsonl"
            distinct = build_corpus(src, args.mb)
        articles, size = count_lines(src), os.path.getsize(src) / 1e6
        peer_src, peer_articles, peer_size = src, articles, size
        if args.sample and args.sample < articles:
            peer_src = work / "sample.jsonl"
            take_sample(src, peer_src, args.sample)
            peer_articles, peer_size = args.sample, os.path.getsize(peer_src) / 1e6
        print(f"corpus: {articles:,} articles, {size:.1f} MB"
              + (f"; peers on a sample of {peer_articles:,} articles ({peer_size:.1f} MB)"
                 if peer_src != src else ""), flush=True)
        if distinct is not None and articles > distinct:
            # detector caches the scores of segment texts it has seen: repeats cost it less.
            print(f"each of data/train.jsonl's {distinct:,} articles appears about "
                  f"{articles / distinct:.0f} times: detector's per-segment caches hit on the "
                  "repeats; --mb 3 gives a corpus without repeats", flush=True)

        results: dict[str, tuple[float, float, float, int, float]] = {}
        for row in rows:
            out = work / f"{row}.jsonl"
            if row.startswith("detector"):
                batch = not row.endswith("-nobatch")
                command = detector_command(src, out, int(row.split("-")[1]), batch)
                n, mb = articles, size
            elif row == "floor":
                command, n, mb = worker_command(row, src, out), articles, size
            else:
                command, n, mb = worker_command(row, peer_src, out), peer_articles, peer_size
            runs = [measure(command) for _ in range(max(args.repeat, 1))]
            seconds = statistics.median(r[0] for r in runs)
            results[row] = (seconds, max(r[1] for r in runs), max(r[2] for r in runs), n, mb)
            times = ", ".join(f"{r[0]:.1f}" for r in runs)
            print(f"  {row}: {times} s", file=sys.stderr, flush=True)
            out.unlink(missing_ok=True)

        print_table(results)
        load_all, load_model = model_load_seconds()
        help_seconds = median_seconds([str(Path(sys.executable).parent / "detector"), "--help"])
        print(f"model load: {load_all:.2f} s in a fresh process ({load_model:.2f} s of it the "
              f"model file, the rest imports)   detector --help: {help_seconds:.2f} s")
    return 0


NAMES = {
    "floor": "plain JSONL read-parse-write",
    "detector-1": "detector strip --jobs 1",
    "detector-1-nobatch": "  the same with --no-batch",
    "detector-2": "detector strip --jobs 2",
    "trafilatura": "trafilatura.extract",
    "justext": "jusText",
}


def print_table(results: dict[str, tuple[float, float, float, int, float]]) -> None:
    print(f"{'what':30} {'articles':>9} {'MB':>7} {'seconds':>8} {'MB/s':>7} {'articles/s':>10} "
          f"{'peak RSS MB':>11} {'peak PSS MB':>11}")
    for row, (seconds, rss, pss, n, mb) in results.items():
        print(f"{NAMES[row]:30} {n:9,} {mb:7.1f} {seconds:8.1f} {mb / seconds:7.2f} "
              f"{n / seconds:10,.0f} {rss:11,.0f} {pss:11,.0f}")
    speed = {row: mb / seconds for row, (seconds, _, _, _, mb) in results.items()}
    pairs = [(a, b) for a in ("detector-1", "detector-2")
             for b in ("trafilatura", "justext", "floor") if a in speed and b in speed]
    if "detector-1" in speed and "detector-2" in speed:
        pairs.append(("detector-2", "detector-1"))
    for a, b in pairs:
        print(f"ratio MB/s  {SHORT[a]} / {SHORT[b]}: {speed[a] / speed[b]:.3g}")
    if "detector-1" in speed and "detector-1-nobatch" in speed:
        cost = 1 - speed["detector-1"] / speed["detector-1-nobatch"]
        print(f"throughput cost of the site-template pass (detector -j1 against --no-batch): "
              f"{cost:.0%}")


SHORT = {"floor": "floor", "detector-1": "detector -j1", "detector-2": "detector -j2",
         "detector-1-nobatch": "detector -j1 --no-batch",
         "trafilatura": "trafilatura", "justext": "jusText"}


if __name__ == "__main__":
    sys.exit(main())
