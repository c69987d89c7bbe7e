"""Grade many hand-ins in parallel: N worker processes, each one warm pytest session.

Workers pull jobs from a shared queue (so a slow hand-in never holds up the rest) and send each
result back as soon as it is done; the parent writes it to disk at once. A worker that dies
costs only the hand-in it was grading, which is recorded as not graded.
"""
from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import __version__
from ..results import Result, TestResult
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


def _worker(tasks, results, limits: Limits) -> None:
    from ..runner import Job, run

    def jobs():
        while True:
            item = tasks.get()
            if item is None:
                return
            index, task = item
            results.put(("start", os.getpid(), index))
            yield Job(task.path, dict(task.extra, _index=index))

    def emit(job, result):
        index = job.extra.pop("_index")
        result.extra.pop("_index", None)
        results.put(("done", os.getpid(), index, result.to_json()))

    run(jobs(), emit, limits)


def grade_all(tasks: list[Task], results_dir: Path, jobs: int, limits: Limits,
              on_result: Callable[[Task, Result], None]) -> None:
    """Grade `tasks` with `jobs` workers; write and report each result as it arrives."""
    if not tasks:
        return
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    if ctx.get_start_method() == "fork":
        from .. import runner  # noqa: F401  (imported once here, pytest included: workers
        #                        forked below, and any started after one dies, inherit it)
    todo, back = ctx.Queue(), ctx.Queue()
    for i, task in enumerate(tasks):
        todo.put((i, task))
    workers = {}

    def start_worker():
        todo.put(None)  # each worker stops at its own sentinel
        p = ctx.Process(target=_worker, args=(todo, back, limits), daemon=True)
        p.start()
        workers[p.pid] = p

    for _ in range(max(1, min(jobs, len(tasks)))):
        start_worker()
    in_flight: dict[int, int] = {}
    remaining = set(range(len(tasks)))
    template = None  # any graded result: the test list a lost hand-in is scored 0 on
    try:
        while remaining:
            try:
                msg = back.get(timeout=0.5)
            except Exception:  # queue.Empty: look after dead workers
                msg = None
            if msg is None:
                for pid, p in list(workers.items()):
                    if not p.is_alive():
                        del workers[pid]
                        lost = in_flight.pop(pid, None)
                        if lost is not None and lost in remaining:
                            remaining.discard(lost)
                            _finish(tasks[lost], crashed(tasks[lost], template), results_dir,
                                    on_result)
                        if remaining:
                            start_worker()
                continue
            if msg[0] == "start":
                in_flight[msg[1]] = msg[2]
            else:
                _, pid, index, data = msg
                in_flight.pop(pid, None)
                if index in remaining:
                    remaining.discard(index)
                    result = Result.from_json(data)
                    template = template or result
                    _finish(tasks[index], result, results_dir, on_result)
    finally:
        for p in workers.values():
            p.terminate()
        for p in workers.values():
            p.join(2)


def _finish(task: Task, result: Result, results_dir: Path, on_result) -> None:
    store.write(results_dir, task.student_id, result)
    on_result(task, result)


def crashed(task: Task, template: Result | None) -> Result:
    reason = "the grader's worker process died while grading this hand-in; grade it again " \
             "with `grader grade` to see why"
    tests = [TestResult(t.name, 0.0, t.max_score, f"Not graded: {reason}")
             for t in (template.tests if template else [])]
    extra = dict(task.extra, error=reason, grader_version=__version__)
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
        what = result.extra.get("error") or f"{result.score:g}/{result.max_score:g}"
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        print(f"[{self.done}/{self.total}] {task.student_id}: {what} ({rate:.1f}/s)",
              file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
