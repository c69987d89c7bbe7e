"""Find the hand-ins in a bulk download from an LMS (or in a plain folder).

`discover(source)` takes a folder or a ``.zip`` and returns one `Submission` per student, sorted by
student id. A hand-in (`Submission.path`) is a ``.py`` file, an ``.ipynb`` file or a folder (the
grader picks ``engine.py`` in it); a student's own ``.zip`` is unpacked into a folder.

Recognised layouts (each top-level entry is classified on its own, so a folder mixing layouts works):

Canvas "Download Submissions"
    Flat files named ``<name>[_LATE]_<userid>_<attachmentid>_<original filename>``. Canvas builds the
    prefix from the student's sortable name ("Doe, Jane"), lowercased, with every non-word character
    removed ("doejane"), then ``LATE`` when the submission is late, then the Canvas user id; each
    uploaded file then adds its attachment id and its display name (``lib/content_zipper.rb`` in
    canvas-lms: ``get_filename``, ``add_upload_submission``). Anonymous grading uses
    ``anon_<anonymous id>`` in place of name and user id. Online text / URL entries become
    ``<prefix>_text.html`` / ``<prefix>_link.html``. When a student re-uploads a file of the same name,
    Canvas renames it with ``-1``, ``-2``... before the last extension (``engine-1.py``,
    ``a.tar-1.gz``); when several versions of one file are present the highest suffix (then the highest
    attachment id) wins. The student id is the Canvas user id.

Moodle "Download all submissions"
    One folder per participant and submission plugin: ``<Full Name>_<participantid>_assignsubmission_file_``
    (Moodle < 4.x kept the trailing ``_``; newer versions drop it; the online text plugin gives
    ``..._assignsubmission_onlinetext_`` holding ``onlinetext.html``). With "download submissions in
    folders" turned off the files are flat: ``<Full Name>_<participantid>_assignsubmission_file_<file>``.
    The student id is Moodle's participant id (the per-assignment anonymous-safe id, not the user id);
    blind marking shows ``Participant_<id>``.

Gradescope "Export Submissions"
    ``submission_metadata.yml`` at the top (possibly inside one ``assignment_<id>_export/`` folder)
    maps each ``submission_<id>`` folder to ``:submitters:`` (a list of ``:name:``, ``:sid:``,
    ``:email:``), ``:created_at:`` (a timestamp), ``:score:``, ``:history:``... The keys are Ruby
    symbols, so in YAML they are plain strings that start with ``:``. A group submission yields one
    `Submission` per submitter, all pointing at the same folder.

Anything else
    Loose ``.py`` / ``.ipynb`` files (student = file stem, source ``"file"``), one folder per student
    (student = folder name, source ``"folder"``), a student's ``.zip`` (unpacked, source ``"file"``);
    any other file is graded under its file name and flagged in `Submission.note`.

Zips are unpacked safely (`extract_zip`): absolute paths, ``..`` components and links are rejected,
the total uncompressed size and the file count are capped, ``__MACOSX`` and ``.DS_Store`` are
skipped. Extraction needs a work folder: pass ``workdir`` to `discover`, or use `unpacked(source)`,
a context manager that owns a temporary folder and removes it on exit. Without either, `discover`
makes a temporary folder that is removed when the interpreter exits.
"""
from __future__ import annotations

import atexit
import re
import shutil
import stat
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Iterator

import yaml

from ..sandbox import leftovers

# Limits for unpacking a download (and, separately, each student's own zip).
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_FILES = 20_000
STUDENT_MAX_TOTAL_BYTES = 64 * 1024 * 1024
STUDENT_MAX_FILES = 2_000

HANDIN_SUFFIXES = {".py", ".ipynb"}
JUNK_NAMES = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini", "__pycache__", ".ipynb_checkpoints"}

SOURCES = ("canvas", "moodle", "gradescope", "file", "folder")


class UnsafeArchive(ValueError):
    """A zip that would write outside its folder, hold links, or unpack too large."""


