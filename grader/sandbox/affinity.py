"""One CPU for the grader and the hand-in process it questions.

A test sends a request and waits for the answer: two processes taking turns, never running
at once. On one CPU each turn is a context switch; on two, each turn wakes a sleeping CPU (an
interrupt between processors, which in a virtual machine is an exit to the hypervisor) and
moves the request and the graph between caches. bench/frames.py, 2-core virtual machine: a
round trip 0.52-0.58 ms on one CPU, 1.1-1.8 ms on two.

While a hand-in is loaded, the trusted side stays on the CPU it runs on (`hold`) and the
hand-in's process is told to run there too (host.py); `release` gives the trusted side back
the CPUs it had, so the scheduler places it afresh for the next hand-in. Where the CPU cannot
be read or set, nothing is pinned and grading is only slower.
"""
from __future__ import annotations

import os


def current() -> int | None:
    """The CPU this process runs on now (field 39 of /proc/self/stat), or None."""
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        return int(stat[stat.rindex(b")") + 2:].split()[36])
    except (OSError, ValueError, IndexError):
        return None


def hold() -> tuple[int | None, set[int] | None]:
    """Keep this process on the CPU it runs on: (that CPU, the CPUs it may run on before),
    the second None when it already ran on one CPU only; (None, None) where it cannot."""
    try:
        allowed = os.sched_getaffinity(0)
        if len(allowed) == 1:
            return next(iter(allowed)), None
        cpu = current()
        if cpu not in allowed:
            return None, None
        os.sched_setaffinity(0, {cpu})
        return cpu, allowed
    except (AttributeError, OSError):
        return None, None


def release(allowed: set[int] | None) -> None:
    """Undo `hold`."""
    if allowed:
        try:
            os.sched_setaffinity(0, allowed)
        except OSError:
            pass


def usable() -> int:
    """How many CPUs this process may run on: a Slurm job's or a container's share, not
    every CPU of the machine."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def spread(n: int) -> list[int | None]:
    """A CPU of its own for each of `n` grading workers where there are at least as many CPUs
    as workers (a worker's sandbox, started by it, runs there too); else Nones, and workers
    share the CPUs as the scheduler likes, each holding one only while it grades a hand-in.
    The CPUs taken start at this process's id, so two batches on one machine spread out."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return [None] * n
    if len(allowed) < max(n, 2):
        return [None] * n
    start = os.getpid() % len(allowed)
    return [allowed[(start + k) % len(allowed)] for k in range(n)]


def keep(cpu: int | None) -> None:
    """Run this process, and every process it starts, on `cpu` from now on (None: as before)."""
    if cpu is not None:
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            pass
