"""What the views share: the submission as its reader may see it."""
from __future__ import annotations

import json

from flask import abort, current_app

from ...course.visibility import for_students
from ...results.model import Result
from ..grading import iso, standing
from ..store import User

# What a student sees of a result's extra_data: who, lateness, what was graded, why not.
STUDENT_EXTRA = ("student", "late", "handin", "error")


def service():
    return current_app.config["SERVICE"]


def mine(who: User, sid: int) -> dict:
    """The submission `sid` if `who` may read it (their own; any of their course's for an
    instructor), else 404: another's id reads as one that does not exist."""
    row = service().store.get(sid)
    if row is None or row["course"] != who.course or (
            who.role != "instructor" and row["student"] != who.id):
        abort(404)
    return row


def result_for(who: User, row: dict) -> Result | None:
    """The row's result as `who` may see it: a student gets tests not yet due to show folded
    into one line (`grader.course.visibility`) and none of the grader's own details."""
    raw = service().store.results([row["id"]]).get(row["id"])
    if raw is None or row["status"] != "done":
        return None
    result = Result.from_json(json.loads(raw))
    if who.role == "instructor":
        return result
    course = service().course
    from ...course import attempts
    due = attempts.due(course.submissions, course.due, row["student"])
    view = for_students(result, due, service().published)
    view.extra = {k: v for k, v in view.extra.items() if k in STUDENT_EXTRA}
    return view


def described(who: User, rows: list[dict], sid: int | None = None) -> list[dict]:
    """Submissions as the API gives them: with their attempt numbers and verdicts; the result
    only for `sid` (one submission asked for by id)."""
    out = []
    for r in standing(service(), rows).rows:
        if sid is not None and r["id"] != sid:
            continue
        v = r.get("verdict")
        d = {"id": r["id"], "status": r["status"], "attempt": v.number if v else None,
             "counts": v.counts if v else None, "verdict": v.reason if v else None,
             "filename": r["filename"], "submitted_at": iso(r["created_at"]),
             "graded_at": iso(r["graded_at"]) if r["status"] in ("done", "failed") else None,
             "score": r["score"] if r["status"] == "done" else None,
             "max_score": r["max_score"] if r["status"] == "done" else None}
        if r["status"] == "failed":
            d["error"] = r["error"]
        if sid is not None:
            result = result_for(who, r)
            d["result"] = None
            if result is not None:
                d["result"] = result.to_json()
                d["result"]["max_score"] = result.max_score
        out.append(d)
    return out
