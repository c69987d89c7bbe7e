"""What a hand-in may read: the one list both bubblewrap (what it binds) and Landlock (what it
allows) take, so the two confinements show a hand-in the same files.

That is Python's runtime and the machine's shared libraries, minus every site-packages folder
and the grader package (the hidden tests), plus the packages the instructor lets hand-ins import
(numpy by default). Those are staged as a folder of symlinks to just their own folders (and the
`.libs` folders their wheels carry), which goes on the hand-in's `sys.path`: the environment they
come from, with the grader installed in it, stays out of sight.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import site
import sys
import sysconfig
import tempfile
from pathlib import Path

from . import cache, interpreter, leftovers

GRADER = Path(__file__).resolve().parents[1]  # the grader package: hidden tests, reference model
SYSTEM = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/bin")
DEFAULT_IMPORTS = ("numpy",)
KIT = "backprop-grader"
PREFIX = "grader-imports-"  # then the process id of the grader that made it (leftovers.py)


def python() -> str:
    """The real interpreter that runs hand-ins (`--python`, else the grader's own; a venv's
    python is a symlink whose target the sandbox must see)."""
    return interpreter.chosen().path


def runtime() -> list[str]:
    """Folders shown read-only: Python's own and the system's shared libraries and commands
    (not /usr/local, /usr/share or /usr/src)."""
    shown = {*interpreter.chosen().prefixes, os.path.dirname(python())}
    shown |= {p for p in SYSTEM if os.path.isdir(p)}
    return sorted(shown)


def hidden() -> list[str]:
    """Folders inside the shown ones that must stay out of sight: where packages are installed
    (the grader's hidden tests among them) and the grader package wherever it sits."""
    dirs = list(site.getsitepackages()) + [site.getusersitepackages()]
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    for paths in (sysconfig.get_paths(), sysconfig.get_paths(vars=base)):
        dirs += [paths["purelib"], paths["platlib"]]  # a venv's and its base interpreter's
    dirs += interpreter.chosen().site_dirs  # another interpreter's (`--python`) too
    dirs.append(str(GRADER))
    return sorted({p for p in dirs if os.path.isdir(p)})


class Imports:
    """The packages hand-ins may import, staged in a folder of symlinks (see the module's doc)."""

    def __init__(self, names=DEFAULT_IMPORTS):
        self.names = sorted(dict.fromkeys(names))
        self.dir: str | None = None
        self.links: dict[str, str] = {}  # entry on the hand-in's sys.path -> its real path
        self.targets: list[str] = []

    def stage(self) -> None:
        """Make the folder of symlinks (once); raises ValueError for a package that cannot be
        offered (not installed, or the grader itself)."""
        if self.dir is not None:
            return
        links = {}
        for name in self.names:
            links.update(locate(name))
        parent = _outside_scratch() or tempfile.gettempdir()
        self.dir = tempfile.mkdtemp(prefix=leftovers.prefix(PREFIX, parent), dir=parent)
        os.chmod(self.dir, 0o755)  # readable by the uid hand-ins may run as
        for link, target in sorted(links.items()):
            os.symlink(target, os.path.join(self.dir, link))
        self.links = dict(sorted(links.items()))
        self.targets = sorted(set(links.values()))

    def cleanup(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def _outside_scratch() -> str | None:
    """A folder that a hand-in's scratch tmpfs (mounted over /tmp, /var/tmp and /dev/shm when it
    has a mount namespace of its own) does not cover and that its uid can reach."""
    if os.geteuid() == 0:
        places = ["/run"]
    else:  # hand-ins keep this user's uid
        places = [os.environ.get("XDG_RUNTIME_DIR"), os.path.expanduser("~/.cache")]
    for place in places:
        if place and os.path.isdir(place) and os.access(place, os.W_OK | os.X_OK):
            return place
    return None  # the usual temporary folder: covered only where bwrap shows it elsewhere


@functools.lru_cache(maxsize=None)  # checked when options are read, then staged
def locate(name: str) -> dict[str, str]:
    """{entry name: real path} of everything importing `name` needs: its own top-level folders
    and .libs, and those of the packages it requires (recursively). Never the grader.

    Looking this up through `importlib.metadata` costs more than the rest of a grader's set-up,
    so the answer is kept in a cache file (`cache.py`) that is used only while nothing it
    depends on has changed."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise _refuse(name, "not the name of a top-level module")
    found = cache.read(name)
    if found is None:
        found, records = _locate(name)
        cache.write(name, found, records)
    for path in map(Path, found.values()):
        if path == GRADER or GRADER.is_relative_to(path) or path.is_relative_to(GRADER):
            raise _refuse(name, "it would show them the grader")
    return found


def _refuse(name: str, why: str) -> ValueError:
    return ValueError(f"cannot let hand-ins import `{name}`: {why}")


def _locate(name: str) -> tuple[dict[str, str], list[str]]:
    """What `locate` answers, and the RECORD files it was read from."""
    from importlib import metadata

    dist = _distribution(metadata, name)
    if dist is None:
        raise _refuse(name, "it is not installed where the grader runs")
    found: dict[str, str] = {}
    records = []
    for d in requirements(dist):
        if normal(d.metadata["Name"]) == KIT:
            raise _refuse(name, "it would show them the grader")
        found.update(_top_level(d))
        folder = getattr(d, "_path", None)  # its .dist-info folder (a PathDistribution)
        if folder is not None:
            records.append(str(Path(folder) / "RECORD"))
    return found, records


def requirements(dist) -> list:
    """`dist` and every installed distribution it requires, recursively (extras left out)."""
    from importlib import metadata

    out, seen, todo = [], set(), [dist]
    while todo:
        d = todo.pop()
        key = normal(d.metadata["Name"] or "")
        if key in seen:
            continue
        seen.add(key)
        out.append(d)
        for req in d.requires or []:
            spec, _, marker = req.partition(";")
            if "extra" not in marker:
                dep = _distribution(metadata, re.split(r"[\s\[\]<>=!~(]", spec.strip())[0])
                if dep is not None:  # needed only on other platforms or Python versions
                    todo.append(dep)
    return out


def normal(name: str) -> str:
    """A distribution's name as the package index compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution(metadata, name: str):
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        pass
    owners = metadata.packages_distributions().get(name)  # an import name unlike its dist's
    if owners:
        try:
            return metadata.distribution(owners[0])
        except metadata.PackageNotFoundError:
            return None
    return None


def _top_level(dist) -> dict[str, str]:
    """The folders and modules a distribution installed at the top of its site folder."""
    record = dist.read_text("RECORD") or ""
    names = {line.split(",", 1)[0].split("/", 1)[0] for line in record.splitlines() if line}
    out = {}
    base = dist.locate_file("")
    for n in sorted(names):
        if not n or n.startswith("..") or n.endswith((".dist-info", ".egg-info", ".pth")) \
                or n == "__pycache__":
            continue
        path = os.path.realpath(base / n)
        if os.path.exists(path):
            out[n] = path
    return out
