"""What a student may see of a result: tests not yet due to show are folded into one line.

Gradescope hides tests by their `visibility` itself; every other student-facing output (the
text format, the feedback page and text, PrairieLearn, the Canvas comment, the Moodle
feedback) is rendered from `for_students(result, ...)`:

* `visible` tests show;
* `hidden` tests never show;
* `after_due_date` tests show once the course's due date has passed when the output is made,
  or once grades are published;
* `after_published` tests show once grades are published: the instructor says so with
  `--published`, as only Gradescope knows when its grades are.

The tests not shown become one "hidden tests" entry with their points together, so every
score (the total, the percentage, PrairieLearn's fraction) is the same as in the full result;
their names, outputs, graphs and the misconceptions only they found are left out.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from .checking.misconceptions import explain
from .results import Result, TestResult

POINT_TO = "What the failed tests point to:"


def shown(visibility: str, due: str | None, published: bool, now: datetime | None = None) -> bool:
    if visibility == "visible" or not visibility:
        return True
    if visibility == "after_due_date":
        if published:
            return True
        if not due:
            return False
        from .platforms.late import parse_due
        return (now or datetime.now(timezone.utc)) > parse_due(due)
    if visibility == "after_published":
        return published
    return False  # hidden, or a value this version does not know


def for_students(result: Result, due: str | None = None, published: bool = False,
                 now: datetime | None = None) -> Result:
    """`result` as its student may see it now."""
    keep = [t for t in result.tests if shown(t.visibility, due, published, now)]
    if len(keep) == len(result.tests):
        return result
    held = [t for t in result.tests if not shown(t.visibility, due, published, now)]
    when = {t.visibility for t in held}
    if when == {"after_due_date"} and due:
        later = f"They will be shown after the due date ({due})."
    elif when <= {"after_due_date", "after_published"}:
        later = "They will be shown when grades are published."
    else:
        later = "They are not shown."
    n = len(held)
    summary = TestResult(
        f"{n} hidden test{'s' if n != 1 else ''}", sum(t.score for t in held),
        sum(t.max_score for t in held),
        f"{n} test{'s' if n != 1 else ''} of your engine count toward your score without being "
        f"shown here. {later}",
        status="passed" if all(t.status == "passed" for t in held) else "failed")
    tests = keep + [summary]
    view = replace(result, tests=tests)
    return replace(view, output=_output(result.output, view.misconceptions))


def _output(output: str, misconceptions: list[str]) -> str:
    """The result's overall text with its list of misconceptions made from the tests shown
    (the runner lists those of every test)."""
    parts = [p for p in output.split("\n\n") if not p.startswith(POINT_TO)]
    if misconceptions and len(parts) < len(output.split("\n\n")):
        parts.insert(0, POINT_TO + "\n" + "\n".join(f"  - {explain(m)}" for m in misconceptions))
    return "\n\n".join(parts)
