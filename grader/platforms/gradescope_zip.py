"""Build the autograder zip Gradescope asks for ("Configure Autograder" upload).

Gradescope's autograder specification (gradescope/autograder_samples ``docs/specs.md``):

* the zip holds ``setup.sh`` and ``run_autograder`` **at its root** (zip the files, not a folder);
* it is unpacked into ``/autograder/source``; ``setup.sh`` runs once as root when the image is built
  (Ubuntu, 22.04 by default: ``docs/base_images.md``), ``run_autograder`` is copied to
  ``/autograder/run_autograder`` and must be executable with a ``#!`` line;
* the student's files are in ``/autograder/submission``; the results go to
  ``/autograder/results/results.json`` in the format `grader.results.model.Result.to_json` writes; the
  working directory is ``/autograder``.

What `build` writes:

* ``setup.sh``: finds the Python the zip was built with (same major.minor; installs
  ``pythonX.Y`` and its ``venv`` with apt when missing, and says clearly what is missing when
  it cannot), makes a virtual environment in ``$AUTOGRADER_ROOT/venv``, ``pip install``s the kit
  from ``kit/`` with every dependency pinned by ``constraints.txt``, writes the bytecode of
  everything installed (each submission starts from the image, so a cache written while
  grading is lost), makes the kit and the installed grader package unreadable by other
  users (hand-ins run under a uid of their own), then grades an empty hand-in once, so that
  where the allowed imports live is in the image's cache folder too.
* ``constraints.txt``: ``name==version`` of every package the kit needs, as installed where the
  zip is built: the image gets what the instructor ran, not what the index serves that day.
  (Pins rather than bundled wheels: pip cannot resolve another Python version's conditional
  dependencies, so wheels for the image could only be chosen on the image itself.)
* ``run_autograder``: runs ``grader grade $AUTOGRADER_ROOT/submission`` (with
  ``--gradescope-metadata $AUTOGRADER_ROOT/submission_metadata.json`` when Gradescope gave one,
  so the course file's ``[submissions]`` rules judge the attempt) and stores its standard
  output as ``results/results.json``; if that is not a JSON object (the grader crashed), it writes a
  0-point results file whose ``output`` says so, so students see a message instead of Gradescope's
  generic failure.
* ``kit/``: a copy of the package source (``pyproject.toml``, ``README.md``, ``grader/``), without
  caches.

Both scripts read ``AUTOGRADER_ROOT`` (default ``/autograder``) so they can be exercised in a
temporary tree. Scripts get LF line ends (a CRLF shebang fails) and mode 0755 in the zip's
``external_attr`` (Unix ``create_system``), so they stay executable after unpacking.
"""
from __future__ import annotations

import shlex
import stat
import sys
import zipfile
from pathlib import Path

KIT_DIR = "kit"
COURSE_FILE = "grader.toml"
KIT_FILES = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in")
KIT_PACKAGE = "grader"
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ipynb_checkpoints"}
SKIP_SUFFIXES = {".pyc", ".pyo"}
# A fixed timestamp keeps the zip byte-for-byte reproducible.
_EPOCH = (2020, 1, 1, 0, 0, 0)

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while building the autograder image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"
WANT="@@PYTHON@@"  # the Python the dependencies in constraints.txt were pinned with

usable() {  # a python of version $WANT with venv and pip
    command -v "$1" >/dev/null 2>&1 &&
        [ "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$WANT" ] &&
        "$1" -c 'import venv, ensurepip' >/dev/null 2>&1
}
find_python() {
    for py in ${PYTHON:-} "python$WANT" python3; do
        if usable "$py"; then PY="$py"; return 0; fi
    done
    return 1
}
if ! find_python && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y "python$WANT" "python$WANT-venv" || apt-get install -y python3 python3-venv || true
fi
if ! find_python; then
    echo "setup.sh: this autograder needs Python $WANT (with venv): its dependencies are pinned" \\
         "for the Python that built the zip, and the grader needs 3.10 or newer." >&2
    echo "setup.sh: found: $(python3 --version 2>&1 || echo 'no python3')." \\
         "Choose a base image that has python$WANT, or build the zip with the Python it has." >&2
    exit 1
