"""What hand-ins may import: numpy by default, what the instructor names with --allow-import
instead, and nothing else of the environment the grader runs in (not its other packages, not
the grader)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from suite_cases import full_marks

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "solutions" / "engine.py"
GRADER = Path(sys.executable).with_name("grader")


def grade(tmp_path: Path, first_line: str, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "engine.py"
    path.write_text(first_line + "\n" + REFERENCE.read_text())
    return subprocess.run([str(GRADER), "grade", str(path), *args], capture_output=True,
                          text=True, timeout=120)


def score_and_output(proc: subprocess.CompletedProcess) -> tuple[float, str]:
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    return data["score"], data["output"]


@pytest.mark.parametrize("line", ["import numpy as np", "from numpy import exp"])
def test_numpy_by_default(tmp_path, line):
    assert score_and_output(grade(tmp_path, line)) == (full_marks(), "")


def used(module: str) -> str:
    """An import of `module` and a use of it while the hand-in loads."""
    return f"import {module}\n{module}.configure()"


@pytest.mark.parametrize("module", ["click", "pytest", "grader", "grader.checking.model",
                                    "yaml", "sklearn"])
def test_nothing_else_of_the_environment(tmp_path, module):
    """The grader's own dependencies are installed right next to numpy, yet not importable:
    an engine that uses one fails where it does, naming it."""
    score, output = score_and_output(grade(tmp_path, used(module)))
    assert score == 0
    top = module.split(".")[0]  # what Python names: the first part it could not find
    assert f"engine.py, line 2: imports `{top}`, which grading does not provide" in output


@pytest.mark.parametrize("line", ["import matplotlib.pyplot as plt", "import sklearn",
                                  "from sklearn.utils import check_array",
                                  "from graphviz import Digraph as Graph"])
def test_a_module_never_used_costs_nothing(tmp_path, line):
    assert score_and_output(grade(tmp_path, line)) == (full_marks(), "")


def test_an_import_the_engine_guards_keeps_its_fallback(tmp_path):
    """`try: import torch / except ImportError:` is the engine's own way without the module."""
    guarded = "try:\n    import torch\nexcept ImportError:\n    torch = None\nassert torch is None"
    assert score_and_output(grade(tmp_path, guarded)) == (full_marks(), "")


def test_allow_import_replaces_the_default(tmp_path):
    assert score_and_output(grade(tmp_path, "import yaml", "--allow-import", "yaml"))[0] == full_marks()
    score, output = score_and_output(grade(tmp_path, used("numpy"), "--allow-import", "yaml"))
    assert score == 0 and "imports `numpy`, which grading does not provide" in output
    score, output = score_and_output(grade(tmp_path, used("numpy"), "--allow-import", "none"))
    assert score == 0 and "imports `numpy`, which grading does not provide" in output


@pytest.mark.parametrize("name, why", [("grader", "it would show them the grader"),
                                       ("no_such_package_here", "it is not installed"),
                                       ("os.path", "not the name of a top-level module")])
def test_what_cannot_be_allowed_is_one_line(tmp_path, name, why):
    proc = grade(tmp_path, "", "--allow-import", name)
    assert proc.returncode == 2 and proc.stdout == ""
    line = proc.stderr.strip()
    assert "\n" not in line
    assert line.startswith(f"grader: error: cannot let hand-ins import `{name}`: {why}"), line


def test_a_batch_with_an_import_it_cannot_allow_stops_in_one_line(tmp_path):
    (tmp_path / "class" / "a").mkdir(parents=True)
    (tmp_path / "class" / "a" / "engine.py").write_text(REFERENCE.read_text())
    proc = subprocess.run([str(GRADER), "batch", str(tmp_path / "class"), "--out",
                           str(tmp_path / "out"), "--allow-import", "no_such_package_here"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("grader: error: cannot let hand-ins import "
                                   "`no_such_package_here`: it is not installed where the "
                                   "grader runs")


def test_folders_of_dead_graders_are_swept(tmp_path):
    """A batch worker killed mid-run leaves its folder of links; the next staging removes it,
    and never one whose grader is alive."""
    from grader.sandbox import leftovers, paths

    dead = subprocess.Popen(["true"])  # once it has ended, its pid is free
    dead.wait()
    imports = paths.Imports()
    imports.stage()
    parent = Path(imports.dir).parent
    here = leftovers.namespace()
    left = parent / f"{paths.PREFIX}{dead.pid}-{here}-left"
    alive = parent / f"{paths.PREFIX}{os.getpid()}-{here}-alive"
    elsewhere = parent / f"{paths.PREFIX}{dead.pid}-1-elsewhere"  # another pid namespace's
    for folder in (left, alive, elsewhere):
        folder.mkdir()
    try:
        again = paths.Imports()
        again.stage()
        again.cleanup()
        assert not left.exists() and alive.exists() and elsewhere.exists()
    finally:
        imports.cleanup()
        for folder in (left, alive, elsewhere):
            if folder.exists():
                folder.rmdir()
