"""Late penalties: parse a ``--late-penalty`` value, measure lateness, fill ``Result.extra["late"]``.

Policies (`parse_policy`):

* ``"10%/day"`` (also ``"10%/d"``, ``"10% per day"``): 10 % per started day late (days are rounded
  up, so 2 hours late is one day), capped at 100 %.
* ``"20%"``: a flat 20 % off any late hand-in.
* ``"0"``, ``"0%"``, ``"none"`` or an empty string: lateness is recorded but costs nothing.

`apply` returns the dict stored in ``Result.extra["late"]``::

    {"late": bool, "days": float, "penalty": fraction 0..1, "rule": str[, "inferred": True]}

When a late rule is set but nothing tells how late a hand-in was (a Moodle download without
its grading worksheet, loose files), `unknown` records that with ``"unknown": True`` and no
penalty, and the console, the gradebook (``late`` = ``unknown``) and the report say so: a
penalty is never skipped in silence.

``Result.score`` already multiplies by ``1 - penalty``, so nothing else needs changing. A hand-in is
late when the platform flags it (Canvas ``LATE``, Gradescope metadata) or when it was submitted
after the due date (`days_late`). When the platform says "late" without saying by how much (Canvas
file names carry the flag, never a time), the hand-in is charged as ``flag_days`` days late
(``--flag-late-days``, default 1: the least a late hand-in can be under a per-started-day rule) and
the dict says ``"inferred": True``, so every output can show that the lateness was not measured.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

_POLICY = re.compile(
    r"^\s*(?P<pct>\d+(?:\.\d+)?)\s*%?\s*(?P<per>(?:/|per)\s*(?:day|d))?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class LatePolicy:
    """``fraction`` off per day late (``per_day``) or once (flat); ``text`` is what was given."""

    fraction: float
    per_day: bool
    text: str

    @property
    def rule(self) -> str:
        if self.fraction == 0:
            return "no late penalty"
        pct = f"{self.fraction * 100:g}%"
        return f"{pct} per day late (days rounded up, capped at 100%)" if self.per_day else f"{pct} flat"


NO_PENALTY = LatePolicy(0.0, False, "none")


def parse_policy(text: str | None) -> LatePolicy:
    """``"10%/day"`` -> per-day policy; ``"20%"`` -> flat; ``None``/``""``/``"none"`` -> no penalty.

    Raises ValueError for anything else, or a percentage above 100.
    """
    if text is None or not text.strip() or text.strip().lower() in ("none", "off", "no"):
        return NO_PENALTY
    m = _POLICY.match(text)
    if not m:
        raise ValueError(f"late penalty {text!r}: expected e.g. '10%/day' or '20%'")
    pct = float(m["pct"])
    if pct > 100:
        raise ValueError(f"late penalty {text!r}: more than 100%")
    return LatePolicy(pct / 100.0, bool(m["per"]), text.strip())


def penalty(policy: LatePolicy, days: float) -> float:
    """Fraction of the score taken for ``days`` late (0 when ``days`` <= 0)."""
    if days <= 0 or policy.fraction == 0:
        return 0.0
    if not policy.per_day:
        return policy.fraction
    return min(1.0, round(policy.fraction * math.ceil(days), 10))


def apply(policy: LatePolicy, late: bool, days: float | None, flag_days: float = 1.0) -> dict:
    """The ``Result.extra["late"]`` dict for one hand-in.

    ``late`` is the platform's flag; ``days`` how late it was (None when unknown). Positive ``days``
    make a hand-in late even without the flag; a flag with unknown or zero days is charged as
    ``flag_days`` days, marked ``"inferred"``, and the rule says so.
    """
    days = None if days is None else max(0.0, float(days))
    is_late = bool(late) or bool(days and days > 0)
    if not is_late:
        return {"late": False, "days": 0.0, "penalty": 0.0, "rule": policy.rule}
    if days:
        return {"late": True, "days": round(days, 4), "penalty": penalty(policy, days),
                "rule": policy.rule}
    rule = (f"{policy.rule}; flagged late by the platform, days unknown: charged as "
            f"{flag_days:g} day{'s' if flag_days != 1 else ''} late (--flag-late-days)")
    return {"late": True, "days": round(float(flag_days), 4),
            # a flat rule charges any late hand-in; a per-day rule the days assumed
            "penalty": penalty(policy, flag_days) if policy.per_day else policy.fraction,
            "rule": rule, "inferred": True}


def unknown(policy: LatePolicy, why: str) -> dict:
    """The ``Result.extra["late"]`` dict for a hand-in whose lateness nothing tells: no penalty
    taken, and every output says that none could be ("unknown": True)."""
    return {"late": False, "days": 0.0, "penalty": 0.0, "unknown": True,
            "rule": f"{policy.rule}; not applied: {why}"}


def parse_due(text: str | datetime | date) -> datetime:
    """A due date from ``--due``: ``2026-12-01T23:59``, ``2026-12-01 23:59+01:00``, ``2026-12-01``.

    A bare date means the end of that day (23:59:59). Without a UTC offset the time is local to this
    machine (the CLI runs where the instructor is); the result is always timezone-aware.
    """
    if isinstance(text, datetime):
        dt = text
    elif isinstance(text, date):
        dt = datetime.combine(text, time(23, 59, 59))
    else:
        s = text.strip()
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        if re.fullmatch(r"\d{4}-\d\d-\d\d", s):
            dt = datetime.combine(date.fromisoformat(s), time(23, 59, 59))
        else:
            try:
                dt = datetime.fromisoformat(s)
            except ValueError as e:
                raise ValueError(f"due date {text!r}: expected e.g. 2026-12-01T23:59") from e
    return dt if dt.tzinfo else dt.astimezone()


def days_late(due: str | datetime, submitted_at: datetime | str | None) -> float | None:
    """Days (fractional) between ``due`` and ``submitted_at``; 0 when on time, None when unknown.

    Naive datetimes are taken as local time (see `parse_due`).
    """
    if submitted_at is None:
        return None
    due_dt = parse_due(due)
    sub = parse_due(submitted_at) if isinstance(submitted_at, str) else submitted_at
    if sub.tzinfo is None:
        sub = sub.astimezone()
    seconds = (sub.astimezone(timezone.utc) - due_dt.astimezone(timezone.utc)).total_seconds()
    return max(0.0, seconds / 86400.0)


def assess(policy: LatePolicy, *, late: bool = False, submitted_at: datetime | None = None,
           due: str | datetime | None = None, flag_days: float = 1.0) -> dict:
    """`apply` with the days worked out from ``due`` and ``submitted_at`` when both are known."""
    days = days_late(due, submitted_at) if due is not None else None
    return apply(policy, late, days, flag_days)


def describe(late: dict) -> str:
    """How late, in a few words for a page or a line: "late 2 days, -20%" or, for lateness the
    platform only flagged, "late (flagged, days unknown: charged as 1 day), -10%"."""
    if late.get("unknown"):
        return "lateness unknown, no late penalty applied"
    if not late.get("late"):
        return ""
    days = late.get("days", 0)
    n = f"{days:g} day{'s' if days != 1 else ''}"
    text = f"late (flagged, days unknown: charged as {n})" if late.get("inferred") \
        else f"late {round(days, 2):g} day{'s' if days != 1 else ''}"
    pen = late.get("penalty", 0)
    return text + (f", -{100 * pen:g}%" if pen else ", no penalty")
