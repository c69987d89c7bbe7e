"""One warm grading process (the batch's worker: one pytest session, reused from hand-in to
hand-in), given one submission at a time, and how long a submission may take in it."""
from __future__ import annotations

import multiprocessing as mp

from ..batch import run as batch_run
from ..checking.instance import Instances
from ..results.model import Result
from ..sandbox.isolation import Isolation
from ..sandbox.limits import Limits

HEARTBEAT = 5.0   # seconds between refreshes of a claim while its hand-in is graded


class Warm:
    """One warm grading process, given one hand-in at a time; it is started again when it
    dies. `grade` returns None when the process died (or hung) while grading."""

    def __init__(self, limits: Limits, isolation: Isolation, instances: Instances = Instances(),
                 visibility: dict[str, str] | None = None):
        self.limits, self.isolation, self.visibility = limits, isolation, visibility
        self.instances = instances
        self.ctx = mp.get_context("forkserver")  # a clean, single-threaded parent to fork from
        self.ctx.set_forkserver_preload(["grader.grading.runner"])  # pytest imported once, there
        self.proc = self.conn = None
        self.ready = False

    def start(self) -> None:
        mine, theirs = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=batch_run._worker,
                                     args=(theirs, self.limits, self.isolation,
                                           self.instances, self.visibility), daemon=True)
        self.proc.start()
        theirs.close()
        self.conn, self.ready = mine, False

    def grade(self, task: batch_run.Task, timeout: float) -> Result | None:
        for _ in range(2):  # a process that died between hand-ins is started again once
            if self.proc is None or not self.proc.is_alive():
                self.stop()
                self.start()
            try:
                if not self.ready:
                    if not self.conn.poll(120) or self.conn.recv()[0] != "ready":
                        raise EOFError
                self.conn.send(task)
                self.ready = False
                break
            except (EOFError, OSError):
                self.stop()
        else:
            return None
        try:
            if not self.conn.poll(timeout):
                raise EOFError  # hung past every limit of its own: kill it
            msg = self.conn.recv()
        except (EOFError, OSError):
            self.stop()
            return None
        return Result.from_json(msg[1])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join(5)
        if self.conn is not None:
            self.conn.close()
        self.proc = self.conn = None
        self.ready = False


def warm_for(service) -> Warm:
    """A grading process for the service's course: its limits, imports, the values each hand-in
    is graded on (its own instance, drawn from the course's secret: the same file gets the same
    score whoever submits it) and the order its tests run in (those students see first,
    `grader.course.visibility.shown_first`)."""
    from ..course.scoring import visibilities
    return Warm(service.course.limits, service.isolation, service.course.instances(),
                visibilities(service.course))


def timeout(limits: Limits) -> float:
    """How long one hand-in may take in its grading process, past every limit of its own."""
    return limits.handin_seconds + 4 * limits.cell_seconds + 30
