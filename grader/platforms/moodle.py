"""Moodle: the offline grading worksheet filled in for import, and feedback files in a zip.

Both formats as Moodle's own assignment code reads them:

* Grading worksheet (``mod/assign/feedback/offline``: "Download grading worksheet", then "Upload
  grading worksheet"). A CSV exported with columns ``Identifier`` (``Participant 123``: the
  participant id of the download's folder names), ``Full name``, ``Email address``, ``Status``,
  ``Grade``, ``Maximum Grade``, ``Grade can be changed``, ``Last modified (submission)``,
  ``Last modified (grade)`` and one column per feedback plugin that has text (``Feedback
  comments``). The importer finds ``Identifier``, ``Grade`` and ``Last modified (grade)`` by name
  (it refuses the file without them), skips a row whose grade is blank, unchanged or above the
  assignment's maximum, or whose grade was changed in Moodle after ``Last modified (grade)`` (so
  that column is kept as exported), and stores ``Feedback comments`` as the comment's HTML.
  `fill_worksheet` writes the instructor's own export back with ``Grade`` (scaled to its
  ``Maximum Grade``) and ``Feedback comments`` filled in, every other cell as it was.
* Feedback files (``mod/assign/feedback/file/importziplib.php``, "Upload multiple feedback files
  in a zip"). Each file's path must contain a folder named ``<name>_<participant id>_<plugin
  type>_<plugin name>[_]``, the naming of "Download all submissions"; the importer splits it on
  ``_`` (so the name must hold none), finds the participant by the id and keeps the path after
  that folder as the feedback file's name. `feedback_zip` writes
  ``<Full Name>_<id>_assignsubmission_file_/feedback.html``.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

IDENTIFIER, GRADE, MAXIMUM = "Identifier", "Grade", "Maximum Grade"
MODIFIED, FEEDBACK = "Last modified (grade)", "Feedback comments"
_PARTICIPANT = re.compile(r"^\D*?(\d+)\s*$")  # "Participant 123" in any language


def _read(path: Path) -> tuple[list[str], list[list[str]], bool, str]:
    raw = Path(path).read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    first = text.splitlines()[0] if text else ""
    delimiter = max((",", ";", "\t"), key=first.count)
    rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    if not rows:
        raise ValueError(f"{path}: empty file")
    return rows[0], rows[1:], bom, delimiter


def participant(identifier: str) -> str | None:
    m = _PARTICIPANT.match(identifier.strip())
    return m[1] if m else None


def _number(text: str) -> float | None:
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        return None


def check_worksheet(path: Path) -> list[str]:
    """The worksheet's column names; ValueError when Moodle's importer would refuse it."""
    names = [h.strip() for h in _read(path)[0]]
    need = [c for c in (IDENTIFIER, GRADE, MODIFIED) if c not in names]
    if need:
        raise ValueError(f"{path}: not a Moodle grading worksheet: no {', '.join(need)} column "
                         f"(its columns: {', '.join(names)}); download it from the assignment's "
                         "\"Download grading worksheet\"")
    return names


NAME, EMAIL, STATUS = "Full name", "Email address", "Status"

# How Moodle writes a late hand-in's Status (mod/assign/lang/en/assign.php): the grading
# table joins the submission's status ("Submitted for grading") and, when it came after the
# due date (or the student's extension), `submittedlate` "Assignment was submitted {$a} late"
# (`submittedlateshort` "{$a} late" in older versions), {$a} being `format_time` of the delay:
# its two largest non-zero units, each truncated ("1 day 3 hours", "2 hours 5 mins",
# "1 year 12 days", "30 secs").
_LATE = re.compile(r"(?:Assignment was submitted\s+)?(?P<delay>(?:\d+\s+[a-z]+\s*)+?)\s*late\b",
                   re.IGNORECASE)
_UNIT = {"year": 365.0, "week": 7.0, "day": 1.0, "hour": 1 / 24, "min": 1 / 1440,
         "minute": 1 / 1440, "sec": 1 / 86400, "second": 1 / 86400}
# English statuses that say the hand-in came in time when no "late" part follows.
_STATUSES = ("submitted for grading", "draft (not submitted)", "no submission", "graded",
             "not graded", "reopened", "new", "submitted", "released", "in marking",
             "marking completed", "in review", "ready for release", "not marked",
             "extension granted", "locked")


def worksheet_rows(path: Path) -> dict[str, dict[str, str]]:
    """Each participant's row of the worksheet: {participant id: {"name", "email", "status"}}."""
    header, rows, _, _ = _read(path)
    names = [h.strip() for h in header]
    at = {c: names.index(c) for c in (IDENTIFIER, NAME, EMAIL, STATUS) if c in names}
    out = {}
    for r in rows:
        r += [""] * (len(names) - len(r))
        pid = participant(r[at[IDENTIFIER]]) if IDENTIFIER in at else None
        if pid:
            out[pid] = {key: r[at[col]].strip() if col in at else ""
                        for key, col in (("name", NAME), ("email", EMAIL), ("status", STATUS))}
    return out


