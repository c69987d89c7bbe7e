"""What a graded class leaves in its output folder: gradebook, report, feedback, summary."""
from __future__ import annotations

import html
import statistics
from collections import Counter
from pathlib import Path

from ..checking.misconceptions import explain
from ..platforms import canvas, moodle
from ..platforms.gradebook import gradebook_csv
from ..report import feedback
from ..report.html import chunks
from ..report.terminal import one_line, visible
from ..results import Result
from ..visibility import for_students
from . import store


def write_all(out: Path, files: list[Path], settings, column: str | None = None,
              missing: list[Result] = (), notice: str = "", pairs: list = (),
              ) -> tuple[list[Result], dict[str, Path], list[str]]:
    """Gradebook, report, feedback pages and platform files from the results files; returns
    the results' summaries, the paths written and notes on what could not be filled in.

    Only summaries stay in memory; each student's full result is read back from its file while
    their feedback and the report are written, so a class of any size fits."""
    out.mkdir(parents=True, exist_ok=True)
    pages = out / "feedback"
    pages.mkdir(exist_ok=True)
    summaries, files_of, written = [], {}, set()
    title = settings.course.title
    for path in files:
        result = store.read(path)
        if result is None:
            continue
        view = for_students(result, settings.due_date, settings.published)
        for suffix, text in ((".html", feedback.page(view, f"{title}: your feedback")),
                             (".txt", feedback.text(view, f"{title}: your feedback"))):
            atomic(pages / (path.stem + suffix), text)
            written.add(path.stem + suffix)
        summaries.append(result.summary())
        files_of[id(summaries[-1])] = path
    for old in pages.iterdir():  # a page of a student no longer in this class is stale
        if old.name not in written:
            old.unlink()
    summaries += missing
    paths = {"gradebook": out / "gradebook.csv", "report": out / "report.html",
             "feedback": pages}
    atomic(paths["gradebook"], gradebook_csv(summaries))
    if settings.roster:
        paths["canvas"] = out / "canvas-import.csv"
        scores = {_sid(r): None if r.extra.get("missing") else r.score for r in summaries}
        points = max((r.max_score for r in summaries), default=None)
        atomic(paths["canvas"], canvas.import_csv(settings.roster, scores, column,
                                                  points_possible=points, out_of=points))
    notes = moodle_files(out, summaries, files_of, settings, paths)

    def full(r: Result) -> Result:
        return (store.read(files_of[id(r)]) or r) if id(r) in files_of else r

    atomic(paths["report"], chunks(summaries, f"{title}: grading report", feedback=full,
                                   notice=notice, pairs=pairs))
    return summaries, paths, notes


def _sid(r: Result) -> str:
    return str(r.extra.get("student", {}).get("id", ""))


def moodle_files(out: Path, summaries: list[Result], files_of: dict, settings,
                 paths: dict) -> list[str]:
    """For a Moodle class: the feedback zip, and the grading worksheet when one was given."""
    graded = [r for r in summaries if not r.extra.get("missing")]
    ours = [r for r in graded if r.extra.get("student", {}).get("source") == "moodle"]
    if ours:
        paths["moodle_feedback"] = moodle.feedback_zip(out / "moodle-feedback.zip", [
            (_sid(r), r.extra["student"].get("name", ""),
             out / "feedback" / (files_of[id(r)].stem + ".html")) for r in ours])
    if settings.worksheet:
        grades = {}
        for r in graded:
            text = (out / "feedback" / (files_of[id(r)].stem + ".txt")).read_text()
            grades[_sid(r)] = (r.score, r.max_score, f"<pre>{html.escape(text)}</pre>")
        text, notes = moodle.fill_worksheet(settings.worksheet, grades)
        paths["moodle_worksheet"] = out / "moodle-grades.csv"
        atomic(paths["moodle_worksheet"], text)
        return notes
    return []


def atomic(path: Path, text) -> None:
    """Write `text` (a string, or its pieces) so that `path` is never seen half written."""
    tmp = path.with_name(".partial-" + path.name)
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.writelines([text] if isinstance(text, str) else text)
    tmp.replace(path)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def summary(graded) -> str:
    """The console's account of a run, in whole sentences."""
    results = graded.results
    missing = [r for r in results if r.extra.get("missing")]
    done = [r for r in results if not r.extra.get("missing")]
    ok = [r for r in done if not r.extra.get("error")]
    lines = []
    if graded.partial:
        lines.append(f"PARTIAL: {graded.partial}")
    lines.append(f"Graded {_plural(len(ok), 'hand-in')}; {len(done) - len(ok)} could not be "
                 "graded" + (f"; {len(missing)} not in this merge." if missing else "."))
    lines += [f"{note[0].upper()}{note[1:]}." for note in graded.notes]
    if ok:
        pct = [100 * r.score / r.max_score if r.max_score else 0.0 for r in ok]
        lines.append(f"Mean score {statistics.mean(pct):.1f}%, median "
                     f"{statistics.median(pct):.1f}% (after late penalties).")
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
    labels = {"gradebook": "gradebook", "report": "report", "feedback": "feedback",
              "canvas": "Canvas import", "moodle_worksheet": "Moodle worksheet",
              "moodle_feedback": "Moodle feedback zip"}
    for key, label in labels.items():
        if key in graded.files:
            lines.append(f"{label + ':':<20} {graded.files[key]}")
    return visible("\n".join(lines))  # student ids and notes come from hand-ins' file names
