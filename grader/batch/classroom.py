"""`grader batch` and `grader merge` as plain functions."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..course import late as late_rules
from ..course.file import Course
from ..course.scoring import apply, visibilities
from ..course.visibility import in_order
from ..platforms import canvas, moodle
from ..platforms.submissions import Submission, unpacked
from ..results.model import Result
from ..sandbox.isolation import Isolation
from ..sandbox.limits import Limits
from . import outputs, similarity, store
from .run import Progress, Task, grade_all, in_shard

RUN_FILE = "run.json"  # which shard of which class an output folder holds


@dataclass
class Graded:
    """What a batch or a merge produced: the results' summaries, the files written, and what
    the run re-did or could not do, in sentences for the console."""
    results: list[Result]
    files: dict[str, Path]
    notes: list[str] = field(default_factory=list)
    partial: str = ""
    changes: list[outputs.Change] | None = None  # what differs from before (None: first run)
    dry_run: bool = False           # graded in a scratch folder: nothing written in OUT


@dataclass
class Settings:
    """Everything besides the hand-ins that decides the grades, their penalties, and the
    platform files they go into."""
    limits: Limits = Limits()
    late_penalty: str | None = None
    due: str | None = None          # the command line's: an error on a download without times
    flag_late_days: float = 1.0
    roster: Path | None = None
    assignment: str | None = None
    worksheet: Path | None = None
    course: Course = Course()       # weights, visibility, points; its due date applies where
    #                                 hand-ins carry a time and says when after_due_date shows
    published: bool = False         # after_published tests show in student outputs
    isolation: Isolation = Isolation()  # what hand-ins may import; strict or not
    published_values: bool = False  # graded on the suite's values, not each hand-in's own
    missing_as_zero: bool = False   # a roster's student without a hand-in scores 0 (else blank)

    @property
    def due_date(self) -> str | None:
        return self.due or self.course.due or None


def grade_class(source: Path, out: Path, jobs: int = 1, settings: Settings = Settings(),
                resume: bool = False, shard: tuple[int, int] | None = None,
                progress: bool = True, dry_run: bool = False) -> Graded:
    """Grade every hand-in in SOURCE into OUT; with `dry_run`, into a scratch copy of OUT,
    to see what would change without writing anything in OUT."""
    if dry_run:
        return scratch(out, lambda there: grade_class(source, there, jobs, settings, resume,
                                                      shard, progress))
    before = outputs.scores(out / "results")
    reasons: dict[str, str] = {}
    graded = _grade_class(source, out, jobs, settings, resume, shard, progress, reasons)
    graded.changes = outputs.changes(before, graded.results, reasons)
    return graded


def scratch(out: Path, run) -> Graded:
    """`run(folder)` on a scratch copy of OUT (its results and records), removed after; the
    changes are what the run would make to OUT."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="grader-dry-run-") as tmp:
        there = Path(tmp) / "out"
        there.mkdir()
        if (out / "results").is_dir():
            shutil.copytree(out / "results", there / "results")
        for name in (RUN_FILE, store.TIMES):
            if (out / name).is_file():
                shutil.copy2(out / name, there / name)
        graded = run(there)
    graded.files, graded.dry_run = {}, True
    return graded


