"""Run the hidden suite against hand-ins: one pytest session, collected once, many hand-ins.

`GradingPlugin` takes over pytest's run loop: for each job it loads the hand-in into the
sandbox (one process per hand-in, reused across its tests), runs every collected test item
against it, and hands the `Result` to a callback. The tests, their `engine` fixture and the
recording of each outcome are the plugin's (plugin.py), as under `pytest --handin`; pytest
itself never sees hand-in code.
"""
from __future__ import annotations

import gc
import inspect
import os
import warnings
from pathlib import Path
from typing import Callable, Iterable

import pytest
from _pytest.outcomes import Exit
from _pytest.reports import TestReport
from _pytest.runner import runtestprotocol

from ..checking.instance import Instances
from ..course.visibility import shown_first
from ..results.model import Result
from ..sandbox.client import Sandbox, SandboxFailure
from ..sandbox.limits import Limits
from ..suite.index import INI, SUITE
from . import plugin as suite_plugin
from .plugin import GRADING, engine_of
from .session import Grading, test_result


class Job:
    """One hand-in to grade, with whatever the caller wants to carry into the result.

    `hooks`: each test goes through pytest's per-test protocol (setup, call, teardown, a report
    for each), as under `pytest --handin`. `grader grade` and a warm batch worker grade with
    `hooks=False`: the collected tests are called directly (see `call_directly`), with the
    same results."""

    def __init__(self, path: Path, extra: dict | None = None, hooks: bool = True):
        self.path = Path(path)
        self.extra = extra or {}
        self.hooks = hooks


class GradingPlugin:
    def __init__(self, jobs: Iterable[Job], emit: Callable[[Job, Result], None], limits: Limits,
                 sandbox: Sandbox | None = None, instances: Instances = Instances(),
                 visibility: dict[str, str] | None = None):
        self.jobs, self.emit, self.limits = jobs, emit, limits
        self.instances = instances
        self.visibility = visibility or {}
        self.sandbox = sandbox or Sandbox(limits)
        self.failure: Exception | None = None
        self.direct: bool | None = None  # whether the collected tests can be called directly

    def pytest_runtest_makereport(self, item, call):
        # The plugin has recorded the outcome (its hook runs first).
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
        # pytest, the suite and the checking side are here for good: the cycle collector need
        # not walk them again while hand-in after hand-in is graded (a warm batch worker)
        gc.freeze()
        try:
            sandbox.start()
            for job in self.jobs:
                self.emit(job, self.grade(job, session.config, items))
        except Exception as e:  # the grader's own failure: `run` raises it, pytest stays quiet
            self.failure = e
        finally:
            sandbox.close()
        return True

    def grade(self, job: Job, config, items) -> Result:
        grading = Grading(job.path, self.sandbox, self.limits, job.extra, self.instances)
        config.stash[GRADING] = grading
        try:
            if grading.open():
                order = shown_first(items, self.visibility)
                if self.direct is None:
                    self.direct = all(map(callable_directly, items))
                if not job.hooks and self.direct:
                    call_directly(order, grading)
                else:
                    for i, item in enumerate(order):
                        runtestprotocol(item, log=False,
                                        nextitem=order[i + 1] if i + 1 < len(order) else None)
            return grading.finish(items)
        except Exception as e:  # whatever went wrong, it costs this hand-in only, with its maximum
            return grading.failed(items, e)


