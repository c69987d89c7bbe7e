"""Where the allowed imports live, remembered between runs of the grader.

`paths.locate` asks `importlib.metadata` which folders a package and what it requires
installed, which reads every distribution's metadata and the package's RECORD: more than the
rest of a grader's set-up. The answer is written to a file in the user's cache folder and
used again only while everything it was read from is unchanged: the same interpreter, the
same `sys.path`, every folder of `sys.path` unmodified (installing or removing a distribution
changes its folder), every RECORD read unmodified, every folder named still there. Anything
else, or a file that cannot be read or written, and the answer is looked up again.

The cache decides what hand-ins are shown, so a file is used only when it belongs to this
user and no one else may write it (nor its folder), and `locate` checks the grader is not
among what it names whatever the file says.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile

VERSION = 1
ENTRY = re.compile(r"[A-Za-z0-9_.+-]+")  # a name in a site folder, never a path


def folder() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "backprop-grader")


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _where() -> dict:
    """What every answer depends on besides the RECORD files it read."""
    return {"version": VERSION, "python": sys.executable, "python_version": sys.version,
            "sys_path": list(sys.path), "mtimes": [_mtime(p or ".") for p in sys.path]}


def _file() -> str:
    key = json.dumps([VERSION, sys.executable, sys.version, sys.path])
    return os.path.join(folder(), f"imports-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json")


def _trusted(path: str, fd: int) -> bool:
    """Owned by this user and writable by no one else, the file and its folder."""
    uid = os.geteuid()
    for st in (os.fstat(fd), os.stat(os.path.dirname(path))):
        if st.st_uid != uid or st.st_mode & 0o022:
            return False
    return True


def _load() -> dict:
    path = _file()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return {}
    try:
        if not _trusted(path, fd):
            return {}
        with os.fdopen(fd, encoding="utf-8") as f:
            fd = -1
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    finally:
        if fd >= 0:
            os.close(fd)
    return data if isinstance(data, dict) and data.get("where") == _where() else {}


def read(name: str) -> dict[str, str] | None:
    """{entry: real path} as `locate(name)` found it, if nothing it depends on has changed."""
    entry = _load().get("names", {}).get(name)
    try:
        found, records = entry["found"], entry["records"]
        if not all(isinstance(k, str) and ENTRY.fullmatch(k) and k not in (".", "..")
                   and isinstance(v, str) and os.path.isabs(v) for k, v in found.items()):
            return None
        if any(_mtime(path) != mtime for path, mtime in records.items()):
            return None
        if not all(os.path.exists(v) for v in found.values()):
            return None
    except (TypeError, KeyError, AttributeError):
        return None
    return dict(found)


def write(name: str, found: dict[str, str], records: list[str]) -> None:
    """Remember `locate(name)`'s answer, read from `records`; silently not where it cannot."""
    data = _load() or {"where": _where(), "names": {}}
    data["names"][name] = {"found": found, "records": {r: _mtime(r) for r in records}}
    try:
        os.makedirs(folder(), mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".imports-", dir=folder())
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp, _file())
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
