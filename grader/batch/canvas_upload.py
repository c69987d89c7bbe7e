"""Canvas: each student's grade and feedback posted to their submission, through `canvasapi`.

The calls (Canvas REST API, as `canvasapi` makes them):

* ``GET /api/v1/courses/:course_id`` and ``GET /api/v1/courses/:course_id/assignments/:id``
  (the assignment's ``points_possible``: grades are posted in its points);
* ``GET /api/v1/courses/:course_id/assignments/:id/submissions`` with
  ``include[]=submission_comments`` and ``include[]=user``, page by page along the ``Link``
  headers: each student's current score and comments, and their SIS ids;
* ``PUT /api/v1/courses/:course_id/assignments/:id/submissions/:user_id`` with
  ``submission[posted_grade]`` and ``comment[text_comment]`` (and ``comment[file_ids][]``);
* for the feedback page as an attachment, Canvas's file upload: ``POST .../submissions/:user_id/
  comments/files`` (name, size) answers an ``upload_url`` and ``upload_params``, the file is POSTed
  there, and its ``id`` goes in the comment.

The comment is the feedback's short summary (`feedback.summary`: the score, each
misconception once, the failed tests by name; under 2,000 characters), with the full page
attached unless ``--no-attach-page``.

Every comment ends with a marker holding a hash of its text and grade, so a second run finds
its own comment among the submission's comments and posts nothing twice; a re-graded hand-in
gets a new comment, because its text changed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..report import feedback
from ..results.model import points as shown
from . import store

MARK = "backprop-grader feedback"


@dataclass
class Change:
    student: str
    name: str
    submission: object
    grade: str | None        # posted_grade to set; None when Canvas has it already
    comment: str | None      # comment to post; None when already posted
    page: Path | None = None


@dataclass
class Plan:
    assignment: str
    points: float
    changes: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def marker(text: str, grade: str) -> str:
    digest = hashlib.sha256(f"{grade}\n{text}".encode()).hexdigest()[:16]
    return f"[{MARK} {digest}]"


def _grade(score: float, out_of: float, points: float) -> str:
    value = min(score / out_of * points, points) if out_of and points else score
    return shown(value)


def plan(out: Path, url: str, token: str, course_id: str, assignment_id: str,
         attach: bool = True, for_students=lambda r: r) -> Plan:
    """What posting OUT's results would change in Canvas, found without changing anything.

    `for_students` gives what a student may see of a result (`grader.course.visibility`)."""
    from canvasapi import Canvas

    course = Canvas(url.rstrip("/"), token).get_course(course_id)
    assignment = course.get_assignment(assignment_id)
    points = float(getattr(assignment, "points_possible", 0) or 0)
    by_id = {}
    for sub in assignment.get_submissions(include=["submission_comments", "user"]):
        user = getattr(sub, "user", {}) or {}
        for key in (sub.user_id, user.get("sis_user_id"), user.get("login_id")):
            if key not in (None, ""):
                by_id.setdefault(str(key), sub)
    result = Plan(getattr(assignment, "name", str(assignment_id)), points)
    for path in store.result_files(Path(out) / "results"):
        r = store.read(path)
        if r is None:
            continue
        sid = str(r.extra.get("student", {}).get("id", path.stem))
        name = str(r.extra.get("student", {}).get("name", ""))
        sub = by_id.get(sid)
        if sub is None:
            result.unknown.append(sid)
            continue
        grade = _grade(r.score, r.max_score, points)
        text = feedback.summary(for_students(r), page=f"{path.stem}.html" if attach else None)
        mark = marker(text, grade)
        posted = any(mark in (c.get("comment") or "")
                     for c in getattr(sub, "submission_comments", None) or [])
        current = getattr(sub, "score", None)
        same_grade = current is not None and abs(float(current) - float(grade)) < 0.005
        if same_grade and posted:
            result.unchanged.append(sid)
            continue
        page = Path(out) / "feedback" / (path.stem + ".html") if attach else None
        result.changes.append(Change(sid, name, sub, None if same_grade else grade,
                                     None if posted else f"{text}\n{mark}", page))
    return result


def describe(p: Plan) -> str:
    """What `apply` will do, one line per student, before anything is changed."""
    lines = [f"Canvas assignment \"{p.assignment}\" ({p.points:g} points):"]
    for c in p.changes:
        what = []
        if c.grade is not None:
            what.append(f"grade {c.grade} / {p.points:g}")
        if c.comment is not None:
            what.append(f"feedback comment ({len(c.comment)} characters"
                        + (", page attached)" if c.page else ")"))
        lines.append(f"  {c.student} {c.name}: post {' and '.join(what)}")
    if p.unchanged:
        lines.append(f"  {len(p.unchanged)} student(s) already have this grade and feedback: "
                     "nothing to post.")
    if p.unknown:
        lines.append(f"  {len(p.unknown)} graded student(s) not found in this assignment "
                     f"(skipped): {', '.join(p.unknown[:10])}" + (" ..." if len(p.unknown) > 10
                                                                 else ""))
    if not p.changes:
        lines.append("Nothing to change.")
    return "\n".join(lines)


def apply(p: Plan):
    """Post the planned changes; yields one line per student saying what was done."""
    from canvasapi.exceptions import CanvasException
    from canvasapi.upload import Uploader

    for c in p.changes:
        sub = c.submission
        kwargs = {}
        if c.grade is not None:
            kwargs["submission"] = {"posted_grade": c.grade}
        try:
            if c.comment is not None:
                kwargs["comment"] = {"text_comment": c.comment}
                if c.page is not None:
                    ok, info = Uploader(sub._requester, f"courses/{sub.course_id}/assignments/"
                                        f"{sub.assignment_id}/submissions/{sub.user_id}/"
                                        "comments/files", str(c.page)).start()
                    if not ok:
                        raise CanvasException(f"the feedback page did not upload: {info}")
                    kwargs["comment"]["file_ids"] = [info["id"]]
            sub.edit(**kwargs)
        except (CanvasException, OSError, ValueError) as e:
            yield f"{c.student}: not changed: {e}"
            continue
        done = []
        if c.grade is not None:
            done.append(f"grade {c.grade} posted")
        if c.comment is not None:
            done.append("feedback comment posted" + (" with the page" if c.page else ""))
        yield f"{c.student}: {', '.join(done)}"
