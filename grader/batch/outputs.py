"""What a graded class leaves in its output folder: gradebook, report, feedback, summary."""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from ..checking.misconceptions import explain
from ..course.visibility import for_students
from ..platforms import canvas, moodle
from ..report import feedback
from ..report.gradebook import gradebook_csv, has_grade, status
from ..report.html import chunks
from ..report.terminal import one_line, visible
from ..results.model import Result, points
from . import similarity, store


def feedback_files(pages: Path, stem: str, result: Result, settings) -> Result:
    """A student's feedback page and text in `pages`, named `stem`; returns the result's
    summary (what the class-wide outputs need of it)."""
    view = for_students(result, settings.due_date, settings.published)
    title = f"{settings.course.title}: your feedback"
    store.atomic(pages / (stem + ".html"), feedback.page(view, title))
    store.atomic(pages / (stem + ".txt"), feedback.text(view, title))
    return result.summary()


class Arrivals:
    """The results of a run taken as they arrive, each read once: its feedback page and text
    written at once (while the other hand-ins are still being graded), and its summary and
    failure signatures (for similarity.csv) kept; a class's full results are never held."""

    def __init__(self, out: Path, settings):
        self.pages, self.settings = out / "feedback", settings
        self.pages.mkdir(parents=True, exist_ok=True)
        self.summaries: dict[str, Result] = {}    # by results file name
        self.failures: dict[str, dict] = {}       # by student id

    def __call__(self, student_id: str, result: Result) -> None:
        name = store.filename(student_id)
        self.summaries[name] = feedback_files(self.pages, Path(name).stem, result,
                                              self.settings)
        self.failures[student_id] = similarity.failures(result)


def write_all(out: Path, files: list[Path], settings, column: str | None = None,
              missing: list[Result] = (), notice: str = "", pairs=(),
              whole_class: bool = True, arrived: Arrivals | None = None,
              ) -> tuple[list[Result], dict[str, Path], list[str]]:
    """Gradebook, report, feedback pages and platform files from the results files; returns
    the results' summaries, the paths written and notes on what could not be filled in.

    Only summaries stay in memory; each student's full result is read back from its file while
    their feedback is written (unless it was as it `arrived`, see `Arrivals`), so a class of
    any size fits. `pairs` (similarity's, for the report) may be a function that waits for
    them: it is called last."""
    pages = out / "feedback"
    pages.mkdir(parents=True, exist_ok=True)
    summaries, files_of, written = [], {}, set()
    title = settings.course.title
    times = store.read_times(out)
    for path in files:
        if arrived is not None and path.name in arrived.summaries:
            summary = arrived.summaries[path.name]
        else:
            result = store.read(path)
            if result is None:
                continue
            summary = feedback_files(pages, path.stem, result, settings)
        summary.execution_time = times.get(_sid(summary), 0.0)
        written.update((path.stem + ".html", path.stem + ".txt"))
        summaries.append(summary)
        files_of[id(summaries[-1])] = path
    for old in pages.iterdir():  # a page of a student no longer in this class is stale
        if old.name not in written:
            old.unlink()
    summaries += missing
    if whole_class:
        summaries += no_submission(summaries, settings)
    paths = {"gradebook": out / "gradebook.csv", "report": out / "report.html",
             "feedback": pages}
    store.atomic(paths["gradebook"], gradebook_csv(summaries))
    if settings.roster:
        paths["canvas"] = out / "canvas-import.csv"
        scores = {_sid(r): None if not has_grade(r) else r.score
                  for r in summaries}
        points = max((r.max_score for r in summaries), default=None)
        store.atomic(paths["canvas"], canvas.import_csv(settings.roster, scores, column,
                                                        points_possible=points, out_of=points))
    notes = moodle_files(out, summaries, files_of, settings, paths)

    def link(r: Result) -> str | None:
        return f"feedback/{files_of[id(r)].stem}.html" if id(r) in files_of else None

    store.atomic(paths["report"], chunks(summaries, f"{title}: grading report", notice=notice,
                                         link=link, pairs=pairs() if callable(pairs) else pairs))
    return summaries, paths, notes


