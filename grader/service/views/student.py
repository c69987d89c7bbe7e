"""The student's pages: upload a hand-in, watch it graded, read the feedback, see past attempts.

A personal link (`/enter#TOKEN`, for a course without an LMS) signs the browser in: the token
travels in the fragment, which browsers never send to a server or put in its logs, and the
page's script posts it once.
"""
from __future__ import annotations

from flask import (Blueprint, Response, abort, jsonify, redirect, render_template, request,
                   send_file, url_for)

from ...report import feedback
from ..auth import csrf_token, login, required, user
from .common import mine, result_for, service

bp = Blueprint("student", __name__)


@bp.get("/student")
@required()
def home():
    svc = service()
    return render_template("student.html", user=user(), csrf=csrf_token(),
                           title=svc.course.title, check=bool(svc.check),
                           rate=svc.rate, limit=svc.upload)


@bp.get("/student/submissions/<int:sid>/feedback")
@required()
def page(sid: int):
    """The feedback page `grader batch` writes, for one submission (shown in a frame)."""
    who = user()
    row = mine(who, sid)
    result = result_for(who, row)
    if result is None:
        abort(404, "This submission has no feedback yet.")
    title = f"{service().course.title}: your feedback"
    return Response(feedback.page(result, title), mimetype="text/html")


@bp.get("/student/check.py")
@required()
def check():
    """The public check, as handed out: students keep running it on their own machine."""
    if not service().check:
        abort(404)
    return send_file(service().check, mimetype="text/x-python", as_attachment=True,
                     download_name="check.py")


@bp.get("/enter")
def enter_page():
    return render_template("enter.html", csrf=csrf_token())


@bp.post("/enter")
def enter():
    token = (request.get_json(silent=True) or {}).get("token", "")
    who = service().store.token_user(token) if token else None
    if who is None:
        abort(401, "This link is not valid (any more); ask your instructor for a new one.")
    login(who)
    return jsonify({"next": url_for("instructor.home" if who.role == "instructor"
                                    else "student.home")})


@bp.post("/logout")
@required()
def logout():
    from flask import session
    session.clear()
    return redirect(url_for("home"))
