"""`grader slurm` on a real Slurm cluster, and what it hands every shard.

The cluster is Debian's slurm-wlm with munge on this machine (`.ci/slurm.sh start`, which
`.ci/run` calls). Where no cluster answers, the tests that need one are skipped, except under
CI, where that is a missing install step and fails.

The class: 120 mixed hand-ins as a Canvas download (tests/mixed_class.py).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import cli
from grader.batch import slurm

sys.path.insert(0, str(Path(__file__).parent))
from mixed_class import canvas_class  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GRADER = Path(sys.executable).with_name("grader")
SIZE, SHARDS = 120, 4
OPTIONS = ["--late-penalty", "10%/day", "--test-timeout", "3"]


def cluster_missing() -> str | None:
    if shutil.which("sbatch") is None:
        return "sbatch is not installed (.ci/slurm.sh start installs and starts a cluster)"
    proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    if proc.returncode != 0 or not proc.stdout.strip():
        return f"no Slurm cluster answers sinfo ({proc.stderr.strip()}): .ci/slurm.sh start"
    return None


@pytest.fixture(scope="module")
def cluster():
    why = cluster_missing()
    if why and os.environ.get("CI") == "true":
        pytest.fail(f"CI must grade on a real Slurm: {why}")
    if why:
        pytest.skip(why)


def job(job_id: str) -> str:
    return subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True,
                          text=True).stdout


def gradebook_rows(out: Path) -> dict[str, list[str]]:
    import csv

    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    return {r[head.index("student_id")]: dict(zip(head, r)) for r in rows[1:]}


# ------------------------------------------------------------------ on a real cluster

def test_a_class_in_four_shards_merges_to_the_batch_gradebook_and_a_rerun_grades_what_failed(
        cluster, tmp_path):
    source, kind_of = canvas_class(tmp_path / "class folder", SIZE)  # a space: quoting
    assert len(kind_of) >= 100 and len(set(kind_of.values())) >= 40
    whole = tmp_path / "whole"
    proc = subprocess.run([str(GRADER), "batch", str(source), "--out", str(whole), "--jobs", "2",
                           *OPTIONS], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

    # First run: shard 2 cannot write its folder (a file is in the way), so it fails and the
    # merge never runs; the others grade their students.
    out = tmp_path / "graded"
    blocked = out / "shards" / f"2-of-{SHARDS}"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("in the way")
    cmd = [str(GRADER), "slurm", str(source), "--out", str(out), "--shards", str(SHARDS),
           "--wait", "--time", "10:00", "--sbatch-arg=--comment=cs101", *OPTIONS]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr
    ids = re.search(rf"^submitted shards as job (\d+) \(array 1-{SHARDS}\) and the merge as job "
                    r"(\d+), to run once every shard has succeeded$", first.stdout, re.M)
    assert ids and ids[1] != ids[2], first.stdout
    assert not (out / "gradebook.csv").exists()
    # Slurm's own account (kept for MinJobAge after a job ends): the merge waited on the array
    # with afterok, and was cancelled when shard 2 failed
    merge_job = job(ids[2])
    assert "JobState=CANCELLED" in merge_job and f"Dependency=afterok:{ids[1]}_*" in merge_job
    assert "JobState=FAILED" in job(f"{ids[1]}_2") and "ExitCode=2:0" in job(f"{ids[1]}_2")
    graded_elsewhere = set()
    for k in (1, 3, 4):
        run = json.loads((out / "shards" / f"{k}-of-{SHARDS}" / "run.json").read_text())
        assert run["shard"] == [k, SHARDS] and sorted(run["class"]) == sorted(kind_of)
        graded_elsewhere |= set(run["graded"])
    lost = sorted(set(kind_of) - graded_elsewhere)  # shard 2's students, by elimination
    assert lost and (f"shard 2/{SHARDS} failed with exit code 2: grader: error:"
                     in first.stdout), first.stdout
    assert f"  not graded ({len(lost)}): {', '.join(lost[:10])}" in first.stdout
    assert "the merge did not run because a shard failed" in first.stdout
    for k in (1, 3, 4):
        assert f"shard {k}/{SHARDS}" not in first.stdout

    # Second run, with the way cleared: shards 1, 3 and 4 keep every result, shard 2 grades
    # its students, and the merge's gradebook is the batch's, byte for byte.
    kept = {p: p.stat().st_mtime_ns for k in (1, 3, 4)
            for p in (out / "shards" / f"{k}-of-{SHARDS}" / "results").glob("*.json")}
    assert len(kept) == SIZE - len(lost)
    blocked.unlink()
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"merged: {out / 'gradebook.csv'}" in second.stdout
    merge_id = re.search(r"and the merge as job (\d+),", second.stdout)[1]
    assert "JobState=COMPLETED" in job(merge_id) and "ExitCode=0:0" in job(merge_id)
    assert "TimeLimit=00:10:00" in job(merge_id) and "Comment=cs101" in job(merge_id)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    for k in (1, 3, 4):
        log = (out / "slurm" / f"shard-{k}.log").read_text()
        assert "Graded 0 hand-ins" in log or "kept" in log.lower(), log[-500:]
    assert (out / "gradebook.csv").read_bytes() == (whole / "gradebook.csv").read_bytes()

    # What the gradebook says, from the maths rather than from the grader: a correct engine
    # gets every point; a file that does not load, none; a late correct one loses 10%.
    rows = gradebook_rows(out)
    assert sorted(rows) == sorted(kind_of)
    for sid, kind in kind_of.items():
        score, maximum = float(rows[sid]["score"]), float(rows[sid]["max_score"])
        late = rows[sid]["late"] != "no"
        if kind in ("reference", "notebook"):
            assert score == pytest.approx(maximum * (0.9 if late else 1.0)), (sid, rows[sid])
        if kind in ("syntax", "empty", "binary"):
            assert score == 0 and maximum > 0, (sid, rows[sid])


# ------------------------------------------------------------------ without a cluster

def test_every_option_of_batch_reaches_each_shard_with_absolute_paths(tmp_path, monkeypatch):
    """`grader slurm` takes every option of `grader batch` but those it sets itself, and hands
    each given one on: parsed again by `grader batch`, they are the same values."""
    own = {"source", "out", "jobs", "resume", "dry_run", "shard"}  # dry_run: a mode of one run
    assert {p.name for p in cli.batch.params} - own <= {p.name for p in cli.slurm.params}
    monkeypatch.chdir(tmp_path)
    (tmp_path / "roster.csv").write_text("x")
    (tmp_path / "grader.toml").write_text("")
    python = Path(sys.executable)
    given = ["--late-penalty", "20%", "--due", "2026-01-01T00:00", "--flag-late-days", "2",
             "--roster", "roster.csv", "--assignment", "HW1", "--test-timeout", "4",
             "--handin-timeout", "50", "--cell-timeout", "9", "--memory", "700",
             "--max-output", "999", "--sandbox", "strict", "--allow-import", "numpy",
             "--allow-import", "math", "--published", "--python", str(python)]
    # --python's callback sets GRADER_PYTHON in this process: undone after the test
    monkeypatch.setenv("GRADER_PYTHON", "")
    monkeypatch.delenv("GRADER_PYTHON")
    ctx = cli.slurm.make_context("slurm", [".", "--out", "o", "--shards", "2", *given])
    args = cli.passed_on(ctx, cli.batch)
    assert "--out" not in args and "--jobs" not in args
    again = cli.batch.make_context("batch", [".", "--out", "o", *args]).params
    for name, value in ctx.params.items():
        if name in {p.name for p in cli.batch.params} - own - {"config"}:
            assert again[name] == (value.absolute() if isinstance(value, Path) else value), name
    assert again["roster"] == tmp_path / "roster.csv"
    # the course file found in this folder is named, so that a node in another folder uses it
    assert again["config"] == tmp_path / "grader.toml"
    assert args[args.index("--python") + 1] == str(python.absolute())
    merge_args = cli.passed_on(ctx, cli.merge)
    assert set(merge_args) >= {"--roster", "--assignment", "--published", "--config"}
    assert "--late-penalty" not in merge_args


def test_the_job_scripts_quote_every_path_and_keep_the_exit_code(tmp_path):
    """The scripts run as they are, with a stand-in `grader` that prints its arguments and
    fails: each word arrives whole, shard K from Slurm's index, and the exit code is kept."""
    assert slurm.Plan(tmp_path, tmp_path, 1).grader == [str(GRADER)]  # this very install
    fake = tmp_path / "fake grader"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\nexit 3\n')
    fake.chmod(0o755)
    out = tmp_path / "it's out"
    source = tmp_path / "a class $(touch pwned).zip"
    plan = slurm.Plan(source, out, 3, ["--due", "x y"], ["--published"], 2, grader=[str(fake)])
    plan.folder.mkdir(parents=True)
    shard, merge = slurm.scripts(plan)
    for k in (1, 3):
        run = subprocess.run(["sh", "-c", shard], capture_output=True, text=True, cwd=tmp_path,
                             env={"SLURM_ARRAY_TASK_ID": str(k), "PATH": "/usr/bin:/bin"})
        assert run.returncode == 3
        assert run.stdout.splitlines() == [
            "batch", str(source), "--out", str(out / "shards" / f"{k}-of-3"), "--shard",
            f"{k}/3", "--resume", "--jobs", "2", "--due", "x y"]
        assert slurm.exit_record(plan.folder / f"shard-{k}.exit")["code"] == 3
    run = subprocess.run(["sh", "-c", merge], capture_output=True, text=True, cwd=tmp_path)
    assert run.stdout.splitlines() == [
        "merge", *(str(out / "shards" / f"{k}-of-3") for k in (1, 2, 3)), "--out", str(out),
        "--published"]
    times = slurm.exit_record(plan.folder / "merge.exit")
    assert times["code"] == 3 and times["start"] <= times["end"]
    assert not (tmp_path / "pwned").exists()


def test_without_sbatch_it_says_where_to_run_it(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    proc = subprocess.run([str(GRADER), "slurm", str(tmp_path), "--out", str(tmp_path / "o"),
                           "--shards", "2"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("grader: error: sbatch is not on PATH: run `grader slurm` "
                                   "where jobs are submitted (a cluster's login node)")


def test_a_bad_option_fails_at_submission_not_on_the_nodes(tmp_path):
    bad = tmp_path / "grader.toml"
    bad.write_text("[limits\n")
    proc = subprocess.run([str(GRADER), "slurm", str(tmp_path), "--out", str(tmp_path / "o"),
                           "--shards", "2", "--config", str(bad)], capture_output=True,
                          text=True)
    assert proc.returncode != 0 and "grader.toml" in proc.stderr
    assert not (tmp_path / "o").exists()
