"""The queue between uploads and graders.

* In-process (the embedded default): `LocalQueue` keeps the ids of queued submissions in
  memory and N threads, each driving one warm grading process (the batch's worker: one pytest
  session, reused from hand-in to hand-in). The database is the truth: on start every
  submission still queued, or running when the service stopped, is queued again.
* RQ on Redis (`--queue redis://...`): `RedisQueue` enqueues a job per submission id;
  `grader worker` processes on any machine take jobs (`work`), grade them with their own warm
  process, and write results to the database. The web process never grades.

Either way a grader first *claims* the submission in the database (store.claim), so a job that
is delivered twice (a restart re-enqueued it) is graded once. While it grades, the claim is
refreshed every few seconds; a claim left stale (its `grader worker` was killed) is released by
whoever sweeps next, and the submission is graded again, or failed after a second death.
"""
from __future__ import annotations

import logging
import queue as stdlib_queue
import threading
import time

from .grading import grade_submission, notify, regrade_submission
from .warm import HEARTBEAT, Warm, timeout, warm_for

log = logging.getLogger("grader.service")

LEASE = 30.0      # a claim not refreshed for this long belongs to a grader that is gone


class LocalQueue:
    """Submissions graded in this process's threads, one warm grading process each."""

    def __init__(self, service, jobs: int):
        self.service, self.jobs = service, max(1, jobs)
        self.ids: stdlib_queue.PriorityQueue = stdlib_queue.PriorityQueue()
        self.threads: list[threading.Thread] = []
        self.warm: list[Warm] = []
        self.graded: stdlib_queue.Queue = stdlib_queue.Queue()  # to notify, off the graders

    def put(self, sid: int, priority: int = 0) -> None:
        self.ids.put((priority, sid))

    def recover(self) -> None:
        """Queue again what a stopped service left: nobody else grades, so a running row's
        grader stopped with the service."""
        store = self.service.store
        store.unclaim_all()
        for sid in store.waiting():
            self.put(sid)

    def start(self) -> None:
        for i in range(self.jobs):
            warm = warm_for(self.service)
            warm.start()  # warm before the first upload
            self.warm.append(warm)
            t = threading.Thread(target=self._loop, args=(warm,), daemon=True,
                                 name=f"grader-{i}")
            t.start()
            self.threads.append(t)
        self.notifier = threading.Thread(target=self._notify, daemon=True, name="notifier")
        self.notifier.start()

    def _notify(self) -> None:
        while (sid := self.graded.get()) is not None:
            try:
                notify(self.service, sid)
            except Exception:  # told again after a restart
                log.exception("notifying submission %s", sid)

    def _loop(self, warm: Warm) -> None:
        while True:
            _, sid = self.ids.get()
            if sid is None:
                return
            try:
                if isinstance(sid, tuple):
                    regrade_submission(self.service, warm, *sid)
                elif grade_submission(self.service, warm, sid, self.graded.put) == "queued":
                    self.put(sid)  # its grader died once: once more
            except Exception:  # the database went away: the row stays queued or running
                log.exception("grading submission %s", sid)

    def regrade(self, run: str, sid: int) -> None:
        self.ids.put((1, (run, sid)))  # after every student's upload

    def stop(self) -> None:
        for _ in self.threads:
            self.ids.put((2, None))
        for t in self.threads:
            t.join(5)
        self.graded.put(None)
        if getattr(self, "notifier", None):
            self.notifier.join(5)
        for w in self.warm:
            w.stop()


class RedisQueue:
    """Jobs on an RQ queue; graded by `grader worker` processes (`work`)."""

    NAME, REGRADES = "grader", "grader-regrades"

    def __init__(self, service, url: str):
        from redis import Redis
        from rq import Queue

        self.service = service
        self.redis = Redis.from_url(url)
        self.queue = Queue(self.NAME, connection=self.redis)
        self.regrades = Queue(self.REGRADES, connection=self.redis)
        self.sweeper: threading.Thread | None = None

    def put(self, sid: int, priority: int = 0) -> None:
        self.queue.enqueue(job, sid, result_ttl=0, failure_ttl=86400,
                           job_timeout=timeout(self.service.course.limits) + 60)

    def regrade(self, run: str, sid: int) -> None:
        self.regrades.enqueue(regrade_job, run, sid, result_ttl=0, failure_ttl=86400,
                              job_timeout=timeout(self.service.course.limits) + 60)

    def recover(self) -> None:
        for sid in self.service.store.waiting():
            self.put(sid)

    def start(self) -> None:
        self.sweeper = threading.Thread(target=self._sweep, daemon=True, name="sweeper")
        self.sweeper.start()

    def _sweep(self) -> None:
        while True:
            try:
                sweep(self.service, self)
            except Exception:
                log.exception("sweeping claims")
            time.sleep(HEARTBEAT)

    def stop(self) -> None:
        pass


def sweep(service, q) -> None:
    """Release the claims of graders that are gone; re-enqueue what no job carries."""
    store = service.store
    for sid, claim in store.stale(time.time() - LEASE):
        if store.release(sid, claim, died=True) == "queued":
            log.warning("submission %s: its grader stopped answering; queued again", sid)
            q.put(sid)
    if isinstance(q, RedisQueue) and q.queue.count == 0:
        old = [sid for sid in store.waiting()]
        for sid in old:  # queued, yet no job waits: the web process died before enqueueing
            row = store.get(sid)
            if row and row["created_at"] < time.time() - LEASE:
                q.put(sid)


# ---------------------------------------------------------------------- `grader worker`

_worker_state: dict = {}


def job(sid: int) -> None:
    """An RQ job: grade one submission in this worker's warm process."""
    service, warm = _worker_state["service"], _worker_state["warm"]
    if grade_submission(service, warm, sid) == "queued":
        service.queue.put(sid)


def regrade_job(run: str, sid: int) -> None:
    service = _worker_state["service"]
    service.reload_course()  # a regrade follows a change to it
    regrade_submission(service, _worker_state["warm"], run, sid)


def work(service, burst: bool = False) -> None:
    """`grader worker`: take jobs from Redis until stopped (or, with `burst`, until none is
    left), grading them with one warm process."""
    from rq import SimpleWorker

    if not isinstance(service.queue, RedisQueue):
        raise ValueError("`grader worker` needs --queue redis://...: with the embedded queue "
                         "the service grades in its own process")
    warm = warm_for(service)
    warm.start()
    _worker_state.update(service=service, warm=warm)
    service.queue.start()  # sweeps the claims of workers that died
    worker = SimpleWorker([service.queue.queue, service.queue.regrades],
                          connection=service.queue.redis)
    try:
        worker.work(burst=burst, with_scheduler=False, logging_level="WARNING")
    finally:
        warm.stop()