@dataclass
class Submission:
    """One student's hand-in as found in a download.

    ``source`` is one of ``"canvas"``, ``"moodle"``, ``"gradescope"``, ``"file"``, ``"folder"``.
    ``submitted_at`` is a timezone-aware `datetime` when the platform says when (Gradescope), else None.
    ``note`` explains anything a grader should know (unrecognised name, versions dropped, ...).
    """

    student_id: str
    name: str
    path: Path
    late: bool = False
    submitted_at: datetime | None = None
    source: str = "file"
    note: str = ""
    email: str = ""
    where: str = ""  # the hand-in's path in the download, the same from run to run

    def student_extra(self) -> dict:
        """The ``Result.extra["student"]`` dict for this hand-in."""
        d = {"id": self.student_id, "name": self.name, "source": self.source,
             "path": self.where or str(self.path)}
        if self.email:
            d["email"] = self.email
        if self.submitted_at is not None:
            d["submitted_at"] = self.submitted_at.isoformat()
        if self.note:
            d["note"] = self.note
        return d


# --------------------------------------------------------------------------- safe unzip


def _safe_member_path(name: str) -> PurePosixPath | None:
    """The relative path a zip member may be written to; None for junk; raises for unsafe names."""
    raw = name.replace("\\", "/")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise UnsafeArchive(f"absolute path in archive: {name!r}")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafeArchive(f"'..' in archive path: {name!r}")
    if not parts or any(p in JUNK_NAMES or p.startswith("._") for p in parts):
        return None
    return PurePosixPath(*parts)