def no_submission(results: list[Result], settings) -> list[Result]:
    """A result for each student of the roster or worksheet who handed in nothing: no tests
    (blank in every gradebook), or every test failed (0 out of the full maximum) when the
    instructor asks for zeros (`--missing-as-zero`)."""
    if settings.roster:
        listed = canvas.students(settings.roster)
    elif settings.worksheet:
        listed = [(pid, row["name"], {pid}) for pid, row in
                  moodle.worksheet_rows(settings.worksheet).items()]
    else:
        return []
    present = {_sid(r) for r in results}
    template = next((r for r in results if r.tests and not r.extra.get("error")), None)
    out = []
    for sid, name, ids in listed:
        if ids & present:
            continue
        tests = [replace(t, score=0.0, output="", status="failed", extra={})
                 for t in template.tests] if settings.missing_as_zero and template else []
        out.append(Result(tests, "", 0.0, {
            "student": {"id": sid, "name": name,
                        "source": "roster" if settings.roster else "worksheet"},
            "no_submission": True}))
    return out


def class_members(results: list[Result]) -> list[Result]:
    """Who the class mean counts: every student the gradebook gives a grade."""
    return [r for r in results if has_grade(r)]


def percent(r: Result) -> float:
    return 100 * r.score / r.max_score if r.max_score else 0.0


def _sid(r: Result) -> str:
    return str(r.extra.get("student", {}).get("id", ""))


def moodle_files(out: Path, summaries: list[Result], files_of: dict, settings,
                 paths: dict) -> list[str]:
    """For a Moodle class: the feedback zip, and the grading worksheet when one was given."""
    graded = [r for r in summaries if id(r) in files_of]
    ours = [r for r in graded if r.extra.get("student", {}).get("source") == "moodle"]
    if ours:
        paths["moodle_feedback"] = moodle.feedback_zip(out / "moodle-feedback.zip", [
            (_sid(r), r.extra["student"].get("name", ""),
             out / "feedback" / (files_of[id(r)].stem + ".html")) for r in ours])
    if settings.worksheet:
        grades = {}
        for r in graded:  # a short summary in the cell; the page is in the feedback zip
            view = for_students(store.read(files_of[id(r)]) or r, settings.due_date,
                                settings.published)
            grades[_sid(r)] = (r.score, r.max_score, feedback.summary_html(view))
        for r in summaries:
            if r.extra.get("no_submission") and r.tests:  # --missing-as-zero
                grades[_sid(r)] = (0.0, r.max_score, "<p>No submission.</p>")
        text, notes = moodle.fill_worksheet(settings.worksheet, grades)
        paths["moodle_worksheet"] = out / "moodle-grades.csv"
        store.atomic(paths["moodle_worksheet"], text)
        return notes
    return []


@dataclass
class Change:
    """One student whose grade a run changed: before and after as the gradebook shows them."""
    student: str
    name: str
    before: str
    after: str
    why: str


def scores(results_dir: Path) -> dict[str, str]:
    """Each stored result's grade as the gradebook shows it ("8.8/10", "not gradable"), by
    student id: what a run is compared with."""
    out = {}
    for path in store.result_files(results_dir):
        r = store.read(path)
        if r is not None:
            out[_sid(r)] = _grade(r)
    return out


def _grade(r: Result) -> str:
    if not has_grade(r):
        return status(r)
    text = f"{points(r.score)}/{points(r.max_score)}"
    return text + (" (not gradable)" if r.extra.get("error") else "")


def changes(before: dict[str, str], after: list[Result], why: dict[str, str],
            ) -> list[Change] | None:
    """The students whose grade differs from `before` (new ones included), with the reason
    the run gives (`why`, by student id); None when there was nothing before."""
    if not before:
        return None
    out = []
    for r in after:
        sid, now = _sid(r), _grade(r)
        was = before.get(sid, "no submission" if r.extra.get("no_submission") else "\u2014")
        if was != now:
            out.append(Change(sid, str(r.extra.get("student", {}).get("name", "")), was, now,
                              why.get(sid) or ("no submission" if r.extra.get("no_submission")
                                               else "merged" if not why else "")))
    return sorted(out, key=lambda c: (0, int(c.student), "") if c.student.isdigit()
                  else (1, 0, c.student.lower()))


MAX_CHANGES = 60  # rows of the table; the gradebook has every student


