"""The API scripts rely on (/api/v1): upload a hand-in, read a submission.

    POST /api/v1/submissions       multipart field `file` (.py or .ipynb) -> 202 {"id": ...}
    GET  /api/v1/submissions       your submissions, oldest first
    GET  /api/v1/submissions/{id}  {"status", "result", "attempt", "graded_at", ...}

Authorization: Bearer TOKEN (`grader token`), or a browser session with `X-CSRF-Token`.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, abort, jsonify, request, url_for

from ...grading.handin import HandinError, load
from ..auth import required, user
from ..grading import filename
from .common import described, mine, service

bp = Blueprint("api", __name__, url_prefix="/api/v1")
KINDS = (".py", ".ipynb")


@bp.post("/submissions")
@required()
def submit():
    who, svc = user(), service()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400, "Send the hand-in as the multipart form field `file`.")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in KINDS:
        abort(400, f"{Path(upload.filename).name}: hand in a .py file or an .ipynb notebook.")
    content = upload.read(svc.upload + 1)
    if len(content) > svc.upload:
        abort(413)  # the app's handler says what a hand-in may weigh
    if svc.store.recent(who.course, who.id, 60) >= svc.rate:
        abort(429, f"You uploaded {svc.rate} times in the last minute, the most this course "
                   "takes; wait a minute and upload again.")
    kind = suffix[1:]
    why = unreadable(content, filename(upload.filename, kind))
    if why:  # kept, answered at once, and no attempt: it cannot be graded at all
        sid = svc.store.add(who, upload.filename, content, status="failed", error=why)
    else:
        sid = svc.store.add(who, upload.filename, content)
        svc.queue.put(sid)
    return jsonify({"id": sid, "url": url_for("api.one", sid=sid)}), 202


def unreadable(content: bytes, name: str) -> str:
    """Why these bytes are no hand-in at all (binary, not UTF-8, no code), read as the grader
    reads them without running anything; "" when they can go to the grader."""
    with tempfile.TemporaryDirectory(prefix="grader-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        try:
            load(path)
        except HandinError as e:
            return str(e)
    return ""


@bp.get("/submissions")
@required()
def listing():
    who = user()
    rows = service().store.history(who.course, who.id)
    return jsonify({"submissions": described(who, rows)})


@bp.get("/submissions/<int:sid>")
@required()
def one(sid: int):
    who = user()
    row = mine(who, sid)
    rows = service().store.history(row["course"], row["student"])
    return jsonify(described(who, rows, sid)[0])
