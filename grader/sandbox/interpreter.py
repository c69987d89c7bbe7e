"""The Python that runs hand-ins: the grader's own, or another chosen with `--python`.

Hand-ins run in a process of their own (the sandbox host is stdlib-only), so a course that
writes Python 3.12 can be graded on 3.12 while the grader runs on 3.11. The choice travels in
the `GRADER_PYTHON` environment variable, so batch workers see it too.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass

MINIMUM = (3, 10)

# Run by the chosen interpreter itself: where its runtime and its installed packages are.
PROBE = """
import json, site, sys, sysconfig
base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
sites = site.getsitepackages() + [site.getusersitepackages()]
for paths in (sysconfig.get_paths(), sysconfig.get_paths(vars=base)):
    sites += [paths["purelib"], paths["platlib"]]
print(json.dumps({"version": list(sys.version_info[:3]), "sites": sites,
                  "prefixes": [sys.base_prefix, sys.base_exec_prefix]}))
"""


@dataclass(frozen=True)
class Interpreter:
    path: str                   # its real path: a venv's python is a link the sandbox resolves
    version: tuple[int, ...]
    prefixes: tuple[str, ...]   # its runtime (standard library, shared libraries)
    site_dirs: tuple[str, ...]  # its installed packages, which hand-ins must not read


def probe(path: str) -> Interpreter:
    """Ask PATH what it is; ValueError with one sentence unless it is a Python 3.10+."""
    real = os.path.realpath(path)
    said = ""
    try:
        proc = subprocess.run([real, "-I", "-S", "-c", PROBE], capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL, errors="replace")
        said = (proc.stderr.strip().splitlines() or [""])[0][:200]
        facts = json.loads(proc.stdout)
        version = tuple(facts["version"])
    except (OSError, ValueError, KeyError, TypeError, subprocess.TimeoutExpired) as e:
        said = said or getattr(e, "strerror", None) or type(e).__name__
        raise ValueError(f"{path} is not a Python interpreter that runs ({said})") from None
    if version < MINIMUM:
        raise ValueError(f"{path} is Python {'.'.join(map(str, version))}; hand-ins need "
                         f"Python {MINIMUM[0]}.{MINIMUM[1]} or newer")
    return Interpreter(real, version, tuple(facts["prefixes"]), tuple(facts["sites"]))


@functools.lru_cache(maxsize=None)
def _probed(path: str) -> Interpreter:
    try:
        return probe(path)
    except ValueError as e:
        raise RuntimeError(f"GRADER_PYTHON: {e}") from None


def chosen() -> Interpreter:
    """The interpreter hand-ins run in: GRADER_PYTHON if set, else the grader's own."""
    path = os.environ.get("GRADER_PYTHON")
    if path:
        return _probed(path)
    return Interpreter(os.path.realpath(sys.executable), tuple(sys.version_info[:3]),
                       (sys.base_prefix, sys.base_exec_prefix), ())
