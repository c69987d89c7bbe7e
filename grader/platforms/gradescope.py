"""Gradescope's results.json as students read it: each test's feedback in markdown.

`Result.to_json()` is already Gradescope's format, with every text plain; it is what the batch
stores and reads back. Shown to students, a plain text loses its shape (`a**3` turns bold, the
graph listing runs together), so `to_gradescope` renders each test's output as markdown from the
same `Result` and says so with ``test_output_format: "md"`` (Gradescope's output formats:
``text``, ``html``, ``simple_format``, ``md``, ``ansi``). The top-level ``output`` stays plain
text: it is one sentence or a short list that reads the same either way.
"""
from __future__ import annotations

from ..report.feedback import test_markdown
from ..results.model import Result


def to_gradescope(result: Result, visibility: str = "visible") -> dict:
    """`visibility` is the whole result's (the course file's `assignment.visibility`); each
    test carries its own."""
    from ..course.visibility import for_students, printed_in_order

    result = printed_in_order(result)
    d = result.to_json()
    # shown whatever each test's visibility: only what the tests shown at once found
    d["output"] = for_students(result).output
    d["test_output_format"] = "md"
    d["visibility"] = visibility
    if "score" in result.extra.get("attempt", {}):  # the student's score, by the attempt rules
        d["score"] = result.extra["attempt"]["score"]
    for test, out in zip(result.tests, d["tests"]):
        out["output"] = test_markdown(test)
    return d


# --------------------------------------------------------------------------- attempts

def read_metadata(path) -> dict:
    """Gradescope's `/autograder/submission_metadata.json` (gradescope-autograders docs,
    "Submission Metadata"): `created_at` (this submission's time), `users` (`email`, `id`,
    `name`, sometimes `sid`), `assignment` (`due_date`, ...) and `previous_submissions`, each
    `{"submission_time", "score", "results"}` with `results` the results.json it got. {} when
    it cannot be read: grading goes on without the attempt rules."""
    import json
    from pathlib import Path

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _previous(metadata: dict) -> list[tuple[str, float]]:
    """(time, the attempt's own score) of every earlier submission that was graded. Its own
    score is the one its results' tests give (after a late penalty), not Gradescope's `score`,
    which is what that attempt made the student's; one that could not be graded (its results
    carry `error`) is no attempt."""
    out = []
    for prev in metadata.get("previous_submissions") or []:
        if not isinstance(prev, dict) or not prev.get("submission_time"):
            continue
        results = prev.get("results") if isinstance(prev.get("results"), dict) else {}
        if (results.get("extra_data") or {}).get("error"):
            continue
        try:
            score = (Result.from_json(results).score if results.get("tests")
                     else float(prev.get("score") or 0))
        except (TypeError, ValueError, KeyError):
            score = 0.0
        out.append((str(prev["submission_time"]), score))
    return out


def with_attempt(result: Result, metadata: dict, course) -> Result:
    """`result` judged as one attempt of a student's on Gradescope, by the course file's
    `[submissions]` (and its late rule, with the student's extension): `extra_data.attempt`
    records the attempt's number, whether it counts and why, its own score, and the score that
    is the student's (`score`: the best or last attempt that counts), which `to_gradescope`
    gives Gradescope as the submission's. The reason heads the output. Without metadata (run
    outside Gradescope) the result is unchanged."""
    from dataclasses import replace

    from ..course import attempts, late

    if not metadata.get("created_at"):
        return result
    policy, extra = course.submissions, dict(result.extra)
    at = str(metadata["created_at"])
    users = [u for u in metadata.get("users") or [] if isinstance(u, dict)]
    ids = [u.get(k) for u in users for k in ("email", "sid", "id") if u.get(k) is not None]
    due = attempts.due(policy, course.due, *ids)
    if due and "late" not in extra:
        extra["late"] = late.assess(late.parse_policy(course.late_penalty), submitted_at=at,
                                    due=due, flag_days=course.flag_late_days)
        if due != course.due:
            extra["late"]["due"] = due  # an extension: say which date applied
    previous = _previous(metadata)
    own = round(replace(result, extra=extra).score, 6)
    if extra.get("error"):  # not graded: no attempt, and the student's score stays
        history, verdict = previous, None
        said = "This upload could not be graded, so it uses no attempt"
    else:
        history = [*previous, (at, own)]
        verdict = attempts.judge(policy, [t for t, _ in previous], at)
        said = verdict.reason[0].upper() + verdict.reason[1:].rstrip(".")
    k = attempts.counting(policy, history)
    order = sorted(range(len(history)), key=lambda i: attempts.when(history[i][0]))
    number = order.index(k) + 1 if k is not None else None
    score = history[k][1] if k is not None else 0.0
    extra["attempt"] = {**(verdict.to_json() if verdict else {"number": None, "counts": False}),
                        "reason": said + ".", "own": own, "score": score,
                        "from_attempt": number, "policy": policy.values()}
    if verdict is not None and verdict.counts and k == len(history) - 1:
        said += "."
    elif k is None:
        said += "; no attempt counts yet."
    else:
        which = "best" if policy.counts == "best" else "last"
        said += (f"; your score is {score:g}/{result.max_score:g}, from attempt {number}, "
                 f"the {which} that counts.")
    if policy == attempts.Policy() and verdict is not None:
        return replace(result, extra=extra)  # no rules: every attempt counts, nothing to say
    return replace(result, output=f"{said}\n\n{result.output}".strip(), extra=extra)
