"""The Gradescope autograder zip: layout, permissions, setup.sh and run_autograder for real."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.platforms import gradescope_zip as gz
from suite_cases import full_marks

KIT_ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="needs bash")


def _grader_cli_ready() -> bool:
    """`grader grade` exists only once grader.cli is written (another part of the kit)."""
    on_path = shutil.which("grader") or (Path(sys.executable).parent / "grader").exists()
    return bool(on_path) and importlib.util.find_spec("grader.cli") is not None


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    return gz.build(tmp_path_factory.mktemp("zip") / "autograder.zip", KIT_ROOT)


def test_zip_layout_and_permissions(autograder_zip: Path):
    with zipfile.ZipFile(autograder_zip) as zf:
        names = zf.namelist()
        assert names[:2] == ["setup.sh", "run_autograder"]  # at the root, not under a folder
        assert "kit/pyproject.toml" in names and "kit/grader/__init__.py" in names
        assert "kit/grader/platforms/gradescope_zip.py" in names
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        for script in ("setup.sh", "run_autograder"):
            info = zf.getinfo(script)
            mode = info.external_attr >> 16
            assert info.create_system == 3 and stat.S_ISREG(mode) and mode & 0o777 == 0o755
            body = zf.read(script)
            assert body.startswith(b"#!/usr/bin/env bash\n") and b"\r\n" not in body
        assert zf.getinfo("kit/pyproject.toml").external_attr >> 16 & 0o777 == 0o644
        assert zf.testzip() is None


def test_zip_is_reproducible(tmp_path: Path, autograder_zip: Path):
    again = gz.build(tmp_path / "again.zip", KIT_ROOT)
    assert again.read_bytes() == autograder_zip.read_bytes()


def test_grade_args_are_quoted(tmp_path: Path):
    z = gz.build(tmp_path / "a.zip", KIT_ROOT, grade_args=["--format", "gradescope", "it's"])
    body = zipfile.ZipFile(z).read("run_autograder").decode()
    assert "\"$ROOT/submission\" --format gradescope 'it'\"'\"'s' >" in body


def test_build_rejects_a_non_kit_folder(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        gz.build(tmp_path / "a.zip", tmp_path)


@pytest.fixture(autouse=True)
def _interpreter_modes_restored():
    """setup.sh makes the interpreter it installs the venv from readable by every user (so
    hand-ins can run under a uid of their own); on this shared machine the modes it changed
    are put back afterwards."""
    base = Path(sys.base_prefix)
    paths = [*base.parents, base]
    for folder, dirs, files in os.walk(base):
        paths += [Path(folder) / n for n in dirs + files]
    modes = {}
    for p in paths:
        try:
            modes[p] = p.lstat().st_mode
        except OSError:
            pass
    yield
    for p, mode in modes.items():
        try:
            if not stat.S_ISLNK(mode) and p.lstat().st_mode != mode:
                p.chmod(stat.S_IMODE(mode))
        except OSError:
            pass


def _fake_grader(bin_dir: Path, body: str) -> dict:
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "grader"
    script.write_text("#!/usr/bin/env bash\n" + body)
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def _run(root: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(root / "run_autograder")], cwd=root, env={**env, "AUTOGRADER_ROOT": str(root)},
                          capture_output=True, text=True, timeout=120)


def test_run_autograder_stores_grader_output(tmp_path: Path, autograder_zip: Path):
    root = gz.unpack_like_gradescope(autograder_zip, tmp_path / "autograder")
    (root / "submission" / "engine.py").write_text("class Value: pass\n")
    # Stand-in for `grader grade DIR`: echoes its argument inside a results object.
    env = _fake_grader(tmp_path / "bin", 'echo "{\\"score\\": 3.0, \\"tests\\": [], \\"output\\": \\"$1 $2\\"}"\n')
    proc = _run(root, env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert data == {"score": 3.0, "tests": [], "output": f"grade {root}/submission"}
    assert not (root / "results" / "results.json.part").exists()


def test_run_autograder_passes_the_submission_metadata(tmp_path: Path, autograder_zip: Path):
    """Attempts are judged from Gradescope's submission_metadata.json, next to submission/."""
    root = gz.unpack_like_gradescope(autograder_zip, tmp_path / "autograder")
    env = _fake_grader(tmp_path / "bin", 'echo "{\\"score\\": 0, \\"tests\\": [], \\"output\\": \\"$*\\"}"\n')
    _run(root, env)
    assert "--gradescope-metadata" not in json.loads((root / "results" / "results.json").read_text())["output"]
    (root / "submission_metadata.json").write_text("{}")
    _run(root, env)
    assert json.loads((root / "results" / "results.json").read_text())["output"] == \
        f"grade --gradescope-metadata {root}/submission_metadata.json {root}/submission"


