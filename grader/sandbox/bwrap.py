"""The command that starts the sandbox host, inside bubblewrap when it is installed.

The sandbox sees Python's runtime read-only and nothing else of this machine: no network, no
home, no grader package, no site-packages (where the hidden tests are installed), an empty
private /tmp. Without bwrap the host still runs with every other limit and `sandbox` says "none".
"""
from __future__ import annotations

import os
import shutil
import site
import sys
import sysconfig
from pathlib import Path

from . import interpreter

HOST = Path(__file__).with_name("host.py")
SYSTEM = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/bin")


def python() -> str:
    """The real interpreter (a venv's python is a symlink whose target the sandbox must see)."""
    return interpreter.chosen().path


def available() -> bool:
    return shutil.which("bwrap") is not None and os.environ.get("GRADER_SANDBOX") != "none"


def command(fds: list[int]) -> tuple[list[str], str]:
    host = [python(), "-I", "-S", "-B"]
    args = [str(fd) for fd in fds]
    if not available():
        return [*host, str(HOST), *args], "none"
    chosen = interpreter.chosen()
    runtime = {*chosen.prefixes, os.path.dirname(chosen.path)}
    hidden = {p for p in [*_site_dirs(), *chosen.site_dirs] if os.path.isdir(p)}
    hidden.add(str(Path(__file__).resolve().parents[1]))  # the grader package, hidden tests
    cmd = [shutil.which("bwrap"), "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
           "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8",
           "--setenv", "PYTHONHASHSEED", "0"]
    for link in ("lib", "lib64", "lib32", "bin", "sbin"):
        if os.path.islink(f"/{link}"):
            cmd += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            cmd += ["--ro-bind", f"/{link}", f"/{link}"]
    # shared libraries and basic commands, not /usr/local, /usr/share or /usr/src
    shown = runtime | {p for p in SYSTEM if os.path.isdir(p)}
    for path in sorted(shown):
        cmd += ["--ro-bind", path, path]
    for path in sorted(hidden):
        if any(path == r or path.startswith(r.rstrip("/") + "/") for r in shown):
            cmd += ["--tmpfs", path]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", "/tmp",
            "--ro-bind", str(HOST), "/sandbox/host.py", *host, "/sandbox/host.py", *args]
    return cmd, "bwrap"


def _site_dirs() -> list[str]:
    dirs = list(site.getsitepackages()) + [site.getusersitepackages()]
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    for paths in (sysconfig.get_paths(), sysconfig.get_paths(vars=base)):
        dirs += [paths["purelib"], paths["platlib"]]  # a venv's and its base interpreter's
    return dirs