def _grade_class(source: Path, out: Path, jobs: int, settings: Settings, resume: bool,
                 shard: tuple[int, int] | None, progress: bool, reasons: dict) -> Graded:
    policy = late_rules.parse_policy(settings.late_penalty)
    column = _column(settings)  # a roster or worksheet that will not do fails before grading
    if settings.worksheet:
        moodle.check_worksheet(settings.worksheet)
    results_dir = out / "results"
    notes: list[str] = []
    with unpacked(source) as subs:
        if settings.due:
            _check_times(subs, source)
        everyone = tasks_for(subs, policy, settings)
        tasks = [t for t in everyone if in_shard(t.student_id, shard)]
        todo = _plan(tasks, results_dir, settings.limits, resume, notes, settings.course,
                     reasons)
        beside = similarity.Beside({t.student_id: t.path for t in tasks}, out, jobs)
        bar = Progress(len(todo)) if progress else (lambda task, result: None)
        times: dict[str, float] = {}
        arrived = outputs.Arrivals(out, settings)

        def done(task, result):
            times[task.student_id] = result.execution_time
            arrived(task.student_id, result)
            bar(task, result)

        try:
            grade_all(todo, results_dir, jobs, settings.limits, done,
                      lambda result: apply(result, settings.course), settings.isolation,
                      settings.course.instances(settings.published_values),
                      visibilities(settings.course))
            beside.read()  # the hand-ins' code, before their files go
        except BaseException:
            beside.close()
            raise
        finally:
            store.record_times(out, times)
            if progress:
                bar.close()
    _record(out, shard or (1, 1), everyone, tasks)
    wanted = {store.filename(t.student_id) for t in tasks}
    files = [p for p in store.result_files(results_dir) if p.name in wanted]
    try:
        beside.finish(failures(tasks, results_dir, arrived))
        summaries, paths, unfilled = outputs.write_all(
            out, files, settings, column, pairs=beside.pairs,
            whole_class=shard in (None, (1, 1)), arrived=arrived)
    finally:
        beside.close()
    paths["similarity"] = out / "similarity.csv"
    return Graded(summaries, paths, notes + unfilled)


def failures(tasks: list[Task], results_dir: Path, arrived: outputs.Arrivals) -> dict:
    """Each hand-in's failure signatures for similarity.csv (see similarity), by student: from
    the results as they arrived, else (kept from an earlier run) from the results folder."""
    out = {}
    for t in tasks:
        if t.student_id in arrived.failures:
            out[t.student_id] = arrived.failures[t.student_id]
            continue
        result = store.read(results_dir / store.filename(t.student_id))
        out[t.student_id] = similarity.failures(result) if result else {}
    return out


def _column(settings: Settings) -> str | None:
    if settings.roster is None:
        return None
    return canvas.assignment_column(settings.roster, settings.assignment)


def tasks_for(subs: list[Submission], policy, settings: Settings) -> list[Task]:
    inputs = store.inputs()
    names = canvas.names(settings.roster) if settings.roster else {}
    sheet = moodle.worksheet_rows(settings.worksheet) if settings.worksheet else {}
    names.update({pid: row["name"] for pid, row in sheet.items() if row["name"]})
    tasks = []
    for s in subs:
        student = s.student_extra()
        if names and s.student_id not in names:
            student["note"] = "; ".join(filter(None, [student.get("note"), "not in the roster"]))
        elif names and names[s.student_id] != s.name:
            student["name"], student["download_name"] = names[s.student_id], s.name
        extra = {"student": student, "content_sha256": store.content_hash(s.path), **inputs,
                 "imports": list(settings.isolation.imports),
                 "values": settings.course.instances(settings.published_values).fingerprint()}
        late = lateness(s, policy, settings, sheet)
        if late:
            extra["late"] = late
        tasks.append(Task(s.student_id, s.path, extra))
    return tasks


def lateness(s: Submission, policy, settings: Settings, sheet: dict) -> dict | None:
    """The hand-in's ``late`` record from whatever its platform tells: Gradescope's times,
    Canvas's ``_LATE``, the Moodle worksheet's Status; an "unknown" record when a late rule is
    set and nothing tells; None when there is nothing to record."""
    if s.source == "moodle" and s.student_id in sheet:
        status = sheet[s.student_id]["status"]
        days = moodle.days_late(status)
        if days is None:
            return late_rules.unknown(policy, f"the worksheet's Status \"{status}\" does not "
                                      "say how late (only Moodle's English statuses are "
                                      "read)") if policy.fraction else None
        return late_rules.apply(policy, days > 0, days) if days or policy.fraction else None
    timed = settings.due_date and s.submitted_at is not None
    if s.late or timed or settings.due_date and s.source == "canvas":
        return late_rules.assess(policy, late=s.late, submitted_at=s.submitted_at,
                                 due=settings.due_date if timed else None,
                                 flag_days=settings.flag_late_days)
    if policy.fraction and s.source != "canvas":  # Canvas flags every late file: it is known
        why = {"moodle": "this participant is not in the worksheet" if sheet else
               "a Moodle download carries no submission times; pass its grading worksheet "
               "(--worksheet), whose Status says who was late",
               "gradescope": "no due date to compare its submission time with (--due, or "
                             "due in the course file)"}
        return late_rules.unknown(policy, why.get(s.source) or _NO_TIMES.get(s.source, ""))
    return None


