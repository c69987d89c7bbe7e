"""The command that starts the sandbox host, inside bubblewrap when it is installed.

The sandbox sees what `paths` names, read-only (Python's runtime, the packages hand-ins may
import), and nothing else of this machine: no network, no home, no grader package, no
site-packages (where the hidden tests are installed), an empty private /tmp. Where bwrap is
missing or this machine refuses its namespaces (tried once, `unavailable`), the host runs
without it and the other layers confine hand-ins (see isolation.py).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from . import paths

HOST = Path(__file__).with_name("host.py")
LAYERS = Path(__file__).with_name("layers")
STANDIN = Path(__file__).with_name("standin.py")  # imported by the host, beside it
WIRE = Path(__file__).with_name("wire.py")  # likewise
MODULES = (HOST, STANDIN, WIRE)  # the host's own files, each shown as /sandbox/<its name>
IMPORTS = "/sandbox/imports"  # where the allowed imports' folder appears inside

# Runs the host script as `python host.py` would (as __main__, with the same sys.argv), but from
# its bytecode cache when there is one: Python compiles a script it is given on every run.
RUN = ("import sys, importlib.util as u; s = u.spec_from_file_location('__main__', {path!r}); "
       "m = u.module_from_spec(s); sys.modules['__main__'] = m; sys.argv[0] = {path!r}; "
       "s.loader.exec_module(m)")


def run_host(path: str) -> list[str]:
    return ["-c", RUN.format(path=path)]


def caches() -> list[tuple[str, str]]:
    """(cache file, where it appears inside) of the host and the modules beside it, those that
    exist: shown next to their sources, they spare the host compiling them on every start."""
    out = []
    for source in MODULES:
        cached = importlib.util.cache_from_source(str(source))
        if os.path.isfile(cached):
            out.append((cached, f"/sandbox/__pycache__/{os.path.basename(cached)}"))
    return out


@lru_cache(maxsize=None)
def compile_host() -> None:
    """Write the bytecode caches the host runs from, where they are missing and may be
    written (as importing its modules here would): the host itself runs with -B, and the
    trusted side imports none of it but the wire format. An installed kit has them all."""
    if sys.dont_write_bytecode:
        return
    for source in (*MODULES, *sorted(LAYERS.glob("*.py"))):
        cached = importlib.util.cache_from_source(str(source))
        if not os.path.isfile(cached):
            import py_compile

            try:
                py_compile.compile(str(source), cfile=cached, doraise=True)
            except (OSError, py_compile.PyCompileError):
                pass  # a read-only install: the host compiles them as it starts


def available() -> bool:
    return unavailable() is None


def unavailable() -> str | None:
    """Why namespaces cannot be used here, or None."""
    if os.environ.get("GRADER_SANDBOX") == "none":
        return "turned off (GRADER_SANDBOX=none)"
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    return _refused()


@lru_cache(maxsize=None)
def _refused() -> str | None:
    """Whether this machine lets bwrap make the host's namespaces (a platform's container, or
    user namespaces switched off, do not): tried once with the same flags, else bwrap's reason."""
    try:
        proc = subprocess.run([shutil.which("bwrap"), *_namespaces(), "--ro-bind", "/", "/",
                               "true"], capture_output=True, text=True, timeout=10,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bwrap could not run ({e})"
    if proc.returncode == 0:
        return None
    lines = proc.stderr.strip().splitlines()
    return lines[-1].split(". ")[0] if lines else f"bwrap failed (exit {proc.returncode})"


# As root, the host keeps what it needs to set up each hand-in (its pid and mount namespaces,
# its uid and folder, killing it, keeping itself out of reach of the OOM killer) and no user
# namespace, which would map root alone and leave no other uid to give hand-ins. Hand-ins
# themselves never hold any of these.
ROOT_CAPS = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_CHOWN",
             "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SYS_RESOURCE")


def _namespaces() -> list[str]:
    if os.geteuid() != 0:
        return ["--unshare-all", "--cap-drop", "ALL"]
    cmd = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
           "--unshare-cgroup-try", "--cap-drop", "ALL"]
    for cap in ROOT_CAPS:
        cmd += ["--cap-add", cap]
    return cmd


def _above(bound: list[str]) -> list[str]:
    """The folders above `bound` that are neither bound themselves nor inside a bind."""
    inside = lambda folder: any(folder == b or folder.startswith(b.rstrip("/") + "/")
                                for b in bound)
    folders = {str(p) for b in bound for p in Path(b).parents if str(p) != "/"}
    return sorted(f for f in folders if not inside(f) and not os.path.islink(f))


@lru_cache(maxsize=None)
def _has_perms() -> bool:
    """bwrap 0.5 and later know --perms."""
    try:
        out = subprocess.run([shutil.which("bwrap"), "--version"], capture_output=True,
                             text=True, timeout=10).stdout
        return tuple(int(x) for x in out.split()[-1].split(".")[:2]) >= (0, 5)
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return False


def command(args: list[str], imports: paths.Imports | None = None,
            writable: list[str] = ()) -> tuple[list[str], str]:
    """The host's command line with `args`; `writable` (the sandbox's cgroups) stay
    writable inside."""
    host = [paths.python(), "-I", "-S", "-B"]
    compile_host()
    if not available():
        return [*host, *run_host(str(HOST)), *args], "none"
    cmd = [shutil.which("bwrap"), "--die-with-parent", "--new-session", *_namespaces()]
    cmd += ["--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8",
            "--setenv", "PYTHONHASHSEED", "0"]
    for link in ("lib", "lib64", "lib32", "bin", "sbin"):
        if os.path.islink(f"/{link}"):
            cmd += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            cmd += ["--ro-bind", f"/{link}", f"/{link}"]
    shown = paths.runtime()
    if os.geteuid() == 0 and _has_perms():
        # as root bwrap makes the folders above a bind 0700: a hand-in under a uid of its own
        # must still walk down to Python's runtime and the allowed imports
        for folder in _above([*shown, IMPORTS]) + [IMPORTS]:
            cmd += ["--perms", "0755", "--dir", folder]
    for path in shown:
        cmd += ["--ro-bind", path, path]
    for path in paths.hidden():
        if any(path == r or path.startswith(r.rstrip("/") + "/") for r in shown):
            cmd += ["--tmpfs", path]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", "/tmp"]
    if imports is not None:
        # each package bound right in IMPORTS, not at its own path: a hand-in's scratch tmpfs on
        # /tmp would hide a kit installed under /tmp, and the tmpfs above may cover it too
        for name, target in imports.links.items():
            cmd += ["--ro-bind", target, f"{IMPORTS}/{name}"]
    for path in writable:
        cmd += ["--bind", path, path]
    for path in (*MODULES, LAYERS):
        cmd += ["--ro-bind", str(path), f"/sandbox/{path.name}"]
    for cached, inside in caches():
        cmd += ["--ro-bind", cached, inside]
    cmd += [*host, *run_host("/sandbox/host.py"), *args]
    return cmd, "bwrap"
