"""Bytecode caches are written when the kit is installed, not left to the first grading: an
installed copy is often not writable by whoever grades (another user, a read-only image, an
autograder image where each submission starts afresh), and compiling the grader's modules and
the hidden suite on every run costs `grader grade` a sixth of its time.

A wheel of this kit installed with pip into a fresh virtual environment has a cache for every
module of `grader` (the hidden suite and the sandbox's own files included), and `grader grade`
from there, with bytecode writing off, compiles none of them. Gradescope's setup.sh writes the
caches itself, even where pip was told not to."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from suite_cases import full_marks

from grader.platforms import gradescope_zip as gz

KIT_ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

# Grades the reference in this process and prints the modules of the installed `grader` that
# Python compiled from source instead of loading their cache.
GRADE_AND_LIST_COMPILED = r"""
import contextlib, importlib._bootstrap_external as external, io, json, os, sys
compiled = []
source_to_code = external.SourceLoader.source_to_code
def recorded(self, data, path, *, _optimize=-1):
    compiled.append(path)
    return source_to_code(self, data, path, _optimize=_optimize)
external.SourceLoader.source_to_code = recorded
import grader
package = os.path.dirname(grader.__file__)
from grader.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    main(["grade", sys.argv[1]], standalone_mode=False)
print(json.dumps({"package": package, "score": json.loads(out.getvalue())["score"],
                  "compiled": [p for p in compiled if p.startswith(package)]}))
"""


def copy_kit(to: Path) -> Path:
    """The kit's source as `grader gradescope-zip` bundles it: building in a copy leaves the
    working tree (and other test runs) alone."""
    for arc, path in gz.kit_files(KIT_ROOT):
        (to / arc).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, to / arc)
    return to


def pip(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([PY, "-m", "pip", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with a wheel of this kit installed by pip (the kit alone: its dependencies
    are this environment's, on the venv's sys.path after its own site folder)."""
    tmp = tmp_path_factory.mktemp("install")
    pip("wheel", "--no-deps", "-w", str(tmp / "wheels"), str(copy_kit(tmp / "kit")))
    wheel = next((tmp / "wheels").glob("backprop_grader-*.whl"))
    venv = tmp / "venv"
    subprocess.run([PY, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    pip("--python", str(venv / "bin" / "python"), "install", "--no-deps", str(wheel))
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "kit-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


def package_dir(venv: Path) -> Path:
    return Path(subprocess.run([str(venv / "bin" / "python"), "-I", "-c",
                                "import grader, os; print(os.path.dirname(grader.__file__))"],
                               capture_output=True, text=True, check=True).stdout.strip())


def uncached(package: Path) -> list[str]:
    """The package's .py files without a valid-looking cache beside them."""
    return sorted(str(py.relative_to(package)) for py in package.rglob("*.py")
                  if not Path(importlib.util.cache_from_source(str(py))).is_file())


def test_a_wheel_install_caches_every_module_the_suite_included(installed):
    package = package_dir(installed)
    assert package.is_relative_to(installed)  # the installed copy, not the working tree
    modules = {str(p.relative_to(package)) for p in package.rglob("*.py")}
    assert {"cli.py", "suite/test_chain.py", "suite/test_reuse.py", "suite/marks.py",
            "sandbox/host.py", "sandbox/layers/landlock.py"} <= modules
    assert uncached(package) == []


def test_grading_from_the_install_compiles_nothing_of_the_grader(installed, tmp_path):
    engine = tmp_path / "engine.py"
    shutil.copy(KIT_ROOT / "solutions" / "engine.py", engine)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(installed / "bin" / "python"), "-c", GRADE_AND_LIST_COMPILED,
                           str(engine)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(report["package"]).is_relative_to(installed)
    assert report["score"] == full_marks()
    assert report["compiled"] == []

    # and the check can fail: without the suite's caches, its modules are compiled
    for cache in (Path(report["package"]) / "suite" / "__pycache__").glob("test_*.pyc"):
        cache.unlink()
    proc = subprocess.run([str(installed / "bin" / "python"), "-c", GRADE_AND_LIST_COMPILED,
                           str(engine)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    compiled = json.loads(proc.stdout.strip().splitlines()[-1])["compiled"]
    assert sorted(Path(p).name for p in compiled) == sorted(
        p.name for p in (Path(report["package"]) / "suite").glob("test_*.py"))


SYSTEM_PYTHON = "/usr/bin/python3"  # its runtime is readable by all: setup.sh changes no modes


def _same_python(path: str) -> bool:
    try:
        out = subprocess.run([path, "-c", "import sys, venv, ensurepip; print(sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60).stdout.strip()
    except OSError:
        return False
    return out == str(sys.version_info[:2])


@pytest.mark.skipif(shutil.which("bash") is None or not _same_python(SYSTEM_PYTHON),
                    reason=f"needs bash and {SYSTEM_PYTHON} of this Python's version, with venv")
def test_gradescope_setup_writes_the_caches_even_when_pip_does_not(tmp_path):
    """setup.sh with pip told not to compile (PIP_COMPILE=0, which is --compile turned off;
    PIP_NO_COMPILE=1 would turn it on): every module of the installed kit has its cache all the
    same, and so have its dependencies (pytest's). And where the allowed imports live is in the
    image's cache folder: a submission graded afterwards reads it and writes nothing there."""
    autograder_zip = gz.build(tmp_path / "autograder.zip", KIT_ROOT)
    root = gz.unpack_like_gradescope(autograder_zip, tmp_path / "autograder")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    env.update({"AUTOGRADER_ROOT": str(root), "PYTHON": SYSTEM_PYTHON, "HOME": str(home),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_COMPILE": "0"})
    proc = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    package = package_dir(root / "venv")
    assert package.is_relative_to(root / "venv")
    assert uncached(package) == []
    pytest_dir = package.parent / "_pytest"
    assert pytest_dir.is_dir() and uncached(pytest_dir) == []

    [remembered] = (home / ".cache" / "backprop-grader").glob("imports-*.json")
    written = remembered.stat().st_mtime_ns
    assert "numpy" in json.loads(remembered.read_text())["names"]
    shutil.copy(KIT_ROOT / "solutions" / "engine.py", root / "submission" / "engine.py")
    graded = subprocess.run([str(root / "venv" / "bin" / "grader"), "grade",
                             str(root / "submission")], env=env, cwd=root, capture_output=True,
                            text=True, timeout=300)
    assert graded.returncode == 0, graded.stderr[-2000:]
    assert json.loads(graded.stdout)["score"] == full_marks()
    assert remembered.stat().st_mtime_ns == written
    assert list((home / ".cache" / "backprop-grader").glob("imports-*.json")) == [remembered]
