"""A grader killed mid-grade leaves its folders behind (a sandbox's scratch, the service's copy
of a student's code); the next grader to make such a folder removes them, and never a folder
whose process is alive (grader/sandbox/leftovers.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mutants import REFERENCE
from servicekit import MAXIMUM, Client, Server, handin, token

from grader.sandbox.leftovers import namespace

GRADER = Path(sys.executable).with_name("grader")
HANGS = REFERENCE.read_text() + "\n\ndef backward(self):\n    while True:\n        pass\n\n" \
                                "Value.backward = backward\n"


def wait_for(find, proc: subprocess.Popen, what: str, seconds: float = 60) -> list[Path]:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        found = find()
        if found:
            return found
        assert proc.poll() is None, f"it ended before {what}"
        time.sleep(0.05)
    raise AssertionError(f"never {what}")


def test_a_killed_graders_sandbox_folder_goes_with_the_next_grade(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    (tmp_path / "hangs.py").write_text(HANGS)
    killed = subprocess.Popen([str(GRADER), "grade", str(tmp_path / "hangs.py")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    left = wait_for(lambda: list(tmp.glob("grader-sandbox-*")), killed,
                    "made its sandbox")
    time.sleep(0.5)  # into its tests
    killed.kill()
    killed.wait()
    assert all(p.exists() for p in left)
    here = namespace()
    mine = tmp / f"grader-sandbox-{os.getpid()}-{here}-alive"  # a live process's: kept
    elsewhere = tmp / f"grader-sandbox-{killed.pid}-1-x"  # another pid namespace's: kept
    theirs = tmp / "grader-sandbox-notapid-x"  # not named as a grader names it: kept
    for folder in (mine, elsewhere, theirs):
        folder.mkdir()

    proc = subprocess.run([str(GRADER), "grade", str(REFERENCE)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["score"] == MAXIMUM
    assert sorted(p.name for p in tmp.iterdir()) == sorted(
        [mine.name, elsewhere.name, theirs.name])


def test_a_killed_servers_copy_of_a_students_code_goes_with_its_next_grading(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    data = tmp_path / "data"
    student = token(data, "--student", "ada")
    slow = handin("reference") + b"\nimport time\ntime.sleep(4)\n"  # killable while it loads
    server = Server(data, "--jobs", "1", env={"TMPDIR": str(tmp)}).start()
    try:
        sid = Client(server.base, student).upload(slow)[1]["id"]
        left = wait_for(lambda: list(tmp.glob("grader-serve-*/engine.py")),
                        server.proc, "copied the upload to grade it")
        assert left[0].read_bytes() == slow
        server.kill()
    finally:
        server.stop()
    assert left[0].exists()

    again = Server(data, "--jobs", "1", env={"TMPDIR": str(tmp)}).start()
    try:
        body = Client(again.base, student).wait(sid)  # graded again after the restart
        assert body["status"] == "done" and body["result"]["score"] == MAXIMUM
        assert not left[0].parent.exists()
        assert not list(tmp.glob("grader-serve-*"))
    finally:
        again.stop()
