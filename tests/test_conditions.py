"""Grading where courses actually grade, with the conditions made for real (tests/container.py):

- root: root on a machine of its own (an instructor's), bubblewrap installed;
- platform: root in a platform's container (Gradescope, PrairieLearn): no CAP_SYS_ADMIN and
  Docker's default seccomp refusals, so bubblewrap cannot make its namespaces;
- user: an unprivileged user, with user namespaces (bubblewrap works);
- no-userns: an unprivileged user on a machine that switches user namespaces off.

In each, grading works (the reference gets every point, the stub its usual score, a hand-in
using numpy is graded like one using math), and a hand-in that reaches for the reference, the
grader's model, /etc/shadow, a TCP server on 127.0.0.1 and /root, /var/tmp, /dev/shm is refused
by the layers the result says held.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

import container
from grader.grading.runner import grade
from grader.sandbox.limits import Limits
from suite_cases import full_marks
from test_hostile import FORGED, not_stopped, root_secret, scratch_capped  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).parent
GRADER = Path(sys.executable).with_name("grader")
REFERENCE = ROOT / "solutions" / "engine.py"
STUB = ROOT / "assignments" / "engine.py"
UID = 61234  # no account needed: setuid takes a number


pytestmark = pytest.mark.skipif(container.missing() is not None, reason=str(container.missing()))


def _userns_allowed() -> bool:
    for path, off in (("/proc/sys/kernel/unprivileged_userns_clone", "0"),
                      ("/proc/sys/user/max_user_namespaces", "0")):
        try:
            if Path(path).read_text().strip() == off:
                return False
        except OSError:
            pass
    return True


def _landlock_abi() -> int:
    """The kernel's Landlock ABI, asked directly (0 when it has none)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return max(0, libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


HAVE_BWRAP = shutil.which("bwrap") is not None
CONDITIONS = {
    "root": (["root"], "full" if HAVE_BWRAP else "partial"),
    "platform": (["platform"], "partial"),
    "user": (["user", str(UID)], "full" if HAVE_BWRAP and _userns_allowed() else "partial"),
    "no-userns": (["no-userns", str(UID)], "partial"),
}


def _unreachable(path: Path) -> bool:
    """Whether another user cannot walk down to `path` (e.g. an interpreter under /root)."""
    for folder in [path, *path.parents]:
        if folder.exists() and not folder.stat().st_mode & stat.S_IXOTH:
            return True
    return False


REVEAL = ":".join(p for p in sorted({sys.base_prefix, sys.prefix, str(ROOT)})
                  if _unreachable(Path(p)))