def member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its maker meant it. With the UTF-8 flag, `zipfile` has it right;
    without, `zipfile` reads the legacy code page (cp437), but Info-ZIP on Linux and macOS's
    Archive Utility write UTF-8 without the flag: their name is Info-ZIP's Unicode Path extra
    field (0x7075) when there is one, else the raw bytes as UTF-8 when they are valid UTF-8,
    and cp437 only when they are not."""
    if info.flag_bits & 0x800:
        return info.filename
    extra = info.extra
    while len(extra) >= 4:
        kind, size = int.from_bytes(extra[:2], "little"), int.from_bytes(extra[2:4], "little")
        body, extra = extra[4:4 + size], extra[4 + size:]
        if kind == 0x7075 and len(body) > 5 and body[0] == 1:
            try:
                return body[5:].decode("utf-8")
            except UnicodeDecodeError:
                break
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:  # not read as cp437 (a name Python wrote itself)
        return info.filename
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return info.filename


def extract_zip(zip_path: Path, dest: Path, *, max_total_bytes: int = MAX_TOTAL_BYTES,
                max_files: int = MAX_FILES) -> Path:
    """Unpack ``zip_path`` into ``dest`` (created) and return ``dest``.

    Raises `UnsafeArchive` for absolute paths, ``..``, symlinks, more than ``max_files`` files or
    more than ``max_total_bytes`` uncompressed (counted while writing, not trusted from the headers).
    Nothing is written when the member list itself is unsafe.
    """
    dest = Path(dest)
    try:
        zf = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as e:
        raise UnsafeArchive(f"not a readable zip: {zip_path.name}: {e}") from e
    with zf:
        plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
        declared = 0
        for info in zf.infolist():
            rel = _safe_member_path(member_name(info))
            if rel is None:
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchive(f"link in archive: {info.filename!r}")
            if info.is_dir():
                plan.append((info, rel))
                continue
            declared += info.file_size
            plan.append((info, rel))
        files = [p for p in plan if not p[0].is_dir()]
        if len(files) > max_files:
            raise UnsafeArchive(f"{len(files)} files in archive, limit {max_files}")
        if declared > max_total_bytes:
            raise UnsafeArchive(f"archive unpacks to {declared} bytes, limit {max_total_bytes}")
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        written = 0
        for info, rel in plan:
            target = dest.joinpath(*rel.parts)
            if not target.resolve().is_relative_to(root):  # belt and braces
                raise UnsafeArchive(f"archive path escapes its folder: {info.filename!r}")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 16):
                    written += len(chunk)
                    if written > max_total_bytes:
                        raise UnsafeArchive(f"archive unpacks past {max_total_bytes} bytes")
                    out.write(chunk)
    return dest


# --------------------------------------------------------------------------- name patterns

# name part: lowercase word characters, never "_<digits>_" (Canvas strips that from names).
_CANVAS_FILE = re.compile(
    r"^(?P<name>[^\W_A-Z][^\WA-Z]*?)(?P<late>_LATE)?_(?P<uid>\d+)_(?P<aid>\d+)_(?P<orig>.+)$")
_CANVAS_ANON_FILE = re.compile(
    r"^(?P<late>LATE_)?anon_(?P<anon>[A-Za-z0-9]+)_(?P<aid>\d+)_(?P<orig>.+)$")
_CANVAS_ONLINE = re.compile(
    r"^(?P<name>[^\W_A-Z][^\WA-Z]*?)(?P<late>_LATE)?_(?P<uid>\d+)_(?P<kind>text|link)\.html$")
_CANVAS_VERSION = re.compile(r"^(?P<stem>.+)-(?P<n>\d+)$")

_MOODLE_FOLDER = re.compile(
    r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?$")
_MOODLE_FLAT = re.compile(
    r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<orig>.+)$")

GRADESCOPE_METADATA = "submission_metadata.yml"


def canvas_original_name(orig: str) -> tuple[str, int]:
    """Split Canvas's re-upload suffix off a file name: ``engine-2.py`` -> (``engine.py``, 2).

    Canvas inserts ``-N`` before the last extension (``a.tar.gz`` -> ``a.tar-1.gz``).
    """
    stem, dot, ext = orig.rpartition(".")
    if not dot:
        stem, ext = orig, ""
    m = _CANVAS_VERSION.match(stem)
    if not m:
        return orig, 0
    base = m["stem"] + (("." + ext) if dot else "")
    return base, int(m["n"])


# --------------------------------------------------------------------------- discovery


class _Workdir:
    """Hands out fresh sub-folders of one work folder."""

    def __init__(self, root: Path | None):
        self._root = root
        self._n = 0

    def sub(self, hint: str) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix=leftovers.prefix("grader-submissions-")))
            atexit.register(shutil.rmtree, self._root, True)
        self._n += 1
        safe = re.sub(r"[^\w.-]+", "_", hint)[:60] or "x"
        p = self._root / f"{self._n:04d}-{safe}"
        p.mkdir(parents=True)
        return p


def _is_junk(p: Path) -> bool:
    return p.name in JUNK_NAMES or p.name.startswith("._") or p.name.startswith(".")


def _children(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if not _is_junk(p)), key=lambda p: p.name)


def _student_zip(zip_file: Path, work: _Workdir) -> tuple[Path, str]:
    """Unpack a student's own zip; returns (hand-in path, note)."""
    try:
        dest = extract_zip(zip_file, work.sub(zip_file.stem), max_total_bytes=STUDENT_MAX_TOTAL_BYTES,
                           max_files=STUDENT_MAX_FILES)
    except UnsafeArchive as e:
        return zip_file, f"student archive rejected: {e}"
    return _simplify(dest, work), f"unpacked from {zip_file.name}"


def _simplify(folder: Path, work: _Workdir) -> Path:
    """A folder that only wraps one folder or one hand-in file stands for that content."""
    for _ in range(5):
        kids = _children(folder)
        if len(kids) != 1:
            return folder
        only = kids[0]
        if only.is_dir():
            folder = only
            continue
        if only.suffix.lower() in HANDIN_SUFFIXES:
            return only
        return folder
    return folder


