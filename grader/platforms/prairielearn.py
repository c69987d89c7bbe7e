"""PrairieLearn external-grader results, rendered from a `Result`.

PrairieLearn reads ``/grade/results/results.json`` (``docs/externalGrading.md``): ``score`` is the
only mandatory field for a gradable submission, a float in [0, 1]; ``gradable`` defaults to true;
``message`` and ``output`` are shown for the whole submission; ``tests`` is a list of ``name``,
``description``, ``points``, ``max_points``, ``message``, ``output`` rendered by
``<pl-external-grader-results>`` (as text: ``output`` in a ``<pre>``, so a failed test's output
ends with its gradients as an aligned table, the same one the student's feedback page shows); with ``"gradable": false`` the submission is marked "invalid, not
gradable", no points are awarded or lost, no attempt is used, and ``format_errors`` (a string or a
list of strings) explains why. The file should stay under 1 MB.

Hand-ins that could not be loaded (``result.extra["error"]``) are reported as gradable with score 0
and the error as the message, by default. Reason: for this exercise a load error (no ``engine.py``,
an exception or a syntax error at import, a missing ``Value`` class) is the student's answer failing,
exactly as the Gradescope results for the same hand-in show 0; marking it "not gradable" would make
the two platforms disagree and would let a broken hand-in be resubmitted without using an attempt.
Courses that prefer PrairieLearn's "invalid, not gradable" treatment (which its docs suggest for
syntax errors) pass ``load_error_gradable=False``.
"""
from __future__ import annotations

import json

from grader.course.late import describe
from grader.report.feedback import gradient_table
from grader.results.model import Result, TestResult

MAX_BYTES = 1_000_000
MESSAGE_CHARS = 300
_TRUNCATED = "\n... (truncated)"


def _error_text(err) -> str:
    if isinstance(err, dict):
        parts = [str(err.get("type") or ""), str(err.get("message") or "")]
        text = ": ".join(p for p in parts if p) or json.dumps(err, sort_keys=True)
    else:
        text = str(err)
    return text.strip()


def _test(t: TestResult) -> dict:
    # The gist of a failure: its first line after the graph's listing ("Graph ...:" and the
    # indented program), e.g. "Expected a.grad = -3, got -6."
    lines = [ln for ln in t.output.strip().splitlines()
             if ln.strip() and not ln.startswith((" ", "Graph (then backward"))]
    first_line = lines[0] if lines else ""
    if len(first_line) > MESSAGE_CHARS:
        first_line = first_line[:MESSAGE_CHARS] + " ..."
    message = "Passed." if t.status == "passed" else (first_line or "Failed.")
    table = gradient_table(t) if t.status != "passed" else []
    d = {
        "name": t.name,
        "description": str(t.extra.get("description", "")),
        "points": round(t.score, 6),
        "max_points": t.max_score,
        "message": message,
        "output": t.output + ("\nGradients:\n" + "\n".join("  " + ln for ln in table)
                              if table else ""),
    }
    if t.number:
        d["name"] = f"{t.number} {t.name}"
    return d


def _shrink(d: dict) -> dict:
    """Cut long outputs until the JSON fits PrairieLearn's 1 MB limit."""
    def size() -> int:
        return len(json.dumps(d).encode("utf-8"))
    limit = 4000
    while size() > MAX_BYTES and limit >= 100:
        for item in [d] + d.get("tests", []):
            for key in ("output", "message"):
                text = item.get(key, "")
                if len(text) > limit:
                    item[key] = text[:limit] + _TRUNCATED
        limit //= 2
    return d


def to_prairielearn(result: Result, *, load_error_gradable: bool = True) -> dict:
    """The PrairieLearn ``results.json`` dict for one graded hand-in.

    ``score`` is `Result.score` / `Result.max_score` (late penalty included), clamped to [0, 1].
    """
    err = result.extra.get("error")
    if err:
        text = _error_text(err)
        if not load_error_gradable:
            return _shrink({"gradable": False, "format_errors": [text],
                            "message": "Your hand-in could not be loaded.",
                            "output": result.output})
        return _shrink({
            "gradable": True,
            "score": 0.0,
            "message": f"Your hand-in could not be loaded: {text}",
            "output": result.output,
            "tests": [_test(t) for t in result.tests],
        })
    mx = result.max_score
    score = min(1.0, max(0.0, result.score / mx)) if mx else 0.0
    passed = sum(1 for t in result.tests if t.status == "passed")
    message = f"{passed} of {len(result.tests)} tests passed."
    late = result.extra.get("late") or {}
    if late.get("late") and late.get("penalty"):
        message += f" Late: {late['penalty'] * 100:g}% penalty ({late.get('rule', '')})."
    elif late.get("late"):
        message += f" {describe(late).capitalize()}."
    return _shrink({
        "gradable": True,
        "score": round(score, 6),
        "message": message,
        "output": result.output,
        "tests": [_test(t) for t in result.tests],
    })
