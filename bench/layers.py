"""What the unprivileged layers cost per hand-in: fork a child as the sandbox host does, apply
nothing, Landlock, seccomp or both (with the rules a real sandbox prepares), run a little
Python in it (an import, a file read, as a hand-in loading would), let it exit; median of many.

    python bench/layers.py [--rounds 300] [--out bench/layers.json]

Probing (once per sandbox host, not per hand-in) is timed too.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grader" / "sandbox"))
from layers import landlock, seccomp  # noqa: E402  (as the host imports them)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from grader.sandbox import paths  # noqa: E402


def once(apply) -> float:
    scratch = tempfile.mkdtemp(prefix="bench-layers-")
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            apply(scratch)
            import colorsys  # noqa: F401  (a stdlib module nothing imported yet)
            with open(os.path.join(scratch, "x"), "w") as f:
                f.write("x")
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    shutil.rmtree(scratch)
    assert os.WEXITSTATUS(status) == 0, "the child failed"
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    t = time.perf_counter()
    reasons = {"landlock": landlock.probe(), "seccomp": seccomp.probe()}
    probe_ms = (time.perf_counter() - t) * 1000
    imports = paths.Imports()
    imports.stage()
    t = time.perf_counter()
    rules = landlock.Rules(landlock.abi(), [*paths.runtime(), imports.dir, *imports.targets],
                           paths.hidden())
    prepare_ms = (time.perf_counter() - t) * 1000

    variants = {
        "fork only": lambda scratch: None,
        "landlock": lambda scratch: landlock.restrict(rules, scratch),
        "seccomp": lambda scratch: seccomp.apply(),
        "landlock + seccomp": lambda scratch: (landlock.restrict(rules, scratch),
                                               seccomp.apply()),
    }
    if reasons["landlock"]:
        del variants["landlock"], variants["landlock + seccomp"]
    if reasons["seccomp"]:
        variants.pop("seccomp", None)
        variants.pop("landlock + seccomp", None)
    times = {name: [] for name in variants}
    for _ in range(args.rounds):  # interleaved, so drift hits every variant alike
        for name, apply in variants.items():
            times[name].append(once(apply))
    base = statistics.median(times["fork only"])
    report = {
        "probes_ms (once per sandbox host)": round(probe_ms, 2),
        "landlock rules prepared (once per sandbox host)": {"ms": round(prepare_ms, 2),
                                                             "paths": len(rules.fds)},
        "per hand-in, median ms": {name: round(statistics.median(v) * 1000, 3)
                                   for name, v in times.items()},
        "added per hand-in, ms": {name: round((statistics.median(v) - base) * 1000, 3)
                                  for name, v in times.items() if name != "fork only"},
        "unavailable": {k: v for k, v in reasons.items() if v},
        "rounds": args.rounds,
    }
    imports.cleanup()
    rules.close()
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
