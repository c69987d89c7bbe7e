"""Attempts: the `[submissions]` table of the course file and the policy it sets (which attempts
count, whose score is the student's, per-student due dates), on timelines worked out by hand."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.course.attempts import Policy, counting, due, duration_text, judge, parse_duration, verdicts
from grader.course.file import Course, CourseError, load

T0 = datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --------------------------------------------------------------------------- durations

@pytest.mark.parametrize("text, seconds", [("0", 0), ("30s", 30), ("10m", 600), ("1h30m", 5400),
                                           ("2d", 172800), ("1.5h", 5400), (45, 45), ("", 0)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
    assert parse_duration(duration_text(seconds)) == seconds


@pytest.mark.parametrize("text", ["ten minutes", "10", "-5m", -1, True, "5x", "m"])
def test_a_duration_that_is_none_is_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


# --------------------------------------------------------------------------- which attempts count

def test_no_policy_every_attempt_counts():
    v = verdicts(Policy(), [at(0), at(0.1), at(0.2)])
    assert [x.counts for x in v] == [True, True, True]
    assert [x.reason for x in v] == ["attempt 1: counts.", "attempt 2: counts.",
                                     "attempt 3: counts."]


def test_over_the_limit_is_graded_but_does_not_count():
    p = Policy(attempts=3)
    v = judge(p, [at(0), at(10), at(20)], at(30))
    assert (v.number, v.counts) == (4, False)
    assert v.reason == "attempt 4 of 3: graded, but it does not count: all 3 attempts that " \
                      "count are used."
    assert judge(p, [at(0), at(10)], at(30)).reason == "attempt 3 of 3: counts."
    assert judge(Policy(attempts=1), [at(0)], at(5)).reason == (
        "attempt 2 of 1: graded, but it does not count: the one attempt that counts is used.")


def test_cooldown_runs_from_the_last_attempt_that_counted():
    p = Policy(cooldown=600)  # 10 minutes
    times = [at(0), at(4), at(9), at(10), at(15), at(21)]
    v = verdicts(p, times)
    # 0 counts; 4 and 9 are inside 0+10 (and do not restart it); 10 counts (exactly at the end);
    # 15 is inside 10+10; 21 counts
    assert [x.counts for x in v] == [True, False, False, True, False, True]
    assert v[1].reason == ("attempt 2: graded, but it does not count: cooldown: next attempt "
                           "counts from 2026-12-02 14:10 UTC.")
    assert v[1].counts_from == at(10) and v[4].counts_from == at(20)
    assert v[1].to_json()["counts_from"] == "2026-12-02T14:10:00+00:00"


def test_cooldown_and_limit_together_every_attempt_uses_a_number():
    p = Policy(attempts=3, cooldown=60)
    v = verdicts(p, [at(0), at(0.5), at(2), at(3)])
    assert [(x.number, x.counts) for x in v] == [(1, True), (2, False), (3, True), (4, False)]
    assert "attempt 4 of 3" in v[3].reason and "seconds" not in v[1].reason
    assert v[1].reason.endswith("counts from 2026-12-02 14:01 UTC.")


def test_order_is_by_time_not_by_argument_and_later_times_are_ignored():
    p = Policy(attempts=2)
    assert judge(p, [at(20), at(10), at(99)], at(30)).number == 3
    assert judge(p, [at(99)], at(30)).counts  # a time after it is not an earlier attempt


def test_times_as_strings_and_offsets():
    p = Policy(cooldown=3600)
    v = judge(p, ["2026-12-02T07:00:00-07:00"], "2026-12-02T14:30:00Z")
    assert not v.counts and v.counts_from == at(60)


# --------------------------------------------------------------------------- whose score

def test_best_takes_the_highest_that_counts_last_the_latest_that_counts():
    attempts = [(at(0), 50.0), (at(10), 90.0), (at(20), 70.0), (at(30), 100.0)]
    assert counting(Policy(counts="best"), attempts) == 3  # the 100 at 30
    assert counting(Policy(counts="last"), attempts) == 3
    limited = Policy(attempts=3, counts="best")
    assert counting(limited, attempts) == 1            # the 100 is attempt 4: it never counts
    assert counting(Policy(attempts=3), attempts) == 2  # last that counts: attempt 3
    assert counting(Policy(counts="best"), [(at(5), 80.0), (at(0), 80.0)]) == 1  # earliest
    assert counting(Policy(), []) is None


def test_a_cooldown_attempt_is_never_the_counting_one():
    attempts = [(at(0), 10.0), (at(1), 123.0)]
    assert counting(Policy(cooldown=600, counts="best"), attempts) == 0
    assert counting(Policy(cooldown=600, counts="last"), attempts) == 0


# --------------------------------------------------------------------------- extensions

def test_an_extension_moves_only_that_students_due_date():
    p = Policy(extensions={"Ada@Example.edu": "2026-12-09T23:59"})
    assert due(p, "2026-12-01T23:59", "ada@example.edu", "123") == "2026-12-09T23:59"
    assert due(p, "2026-12-01T23:59", "bob@example.edu") == "2026-12-01T23:59"
    assert due(p, "", None) == ""


# --------------------------------------------------------------------------- the course file

def course(tmp_path, text: str) -> Course:
    (tmp_path / "grader.toml").write_text(text)
    return load(tmp_path / "grader.toml")


def test_the_submissions_table(tmp_path):
    c = course(tmp_path, '[submissions]\nattempts = 3\ncooldown = "10m"\ncounts = "best"\n\n'
                         '[submissions.extensions]\n"ada.l@example.edu" = "2026-12-08T23:59"\n'
                         'bob = 2026-12-09\n')
    assert c.submissions == Policy(3, 600.0, "best", {"ada.l@example.edu": "2026-12-08T23:59",
                                                      "bob": "2026-12-09"})
    assert c.values()["submissions"] == {"attempts": 3, "cooldown": "10m", "counts": "best",
                                         "extensions": {"ada.l@example.edu": "2026-12-08T23:59",
                                                        "bob": "2026-12-09"}}
    assert Course().submissions == Policy(0, 0.0, "last", {})


@pytest.mark.parametrize("text, error", [
    ("[submissions]\nattempts = 2.5\n", "line 2: `attempts` must be a whole number, got 2.5"),
    ("[submissions]\nattempts = -1\n", "line 2: `attempts` must be at least 0, got -1"),
    ('[submissions]\n\ncooldown = "ten"\n',
     'line 3: `cooldown` must be a duration like "10m", "30s", "1h30m" or "0", got \'ten\''),
    ('[submissions]\ncounts = "first"\n',
     "line 2: `counts` must be one of 'last', 'best', got 'first'"),
    ('[submissions]\nattempts = 3\n\n[submissions.extensions]\nbob = "2026-12-09"\n'
     '"ada.l@example.edu" = "next week"\n',
     'line 6: the extension for `ada.l@example.edu` must be a date like "2026-12-08T23:59" '
     "(ISO 8601), got 'next week'"),
    ('[submissions]\nextensions = 3\n',
     'line 2: `extensions` must be a table of student id = "date", got 3'),
    ('[submissions]\nlimit = 3\n',
     "line 2: unknown key `limit` in [submissions]; expected one of: attempts, cooldown, "
     "counts, extensions"),
])
def test_a_wrong_submissions_key_names_its_line(tmp_path, text, error):
    with pytest.raises(CourseError) as e:
        course(tmp_path, text)
    assert str(e.value) == "grader.toml, " + error


# --------------------------------------------------------------------------- on Gradescope

ROOT = Path(__file__).resolve().parents[1]
GRADER = Path(sys.executable).with_name("grader")
RAW, FORWARD = 123.0, 10.0  # the suite's points; what an untouched stub earns


def grade(*args, cwd):
    proc = subprocess.run([str(GRADER), "grade", *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=cwd, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """Real results of the stub and of a syntax error, as earlier submissions carry them."""
    d = tmp_path_factory.mktemp("earlier")
    (d / "broken.py").write_text("class Value(:\n")
    return {"stub": json.loads(grade(ROOT / "assignments" / "engine.py", cwd=d)),
            "broken": json.loads(grade(d / "broken.py", cwd=d))}


def metadata(tmp_path, created_at, previous, email="ada@example.edu"):
    """submission_metadata.json as Gradescope writes it (its documented fields)."""
    m = {"id": 123456, "created_at": created_at,
         "assignment": {"due_date": "2026-12-01T23:59:00.000000-08:00", "group_size": None,
                        "group_submission": False, "id": 25828, "course_id": 1234,
                        "late_due_date": None, "release_date": "2026-11-01T00:00:00-08:00",
                        "title": "Backprop", "total_points": "123.0"},
         "submission_method": "upload",
         "users": [{"email": email, "id": 1234, "name": "Ada"}],
         "previous_submissions": [{"submission_time": t, "score": r["score"], "results": r}
                                  for t, r in previous]}
    path = tmp_path / "submission_metadata.json"
    path.write_text(json.dumps(m))
    return path


def test_an_attempt_over_the_limit_is_graded_but_keeps_the_counting_score(tmp_path, earlier):
    (tmp_path / "grader.toml").write_text('[submissions]\nattempts = 2\n')
    stub = earlier["stub"]
    meta = metadata(tmp_path, "2026-12-01T10:00:00-08:00",
                    [("2026-12-01T09:00:00-08:00", stub), ("2026-12-01T09:10:00-08:00", stub),
                     ("2026-12-01T09:05:00-08:00", earlier["broken"])])  # no attempt
    data = json.loads(grade(ROOT / "solutions" / "engine.py", "--gradescope-metadata", meta,
                            cwd=tmp_path))
    assert sum(t["score"] for t in data["tests"]) == RAW  # graded, and shown
    assert data["score"] == FORWARD                      # but the last that counts stays
    a = data["extra_data"]["attempt"]
    assert (a["number"], a["counts"], a["own"], a["score"], a["from_attempt"]) == \
           (3, False, RAW, FORWARD, 2)
    assert data["output"].startswith(
        "Attempt 3 of 2: graded, but it does not count: all 2 attempts that count are used; "
        "your score is 10/123, from attempt 2, the last that counts.")
    text = grade(ROOT / "solutions" / "engine.py", "--gradescope-metadata", meta,
                 "--format", "text", cwd=tmp_path)
    assert "Attempt 3 of 2: graded, but it does not count" in text


def test_best_and_cooldown_on_gradescope(tmp_path, earlier):
    (tmp_path / "grader.toml").write_text(
        '[submissions]\ncooldown = "30m"\ncounts = "best"\n')
    stub = earlier["stub"]
    ref = ROOT / "solutions" / "engine.py"
    soon = metadata(tmp_path, "2026-12-01T09:29:59Z", [("2026-12-01T09:00:00Z", stub)])
    data = json.loads(grade(ref, "--gradescope-metadata", soon, cwd=tmp_path))
    assert data["score"] == FORWARD and not data["extra_data"]["attempt"]["counts"]
    assert ("cooldown: next attempt counts from 2026-12-01 09:30 UTC; your score is 10/123"
            in data["output"])
    later = metadata(tmp_path, "2026-12-01T09:30:00Z", [("2026-12-01T09:00:00Z", stub)])
    data = json.loads(grade(ref, "--gradescope-metadata", later, cwd=tmp_path))
    assert data["score"] == RAW and data["extra_data"]["attempt"]["counts"]
    assert data["output"].startswith("Attempt 2: counts.")
    # a worse attempt after a better one: best keeps the better
    best = metadata(tmp_path, "2026-12-01T11:00:00Z", [("2026-12-01T09:00:00Z", stub),
                                                       ("2026-12-01T10:00:00Z", data)])
    worse = json.loads(grade(ROOT / "assignments" / "engine.py", "--gradescope-metadata", best,
                             cwd=tmp_path))
    assert worse["score"] == RAW and worse["extra_data"]["attempt"]["own"] == FORWARD
    assert "your score is 123/123, from attempt 2, the best that counts." in worse["output"]


def test_an_upload_that_cannot_be_graded_uses_no_attempt(tmp_path, earlier):
    (tmp_path / "grader.toml").write_text('[submissions]\nattempts = 1\n')
    (tmp_path / "broken.py").write_text("class Value(:\n")
    meta = metadata(tmp_path, "2026-12-01T10:00:00Z", [("2026-12-01T09:00:00Z", earlier["stub"])])
    data = json.loads(grade(tmp_path / "broken.py", "--gradescope-metadata", meta, cwd=tmp_path))
    assert data["score"] == FORWARD and sum(t["max_score"] for t in data["tests"]) == RAW
    assert data["extra_data"]["attempt"]["number"] is None
    assert data["output"].startswith("This upload could not be graded, so it uses no attempt; "
                                     "your score is 10/123, from attempt 1")


def test_an_extension_moves_the_late_rule_for_that_student_only(tmp_path, earlier):
    (tmp_path / "grader.toml").write_text(
        '[late]\npenalty = "10%/day"\ndue = "2026-12-01T23:59Z"\n'
        '[submissions.extensions]\n"Ada@Example.edu" = "2026-12-05T23:59Z"\n')
    ref = ROOT / "solutions" / "engine.py"
    # 2026-12-01T23:59 to 2026-12-03T12:00 is 1.5 days: 2 started days, -20%
    for email, late, score in (("ada@example.edu", False, RAW), ("bob@example.edu", True,
                                                                 RAW * 0.8)):
        meta = metadata(tmp_path, "2026-12-03T12:00:00Z", [], email=email)
        data = json.loads(grade(ref, "--gradescope-metadata", meta, cwd=tmp_path))
        assert data["extra_data"]["late"]["late"] is late
        assert data["score"] == pytest.approx(score)
