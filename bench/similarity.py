"""What similarity.csv costs a class: `grader.batch.similarity.pairs` over N distinct hand-ins.

    python bench/similarity.py [--handins 500] [--jobs 2] [--out bench/similarity.json]

The class, no two files the same text (so every one is fingerprinted): by default 80% filled
in the skeleton (the reference or a mutant of tests/mutants.py, with a comment of the
student's own in every closure and a heading), 20% written from scratch (an engine of
tests/corpus under names of its own, its methods shuffled). `--from-scratch 1` makes every
hand-in the latter: the worst case, as copydetect then lexes whole files. Each distinct engine
is graded once (its failures are every copy's: renaming changes no behaviour). Timed: importing copydetect, then `pairs` (fingerprints, the pair weights, the
top pairs' copydetect comparison), median of --runs. Shared machines are noisy: the figures
come with the machine's load average.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

NAMES = ("other", "out", "_backward", "topo", "visited", "build", "child", "v", "t", "e", "x")


def disguise(code: str, rng: random.Random) -> str:
    """The same engine under names of its own and with its methods in another order."""
    ren = {n: f"{n.strip('_')}_{rng.randrange(10**6)}" for n in NAMES}
    code = re.sub(r"\b(" + "|".join(map(re.escape, NAMES)) + r")\b", lambda m: ren[m[1]], code)
    head, sep, body = code.partition("class Value")
    if not sep:
        return code
    first, *methods = re.split(r"(?m)^(?=    def )", body)
    rng.shuffle(methods)
    return head + sep + first + "".join(m.rstrip("\n") + "\n\n" for m in methods)


def personal(code: str, i: int) -> str:
    """A skeleton-filled engine as one student types it: their heading, their comments."""
    return f"# Student {i}: my engine\n" + code.replace(
        "        def _backward():\n", f"        def _backward():\n            # note {i}\n")


def engines() -> tuple[dict[str, str], dict[str, str]]:
    """(filled in the skeleton, written from scratch)"""
    from mutants import MUTANTS, source

    filled = {f"mutant-{m}": source(m) for m in MUTANTS}
    filled["reference"] = (ROOT / "solutions" / "engine.py").read_text()
    scratch = {p.stem: p.read_text() for p in (ROOT / "tests" / "corpus").glob("*.py")}
    return filled, scratch


def failures_of(sources: dict[str, str], tmp: Path) -> dict[str, dict]:
    """Each distinct engine graded once: its failure signatures."""
    from grader.batch.similarity import failures
    from grader.grading.runner import Job, run
    from grader.results.model import Result

    paths = {}
    for name, code in sources.items():
        paths[name] = tmp / f"{name}.py"
        paths[name].write_text(code)
    found = {}
    run([Job(p, {"name": n}) for n, p in paths.items()],
        lambda job, r: found.__setitem__(job.extra["name"], failures(r)))
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--handins", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--from-scratch", type=float, default=0.2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    import tempfile

    filled, scratch = engines()
    sources = {**filled, **scratch}
    with tempfile.TemporaryDirectory() as tmp:
        fails = failures_of(sources, Path(tmp))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import copydetect"], check=True)  # a cold start
    import_s = time.perf_counter() - t
    from grader.batch.similarity import Handin, pairs

    rng = random.Random(0)
    n_scratch = round(args.handins * args.from_scratch)
    students = ([sorted(scratch)[i % len(scratch)] for i in range(n_scratch)]
                + [sorted(filled)[i % len(filled)] for i in range(args.handins - n_scratch)])
    times, found = [], []
    for _ in range(args.runs):
        handins = [Handin(f"s{i:04d}", disguise(sources[n], rng) if n in scratch
                          else personal(sources[n], i), dict(fails[n]))
                   for i, n in enumerate(students)]
        t = time.perf_counter()
        found = pairs(handins, jobs=args.jobs)
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    out = {"handins": args.handins, "jobs": args.jobs, "from_scratch": n_scratch,
           "import_copydetect_s": round(import_s, 3),
           "pairs_s": {"median": round(med, 3), "min": round(min(times), 3),
                       "max": round(max(times), 3)},
           "per_handin_ms": round(1000 * med / args.handins, 2),
           "pairs_listed": len(found), "load_average": os.getloadavg()}
    print(json.dumps(out, indent=2))
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