@pytest.fixture(scope="module")
def workspace():
    """A folder every user can read: the hand-ins and the graders' HOME."""
    d = Path(tempfile.mkdtemp(prefix="grader-conditions-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def put(workspace: Path, name: str, text: str) -> Path:
    path = workspace / name / "engine.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    for folder in (path.parent, path.parent.parent):
        folder.chmod(0o755)
    path.write_text(text)
    path.chmod(0o644)
    return path


def run_in(condition: str, workspace: Path, *args: str) -> subprocess.CompletedProcess:
    launch, _ = CONDITIONS[condition]
    reveal = REVEAL
    if reveal and any(Path(p).parts[1] == workspace.parts[1] for p in reveal.split(":")):
        reveal += f":{workspace}"  # a checkout in a private folder of /tmp: the tmpfs covers both
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C.UTF-8", "HOME": str(workspace),
           "REVEAL": reveal}
    return subprocess.run([container.SYSTEM_PYTHON, str(HERE / "container.py"), *launch, "--",
                           str(GRADER), *args], capture_output=True, text=True, timeout=300,
                          cwd=workspace, env=env)


def grade_in(condition: str, workspace: Path, path: Path, *args: str) -> tuple[dict, str]:
    proc = run_in(condition, workspace, "grade", str(path), *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout), proc.stderr


@pytest.fixture(scope="module")
def stub_score():
    return grade(STUB).score  # under this machine's own, full isolation


def snippet(name: str, **subs: str) -> str:
    text = (HERE / "hostile" / f"{name}.py").read_text()
    for key, value in subs.items():
        text = text.replace(key, value)
    return text


# ------------------------------------------------------------- grading works

@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_grading_works(condition, workspace, stub_score):
    reference, stderr = grade_in(condition, workspace, REFERENCE)
    level = CONDITIONS[condition][1]
    assert reference["extra_data"]["sandbox"]["level"] == level
    assert "error" not in reference["extra_data"], reference["output"]
    assert reference["score"] == sum(t["max_score"] for t in reference["tests"]) == full_marks()
    stub, _ = grade_in(condition, workspace, STUB)
    assert stub["score"] == stub_score
    if level == "full":
        assert "warning" not in stderr
    else:
        assert stderr.startswith(f"grader: warning: {level} isolation"), stderr


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_numpy_is_importable(condition, workspace):
    """The allowed imports (numpy by default) work under every confinement."""
    text = "import numpy as np\n" + REFERENCE.read_text().replace("math.exp(", "np.exp(")
    assert "np.exp(" in text
    data, _ = grade_in(condition, workspace, put(workspace, f"numpy-{condition}", text))
    assert data["score"] == full_marks(), data["output"]
    assert data["extra_data"]["sandbox"]["imports"] == ["numpy"]


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_a_module_not_provided_is_named(condition, workspace):
    path = put(workspace, f"sklearn-{condition}",
               "import sklearn\nsklearn.set_config()\n" + REFERENCE.read_text())
    data, _ = grade_in(condition, workspace, path)
    assert data["score"] == 0
    assert "imports `sklearn`, which grading does not provide" in data["output"]


# ------------------------------------------------------------- what a hand-in cannot reach

@contextlib.contextmanager
def recording(*socks: socket.socket):
    """Accept on each listening socket until the block ends; yields what reached them."""
    got, stop = [], threading.Event()

    def serve(sock):
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    got.append(conn.recv(100))
                except OSError:
                    got.append(b"")

    threads = [threading.Thread(target=serve, args=(s,), daemon=True) for s in socks]
    for t in threads:
        t.start()
    try:
        yield got
    finally:
        stop.set()
        for t in threads:
            t.join()
        for s in socks:
            s.close()


@pytest.fixture
def server():
    """A TCP server on 127.0.0.1 that records what reaches it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    with recording(sock) as got:
        yield port, got


def snoop_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("snoop: ")]


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_snooper_is_refused(condition, workspace, server):
    port, reached = server
    marker = f"snoop-{uuid.uuid4().hex}"
    text = REFERENCE.read_text() + "\n\n" + snippet(
        "snooper", REPO=str(ROOT), PORT=str(port), MARKER=marker)
    data, _ = grade_in(condition, workspace, put(workspace, f"snoop-{condition}", text))
    layers = data["extra_data"]["sandbox"]["layers"]
    assert data["score"] == full_marks(), data["output"]  # it ran, and was a correct engine after all
    lines = snoop_lines(data["output"])
    assert len(lines) == 7, data["output"]
    # nothing read, no connection; a write may land only in the hand-in's own scratch tmpfs
    # (mounted over /tmp, /var/tmp and /dev/shm where it has a mount namespace), checked below
    assert not [ln for ln in lines if " GOT " in ln and "snoop: write" not in ln], data["output"]
    assert reached == []
    left = [Path(d) / marker for d in ("/root", "/var/tmp", "/dev/shm")]
    try:
        assert [p for p in left if p.exists()] == []
    finally:
        for p in left:
            if p.exists():
                p.unlink()
    # refused by what the result says held
    if data["extra_data"]["sandbox"]["level"] != "full":
        assert layers["landlock"] == "held" or _landlock_abi() == 0
        assert layers["seccomp"] == "held"
        assert layers["namespaces"] != "held"


@pytest.fixture
def unix_servers():
    """A named Unix socket under /tmp (every user may connect) and an abstract one, each
    recording what reaches it."""
    name = f"grader-test-{uuid.uuid4().hex[:12]}"
    path = f"/tmp/{name}.sock"
    socks = []
    for address in (path, "\0" + name):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(address)
        sock.listen()
        socks.append(sock)
    os.chmod(path, 0o777)
    try:
        with recording(*socks) as got:
            yield path, name, got
    finally:
        os.unlink(path)


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_no_unix_socket_of_the_machine_is_reached(condition, workspace, unix_servers):
    path, name, reached = unix_servers
    text = REFERENCE.read_text() + "\n\n" + snippet(
        "unix_connect", SOCKET_PATH=path, SOCKET_NAME=name, MARKER="from a hand-in")
    data, _ = grade_in(condition, workspace, put(workspace, f"unix-{condition}", text))
    lines = [ln for ln in data["output"].splitlines() if ln.startswith("unix ")]
    assert len(lines) == 2 and all("refused" in ln for ln in lines), data["output"]
    assert reached == []
    assert data["score"] == full_marks()


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_disk_walker_finds_nothing(condition, workspace, stub_score):
    text = STUB.read_text() + "\n\n" + snippet("disk_walker")
    data, _ = grade_in(condition, workspace, put(workspace, f"walker-{condition}", text))
    assert "error" not in data["extra_data"], data["output"]  # it loaded and searched
    assert "reference: None" in data["output"]
    assert "def test_" not in data["output"]
    assert data["score"] == stub_score


# ------------------------------------------------------------- each layer, and every frame

@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_every_layer_that_holds_stops_what_only_it_stops(condition, workspace, root_secret):
    """tests/hostile/layers_try.py: one attack per layer that only it stops; none gets through
    a layer the result says held (and each layer expected here holds)."""
    text = REFERENCE.read_text() + "\n\n" + snippet(
        "layers_try", SECRET=str(root_secret), FILE_MB=str(Limits().file_mb))
    data, _ = grade_in(condition, workspace, put(workspace, f"layers-{condition}", text))
    layers = data["extra_data"]["sandbox"]["layers"]
    assert not_stopped(data["output"], layers) == [], data["output"]
    held = {name for name, why in layers.items() if why == "held"}
    assert {"seccomp", "landlock", "rlimits"} <= held
    assert ("namespaces" in held) == (CONDITIONS[condition][1] == "full")
    assert data["score"] == full_marks(), data["output"]


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_scratch_is_capped(condition, workspace):
    """360 MiB against a 64 MiB scratch: a tmpfs refuses it where one can be mounted, else
    the trusted side's watcher stops the hand-in, and its result says why."""
    limits = Limits()
    text = REFERENCE.read_text() + "\n\n" + snippet(
        "scratch_fill", TOTAL="360", FILE_MB=str(limits.file_mb))
    data, _ = grade_in(condition, workspace, put(workspace, f"fill-{condition}", text))
    assert sum(t["max_score"] for t in data["tests"]) == full_marks()
    scratch_capped(data["output"], data["score"], full_marks(), limits)


@pytest.mark.parametrize("condition", list(CONDITIONS))
@pytest.mark.parametrize("name", ["load-bare-string", "answer-big-int"])
def test_a_forged_frame_costs_only_the_forger(condition, name, workspace):
    when, body = FORGED[name]
    text = REFERENCE.read_text() + "\n\n" + snippet(
        "frame_forger", **{"@@WHEN@@": when, "@@FRAME@@": body})
    data, _ = grade_in(condition, workspace, put(workspace, f"{name}-{condition}", text))
    assert sum(t["max_score"] for t in data["tests"]) == full_marks()
    assert data["score"] < full_marks()
    if when == "load":
        assert data["score"] == 0 and "is not a load report" in data["output"], data["output"]
    else:
        assert any("is not an answer" in t["output"] for t in data["tests"])


def test_without_the_uid_layer_the_result_and_stderr_say_why_and_the_fix(workspace):
    """Root in a platform's container whose Python sits under a 0700 home: no uid of their own
    for hand-ins, said in the result and on stderr, with what to do about it."""
    if not _unreachable(Path(sys.base_prefix)):
        pytest.skip("this machine's Python is readable by every user")
    data, stderr = grade_in("platform", workspace, REFERENCE)
    why = data["extra_data"]["sandbox"]["layers"]["uid"]
    assert why.startswith("Python's runtime") and "not readable by other users" in why
    assert "install Python where every user can read it" in why
    assert f"uid: {why}" in stderr


# ------------------------------------------------------------- strict

def test_strict_refuses_to_grade_in_a_platform_container(workspace):
    proc = run_in("platform", workspace, "grade", str(REFERENCE), "--sandbox", "strict")
    assert proc.returncode == 2
    assert proc.stdout == ""
    line = proc.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith("grader: error: --sandbox strict: isolation here is partial, not full")


def test_strict_batch_refuses_before_grading_anyone(workspace):
    src = workspace / "class"
    for sid in ("a", "b"):
        put(src, sid, REFERENCE.read_text())
    out = workspace / "graded-strict"
    proc = run_in("platform", workspace, "batch", str(src), "--out", str(out),
                  "--sandbox", "strict", "--jobs", "1")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().startswith("grader: error: --sandbox strict:")
    assert "\n" not in proc.stderr.strip()
    assert not (out / "results").exists() or not any((out / "results").iterdir())


def test_strict_grades_where_isolation_is_full(workspace):
    if CONDITIONS["user"][1] != "full":
        pytest.skip("bubblewrap or unprivileged user namespaces are not available here")
    data, stderr = grade_in("user", workspace, REFERENCE, "--sandbox", "strict")
    assert data["score"] == full_marks() and stderr == ""


def test_prairielearn_grades_in_a_platform_container(workspace):
    """PrairieLearn's external grader runs the README's command in a Docker container as root:
    `grader grade /grade/student --format prairielearn`."""
    student = put(workspace, "pl-student", REFERENCE.read_text()).parent
    proc = run_in("platform", workspace, "grade", str(student), "--format", "prairielearn")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["gradable"] is True and data["score"] == 1.0
    assert proc.stderr.startswith("grader: warning: partial isolation")


def test_batch_grades_in_a_platform_container(workspace, stub_score):
    src = workspace / "class-platform"
    put(src, "ada", REFERENCE.read_text())
    put(src, "alan", STUB.read_text())
    out = workspace / "graded-platform"
    proc = run_in("platform", workspace, "batch", str(src), "--out", str(out), "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    assert "grader: warning: partial isolation" in proc.stderr
    scores = {p.stem: json.loads(p.read_text())["score"] for p in (out / "results").glob("*.json")}
    assert sorted(scores.values()) == [stub_score, full_marks()]
