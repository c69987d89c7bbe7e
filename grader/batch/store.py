"""The results folder: one Gradescope results JSON per student, written atomically.

A result on disk is final: an interrupted run loses nothing that was written, and `--resume`
skips a student whose hand-in content and grader version are unchanged.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from .. import __version__
from ..handin import HandinError, pick
from ..results import Result


def filename(student_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", student_id).strip(".") or "student"
    if safe != student_id:  # keep distinct ids distinct after cleaning
        safe += "-" + hashlib.sha256(student_id.encode()).hexdigest()[:8]
    return safe + ".json"


def content_hash(path: Path) -> str:
    """What `--resume` compares: the bytes of the file that would be graded."""
    try:
        return hashlib.sha256(pick(Path(path)).read_bytes()).hexdigest()
    except (HandinError, OSError) as e:
        return "unreadable:" + hashlib.sha256(str(e).encode()).hexdigest()


def write(results_dir: Path, student_id: str, result: Result) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    target = results_dir / filename(student_id)
    fd, tmp = tempfile.mkstemp(dir=results_dir, prefix=".partial-", suffix=".json")
    try:
        # Atomic against a killed process or a full disk (the rename happens only after a
        # complete write); no fsync, as power loss is not what a grading run must survive.
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(result.to_json(), allow_nan=False))
        os.chmod(tmp, 0o644)  # like every other output; mkstemp makes it private
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read(path: Path) -> Result | None:
    try:
        return Result.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a file we did not write completely or at all: grade again


def done(results_dir: Path, student_id: str, sha: str) -> Result | None:
    """The stored result for this exact hand-in and grader version, if there is one."""
    result = read(results_dir / filename(student_id))
    if result and result.extra.get("content_sha256") == sha \
            and result.extra.get("grader_version") == __version__:
        return result
    return None


def result_files(results_dir: Path) -> list[Path]:
    """The results files in a folder, sorted; never the temporary `.partial-*` files a killed run
    may leave (pathlib's glob matches names starting with a dot)."""
    return sorted(p for p in Path(results_dir).glob("*.json") if not p.name.startswith("."))
