"""What an instructor reads after grading a class: a Moodle class as Moodle makes it (a download
re-zipped by Info-ZIP, its grading worksheet with Moodle's own Status strings), a course file with
`points = 100`, a late hand-in, one that cannot be graded and a student with none.

Truths come from outside the grader: the worksheet's Status ("1 day 3 hours late" under a
10%/day rule is two started days, 20% off), the names as typed, the arithmetic of hundredths.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch.classroom import Settings, grade_class
from grader.batch.outputs import summary
from grader.course.file import load

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mutants  # noqa: E402

REFERENCE = mutants.REFERENCE.read_text()
SYNTAX = REFERENCE.replace("def __add__(self, other):", "def __add__(self, other)", 1)
EMILIE = "Émilie du Châtelet"
HEADER = ("\ufeffIdentifier,\"Full name\",\"Email address\",Status,Grade,\"Maximum Grade\","
          "\"Grade can be changed\",\"Last modified (submission)\",\"Last modified (grade)\","
          "\"Feedback comments\"\n")
ROWS = {  # participant id: (full name, Status as Moodle's grading table writes it, hand-in)
    "501": ("Ada Lovelace", "Submitted for grading", REFERENCE),
    "502": (EMILIE, "Submitted for grading - Assignment was submitted 1 day 3 hours late",
            REFERENCE),
    "503": ("Emmy Noether", "Submitted for grading", mutants.source("add-overwrite")),
    "504": ("Alan Turing", "Submitted for grading", SYNTAX),
    "505": ("Grace Hopper", "No submission", None),
}


def worksheet(path: Path) -> Path:
    lines = [HEADER] + [f"\"Participant {pid}\",\"{name}\",p{pid}@uni.edu,\"{status}\",,"
                        "100.00,Yes,-,-,\n" for pid, (name, status, _) in ROWS.items()]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def rezipped(base: Path) -> Path:
    """The download unpacked and zipped again on Linux: Info-ZIP writes UTF-8 names without
    the UTF-8 flag (or with cp437 bytes where zip is missing: the same flag-less state)."""
    d = base / "unpacked"
    for pid, (name, _, code) in ROWS.items():
        if code is not None:
            f = d / f"{name}_{pid}_assignsubmission_file_" / "engine.py"
            f.parent.mkdir(parents=True)
            f.write_text(code)
    out = base / "moodle.zip"
    assert shutil.which("zip"), "Info-ZIP's zip (Debian package zip) is installed by .ci/run"
    subprocess.run(["zip", "-qr", str(out), "."], cwd=d, check=True,
                   env=dict(os.environ, LC_ALL="C.UTF-8"))
    return out


@pytest.fixture(scope="module")
def moodle(tmp_path_factory):
    base = tmp_path_factory.mktemp("moodle")
    conf = base / "grader.toml"
    conf.write_text("[assignment]\npoints = 100\n")
    settings = Settings(late_penalty="10%/day", worksheet=worksheet(base / "grades.csv"),
                        course=load(conf))
    out = base / "out"
    graded = grade_class(rezipped(base), out, jobs=2, settings=settings, progress=False)
    return out, graded


def gradebook(out: Path) -> dict[str, dict]:
    return {r["student_id"]: r for r in csv.DictReader(io.StringIO(
        (out / "gradebook.csv").read_text(encoding="utf-8")))}


def results(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("[!.]*.json")}


def test_worksheet_lateness_is_applied(moodle):
    out, _ = moodle
    r = results(out)["502"]
    late = r["extra_data"]["late"]
    assert late["late"] and late["penalty"] == pytest.approx(0.2)  # two started days at 10%
    assert r["score"] == 80.0
    row = gradebook(out)["502"]
    assert (row["late"], row["penalty"], row["score"]) == ("yes", "0.2", "80")
    sheet = list(csv.reader(io.StringIO((out / "moodle-grades.csv").read_text("utf-8-sig"))))
    grade = {r[0]: r[4] for r in sheet[1:]}
    assert grade["Participant 502"] == "80.00" and grade["Participant 501"] == "100.00"


def test_accented_names_survive_an_info_zip_rezip(moodle):
    out, _ = moodle
    assert gradebook(out)["502"]["name"] == EMILIE
    with __import__("zipfile").ZipFile(out / "moodle-feedback.zip") as zf:
        assert any(n.startswith(f"{EMILIE}_502_") for n in zf.namelist())
    assert EMILIE in (out / "feedback" / "502.html").read_text(encoding="utf-8")
    assert "├" not in (out / "report.html").read_text(encoding="utf-8")


def test_a_student_without_a_hand_in_is_listed(moodle):
    out, graded = moodle
    row = gradebook(out)["505"]
    assert (row["name"], row["status"], row["score"]) == ("Grace Hopper", "no submission", "")
    assert "No submission from 1 student on the worksheet" in summary(graded)
    assert "Grace Hopper" in (out / "report.html").read_text(encoding="utf-8")
    sheet = list(csv.reader(io.StringIO((out / "moodle-grades.csv").read_text("utf-8-sig"))))
    assert {r[0]: r[4] for r in sheet[1:]}["Participant 505"] == ""  # left as exported


def test_no_score_exceeds_its_maximum_and_totals_add_up(moodle):
    out, _ = moodle
    for sid, r in results(out).items():
        assert sum(t["max_score"] for t in r["tests"]) == pytest.approx(100, abs=1e-9), sid
        assert all(t["score"] <= t["max_score"] for t in r["tests"]), sid
        assert all(round(t["max_score"], 2) == t["max_score"] for t in r["tests"]), sid
        assert r["score"] <= 100 and round(r["score"], 2) == r["score"]
    book = gradebook(out)
    assert all(len(row["score"].partition(".")[2]) <= 2 for row in book.values())


def test_the_ungradable_hand_in_scores_zero_out_of_the_maximum(moodle):
    out, graded = moodle
    row = gradebook(out)["504"]
    assert (row["status"], row["score"], row["max_score"]) == ("not gradable", "0", "100")
    text = summary(graded)
    # four hand-ins count (the ungradable one as 0): (100 + 80 + x + 0) / 4
    ada, emmy = (results(out)[s]["score"] for s in ("501", "503"))
    assert f"Class mean {(ada + 80 + emmy + 0) / 4:.1f}% over 4 students" in text
    assert f"over the 3 graded hand-ins: mean {(ada + 80 + emmy) / 3:.1f}%" in text


def test_unknown_lateness_is_said_not_skipped(tmp_path):
    """A Moodle download graded with a late rule but without its worksheet: nothing tells who
    was late, and the console, the gradebook and the report say so."""
    d = tmp_path / "dl" / "Ada Lovelace_501_assignsubmission_file_"
    d.mkdir(parents=True)
    (d / "engine.py").write_text(REFERENCE)
    out = tmp_path / "out"
    graded = grade_class(tmp_path / "dl", out, settings=Settings(late_penalty="10%/day"),
                         progress=False)
    assert "LATENESS UNKNOWN for 1 hand-in" in summary(graded)
    assert "--worksheet" in summary(graded)
    assert gradebook(out)["501"]["late"] == "unknown"
    assert "lateness unknown" in (out / "report.html").read_text(encoding="utf-8")


def test_grading_again_writes_the_same_bytes(moodle, tmp_path):
    """Every result, floats included, and the gradebooks: the same bytes on a second run
    (how long each hand-in took is kept apart, in times.json)."""
    out, _ = moodle
    base = out.parent
    again = tmp_path / "again"
    grade_class(base / "moodle.zip", again, jobs=1, settings=Settings(
        late_penalty="10%/day", worksheet=base / "grades.csv", course=load(base / "grader.toml")),
        progress=False)
    first = {p.name: p.read_bytes() for p in (out / "results").iterdir()}
    second = {p.name: p.read_bytes() for p in (again / "results").iterdir()}
    assert first == second
    for name in ("gradebook.csv", "moodle-grades.csv"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    times = json.loads((again / "times.json").read_text())
    assert set(times) == {"501", "502", "503", "504"} and all(t > 0 for t in times.values())


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_a_dry_run_shows_what_would_change_and_writes_nothing(moodle, tmp_path):
    """After grading, the instructor learns Ada was late (the worksheet now says so) and sets
    the points to 50: `--resume --dry-run` shows each student's grade before and after and
    why, and leaves OUT as it was; the real run prints the same table."""
    out, _ = moodle
    base = out.parent
    work = tmp_path / "out"
    shutil.copytree(out, work)
    sheet = tmp_path / "grades.csv"
    sheet.write_text((base / "grades.csv").read_text(encoding="utf-8").replace(
        '"Ada Lovelace",p501@uni.edu,"Submitted for grading"',
        '"Ada Lovelace",p501@uni.edu,"Submitted for grading - Assignment was submitted '
        '2 days 1 hour late"'), encoding="utf-8")
    conf = tmp_path / "grader.toml"
    conf.write_text("[assignment]\npoints = 50\n")
    settings = Settings(late_penalty="10%/day", worksheet=sheet, course=load(conf))
    untouched = tree(work)
    dry = grade_class(base / "moodle.zip", work, jobs=1, settings=settings, resume=True,
                      dry_run=True, progress=False)
    assert tree(work) == untouched and dry.files == {}
    rows = {c.student: c for c in dry.changes}
    # Ada: 3 started days late at 10% a day, out of 50: 35; Émilie keeps her 20% off
    assert (rows["501"].before, rows["501"].after) == ("100/100", "35/50")
    assert "late penalty" in rows["501"].why and "course file" in rows["501"].why
    assert (rows["502"].before, rows["502"].after) == ("80/100", "40/50")
    assert rows["502"].why == "course file (weights, visibility, points) changed"
    assert "505" not in rows  # no submission before and after
    table = summary(dry)
    assert "Would change 4 grades (dry run: nothing written):" in table
    assert "501 Ada Lovelace" in table and "100/100" in table and "35/50" in table
    real = grade_class(base / "moodle.zip", work, jobs=1, settings=settings, resume=True,
                       progress=False)
    assert [(c.student, c.before, c.after, c.why) for c in real.changes] == \
        [(c.student, c.before, c.after, c.why) for c in dry.changes]
    assert "Changed 4 grades:" in summary(real)
    assert json.loads((work / "results" / "501.json").read_text())["score"] == 35
