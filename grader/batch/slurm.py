"""`grader slurm`: a class graded on a Slurm cluster, as one array job and one merge job.

Shard K of the array runs `grader batch SOURCE --shard K/N --resume` into OUT/shards/K-of-N;
the merge job, held by `--dependency=afterok` until every shard has succeeded (and cancelled by
Slurm if one fails), runs `grader merge` of all N folders into OUT. Everything it writes for
Slurm is in OUT/slurm/: the two job scripts, their logs, each job's exit code (Slurm without
accounting forgets a job minutes after it ends; these files do not) and the job ids. Running
the same command again grades only what is missing: each shard keeps the results an earlier
run left that are still valid.
"""
from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..platforms.submissions import unpacked
from . import store
from .run import in_shard


@dataclass
class Plan:
    """What to submit: the class, where it goes, and what every shard and the merge are given."""
    source: Path
    out: Path
    shards: int
    batch_args: list[str] = field(default_factory=list)   # options of `grader batch`
    merge_args: list[str] = field(default_factory=list)   # those `grader merge` takes too
    jobs: int = 1                                          # workers (and CPUs) per shard
    partition: str | None = None
    time: str | None = None
    sbatch_args: list[str] = field(default_factory=list)
    grader: list[str] = field(default_factory=lambda: grader_command())

    def __post_init__(self):
        self.source, self.out = Path(self.source).absolute(), Path(self.out).absolute()

    @property
    def folder(self) -> Path:
        return self.out / "slurm"

    def shard_dir(self, k: int) -> Path:
        return self.out / "shards" / f"{k}-of-{self.shards}"


@dataclass
class Submitted:
    shards: str  # the array job's id
    merge: str


def grader_command() -> list[str]:
    """This very `grader`, by absolute path, so that every node runs the same install."""
    beside = Path(sys.executable).with_name("grader")  # a venv's bin/, unresolved
    found = str(beside) if beside.exists() else shutil.which("grader")
    if found is None:
        raise RuntimeError("cannot find the `grader` command of this install to run on the "
                           "nodes; install the kit with pip so that `grader` is on PATH")
    return [str(Path(found).absolute())]


def _script(what: str, command: list[str], exit_file: str, setup: str = "") -> str:
    """A job script: run `command` (after `setup`), keep its exit code and when it started and
    ended (Unix seconds) in a file, exit with the code."""
    return "\n".join([
        "#!/bin/sh",
        f"# {what}; written by `grader slurm`",
        *([setup] if setup else []),
        "start=$(date +%s.%N)",
        " ".join(command),
        "code=$?",
        f'echo "$code $start $(date +%s.%N)" > {exit_file}',
        "exit $code",
        ""])


def scripts(plan: Plan) -> tuple[str, str]:
    """The array job's script (shard K from SLURM_ARRAY_TASK_ID) and the merge job's."""
    q = shlex.quote
    n = plan.shards
    shard_dir = q(str(plan.out / "shards")) + f'/"$k"-of-{n}'
    shard = _script(
        f"shard $SLURM_ARRAY_TASK_ID of {n}: its students, graded into its own folder",
        [*map(q, plan.grader), "batch", q(str(plan.source)),
         "--out", shard_dir, "--shard", f'"$k"/{n}', "--resume", "--jobs", str(plan.jobs),
         *map(q, plan.batch_args)],
        q(str(plan.folder)) + '/shard-"$k".exit', setup="k=$SLURM_ARRAY_TASK_ID")
    merge = _script(
        f"the merge of all {n} shards into {plan.out}",
        [*map(q, plan.grader), "merge", *(q(str(plan.shard_dir(k))) for k in range(1, n + 1)),
         "--out", q(str(plan.out)), *map(q, plan.merge_args)],
        q(str(plan.folder / "merge.exit")))
    return shard, merge


