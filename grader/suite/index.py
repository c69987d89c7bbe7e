"""What the hidden suite holds: where it lies, the order its files are taught in, and each test
with its group, weight and title as the course file names them. Read by the course file, the
plugin and the runner; never shown to hand-ins."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

SUITE = Path(__file__).parent
INI = SUITE / "pytest.ini"
SUITE_ORDER = ["test_forward", "test_local", "test_chain", "test_reuse", "test_nonlinear",
               "test_random"]


@dataclass(frozen=True)
class SuiteTest:
    group: str       # its module without `test_`: forward, local, ...
    name: str        # its function's name
    weight: float    # its @weight(n)
    title: str       # its docstring's first line, the name students see
    cases: int = 1   # how many results it gives (a parametrized test gives one per case)


@functools.cache
def suite() -> tuple[SuiteTest, ...]:
    """The hidden tests as the course file names them, in teaching order."""
    import importlib
    import inspect

    found = sorted(p.stem for p in SUITE.glob("test_*.py"))
    tests = []
    for module in [m for m in SUITE_ORDER if m in found] + [m for m in found
                                                            if m not in SUITE_ORDER]:
        mod = importlib.import_module(f"grader.suite.{module}")
        functions = [fn for name, fn in inspect.getmembers(mod, inspect.isfunction)
                     if name.startswith("test_") and fn.__module__ == mod.__name__]
        for fn in sorted(functions, key=lambda fn: fn.__code__.co_firstlineno):
            marks = getattr(fn, "pytestmark", [])
            weight = [m.args[0] for m in marks if m.name == "weight"]
            cases = math.prod(len(m.args[1]) for m in marks if m.name == "parametrize")
            title = (fn.__doc__ or fn.__name__).strip().splitlines()[0]
            tests.append(SuiteTest(module.removeprefix("test_"), fn.__name__,
                                   float(weight[0]) if weight else 1.0, title, cases))
    return tuple(tests)


def suite_groups() -> list[str]:
    return list(dict.fromkeys(t.group for t in suite()))


def suite_tests() -> list[str]:
    return [t.name for t in suite()]
