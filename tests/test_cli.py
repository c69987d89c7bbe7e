"""The `grader` command's contract: exit 0 with a result, or non-zero with one line."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRADER = Path(sys.executable).with_name("grader")


def grader(*args, env=None):
    return subprocess.run([str(GRADER), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def broken_bwrap(tmp_path) -> dict:
    """An environment whose `bwrap` fails at once, like a broken install."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "bwrap").write_text("#!/bin/sh\nexit 1\n")
    (fake / "bwrap").chmod(0o755)
    return {"PATH": f"{fake}:{os.environ['PATH']}"}


def bwrap_that_fails_to_launch(tmp_path) -> dict:
    """A `bwrap` that passes the grader's one try (it runs `true`) and fails every real launch."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "bwrap").write_text('#!/bin/sh\ncase "$*" in *" true") exit 0;; esac\nexit 1\n')
    (fake / "bwrap").chmod(0o755)
    return {"PATH": f"{fake}:{os.environ['PATH']}"}


def test_a_broken_bwrap_is_a_missing_layer_not_a_failure(tmp_path):
    """bwrap is tried once before grading; one that fails leaves the other layers to confine
    hand-ins, and stderr says so in one line."""
    proc = grader("grade", str(ROOT / "solutions" / "engine.py"), env=broken_bwrap(tmp_path))
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["score"] == sum(t["max_score"] for t in data["tests"])
    assert data["extra_data"]["sandbox"]["layers"]["namespaces"] == "bwrap failed (exit 1)"
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert proc.stderr.startswith("grader: warning: partial isolation")


def test_strict_refuses_a_broken_bwrap_in_one_line(tmp_path):
    proc = grader("grade", str(ROOT / "solutions" / "engine.py"), "--sandbox", "strict",
                  env=broken_bwrap(tmp_path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert proc.stderr.startswith("grader: error: --sandbox strict: isolation here is partial")


def test_a_missing_path_is_a_usage_error():
    proc = grader("grade", "/no/such/handin.py")
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_a_hopeless_handin_still_exits_zero_with_a_result(tmp_path):
    bad = tmp_path / "engine.py"
    bad.write_bytes(b"\x00\x01binary")
    proc = grader("grade", str(bad))
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["score"] == 0 and "binary" in data["output"]


def test_a_batch_whose_workers_cannot_start_stops_with_one_line(tmp_path):
    proc = grader("batch", str(ROOT / "samples" / "canvas"), "--out", str(tmp_path / "out"),
                  "--jobs", "2", env=bwrap_that_fails_to_launch(tmp_path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("grader: error: grading workers")
    assert not list((tmp_path / "out").glob("results/*.json"))  # nobody got a false zero