_NO_TIMES = {
    "canvas": "a Canvas download has no submission times, only a _LATE flag in file names",
    "moodle": "a Moodle download has no submission times",
    "file": "loose files carry no submission time",
    "folder": "student folders carry no submission time",
}


def _check_times(subs: list[Submission], source: Path) -> None:
    untimed = [s for s in subs if s.submitted_at is None]
    if untimed:
        kinds = sorted({s.source for s in untimed})
        why = "; ".join(_NO_TIMES.get(k, f"{k} hand-ins carry no time") for k in kinds)
        raise ValueError(
            f"--due needs each hand-in's submission time, but {len(untimed)} of {len(subs)} "
            f"hand-ins in {source.name} have none ({why}). Leave out --due: lateness then comes "
            "from the platform's late flag, charged as --flag-late-days days.")


def _plan(tasks: list[Task], results_dir: Path, limits: Limits, resume: bool,
          notes: list[str], course: Course = Course(), reasons: dict | None = None,
          ) -> list[Task]:
    """The tasks to grade. With `resume`, a stored result is kept while nothing that decided
    it changed; one whose late penalty, student details or course file changed is updated in
    place (a test's outcome does not depend on its weight or visibility). `reasons` receives
    why each student's result is graded or updated."""
    reasons = {} if reasons is None else reasons
    if not resume:
        for t in tasks:
            reasons[t.student_id] = "graded (no --resume)"
        return list(tasks)
    todo, regraded, updated = [], Counter(), Counter()
    for t in tasks:
        path = results_dir / store.filename(t.student_id)
        why = store.stale(path, dict(t.extra, grader_version=__version__,
                                     limits=limits.to_json()))
        if why:
            todo.append(t)
            regraded[why] += 1
            reasons[t.student_id] = why
            continue
        result = store.read(path)
        if not in_order(result, visibilities(course)):
            todo.append(t)
            regraded["the course file now holds back tests that ran before tests it shows"] += 1
            continue
        changed = [k for k in ("late", "student")
                   if _details(result.extra.get(k)) != _details(t.extra.get(k))]
        if result.extra.get("course") != course.record():
            result = apply(result, course)
            changed.append("course")
        if changed:
            for k in changed:
                if k == "course":
                    continue
                if k in t.extra:
                    result.extra[k] = t.extra[k]
                else:
                    result.extra.pop(k)
            store.write(results_dir, t.student_id, result)
            updated[" and ".join(_UPDATED[k] for k in changed)] += 1
            reasons[t.student_id] = " and ".join(_UPDATED[k] for k in changed) + " changed"
    for why, n in regraded.items():
        notes.append(f"graded {n}: not graded before" if why == "not graded before"
                     else f"re-graded {n}: {why}")
    for what, n in updated.items():
        notes.append(f"re-applied {what} to {n}" if "late" in what or "course" in what
                     else f"updated {what} of {n}")
    kept = len(tasks) - len(todo) - sum(updated.values())
    if kept:
        notes.append(f"kept {kept} result{'s' if kept != 1 else ''} graded earlier, unchanged")
    return todo


def _details(d):
    """What an output shows of a late or student dict: not where the hand-in was unpacked."""
    return {k: v for k, v in d.items() if k != "path"} if isinstance(d, dict) else d


_UPDATED = {"late": "late penalty", "student": "student details (names, roster)",
            "course": "course file (weights, visibility, points)"}


def _record(out: Path, shard: tuple[int, int], everyone: list[Task], mine: list[Task]) -> None:
    """Say in OUT which shard of which class it holds, so a merge can tell what is missing."""
    out.mkdir(parents=True, exist_ok=True)
    record = {"grader_version": __version__, "shard": list(shard),
              "class": {t.student_id: t.extra["student"].get("name", "") for t in everyone},
              "graded": [t.student_id for t in mine]}
    store.atomic(out / RUN_FILE, json.dumps(record, indent=1))


