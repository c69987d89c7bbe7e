"""LTI in `grader serve`: the blueprint on the service's app, its hook, its roster.

The service grades one assignment, the course file's; Deep Linking offers it. A launch signs
in through the service's own `auth.login` (its session, its CSRF token, its list of people);
an instructor's launch brings the platform's roster into that list (in the background); after every graded
attempt the hook publishes the counting score.
"""
from __future__ import annotations

from datetime import datetime, timezone

from . import Assignment, Lti, init_app, keys, scores, store

ASSIGNMENT_ID = "assignment"
KEY_SETTING = "lti_key"
_created: set[int] = set()


def tool_key(service, make: bool = True) -> keys.ToolKey | None:
    """The tool's key: in the data dir; with no data dir (`--db` alone), in the database,
    which every process of the service then shares. `make`: made if missing (the web
    process); else None if missing (a grading worker)."""
    if service.data is not None:
        return keys.load_or_make(service.data) if make else keys.load(service.data)
    pem = (service.store.setting(KEY_SETTING, keys.new_pem) if make
           else service.store.get_setting(KEY_SETTING))
    return keys.from_pem(pem) if pem else None


def assignments(service) -> list[Assignment]:
    from ...course.file import suite
    from ...course.scoring import plan

    course = service.course
    points = course.points
    if points <= 0:   # the tests' own weights: their sum, each case of a test counted
        weights = plan(course)
        points = sum(weights[f"test_{t.group}::{t.name}"][0] * t.cases for t in suite())
    return [Assignment(ASSIGNMENT_ID, course.title, float(points))]


def install(app, service) -> Lti:
    """Offer LTI on `app`: the tables and the tool's key made if missing, the blueprint, and
    pending scores retried every 15 seconds until the service closes."""
    from ..auth import login
    from ..store import User

    def sign_in(user: dict) -> None:
        login(User(user["id"], user["name"], user["role"], user["course"]))

    def roster_seen(course: str, people: list[dict]) -> None:
        for p in people:
            service.store.see(User(p["id"], p["name"], "student", course))

    lti = init_app(app, service.store.engine, tool_key(service), lambda: assignments(service),
                   student_page="student.home", instructor_page="instructor.home",
                   title=service.course.title, sign_in=sign_in, roster_seen=roster_seen)
    stop = scores.keep_publishing(lti)
    service.closing.append(stop.set)
    return lti


def after_graded(service, *, student, course, score, maximum, at, submission) -> str | None:
    """The service's hook: the counting score to the platform, for a student who came by LTI.
    In a grading worker without the data dir's key, it is kept for the web process."""
    engine = service.store.engine
    if id(engine) not in _created:   # a worker may start before any web process made them
        store.create(engine)
        _created.add(id(engine))
    if store.row(engine, store.members, student=student, course=course) is None:
        return None
    key = tool_key(service, make=False)
    if key is not None:
        store.add_tool_key(engine, key.jwk)
    lti = Lti(engine=engine, key=key, assignments=lambda: [])
    allowed = service.course.submissions.attempts
    graded = sum(1 for r in service.store.history(course, student) if r["status"] == "done")
    # the score's time is now, when it was worked out, not `at`: after a regrade the same
    # attempt's new score must be newer than its first, or the platform keeps the first
    return scores.after_graded(lti, student=student, course=course, score=score,
                               max_score=maximum, graded_at=datetime.now(timezone.utc),
                               submission=submission,
                               attempts_left=max(0, allowed - graded) if allowed else None)
