"""Run the hidden suite against hand-ins: one pytest session, collected once, many hand-ins.

`GradingPlugin` takes over pytest's run loop: for each job it loads the hand-in into the
sandbox (one process per hand-in, reused across its tests), runs every collected test item
against it, and hands the `Result` to a callback. pytest itself never sees hand-in code.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Iterable

import pytest
from _pytest.reports import TestReport
from _pytest.runner import runtestprotocol

from . import __version__
from .checking.check import Checker, Failed, error_text
from .checking.misconceptions import explain
from .handin import HandinError, load
from .results import Result, TestResult
from .sandbox.client import Fault, Sandbox
from .sandbox.limits import Limits

SUITE = Path(__file__).with_name("suite")
INI = SUITE / "pytest.ini"
SUITE_ORDER = ["test_forward", "test_local", "test_chain", "test_reuse", "test_nonlinear",
               "test_random"]


class Job:
    """One hand-in to grade, with whatever the caller wants to carry into the result."""

    def __init__(self, path: Path, extra: dict | None = None):
        self.path = Path(path)
        self.extra = extra or {}


class GradingPlugin:
    def __init__(self, jobs: Iterable[Job], emit: Callable[[Job, Result], None], limits: Limits,
                 sandbox: Sandbox | None = None):
        self.jobs, self.emit, self.limits = jobs, emit, limits
        self.sandbox = sandbox or Sandbox(limits)
        self.handin = None
        self.outcomes: dict[str, TestResult] = {}
        self.failure: Exception | None = None

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "weight(n): points the test is worth")

    def pytest_collection_modifyitems(self, items):
        """Students read the tests in teaching order, not in file-name order."""
        def place(item):
            name = item.module.__name__.rsplit(".", 1)[-1]
            return SUITE_ORDER.index(name) if name in SUITE_ORDER else len(SUITE_ORDER)
        items.sort(key=place)

    @pytest.fixture
    def engine(self):
        return Checker(self.handin.ask)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        if call.when == "call" or call.excinfo is not None:
            self.outcomes.setdefault(item.nodeid, test_result(item, call.excinfo))
        if call.excinfo is None or isinstance(call.excinfo.value, pytest.skip.Exception):
            return None  # pytest's own report: cheap for a pass
        # A failure: nobody reads pytest's report of it (the outcome above is the result), so
        # skip pytest's traceback formatting, which parses the suite's source for every failure.
        return TestReport(item.nodeid, item.location, {}, "failed",
                          f"{type(call.excinfo.value).__name__} (details in the result)",
                          call.when, [], call.duration, call.start, call.stop)

    def pytest_runtestloop(self, session):
        items = session.items
        sandbox = self.sandbox
        try:
            sandbox.start()
            for job in self.jobs:
                self.emit(job, self.grade(job, items, sandbox))
        except Exception as e:  # the grader's own failure: `run` raises it, pytest stays quiet
            self.failure = e
        finally:
            sandbox.close()
        return True

    def grade(self, job: Job, items, sandbox: Sandbox) -> Result:
        started = time.monotonic()
        extra = {"grader_version": __version__, "sandbox": sandbox.describe(),
                 "limits": self.limits.to_json(), **job.extra}
        try:
            h = load(job.path)
        except HandinError as e:
            return unloadable(items, str(e), extra, started)
        except OSError as e:
            return unloadable(items, f"{job.path.name}: cannot be read ({e.strerror})",
                              extra, started)
        extra["handin"] = h.describe()
        self.handin = sandbox.load(h.cells)
        try:
            info = self.handin.open()
        except Fault as f:
            self.handin.close()
            return unloadable(items, f"{h.path.name}: {f} while loading", extra, started,
                              self.handin.output)
        notes = [_cell_error(e) for e in info["cell_errors"]]
        if not info["loaded"]:
            self.handin.close()
            return unloadable(items, f"{h.path.name}: defines no `Value` class"
                              + (" (" + "; ".join(notes) + ")" if notes else ""),
                              extra, started, self.handin.output)
        self.outcomes = {}
        for i, item in enumerate(items):
            runtestprotocol(item, nextitem=items[i + 1] if i + 1 < len(items) else None,
                            log=False)
        self.handin.close()
        tests = [self.outcomes.get(item.nodeid) or test_result(item, None) for item in items]
        result = Result(tests, "", time.monotonic() - started, extra)
        result.output = _output(result, self.handin, notes)
        return result


def test_result(item, excinfo) -> TestResult:
    marker = item.get_closest_marker("weight")
    points = float(marker.args[0]) if marker else 1.0
    doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
    name = doc + (f" [{item.callspec.id}]" if hasattr(item, "callspec") else "")
    if excinfo is None:
        return TestResult(name, points, points, "Passed.")
    err = excinfo.value
    if isinstance(err, Failed):
        extra = {"misconceptions": err.misconceptions}
        if err.graph and len(err.graph["nodes"]) <= 40:
            extra["graph"] = err.graph
        return TestResult(name, 0.0, points, err.output, extra=extra)
    # A fault in the suite itself: never show its traceback (it would reveal hidden code).
    return TestResult(name, 0.0, points,
                      f"The grader could not run this test ({type(err).__name__}); "
                      "please tell your instructor.", extra={"misconceptions": []})


def _cell_error(e: dict) -> str:
    where = e.get("where") or {}
    place = f"{where['file']}, line {where['line']}" if where else "while loading"
    return f"{place}: {error_text(e)}"


def _output(result: Result, handin, notes: list[str]) -> str:
    """The top of the student's feedback: what the failures mean, then what their code said."""
    parts = []
    if result.misconceptions:
        parts.append("What the failed tests point to:\n" + "\n".join(
            f"  - {explain(m)}" for m in result.misconceptions))
    if notes:
        parts.append("While loading your code (grading went on):\n  "
                     + "\n  ".join(notes))
    if handin.output:
        parts.append("Your code printed:\n" + handin.output)
    if handin.dropped:
        parts.append(f"[output cut: {handin.dropped} more bytes were not kept]")
    return "\n\n".join(parts)


