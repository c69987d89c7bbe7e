"""Assignment and Grade Services 2.0: the counting score goes to the platform's gradebook.

After every graded attempt of a student who came by LTI, `record` keeps the score to publish
(durably: an LMS that is down loses nothing) and `publish` sends what is pending:
- the line item is the one the launch named (Deep Linking made it), else the one of this
  resource link found among the context's line items, else one made now;
- `scoreGiven / scoreMaximum` is the counting score over the assignment's maximum;
- `activityProgress` is `Submitted` while the student may submit again and `Completed` once no
  attempt is left; `gradingProgress` is `FullyGraded`, since the grader's result is final;
- `timestamp` is when the counting score was worked out (a regrade's is newer than the
  attempt's grading), with sub-second precision: the platform keeps the latest, so scores
  sent out of order never roll a grade back.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timezone

from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.service_connector import ServiceConnector
from sqlalchemy import insert, select, update

from . import Lti, PlatformSession, store
from .tool import ToolConf

log = logging.getLogger(__name__)
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINE_ITEM_TAG = "backprop-grader"


def after_graded(lti: Lti, *, student: str, course: str, score: float, max_score: float,
                 graded_at, submission, attempts_left: int | None = None) -> str | None:
    """Record and publish a graded attempt's counting score; None if the student did not come
    by LTI, else "sent" or the reason it is still pending (`publish_pending` sends it)."""
    if not record(lti, student=student, course=course, score=score, max_score=max_score,
                  graded_at=graded_at, submission=submission, attempts_left=attempts_left):
        return None
    if lti.key is None:
        return "kept for the web process, which holds the tool's key"
    return publish(lti, student, course)


def record(lti: Lti, *, student, course, score, max_score, graded_at, submission,
           attempts_left=None) -> bool:
    """Keep the score to publish, unless it says what the last one kept said already (the
    service tells its hook again after a restart)."""
    if store.row(lti.engine, store.members, student=student, course=course) is None:
        return False
    values = dict(score=float(score), max_score=float(max_score),
                  activity="Completed" if attempts_left == 0 else "Submitted")
    with lti.engine.begin() as db:
        last = db.execute(select(store.scores).where(
            store.scores.c.student == student, store.scores.c.course == course)
            .order_by(store.scores.c.id.desc())).first()
        if last is None or any(getattr(last, k) != v for k, v in values.items()):
            db.execute(insert(store.scores).values(
                student=student, course=course, submission=str(submission),
                graded_at=timestamp(graded_at), **values))
    return True


def timestamp(when) -> str:
    """ISO 8601 in UTC with milliseconds, from a datetime, epoch seconds or ISO text."""
    if isinstance(when, (int, float)):
        when = datetime.fromtimestamp(when, timezone.utc)
    elif isinstance(when, str):
        when = datetime.fromisoformat(when.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def publish(lti: Lti, student: str, course: str) -> str:
    """Send the latest pending score of `student` in `course`; older pending ones it
    supersedes are marked sent with it. "sent", or why not (kept for the next try)."""
    engine = lti.engine
    with engine.connect() as db:
        pending = db.execute(select(store.scores).where(
            store.scores.c.student == student, store.scores.c.course == course,
            store.scores.c.sent_at.is_(None)).order_by(store.scores.c.id.desc())).first()
    if pending is None:
        return "sent"
    try:
        _send(lti, pending)
    except Exception as e:  # the platform's answer or its absence: kept, said, retried later
        why = _reason(e)
        log.warning("AGS score for submission %s not published: %s", pending.submission, why)
        with engine.begin() as db:
            db.execute(update(store.scores).where(store.scores.c.id == pending.id)
                       .values(error=why))
        return why
    with engine.begin() as db:
        db.execute(update(store.scores).where(
            store.scores.c.student == student, store.scores.c.course == course,
            store.scores.c.id <= pending.id, store.scores.c.sent_at.is_(None))
            .values(sent_at=time.time(), error=None))
    return "sent"


def publish_pending(lti: Lti) -> dict:
    """Retry every student's pending score (after an LMS outage); {(student, course): outcome}."""
    with lti.engine.connect() as db:
        who = db.execute(select(store.scores.c.student, store.scores.c.course)
                         .where(store.scores.c.sent_at.is_(None)).distinct()).all()
    return {(s, c): publish(lti, s, c) for s, c in who}


def keep_publishing(lti: Lti, every: float = 15.0) -> threading.Event:
    """Retry pending scores now and every `every` seconds, in a daemon thread, until the
    returned event is set: an LMS back from an outage gets every score it missed."""
    stop = threading.Event()

    def loop():
        while True:
            try:
                publish_pending(lti)
            except Exception:   # a database that is briefly locked: next round
                log.exception("publishing pending LTI scores")
            if stop.wait(every):
                return

    threading.Thread(target=loop, name="lti-scores", daemon=True).start()
    return stop


def _send(lti: Lti, pending) -> None:
    member = store.row(lti.engine, store.members, student=pending.student,
                       course=pending.course)
    link = store.row(lti.engine, store.links, platform_id=member["platform_id"],
                     resource_link_id=member["resource_link_id"])
    ags = json.loads(link["ags"]) if link else {}
    if SCORE_SCOPE not in ags.get("scope", []):
        raise LookupError("the platform did not grant this activity the AGS score scope")
    platform = store.platform_by_id(lti.engine, member["platform_id"])
    registration = ToolConf(lti.engine, lti.key).registration(platform)
    service = AssignmentsGradesService(ServiceConnector(registration, PlatformSession()), ags)
    lineitem = link["lineitem"] or _line_item(lti, service, link, pending.max_score)
    grade = (Grade().set_user_id(member["sub"]).set_score_given(pending.score)
             .set_score_maximum(pending.max_score).set_timestamp(pending.graded_at)
             .set_activity_progress(pending.activity).set_grading_progress("FullyGraded")
             .set_comment(f"Autograder: {pending.score:g}/{pending.max_score:g}, "
                          f"submission {pending.submission}."))
    service.put_grade(grade, LineItem({"id": lineitem}))


def _line_item(lti: Lti, service, link, max_score: float) -> str:
    """This link's line item in the context, found or made; kept for the next scores."""
    wanted = (LineItem().set_label(link["title"]).set_score_maximum(max_score)
              .set_resource_id(link["assignment"]).set_tag(LINE_ITEM_TAG)
              .set_resource_link_id(link["resource_link_id"]))
    found = service.find_or_create_lineitem(wanted, find_by="resource_link_id")
    url = found.get_id()
    if not url:
        raise LookupError("the platform's line item has no id")
    store.update_row(lti.engine, store.links, {"platform_id": link["platform_id"],
                                               "resource_link_id": link["resource_link_id"]},
                     {"lineitem": url})
    return url


def _reason(e: Exception) -> str:
    response = getattr(e, "response", None)
    if response is not None and hasattr(response, "status_code"):
        return f"the platform answered HTTP {response.status_code} to {response.url}"
    return str(e) or type(e).__name__
