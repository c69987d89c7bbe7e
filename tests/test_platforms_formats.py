"""Canvas import CSV, the plain gradebook, PrairieLearn results and late penalties."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.course import late
from grader.platforms import canvas
from grader.platforms.prairielearn import to_prairielearn
from grader.report.gradebook import COLUMNS, gradebook_csv
from grader.results import model as gr
from grader.results.model import Result

# Canvas's gradebook export: BOM, SIS columns, a custom column, a Manual Posting row, a Points
# Possible row with read-only totals, a quoted name with a comma, and the Test Student.
ROSTER = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Notes,Backprop engine (12345),Quiz 1 (12346),"
    "Current Score,Unposted Current Score,Final Score,Unposted Final Score\r\n"
    ",,,,,,Manual Posting,,,,,\r\n"
    "    Points Possible,,,,,(read only),10.00,5.00,(read only),(read only),(read only),(read only)\r\n"
    "\"Doe, Jane\",48213,S100,jdoe,Section A,,N/A,4.00,80.00,80.00,40.00,40.00\r\n"
    "\"Smith, Bob\",1207,S101,bsmith,Section A and Section B,,,5.00,100.00,100.00,50.00,50.00\r\n"
    "\"O'Brien, Mary\",3301,S102,mobrien,Section B,likes \"\"quotes\"\",,,,,,\r\n"
    "\"Student, Test\",9999,,3c1b...,Section A,,,,,,,\r\n"
)


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    p = tmp_path / "grades.csv"
    p.write_bytes(ROSTER.encode("utf-8"))
    return p


def parse(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_canvas_import_existing_assignment(roster: Path):
    out = canvas.import_csv(roster, {"48213": 8.5, "1207": None, "S102": 10.0}, "Backprop engine")
    rows = parse(out)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Backprop engine (12345)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "10.00"]
    assert rows[2] == ["Doe, Jane", "48213", "S100", "jdoe", "Section A", "8.5"]
    assert rows[3] == ["Smith, Bob", "1207", "S101", "bsmith", "Section A and Section B", ""]  # no hand-in: blank
    assert rows[4][-1] == "10"  # matched by SIS User ID
    assert rows[5] == ["Student, Test", "9999", "", "3c1b...", "Section A", ""]
    assert len(rows) == 6  # the Manual Posting row is dropped
    assert not out.startswith("\ufeff") and "\r\n" in out
    assert '"Doe, Jane"' in out


def test_canvas_import_new_column_with_points(roster: Path):
    out = canvas.import_csv(roster, {"48213": 7}, "Backprop engine v2", points_possible=12)
    rows = parse(out)
    assert rows[0][-1] == "Backprop engine v2"
    assert rows[1][-1] == "12"
    assert rows[2][-1] == "7"


def test_canvas_import_matches_by_header_and_id_and_semicolons(tmp_path: Path):
    p = tmp_path / "semi.csv"
    p.write_text("Student;ID;SIS Login ID;Section;Backprop engine (12345)\n"
                 "    Points Possible;;;;10,00\n"
                 "Doe, Jane;48213;jdoe;A;\n", encoding="utf-8")
    out = canvas.import_csv(p, {"jdoe": 9.25}, "Backprop engine (12345)")
    rows = parse(out, ";")
    assert rows[0] == ["Student", "ID", "SIS Login ID", "Section", "Backprop engine (12345)"]
    assert rows[2] == ["Doe, Jane", "48213", "jdoe", "A", "9.25"]


def test_canvas_import_rejects_other_csv(tmp_path: Path):
    p = tmp_path / "other.csv"
    p.write_text("name,score\nx,1\n")
    with pytest.raises(ValueError):
        canvas.import_csv(p, {}, "A")


def test_canvas_unmatched(roster: Path):
    assert canvas.unmatched(roster, {"48213": 1, "nobody": 2, "jdoe": 3}) == ["nobody"]


def make_result(sid: str, name: str, scores: list[tuple[float, float]], **extra) -> Result:
    tests = [gr.TestResult(name=f"t{i}", score=s, max_score=m, output="" if s >= m else "expected 2.0, got 1.0\nmore",
                        extra={"misconceptions": ["M2-overwrite"]} if s < m else {})
             for i, (s, m) in enumerate(scores)]
    return Result(tests=tests, output="ran", extra={"student": {"id": sid, "name": name, "source": "file"}, **extra})


def test_gradebook_csv():
    results = [
        make_result("48213", "Doe, Jane", [(2, 2), (1, 2)],
                    late={"late": True, "days": 1.5, "penalty": 0.2, "rule": "10%/day"}),
        make_result("1207", "=cmd", [(2, 2), (2, 2)]),
        make_result("abc", "Ann", [], error={"type": "SyntaxError", "message": "invalid syntax\n line 3"}),
    ]
    rows = list(csv.DictReader(io.StringIO(gradebook_csv(results))))
    assert list(rows[0].keys()) == COLUMNS
    assert [r["student_id"] for r in rows] == ["1207", "48213", "abc"]
    assert rows[0] == {"student_id": "1207", "name": "'=cmd", "status": "graded", "score": "4", "max_score": "4", "percent": "100",
                       "late": "no", "late_days": "0", "penalty": "0", "misconceptions": "", "error": ""}
    jane = rows[1]
    assert (jane["score"], jane["max_score"], jane["percent"]) == ("2.4", "4", "60")
    assert (jane["late"], jane["late_days"], jane["penalty"]) == ("yes", "1.5", "0.2")
    assert jane["misconceptions"] == "M2-overwrite"
    assert rows[2]["error"] == "invalid syntax line 3" and rows[2]["percent"] == ""
    assert rows[2]["status"] == "not gradable"


def test_prairielearn_results():
    r = make_result("1", "A", [(2, 2), (0, 3)])
    r.tests[0].extra["description"] = "add and multiply"
    r.tests[1].number = "1.2"
    d = to_prairielearn(r)
    assert d["gradable"] is True and d["score"] == pytest.approx(0.4)
    assert d["message"] == "1 of 2 tests passed." and d["output"] == "ran"
    assert d["tests"][0] == {"name": "t0", "description": "add and multiply", "points": 2, "max_points": 2,
                             "message": "Passed.", "output": ""}
    assert d["tests"][1]["name"] == "1.2 t1" and d["tests"][1]["message"] == "expected 2.0, got 1.0"
    json.dumps(d)


def test_prairielearn_late_penalty_and_load_error():
    r = make_result("1", "A", [(2, 2)], late={"late": True, "days": 2, "penalty": 0.5, "rule": "25%/day"})
    d = to_prairielearn(r)
    assert d["score"] == 0.5 and "50% penalty" in d["message"]
    broken = Result(output="", extra={"error": {"type": "ImportError", "message": "no engine.py"}})
    d = to_prairielearn(broken)
    assert d == {"gradable": True, "score": 0.0, "output": "", "tests": [],
                 "message": "Your hand-in could not be loaded: ImportError: no engine.py"}
    d = to_prairielearn(broken, load_error_gradable=False)
    assert d["gradable"] is False and d["format_errors"] == ["ImportError: no engine.py"] and "score" not in d


def test_prairielearn_stays_under_one_megabyte():
    r = make_result("1", "A", [(0, 1)] * 5)
    for t in r.tests:
        t.output = "x" * 400_000
    d = to_prairielearn(r)
    assert len(json.dumps(d).encode()) <= 1_000_000
    assert d["tests"][0]["output"].endswith("(truncated)")


# --------------------------------------------------------------------------- late


@pytest.mark.parametrize("text,fraction,per_day", [
    ("10%/day", 0.1, True), ("10 % / d", 0.1, True), ("12.5% per day", 0.125, True),
    ("20%", 0.2, False), ("0", 0.0, False), ("none", 0.0, False), ("", 0.0, False)])
def test_parse_policy(text, fraction, per_day):
    p = late.parse_policy(text)
    assert (p.fraction, p.per_day) == (pytest.approx(fraction), per_day)


@pytest.mark.parametrize("text", ["10%/week", "abc", "150%", "-5%"])
def test_parse_policy_rejects(text):
    with pytest.raises(ValueError):
        late.parse_policy(text)


def test_apply_per_day_rounds_up_and_caps():
    p = late.parse_policy("10%/day")
    assert late.apply(p, False, None) == {"late": False, "days": 0.0, "penalty": 0.0, "rule": p.rule}
    assert late.apply(p, True, 0.1)["penalty"] == pytest.approx(0.1)
    assert late.apply(p, False, 2.01) == {"late": True, "days": 2.01, "penalty": pytest.approx(0.3), "rule": p.rule}
    assert late.apply(p, True, 30)["penalty"] == 1.0
    flagged = late.apply(p, True, None)
    assert flagged["penalty"] == pytest.approx(0.1) and "days unknown" in flagged["rule"]


def test_apply_flat_and_result_score():
    p = late.parse_policy("20%")
    extra = late.apply(p, True, 5)
    assert extra["penalty"] == 0.2 and extra["rule"] == "20% flat"
    r = make_result("1", "A", [(5, 5), (5, 5)], late=extra)
    assert r.score == 8.0


def test_days_late():
    due = "2026-12-01T23:59+00:00"
    sub = datetime(2026, 12, 3, 11, 59, tzinfo=timezone.utc)
    assert late.days_late(due, sub) == pytest.approx(1.5)
    assert late.days_late(due, sub - timedelta(days=3)) == 0.0
    assert late.days_late(due, None) is None
    gs_time = datetime(2026, 12, 2, 10, 15, tzinfo=timezone(timedelta(hours=-8)))  # 18:15 UTC
    assert late.days_late("2026-12-02T10:00-08:00", gs_time) == pytest.approx(0.25 / 24)
    # Naive times on both sides are both local, so the offset cancels out.
    assert late.days_late("2026-12-01T12:00", datetime(2026, 12, 2, 12, 0)) == pytest.approx(1.0)
    assert late.parse_due("2026-12-01").hour == 23
    with pytest.raises(ValueError):
        late.parse_due("first of december")


def test_assess_combines_flag_and_due():
    p = late.parse_policy("10%/day")
    sub = datetime(2026, 12, 3, 0, 30, tzinfo=timezone.utc)
    d = late.assess(p, late=False, submitted_at=sub, due="2026-12-01T23:59+00:00")
    assert d["late"] and d["penalty"] == pytest.approx(0.2)
    assert late.assess(p, late=True)["penalty"] == pytest.approx(0.1)
    assert late.assess(p, late=False) == {"late": False, "days": 0.0, "penalty": 0.0, "rule": p.rule}


def test_flag_without_a_time_is_charged_as_told_and_marked_inferred():
    per_day, flat = late.parse_policy("10%/day"), late.parse_policy("20%")
    flagged = late.apply(per_day, True, None)
    assert (flagged["days"], flagged["penalty"], flagged["inferred"]) == (1.0, 0.1, True)
    assert "--flag-late-days" in flagged["rule"]
    assert late.apply(per_day, True, None, flag_days=3)["penalty"] == pytest.approx(0.3)
    assert late.apply(per_day, True, None, flag_days=0)["penalty"] == 0.0
    assert late.apply(flat, True, None, flag_days=0)["penalty"] == 0.2  # flat: any late hand-in
    measured = late.apply(per_day, True, 2.5)
    assert "inferred" not in measured and measured["penalty"] == pytest.approx(0.3)
    assert late.describe(flagged) == "late (flagged, days unknown: charged as 1 day), -10%"
    assert late.describe(measured) == "late 2.5 days, -30%"
    assert late.describe(late.apply(per_day, False, 0)) == ""
    row = list(csv.DictReader(io.StringIO(gradebook_csv([make_result("1", "A", [(2, 2)],
                                                                     late=flagged)]))))[0]
    assert (row["late"], row["late_days"], row["penalty"]) == ("inferred", "1", "0.1")