def unloadable(items, reason: str, extra: dict, started: float, printed: str = "") -> Result:
    """Score 0 on every test, each saying why, so the maximum is still known."""
    tests = [TestResult(t.name, 0.0, t.max_score, f"Not graded: {reason}")
             for t in (test_result(item, None) for item in items)]
    extra = dict(extra, error=reason)
    output = f"Your hand-in could not be graded: {reason}"
    if printed:
        output += "\n\nYour code printed:\n" + printed
    return Result(tests, output, time.monotonic() - started, extra)


# pytest's builtin plugins the hidden suite does not use (it needs collection, parametrize,
# marks, fixtures and the run loop); leaving them out saves their import, set-up and per-test
# hooks. None of them is a limit: the sandbox, the memory/CPU limits and the per-test and
# per-hand-in deadlines are all the grader's own.
UNUSED_PLUGINS = ("cacheprovider", "terminal", "capture", "doctest", "junitxml", "pastebin",
                  "legacypath", "stepwise", "setuponly", "setupplan", "unittest", "logging",
                  "tmpdir", "monkeypatch", "recwarn", "debugging", "faulthandler", "subtests",
                  "unraisableexception", "threadexception")


def pytest_args() -> list[str]:
    args = [str(SUITE), "-c", str(INI), "--rootdir", str(SUITE), "--noconftest",
            "--assert=plain"]  # the suite fails with its own messages, never a bare assert
    for name in UNUSED_PLUGINS:
        args += ["-p", "no:" + name]
    return args


def run(jobs: Iterable[Job], emit: Callable[[Job, Result], None],
        limits: Limits = Limits(), sandbox: Sandbox | None = None) -> None:
    """Grade every job in one pytest session; `emit` receives each result as soon as it is done.

    `sandbox` may be one the caller launched early (see `Sandbox.launch`); it is closed when the
    run ends."""
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the suite needs no third-party plugin
    os.environ.pop("PYTEST_ADDOPTS", None)
    plugin = GradingPlugin(jobs, emit, limits, sandbox)
    try:
        code = pytest.main(pytest_args(), plugins=[plugin])
    finally:
        plugin.sandbox.close()  # already closed unless pytest failed before the run loop
    if plugin.failure is not None:
        raise plugin.failure
    if code not in (0, 1) and code != pytest.ExitCode.TESTS_FAILED:
        raise RuntimeError(f"the hidden test suite could not run (pytest exit {int(code)})")


def grade(path: Path, limits: Limits = Limits(), extra: dict | None = None,
          sandbox: Sandbox | None = None) -> Result:
    results = []
    run([Job(path, extra)], lambda job, result: results.append(result), limits, sandbox)
    return results[0]


__all__ = ["Job", "grade", "run"]