def _handin(path: Path, work: _Workdir) -> tuple[Path, str]:
    """Normalise a hand-in: unpack a zip, unwrap a single-file folder."""
    if path.is_file() and path.suffix.lower() == ".zip":
        return _student_zip(path, work)
    if path.is_dir():
        kids = _children(path)
        if len(kids) == 1 and kids[0].is_file() and kids[0].suffix.lower() == ".zip":
            return _student_zip(kids[0], work)
        return _simplify(path, work), ""
    return path, ""


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _natural_key(s: Submission):
    sid = s.student_id
    return (0, int(sid), sid, str(s.path)) if sid.isdigit() else (1, 0, sid.lower(), str(s.path))


def _platform_name(name: str) -> bool:
    return any(r.match(name) for r in (_CANVAS_FILE, _CANVAS_ANON_FILE, _CANVAS_ONLINE, _MOODLE_FLAT))


def _find_root(folder: Path) -> Path:
    """Step into a single wrapping folder (``assignment_123_export/``, a zip's own top folder)."""
    for _ in range(3):
        if (folder / GRADESCOPE_METADATA).is_file():
            return folder
        kids = _children(folder)
        if len(kids) != 1 or not kids[0].is_dir():
            return folder
        inner = kids[0]
        if (inner / GRADESCOPE_METADATA).is_file():
            return inner
        # A lone folder that directly holds a hand-in file is one student's folder: keep it.
        if any(p.is_file() and p.suffix.lower() in HANDIN_SUFFIXES and not _platform_name(p.name)
               for p in _children(inner)):
            return folder
        if _MOODLE_FOLDER.match(inner.name):
            return folder
        folder = inner
    return folder


def discover(source: Path, workdir: Path | None = None) -> list[Submission]:
    """Every hand-in in ``source`` (a folder or a .zip), sorted by student id.

    ``workdir`` receives unpacked zips and folders assembled from several Canvas files; when None a
    temporary folder is made (removed at interpreter exit). Use `unpacked` to scope it instead.
    Raises `UnsafeArchive` when ``source`` is a zip that fails the safety checks, FileNotFoundError
    when ``source`` does not exist.
    """
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(source)
    work = _Workdir(Path(workdir) if workdir is not None else None)
    if source.is_file():
        if source.suffix.lower() == ".zip":
            root = extract_zip(source, work.sub("download"))
        else:  # a single hand-in file
            return _generic([source], work)
    else:
        root = source
    root = _find_root(root)
    if (root / GRADESCOPE_METADATA).is_file():
        subs = _gradescope(root, work)
    else:
        subs = _by_entry(_children(root), work)
    for s in subs:
        s.where = _where(s.path, root, work)
    return sorted(subs, key=_natural_key)


def _where(path: Path, root: Path, work: _Workdir) -> str:
    """A hand-in's path as the download names it: relative to the download, or to the work
    folder's sub-folder it was unpacked or gathered in (whose name is not the same from run
    to run)."""
    for base in (root, work._root):
        if base is not None and Path(path).is_relative_to(base):
            parts = Path(path).relative_to(base).parts
            return "/".join(parts[1:] if base == work._root and len(parts) > 1 else parts)
    return str(path)