fi

"$PY" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --disable-pip-version-check --no-cache-dir \\
    --constraint "$SRC/constraints.txt" "$SRC/kit"
"$ROOT/venv/bin/python" -I -c "import grader"  # -I: the installed one, not one in the cwd

# Bytecode for everything installed, written now: every submission starts from this image, so
# what Python would write while grading is lost each time (pip compiles as it installs, unless
# told not to). The hidden suite is among it: `grader grade` imports it
# without pytest's assertion rewriting, through these caches.
"$ROOT/venv/bin/python" -I -m compileall -q -j 0 $("$ROOT/venv/bin/python" -I -c \
    'import sysconfig; print(" ".join(sorted({sysconfig.get_path(p) for p in ("purelib", "platlib")})))') >/dev/null

# Hand-ins run under a uid of their own only where that uid can read Python's runtime: make the
# interpreter the venv runs readable by every user (a Python installed under a 0700 home is not).
BASE="$("$ROOT/venv/bin/python" -I -c 'import sys; print(sys.base_prefix)')"
if [ "$BASE" != "/usr" ] && [ "$BASE" != "/" ]; then
    chmod -R o+rX "$BASE"
    dir="$BASE"
    while [ "$dir" != "/" ]; do chmod o+x "$dir"; dir="$(dirname "$dir")"; done
fi

# Hand-ins run under a uid of their own: nothing of the kit (the hidden tests, the reference
# model) may be readable by others, whatever else confines them.
GRADER_DIR="$("$ROOT/venv/bin/python" -I -c 'import grader, os; print(os.path.dirname(grader.__file__))')"
chmod -R o-rwx "$SRC" "$GRADER_DIR"
chmod o+x "$ROOT"  # while the packages hand-ins may import (numpy, in the venv) stay reachable

# One grading now, of an empty hand-in, as run_autograder grades: it finds where the packages
# hand-ins may import live and remembers it in this user's cache folder, which every submission
# starts from (each would look it up again otherwise). Last: nothing may change the venv after.
WARM="$(mktemp -d)"
: > "$WARM/engine.py"
COURSE=()
if [ -f "$SRC/grader.toml" ]; then COURSE=(--config "$SRC/grader.toml"); fi
"$ROOT/venv/bin/grader" grade "${COURSE[@]}" "$WARM/engine.py" >/dev/null 2>&1 || true
rm -rf "$WARM"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission, from /autograder.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
RESULTS="$ROOT/results"
mkdir -p "$RESULTS"

GRADER="$ROOT/venv/bin/grader"
if [ ! -x "$GRADER" ]; then
    GRADER="$(command -v grader || true)"
fi
PY="$ROOT/venv/bin/python"
if [ ! -x "$PY" ]; then
    PY="$(command -v python3)"
fi

COURSE=()
if [ -f "$ROOT/source/grader.toml" ]; then
    COURSE=(--config "$ROOT/source/grader.toml")
fi
if [ -f "$ROOT/submission_metadata.json" ]; then  # attempts: [submissions] in grader.toml
    COURSE+=(--gradescope-metadata "$ROOT/submission_metadata.json")
fi

status=0
if [ -n "$GRADER" ]; then
    "$GRADER" grade "${COURSE[@]}" "$ROOT/submission"@@GRADE_ARGS@@ > "$RESULTS/results.json.part" || status=$?
else
    echo "grader is not installed: did setup.sh run?" >&2
    : > "$RESULTS/results.json.part"
    status=127
fi

"$PY" - "$RESULTS" "$status" <<'PYEOF'
import json, pathlib, sys
results, status = pathlib.Path(sys.argv[1]), sys.argv[2]
part = results / "results.json.part"
text = part.read_text(encoding="utf-8", errors="replace") if part.exists() else ""
try:
    data = json.loads(text)
    ok = isinstance(data, dict) and ("score" in data or "tests" in data)
except ValueError:
    ok = False
