"""Hook points of the submission service: plain functions it calls, for integrations to fill.

`after_graded` runs once a graded attempt is stored, with the student's counting score (the
attempt the course's `[submissions]` policy picks, best or last). It is where the score goes
back to the LMS (LTI Assignment and Grade Services). It runs at least once per graded attempt:
the service marks the attempt notified only after it returns, and calls it again after a
restart for attempts it had not finished notifying, so it must be idempotent (publishing the
same score twice changes nothing). An exception it raises is logged and retried on restart.
"""
from __future__ import annotations

from datetime import datetime


def after_graded(service, *, student: str, course: str, score: float, maximum: float,
                 at: datetime, submission: int) -> None:
    """The student `student` of `course` now has `score` out of `maximum` (their counting
    score), as of `at`, after their attempt `submission` was graded: to the LMS's gradebook
    for a student who came by an LTI launch (AGS), kept and retried if the LMS is down."""
    from .lti.wiring import after_graded as publish
    publish(service, student=student, course=course, score=score, maximum=maximum, at=at,
            submission=submission)
