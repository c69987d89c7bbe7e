"""The hidden suite under plain pytest: `pytest --pyargs grader.suite --handin PATH`.

Run as an instructor runs it (a subprocess, from a folder of its own, the plugin found through
its entry point), it must select, stop and exit like pytest, take the same limits as
`grader grade`, keep the hand-in in the sandbox, and write a pytest-json-report whose conversion
is the results.json `grader grade` gives for the same hand-in and options.
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from mutants import MUTANTS, REFERENCE, source

from grader.course.file import Course
from grader.course.scoring import apply
from grader.grading.json_report import read
from grader.grading.options import OPTIONS, limits_from
from grader.grading.runner import Job, run
from grader.platforms.gradescope import to_gradescope
from grader.results.model import Result

ROOT = Path(__file__).resolve().parents[1]
STUB = ROOT / "assignments" / "engine.py"
BIN = Path(sys.executable).parent
# Not the defaults, so a setting that does not reach the sandbox shows in extra_data.limits.
SETTINGS = {"--test-timeout": "1.5", "--handin-timeout": "30", "--cell-timeout": "5",
            "--memory": "768", "--max-output": "4096"}
LIMITS = limits_from({o.dest: o.type(SETTINGS[o.flag]) for o in OPTIONS})
# Engines keeping `_prev` in a set with an overwrite bug: which failing graph shows the bug,
# and so each test's feedback, varies from run to run of `grader grade` itself (the score and
# the overall diagnosis do not).
ORDER_DEPENDENT = {f"mutant:{n}" for n, (m, _) in MUTANTS.items() if m.endswith("-overwrite")}


def pytest_route(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`pytest --pyargs grader.suite ARGS` as an instructor's shell runs it (`runner.run` turns
    plugin autoloading off in this process's environment for its own session)."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_ADDOPTS")}
    return subprocess.run([str(BIN / "pytest"), "--pyargs", "grader.suite", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**clean, **(env or {})}, stdin=subprocess.DEVNULL)


def with_settings() -> list[str]:
    return [x for flag, value in SETTINGS.items() for x in (flag, value)]


@pytest.fixture(scope="module")
def handins(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("handins")
    paths = {"reference": REFERENCE, "stub": STUB}
    for name in MUTANTS:
        paths[f"mutant:{name}"] = d / f"{name}.py"
        paths[f"mutant:{name}"].write_text(source(name))
    paths["syntax-error"] = d / "syntax.py"
    paths["syntax-error"].write_text("class Value:\n    def f(self)\n        pass\n")
    return paths


@pytest.fixture(scope="module")
def graded(handins) -> dict[str, Result]:
    """What `grader grade` gives each hand-in with SETTINGS (its run loop, in one session)."""
    by_path: dict[Path, Result] = {}
    course = Course(limits=LIMITS)  # no course file: its defaults, and these limits
    run([Job(path) for path in handins.values()],
        lambda job, result: by_path.__setitem__(job.path, apply(result, course)), LIMITS)
    return {key: by_path[Path(path)] for key, path in handins.items()}


def comparable(result: Result, feedback: bool = True) -> dict:
    data = result.to_json()
    del data["execution_time"]
    if not feedback:
        for t in data["tests"]:
            t.pop("output")
            t.pop("extra_data", None)
    return data


def difference(a, b, at: str = "") -> str | None:
    """Where two JSON values differ, or None. Floats may differ in their last bits: an engine
    keeping `_prev` in a set adds a node's paths up in an order that varies from run to run."""
    if isinstance(a, float) and isinstance(b, float):
        same = math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    elif isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{at}: keys {sorted(a)} != {sorted(b)}"
        return next(filter(None, (difference(a[k], b[k], f"{at}.{k}") for k in a)), None)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return next(filter(None, (difference(x, y, f"{at}[{i}]")
                                  for i, (x, y) in enumerate(zip(a, b)))), None)
    else:
        same = a == b
    return None if same else f"{at}: {a!r} != {b!r}"


@pytest.mark.parametrize("key", ["reference", "stub", "syntax-error"]
                         + [f"mutant:{name}" for name in MUTANTS])
def test_json_report_converts_to_what_grader_grade_gives(graded, handins, tmp_path, key):
    report = tmp_path / "report.json"
    proc = pytest_route("--handin", handins[key], *with_settings(), "--json-report",
                        "--json-report-file", report, "-q", cwd=tmp_path)
    assert proc.returncode == (0 if key == "reference" else 1), proc.stdout[-2000:]
    converted, expected = read(report), graded[key]
    assert len(converted.tests) == len(expected.tests) > 0
    assert converted.extra["limits"] == LIMITS.to_json()
    exact = key not in ORDER_DEPENDENT
    assert difference(comparable(converted, exact), comparable(expected, exact)) is None
    if not exact:
        assert converted.misconceptions == expected.misconceptions == [MUTANTS[key[7:]][0]]


def test_report_metadata_carries_points_feedback_misconceptions_and_graph(handins, tmp_path):
    report = tmp_path / "report.json"
    pytest_route("--handin", handins["mutant:add-one-side"], "--json-report",
                 "--json-report-file", report, "-k", "lecture", "--published-values",
                 cwd=tmp_path)
    (test,) = json.loads(report.read_text())["tests"]
    meta = test["metadata"]
    from grader.grading.json_report import to_result

    assert to_result(json.loads(report.read_text())).extra["instance"] == {"values": "published"}
    assert test["outcome"] == "failed"
    assert (meta["score"], meta["max_score"]) == (0.0, 4.0)
    # a = -2, b = 3, d = a*b, e = a+b, f = d*e: both paths give b.grad = a*e + d = -8; a `+`
    # that feeds only its left side loses e's path to b, leaving a*e = -2.
    assert "Expected b.grad = -8, got -2." in meta["output"]
    assert meta["extra_data"]["misconceptions"] == ["add-one-side"]
    graph = meta["extra_data"]["graph"]
    grads = {n["label"]: n["grad_expected"] for n in graph["nodes"]}
    assert grads["a"] == pytest.approx(-3.0) and grads["b"] == pytest.approx(-8.0)


