"""One submission graded: the batch's task for it, its grading in a warm process, its result
scored by the course file, stored once, then the after-graded hook with the counting score.

Also what every view shows of a student's attempts: their numbers and whether each counts
(`grader.course.attempts`, the course file's `[submissions]` table), and the score that counts.
"""
from __future__ import annotations

import logging
import re
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..batch import store as batch_store
from ..batch.run import Task
from ..course import attempts
from ..course import late as late_rules
from ..course.scoring import apply
from ..results.model import Result
from ..sandbox import leftovers
from . import hooks
from .warm import HEARTBEAT, timeout

log = logging.getLogger("grader.service")


def when(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc)


def iso(t: float | None) -> str | None:
    return None if t is None else when(t).isoformat(timespec="seconds").replace("+00:00", "Z")


def filename(name: str, kind: str) -> str:
    """The uploaded file's name as graded: its base name made safe, its kind kept."""
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(name).stem).strip("._")[:80] or "engine"
    return f"{base}.{kind}"


def task(service, row: dict, path: Path) -> Task:
    """The batch's task for a submission: the same extra a `grader batch` hand-in carries."""
    course = service.course
    student = {"id": row["student"], "name": row["name"], "source": "service",
               "submission": row["id"]}
    extra = {"student": student, "content_sha256": row["sha256"], **batch_store.inputs(),
             "imports": list(service.isolation.imports)}
    due = attempts.due(course.submissions, course.due, row["student"])
    if due:
        extra["late"] = late_rules.assess(late_rules.parse_policy(course.late_penalty),
                                          submitted_at=when(row["created_at"]), due=due,
                                          flag_days=course.flag_late_days)
    return Task(row["student"], path, extra)


def grade(service, warm, row: dict) -> Result | None:
    """Grade a stored submission's bytes in `warm`; None if its grading process died."""
    with tempfile.TemporaryDirectory(prefix=leftovers.prefix("grader-serve-")) as tmp:
        kind = "ipynb" if row["filename"].lower().endswith(".ipynb") else "py"
        path = Path(tmp) / filename(row["filename"], kind)
        path.write_bytes(row["content"])
        result = warm.grade(task(service, row, path), timeout(service.course.limits))
    return None if result is None else apply(result, service.course)


def stored(result: Result) -> dict:
    d = result.to_json()
    d["max_score"] = result.max_score
    return d


class _Heartbeat:
    """Refresh a claim while its hand-in is graded, so sweepers know its grader lives."""

    def __init__(self, store, sid: int, claim: str):
        self.store, self.sid, self.claim = store, sid, claim
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self):
        while not self.done.wait(HEARTBEAT):
            try:
                self.store.refresh(self.sid, self.claim)
            except Exception:
                pass  # the next beat tries again; a sweeper may take the row meanwhile

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def grade_submission(service, warm, sid: int, then=None) -> str:
    """Claim, grade and store one submission; what became of it: "done", "failed", "queued"
    (its grader died: grade it again), or "" (someone else holds or finished it). A graded
    one is then notified (`then(sid)`, by default `notify` here and now)."""
    store = service.store
    claim = store.claim(sid)
    if claim is None:
        return ""
    row = store.get(sid, content=True)
    with _Heartbeat(store, sid, claim):
        result = grade(service, warm, row)
    if result is None:
        return store.release(sid, claim, died=True)
    error = result.extra.get("error")
    if not store.finish(sid, claim, stored(result), error):
        return ""
    if error:
        return "failed"
    (then or (lambda sid: notify(service, sid)))(sid)
    return "done"


def notify(service, sid: int) -> None:
    """Tell the hook (the LMS's gradebook) the student's counting score after a graded attempt."""
    row = service.store.get(sid)
    mine = service.store.history(row["course"], row["student"])
    now = standing(service, mine)
    if now.counting is not None:
        try:
            hooks.after_graded(service, student=row["student"], course=row["course"],
                               score=now.counting["score"], maximum=now.counting["max_score"],
                               at=when(row["graded_at"]), submission=sid)
        except Exception:  # told again after a restart
            log.exception("after_graded for submission %s", sid)
            return
    service.store.mark_notified(sid)


@dataclass
class Standing:
    rows: list[dict]            # every submission, oldest first, each with its `verdict`
    counting: dict | None       # the row whose score is the student's


def standing(service, rows: list[dict]) -> Standing:
    """A student's submissions with their attempt numbers and verdicts, and the one that
    counts. Only graded ones are attempts; queued, running and failed ones have no number."""
    policy = service.course.submissions
    rows = sorted(rows, key=lambda r: (r["created_at"], r["id"]))
    graded = [r for r in rows if r["status"] == "done"]
    for r, v in zip(graded, attempts.verdicts(policy, [when(r["created_at"]) for r in graded])):
        r["verdict"] = v
    i = attempts.counting(policy, [(when(r["created_at"]), r["score"]) for r in graded])
    return Standing(rows, None if i is None else graded[i])


def regrade_submission(service, warm, run: str, sid: int) -> None:
    """Grade a submission again for a regrade run, keeping the result apart (`store.regrades`)
    until the instructor applies the run."""
    store = service.store
    if not store.regrade_claim(run, sid):
        return
    row = store.get(sid, content=True)
    result = grade(service, warm, row)
    if result is None:
        store.regrade_done(run, sid, None, "the grader's worker process died while "
                           "grading it again")
    else:
        store.regrade_done(run, sid, stored(result), result.extra.get("error"))

