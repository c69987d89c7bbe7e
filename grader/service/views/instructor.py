"""The instructor's pages: the class live, each student's attempts, every export the batch
writes, and regrading with a preview before anything changes.

The exports are the batch's own (`grader.batch.outputs.write_all`) over each student's counting
attempt: gradebook.csv and report.html always; canvas-import.csv from the Canvas gradebook
export the instructor uploads, moodle-grades.csv from the Moodle grading worksheet.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)

from ...batch import store as batch_store
from ...batch.classroom import Settings
from ...batch.outputs import write_all
from ...report import feedback
from ...results.model import Result
from ..auth import csrf_token, required, user
from ..grading import iso, standing
from .common import mine, result_for, service

bp = Blueprint("instructor", __name__, url_prefix="/instructor")


def roster(course: str) -> list[dict]:
    """Every student of the course (known from tokens, launches, the LMS's roster, or their
    submissions), each with their standing."""
    svc = service()
    rows = svc.store.history(course)
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["student"], []).append(r)
    people = {p["id"]: p["name"] for p in svc.store.people(course)}
    for sid, rs in by.items():
        people.setdefault(sid, rs[-1]["name"])
    out = []
    for sid in sorted(people):
        mine_ = by.get(sid, [])
        now = standing(svc, mine_) if mine_ else None
        out.append({"id": sid, "name": people[sid], "submissions": len(mine_),
                    "attempts": sum(1 for r in mine_ if r["status"] == "done"),
                    "counting": now.counting if now else None,
                    "last": iso(mine_[-1]["created_at"]) if mine_ else None,
                    "last_status": mine_[-1]["status"] if mine_ else None})
    return out


@bp.get("")
@required("instructor")
def home():
    who = user()
    students = roster(who.course)
    return render_template("instructor.html", user=who, csrf=csrf_token(),
                           title=service().course.title, students=students,
                           missing=[s for s in students if not s["submissions"]],
                           queued=sum(s["last_status"] in ("queued", "running")
                                      for s in students))


@bp.get("/students/<path:student>")
@required("instructor")
def history(student: str):
    who = user()
    rows = service().store.history(who.course, student)
    if not rows:
        abort(404, "This student has no submissions.")
    return render_template("history.html", user=who, csrf=csrf_token(), student=student,
                           name=rows[-1]["name"], title=service().course.title,
                           rows=standing(service(), rows).rows, iso=iso)


@bp.get("/submissions/<int:sid>/feedback")
@required("instructor")
def page(sid: int):
    who = user()
    result = result_for(who, mine(who, sid))
    if result is None:
        abort(404, "This submission has no result.")
    return Response(feedback.page(result, f"{service().course.title}: feedback (every test)"),
                    mimetype="text/html")


def counting_results(course: str) -> list[tuple[str, Result]]:
    """Each student's counting attempt's full result, for the class's exports."""
    svc = service()
    picks = [s["counting"] for s in roster(course) if s["counting"]]
    raw = svc.store.results([p["id"] for p in picks])
    return [(p["student"], Result.from_json(json.loads(raw[p["id"]]))) for p in picks]


def exports(course: str, out: Path, roster_csv: Path | None = None,
            worksheet: Path | None = None) -> dict[str, Path]:
    """The batch's output folder for the class as it stands: the files it wrote."""
    svc = service()
    results = out / "results"
    files = [batch_store.write(results, sid, r) for sid, r in counting_results(course)]
    settings = Settings(course=svc.course, published=svc.published, roster=roster_csv,
                        worksheet=worksheet, limits=svc.course.limits)
    column = None
    if roster_csv:
        from ...platforms import canvas
        column = canvas.assignment_column(roster_csv, request.form.get("assignment") or None)
    _, paths, _ = write_all(out, sorted(files), settings, column)
    return paths


EXPORTS = {"gradebook.csv": ("gradebook", "text/csv"), "report.html": ("report", "text/html")}