def test_pytest_selection_and_exit_codes(handins, tmp_path):
    ok = pytest_route("--handin", handins["reference"], "-v", "-k", "lecture or add_self",
                      cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
    assert "2 passed" in ok.stdout and "deselected" in ok.stdout
    assert "test_lecture_graph PASSED" in ok.stdout and "test_add_self PASSED" in ok.stdout

    first_failure = pytest_route("--handin", handins["stub"], "-x", cwd=tmp_path)
    assert first_failure.returncode == 1
    assert "1 failed" in first_failure.stdout and "stopping after 1 failures" in first_failure.stdout
    assert "NotImplementedError" in first_failure.stdout


def test_last_failed_reruns_only_the_failures(handins, tmp_path):
    args = ["--handin", handins["mutant:relu-at-zero"], "-q"]
    first = pytest_route(*args, cwd=tmp_path)
    assert first.returncode == 1 and "1 failed" in first.stdout, first.stdout
    again = pytest_route(*args, "--lf", cwd=tmp_path)
    assert again.returncode == 1
    assert "1 failed" in again.stdout and "passed" not in again.stdout.splitlines()[-1]
    assert "test_nonlinear.py::test_relu_at_zero" in again.stdout


def test_without_handin_it_says_what_it_needs(tmp_path):
    proc = pytest_route(cwd=tmp_path)
    assert proc.returncode == 4
    assert "--handin PATH" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_missing_handin_is_a_usage_error(tmp_path):
    proc = pytest_route("--handin", tmp_path / "nope.py", cwd=tmp_path)
    assert proc.returncode == 4
    assert "no such file or folder" in proc.stderr


def test_plugin_loads_with_p_when_autoload_is_off(tmp_path):
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = pytest_route("-p", "grader.grading.plugin", "--handin", REFERENCE, "-q", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"grader: engine\.py: (\d+) / \1 points", proc.stdout), proc.stdout


def test_both_entry_point_and_p_load_it_once(tmp_path):
    proc = pytest_route("-p", "grader.grading.plugin", "--handin", REFERENCE, "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_handin_runs_in_the_sandbox_not_in_pytest(tmp_path):
    """A hand-in that fakes pytest's reports and math.isclose earns what the stub earns."""
    hostile = tmp_path / "engine.py"
    hostile.write_text(STUB.read_text() + "\n\n"
                       + (ROOT / "tests" / "hostile" / "monkeypatch.py").read_text())
    stub_report, hostile_report = tmp_path / "stub.json", tmp_path / "hostile.json"
    pytest_route("--handin", STUB, "--json-report", "--json-report-file", stub_report,
                 cwd=tmp_path)
    proc = pytest_route("--handin", hostile, "--json-report", "--json-report-file",
                        hostile_report, cwd=tmp_path)
    assert proc.returncode == 1
    assert read(hostile_report).score <= read(stub_report).score < read(stub_report).max_score


def test_a_handin_folder_conftest_never_runs(tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "engine.py").write_text(REFERENCE.read_text())
    ran = tmp_path / "conftest-ran"
    (folder / "conftest.py").write_text(f"open({str(ran)!r}, 'w').close()\n")
    inside = pytest_route("--handin", ".", cwd=folder)
    assert inside.returncode == 4 and "outside the hand-in's folder" in inside.stderr
    outside = pytest_route("--handin", folder, cwd=tmp_path)
    assert outside.returncode == 0, outside.stdout
    assert not ran.exists()


def test_every_option_of_grader_grade_is_a_pytest_option_too(tmp_path):
    """The limits, sandbox settings and course file of `grader grade` (all its options but
    what its student-facing output shows, which `grader convert` takes) can be given to the
    pytest route as well."""
    from grader.cli import convert, grade

    shaping = {flag for p in convert.params if isinstance(p, click.Option) for flag in p.opts}
    settings = {flag for p in grade.params if isinstance(p, click.Option) for flag in p.opts
                if flag.startswith("--") and flag not in shaping - {"--config"}}
    assert {o.flag for o in OPTIONS} <= settings
    pytest_help = pytest_route("--help", cwd=tmp_path).stdout
    for flag in sorted(settings | {"--handin"}):
        assert re.search(rf"^\s+{flag}[ =]", pytest_help, re.M), flag


def test_grader_convert_prints_the_results(handins, graded, tmp_path):
    report = tmp_path / "report.json"
    pytest_route("--handin", handins["mutant:tanh-from-input"], *with_settings(),
                 "--json-report", "--json-report-file", report, cwd=tmp_path)
    proc = subprocess.run([str(BIN / "grader"), "convert", str(report)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    want = to_gradescope(graded["mutant:tanh-from-input"])  # what `grader grade` prints
    del data["execution_time"], want["execution_time"]
    assert difference(data, want) is None


def test_grader_convert_refuses_another_report(tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"tests": [{"nodeid": "t.py::t", "outcome": "passed"}]}))
    proc = subprocess.run([str(BIN / "grader"), "convert", str(other)], capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("grader: error:") and "--handin" in proc.stderr
    assert "Traceback" not in proc.stderr
