"""End-to-end tests of the class workflow (`grader batch`, `grader merge`) on real hand-ins.

Hand-ins are the reference solution, one-bug mutants (tests/mutants.py), the student stub and
broken files (syntax error, binary, empty), laid out as Canvas, Moodle and Gradescope downloads.
Most tests call `grade_class` / `merge` directly; the CLI is run as a subprocess where its own
behaviour is the point (progress and summary, interruption, merge).
"""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from grader import __version__
from grader.batch import run as batch_run
from grader.batch import store
from grader.batch.classroom import Settings, grade_class, merge
from grader.batch.outputs import summary
from grader.batch.run import Task, grade_all, in_shard
from grader.checking.misconceptions import explain
from grader.platforms import canvas
from grader.report.gradebook import COLUMNS
from grader.sandbox.leftovers import alive
from grader.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
GRADER = Path(sys.executable).with_name("grader")
JOBS = 2


def _load_mutants():
    spec = importlib.util.spec_from_file_location("batch_mutants", Path(__file__).with_name("mutants.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mutants = _load_mutants()
REFERENCE = mutants.REFERENCE.read_text()
STUB = (ROOT / "assignments" / "engine.py").read_text()
SYNTAX_ERROR = REFERENCE.replace("def __add__(self, other):", "def __add__(self, other)", 1)
BINARY = bytes(range(256)) * 8
assert SYNTAX_ERROR != REFERENCE


def code(kind: str) -> bytes:
    """The bytes of a hand-in: "reference", "stub", "syntax", "binary", "empty", "slow" or a
    mutant name."""
    if kind == "reference":
        return REFERENCE.encode()
    if kind == "stub":
        return STUB.encode()
    if kind == "syntax":
        return SYNTAX_ERROR.encode()
    if kind == "binary":
        return BINARY
    if kind == "empty":
        return b""
    if kind == "slow":  # a correct engine whose module takes a second to load
        return (REFERENCE + "\nimport time\ntime.sleep(1.5)\n").encode()
    return mutants.source(kind).encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def zip_dir(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder).as_posix())
    return out


def results_json(out: Path) -> dict[str, dict]:
    """results/*.json (not temporary files) by file name, parsed."""
    return {p.name: json.loads(p.read_text()) for p in sorted((out / "results").iterdir())
            if not p.name.startswith(".")}


def by_student(out: Path) -> dict[str, dict]:
    return {d["extra_data"]["student"]["id"]: d for d in results_json(out).values()}


def gradebook(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ids = [r["student_id"] for r in rows]
    assert len(ids) == len(set(ids)), f"a student appears twice in the gradebook: {ids}"
    return {r["student_id"]: r for r in rows}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".partial-*"))