@bp.get("/export/<name>")
@required("instructor")
def export(name: str):
    if name not in EXPORTS:
        abort(404)
    key, mimetype = EXPORTS[name]
    with tempfile.TemporaryDirectory(prefix="grader-export-") as tmp:
        data = exports(user().course, Path(tmp))[key].read_bytes()
    response = Response(data, mimetype=mimetype)
    if name.endswith(".csv"):
        response.headers["Content-Disposition"] = f"attachment; filename={name}"
    else:  # the report's own inline script and styles, nothing else
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
            "img-src data:; frame-ancestors 'self'")
    return response


@bp.post("/export/<kind>")
@required("instructor")
def export_for(kind: str):
    """canvas-import.csv from the Canvas gradebook export, moodle-grades.csv from the Moodle
    worksheet: the file the instructor uploads here, filled in."""
    field, key, name = {"canvas": ("roster", "canvas", "canvas-import.csv"),
                        "moodle": ("worksheet", "moodle_worksheet", "moodle-grades.csv")
                        }.get(kind, (None, None, None))
    if field is None:
        abort(404)
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        abort(400, f"Choose the {'Canvas gradebook export' if kind == 'canvas' else 'Moodle grading worksheet'} (a .csv file) first.")
    with tempfile.TemporaryDirectory(prefix="grader-export-") as tmp:
        given = Path(tmp) / "given.csv"
        upload.save(given)
        try:
            paths = exports(user().course, Path(tmp) / "out",
                            **({"roster_csv": given} if kind == "canvas" else {"worksheet": given}))
        except ValueError as e:
            abort(400, str(e))
        data = paths[key].read_bytes()
    return Response(data, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


# ------------------------------------------------------------------------------ regrading

@bp.post("/regrade")
@required("instructor")
def regrade():
    """Grade every graded submission of the course again (after the hidden suite or the course
    file changed), keeping the new results apart until the instructor has seen the preview."""
    svc = service()
    course = user().course
    svc.reload_course()
    ids = [r["id"] for r in svc.store.history(course) if r["status"] == "done"]
    run = svc.store.start_regrade(course, ids)
    for sid in ids:
        svc.queue.regrade(run, sid)
    return redirect(url_for("instructor.preview", run=run))


def changes(course: str, run: str) -> tuple[list[dict], int]:
    """Per student: the counting score now and after the regrade; how many are still grading."""
    svc = service()
    rows = svc.store.regrade_rows(run)
    if not rows or rows[0]["course"] != course:
        abort(404)
    new = {r["submission"]: r for r in rows}
    pending = sum(r["status"] in ("queued", "running") for r in rows)
    out = []
    for s in roster(course):
        if not s["counting"]:
            continue
        mine_ = svc.store.history(course, s["id"])
        after = [dict(r, score=new[r["id"]]["score"], max_score=new[r["id"]]["max_score"])
                 if r["id"] in new and new[r["id"]]["status"] == "done" else r for r in mine_]
        then = standing(svc, after).counting
        before = s["counting"]
        out.append({"id": s["id"], "name": s["name"], "before": before["score"],
                    "before_max": before["max_score"], "after": then["score"],
                    "after_max": then["max_score"],
                    "changed": (before["score"], before["max_score"])
                    != (then["score"], then["max_score"]),
                    "failed": [new[r["id"]]["error"] for r in mine_
                               if r["id"] in new and new[r["id"]]["status"] == "failed"]})
    return out, pending


@bp.get("/regrade/<run>")
@required("instructor")
def preview(run: str):
    rows, pending = changes(user().course, run)
    return render_template("regrade.html", user=user(), csrf=csrf_token(), run=run, rows=rows,
                           pending=pending, title=service().course.title,
                           changed=sum(r["changed"] for r in rows))


@bp.post("/regrade/<run>/apply")
@required("instructor")
def apply_run(run: str):
    svc = service()
    rows, pending = changes(user().course, run)
    if pending:
        abort(409, f"{pending} submissions are still being graded again; wait for the preview "
                   "to be complete.")
    svc.store.apply_regrade(run)
    svc.renotify()  # the new counting scores go to the LMS
    return redirect(url_for("instructor.home"))


@bp.post("/regrade/<run>/discard")
@required("instructor")
def discard(run: str):
    changes(user().course, run)
    service().store.drop_regrade(run)
    return redirect(url_for("instructor.home"))
