"""The results folder: one Gradescope results JSON per student, written atomically.

A result on disk is final: an interrupted run loses nothing that was written, and `--resume`
keeps a result only while everything that decided it is unchanged (`stale` says what changed).
Grading the same hand-ins again writes the same bytes: the one thing that varies, how long a
hand-in took (Gradescope's optional ``execution_time``), is kept in ``times.json`` beside.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from ..grading.handin import HandinError, pick
from ..results.model import Result
from ..sandbox import interpreter


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
    return _write(results_dir, student_id, result)[0]


def save(results_dir: Path, student_id: str, result: Result) -> Result:
    """`write`, and return the result as `read` will give it back (with its execution time),
    without reading the file."""
    stored = Result.from_json(json.loads(_write(results_dir, student_id, result)[1]))
    stored.execution_time = result.execution_time
    return stored


def _write(results_dir: Path, student_id: str, result: Result) -> tuple[Path, str]:
    results_dir.mkdir(parents=True, exist_ok=True)
    target = results_dir / filename(student_id)
    fd, tmp = tempfile.mkstemp(dir=results_dir, prefix=".partial-", suffix=".json")
    try:
        # Atomic against a killed process or a full disk (the rename happens only after a
        # complete write); no fsync, as power loss is not what a grading run must survive.
        data = result.to_json()
        del data["execution_time"]  # wall time differs run to run; `record_times` keeps it
        text = json.dumps(data, allow_nan=False)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # like every other output; mkstemp makes it private
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target, text


def read(path: Path) -> Result | None:
    try:
        return Result.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a file we did not write completely or at all: grade again


def inputs() -> dict:
    """What decides a grade besides the hand-in and the limits: the hidden suite and the code
    that checks and diagnoses (by content), and the interpreter the hand-ins run under."""
    return {"suite_sha256": _suite_hash(), "interpreter": _interpreter()}


# The reasons `stale` gives, in the order they are checked and reported.
CHANGED = {"content_sha256": "hand-in changed", "grader_version": "grader version changed",
           "suite_sha256": "hidden suite changed", "limits": "limits changed",
           "interpreter": "interpreter changed", "imports": "allowed imports changed",
           "values": "values changed (course secret or --published-values)"}


def stale(path: Path, wanted: dict) -> str:
    """Why the result at `path` cannot be kept for a hand-in to be graded with `wanted` (a task's
    extra: content hash, inputs, limits, version); "" when it can."""
    result = read(path)
    if result is None:
        return "results file damaged" if path.exists() else "not graded before"
    if result.extra.get("lost"):
        return "its grading was cut short last time"
    why = [text for key, text in CHANGED.items() if result.extra.get(key) != wanted.get(key)]
    return ", ".join(why)


@functools.cache
def _suite_hash() -> str:
    h = hashlib.sha256()
    base = Path(__file__).resolve().parents[1]
    for folder in ("suite", "checking"):
        for f in sorted((base / folder).glob("*")):
            if f.suffix in (".py", ".ini"):
                h.update(f"{folder}/{f.name}\0".encode() + f.read_bytes() + b"\0")
    return h.hexdigest()


def _interpreter() -> str:
    python = interpreter.chosen()  # the one that runs hand-ins (`--python`), not the grader's
    return f"Python {'.'.join(map(str, python.version))} ({python.path})"


TIMES = "times.json"  # beside results/: how long each hand-in took, the one thing that varies


def atomic(path: Path, text) -> None:
    """Write `text` (a string, or its pieces) so that `path` is never seen half written."""
    tmp = path.with_name(".partial-" + path.name)
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.writelines([text] if isinstance(text, str) else text)
        tmp.replace(path)
    except BaseException:  # Ctrl-C mid-write included: no half file left behind
        tmp.unlink(missing_ok=True)
        raise


def record_times(out: Path, times: dict[str, float]) -> None:
    """Add this run's grading times (seconds, by student id) to OUT's times file. They are
    kept out of the results so that grading the same hand-ins again writes the same bytes."""
    known = read_times(out)
    known.update({sid: round(t, 4) for sid, t in times.items()})  # as execution_time
    path = Path(out) / TIMES
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic(path, json.dumps(dict(sorted(known.items())), indent=0))


def read_times(out: Path) -> dict[str, float]:
    try:
        data = json.loads((Path(out) / TIMES).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float))} \
        if isinstance(data, dict) else {}


def result_files(results_dir: Path) -> list[Path]:
    """The results files in a folder, sorted; never the temporary `.partial-*` files a killed run
    may leave (pathlib's glob matches names starting with a dot)."""
    return sorted(p for p in Path(results_dir).glob("*.json") if not p.name.startswith("."))