def check_gradescope(d: dict) -> None:
    """One results.json in Gradescope's format, with the kit's facts under extra_data."""
    assert isinstance(d["score"], (int, float))
    assert "execution_time" not in d  # optional in Gradescope's format; it is in times.json
    assert isinstance(d["output"], str) and d["tests"]
    for t in d["tests"]:
        assert isinstance(t["name"], str) and t["name"]
        assert 0 <= t["score"] <= t["max_score"]
        assert t["status"] in ("passed", "failed")
        assert t["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
    raw = sum(t["score"] for t in d["tests"])
    penalty = d["extra_data"].get("late", {}).get("penalty", 0.0)
    assert d["score"] == pytest.approx(raw * (1 - penalty), abs=1e-6)
    extra = d["extra_data"]
    assert extra["grader_version"] == __version__
    assert extra["content_sha256"]
    assert {"id", "name", "source"} <= set(extra["student"])
    schema = ROOT / "tests" / "schema" / "gradescope_results.schema.json"
    if schema.is_file():
        jsonschema = pytest.importorskip("jsonschema")
        jsonschema.validate(d, json.loads(schema.read_text()))


def max_points(d: dict) -> float:
    return sum(t["max_score"] for t in d["tests"])


def raw_points(d: dict) -> float:
    return sum(t["score"] for t in d["tests"])


# --------------------------------------------------------------------------- a plain class

# Where a test names a diagnosis, the mutant's is unambiguous. (exp-overwrite, for one, is not:
# whether a test also lists add-one-side depends on visiting order, and Result.misconceptions
# breaks the tie in set order, which varies with PYTHONHASHSEED.)

# student -> hand-in; the ids spread over all three shards of 3 (see test_shards_*).
PLAIN = {
    "alice": "reference",
    "bob": "add-overwrite",
    "carol": "stub",
    "dave": "tanh-from-input",
    "erin": "syntax",
    "frank": "binary",
    "grace": "empty",
    "heidi": "mul-no-outgrad",
}
BROKEN = {"erin", "frank", "grace"}


def plain_class(folder: Path, students: dict[str, str] = PLAIN) -> Path:
    for sid, kind in students.items():
        put(folder / f"{sid}.py", code(kind))
    return folder


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> tuple[Path, Path]:
    """The plain class, graded once in one run: (source folder, output folder)."""
    base = tmp_path_factory.mktemp("plain")
    src = plain_class(base / "src")
    out = base / "out"
    graded = grade_class(src, out, jobs=JOBS, progress=False)
    assert len(graded.results) == len(PLAIN)
    assert graded.files == {"gradebook": out / "gradebook.csv", "report": out / "report.html",
                            "feedback": out / "feedback", "similarity": out / "similarity.csv"}
    assert graded.notes == [] and graded.partial == ""
    return src, out


def test_results_are_one_gradescope_json_per_student(plain):
    src, out = plain
    files = results_json(out)
    assert sorted(files) == sorted(f"{sid}.json" for sid in PLAIN)
    for name, d in files.items():
        check_gradescope(d)
        sid = name[:-5]
        assert d["extra_data"]["student"]["id"] == sid
        assert d["extra_data"]["content_sha256"] == sha(code(PLAIN[sid]))
    assert leftovers(out) == []
    assert sorted(gradebook(out)) == sorted(PLAIN)


def test_broken_handins_score_zero_and_spoil_nothing(plain, tmp_path):
    src, out = plain
    got = by_student(out)
    for sid in BROKEN:
        d = got[sid]
        assert d["score"] == 0 and d["extra_data"].get("error"), sid
        assert max_points(d) == max_points(got["alice"])  # the maximum is still known
        assert all(t["output"].startswith("Not graded:") for t in d["tests"])
    assert "SyntaxError" in got["erin"]["extra_data"]["error"]
    book = gradebook(out)
    assert all(book[sid]["error"] and book[sid]["score"] == "0" for sid in BROKEN)

    # The same good hand-ins graded without the broken ones get exactly the same results.
    good = {sid: kind for sid, kind in PLAIN.items() if sid not in BROKEN}
    alone = tmp_path / "out"
    grade_class(plain_class(tmp_path / "src", good), alone, jobs=JOBS, progress=False)
    alone_got = by_student(alone)
    for sid in good:
        a, b = got[sid], alone_got[sid]
        assert not a["extra_data"].get("error"), sid
        assert a["score"] == b["score"], sid
        # Test by test the same marks. (The wording of a failure may differ: a buggy engine's
        # wrong numbers can depend on the order its sets happen to iterate in.)
        assert [(t["name"], t["score"], t["status"]) for t in a["tests"]] == \
               [(t["name"], t["score"], t["status"]) for t in b["tests"]], sid
        assert book[sid]["misconceptions"] == gradebook(alone)[sid]["misconceptions"]
    # ... and they are the scores those hand-ins deserve.
    assert got["alice"]["score"] == max_points(got["alice"]) > 0
    for sid in ("bob", "carol", "dave", "heidi"):
        assert 0 <= got[sid]["score"] < max_points(got[sid])
    assert book["bob"]["misconceptions"] == "add-overwrite"
    assert book["dave"]["misconceptions"] == "tanh-from-input"
    assert book["heidi"]["misconceptions"] == "mul-no-outgrad"
    assert book["carol"]["misconceptions"] == "stub"


def test_resume_skips_graded_and_regrades_only_changed(plain, tmp_path):
    src0, out0 = plain
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(src0, src)
    shutil.copytree(out0, out)

    def stamps():
        return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
                for p in (out / "results").glob("*.json")}

    before = stamps()
    seen = []
    real = batch_run.grade_all

    def spy(tasks, *args, **kwargs):
        seen.append([t.student_id for t in tasks])
        return real(tasks, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("grader.batch.classroom.grade_all", spy)
        graded = grade_class(src, out, jobs=JOBS, resume=True, progress=False)
        results = graded.results
        assert seen == [[]]  # nothing to do
        assert graded.notes == [f"kept {len(PLAIN)} results graded earlier, unchanged"]
        assert stamps() == before  # no results file rewritten
        assert len(results) == len(PLAIN)

        # bob fixes his hand-in: only bob is graded again, and now gets full marks.
        put(src / "bob.py", code("reference"))
        graded = grade_class(src, out, jobs=JOBS, resume=True, progress=False)
    assert graded.notes == ["re-graded 1: hand-in changed",
                            f"kept {len(PLAIN) - 1} results graded earlier, unchanged"]
    assert seen[1] == ["bob"]
    after = stamps()
    assert {k for k in before if before[k] != after[k]} == {"bob.json"}
    bob = by_student(out)["bob"]
    assert bob["extra_data"]["content_sha256"] == sha(code("reference"))
    assert bob["score"] == max_points(bob)
    assert gradebook(out)["bob"]["misconceptions"] == ""
    assert leftovers(out) == []


def test_resume_regrades_a_damaged_results_file(plain, tmp_path):
    src0, out0 = plain
    out = tmp_path / "out"
    shutil.copytree(out0, out)
    (out / "results" / "dave.json").write_text('{"score": 1')  # cut short
    graded = grade_class(src0, out, jobs=1, resume=True, progress=False)
    assert graded.notes[0] == "re-graded 1: results file damaged"
    assert sorted(by_student(out)) == sorted(PLAIN)
    check_gradescope(by_student(out)["dave"])
    assert (out0 / "gradebook.csv").read_bytes() == (out / "gradebook.csv").read_bytes()


# --------------------------------------------------------------------------- shards and merge


def test_shards_cover_everyone_once_and_merge_matches_one_run(plain, tmp_path):
    src, whole = plain
    shards = []
    for k in (1, 2, 3):
        d = tmp_path / f"shard-{k}"
        grade_class(src, d, jobs=JOBS, shard=(k, 3), progress=False)
        shards.append(d)
    members = [set(by_student(d)) for d in shards]
    assert all(members), "each shard of this class holds someone"
    assert sum(len(m) for m in members) == len(PLAIN)  # disjoint ...
    assert set().union(*members) == set(PLAIN)  # ... and complete
    for k, m in enumerate(members, 1):
        assert m == {sid for sid in PLAIN if in_shard(sid, (k, 3))}
        assert set(gradebook(shards[k - 1])) == m  # a shard's gradebook is its own students

    merged = tmp_path / "merged"
    proc = subprocess.run([str(GRADER), "merge", *map(str, shards), "--out", str(merged)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (merged / "gradebook.csv").read_bytes() == (whole / "gradebook.csv").read_bytes()
    assert sorted(results_json(merged)) == sorted(f"{sid}.json" for sid in PLAIN)
    report = (merged / "report.html").read_text()
    for sid in PLAIN:
        assert sid in report
    assert f"gradebook:           {merged / 'gradebook.csv'}" in proc.stdout
    assert f"Graded {len(PLAIN) - len(BROKEN)} hand-ins; {len(BROKEN)} could not be graded." \
        in proc.stdout
    assert "PARTIAL" not in proc.stdout and "Partial" not in report
    run = json.loads((shards[1] / "run.json").read_text())
    assert run["shard"] == [2, 3] and sorted(run["class"]) == sorted(PLAIN)
    assert sorted(run["graded"]) == sorted(members[1])

    # A shard missing, or one given twice: an error naming it, and nothing written.
    for given, problem in ((shards[:2], "shard 3/3 is missing"),
                           (shards + [shards[0]], "shard 1/3 is given twice")):
        bad = subprocess.run([str(GRADER), "merge", *map(str, given), "--out",
                              str(tmp_path / "bad")], capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and problem in bad.stderr and "--partial" in bad.stderr
        assert "Traceback" not in bad.stderr and not (tmp_path / "bad").exists()

    # --partial: the missing shard's students are listed as not graded, in every output.
    part = tmp_path / "partial"
    proc = subprocess.run([str(GRADER), "merge", *map(str, shards[:2]), "--out", str(part),
                           "--partial"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    absent = members[2]
    assert proc.stdout.startswith(f"PARTIAL: Partial result: shard 3/3 is missing; "
                                  f"{len(absent)} student")
    assert f"; {len(absent)} not in this merge." in proc.stdout
    book = gradebook(part)
    assert set(book) == set(PLAIN)
    for sid in absent:
        assert book[sid]["score"] == "" and "shard was not merged" in book[sid]["error"]
        assert not (part / "feedback" / f"{sid}.html").exists()
    for sid in set(PLAIN) - absent:
        assert book[sid] == gradebook(whole)[sid]
    assert "Partial result: shard 3/3 is missing" in (part / "report.html").read_text()
    assert json.loads((part / "run.json").read_text())["partial"].startswith("Partial result")


def test_merge_ignores_temporary_files_left_by_a_killed_run(plain, tmp_path):
    """A run killed between writing a result and renaming it leaves `.partial-*.json`."""
    src, whole = plain
    shard = tmp_path / "shard"
    shutil.copytree(whole, shard)
    # A complete copy of alice's result under a temporary name, as after a kill at the rename.
    shutil.copy(shard / "results" / "alice.json", shard / "results" / ".partial-abc123.json")
    (shard / "results" / ".partial-def456.json").write_text('{"tests": [')
    results = merge([shard], tmp_path / "merged").results
    assert sorted(r.extra["student"]["id"] for r in results) == sorted(PLAIN)
    assert (tmp_path / "merged" / "gradebook.csv").read_bytes() == \
        (whole / "gradebook.csv").read_bytes()
    assert leftovers(tmp_path / "merged") == []


def test_merge_dry_run_shows_what_would_change_and_writes_nothing(plain, tmp_path):
    src, whole = plain
    shard = tmp_path / "shard"
    shutil.copytree(whole, shard)
    merged = tmp_path / "merged"
    assert subprocess.run([str(GRADER), "merge", str(shard), "--out", str(merged)],
                          capture_output=True, timeout=60).returncode == 0
    # the shard is graded again meanwhile, and alice fails her first test now
    r = store.read(shard / "results" / "alice.json")
    was = f"{r.score:g}/{r.max_score:g}"
    r.tests[0].score, r.tests[0].status = 0.0, "failed"
    store.write(shard / "results", "alice", r)
    before = {p: p.read_bytes() for p in sorted(merged.rglob("*")) if p.is_file()}
    proc = subprocess.run([str(GRADER), "merge", str(shard), "--out", str(merged), "--dry-run"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert {p: p.read_bytes() for p in sorted(merged.rglob("*")) if p.is_file()} == before
    now = f"{r.score:g}/{r.max_score:g}"
    assert "Would change 1 grade (dry run: nothing written):" in proc.stdout
    assert re.search(rf"^  alice +{re.escape(was)} +{re.escape(now)}  merged$", proc.stdout,
                     re.M), proc.stdout
    assert "gradebook:" not in proc.stdout  # no file was written
    proc = subprocess.run([str(GRADER), "merge", str(shard), "--out", str(merged)],
                          capture_output=True, text=True, timeout=60)
    assert "Changed 1 grade:" in proc.stdout and store.read(
        merged / "results" / "alice.json").score == r.score


# --------------------------------------------------------------------------- Canvas

CANVAS = {
    # file name in the download: hand-in
    "lovelaceada_101_5001_engine.py": "reference",
    "turingalan_LATE_102_5002_engine.py": "reference",
    "hoppergrace_103_5003_engine.py": "add-overwrite",
    "noetheremmy_104_5004_engine.py": "stub",  # first upload ...
    "noetheremmy_104_5010_engine-1.py": "relu-at-zero",  # ... replaced by this one
    "gausscarl_LATE_105_5005_engine.py": "tanh-from-input",
}
CANVAS_IDS = ["101", "102", "103", "104", "105"]
CANVAS_LATE = {"102", "105"}


def canvas_download(folder: Path) -> Path:
    for name, kind in CANVAS.items():
        put(folder / name, code(kind))
    return folder


@pytest.fixture(scope="module")
def canvas_zip_graded(tmp_path_factory) -> tuple[Path, Path]:
    """The Canvas download as a zip, graded with 10%/day: (zip, output folder)."""
    base = tmp_path_factory.mktemp("canvas")
    download = zip_dir(canvas_download(base / "dl"), base / "submissions.zip")
    out = base / "out"
    grade_class(download, out, jobs=JOBS, settings=Settings(late_penalty="10%/day"),
                progress=False)
    return download, out


def check_canvas_output(out: Path) -> None:
    got = by_student(out)
    assert sorted(got, key=int) == CANVAS_IDS  # one result per student
    assert sorted(results_json(out)) == [f"{sid}.json" for sid in CANVAS_IDS]
    for d in got.values():
        check_gradescope(d)
    book = gradebook(out)
    assert list(book) == CANVAS_IDS
    assert book["101"]["name"] == "lovelaceada" and got["101"]["extra_data"]["student"]["source"] \
        == "canvas"

    # The resubmission (engine-1.py) is the one graded, not the stub uploaded first.
    emmy = got["104"]
    assert emmy["extra_data"]["content_sha256"] == sha(code("relu-at-zero"))
    assert 0 < emmy["score"] < max_points(emmy)
    assert book["104"]["misconceptions"] == "relu-at-zero"
    assert "older version" in emmy["extra_data"]["student"]["note"]

    # Late: flagged without a time, so charged as one day (--flag-late-days' default), 10%,
    # and marked as inferred wherever it shows.
    report = (out / "report.html").read_text()
    for sid in CANVAS_IDS:
        d, row = got[sid], book[sid]
        late = d["extra_data"].get("late", {})
        page = (out / "feedback" / f"{sid}.txt").read_text()
        if sid in CANVAS_LATE:
            assert late["late"] is True and late["days"] == 1 and late["penalty"] == 0.1
            assert late["inferred"] is True
            assert "10%" in late["rule"] and "days unknown" in late["rule"]
            assert d["score"] == pytest.approx(raw_points(d) * 0.9)
            assert (row["late"], row["late_days"], row["penalty"]) == ("inferred", "1", "0.1")
            assert "flagged, days unknown: charged as 1 day" in page
        else:
            assert "late (" not in page.splitlines()[1]
            assert not late.get("late")
            assert d["score"] == raw_points(d)
            assert (row["late"], row["penalty"]) == ("no", "0")
        assert float(row["score"]) == pytest.approx(d["score"], abs=0.005)
    assert report.count("late (inferred) 1 d") == len(CANVAS_LATE)
    assert got["102"]["score"] == pytest.approx(0.9 * max_points(got["102"]))
    assert book["102"]["score"] == f"{0.9 * max_points(got['102']):g}"
    assert book["101"]["score"] == f"{max_points(got['101']):g}"
    assert leftovers(out) == []


def test_canvas_zip_download(canvas_zip_graded):
    check_canvas_output(canvas_zip_graded[1])


def test_canvas_folder_download_from_the_command_line(canvas_zip_graded, tmp_path):
    """The same download as a folder, through `grader batch`: progress on stderr, summary on
    stdout, exit 0, the same gradebook as from the zip."""
    src = canvas_download(tmp_path / "dl")
    out = tmp_path / "out"
    proc = subprocess.run([str(GRADER), "batch", str(src), "--out", str(out), "--jobs", str(JOBS),
                           "--late-penalty", "10%/day"],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    check_canvas_output(out)
    assert (out / "gradebook.csv").read_bytes() == \
        (canvas_zip_graded[1] / "gradebook.csv").read_bytes()

    # Not on a terminal: one plain line per hand-in, no bar.
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr
    progress = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    parsed = [re.fullmatch(r"\[(\d+)/(\d+)\] (\S+): (.+) \([\d.]+/s\)", line) for line in progress]
    assert all(parsed), progress
    assert [int(m[1]) for m in parsed] == list(range(1, len(CANVAS_IDS) + 1))
    assert {int(m[2]) for m in parsed} == {len(CANVAS_IDS)}
    assert sorted((m[3] for m in parsed), key=int) == CANVAS_IDS
    got = by_student(out)
    for m in parsed:
        assert m[4] == f"{got[m[3]]['score']:g}/{max_points(got[m[3]]):g}"

    # The summary names the count, mean, median, the inferred lateness, every misconception
    # with its count and whole explanation, and where the files are.
    pct = [100 * d["score"] / max_points(d) for d in got.values()]
    lines = proc.stdout.splitlines()
    assert lines[0] == f"Graded {len(CANVAS_IDS)} hand-ins; 0 could not be graded."
    n = len(CANVAS_IDS)
    assert lines[1] == f"Class mean {statistics.mean(pct):.1f}% over {n} students (hand-ins " \
                       f"that could not be graded count 0); over the {n} graded hand-ins: " \
                       f"mean {statistics.mean(pct):.1f}%, median " \
                       f"{statistics.median(pct):.1f}% (after late penalties)."
    assert lines[2] == "2 hand-ins were flagged late by the platform without a submission " \
                       "time, so the lateness is inferred, not measured: charged as 1 day(s) " \
                       "late (--flag-late-days)."
    found = {m: int(n) for n, m in re.findall(r"^ +(\d+)  ([a-z-]+): ", proc.stdout, re.M)}
    assert found == {"add-overwrite": 1, "relu-at-zero": 1, "tanh-from-input": 1}
    for m in found:
        assert explain(m) in proc.stdout  # whole, never cut
    assert f"gradebook:           {out / 'gradebook.csv'}" in lines
    assert f"report:              {out / 'report.html'}" in lines
    assert "[" not in proc.stdout.split("\n")[0]  # progress never on stdout

    # A second run with --resume has nothing to do and says so in no progress line at all.
    again = subprocess.run([str(GRADER), "batch", str(src), "--out", str(out), "--jobs", str(JOBS),
                            "--late-penalty", "10%/day", "--resume"],
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert again.returncode == 0, again.stderr
    assert not re.search(r"^\[\d+/\d+\]", again.stderr, re.M), again.stderr
    assert again.stdout.replace(f"Kept {len(CANVAS_IDS)} results graded earlier, unchanged.\n",
                                "").replace("No grade changed.\n", "") == proc.stdout
    assert "No grade changed." in again.stdout


def test_resume_never_keeps_a_stale_grade(canvas_zip_graded, tmp_path):
    """Each change that decides a grade re-grades, each that decides a penalty re-applies it,
    and the run says which; the grades then equal a fresh run's."""
    download, graded = canvas_zip_graded
    out = tmp_path / "out"
    shutil.copytree(graded, out)
    raw = {sid: raw_points(d) for sid, d in by_student(out).items()}

    def again(**settings):
        return grade_class(download, out, jobs=JOBS, resume=True, progress=False,
                           settings=Settings(**settings))

    # The issue's case: 10%/day, then a flat 50%: the two late hand-ins get half marks.
    run = again(late_penalty="50%")
    assert run.notes == ["re-applied late penalty to 2", "kept 3 results graded earlier, unchanged"]
    got = by_student(out)
    for sid in CANVAS_LATE:
        assert got[sid]["score"] == pytest.approx(0.5 * raw[sid])
        assert gradebook(out)[sid]["penalty"] == "0.5"
    fresh = tmp_path / "fresh"
    grade_class(download, fresh, jobs=JOBS, settings=Settings(late_penalty="50%"), progress=False)
    assert (fresh / "gradebook.csv").read_bytes() == (out / "gradebook.csv").read_bytes()

    # What a flag without a time is charged: 3 days at 10%/day.
    run = again(late_penalty="10%/day", flag_late_days=3)
    assert run.notes[0] == "re-applied late penalty to 2"
    assert by_student(out)["102"]["score"] == pytest.approx(0.7 * raw["102"])

    # Limits, the hidden suite, the interpreter, the grader: every hand-in graded again.
    run = again(late_penalty="10%/day", limits=Limits(test_seconds=3))
    assert run.notes == ["re-graded 5: limits changed"]  # and the late penalty set anew
    assert by_student(out)["101"]["extra_data"]["limits"]["test_seconds"] == 3
    same = dict(late_penalty="10%/day", limits=Limits(test_seconds=3))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(store, "_suite_hash", lambda: "0" * 64)
        assert again(**same).notes == ["re-graded 5: hidden suite changed"]
        mp.setattr(store, "_interpreter", lambda: "CPython 3.99.0 (/opt/other/python)")
        assert again(**same).notes == ["re-graded 5: interpreter changed"]
        mp.setattr("grader.batch.classroom.__version__", "99.0")
        assert again(**same).notes == ["re-graded 5: grader version changed"]
    assert again(**same).notes == ["re-graded 5: hidden suite changed, interpreter changed"]
    run = again(late_penalty="10%/day", limits=Limits(test_seconds=3))
    assert run.notes == ["kept 5 results graded earlier, unchanged"]
    assert (graded / "gradebook.csv").read_bytes() == (out / "gradebook.csv").read_bytes()


# Canvas gradebook export: BOM, a Manual Posting row, Points Possible, and Charles (106) who
# handed in nothing.
ROSTER = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Backprop engine (12345),Quiz 1 (12346),"
    "Current Score,Final Score\r\n"
    ",,,,,Manual Posting,,,\r\n"
    "    Points Possible,,,,,10.00,5.00,(read only),(read only)\r\n"
    "\"Lovelace, Ada\",101,S101,alovelace,Section A,,4.00,80.00,40.00\r\n"
    "\"Turing, Alan\",102,S102,aturing,Section A,,5.00,100.00,50.00\r\n"
    "\"Hopper, Grace\",103,S103,ghopper,Section B,,,,\r\n"
    "\"Noether, Emmy\",104,S104,enoether,Section B,,,,\r\n"
    "\"Gauss, Carl\",105,S105,cgauss,Section A,,,,\r\n"
    "\"Babbage, Charles\",106,S106,cbabbage,Section B,,,,\r\n"
)


def test_roster_gives_a_canvas_import_file(canvas_zip_graded, tmp_path):
    download, graded = canvas_zip_graded
    roster = tmp_path / "export.csv"
    roster.write_bytes(ROSTER.encode("utf-8"))
    out = tmp_path / "out"
    shutil.copytree(graded, out)
    detailed = (out / "gradebook.csv").read_text()
    run = grade_class(download, out, jobs=JOBS, resume=True, progress=False, settings=Settings(
        late_penalty="10%/day", roster=roster, assignment="Backprop engine"))
    # Nothing re-graded: only the names changed, to the roster's.
    assert run.notes == [f"updated student details (names, roster) of {len(CANVAS_IDS)}"]
    got = by_student(out)
    assert run.files["canvas"] == out / "canvas-import.csv"
    assert (out / "gradebook.csv").read_text() == detailed.replace(
        "lovelaceada", "\"Lovelace, Ada\"").replace("turingalan", "\"Turing, Alan\"").replace(
        "hoppergrace", "\"Hopper, Grace\"").replace("noetheremmy", "\"Noether, Emmy\"").replace(
        "gausscarl", "\"Gauss, Carl\"") + (  # the detailed gradebook, the roster's names
        "106,\"Babbage, Charles\",no submission,,,,,,,,\n")  # and who handed in nothing
    assert "No submission from 1 student on the roster: left blank in the gradebooks " \
           "(--missing-as-zero scores them 0): 106 Babbage, Charles." in summary(run)
    assert got["101"]["extra_data"]["student"]["download_name"] == "lovelaceada"
    report = (out / "report.html").read_text()
    assert "Lovelace, Ada" in report and ">lovelaceada<" not in report

    text = run.files["canvas"].read_text(encoding="utf-8")
    assert not text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "Backprop engine (12345)"]
    assert rows[1][0].strip() == "Points Possible"
    assert rows[1][-1] == "10.00"  # the assignment's own points
    body = {r[1]: r for r in rows[2:]}
    assert sorted(body, key=int) == CANVAS_IDS + ["106"] and len(rows) == 2 + 6
    assert body["101"][:5] == ["Lovelace, Ada", "101", "S101", "alovelace", "Section A"]
    for sid in CANVAS_IDS:  # in the assignment's 10 points
        assert float(body[sid][-1]) == pytest.approx(
            got[sid]["score"] / max_points(got[sid]) * 10, abs=0.005)
    assert body["101"][-1] == "10"
    assert body["102"][-1] == "9"  # full marks, 10% late penalty
    assert body["106"] == ["Babbage, Charles", "106", "S106", "cbabbage", "Section B", ""]


def test_missing_as_zero_scores_the_student_without_a_hand_in(canvas_zip_graded, tmp_path):
    download, graded = canvas_zip_graded
    roster = put(tmp_path / "export.csv", ROSTER.encode())
    out = tmp_path / "out"
    shutil.copytree(graded, out)
    run = grade_class(download, out, jobs=JOBS, resume=True, progress=False, settings=Settings(
        roster=roster, assignment="Backprop engine", missing_as_zero=True))
    assert gradebook(out)["106"]["status"] == "no submission"
    assert gradebook(out)["106"]["score"] == "0"
    assert gradebook(out)["106"]["max_score"] == gradebook(out)["101"]["max_score"]
    rows = list(csv.reader(io.StringIO(run.files["canvas"].read_text(), newline="")))
    assert {r[1]: r[-1] for r in rows[2:]}["106"] == "0"
    assert "scored 0 (--missing-as-zero)" in summary(run)
    assert f"over {len(CANVAS_IDS) + 1} students" in summary(run)  # the zero counts


def test_roster_column_is_chosen_never_guessed(tmp_path):
    roster = put(tmp_path / "export.csv", ROSTER.encode())
    with pytest.raises(ValueError) as e:
        canvas.assignment_column(roster)
    assert '2 assignment columns ("Backprop engine (12345)"; "Quiz 1 (12346)")' in str(e.value)
    assert "--assignment" in str(e.value)
    with pytest.raises(ValueError) as e:
        canvas.assignment_column(roster, "Backprop Exercise")
    assert "no assignment column matches 'Backprop Exercise'" in str(e.value)
    assert '"Backprop engine (12345)"; "Quiz 1 (12346)"' in str(e.value)
    assert canvas.assignment_column(roster, "12346") == "Quiz 1 (12346)"
    assert canvas.assignment_column(roster, "Quiz 1 (12346)") == "Quiz 1 (12346)"
    twice = put(tmp_path / "twice.csv", ROSTER.replace("Quiz 1 (12346)", "Backprop engine (12399)")
                .encode())
    with pytest.raises(ValueError, match="several assignments are titled 'Backprop engine'"):
        canvas.assignment_column(twice, "Backprop engine")
    one = put(tmp_path / "one.csv", (
        "Student,ID,SIS User ID,SIS Login ID,Section,Backprop Exercise (4242),Current Score,"
        "Unposted Current Score,Final Score,Unposted Final Score,Final Grade\n"
        "    Points Possible,,,,,20.00,(read only),(read only),(read only),(read only),"
        "(read only)\n\"Lovelace, Ada\",101,S101,alovelace,Section A,,,,,,\n").encode())
    assert canvas.assignment_column(one) == "Backprop Exercise (4242)"


def test_issue_canvas_export_from_the_command_line(tmp_path):
    """The export's one assignment column, `Backprop Exercise (4242)`, is the one filled."""
    src = canvas_download(tmp_path / "dl")
    export = put(tmp_path / "export.csv", (
        "Student,ID,SIS User ID,SIS Login ID,Section,Backprop Exercise (4242),Current Score,"
        "Final Score\n"
        "    Points Possible,,,,,120.00,(read only),(read only)\n"
        + "".join(f"\"Student, {sid}\",{sid},S{sid},login{sid},Section A,,,\n"
                  for sid in CANVAS_IDS)).encode())
    out = tmp_path / "out"
    proc = subprocess.run([str(GRADER), "batch", str(src), "--out", str(out), "--jobs", str(JOBS),
                           "--roster", str(export), "--late-penalty", "50%"],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(open(out / "canvas-import.csv", newline="")))
    assert rows[0][-1] == "Backprop Exercise (4242)" and len(rows[0]) == 6
    got = by_student(out)
    # scaled to the export's Points Possible (120), whatever the suite's own maximum is
    want = 120 * got["102"]["score"] / max_points(got["102"])
    assert rows[2 + CANVAS_IDS.index("102")][-1] == f"{want:g}"
    assert f"Canvas import:       {out / 'canvas-import.csv'}" in proc.stdout.splitlines()
    assert gradebook(out)["102"]["name"] == "Student, 102"

    # A roster naming no column of it: an error listing the columns, and nothing graded.
    other = tmp_path / "other"
    bad = subprocess.run([str(GRADER), "batch", str(src), "--out", str(other), "--roster",
                          str(export), "--assignment", "Backprop engine"],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "no assignment column matches 'Backprop engine'" in bad.stderr
    assert '"Backprop Exercise (4242)"' in bad.stderr
    assert not (other / "results").exists()

    # --due on a download without times: an error saying why.
    due = subprocess.run([str(GRADER), "batch", str(src), "--out", str(other), "--due",
                          "2026-12-01"], capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert due.returncode == 2 and "Traceback" not in due.stderr
    assert "--due needs each hand-in's submission time" in due.stderr
    assert "a Canvas download has no submission times, only a _LATE flag" in due.stderr
    assert not (other / "results").exists()


# --------------------------------------------------------------------------- Moodle, Gradescope


def test_moodle_tree(tmp_path):
    d = tmp_path / "moodle"
    put(d / "Ada Lovelace_1043210_assignsubmission_file_" / "engine.py", code("reference"))
    put(d / "Ada Lovelace_1043210_assignsubmission_onlinetext_" / "onlinetext.html", b"<p>hi</p>")
    put(d / "Alan Turing_1043211_assignsubmission_file" / "engine.py", code("pow-exponent"))
    put(d / "Alan Turing_1043211_assignsubmission_file" / "notes.txt", b"my notes")
    put(d / "Emmy Noether_1043212_assignsubmission_file_engine.py", code("exp-no-outgrad"))
    grade_class(zip_dir(d, tmp_path / "moodle.zip"), tmp_path / "out", jobs=JOBS,
                progress=False)
    got = by_student(tmp_path / "out")
    assert sorted(got) == ["1043210", "1043211", "1043212"]
    names = {sid: d["extra_data"]["student"]["name"] for sid, d in got.items()}
    assert names == {"1043210": "Ada Lovelace", "1043211": "Alan Turing",
                     "1043212": "Emmy Noether"}
    assert all(d["extra_data"]["student"]["source"] == "moodle" for d in got.values())
    assert got["1043210"]["score"] == max_points(got["1043210"])
    book = gradebook(tmp_path / "out")
    assert book["1043211"]["misconceptions"] == "pow-exponent"
    assert book["1043212"]["misconceptions"] == "exp-no-outgrad"
    assert book["1043211"]["name"] == "Alan Turing"
    for sid in got:
        check_gradescope(got[sid])


GS_META = """\
submission_301:
  :submitters:
  - :name: Ada Lovelace
    :sid: 'A001'
    :email: ada@uni.edu
  :created_at: 2026-12-01 20:00:00.000000000 -08:00
  :score: 0.0
submission_302:
  :submitters:
  - :name: Pair One
    :sid: 'A002'
    :email: one@uni.edu
  - :name: Pair Two
    :sid: 'A003'
    :email: two@uni.edu
  :created_at: 2026-12-03 10:30:00.000000000 +00:00
submission_303:
  :submitters:
  - :name: Grace Hopper
    :sid: 'A004'
    :email: grace@uni.edu
  :created_at: 2026-12-01 23:30:00.000000000 +00:00
"""


def test_gradescope_export_with_due_date(tmp_path):
    root = tmp_path / "gs" / "assignment_777_export"
    put(root / "submission_metadata.yml", GS_META.encode())
    put(root / "submission_301" / "engine.py", code("reference"))
    put(root / "submission_302" / "engine.py", code("mul-swapped"))
    put(root / "submission_303" / "engine.ipynb", nb(code("reference").decode()))
    download = zip_dir(tmp_path / "gs", tmp_path / "export.zip")
    out = tmp_path / "out"
    grade_class(download, out, jobs=JOBS, settings=Settings(
        late_penalty="10%/day", due="2026-12-02T00:00:00+00:00"), progress=False)
    got = by_student(out)
    assert sorted(got) == ["A001", "A002", "A003", "A004"]
    assert {sid: d["extra_data"]["student"]["name"] for sid, d in got.items()} == {
        "A001": "Ada Lovelace", "A002": "Pair One", "A003": "Pair Two", "A004": "Grace Hopper"}
    assert got["A001"]["extra_data"]["student"]["email"] == "ada@uni.edu"
    # Ada: 04:00 UTC on the due day, 4 hours late -> one started day.
    ada = got["A001"]["extra_data"]["late"]
    assert ada["late"] and ada["penalty"] == 0.1 and ada["days"] == pytest.approx(4 / 24, abs=1e-3)
    assert got["A001"]["score"] == pytest.approx(0.9 * max_points(got["A001"]))
    # The pair: 1 day 10.5 hours late -> 2 days -> 20%, both members alike.
    for sid in ("A002", "A003"):
        late = got[sid]["extra_data"]["late"]
        assert late["penalty"] == 0.2 and late["days"] == pytest.approx(1 + 10.5 / 24, abs=1e-3)
    assert got["A002"]["score"] == got["A003"]["score"] < max_points(got["A002"])
    # Grace: on time, a notebook.
    assert got["A004"]["extra_data"]["late"]["late"] is False
    assert got["A004"]["score"] == max_points(got["A004"])
    book = gradebook(out)
    assert book["A002"]["misconceptions"] == book["A003"]["misconceptions"] == "mul-swapped"
    assert (book["A002"]["late"], book["A002"]["late_days"], book["A002"]["penalty"]) == \
        ("yes", "1.44", "0.2")
    for d in got.values():
        check_gradescope(d)


def nb(source: str) -> bytes:
    cell = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": source}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                       "nbformat_minor": 5}).encode()


# --------------------------------------------------------------------------- interruption

# s02 hangs while it loads (for an hour, far past any test), so the signal, sent once s01's
# result is on disk, lands while the run is still going however loaded the machine is; the
# resume then grades a fixed s02.
SIGNAL_CLASS = ["reference", "hangs", "stub", "tanh-from-input", "mul-no-outgrad",
                "relu-at-zero", "pow-exponent", "exp-overwrite", "syntax", "no-seed",
                "mul-swapped", "add-one-side"]
HANGS = (REFERENCE + "\nimport time\ntime.sleep(3600)\n").encode()


@pytest.fixture
def twelve(tmp_path) -> Path:
    src = tmp_path / "twelve"
    for i, kind in enumerate(SIGNAL_CLASS, 1):
        put(src / f"s{i:02d}.py", HANGS if kind == "hangs" else code(kind))
    return src


def unhang(src: Path) -> None:
    """The hanging hand-in, fixed before the resume (it was never graded, so it is graded
    now whatever its content)."""
    put(src / "s02.py", code("reference"))


def marked_pids(mark: str) -> list[int]:
    """Processes whose environment carries `mark`: everything a run started, however deep."""
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            if mark.encode() in (p / "environ").read_bytes():
                state = (p / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    pids.append(int(p.name))
        except OSError:
            continue
    return pids


def wait_gone(mark: str, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := marked_pids(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def interrupt(src: Path, out: Path, sig: int) -> tuple[subprocess.CompletedProcess, list[int]]:
    """Start `grader batch --jobs 1`, send `sig` to it once a first result is on disk; returns the
    finished process and the pids of whatever it started that outlived it by 5 s (those are
    killed, by pid). Output goes to files: a survivor may hold a pipe open forever."""
    mark = f"GRADER_BATCH_TEST_{uuid.uuid4().hex}"
    env = dict(os.environ, **{mark: "1"})
    logs = out.with_name(out.name + "-logs")
    logs.mkdir(parents=True)
    with open(logs / "stdout", "w") as so, open(logs / "stderr", "w") as se:
        proc = subprocess.Popen([str(GRADER), "batch", str(src), "--out", str(out), "--jobs", "1"],
                                stdout=so, stderr=se, env=env, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not list((out / "results").glob("[!.]*.json")):
            assert proc.poll() is None, (logs / "stderr").read_text()
            assert time.monotonic() < deadline, "no result within 60 s"
            time.sleep(0.02)
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        survivors = wait_gone(mark, 5.0)
        for pid in survivors:  # only what this run started, by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return subprocess.CompletedProcess(proc.args, proc.returncode, (logs / "stdout").read_text(),
                                       (logs / "stderr").read_text()), survivors


def check_interrupted_then_resumed(src: Path, out: Path) -> None:
    partial = results_json(out)
    assert list(partial) == ["s01.json"], "the signal came while s02 was loading"
    unhang(src)
    for d in partial.values():
        check_gradescope(d)  # complete, valid JSON
    first = {name: (out / "results" / name).stat().st_mtime_ns for name in partial}
    proc = subprocess.run([str(GRADER), "batch", str(src), "--out", str(out), "--jobs", "1",
                           "--resume"], capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    todo = {int(m) for m in re.findall(r"^\[\d+/(\d+)\]", proc.stderr, re.M)}
    assert todo == {len(SIGNAL_CLASS) - len(partial)}  # only the rest was graded
    for name, mtime in first.items():
        assert (out / "results" / name).stat().st_mtime_ns == mtime
    ids = [f"s{i:02d}" for i in range(1, len(SIGNAL_CLASS) + 1)]
    assert sorted(by_student(out)) == ids
    assert sorted(gradebook(out)) == ids  # every student exactly once
    assert f"Graded {len(SIGNAL_CLASS) - 1} hand-ins; 1 could not be graded." in proc.stdout
    rest = len(SIGNAL_CLASS) - len(partial)
    assert f"Graded {rest}: not graded before." in proc.stdout
    assert f"Kept {len(partial)} result{'s' if len(partial) != 1 else ''} graded earlier, " \
           "unchanged." in proc.stdout
    assert leftovers(out) == []


def test_sigint_then_resume(twelve, tmp_path):
    out = tmp_path / "out"
    proc, survivors = interrupt(twelve, out, signal.SIGINT)
    assert proc.returncode == 130
    assert "Traceback" not in proc.stderr, proc.stderr
    # how to go on, in the words of the command that was run
    assert "Interrupted: 1 result is in" in proc.stderr, proc.stderr
    assert f"grader batch {twelve} --out {out} --jobs 1 --resume" in proc.stderr
    assert survivors == [], "processes outlived an interrupted `grader batch`"
    assert leftovers(out) == []
    check_interrupted_then_resumed(twelve, out)


def test_sigkill_then_resume(twelve, tmp_path, monkeypatch):
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))  # the runs' own temporary folders
    proc, survivors = interrupt(twelve, out, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    killed = sorted(p.name for p in tmp.iterdir())
    assert any(name.startswith("grader-submissions-") for name in killed), killed
    gone = time.monotonic() + 30  # the killed run's processes die (the grader's own check)
    while any(alive(int(name.split("-")[2])) for name in killed):
        assert time.monotonic() < gone, killed
        time.sleep(0.05)
    check_interrupted_then_resumed(twelve, out)
    # what the killed run unpacked (every student's code) went with the run that resumed
    assert list(tmp.iterdir()) == []


def test_sigkill_leaves_no_workers_behind(twelve, tmp_path):
    proc, survivors = interrupt(twelve, tmp_path / "out", signal.SIGKILL)
    assert survivors == []


# --------------------------------------------------------------------------- a worker that dies


@pytest.mark.parametrize("first", [False, True], ids=["after-a-result", "before-any-result"])
def test_worker_death_costs_only_its_handin(tmp_path, monkeypatch, first):
    """A worker process that dies in the middle of a hand-in (forced here: the runner of a forked
    worker exits when it reaches `crash.py`) is recorded as not graded, out of the suite's full
    maximum even when no hand-in was graded before it; the others are graded."""
    import grader.grading.runner

    real_run = grader.grading.runner.run

    def dying_run(jobs, emit, limits, sandbox=None, instances=None, visibility=None):
        def guarded():
            for job in jobs:
                if job.path.name == "crash.py":
                    time.sleep(0.5)  # mid-hand-in: its "start" has reached the parent
                    os._exit(70)
                yield job
        real_run(guarded(), emit, limits, sandbox, instances, visibility)

    monkeypatch.setattr(grader.grading.runner, "run", dying_run)  # workers are forked: they inherit it
    tasks = []
    order = [("a", "reference", "a.py"), ("b", "reference", "crash.py"),
             ("c", "add-overwrite", "c.py"), ("d", "stub", "d.py")]
    if first:
        order.insert(0, order.pop(1))
    for sid, kind, name in order:
        path = put(tmp_path / "src" / sid / name, code(kind))
        tasks.append(Task(sid, path, {"student": {"id": sid, "name": sid, "source": "file"},
                                      "content_sha256": sha(code(kind))}))
    seen = []
    results_dir = tmp_path / "results"
    start = time.monotonic()
    grade_all(tasks, results_dir, 1, Limits(), lambda task, result: seen.append(task.student_id))
    assert time.monotonic() - start < 60
    assert sorted(seen) == ["a", "b", "c", "d"]
    got = {p.stem: json.loads(p.read_text()) for p in results_dir.glob("[!.]*.json")}
    assert sorted(got) == ["a", "b", "c", "d"]
    assert "worker process died" in got["b"]["extra_data"]["error"]
    # --resume grades it again, whatever else is unchanged
    assert store.stale(results_dir / "b.json", got["b"]["extra_data"]) == \
        "its grading was cut short last time"
    assert store.stale(results_dir / "a.json", got["a"]["extra_data"]) == ""
    assert got["b"]["score"] == 0 and max_points(got["b"]) == max_points(got["a"]) > 0
    assert got["a"]["score"] == max_points(got["a"])
    assert 0 < got["c"]["score"] < max_points(got["c"])
    assert not got["c"]["extra_data"].get("error") and not got["d"]["extra_data"].get("error")
    assert leftovers(results_dir) == []


def test_a_lone_lost_handin_keeps_the_suites_maximum(tmp_path, monkeypatch):
    """A batch whose only hand-in loses its worker has no graded result to take the maximum
    from: the suite itself gives it (never a 0/0), scored by the course file's weights."""
    from suite_cases import full_marks

    import grader.grading.runner

    real_run = grader.grading.runner.run

    def dying_run(jobs, emit, limits, sandbox=None, instances=None, visibility=None):
        def guarded():
            for job in jobs:
                time.sleep(0.5)  # mid-hand-in: its "start" has reached the parent
                os._exit(70)
                yield job
        real_run(guarded(), emit, limits, sandbox, instances, visibility)

    monkeypatch.setattr(grader.grading.runner, "run", dying_run)  # workers are forked: they inherit it
    path = put(tmp_path / "src" / "a" / "crash.py", code("reference"))
    results_dir = tmp_path / "results"
    grade_all([Task("a", path, {})], results_dir, 1, Limits(), lambda task, result: None,
              score=lambda r: r)
    got = json.loads((results_dir / "a.json").read_text())
    assert "worker process died" in got["extra_data"]["error"]
    assert got["score"] == 0 and max_points(got) == full_marks()
    assert all(t["output"].startswith("Not graded:") for t in got["tests"])


def _grade_all_with_a_sudden_death(base: Path) -> None:
    """In a forked child: grade three hand-ins with one worker that exits the instant it takes
    `crash.py` (before its queued messages are flushed to the parent)."""
    import grader.grading.runner

    os.setsid()  # one process group for the test to clean up
    real_run = grader.grading.runner.run

    def dying_run(jobs, emit, limits, sandbox=None, instances=None, visibility=None):
        def guarded():
            for job in jobs:
                if job.path.name == "crash.py":
                    os._exit(70)
                yield job
        real_run(guarded(), emit, limits, sandbox, instances, visibility)

    grader.grading.runner.run = dying_run
    tasks = [Task(sid, put(base / "src" / sid / name, code("reference")), {})
             for sid, name in [("a", "a.py"), ("b", "crash.py"), ("c", "c.py")]]
    grade_all(tasks, base / "results", 1, Limits(), lambda task, result: None)


def test_sudden_worker_death_is_blamed_on_the_right_handin_and_ends(tmp_path):
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=_grade_all_with_a_sudden_death,
                                                        args=(tmp_path,))
    child.start()
    child.join(10)
    if child.is_alive():
        try:
            os.killpg(child.pid, signal.SIGKILL)  # the group this test's child made
        except OSError:
            pass
        child.join(5)
    got = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "results").glob("[!.]*.json")}
    assert not got.get("a", {}).get("extra_data", {}).get("error"), "a finished hand-in was blamed"
    assert sorted(got) == ["a", "b", "c"], "grade_all did not finish within 10 s"
    assert "worker process died" in got["b"]["extra_data"]["error"]
