"""Who a launch is, in the grader's two roles, from the LIS roles of LTI 1.3 (its appendix A).

A learner is a student; an instructor, a teaching assistant or an administrator (of the
course, the institution or the system) sees the instructor pages. Institution roles other than
Administrator say nothing about this course (Canvas sends `institution/person#Instructor` for a
teacher who is a learner here), so they are not read. Context roles may come as their simple
names (`Learner`), which the specification lets tools accept.
"""
from __future__ import annotations

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
MEMBERSHIP = LIS + "membership"

INSTRUCTOR = {MEMBERSHIP + "#Instructor", MEMBERSHIP + "#Administrator",
              MEMBERSHIP + "#TeachingAssistant",  # not in the vocabulary; some platforms send it
              LIS + "institution/person#Administrator", LIS + "system/person#Administrator",
              LIS + "system/person#SysAdmin", "Instructor", "Administrator", "TeachingAssistant"}
STUDENT = {MEMBERSHIP + "#Learner", "Learner"}


def role_of(roles) -> str | None:
    """"instructor", "student", or None: a role the grader has no page for (a mentor, ...)."""
    roles = [r for r in roles or [] if isinstance(r, str)]
    if any(r in INSTRUCTOR or r.startswith((MEMBERSHIP + "/Instructor#",
                                            MEMBERSHIP + "/Administrator#")) for r in roles):
        return "instructor"
    if any(r in STUDENT or r.startswith(MEMBERSHIP + "/Learner#") for r in roles):
        return "student"
    return None
