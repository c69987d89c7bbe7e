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

from ..checking.misconceptions import explain
from ..results.model import Result, TestResult

POINT_TO = "What the failed tests point to:"
PRINTED = "\n\nYour code printed"  # heads what a test's output shows of the hand-in's own
# The order tests run in: each visibility is shown whenever a later one is (published shows
# every one but hidden; a passed due date shows after_due_date), so a hand-in asked for a
# test only after every test that may be shown before it cannot carry its graph, values or
# printed text into a test shown sooner.
ORDER = ("visible", "after_due_date", "after_published", "hidden")


def rank(visibility: str) -> int:
    return ORDER.index(visibility) if visibility in ORDER else len(ORDER)


def test_id(item) -> str:
    """A pytest item's test as results and the course file name it: `test_chain::test_neuron`."""
    return f"{item.module.__name__.rsplit('.', 1)[-1]}::{item.originalname}"


def shown_first(items: list, visibility: dict[str, str]) -> list:
    """Test items in the order their visibility allows (`ORDER`; each keeps its place among
    its own): a hand-in sees a test's graph only after every test that may be shown sooner
    has run, so nothing of it can reach what those tests show."""
    return sorted(items, key=lambda item: rank(visibility.get(test_id(item), "visible")))


def in_order(result: Result, visibility: dict[str, str]) -> bool:
    """Whether `result`'s tests ran (`extra["ran"]`) in the order `visibility` (test id ->
    visibility) asks for; a result that does not say, only if nothing is held back."""
    tests = [t for t in result.tests if t.extra.get("test") in visibility]
    ran = sorted((t for t in tests if "ran" in t.extra), key=lambda t: t.extra["ran"])
    if not ran:  # none ran (it could not be loaded), or graded before tests were ordered
        return bool(result.extra.get("error")) or all(
            visibility[t.extra["test"]] == "visible" for t in tests)
    ranks = [rank(visibility[t.extra["test"]]) for t in ran]
    return ranks == sorted(ranks)


def printed_in_order(result: Result) -> Result:
    """`result` without the printed text of any test that ran after a test held back longer
    (possible only when the visibility changed after grading): that text could carry what the
    held test asked."""
    ran = sorted((t for t in result.tests if "ran" in t.extra), key=lambda t: t.extra["ran"])
    late, highest = set(), -1
    for t in ran:
        if rank(t.visibility) < highest and t.extra.get("printed"):
            late.add(id(t))
        highest = max(highest, rank(t.visibility))
    if not late:
        return result
    note = ("\n\n(What your code printed during this test is not shown: it ran after tests "
            "shown later.)")
    return replace(result, tests=[replace(t, output=t.output.partition(PRINTED)[0] + note)
                                  if id(t) in late else t for t in result.tests])


def shown(visibility: str, due: str | None, published: bool, now: datetime | None = None) -> bool:
    if visibility == "visible" or not visibility:
        return True
    if visibility == "after_due_date":
        if published:
            return True
        if not due:
            return False
        from .late import parse_due
        return (now or datetime.now(timezone.utc)) > parse_due(due)
    if visibility == "after_published":
        return published
    return False  # hidden, or a value this version does not know


def for_students(result: Result, due: str | None = None, published: bool = False,
                 now: datetime | None = None) -> Result:
    """`result` as its student may see it now."""
    result = printed_in_order(result)
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
    every = output.split("\n\n")
    at = next((i for i, p in enumerate(every) if p.startswith(POINT_TO)), None)
    parts = [p for p in every if not p.startswith(POINT_TO)]
    if misconceptions and at is not None:  # where it was (an attempt's verdict may head it)
        parts.insert(at, POINT_TO + "\n" + "\n".join(f"  - {explain(m)}" for m in misconceptions))
    return "\n\n".join(parts)
