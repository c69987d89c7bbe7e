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
from ..results import Result


def to_gradescope(result: Result, visibility: str = "visible") -> dict:
    """`visibility` is the whole result's (the course file's `assignment.visibility`); each
    test carries its own."""
    d = result.to_json()
    d["test_output_format"] = "md"
    d["visibility"] = visibility
    for test, out in zip(result.tests, d["tests"]):
        out["output"] = test_markdown(test)
    return d