if not ok:
    data = {
        "score": 0.0,
        "output": "The autograder could not grade this submission (exit status "
                  + status + "). Please tell your instructor.",
        "tests": [],
        "extra_data": {"error": {"type": "AutograderFailure", "status": status}},
    }
(results / "results.json").write_text(json.dumps(data), encoding="utf-8")
part.unlink(missing_ok=True)
PYEOF
"""


def _add(zf: zipfile.ZipFile, arcname: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
    info.create_system = 3  # Unix, so external_attr carries permissions
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def kit_files(kit_root: Path) -> list[tuple[str, Path]]:
    """(path inside ``kit/``, file on disk) for the package source to bundle, sorted."""
    kit_root = Path(kit_root)
    if not (kit_root / "pyproject.toml").is_file() or not (kit_root / KIT_PACKAGE).is_dir():
        raise FileNotFoundError(f"{kit_root}: expected pyproject.toml and {KIT_PACKAGE}/ (the kit's root)")
    out = [(name, kit_root / name) for name in KIT_FILES if (kit_root / name).is_file()]
    for p in sorted((kit_root / KIT_PACKAGE).rglob("*")):
        rel = p.relative_to(kit_root)
        if not p.is_file() or p.is_symlink():
            continue
        if SKIP_PARTS & set(rel.parts) or p.suffix in SKIP_SUFFIXES:
            continue
        out.append((rel.as_posix(), p))
    return out


def pins() -> list[str]:
    """`name==version` of every installed package the kit needs, recursively: what this
    environment runs, so the autograder image installs the same."""
    from importlib import metadata

    from ..sandbox.paths import KIT, normal, requirements

    found = {normal(d.metadata["Name"]): d.version
             for d in requirements(metadata.distribution(KIT))}
    found.pop(KIT)
    return [f"{name}=={version}" for name, version in sorted(found.items())]


def build(out_zip: Path, kit_root: Path, *, grade_args: list[str] | tuple[str, ...] = (),
          course: Path | None = None) -> Path:
    """Write the Gradescope autograder zip to ``out_zip`` and return its path.

    ``kit_root`` is the folder holding ``pyproject.toml`` and ``grader/``. ``grade_args`` are extra
    arguments for ``grader grade`` (shell-quoted into ``run_autograder``). ``course``, a course
    file, goes in as ``grader.toml``, which ``run_autograder`` grades by.
    """
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    extra = "".join(" " + shlex.quote(a) for a in grade_args)
    run = RUN_AUTOGRADER.replace("@@GRADE_ARGS@@", extra)
    tmp = out_zip.with_name(out_zip.name + ".tmp")
    setup = SETUP_SH.replace("@@PYTHON@@", "%d.%d" % sys.version_info[:2])
    with zipfile.ZipFile(tmp, "w") as zf:
        _add(zf, "setup.sh", setup.encode(), 0o755)
        _add(zf, "run_autograder", run.encode(), 0o755)
        _add(zf, "constraints.txt", "".join(p + "\n" for p in pins()).encode(), 0o644)
        if course is not None:
            _add(zf, COURSE_FILE, Path(course).read_bytes(), 0o644)
        for arc, path in kit_files(kit_root):
            _add(zf, f"{KIT_DIR}/{arc}", path.read_bytes(), 0o644)
    tmp.replace(out_zip)
    return out_zip


def unpack_like_gradescope(autograder_zip: Path, root: Path) -> Path:
    """Lay out ``root`` as Gradescope does (for local tests): ``source/`` holds the zip,
    ``run_autograder`` is copied to the root, ``submission/`` and ``results/`` exist. Returns root."""
    root = Path(root)
    src = root / "source"
    src.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(autograder_zip) as zf:
        for info in zf.infolist():
            target = src / info.filename
            if not target.resolve().is_relative_to(src.resolve()):
                raise ValueError(f"unsafe path in autograder zip: {info.filename}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)
    run = root / "run_autograder"
    run.write_bytes((src / "run_autograder").read_bytes())
    run.chmod(0o755)
    (root / "submission").mkdir(exist_ok=True)
    (root / "results").mkdir(exist_ok=True)
    return root