def days_late(status: str) -> float | None:
    """How many days late Moodle's Status says a hand-in was: 0 when it says nothing of
    lateness, None when it cannot be read (another language, a late part not understood).

    Moodle shows only the two largest units, each cut down ("1 day 3 hours" is 27 to 28
    hours), so this is the least the delay can have been: a hand-in is never charged more than
    Moodle shows."""
    text = " ".join(status.split())
    m = _LATE.search(text)
    if m:
        days = 0.0
        for n, unit in re.findall(r"(\d+)\s+([a-z]+)", m["delay"], re.IGNORECASE):
            u = unit.lower().removesuffix("s")
            if u not in _UNIT:
                return None
            days += int(n) * _UNIT[u]
        return days if days > 0 else None
    parts = [p.strip().lower() for p in re.split(r"\s+-\s+", text) if p.strip()]
    known = parts and all(p.startswith(_STATUSES) for p in parts)
    return 0.0 if known else None


def fill_worksheet(path: Path, grades: dict[str, tuple[float, float, str]],
                   ) -> tuple[str, list[str]]:
    """The worksheet at `path` with each participant's grade and feedback comment filled in.

    `grades` maps a participant id to (score, maximum score, feedback HTML). Returns the CSV text
    (BOM and delimiter as exported) and notes on what could not be filled."""
    header, rows, bom, delimiter = _read(path)
    names = check_worksheet(path)
    at = {c: names.index(c) for c in (IDENTIFIER, GRADE, MAXIMUM, FEEDBACK) if c in names}
    notes = []
    if FEEDBACK not in at:
        notes.append(f"the worksheet {path.name} has no \"{FEEDBACK}\" column (the "
                     "assignment's feedback comments are off): grades only")
    seen = set()
    for r in rows:
        r += [""] * (len(names) - len(r))
        pid = participant(r[at[IDENTIFIER]])
        if pid not in grades:
            continue
        seen.add(pid)
        score, out_of, html = grades[pid]
        top = _number(r[at[MAXIMUM]]) if MAXIMUM in at else None
        value = min(score / out_of * top, top) if top and out_of else score
        r[at[GRADE]] = f"{round(value, 2):.2f}"
        if FEEDBACK in at:
            r[at[FEEDBACK]] = html
    unknown = sorted(set(grades) - seen, key=lambda s: (len(s), s))
    if unknown:
        notes.append(f"{len(unknown)} graded participant(s) not in the worksheet {path.name}: "
                     + ", ".join(unknown[:10]) + (", ..." if len(unknown) > 10 else ""))
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return ("\ufeff" if bom else "") + buf.getvalue(), notes


def folder_name(full_name: str, pid: str) -> str:
    """The download's folder for a participant, as the feedback importer parses it back."""
    name = re.sub(r"[_/\\:*?\"<>|\x00-\x1f]+", " ", full_name).strip() or "Participant"
    return f"{name}_{pid}_assignsubmission_file_"


def feedback_zip(out: Path, pages: list[tuple[str, str, Path]]) -> Path:
    """A zip of (participant id, full name, feedback page file) for "Upload multiple feedback
    files in a zip"."""
    tmp = out.with_name(".partial-" + out.name)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for pid, name, page in pages:
            zf.write(page, f"{folder_name(name, pid)}/feedback.html")
    tmp.replace(out)
    return out
