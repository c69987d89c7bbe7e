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

`import_csv` keeps the identity columns, drops custom and read-only total columns ("Current Score",
"Final Grade", ...), and writes one assignment column: the roster's own column when one is titled
``column`` (so Canvas updates that assignment), otherwise a new column named ``column`` (Canvas
offers to create the assignment). `assignment_column` picks the roster's column for ``grader batch
--assignment`` and refuses to guess. A grade in an existing column is in that assignment's points
(the Points Possible row): the importer takes the number as it is, so a score out of the kit's
maximum is scaled to it.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from ..results.model import points

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
    return points(score)


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


def assignment_columns(header: list[str]) -> list[str]:
    """The export's assignment columns: every ``Title (id)`` header (identity, custom and total
    columns carry no id)."""
    return [h for h in header if h.strip() not in IDENTITY_COLUMNS and _TITLE_AND_ID.match(h)]


def assignment_column(roster_csv: Path, wanted: str | None = None) -> str:
    """The header of the roster's column that ``wanted`` (a title, a Canvas assignment id, or the
    whole ``Title (id)`` header) names; with ``wanted`` None, the export's only assignment column.

    Raises ValueError listing the columns when none or several match."""
    header = _header(roster_csv)
    columns = assignment_columns(header)
    listed = "; ".join(f'"{c}"' for c in columns) or "none"
    if wanted is None:
        if len(columns) == 1:
            return columns[0]
        raise ValueError(f"{roster_csv}: {len(columns)} assignment columns ({listed}); choose "
                         "one with --assignment TITLE or --assignment ID")
    want = wanted.strip()
    found = [c for c in columns if c.strip() == want] or \
            [c for c in columns if _TITLE_AND_ID.match(c)["id"] == want] or \
            [c for c in columns if _TITLE_AND_ID.match(c)["title"].strip() == want]
    if len(found) == 1:
        return found[0]
    if found:
        raise ValueError(f"{roster_csv}: several assignments are titled {wanted!r} "
                         f"({'; '.join(found)}); give its id instead, e.g. --assignment "
                         f"{_TITLE_AND_ID.match(found[0])['id']}")
    raise ValueError(f"{roster_csv}: no assignment column matches {wanted!r}; the export's "
                     f"assignment columns are: {listed}")


def students(roster_csv: Path) -> list[tuple[str, str, set[str]]]:
    """Every student row of the roster: (Canvas user ID, name as Canvas shows it, every id the
    row gives them), in the roster's order."""
    table, _ = _read_rows(roster_csv)
    header = [h.strip() for h in table[0]]
    id_cols = [header.index(h) for h in ("ID", "SIS User ID", "SIS Login ID") if h in header]
    out = []
    for r in table[1:]:
        r = r + [""] * (len(header) - len(r))
        if "Points Possible" in r[0] or _is_hidden_row(r):
            continue
        ids = [r[c].strip() for c in id_cols if r[c].strip()]
        if ids:
            name = r[0].strip()
            if header[0] == "LastName" and "FirstName" in header:
                name += ", " + r[header.index("FirstName")].strip()
            out.append((ids[0], name, set(ids)))
    return out


def names(roster_csv: Path) -> dict[str, str]:
    """Each student's name as Canvas shows it ("Lovelace, Ada"), by every id the roster gives
    them (Canvas user ID, SIS User ID, SIS Login ID)."""
    out = {}
    for _, name, ids in students(roster_csv):
        for i in sorted(ids):
            out.setdefault(i, name)
    return out


def _header(roster_csv: Path) -> list[str]:
    table, _ = _read_rows(roster_csv)
    if not table:
        raise ValueError(f"{roster_csv}: empty file")
    header = [h.strip() for h in table[0]]
    if not header or "Student" not in header[0] and header[0] != "LastName" or "ID" not in header:
        raise ValueError(f"{roster_csv}: not a Canvas gradebook export "
                         f"(header starts {header[:3]})")
    if "Section" not in header:
        raise ValueError(f"{roster_csv}: no Section column; Canvas's importer needs it")
    return header


def _points(text: str) -> float | None:
    try:  # Canvas writes "10.00", or "10,00" in a comma-decimal locale
        return float(text.strip().replace(",", "."))
    except ValueError:
        return None


def import_csv(roster_csv: Path, rows: dict[str, float | None], column: str, *,
               points_possible: float | None = None, out_of: float | None = None) -> str:
    """A Canvas gradebook import CSV for one assignment.

    ``roster_csv`` is Canvas's gradebook export; ``rows`` maps a student id (Canvas user ID, or SIS
    User ID, or SIS Login ID) to a score, or None for "no hand-in" (left blank). ``column`` is the
    assignment title; when the roster has ``Title (id)`` for it, that exact header is reused.
    ``points_possible`` fills the Points Possible row of a new column (an existing column keeps
    the roster's). With ``out_of`` (the scores' maximum) and an existing column with numeric points
    possible, each score is scaled to that assignment's points. Returns the CSV text (no BOM, CRLF
    line ends as Canvas writes them). Raises ValueError when the roster does not look like a Canvas
    gradebook export.
    """
    table, delimiter = _read_rows(roster_csv)
    header = _header(roster_csv)
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

    pp_written, scale = False, 1.0
    for r in table[1:]:
        r = r + [""] * (len(header) - len(r))
        first = r[0] if r else ""
        if "Points Possible" in first:
            pp = r[col_at].strip() if col_at is not None else (
                _fmt(points_possible) if points_possible is not None else "")
            if out_of and col_at is not None and _points(pp):
                scale = _points(pp) / out_of
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
        w.writerow([r[i] for i in ident] + ["" if score is None else _fmt(score * scale)])
    if not pp_written and points_possible is not None and col_at is None:
        raise ValueError(f"{roster_csv}: no 'Points Possible' row to put {points_possible} in")
    return buf.getvalue()


def unmatched(roster_csv: Path, rows: dict[str, float | None]) -> list[str]:
    """Student ids in ``rows`` that no roster row carries (to warn before uploading)."""
    table, _ = _read_rows(roster_csv)
    header = [h.strip() for h in table[0]]
    id_cols = [header.index(h) for h in ("ID", "SIS User ID", "SIS Login ID") if h in header]
    known = {r[c].strip() for r in table[1:] for c in id_cols if c < len(r) and r[c].strip()}
    return sorted(k for k in map(str, rows) if k.strip() not in known)
