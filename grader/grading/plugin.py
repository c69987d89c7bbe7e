"""The hidden suite's pytest plugin: `pytest --pyargs grader.suite --handin PATH`.

Installed as a `pytest11` entry point (or loaded with `-p grader.grading.plugin`), it adds `--handin`
and the grading limits, the `weight` mark and the `engine` fixture the hidden tests call, and
records each test's outcome as the `TestResult` students see. The hand-in runs in the sandbox,
never in pytest's process. With pytest-json-report (`--json-report`) each test's metadata is its
Gradescope entry, and `grader convert` turns the report into results.json (see json_report.py).

`grader grade` and `grader batch` load this same plugin and take over pytest's run loop to grade
many hand-ins in one collected session (see runner.py).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..report.terminal import visible
from ..results.model import points
from ..suite.index import SUITE_ORDER
from .options import OPTIONS

GRADING = pytest.StashKey["Grading"]()  # the hand-in the tests are asking now


def pytest_addoption(parser):
    group = parser.getgroup("grader", "grading a hand-in with the hidden tests")
    group.addoption("--handin", metavar="PATH",
                    help="Hand-in to grade: a .py, an .ipynb or a folder holding one. It runs in "
                         "the sandbox, never in pytest's process.")
    for o in OPTIONS:  # None: the course file's, else the default
        group.addoption(o.flag, dest="grader_" + o.dest, type=o.type, default=None,
                        metavar=o.type.__name__.upper(),
                        help=f"{o.help} [default: the course file's, else {o.default}]")
    group.addoption("--sandbox", dest="grader_sandbox", choices=("auto", "strict"),
                    default="auto",
                    help="auto: the strongest isolation this machine allows; strict: refuse to "
                         "grade below full isolation [default: auto]")
    group.addoption("--allow-import", dest="grader_imports", action="append", default=[],
                    metavar="NAME",
                    help="A package hand-ins may import (repeatable; numpy unless given; "
                         "`none` for none).")
    group.addoption("--python", metavar="PATH", dest="grader_python",
                    help="Python interpreter (3.10+) that runs hand-ins [default: the grader's "
                         "own].")
    group.addoption("--published-values", dest="grader_published_values", action="store_true",
                    help="Grade on the values written in the hidden suite, not on the hand-in's "
                         "own instance (to reproduce a grade by hand).")
    group.addoption("--config", dest="grader_config", metavar="PATH",
                    help="The course file (weights, visibility, points, limits) [default: "
                         "grader.toml in this folder, if any].")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config):
    """A hand-in folder's own conftest.py would run in pytest's process: never start in one."""
    path = early_config.known_args_namespace.handin
    folder = Path(path).resolve() if path is not None else None
    here = early_config.invocation_params.dir.resolve()
    if folder is not None and folder.is_dir() and (here == folder or folder in here.parents):
        raise pytest.UsageError(f"--handin {path}: run pytest from outside the hand-in's "
                                "folder (a conftest.py in it would run in pytest's process)")


def pytest_configure(config):
    config.addinivalue_line("markers", "weight(n): points the test is worth")
    path = config.getoption("handin")
    if path is not None:
        if not Path(path).exists():
            raise pytest.UsageError(f"--handin {path}: no such file or folder")
        python = config.getoption("grader_python")
        if python is not None:
            from ..sandbox.interpreter import probe

            try:
                probe(python)
            except ValueError as e:
                raise pytest.UsageError(f"--python: {e}") from None
            os.environ["GRADER_PYTHON"] = python  # where the sandbox looks, as under `grader`
        config.pluginmanager.register(OneHandin(config, Path(path)), "grader-handin")


def pytest_collection_modifyitems(items):
    """Students read the tests in teaching order, not in file-name order."""
    def place(item):
        package, _, name = getattr(getattr(item, "module", None), "__name__", "").rpartition(".")
        return (SUITE_ORDER.index(name) if package == "grader.suite" and name in SUITE_ORDER
                else len(SUITE_ORDER))
    items.sort(key=place)


@pytest.fixture
def engine(request):
    """The hand-in under test, as the hidden tests ask it: `engine.check(graph, root)`."""
    return engine_of(request.config.stash.get(GRADING, None))


def engine_of(grading):
    """The `engine` fixture's value for the hand-in `grading` holds (also what a warm batch
    worker passes the tests it calls without pytest's per-test protocol, see runner.py)."""
    if grading is None:
        pytest.exit("grader: the hidden tests grade a hand-in: add --handin PATH (a .py, an "
                    ".ipynb or a folder holding one)", returncode=pytest.ExitCode.USAGE_ERROR)
    try:
        checker = grading.checker()
    except RuntimeError as e:  # the sandbox did not start: the grader's own failure
        pytest.exit(f"grader: {e}", returncode=pytest.ExitCode.INTERNAL_ERROR)
    if checker is None:
        pytest.fail(f"Not graded: {grading.error}", pytrace=False)
    return checker


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    grading = item.config.stash.get(GRADING, None)
    if grading is not None and (call.when == "call" or call.excinfo is not None):
        grading.record(item, call.excinfo)
    report = (yield).get_result()
    test = grading.outcomes.get(item.nodeid) if grading is not None and report.failed else None
    if test is not None:  # the student's feedback, its control characters shown, not obeyed
        report.longrepr = visible(test.output)