@contextmanager
def unpacked(source: Path) -> Iterator[list[Submission]]:
    """``with unpacked(src) as subs:`` — `discover` with a temporary work folder removed on exit."""
    tmp = Path(tempfile.mkdtemp(prefix=leftovers.prefix("grader-submissions-")))
    try:
        yield discover(source, workdir=tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _by_entry(entries: list[Path], work: _Workdir) -> list[Submission]:
    canvas: dict[str, list[dict]] = {}
    moodle: dict[str, list[tuple[str, str, Path]]] = {}
    rest: list[Path] = []
    for p in entries:
        if p.is_file():
            m = _CANVAS_FILE.match(p.name)
            if m:
                canvas.setdefault(m["uid"], []).append(
                    {"name": m["name"], "late": bool(m["late"]), "aid": int(m["aid"]), "orig": m["orig"],
                     "path": p, "anon": False})
                continue
            m = _CANVAS_ANON_FILE.match(p.name)
            if m:
                canvas.setdefault("anon_" + m["anon"], []).append(
                    {"name": "anon_" + m["anon"], "late": bool(m["late"]), "aid": int(m["aid"]),
                     "orig": m["orig"], "path": p, "anon": True})
                continue
            m = _CANVAS_ONLINE.match(p.name)
            if m:
                canvas.setdefault(m["uid"], []).append(
                    {"name": m["name"], "late": bool(m["late"]), "aid": -1, "orig": f"{m['kind']}.html",
                     "path": p, "anon": False, "online": m["kind"]})
                continue
            m = _MOODLE_FLAT.match(p.name)
            if m:
                moodle.setdefault(m["pid"], []).append((m["name"], m["plugin"], p))
                continue
        elif p.is_dir():
            m = _MOODLE_FOLDER.match(p.name)
            if m:
                moodle.setdefault(m["pid"], []).append((m["name"], m["plugin"], p))
                continue
        rest.append(p)
    out = [_canvas_submission(uid, files, work) for uid, files in canvas.items()]
    out += [_moodle_submission(pid, items, work) for pid, items in moodle.items()]
    out += _generic(rest, work)
    return out


def _canvas_submission(uid: str, files: list[dict], work: _Workdir) -> Submission:
    late = any(f["late"] for f in files)
    name = files[0]["name"]
    uploads = [f for f in files if "online" not in f]
    notes = []
    if files[0]["anon"]:
        notes.append("Canvas anonymous grading: id is the anonymous id")
    if not uploads:
        f = files[0]
        return Submission(uid, name, f["path"], late=late, source="canvas",
                          note=_join(*notes, f"Canvas online {f['online']} entry, no file uploaded"))
    newest: dict[str, tuple[int, int, dict]] = {}
    for f in uploads:
        base, version = canvas_original_name(f["orig"])
        key = (version, f["aid"])
        if base not in newest or key > newest[base][:2]:
            newest[base] = (version, f["aid"], f)
    dropped = len(uploads) - len(newest)
    if dropped:
        notes.append(f"{dropped} older version(s) ignored, newest kept")
    if len(newest) == 1:
        (base, (_, _, f)), = newest.items()
        path, note = _handin(f["path"], work)
        if path == f["path"] and path.suffix.lower() in HANDIN_SUFFIXES:
            # Give the hand-in the name the student gave it (engine.py, not
            # doejane_12_345_engine-1.py): feedback names the file by it.
            folder = work.sub(f"canvas-{uid}")
            path = folder / base
            shutil.copy2(f["path"], path)
        return Submission(uid, name, path, late=late, source="canvas", note=_join(*notes, note))
    folder = work.sub(f"canvas-{uid}")
    for base, (_, _, f) in sorted(newest.items()):
        shutil.copy2(f["path"], folder / base)
    notes.append(f"{len(newest)} uploaded files gathered in one folder")
    return Submission(uid, name, folder, late=late, source="canvas", note=_join(*notes))


def _moodle_submission(pid: str, items: list[tuple[str, str, Path]], work: _Workdir) -> Submission:
    name = items[0][0]
    files = [p for (_, plugin, p) in items if plugin == "file"]
    notes = []
    if not files:
        return Submission(pid, name, items[0][2], source="moodle",
                          note=f"Moodle {items[0][1]} submission only, no file uploaded")
    folders = [p for p in files if p.is_dir()]
    flat = [p for p in files if p.is_file()]
    if folders and not flat and len(folders) == 1:
        path, note = _handin(folders[0], work)
        return Submission(pid, name, path, source="moodle", note=note)
    if len(flat) == 1 and not folders:
        m = _MOODLE_FLAT.match(flat[0].name)
        orig = m["orig"] if m else flat[0].name
        if flat[0].suffix.lower() == ".zip":
            path, note = _handin(flat[0], work)
            return Submission(pid, name, path, source="moodle", note=note)
        folder = work.sub(f"moodle-{pid}")
        shutil.copy2(flat[0], folder / orig)
        return Submission(pid, name, folder / orig, source="moodle")
    folder = work.sub(f"moodle-{pid}")
    for p in folders:
        shutil.copytree(p, folder, dirs_exist_ok=True)
    for p in flat:
        m = _MOODLE_FLAT.match(p.name)
        shutil.copy2(p, folder / (m["orig"] if m else p.name))
    notes.append("several Moodle entries merged in one folder")
    return Submission(pid, name, _simplify(folder, work), source="moodle", note=_join(*notes))


def _generic(entries: list[Path], work: _Workdir) -> list[Submission]:
    out = []
    for p in entries:
        if p.is_dir():
            path, note = _handin(p, work)
            out.append(Submission(p.name, p.name, path, source="folder", note=note))
            continue
        suffix = p.suffix.lower()
        if suffix in HANDIN_SUFFIXES:
            out.append(Submission(p.stem, p.stem, p, source="file"))
        elif suffix == ".zip":
            path, note = _handin(p, work)
            out.append(Submission(p.stem, p.stem, path, source="file", note=note))
        else:
            out.append(Submission(p.name, p.name, p, source="file",
                                  note="unrecognised name, graded under its file name"))
    return out


# --------------------------------------------------------------------------- Gradescope


def _as_datetime(v) -> datetime | None:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=timezone.utc)
    if isinstance(v, str) and v.strip():
        text = v.strip().replace(" UTC", "+00:00")
        m = re.match(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?\s*([+-]\d\d:?\d\d|Z)?$", text)
        if m:
            frac = (m[3] or "")[:7]
            tz = m[4] or "+00:00"
            tz = "+00:00" if tz == "Z" else tz
            if ":" not in tz:
                tz = tz[:3] + ":" + tz[3:]
            return datetime.fromisoformat(f"{m[1]}T{m[2]}{frac}{tz}")
    return None


def _gs_late(meta: dict) -> bool:
    for key in (":late", ":late?", "late"):
        if key in meta:
            return bool(meta[key])
    lateness = meta.get(":lateness")
    if isinstance(lateness, (int, float)):
        return lateness > 0
    return False


def _gradescope(root: Path, work: _Workdir) -> list[Submission]:
    meta_all = yaml.safe_load((root / GRADESCOPE_METADATA).read_text(encoding="utf-8")) or {}
    if not isinstance(meta_all, dict):
        raise ValueError(f"{GRADESCOPE_METADATA}: expected a mapping of submission folders")
    out: list[Submission] = []
    seen = set()
    for folder_name, meta in meta_all.items():
        folder_name = str(folder_name)
        seen.add(folder_name)
        meta = meta if isinstance(meta, dict) else {}
        where = root / folder_name
        if not where.exists():
            continue
        path, note = _handin(where, work)
        submitted = _as_datetime(meta.get(":created_at"))
        late = _gs_late(meta)
        submitters = [s for s in (meta.get(":submitters") or []) if isinstance(s, dict)]
        if not submitters:
            out.append(Submission(folder_name, folder_name, path, late=late, submitted_at=submitted,
                                  source="gradescope", note=_join(note, "no submitter in metadata")))
            continue
        group = len(submitters) > 1
        names = [str(s.get(":name") or "") for s in submitters]
        for s in submitters:
            name = str(s.get(":name") or "")
            email = str(s.get(":email") or "")
            sid = str(s.get(":sid") or "").strip()
            notes = [note]
            if not sid:
                sid = email or name or folder_name
                notes.append("no SID in Gradescope roster, identified by "
                             + ("email" if email else "name" if name else "folder"))
            if group:
                notes.append("group submission with " + ", ".join(n for n in names if n != name))
            out.append(Submission(sid, name, path, late=late, submitted_at=submitted,
                                  source="gradescope", note=_join(*notes), email=email))
    for p in _children(root):
        if p.name == GRADESCOPE_METADATA or p.name in seen:
            continue
        for s in _generic([p], work):
            s.note = _join(s.note, f"not listed in {GRADESCOPE_METADATA}")
            out.append(s)
    return out
