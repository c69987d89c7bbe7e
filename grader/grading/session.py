"""One hand-in graded by the hidden tests: loaded once into the sandbox, asked by every test
through the `engine` fixture, its `Result` built from what each test recorded.

The same object serves `grader grade`/`grader batch` (one per hand-in in a warm session, see
runner.py) and `pytest --handin PATH` (one per session, see plugin.py).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .. import __version__
from ..checking.check import Checker, Failed
from ..checking.instance import Instances
from ..checking.misconceptions import explain
from ..checking.reasons import cell_error, load_errors, no_value, source_at
from ..course.visibility import PRINTED, test_id
from ..results.model import Result, TestResult
from ..sandbox.client import Fault, Sandbox, SandboxFailure
from ..sandbox.limits import Limits
from ..sandbox.strikes import Strikes
from .handin import HandinError, load


class Grading:
    def __init__(self, path: Path, sandbox: Sandbox, limits: Limits, extra: dict | None = None,
                 instances: Instances = Instances()):
        self.path, self.sandbox, self.limits = Path(path), sandbox, limits
        self.instances = instances  # how this run draws each hand-in's values
        self.job_extra = extra or {}
        self.handin = None            # the sandbox's handle on the loaded hand-in
        self.error: str | None = None  # why it cannot be graded, once `open` found out
        self.printed = ""             # what it printed before it failed to load
        self.notes: list[str] = []    # cells that failed while loading (grading goes on)
        self.outcomes: dict[str, TestResult] = {}
        self.ran: list[str] = []      # the tests recorded, in the order they ran
        self.loading = ("", 0)        # what it printed while loading (text, bytes dropped)
        self.opened = False
        self._checker: Checker | None = None
        self.strikes = Strikes()  # what it did to its process, so as not to let it again

    def open(self) -> bool:
        """Load the hand-in into the sandbox; False, with `error` saying why, if it cannot be
        graded (its tests then score 0 without running)."""
        self.sandbox.start()
        self.opened = True
        self.started = time.monotonic()
        self.extra = {"grader_version": __version__, "sandbox": self.sandbox.describe(),
                      "python": self.sandbox.python, "limits": self.limits.to_json(),
                      **self.job_extra}
        try:
            h = load(self.path)
        except HandinError as e:
            self.error = str(e)
            return False
        except OSError as e:
            self.error = f"{self.path.name}: cannot be read ({e.strerror})"
            return False
        except Exception as e:  # a loader bug must cost this hand-in only, with its maximum
            self.error = (f"{self.path.name}: the grader could not read this file "
                          f"({type(e).__name__}); please tell your instructor")
            return False
        self.extra["handin"] = h.describe()
        self.handin = self.sandbox.load(h.cells)
        try:
            info = self.handin.open()
        except Fault as f:
            self.handin.close()
            self.error, self.printed = f"{h.name}: {f} while loading", self.handin.output
            return False
        python = self.sandbox.python
        self.notes = [cell_error(e, h.sources, python) for e in load_errors(info)]
        if not info["loaded"]:
            self.handin.close()
            self.error = no_value(h.name, info, h.sources, python)
            at = source_at(self.error, info, h.sources)
            if at:
                self.extra["error_at"] = at
            self.notes = [n for n in self.notes if not self.error.startswith(n)]
            self.printed = self.handin.output
            return False
        instance = self.instances.of(h.cells)
        self.extra["instance"] = self.instances.record(instance)
        # one per hand-in: it keeps its probes
        self._checker = Checker(self.ask, h.cells, instance)
        self.loading = self.handin.printed()
        return True

    def ask(self, request: dict) -> dict:
        """The hand-in's answer to one request, unless it has shown it kills or hangs its
        process on such a request (then NotRun, and no new process: see strikes.py)."""
        self.strikes.check(request)
        try:
            answer = self.handin.ask(request)
        except Fault as f:
            self.strikes.fault(request, f)
            raise
        self.strikes.answered(request, answer)
        return answer

    def checker(self) -> Checker | None:
        """What a test's `engine` is: the loaded hand-in (loaded on first use), or None if it
        cannot be graded."""
        if not self.opened:
            self.open()
        return self._checker

    def record(self, item, excinfo) -> None:
        """A test's outcome, from its first failing phase or its call, with what the hand-in
        printed while it ran (and the order it ran in: `extra["ran"]`)."""
        if item.nodeid in self.outcomes:
            return
        if self.error is not None:
            self.outcomes[item.nodeid] = not_graded(item, self.error)
            return
        test = test_result(item, excinfo)
        test.extra["ran"] = len(self.ran)
        if self.strikes.name(test.name):
            test.extra["not_run"] = True
        if self.handin is not None:
            with_printed(test, *self.handin.printed())
        self.outcomes[item.nodeid] = test
        self.ran.append(item.nodeid)

    def failed(self, items, error: Exception) -> Result:
        """The result when grading this hand-in went wrong in a way nothing above caught: 0 out
        of the full maximum, saying so in one sentence (the grader's fault, not the student's),
        marked `lost` so that `grader batch --resume` grades it again."""
        if self.handin is not None:
            try:
                self.handin.close()
            except Exception:  # the next hand-in gets a new sandbox host
                self.sandbox.close(kill=True)
        if not self.opened:
            self.started, self.extra = time.monotonic(), dict(self.job_extra)
        what = (f"{error}, while grading this hand-in" if isinstance(error, SandboxFailure)
                else f"the grader failed while grading this hand-in ({type(error).__name__})")
        self.error = f"{self.path.name}: {what}; please tell your instructor"
        return well_formed(unloadable(items, self.error, dict(self.extra, lost=True),
                                      self.started))

    def finish(self, items) -> Result:
        """Close the hand-in; the result over `items`, in their order."""
        if self.error is not None:
            return well_formed(unloadable(items, self.error, self.extra, self.started,
                                          self.printed, self.notes))
        self.handin.close()
        if self.ran:  # what it printed after its last test (at exit, say) goes with that test
            with_printed(self.outcomes[self.ran[-1]], *self.handin.printed(),
                         when="after its last test")
        tests = [self.outcomes.get(item.nodeid) or test_result(item, None) for item in items]
        self.extra["processes"] = self.handin.processes
        result = Result(tests, "", time.monotonic() - self.started, self.extra)
        result.output = _output(result, *self.loading, self.notes)
        return well_formed(result)


def test_result(item, excinfo) -> TestResult:
    name, points, which = described(item)
    test = {"test": which}
    if excinfo is None:
        return TestResult(name, points, points, "Passed.", extra=test)
    err = excinfo.value
    if isinstance(err, Failed):
        extra = {**test, "misconceptions": err.misconceptions}
        if err.graph and len(err.graph["nodes"]) <= 40:
            extra["graph"] = err.graph
        return TestResult(name, 0.0, points, err.output, extra=extra)
    # A fault in the suite itself: never show its traceback (it would reveal hidden code).
    return TestResult(name, 0.0, points,
                      f"The grader could not run this test ({type(err).__name__}); "
                      "please tell your instructor.", extra={**test, "misconceptions": []})


DESCRIBED = pytest.StashKey[tuple]()


def described(item) -> tuple[str, float, str]:
    """A test item's name as students read it, its points, and which test it is (for the
    course file's weights and visibility, `grader.course.scoring`): the same for every hand-in
    of a session, so worked out once per item."""
    found = item.stash.get(DESCRIBED, None)
    if found is None:
        marker = item.get_closest_marker("weight")
        doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
        found = item.stash[DESCRIBED] = (
            doc + (f" [{item.callspec.id}]" if hasattr(item, "callspec") else ""),
            float(marker.args[0]) if marker else 1.0, test_id(item))
    return found


def not_graded(item, reason: str) -> TestResult:
    t = test_result(item, None)
    return TestResult(t.name, 0.0, t.max_score, f"Not graded: {reason}", extra=t.extra)


PRINTED_CAP = 2000  # characters of a test's printed output shown with it


def with_printed(test: TestResult, text: str, dropped: int,
                 when: str = "during this test") -> None:
    """What the hand-in printed while `test` ran, under the test's own feedback (capped): it
    is shown exactly where the test is, never with another test's visibility.
    `extra["printed"]` counts the characters."""
    if not text and not dropped:
        return
    more = max(len(text) - PRINTED_CAP, 0)
    shown = text[:PRINTED_CAP] + (f"\n[{more} more characters not shown]" if more else "")
    if dropped:
        shown += f"\n[output cut: {dropped} more bytes were not kept]"
    test.output = f"{test.output}{PRINTED} {when}:\n{shown}".lstrip()
    test.extra["printed"] = test.extra.get("printed", 0) + len(text)


def _output(result: Result, printed: str, dropped: int, notes: list[str]) -> str:
    """The top of the student's feedback: what the failures mean, then what their code printed
    while loading (what it printed during a test is that test's)."""
    parts = []
    if result.misconceptions:
        parts.append("What the failed tests point to:\n" + "\n".join(
            f"  - {explain(m)}" for m in result.misconceptions))
    if notes:
        parts.append("While loading your code (grading went on):\n  "
                     + "\n  ".join(notes))
    if printed:
        parts.append("Your code printed while loading:\n" + printed)
    if dropped:
        parts.append(f"[output cut: {dropped} more bytes were not kept]")
    return "\n\n".join(parts)


def well_formed(result: Result) -> Result:
    """The result with every string valid Unicode: a hand-in's exception message may hold half
    a surrogate pair, which no output format (UTF-8 files, a terminal) can encode."""
    try:  # nearly always: every string encodes (one pass of the C encoder finds out)
        json.dumps([result.output, result.extra, [(t.name, t.output, t.extra)
                                                  for t in result.tests]],
                   ensure_ascii=False).encode("utf-8")
        return result
    except (UnicodeEncodeError, TypeError, ValueError):
        pass
    for t in result.tests:
        t.name, t.output, t.extra = _text(t.name), _text(t.output), _text(t.extra)
    result.output, result.extra = _text(result.output), _text(result.extra)
    return result


def _text(x):
    if isinstance(x, str):
        try:
            x.encode("utf-8")
            return x
        except UnicodeEncodeError:
            return x.encode("utf-8", "backslashreplace").decode("utf-8")  # shown as \ud800
    if isinstance(x, dict):
        return {_text(k): _text(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_text(v) for v in x]
    return x


def unloadable(items, reason: str, extra: dict, started: float, printed: str = "",
               notes: list[str] = ()) -> Result:
    """Score 0 on every test, each saying why, so the maximum is still known."""
    tests = [not_graded(item, reason) for item in items]
    extra = dict(extra, error=reason)
    output = f"Your hand-in could not be graded: {reason}"
    if notes:
        output += "\n\nWhile loading your code:\n  " + "\n  ".join(notes)
    if printed:
        output += "\n\nYour code printed:\n" + printed
    return Result(tests, output, time.monotonic() - started, extra)