def test_run_autograder_reports_a_crash_as_zero(tmp_path: Path, autograder_zip: Path):
    root = gz.unpack_like_gradescope(autograder_zip, tmp_path / "autograder")
    env = _fake_grader(tmp_path / "bin", 'echo "Traceback: boom"; exit 3\n')
    proc = _run(root, env)
    assert proc.returncode == 0
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == 0.0 and data["tests"] == []
    assert "exit status 3" in data["output"]
    assert data["extra_data"]["error"]["type"] == "AutograderFailure"


def test_setup_installs_the_kit_in_a_fresh_venv(tmp_path: Path, autograder_zip: Path):
    """Runs setup.sh for real (pip needs the package index for the kit's dependencies, ~10 s)."""
    root = gz.unpack_like_gradescope(autograder_zip, tmp_path / "autograder")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable,
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    proc = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    py = root / "venv" / "bin" / "python"
    out = subprocess.run([str(py), "-c", "import grader, grader.platforms.submissions as s; print(grader.__file__)"],
                         cwd=root, capture_output=True, text=True, check=True).stdout
    assert str(root / "venv") in out  # the installed copy, not the working tree
    assert (root / "venv" / "bin" / "grader").exists()
    if not _grader_cli_ready():
        return
    # The whole Gradescope round trip: the installed grader grades the reference solution.
    shutil.copy(KIT_ROOT / "solutions" / "engine.py", root / "submission" / "engine.py")
    proc = _run(root, {**os.environ, "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["tests"] and data["score"] == sum(t["max_score"] for t in data["tests"])


@pytest.mark.skipif(not _grader_cli_ready(), reason="`grader grade` (grader.cli) is not written yet")
def test_run_autograder_end_to_end_with_the_real_grader(tmp_path: Path, autograder_zip: Path):
    root = gz.unpack_like_gradescope(autograder_zip, tmp_path / "autograder")
    solution = next((KIT_ROOT / "solutions").rglob("engine.py"), None)
    if solution is None:
        pytest.skip("no reference engine.py under solutions/")
    shutil.copy(solution, root / "submission" / "engine.py")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = _run(root, env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert "AutograderFailure" not in json.dumps(data.get("extra_data", {}))
    assert data["tests"] and data["score"] == sum(t["max_score"] for t in data["tests"])


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap for the bind mount")
def test_setup_and_run_autograder_at_the_real_autograder_path(tmp_path: Path, autograder_zip: Path):
    """As Gradescope does it: the unpacked zip is /autograder (a bind mount of a temporary tree),
    setup.sh installs the kit there, run_autograder grades /autograder/submission."""
    root = gz.unpack_like_gradescope(autograder_zip, tmp_path / "autograder")
    shutil.copy(KIT_ROOT / "solutions" / "engine.py", root / "submission" / "engine.py")
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOGRADER_ROOT", "VIRTUAL_ENV")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin:" + str(Path(sys.executable).resolve().parent)
    mount = ["bwrap", "--dev-bind", "/", "/", "--bind", str(root), "/autograder",
             "--chdir", "/autograder"]
    setup = subprocess.run([*mount, "bash", "/autograder/source/setup.sh"], env=env,
                           capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, setup.stderr[-2000:]
    run = subprocess.run([*mount, "/autograder/run_autograder"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) > 0
    assert data["extra_data"]["sandbox"]["level"] == "full"
    assert (root / "venv" / "bin" / "grader").exists()  # graded by the kit setup.sh installed


def test_run_autograder_grades_in_a_platform_container(tmp_path: Path, autograder_zip: Path):
    """Gradescope's conditions made for real (tests/container.py: root, no CAP_SYS_ADMIN,
    Docker's seccomp refusals, so no bubblewrap): setup.sh hides the kit from other users and
    run_autograder writes a real score, with a result that says how hand-ins were confined.
    A snooping hand-in finds neither the kit's source nor the installed hidden tests."""
    import container

    if container.missing():
        pytest.skip(container.missing())
    root = gz.unpack_like_gradescope(autograder_zip, tmp_path / "autograder")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable,
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env,
                           capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    installed = Path(subprocess.run(
        [str(root / "venv" / "bin" / "python"), "-I", "-c",
         "import grader, os; print(os.path.dirname(grader.__file__))"],
        capture_output=True, text=True, check=True).stdout.strip())
    assert installed.is_relative_to(root / "venv")
    assert (KIT_ROOT / "grader" / "__init__.py").stat().st_mode & 0o004  # only the copies hidden
    for secret in (root / "source" / "kit" / "grader" / "checking" / "model.py",
                   installed / "suite" / "test_reuse.py", installed / "checking" / "model.py"):
        below_root = [f for f in secret.parents if f.is_relative_to(root) and f != root]
        readable = secret.stat().st_mode & 0o004 and all(
            folder.stat().st_mode & 0o001 for folder in below_root)
        assert not readable, f"{secret} is readable by other users"

    def grade_as_gradescope(engine: str, *drop: str) -> dict:
        (root / "submission" / "engine.py").write_text(engine)
        run_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "AUTOGRADER_ROOT": str(root), "LANG": "C.UTF-8", "HOME": str(tmp_path)}
        run = subprocess.run([container.SYSTEM_PYTHON, str(Path(__file__).with_name("container.py")),
                              "platform", *drop, "--", str(root / "run_autograder")], env=run_env,
                             cwd=root, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        return json.loads((root / "results" / "results.json").read_text())

    reference = (KIT_ROOT / "solutions" / "engine.py").read_text()
    data = grade_as_gradescope(reference)
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) == full_marks(), data["output"]
    sandbox = data["extra_data"]["sandbox"]
    assert sandbox["level"] == "partial" and sandbox["layers"]["namespaces"] != "held"
    # setup.sh made the interpreter readable by every user: hand-ins run under a uid of their own
    assert sandbox["layers"]["uid"] == "held", sandbox["layers"]["uid"]
    snoop = "".join(
        f"\ntry:\n    print('snoop', {str(p)!r}, len(open({str(p)!r}).read()))\n"
        f"except OSError as e:\n    print('snoop', {str(p)!r}, 'refused', e.strerror)\n"
        for p in (root / "source" / "kit" / "grader" / "checking" / "model.py",
                  installed / "suite" / "test_reuse.py"))
    data = grade_as_gradescope(reference + snoop)
    assert data["score"] == full_marks()
    lines = [ln for ln in data["output"].splitlines() if ln.startswith("snoop")]
    assert len(lines) == 2 and all("refused" in ln for ln in lines), data["output"]
    # A leaner container, without CAP_CHOWN: a hand-in's folder cannot become its uid's, so no
    # uid of its own (said why), and the hand-in is graded all the same.
    data = grade_as_gradescope(reference, "cap_chown")
    assert data["score"] == full_marks(), data["output"]
    assert "CAP_CHOWN" in data["extra_data"]["sandbox"]["layers"]["uid"]


def test_setup_says_clearly_when_the_python_it_needs_is_missing(tmp_path: Path, autograder_zip: Path):
    """An image whose Python is not the one the dependencies were pinned with (here: a zip
    asking for 3.99, on a machine without apt-get) stops with two lines saying so."""
    root = gz.unpack_like_gradescope(autograder_zip, tmp_path / "autograder")
    setup = root / "source" / "setup.sh"
    text = setup.read_text()
    assert 'WANT="%d.%d"' % sys.version_info[:2] in text
    setup.write_text(text.replace('WANT="%d.%d"' % sys.version_info[:2], 'WANT="3.99"'))
    tools = tmp_path / "bin"  # a PATH with python3 and the basics, and no apt-get
    tools.mkdir()
    for tool, target in (("bash", shutil.which("bash")), ("env", shutil.which("env")),
                         ("python3", os.path.realpath(sys.executable))):
        (tools / tool).symlink_to(target)
    proc = subprocess.run(["bash", str(setup)], env={"PATH": str(tools),
                          "AUTOGRADER_ROOT": str(root)}, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    assert "this autograder needs Python 3.99" in proc.stderr
    assert "found: Python 3." in proc.stderr
    assert not (root / "venv").exists()


def test_constraints_pin_only_what_grading_needs(autograder_zip: Path):
    """The image installs the grading dependencies; Canvas's client (and requests under it) is
    the `canvas` extra, never pinned into an autograder."""
    pinned = zipfile.ZipFile(autograder_zip).read("constraints.txt").decode().split()
    names = {p.split("==")[0] for p in pinned}
    assert {"numpy", "pytest", "pytest-json-report", "nbformat", "click"} <= names
    assert not names & {"canvasapi", "requests", "urllib3", "certifi", "arrow"}, pinned
    assert all("==" in p for p in pinned)
