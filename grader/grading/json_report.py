"""pytest-json-report files of `pytest --pyargs grader.suite --handin PATH --json-report`, and
the `Result` they hold.

Each graded test's `metadata` is its entry in Gradescope's results.json: `name`, `score` and
`max_score` (points earned and possible), `output` (the feedback students see) and, under
`extra_data`, its `misconceptions` and, for a failed graph, the `graph` facts the report draws.
The report's "grader" key holds the rest of the hand-in's result: `score`, its overall
`output`, and `extra_data` (limits, sandbox, the hand-in's hash, why it was not graded).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..results.model import Result

KEY = "grader"


def annotate(report: dict, result: Result) -> None:
    """Add the hand-in's part of `result` to a report whose tests already carry theirs."""
    report[KEY] = {k: v for k, v in result.to_json().items() if k != "tests"}


def to_result(report: dict) -> Result:
    if KEY not in report:
        raise ValueError(f'not a report of the hidden tests run with --handin (no "{KEY}" key)')
    tests = [t["metadata"] for t in report.get("tests", [])
             if "max_score" in t.get("metadata", {})]
    return Result.from_json(dict(report[KEY], tests=tests))


def read(path: Path) -> Result:
    try:
        report = json.loads(Path(path).read_text())
    except ValueError as e:
        raise ValueError(f"{path}: not a JSON report ({e})") from None
    try:
        return to_result(report)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
