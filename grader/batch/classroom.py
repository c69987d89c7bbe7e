"""`grader batch` and `grader merge` as plain functions."""
from __future__ import annotations

from pathlib import Path

from ..platforms import late as late_rules
from ..platforms.submissions import Submission, unpacked
from ..results import Result
from ..sandbox.isolation import Isolation
from ..sandbox.limits import Limits
from . import outputs, store
from .run import Progress, Task, grade_all, in_shard


def tasks_for(subs: list[Submission], policy, due: str | None) -> list[Task]:
    tasks = []
    for s in subs:
        extra = {"student": s.student_extra(), "content_sha256": store.content_hash(s.path)}
        if s.late or due:
            extra["late"] = late_rules.assess(policy, late=s.late, submitted_at=s.submitted_at,
                                              due=due)
        tasks.append(Task(s.student_id, s.path, extra))
    return tasks


def grade_class(source: Path, out: Path, jobs: int = 1, limits: Limits = Limits(),
                resume: bool = False, shard: tuple[int, int] | None = None,
                late_penalty: str | None = None, due: str | None = None,
                roster: Path | None = None, progress: bool = True,
                settings: Isolation = Isolation()) -> tuple[list[Result], dict]:
    """Grade every hand-in in SOURCE into OUT; returns the results and the written files."""
    policy = late_rules.parse_policy(late_penalty)
    results_dir = out / "results"
    with unpacked(source) as subs:
        tasks = [t for t in tasks_for(subs, policy, due) if in_shard(t.student_id, shard)]
        todo = []
        for t in tasks:
            if resume and store.done(results_dir, t.student_id, t.extra["content_sha256"]):
                continue
            todo.append(t)
        bar = Progress(len(todo)) if progress else (lambda task, result: None)
        try:
            grade_all(todo, results_dir, jobs, limits, bar, settings)
        finally:
            if progress:
                bar.close()
    wanted = {store.filename(t.student_id) for t in tasks}
    files = [p for p in store.result_files(results_dir) if p.name in wanted]
    return outputs.write_all(out, files, roster)


def merge(dirs: list[Path], out: Path, roster: Path | None = None) -> tuple[list[Result], dict]:
    """Join the results of several shards into one results folder, gradebook and report."""
    written = set()
    for d in dirs:
        for p in store.result_files(d / "results"):
            r = store.read(p)
            if r is not None:
                student = r.extra.get("student", {}).get("id") or p.stem
                written.add(store.write(out / "results", student, r))
    return outputs.write_all(out, sorted(written), roster)