def callable_directly(item) -> bool:
    """Whether calling the test function is all pytest's protocol would do for `item`: a plain
    function taking only the `engine` fixture and its parameters, with no mark but `weight`
    and `parametrize` (no other fixture, no xunit set-up, no skip or xfail)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return (isinstance(item, pytest.Function) and inspect.isfunction(item.obj)
            and not inspect.iscoroutinefunction(item.obj)
            and set(item.fixturenames) <= {"engine", "request", *params}
            and set(item._fixtureinfo.argnames) <= {"engine", *params}
            and all(m.name in ("weight", "parametrize") for m in item.iter_markers()))


def call_directly(items, grading: Grading) -> None:
    """Run `items` against the loaded hand-in as pytest's protocol would, without its per-test
    hooks (a third of a warm worker's time per hand-in): each test function is called with
    the `engine` fixture's value and its parameters, and its outcome (the exception it raised,
    or none) recorded as the plugin records it. Warnings are kept from the terminal, as pytest
    keeps them; they change no outcome there either."""
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for item in items:
            excinfo = None
            try:
                args = {**getattr(getattr(item, "callspec", None), "params", {}),
                        "engine": engine_of(grading)}
                item.obj(**{name: args[name] for name in item._fixtureinfo.argnames})
            except (Exit, KeyboardInterrupt, SandboxFailure):  # the last: the whole hand-in's
                raise
            except BaseException as e:  # as pytest's CallInfo catches it
                excinfo = pytest.ExceptionInfo.from_exception(e)
            grading.record(item, excinfo)


# pytest's builtin plugins the hidden suite does not use (it needs collection, parametrize,
# marks, fixtures and the run loop); leaving them out saves their import, set-up and per-test
# hooks. None of them is a limit: the sandbox, the memory/CPU limits and the per-test and
# per-hand-in deadlines are all the grader's own.
UNUSED_PLUGINS = ("cacheprovider", "terminal", "capture", "doctest", "junitxml", "pastebin",
                  "legacypath", "stepwise", "setuponly", "setupplan", "unittest", "logging",
                  "tmpdir", "monkeypatch", "recwarn", "debugging", "faulthandler", "subtests",
                  "unraisableexception", "threadexception")


def pytest_args() -> list[str]:
    """The suite's own pytest run. The suite's plugin (its fixture and outcomes, as under plain
    pytest) is passed to `pytest.main` as a module: named with `-p`, pytest would first look for
    it among every installed distribution's entry points."""
    args = [str(SUITE), "-c", str(INI), "--rootdir", str(SUITE), "--noconftest",
            "--assert=plain"]  # the suite fails with its own messages, never a bare assert
    for name in UNUSED_PLUGINS:
        args += ["-p", "no:" + name]
    return args


def run(jobs: Iterable[Job], emit: Callable[[Job, Result], None],
        limits: Limits = Limits(), sandbox: Sandbox | None = None,
        instances: Instances = Instances(), visibility: dict[str, str] | None = None) -> None:
    """Grade every job in one pytest session; `emit` receives each result as soon as it is done.

    `sandbox` may be one the caller launched early (see `Sandbox.launch`); it is closed when the
    run ends. `instances`: the values each hand-in is graded on (the course secret's, or the
    published ones). `visibility` (test id -> visibility, `grader.course.scoring.visibilities`) sets the
    order the tests run in (`grader.course.visibility.shown_first`); results list them in teaching order."""
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the suite needs no third-party plugin
    os.environ.pop("PYTEST_ADDOPTS", None)
    plugin = GradingPlugin(jobs, emit, limits, sandbox, instances, visibility)
    try:
        code = pytest.main(pytest_args(), plugins=[suite_plugin, plugin])
    finally:
        plugin.sandbox.close()  # already closed unless pytest failed before the run loop
    if plugin.failure is not None:
        raise plugin.failure
    if code not in (0, 1) and code != pytest.ExitCode.TESTS_FAILED:
        raise RuntimeError(f"the hidden test suite could not run (pytest exit {int(code)})")


class _Collector:
    def __init__(self):
        self.items = []

    def pytest_collection_finish(self, session):
        self.items = list(session.items)


def suite_tests() -> list:
    """Every test of the hidden suite, unscored and without grading anyone (for a hand-in lost
    before any result showed the suite's maximum)."""
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    collector = _Collector()
    pytest.main([*pytest_args(), "--collect-only"], plugins=[suite_plugin, collector])
    return [test_result(item, None) for item in collector.items]


def grade(path: Path, limits: Limits = Limits(), extra: dict | None = None,
          sandbox: Sandbox | None = None, instances: Instances = Instances(),
          visibility: dict[str, str] | None = None) -> Result:
    results = []
    run([Job(path, extra, hooks=False)], lambda job, result: results.append(result), limits,
        sandbox, instances, visibility)
    return results[0]


__all__ = ["Job", "grade", "run"]
