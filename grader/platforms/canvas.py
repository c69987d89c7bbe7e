"""Canvas gradebook import: turn Canvas's own gradebook export into a file its importer takes as is.

The layout, from canvas-lms ``lib/gradebook_exporter.rb`` and ``lib/gradebook_importer.rb``:

* Header: ``Student, ID, [SIS User ID], SIS Login ID, [Integration ID], [Root Account], Section``
  (or ``LastName, FirstName, ID, ...`` when that setting is on), then custom columns, then one column
  per assignment titled ``Title (assignment id)``, then read-only total columns. The importer needs
  ``Student``/``ID`` first and ``Section`` as the last identity column.
* Optionally a row whose cells are blank or ``Manual Posting`` (formerly ``Muted``); the importer
  skips it.
* A ``    Points Possible`` row (the importer only checks that the first cell contains
  ``Points Possible``).
* One row per student. ``ID`` is the Canvas user id; the importer matches on it first, then SIS User
  ID, then SIS Login ID, then the name. A blank grade means "no change", so students without a
  hand-in are left blank rather than given 0.
* Canvas may write ``;`` as the delimiter (locale setting) and a UTF-8 BOM; both are accepted here,
  and the output uses the roster's delimiter. The importer reads ``,`` or ``.`` as decimal mark.

`import_csv` keeps the identity columns, drops custom and total columns, and writes one assignment
column: the roster's own column when one is titled ``column`` (so Canvas updates that assignment),
otherwise a new column named ``column`` (Canvas offers to create the assignment).
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

IDENTITY_COLUMNS = ("Student", "LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID",
                    "Integration ID", "Root Account", "Section")
_TITLE_AND_ID = re.compile(r"^(?P<title>.*?)\s*\((?P<id>\d+)\)\s*$")


def _read_rows(roster_csv: Path) -> tuple[list[list[str]], str]:
    text = Path(roster_csv).read_text(encoding="utf-8-sig")
    first = text.splitlines()[0] if text else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return [r for r in rows if any(c.strip() for c in r)], delimiter


def _is_hidden_row(row: list[str]) -> bool:
    return all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c, re.IGNORECASE) for c in row)


def _fmt(score: float) -> str:
    return f"{round(float(score), 2):g}"


def assignment_header(header: list[str], column: str) -> str | None:
    """The roster's column for assignment ``column`` (matched on title, or on the full header)."""
    want = column.strip()
    for h in header:
        if h.strip() == want:
            return h
    for h in header:
        m = _TITLE_AND_ID.match(h)
        if m and m["title"].strip() == want:
            return h
    return None


def import_csv(roster_csv: Path, rows: dict[str, float | None], column: str, *,
               points_possible: float | None = None) -> str:
    """A Canvas gradebook import CSV for one assignment.

    ``roster_csv`` is Canvas's gradebook export; ``rows`` maps a student id (Canvas user ID, or SIS
    User ID, or SIS Login ID) to a score, or None for "no hand-in" (left blank). ``column`` is the
    assignment title; when the roster has ``Title (id)`` for it, that exact header is reused.
    ``points_possible`` fills the Points Possible row (default: the roster's value for an existing
    column, else blank). Returns the CSV text (no BOM, CRLF line ends as Canvas writes them).
    Raises ValueError when the roster does not look like a Canvas gradebook export.
    """
    table, delimiter = _read_rows(roster_csv)
    if not table:
        raise ValueError(f"{roster_csv}: empty file")
    header = [h.strip() for h in table[0]]
    if not header or "Student" not in header[0] and header[0] != "LastName" or "ID" not in header:
        raise ValueError(f"{roster_csv}: not a Canvas gradebook export (header starts {header[:3]})")
    if "Section" not in header:
        raise ValueError(f"{roster_csv}: no Section column; Canvas's importer needs it")
    section_at = header.index("Section")
    ident = [i for i, h in enumerate(header[:section_at + 1]) if h in IDENTITY_COLUMNS]
    existing = assignment_header(header, column)
    out_title = existing or column.strip()
    col_at = header.index(existing) if existing else None

    id_cols = [header.index(h) for h in ("ID", "SIS User ID", "SIS Login ID") if h in header]
    remaining = {str(k).strip(): v for k, v in rows.items()}

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow([header[i] for i in ident] + [out_title])

    pp_written = False
    for r in table[1:]:
        r = r + [""] * (len(header) - len(r))
        first = r[0] if r else ""
        if "Points Possible" in first:
            pp = _fmt(points_possible) if points_possible is not None else (
                r[col_at].strip() if col_at is not None else "")
            w.writerow([first if i == 0 else "" for i in ident] + [pp])
            pp_written = True
            continue
        if _is_hidden_row(r):
            continue
        score = None
        for c in id_cols:
            key = r[c].strip()
            if key and key in remaining:
                score = remaining.pop(key)
                break
        w.writerow([r[i] for i in ident] + ["" if score is None else _fmt(score)])
    if not pp_written and points_possible is not None:
        raise ValueError(f"{roster_csv}: no 'Points Possible' row to put {points_possible} in")
    return buf.getvalue()


def unmatched(roster_csv: Path, rows: dict[str, float | None]) -> list[str]:
    """Student ids in ``rows`` that no roster row carries (to warn before uploading)."""
    table, _ = _read_rows(roster_csv)
    header = [h.strip() for h in table[0]]
    id_cols = [header.index(h) for h in ("ID", "SIS User ID", "SIS Login ID") if h in header]
    known = {r[c].strip() for r in table[1:] for c in id_cols if c < len(r) and r[c].strip()}
    return sorted(k for k in map(str, rows) if k.strip() not in known)
