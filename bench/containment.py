"""What the kernel-containment layers cost per hand-in: fork a child as the sandbox host does,
set it up with nothing, resource limits, the sandbox's cgroup, a dedicated uid, its own pid
namespace, that and a scratch tmpfs, or all of them; write a file in it, let it end, and clean
up as the host does (where there is no pid namespace: emptying the cgroup, sweeping the uid);
median of many. As in the host, the process that forks is in the cgroup already (the bench
moves itself in and out around each of those rounds, untimed).

    python bench/containment.py [--rounds 300] [--out bench/containment.json]

Run it as root (as a platform grades) to time every layer; probing is timed too. It runs in
this machine's own mount table, as a host without bubblewrap does (a platform's container);
inside bubblewrap, with far fewer mounts to copy, a mount namespace costs less.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grader" / "sandbox"))
from layers import cgroup, pidns, rlimits, scratch, uid  # noqa: E402  (as the host does)

LIMITS = {"memory_mb": 1024, "handin_seconds": 40, "file_mb": 16}
SCRATCH = 64 << 20
UID = uid.for_handin(os.getpid(), 0)


def reap():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def once(layers: set, groups: list[str]) -> float:
    folder = None
    if "scratch" not in layers:
        folder = tempfile.mkdtemp(prefix="bench-containment-")
        os.chmod(folder, 0o777)
    if "cgroup" in layers:  # as the host: in the groups already, so the hand-in is born there
        cgroup.join(groups)
    r, w = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            if "pidns" in layers:
                pidns.enter(pidns.flags(), w)
                if "scratch" in layers:
                    scratch.mount(SCRATCH, UID if "uid" in layers else 0, 0)
            if "rlimits" in layers:
                rlimits.apply(LIMITS, SCRATCH if "scratch" in layers else 0)
            if "uid" in layers:
                uid.drop(UID)
            os.chdir(scratch.PATH if "scratch" in layers else folder)
            with open("x", "w") as f:
                f.write("x")
            os.listdir(".")
        except BaseException as e:
            print(e, file=sys.stderr)
            code = 1
        os._exit(code)
    os.close(w)
    if "pidns" in layers:
        struct.unpack("=i", os.read(r, 4))
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if "cgroup" in layers and "pidns" not in layers:
        cgroup.empty(groups, spare=os.getpid())
    if "uid" in layers and "pidns" not in layers:
        uid.sweep(UID, reap)
    elapsed = time.perf_counter() - start
    if "cgroup" in layers:
        cgroup.join([os.path.dirname(g) for g in groups])  # back where this bench was
    if folder:
        shutil.rmtree(folder)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "the child failed"
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    t = time.perf_counter()
    groups, no_cgroup = cgroup.create(f"bench-{os.getpid()}", rlimits.NPROC, 1 << 30)
    create_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    # the uid layer is timed wherever root can change uid, even where Python's own files are
    # closed to other users (then grading does not use it: a hand-in could not import)
    reasons = {"pidns": pidns.probe(), "cgroup": no_cgroup,
               "uid": None if os.geteuid() == 0 else "not running as root"}
    probe_ms = (time.perf_counter() - t) * 1000
    variants = {"fork only": set(), "rlimits": {"rlimits"}, "cgroup": {"cgroup"},
                "uid": {"uid"}, "pidns": {"pidns"}, "pidns + scratch": {"pidns", "scratch"},
                "pidns + uid": {"pidns", "uid"}, "pidns + cgroup": {"pidns", "cgroup"},
                "all": {"rlimits", "cgroup", "uid", "pidns", "scratch"}}
    for name, needs in list(variants.items()):
        if any(reasons.get(layer) for layer in needs):
            del variants[name]
    times = {name: [] for name in variants}
    try:
        for _ in range(args.rounds):  # interleaved, so drift hits every variant alike
            for name, layers in variants.items():
                times[name].append(once(layers, groups))
    finally:
        cgroup.remove(groups)
    base = statistics.median(times["fork only"])
    report = {"rounds": args.rounds, "not_here": {k: v for k, v in reasons.items() if v},
              "probe_ms": round(probe_ms, 2), "cgroup_create_ms": round(create_ms, 2),
              "per_handin_ms": {name: round(statistics.median(t) * 1000, 2)
                                for name, t in times.items()},
              "added_ms": {name: round((statistics.median(t) - base) * 1000, 2)
                           for name, t in times.items() if name != "fork only"}}
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
