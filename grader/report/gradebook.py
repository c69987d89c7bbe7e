"""The plain gradebook: one CSV row per graded hand-in, rendered from `Result`s.

Columns, always in this order (`COLUMNS`)::

    student_id, name, status, score, max_score, percent, late, late_days, penalty, misconceptions,
    error

* ``student_id`` / ``name`` come from ``result.extra["student"]`` (``{"id", "name", "source", ...}``).
* ``status``: ``graded``, ``not gradable`` (the hand-in could not be loaded: 0 out of the
  maximum), ``no submission`` (on the roster or worksheet, no hand-in: blank, or 0 with
  ``--missing-as-zero``) or ``not merged`` (its shard was missing from a partial merge).
* ``score`` is `Result.score` (the late penalty already applied), ``max_score`` `Result.max_score`,
  ``percent`` score / max * 100 (blank when the max is 0).
* ``late`` is ``yes``/``no`` from ``result.extra["late"]`` (``{"late", "days", "penalty", "rule"}``),
  or ``inferred`` when the platform flagged the hand-in late without a time (Canvas ``_LATE``):
  ``late_days`` is then the days charged for the flag (``--flag-late-days``), not a measurement.
  ``late_days`` and ``penalty`` (a fraction) come from the same dict. ``unknown`` when a late
  rule is set but nothing told how late the hand-in was: no penalty was taken.
* A student whose shard a partial merge lacks has blank scores and says so under ``error``.
* ``misconceptions``: `Result.misconceptions` joined with ``;``.
* ``error``: ``result.extra["error"]`` when the hand-in could not be loaded.

Rows are sorted by student id (numbers numerically). Cells that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``) are prefixed with ``'``.
"""
from __future__ import annotations

import csv
import io

from grader.results.model import Result, points

COLUMNS = ["student_id", "name", "status", "score", "max_score", "percent", "late", "late_days",
           "penalty", "misconceptions", "error"]


def status(result: Result) -> str:
    """What became of a student's hand-in, in two or three words (the same in every output)."""
    if result.extra.get("no_submission"):
        return "no submission"
    if result.extra.get("missing"):
        return "not merged"
    return "not gradable" if result.extra.get("error") else "graded"


def has_grade(result: Result) -> bool:
    """Whether the gradebook gives this student a grade, so the class mean counts them: every
    hand-in (one that cannot be graded scores 0), a student with none only with
    ``--missing-as-zero``, never a student whose shard was not merged."""
    if result.extra.get("missing"):
        return False
    return not (result.extra.get("no_submission") and not result.tests)


def _num(x: float) -> str:
    return points(x) if x is not None else ""


def _cell(text) -> str:
    s = "" if text is None else str(text)
    return "'" + s if s[:1] in ("=", "+", "-", "@") else s


def _student(result: Result) -> tuple[str, str]:
    st = result.extra.get("student") or {}
    return str(st.get("id", "")), str(st.get("name", ""))


def _sort_key(result: Result):
    sid, _ = _student(result)
    return (0, int(sid), sid) if sid.isdigit() else (1, 0, sid.lower())


def row(result: Result) -> dict[str, str]:
    """One gradebook row (column name -> text) for one result."""
    sid, name = _student(result)
    late = result.extra.get("late") or {}
    mx = result.max_score
    err = result.extra.get("error")
    if isinstance(err, dict):
        err = err.get("message") or err.get("type") or str(err)
    blank = not has_grade(result)
    absent = bool(result.extra.get("no_submission"))
    return {
        "student_id": _cell(sid),
        "name": _cell(name),
        "status": status(result),
        "score": "" if blank else _num(result.score),
        "max_score": "" if blank else _num(mx),
        "percent": _num(result.score / mx * 100) if mx and not blank else "",
        "late": "" if absent else "unknown" if late.get("unknown") else
                "inferred" if late.get("inferred") else "yes" if late.get("late") else "no",
        "late_days": "" if absent else _num(late.get("days", 0.0)) if late.get("late") else "0",
        "penalty": "" if absent else _num(late.get("penalty", 0.0)),
        "misconceptions": _cell(";".join(result.misconceptions)),
        "error": _cell(" ".join(str(err).split()) if err else ""),
    }


def gradebook_csv(results: list[Result]) -> str:
    """The gradebook CSV text (header + one row per result, sorted by student id)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in sorted(results, key=_sort_key):
        w.writerow(row(r))
    return buf.getvalue()
