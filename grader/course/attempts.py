"""Attempts: which of a student's graded attempts count, as the course file's `[submissions]`
says. Plain functions of times and scores, shared by the Gradescope autograder and the
submission service; nothing here knows either.

The contract:

* An *attempt* is a hand-in that was graded. One that could not be graded (not UTF-8, a syntax
  error, no `Value`) is no attempt: callers leave it out of `previous` and never judge it.
* Attempts are numbered 1, 2, ... in the order they were made (`judge` sorts the times).
* An attempt **counts** unless
  - the course allows `attempts` (> 0) and this one's number is higher (every attempt, counting
    or not, uses a number: "attempt 4 of 3: graded, but it does not count"); or
  - a `cooldown` is set and it came sooner than `cooldown` after the last attempt that counted
    ("cooldown: next attempt counts from 14:32 UTC"). An attempt that does not count does not
    restart the cooldown.
  Whether an attempt counts depends only on the times of the attempts before it and the policy:
  the same history always gives the same verdicts, whoever replays it (a regrade, a changed
  course file).
* The attempt whose score is the student's (`counting`): with `counts = "best"` the highest
  score among the attempts that count (the earliest of equals), with `"last"` the latest
  attempt that counts. An attempt that does not count is still graded and shown, never scored.
* `due` gives a student's due date: their extension if the course grants one, else the course's.

Times are timezone-aware datetimes (or ISO 8601 strings, read as `grader.course.late` reads
them); shown in UTC.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Sequence

COUNTS = ("last", "best")
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)([dhms]))")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class Policy:
    """The `[submissions]` table: the defaults are unlimited attempts, no cooldown, the last
    attempt counts, no extensions."""
    attempts: int = 0                 # how many attempts may count; 0: unlimited
    cooldown: float = 0.0             # seconds after a counting attempt before the next counts
    counts: str = "last"              # "last" or "best"
    extensions: dict[str, str] = field(default_factory=dict)  # student id -> ISO due date

    def values(self) -> dict:
        """Shaped like the file (what results record)."""
        return {"attempts": self.attempts, "cooldown": duration_text(self.cooldown),
                "counts": self.counts, "extensions": dict(sorted(self.extensions.items()))}


@dataclass(frozen=True)
class Verdict:
    """What the policy says of one attempt."""
    number: int                       # 1 for a student's first graded attempt
    counts: bool
    reason: str                       # one sentence for the student
    counts_from: datetime | None = None  # with a cooldown: when an attempt counts again

    def to_json(self) -> dict:
        d = {"number": self.number, "counts": self.counts, "reason": self.reason}
        if self.counts_from is not None:
            d["counts_from"] = self.counts_from.isoformat()
        return d


def parse_duration(text: str | int | float) -> float:
    """Seconds in a duration: "10m", "30s", "1h30m", "2d", "0"; a bare number is seconds.
    Raises ValueError for anything else (negative, no unit on a non-zero string, ...)."""
    if isinstance(text, bool):
        raise ValueError(f"duration {text!r}: expected e.g. \"10m\", \"30s\" or \"0\"")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError(f"duration {text!r}: must not be negative")
        return float(text)
    s = str(text).strip().lower().replace(" ", "")
    if s in ("0", ""):
        return 0.0
    if not re.fullmatch(_DURATION.pattern + "+", s):
        raise ValueError(f"duration {text!r}: expected e.g. \"10m\", \"30s\", \"1h30m\" or \"0\"")
    return float(sum(float(n) * _UNIT[u] for n, u in _DURATION.findall(s)))


def duration_text(seconds: float) -> str:
    """`parse_duration`'s inverse, in whole units: 600 -> "10m", 90 -> "1m30s", 0 -> "0"."""
    if not seconds:
        return "0"
    out, rest = "", seconds
    for unit, size in _UNIT.items():
        n = int(rest // size)
        if n:
            out, rest = out + f"{n}{unit}", rest - n * size
    return out + (f"{rest:g}s" if rest else "")


def when(t: datetime | str) -> datetime:
    """A time as an aware datetime (a string as `grader.course.late.parse_due` reads it)."""
    if isinstance(t, str):
        from .late import parse_due
        t = parse_due(t)
    return t if t.tzinfo else t.astimezone()


def shown(t: datetime) -> str:
    """A time for a student: `2026-12-02 14:32 UTC` (seconds only when there are some)."""
    t = t.astimezone(timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S UTC" if t.second or t.microsecond
                      else "%Y-%m-%d %H:%M UTC")


def verdicts(policy: Policy, times: Iterable[datetime | str]) -> list[Verdict]:
    """Every attempt's verdict, in the order of `times` sorted (the order they were made)."""
    out: list[Verdict] = []
    last_counted: datetime | None = None
    for number, t in enumerate(sorted(when(t) for t in times), 1):
        of = f" of {policy.attempts}" if policy.attempts else ""
        head = f"attempt {number}{of}"
        if policy.attempts and number > policy.attempts:
            n = policy.attempts
            used = f"all {n} attempts that count are used" if n > 1 else \
                "the one attempt that counts is used"
            out.append(Verdict(number, False, f"{head}: graded, but it does not count: {used}."))
            continue
        ready = last_counted + timedelta(seconds=policy.cooldown) if last_counted else None
        if policy.cooldown and ready is not None and t < ready:
            out.append(Verdict(number, False, f"{head}: graded, but it does not count: "
                               f"cooldown: next attempt counts from {shown(ready)}.", ready))
            continue
        last_counted = t
        out.append(Verdict(number, True, f"{head}: counts."))
    return out


def judge(policy: Policy, previous: Iterable[datetime | str], at: datetime | str) -> Verdict:
    """The verdict on an attempt made `at`, after the graded attempts made at `previous`
    (every earlier one, counting or not; times after `at` are ignored)."""
    at = when(at)
    earlier = [t for t in map(when, previous) if t <= at]
    return verdicts(policy, [*earlier, at])[-1]


def counting(policy: Policy, attempts: Sequence[tuple[datetime | str, float]]) -> int | None:
    """Which attempt's score is the student's: the index in `attempts` (each `(time, score)`,
    in any order) of the best or last one that counts; None when none counts (no attempts)."""
    order = sorted(range(len(attempts)), key=lambda i: when(attempts[i][0]))
    verdict = verdicts(policy, [attempts[i][0] for i in order])
    counted = [i for i, v in zip(order, verdict) if v.counts]
    if not counted:
        return None
    if policy.counts == "best":
        return max(counted, key=lambda i: (attempts[i][1], -order.index(i)))
    return counted[-1]


def due(policy: Policy, course_due: str, *student_ids: str) -> str:
    """The due date for a student known by any of `student_ids` (an email, a login, a number;
    matched without regard to case): their extension if the course grants one, else
    `course_due` ("" for none)."""
    granted = {k.strip().lower(): v for k, v in policy.extensions.items()}
    for sid in student_ids:
        if sid is not None and str(sid).strip().lower() in granted:
            return granted[str(sid).strip().lower()]
    return course_due
