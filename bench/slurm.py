"""What grading on Slurm costs: `grader slurm` on a reachable cluster against `grader batch`.

    .ci/slurm.sh start                       # a single-node cluster on this machine (root)
    python bench/slurm.py [--handins 120] [--shards 4] [--runs 2] [--out bench/slurm.json]

Each run grades a class of mixed hand-ins (tests/mixed_class.py) with `grader batch --jobs 2`
and with `grader slurm --shards N` (one CPU per shard), interleaved, then submits the same
`grader slurm` again, which finds nothing to grade. From the job scripts' exit files (each
job's start and end) and the clock here:

- submit: `grader slurm` from start to return (sbatch twice, the scripts written);
- queue: from its return to the first shard's start;
- shard: each shard's run, first run (grading) and rerun (nothing to grade: a shard's fixed
  cost, with its outputs written again);
- release: from the last shard's end to the merge's start (Slurm releasing afterok);
- merge: the merge job's run;
- total: from submission to the merge's end, against `grader batch` on the same machine.

Medians over the runs, with every run's figures; per hand-in is the figure divided by the class
size (a shard's, by its share of the class). A shared machine is noisy: compare the figures of one run with each other.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRADER = str(Path(sys.executable).with_name("grader"))
sys.path.insert(0, str(ROOT))
from grader.batch import slurm  # noqa: E402


def _mixed_class():
    spec = importlib.util.spec_from_file_location("mixed_class", ROOT / "tests" / "mixed_class.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(cmd: list[str]) -> float:
    t = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): "
                           f"{(proc.stdout + proc.stderr)[-2000:]}")
    return time.time() - t


def on_slurm(source: Path, out: Path, shards: int) -> dict:
    """Submit, wait for the merge, read when each job ran; the figures of one submission."""
    plan = slurm.Plan(source, out, shards)
    began = time.time()
    proc = subprocess.run([GRADER, "slurm", str(source), "--out", str(out), "--shards",
                           str(shards)], capture_output=True, text=True)
    submitted = time.time()
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    jobs = json.loads((plan.folder / "jobs.json").read_text())
    code = slurm.wait(plan, slurm.Submitted(jobs["shards"], jobs["merge"]), say=lambda _: None,
                      poll=0.2)
    if code != 0:
        raise RuntimeError(f"the merge failed: see {plan.folder}")
    runs = [slurm.exit_record(plan.folder / f"shard-{k}.exit") for k in range(1, shards + 1)]
    merge = slurm.exit_record(plan.folder / "merge.exit")
    return {"submit": submitted - began,
            "queue": min(r["start"] for r in runs) - submitted,
            "shards": [r["end"] - r["start"] for r in runs],
            "release": merge["start"] - max(r["end"] for r in runs),
            "merge": merge["end"] - merge["start"],
            "total": merge["end"] - began}


def median(samples: list[float]) -> dict:
    return {"median": round(statistics.median(samples), 3), "runs": [round(s, 3) for s in samples]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--handins", type=int, default=120)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "slurm.json")
    args = ap.parse_args()
    if subprocess.run(["sinfo", "-h"], capture_output=True).returncode != 0:
        sys.exit("no Slurm cluster answers sinfo: start one with .ci/slurm.sh start (as root)")
    work = Path(tempfile.mkdtemp(prefix="grader-bench-slurm-"))
    try:
        source, _ = _mixed_class().canvas_class(work / "class", args.handins)
        figures: dict[str, list[float]] = {}
        for i in range(args.runs):
            batch = run([GRADER, "batch", str(source), "--out", str(work / f"batch-{i}"),
                         "--jobs", "2"])
            first = on_slurm(source, work / f"slurm-{i}", args.shards)
            again = on_slurm(source, work / f"slurm-{i}", args.shards)
            for name, value in [("batch", batch), ("submit", first["submit"]),
                                ("queue", first["queue"]),
                                ("shard", statistics.median(first["shards"])),
                                ("shard_nothing_to_grade", statistics.median(again["shards"])),
                                ("release", first["release"]), ("merge", first["merge"]),
                                ("total", first["total"]), ("rerun_total", again["total"])]:
                figures.setdefault(name, []).append(value)
            ours, theirs = ((work / d / "gradebook.csv").read_text().splitlines()
                            for d in (f"slurm-{i}", f"batch-{i}"))
            differ = [f"slurm: {a}\nbatch: {b}" for a, b in zip(ours, theirs) if a != b]
            if differ or len(ours) != len(theirs):  # grades that depend on the machine's load
                print(f"run {i}: the gradebooks differ in {len(differ)} rows:", *differ,
                      sep="\n", file=sys.stderr)
            figures.setdefault("gradebooks_equal", []).append(float(not differ))
        report = {"handins": args.handins, "shards": args.shards, "runs": args.runs,
                  "seconds": {k: median(v) for k, v in figures.items()},
                  # a shard's figures per hand-in of its own share of the class
                  "ms_per_handin": {k: round(1000 * statistics.median(v) / (
                      args.handins / args.shards if k.startswith("shard") else args.handins), 1)
                                    for k, v in figures.items() if k != "gradebooks_equal"},
                  "slurm_over_batch": round(statistics.median(
                      [t / b for t, b in zip(figures["total"], figures["batch"])]), 2)}
        args.out.write_text(json.dumps(report, indent=1))
        print(f"{args.handins} hand-ins, {args.shards} shards, {args.runs} runs (median s; "
              "ms per hand-in)")
        for k, v in report["seconds"].items():
            per = report["ms_per_handin"].get(k)
            print(f"  {k:24} {v['median']:8.2f} s" + (f"  {per:8.1f} ms/hand-in" if per else "")
                  + f"   runs: {v['runs']}")
        print(f"  slurm total / batch: {report['slurm_over_batch']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