class OneHandin:
    """`--handin PATH`: pytest's own run loop grades one hand-in, loaded into the sandbox when
    the first test asks for it; its result goes to the terminal and to the JSON report."""

    def __init__(self, config, path: Path):
        from ..course.file import find, load
        from ..sandbox.client import Sandbox
        from ..sandbox.isolation import Isolation
        from .session import Grading

        given = config.getoption("grader_config")
        if given is not None and not Path(given).is_file():
            raise pytest.UsageError(f"--config {given}: no such file")
        try:
            self.course = load(find(given)).with_options(
                **{o.dest: config.getoption("grader_" + o.dest) for o in OPTIONS})
        except ValueError as e:
            raise pytest.UsageError(str(e))
        limits = self.course.limits
        try:
            isolation = Isolation.chosen(config.getoption("grader_imports"),
                                         config.getoption("grader_sandbox"),
                                         self.course.allowed_imports)
        except ValueError as e:
            raise pytest.UsageError(f"--allow-import: {e}") from None
        instances = self.course.instances(config.getoption("grader_published_values"))
        self.grading = Grading(path, Sandbox(limits, isolation), limits, instances=instances)
        config.stash[GRADING] = self.grading
        self.result = None
        self.teaching: list = []  # the items in teaching order

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        """Tests shown sooner run first (see `grader.grading.runner.shown_first`); the result lists
        them in teaching order."""
        from ..course.scoring import visibilities
        from ..course.visibility import shown_first

        self.teaching = list(items)
        items[:] = shown_first(items, visibilities(self.course))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_sessionfinish(self, session):
        # before any reporter's own session-finish (pytest-json-report writes its file there)
        try:
            if self.grading.opened:
                ran = [item for item in self.teaching if item.nodeid in self.grading.outcomes]
                from ..course.scoring import apply

                self.result = apply(self.grading.finish(ran), self.course)
        finally:
            self.grading.sandbox.close()
        yield

    def pytest_terminal_summary(self, terminalreporter):
        r = self.result
        if r is None:
            return
        terminalreporter.write_sep("-", f"grader: {self.grading.path.name}: "
                                        f"{points(r.score)} / {points(r.max_score)} points")
        if r.output:
            terminalreporter.write_line(visible(r.output))

    @pytest.hookimpl(optionalhook=True)
    def pytest_json_runtest_metadata(self, item, call):
        test = self.grading.outcomes.get(item.nodeid)
        return test.to_json() if test is not None else None

    @pytest.hookimpl(optionalhook=True)
    def pytest_json_modifyreport(self, json_report):
        from .json_report import annotate

        if self.result is not None:
            annotate(json_report, self.result)