def change_table(changes: list[Change] | None, dry_run: bool = False) -> list[str]:
    """The console's table of what a run changed (or, dry, would change), per student; none
    for a first run, which has nothing to compare with."""
    if changes is None:
        return []
    if not changes:
        return ["No grade " + ("would change." if dry_run else "changed.")]
    rows = [("student", "before", "after", "why")] + [
        (one_line(c.student if c.name in ("", c.student) else f"{c.student} {c.name}")[:40],
         c.before, c.after, one_line(c.why))
        for c in changes[:MAX_CHANGES]]
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    head = (f"Would change {_plural(len(changes), 'grade')} (dry run: nothing written):"
            if dry_run else f"Changed {_plural(len(changes), 'grade')}:")
    more = len(changes) - MAX_CHANGES
    return [head] + [f"  {a:<{w[0]}}  {b:>{w[1]}}  {c:>{w[2]}}  {d}" for a, b, c, d in rows] \
        + ([f"  ... and {more} more (the gradebook has every grade)."] if more > 0 else [])


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def summary(graded) -> str:
    """The console's account of a run, in whole sentences."""
    results = graded.results
    missing = [r for r in results if r.extra.get("missing")]
    absent = [r for r in results if r.extra.get("no_submission")]
    done = [r for r in results if not r.extra.get("missing") and r not in absent]
    ok = [r for r in done if not r.extra.get("error")]
    lines = []
    if graded.partial:
        lines.append(f"PARTIAL: {graded.partial}")
    lines.append(f"Graded {_plural(len(ok), 'hand-in')}; {len(done) - len(ok)} could not be "
                 "graded" + (f"; {len(missing)} not in this merge." if missing else "."))
    if absent:
        zero = any(r.tests for r in absent)
        lines.append(f"No submission from {_plural(len(absent), 'student')} on the "
                     f"{absent[0].extra['student']['source']}: "
                     + ("scored 0 (--missing-as-zero)" if zero else
                        "left blank in the gradebooks (--missing-as-zero scores them 0)")
                     + ": " + ", ".join(one_line(f"{_sid(r)} {r.extra['student']['name']}")
                                        for r in absent[:10])
                     + (f" and {len(absent) - 10} more." if len(absent) > 10 else "."))
    lines += [f"{note[0].upper()}{note[1:]}." for note in graded.notes]
    if ok:
        pct = [100 * r.score / r.max_score if r.max_score else 0.0 for r in ok]
        counted = [percent(r) for r in class_members(results)]
        lines.append(f"Class mean {statistics.mean(counted):.1f}% over "
                     f"{_plural(len(counted), 'student')} (hand-ins that could not be graded "
                     f"count 0); over the {len(ok)} graded hand-ins: mean "
                     f"{statistics.mean(pct):.1f}%, median {statistics.median(pct):.1f}% "
                     "(after late penalties).")
    unknown = [r for r in done if (r.extra.get("late") or {}).get("unknown")]
    if unknown:
        lines.append(f"LATENESS UNKNOWN for {_plural(len(unknown), 'hand-in')}: no late penalty "
                     f"was applied to them ({unknown[0].extra['late']['rule'].split('; ', 1)[-1]}"
                     ").")
    inferred = [r for r in done if r.extra.get("late", {}).get("inferred")]
    if inferred:
        days = sorted({r.extra["late"]["days"] for r in inferred})
        lines.append(
            f"{_plural(len(inferred), 'hand-in was', 'hand-ins were')} flagged late by the "
            "platform without a submission time, so the lateness is inferred, not measured: "
            f"charged as {' or '.join(f'{d:g}' for d in days)} day(s) late (--flag-late-days).")
    seen = Counter(m for r in ok for m in r.misconceptions)
    if seen:
        lines.append(f"Misconceptions found ({len(seen)}), by the number of hand-ins showing "
                     "each:")
        for mid, n in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {n:4d}  {mid}: {explain(mid)}")
    else:
        lines.append("No misconception was recognised in any hand-in.")
    noted = [(r.extra["student"].get("id", "?"), r.extra["student"]["note"]) for r in done
             if r.extra.get("student", {}).get("note")]
    if noted:
        lines.append(f"Notes on {_plural(len(noted), 'hand-in')} (unrecognised names, dropped "
                     "versions, students not in the roster):")
        lines += [f"  {one_line(sid)}: {one_line(note)}" for sid, note in noted[:10]]
        if len(noted) > 10:
            lines.append(f"  ... and {len(noted) - 10} more (see the results/ folder).")
    lines += change_table(graded.changes, graded.dry_run)
    labels = {"gradebook": "gradebook", "report": "report", "feedback": "feedback",
              "canvas": "Canvas import", "moodle_worksheet": "Moodle worksheet",
              "moodle_feedback": "Moodle feedback zip"}
    for key, label in labels.items():
        if key in graded.files:
            lines.append(f"{label + ':':<20} {graded.files[key]}")
    return visible("\n".join(lines))  # student ids and notes come from hand-ins' file names