def _sbatch(plan: Plan, options: list[str], script: Path) -> str:
    """Submit `script` with `options` and the plan's own; the job id."""
    common = ["--chdir", str(plan.out)]
    if plan.partition:
        common += ["--partition", plan.partition]
    if plan.time:
        common += ["--time", plan.time]
    proc = subprocess.run(["sbatch", "--parsable", *common, *options, *plan.sbatch_args,
                           str(script)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"sbatch refused the job: {_last_line(proc.stderr) or proc.returncode}")
    return proc.stdout.strip().split(";")[0]  # "id" or "id;cluster"


def submit(plan: Plan) -> Submitted:
    """Write the scripts and submit the array and its merge; the ids Slurm gave them."""
    if shutil.which("sbatch") is None:
        raise RuntimeError("sbatch is not on PATH: run `grader slurm` where jobs are submitted "
                           "(a cluster's login node)")
    running = still_queued(plan.out)
    if running:
        raise RuntimeError(f"jobs {', '.join(running)} of an earlier `grader slurm` into "
                           f"{plan.out} are still queued or running: wait for them, or "
                           f"`scancel {' '.join(running)}`")
    plan.folder.mkdir(parents=True, exist_ok=True)
    for old in plan.folder.glob("*.exit"):  # an earlier run's: must not count for this one
        old.unlink()
    shard, merge = scripts(plan)
    for name, text in (("shard.sh", shard), ("merge.sh", merge)):
        (plan.folder / name).write_text(text)
        (plan.folder / name).chmod(0o755)
    label = plan.out.name or "class"
    shards = _sbatch(plan, [f"--array=1-{plan.shards}", f"--job-name=grader-{label}",
                            f"--cpus-per-task={plan.jobs}",
                            f"--output={plan.folder}/shard-%a.log"], plan.folder / "shard.sh")
    try:
        merge_id = _sbatch(plan, [f"--dependency=afterok:{shards}", "--kill-on-invalid-dep=yes",
                                  f"--job-name=grader-{label}-merge",
                                  f"--output={plan.folder}/merge.log"], plan.folder / "merge.sh")
    except RuntimeError:
        subprocess.run(["scancel", shards], capture_output=True)
        raise
    (plan.folder / "jobs.json").write_text(json.dumps(
        {"shards": shards, "merge": merge_id, "of": plan.shards, "submitted": time.time()}))
    return Submitted(shards, merge_id)


def still_queued(out: Path) -> list[str]:
    """The ids of an earlier submission into `out` that Slurm still holds (pending or running)."""
    try:
        jobs = json.loads((Path(out) / "slurm" / "jobs.json").read_text())
    except (OSError, ValueError):
        return []
    return [job for job in (jobs["shards"], jobs["merge"]) if states(job)]


def states(job: str) -> list[str]:
    """The states of a job's tasks that Slurm still holds (PENDING, RUNNING...); none once it
    has ended. Asked one job at a time: squeue refuses a whole list when one of its jobs has
    been forgotten (without accounting, minutes after it ended)."""
    proc = subprocess.run(["squeue", "-h", "-r", "-o", "%T", "-j", job], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        if "Invalid job id" in proc.stderr:
            return []
        raise RuntimeError(f"squeue failed: {_last_line(proc.stderr)}")
    return proc.stdout.split()


def wait(plan: Plan, submitted: Submitted, say=print, poll: float = 2.0) -> int:
    """Wait until every shard and the merge have ended (a failed shard cancels the merge while
    others may still run); the merge's exit code, or 1 when it never ran."""
    shown = None
    while True:
        now = states(submitted.shards) + states(submitted.merge)
        if not now:
            break
        line = ", ".join(f"{now.count(s)} {s.lower()}" for s in sorted(set(now)))
        if line != shown:
            say(f"waiting: {line}")
            shown = line
        time.sleep(poll)
    return outcome(plan, say)


def outcome(plan: Plan, say=print) -> int:
    """What became of a finished submission, said in sentences; the merge's exit code, or 1."""
    failed = failed_shards(plan)
    for k, why, students in failed:
        names = ", ".join(students[:10]) + (f" and {len(students) - 10} more"
                                            if len(students) > 10 else "")
        say(f"shard {k}/{plan.shards} {why}; log: {plan.folder / f'shard-{k}.log'}")
        say(f"  not graded ({len(students)}): {names or 'none'}")
    code = _exit_code(plan.folder / "merge.exit")
    if code is None:
        say("the merge did not run" + (" because a shard failed" if failed else "") +
            "; running the same command again grades only what is missing")
        return 1
    if code != 0:
        say(f"the merge failed with exit code {code}: "
            f"{_last_line(_read(plan.folder / 'merge.log'))}; log: {plan.folder / 'merge.log'}")
    else:
        say(f"merged: {plan.out / 'gradebook.csv'}")
    return code


def failed_shards(plan: Plan) -> list[tuple[int, str, list[str]]]:
    """(K, what happened, the ids of its students with no result) for every shard that did not
    succeed."""
    failed = []
    for k in range(1, plan.shards + 1):
        code = _exit_code(plan.folder / f"shard-{k}.exit")
        if code == 0:
            continue
        log = _read(plan.folder / f"shard-{k}.log")
        why = (f"failed with exit code {code}: {_last_line(log)}" if code is not None else
               "did not finish (cancelled, out of time, or its node failed)"
               + (f": {_last_line(log)}" if _last_line(log) else ""))
        failed.append((k, why, []))
    if failed:
        with unpacked(plan.source) as subs:
            everyone = [s.student_id for s in subs]
        for k, _, students in failed:
            results = plan.shard_dir(k) / "results"
            for sid in everyone:
                if in_shard(sid, (k, plan.shards)):
                    result = store.read(results / store.filename(sid))
                    if result is None or result.extra.get("lost"):
                        students.append(sid)
    return failed


def _exit_code(path: Path) -> int | None:
    return (exit_record(path) or {}).get("code")


def exit_record(path: Path) -> dict | None:
    """A job script's exit file: its exit code and when it started and ended (Unix seconds)."""
    try:
        code, start, end = path.read_text().split()
        return {"code": int(code), "start": float(start), "end": float(end)}
    except (OSError, ValueError):
        return None


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
