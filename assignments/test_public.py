"""Public tests: the checks of `python check.py`, for pytest (`pytest test_public.py`).

Each public graph is one test, and a failure says what the grader would: the graph, the
gradients, the likely mistake. The grader also runs hidden tests on other graphs.
"""
import os
import sys

import pytest

# Find check.py and engine.py next to this file, wherever pytest is run from.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from check import CASES, run_all  # noqa: E402
from engine import Value  # noqa: E402

FAILURES = run_all(Value)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_public(case):
    if case["id"] in FAILURES:
        pytest.fail(str(FAILURES[case["id"]]), pytrace=False)
