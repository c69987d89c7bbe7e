"""A graded hand-in scored by the course file: weights, visibility, points, the stub's credit.

The arithmetic, in order:

1. A test's weight is its `[tests]` `weight` in the course file, else its `@weight(n)`; times
   its group's `scale`.
2. With `forward_needs_gradient`, a hand-in that passes no test outside the `forward` group
   gets 0 on its forward tests too (an untouched stub scores 0, not its forward points).
3. With `points` above 0, every test's points are multiplied by `points / (sum of weights)`,
   so the maximum is exactly `points`; with 0 the maximum is the sum of the weights.
4. Each test's points are whole hundredths (`hundredths`: rounded down, the hundredths left
   over to the largest remainders), so they add up to the maximum exactly and what is stored is
   what every output shows.

A test scores its full points when it passed and 0 when it failed (the hidden tests are all or
nothing). Its visibility is its own in `[tests]`, else its group's, else "visible".
"""
from __future__ import annotations

from dataclasses import replace

from ..results.model import Result, TestResult
from .file import Course

FORWARD = "forward"
NO_GRADIENT = ("No credit: this hand-in passes no test of its gradients, and the course gives "
               "forward tests their points only then (forward_needs_gradient in grader.toml).")


def plan(course: Course) -> dict[str, tuple[float, str]]:
    """Each hidden test's weight (before scaling to `points`) and visibility, by its
    `module::function` (as results record it: tests of an instructor's own keep theirs)."""
    from ..suite.index import suite

    out = {}
    for t in suite():
        group, own = course.groups.get(t.group), course.tests.get(t.name)
        weight = own.weight if own and own.weight is not None else t.weight
        scale = group.weight if group and group.weight is not None else 1.0
        visibility = ((own and own.visibility) or (group and group.visibility) or "visible")
        out[f"test_{t.group}::{t.name}"] = (weight * scale, visibility)
    return out


def visibilities(course: Course) -> dict[str, str]:
    """Each hidden test's visibility by its id: what grading orders the tests by."""
    return {test: visibility for test, (_, visibility) in plan(course).items()}


def _group(t: TestResult) -> str:
    """The group of a result's test (its module without `test_`), as the runner recorded it."""
    return str(t.extra.get("test", "")).partition("::")[0].removeprefix("test_")


def apply(result: Result, course: Course) -> Result:
    """The result scored as the course says, recording the course in `extra_data.course`.
    Applying another course to a scored result (`--resume`) gives what grading under it would."""
    weights = plan(course)
    tests = []
    for t in result.tests:
        weight, visibility = weights.get(t.extra.get("test"), (t.max_score, "visible"))
        # `status` stays what grading found: a failed test now worth 0 still failed
        tests.append(replace(t, score=weight if t.status == "passed" else 0.0,
                             max_score=weight, visibility=visibility,
                             output=t.output.replace("\n\n" + NO_GRADIENT, "")
                             .replace(NO_GRADIENT, "")))
    if course.forward_needs_gradient and not any(
            t.status == "passed" for t in tests if _group(t) != FORWARD):
        tests = [replace(t, score=0.0, output=f"{t.output}\n\n{NO_GRADIENT}".lstrip())
                 if _group(t) == FORWARD and t.status == "passed" else t for t in tests]
    total = sum(t.max_score for t in tests)
    target = course.points if course.points > 0 and total > 0 else total
    shares = hundredths([t.max_score for t in tests], target)
    tests = [replace(t, score=share if t.score > 0 else 0.0, max_score=share)
             for t, share in zip(tests, shares)]
    return replace(result, tests=tests, extra={**result.extra, "course": course.record()})


def hundredths(weights: list[float], total: float) -> list[float]:
    """`weights` scaled to add up to `total`, each a whole number of hundredths: the largest
    remainders get the hundredths rounding down left over (ties to the earlier test), so the
    shares add up to `total` rounded to hundredths exactly."""
    whole = sum(weights)
    if whole <= 0:
        return [0.0 for _ in weights]
    exact = [w * round(total * 100) / whole for w in weights]
    share = [int(x) for x in exact]  # floor: weights are never negative
    left = round(total * 100) - sum(share)
    for i in sorted(range(len(exact)), key=lambda i: (share[i] - exact[i], i))[:left]:
        share[i] += 1
    return [n / 100 for n in share]
