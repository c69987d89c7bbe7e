"""Moodle: the grading worksheet filled in for "Upload grading worksheet", and the feedback zip
for "Upload multiple feedback files in a zip", read back the way Moodle's importers read them
(mod/assign/feedback/offline/importgradeslib.php, mod/assign/feedback/file/importziplib.php)."""
from __future__ import annotations

import csv
import html
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.batch import store
from grader.batch.classroom import Settings, grade_class
from grader.checking.misconceptions import explain
from grader.platforms import moodle

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mutants  # noqa: E402

GRADER = Path(sys.executable).with_name("grader")

# As Moodle writes it: a BOM, every column of the grading table in download mode, a student who
# handed in nothing, and a grade given by hand earlier.
WORKSHEET = (
    "\ufeffIdentifier,\"Full name\",\"Email address\",Status,Grade,\"Maximum Grade\","
    "\"Grade can be changed\",\"Last modified (submission)\",\"Last modified (grade)\","
    "\"Feedback comments\"\n"
    "\"Participant 1043210\",\"Ada Lovelace\",ada@uni.edu,\"Submitted for grading\",,100.00,Yes,"
    "\"Monday, 30 November 2026, 9:12 PM\",-,\n"
    "\"Participant 1043211\",\"Jean_Luc Picard\",jl@uni.edu,\"Submitted for grading\",,100.00,"
    "Yes,\"Monday, 30 November 2026, 10:40 PM\",-,\n"
    "\"Participant 1043212\",\"Emmy Noether\",emmy@uni.edu,\"Submitted for grading - Graded\","
    "50.00,100.00,Yes,\"Tuesday, 1 December 2026, 8:00 AM\",\"Tuesday, 1 December 2026, "
    "9:00 AM\",\"<p>see me</p>\"\n"
    "\"Participant 1043213\",\"Charles Babbage\",cb@uni.edu,\"No submission\",,100.00,Yes,-,-,\n"
)


def put(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def moodle_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("moodle")
    dl = base / "download"
    put(dl / "Ada Lovelace_1043210_assignsubmission_file_" / "engine.py",
        mutants.REFERENCE.read_text())
    put(dl / "Jean Luc Picard_1043211_assignsubmission_file_" / "engine.py",
        mutants.source("add-overwrite"))
    put(dl / "Emmy Noether_1043212_assignsubmission_file_" / "engine.py",
        mutants.source("pow-exponent"))
    sheet = base / "Grades-BP101-Backprop-77.csv"
    sheet.write_bytes(WORKSHEET.encode("utf-8"))
    out = base / "out"
    graded = grade_class(dl, out, jobs=2, settings=Settings(worksheet=sheet), progress=False)
    return sheet, out, graded


def read_as_moodle(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def test_worksheet_filled_in_as_moodle_imports_it(moodle_class):
    sheet, out, graded = moodle_class
    assert graded.files["moodle_worksheet"] == out / "moodle-grades.csv"
    written = out / "moodle-grades.csv"
    assert written.read_bytes().startswith(b"\xef\xbb\xbf")  # as exported
    header, rows = read_as_moodle(written)
    old_header, old_rows = read_as_moodle(sheet)
    assert header == old_header and len(rows) == len(old_rows)
    # The importer: columns found by name, the participant by the number after the prefix.
    at = {name: header.index(name) for name in ("Identifier", "Grade", "Maximum Grade",
                                                "Last modified (grade)", "Feedback comments")}
    for new, old in zip(rows, old_rows):
        pid = new[at["Identifier"]][len("Participant "):]
        untouched = [i for i in range(len(header)) if i not in (at["Grade"],
                                                               at["Feedback comments"])]
        assert [new[i] for i in untouched] == [old[i] for i in untouched]
        if pid == "1043213":  # no submission: left as it was
            assert new == old
            continue
        r = store.read(out / "results" / f"{pid}.json")
        grade = float(new[at["Grade"]])
        assert 0 <= grade <= float(new[at["Maximum Grade"]])
        assert grade == pytest.approx(r.score / r.max_score * 100, abs=0.005)
        comment = new[at["Feedback comments"]]
        assert comment.startswith("<p>") and "<script" not in comment
        assert len(comment) < 2000 and "`" not in comment  # a summary; the page is in the zip
        assert f"Score: {r.score:g} / {r.max_score:g}" in html.unescape(comment)
        for m in r.misconceptions:  # its code spans as code
            assert explain(m).replace("`", "") in re.sub("</?code>", "", html.unescape(comment))
    ada = next(r for r in rows if r[0] == "Participant 1043210")
    assert ada[at["Grade"]] == "100.00"


def moodle_participant(path: str, participants: set[str]) -> tuple[str, str] | None:
    """importziplib.php's is_valid_filename_for_import, step by step."""
    name = path.rsplit("/", 1)[-1]
    if name.startswith((".", "~")):
        return None
    parts = path.split("/")
    while parts:
        info = parts.pop(0).split("_", 4)
        if len(info) < 4 or not info[1].isdigit() or info[1] not in participants:
            continue
        if (info[2], info[3]) not in (("assignsubmission", "file"), ("assignfeedback", "file")):
            continue
        rest = info[4] if len(info) == 5 else ""
        return info[1], "/".join([rest] + parts)
    return None


def test_feedback_zip_as_moodle_unpacks_it(moodle_class):
    sheet, out, graded = moodle_class
    with zipfile.ZipFile(graded.files["moodle_feedback"]) as zf:
        names = zf.namelist()
        assert sorted(names) == [
            "Ada Lovelace_1043210_assignsubmission_file_/feedback.html",
            "Emmy Noether_1043212_assignsubmission_file_/feedback.html",
            "Jean Luc Picard_1043211_assignsubmission_file_/feedback.html"]
        participants = {"1043210", "1043211", "1043212", "1043213"}
        for name in names:
            pid, filename = moodle_participant(name, participants)
            assert filename == "/feedback.html"
            assert zf.read(name) == (out / "feedback" / f"{pid}.html").read_bytes()
    assert moodle.folder_name("Jean_Luc O'Brien/3", "7") == \
        "Jean Luc O'Brien 3_7_assignsubmission_file_"


def test_a_worksheet_moodle_would_refuse_is_refused(tmp_path):
    bad = put(tmp_path / "grades.csv", "Identifier,Full name,Grade\nParticipant 1,A,\n")
    with pytest.raises(ValueError, match=r"no Last modified \(grade\) column"):
        moodle.fill_worksheet(bad, {"1": (1.0, 2.0, "x")})
    src = put(tmp_path / "dl" / "Ada Lovelace_1_assignsubmission_file_" / "engine.py", "x = 1\n")
    proc = subprocess.run([str(GRADER), "batch", str(src.parents[1]), "--out",
                           str(tmp_path / "out"), "--worksheet", str(bad)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "not a Moodle grading worksheet" in proc.stderr
    assert "Last modified (grade)" in proc.stderr
    assert not (tmp_path / "out" / "results").exists()  # refused before any grading


def test_worksheet_without_feedback_column_gets_grades_only(tmp_path):
    sheet = put(tmp_path / "g.csv", "Identifier;Full name;Grade;Maximum Grade;"
                                    "Last modified (grade)\nParticipant 5;A B;;10,00;-\n")
    grades = {"5": (60.0, 120.0, "<pre>x</pre>"), "9": (1, 2, "")}
    text, notes = moodle.fill_worksheet(sheet, grades)
    assert text.splitlines()[1] == "Participant 5;A B;5.00;10,00;-"
    assert "no \"Feedback comments\" column" in notes[0] and "9" in notes[1]