def merge(dirs: list[Path], out: Path, settings: Settings = Settings(),
          partial: bool = False, dry_run: bool = False) -> Graded:
    """Join the results of a sharded run's folders into one results folder, gradebook, report.

    Every shard 1..N must be there exactly once, unless `partial`: then the students of the
    missing shards are listed as not graded, and every output says the result is partial.
    With `dry_run`, merged into a scratch copy of OUT: what would change, nothing written."""
    if dry_run:
        return scratch(out, lambda there: merge(dirs, there, settings, partial))
    before = outputs.scores(out / "results")
    graded = _merge(dirs, out, settings, partial)
    graded.changes = outputs.changes(before, graded.results, {})
    return graded


def _merge(dirs: list[Path], out: Path, settings: Settings, partial: bool) -> Graded:
    column = _column(settings)
    runs = [(d, _read_run(d)) for d in dirs]
    counts = {tuple(r["shard"])[1] for _, r in runs}
    if len(counts) > 1:
        raise ValueError("these folders come from runs split differently (" + ", ".join(
            f"{d}: shard {r['shard'][0]}/{r['shard'][1]}" for d, r in runs) + ")")
    classes = {frozenset(r["class"]) for _, r in runs}
    if len(classes) > 1:
        raise ValueError("these folders come from different downloads: their classes differ")
    n = counts.pop()
    given: dict[int, list[Path]] = {}
    for d, r in runs:
        given.setdefault(r["shard"][0], []).append(d)
    twice = {k: ds for k, ds in given.items() if len(ds) > 1}
    missing = [k for k in range(1, n + 1) if k not in given]
    problems = [f"shard {k}/{n} is given twice ({', '.join(map(str, ds))})"
                for k, ds in sorted(twice.items())]
    problems += [f"shard {k}/{n} is missing" for k in missing]
    if problems and not partial:
        raise ValueError("; ".join(problems) + ". Pass every shard's folder once, or --partial "
                         "to merge what is there")
    everyone = runs[0][1]["class"]
    written = set()
    for k in sorted(given):
        d = given[k][0]  # of a duplicated shard, the first folder given
        mine = set(_read_run(d)["graded"])
        for p in store.result_files(d / "results"):
            r = store.read(p)
            if r is not None and r.extra.get("student", {}).get("id") in mine:
                written.add(store.write(out / "results", r.extra["student"]["id"], r))
    store.record_times(out, {sid: t for k in sorted(given)
                             for sid, t in store.read_times(given[k][0]).items()})
    graded = {s for k in given for s in _read_run(given[k][0])["graded"]}
    absent = [sid for sid in everyone if sid not in graded]
    notice = ""
    if problems:
        notice = (f"Partial result: {'; '.join(problems)}; {len(absent)} student"
                  f"{'s' if len(absent) != 1 else ''} not graded.")
    placeholders = [Result(extra={"student": {"id": sid, "name": everyone[sid]}, "missing": True,
                                  "error": "not graded: this student's shard was not merged"})
                    for sid in absent]
    store.atomic(out / RUN_FILE, json.dumps(
        {"grader_version": __version__, "shard": [1, 1] if not problems else None,
         "merged": sorted(given), "of": n, "partial": notice, "class": everyone,
         "graded": sorted(graded)}, indent=1))
    summaries, paths, unfilled = outputs.write_all(out, sorted(written), settings, column,
                                                   missing=placeholders, notice=notice)
    return Graded(summaries, paths, unfilled, notice)


def _read_run(d: Path) -> dict:
    try:
        run = json.loads((Path(d) / RUN_FILE).read_text())
        k, n = run["shard"]
        run["class"], run["graded"]  # noqa: B018 (both must be there)
    except (OSError, ValueError, KeyError, TypeError):
        raise ValueError(f"{d}: no readable {RUN_FILE}, so it is not the output folder of "
                         "`grader batch` (or it was made by an older version): grade it again")
    return run
