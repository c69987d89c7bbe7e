"""Grade many hand-ins in parallel: N worker processes, each one warm pytest session.

Workers pull jobs from a shared queue (so a slow hand-in never holds up the rest) and send each
result back as soon as it is done; the parent writes it to disk at once. A worker that dies
costs only the hand-in it was grading, which is recorded as not graded.
"""
from __future__ import annotations

import hashlib
import multiprocessing as mp
import multiprocessing.connection
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import __version__
from ..checking.instance import Instances
from ..report.terminal import one_line
from ..results.model import Result, TestResult, points
from ..sandbox import affinity
from ..sandbox.isolation import Isolation
from ..sandbox.limits import Limits
from . import store


@dataclass
class Task:
    student_id: str
    path: Path
    extra: dict = field(default_factory=dict)


def in_shard(student_id: str, shard: tuple[int, int] | None) -> bool:
    """Whether a student belongs to shard K of N (1-based), by a stable hash of their id."""
    if shard is None:
        return True
    k, n = shard
    h = int.from_bytes(hashlib.sha256(student_id.encode()).digest()[:8], "big")
    return h % n == k - 1


def _worker(conn, limits: Limits, settings: Isolation, instances: Instances,
            visibility: dict[str, str] | None = None, cpu: int | None = None) -> None:
    """Ask the parent for a hand-in, grade it, send the result back; until told to stop. With
    `cpu`, the worker and its sandbox run on that CPU (see grader/sandbox/affinity.py)."""
    _die_with_parent()
    affinity.keep(cpu)
    from ..grading.runner import Job, run
    from ..sandbox.client import Sandbox

    def jobs():
        while True:
            conn.send(("ready",))
            item = conn.recv()
            if item is None:
                return
            yield Job(item.path, item.extra, hooks=False)  # same results, sooner

    def emit(job, result):
        conn.send(("done", result.to_json()))

    try:
        run(jobs(), emit, limits, Sandbox(limits, settings, spare=True), instances, visibility)
    except Exception as e:  # one line, like the CLI; the parent decides what it means
        print(f"grader: worker: {e}", file=sys.stderr)
        sys.exit(1)


def _die_with_parent() -> None:
    """A worker whose parent was killed must not grade on (nor hold its pipes open)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent died before the line above took effect
        os._exit(1)


def grade_all(tasks: list[Task], results_dir: Path, jobs: int, limits: Limits,
              on_result: Callable[[Task, Result], None],
              score: Callable[[Result], Result] = lambda r: r,
              settings: Isolation = Isolation(), instances: Instances = Instances(),
              visibility: dict[str, str] | None = None) -> None:
    """Grade `tasks` with `jobs` workers; `score` each result (the course file's weights),
    write and report it as it arrives. `visibility` orders each hand-in's tests (see
    `grader.course.visibility.shown_first`).

    The parent hands each worker one task at a time over the worker's own pipe, so it always
    knows which hand-in a worker holds: a worker that dies (its pipe closes) costs only that one."""
    if not tasks:
        return
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    if ctx.get_start_method() == "fork":
        from ..grading import runner  # noqa: F401  (imported once here, pytest included: workers
        #                        forked below, and any started after one dies, inherit it)
    pending = list(range(len(tasks)))[::-1]  # popped from the end: in order
    holding: dict = {}                        # worker's pipe -> index it grades, or None
    procs: dict = {}
    cpus: dict = {}                           # worker's pipe -> its CPU, or None
    template = None  # any graded result: the test list a lost hand-in is scored 0 on
    waiting: list[int] = []  # hand-ins lost before any result showed that list

    def start_worker(cpu):
        mine, theirs = ctx.Pipe()
        p = ctx.Process(target=_worker, daemon=True,
                        args=(theirs, limits, settings, instances, visibility, cpu))
        p.start()
        theirs.close()
        holding[mine], procs[mine], cpus[mine] = None, p, cpu

    def give(conn):
        holding[conn] = pending.pop() if pending else None
        conn.send(None if holding[conn] is None else tasks[holding[conn]])

    for cpu in affinity.spread(max(1, min(jobs, len(tasks)))):
        start_worker(cpu)
    deaths = 0  # workers lost in a row without a hand-in: a broken install, not a hand-in
    try:
        while holding:
            for conn in mp.connection.wait(list(holding)):
                try:
                    msg = conn.recv()
                except (EOFError, OSError):  # the worker is gone
                    lost = holding.pop(conn)
                    proc, cpu = procs.pop(conn), cpus.pop(conn)
                    proc.join(1)
                    deaths += lost is None and proc.exitcode != 0
                    if deaths > 2 * jobs:
                        raise RuntimeError("grading workers keep failing before they grade "
                                           "anything; try `grader grade` on one hand-in")
                    if lost is not None and template is None:
                        waiting.append(lost)  # scored once the maximum is known, never 0/0
                    elif lost is not None:
                        _finish(tasks[lost], crashed(tasks[lost], template), results_dir,
                                on_result)
                    if pending and len(holding) < jobs:
                        start_worker(cpu)
                    continue
                if msg[0] == "ready":
                    give(conn)
                else:
                    deaths = 0
                    index, holding[conn] = holding[conn], None
                    result = score(Result.from_json(msg[1]))
                    template = template or result
                    if _asks_again(conn):  # its next hand-in first, then this one's outputs
                        give(conn)
                    _finish(tasks[index], result, results_dir, on_result)
                    for lost in waiting:
                        _finish(tasks[lost], crashed(tasks[lost], template), results_dir,
                                on_result)
                    waiting.clear()
        if waiting:  # no hand-in at all was graded: the suite itself tells the maximum
            from ..grading.runner import suite_tests
            template = score(Result(suite_tests(), "", 0.0, {}))
        for lost in waiting:
            _finish(tasks[lost], crashed(tasks[lost], template), results_dir, on_result)
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            p.join(2)


def _asks_again(conn) -> bool:
    """Whether a worker that just sent a result already asks for its next hand-in, so that it
    never waits while the parent writes outputs (a death waiting in the pipe instead is seen
    at the next wait)."""
    try:
        return conn.poll() and conn.recv()[0] == "ready"
    except (EOFError, OSError):
        return False


def _finish(task: Task, result: Result, results_dir: Path, on_result) -> None:
    on_result(task, store.save(results_dir, task.student_id, result))


def crashed(task: Task, template: Result) -> Result:
    """A hand-in whose worker died: 0 out of the maximum `template` (any result) shows."""
    reason = "the grader's worker process died while grading this hand-in; grade it again " \
             "with `grader grade` to see why"
    tests = [TestResult(t.name, 0.0, t.max_score, f"Not graded: {reason}",
                        visibility=t.visibility, extra={"test": t.extra.get("test", "")})
             for t in template.tests]
    extra = dict(task.extra, error=reason, grader_version=__version__, lost=True)
    return Result(tests, f"Your hand-in could not be graded: {reason}", 0.0, extra)


class Progress:
    """A live bar on a terminal (done/total, rate, time left); plain log lines otherwise."""

    def __init__(self, total: int, stream=sys.stderr):
        self.stream, self.total, self.done = stream, total, 0
        self.started = time.monotonic()
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="hand-in", file=stream, dynamic_ncols=True)

    def __call__(self, task: Task, result: Result) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            return
        what = result.extra.get("error") or f"{points(result.score)}/{points(result.max_score)}"
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        print(f"[{self.done}/{self.total}] {one_line(task.student_id)}: {one_line(what)} "
              f"({rate:.1f}/s)",
              file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
