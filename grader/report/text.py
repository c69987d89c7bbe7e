"""A graded hand-in as a readable summary for a terminal.

Everything from the hand-in is indented below the score line and shown with its control
characters made visible (`terminal.visible`): nothing it printed can move the cursor, clear
the screen or start a line where the real score stands.
"""
from __future__ import annotations

from ..results.model import Result, points
from .feedback import excerpt
from .terminal import one_line, visible


def render(result: Result) -> str:
    lines = []
    student = result.extra.get("student", {})
    who = student.get("name") or student.get("id") or result.extra.get("handin", {}).get("file")
    head = f"Score: {points(result.score)} / {points(result.max_score)}"
    if result.max_score:
        head += f" ({100 * result.score / result.max_score:.0f}%)"
    if result.penalty:
        head += f" after a {100 * result.penalty:g}% late penalty (raw {points(result.raw_score)})"
    lines.append((f"{one_line(who)}: " if who else "") + head)
    if result.extra.get("error"):  # its one sentence and where: no list of failed tests
        lines.append(f"Not graded: {one_line(result.extra['error'])}")
        lines += ["    " + line for line in excerpt(result)]
        return visible("\n".join(lines)) + "\n"
    for t in result.tests:
        mark = "PASS" if t.status == "passed" else "FAIL"
        lines.append(f"  {mark}  {points(t.score)}/{points(t.max_score)}  {one_line(t.name)}")
    if result.output and not result.extra.get("error"):
        lines.append("")
        lines += ["  " + line if line else "" for line in result.output.split("\n")]
    failed = [t for t in result.tests if t.status == "failed" and not result.extra.get("error")]
    if failed:
        lines.append("")
        lines.append(f"First failure: {one_line(failed[0].name)}")
        lines += ["  " + line if line else "" for line in failed[0].output.split("\n")]
    return visible("\n".join(lines)) + "\n"
