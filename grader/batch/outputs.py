"""What a graded class leaves in its output folder: gradebook, report, summary."""
from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path

from ..checking.misconceptions import explain
from ..platforms.canvas import import_csv
from ..platforms.gradebook import gradebook_csv
from ..report.html import chunks
from ..report.terminal import one_line, visible
from ..results import Result
from . import store


def write_all(out: Path, files: list[Path], roster: Path | None = None,
              column: str = "Backprop engine") -> tuple[list[Result], dict[str, Path]]:
    """Gradebook and report from the results files; returns the results' summaries.

    Only summaries stay in memory; each student's full feedback is read back from its file
    while the report is written, so a class of any size fits."""
    out.mkdir(parents=True, exist_ok=True)
    summaries, files_of = [], {}
    for path in files:
        result = store.read(path)
        if result is not None:
            summaries.append(result.summary())
            files_of[id(summaries[-1])] = path
    gradebook = out / "gradebook.csv"
    if roster:
        scores = {r.extra.get("student", {}).get("id", ""): r.score for r in summaries}
        points = max((r.max_score for r in summaries), default=None)
        text = import_csv(roster, scores, column, points_possible=points)
    else:
        text = gradebook_csv(summaries)
    _atomic(gradebook, text)
    report = out / "report.html"
    _atomic(report, chunks(summaries, feedback=lambda r: store.read(files_of[id(r)]) or r))
    return summaries, {"gradebook": gradebook, "report": report}


def _atomic(path: Path, text) -> None:
    """Write `text` (a string, or its pieces) so that `path` is never seen half written."""
    tmp = path.with_name(".partial-" + path.name)
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.writelines([text] if isinstance(text, str) else text)
    tmp.replace(path)


def summary(results: list[Result], paths: dict[str, Path]) -> str:
    graded = [r for r in results if not r.extra.get("error")]
    failed = len(results) - len(graded)
    lines = [f"graded {len(graded)} hand-ins, {failed} could not be graded"]
    if graded:
        pct = [100 * r.score / r.max_score if r.max_score else 0.0 for r in graded]
        lines.append(f"mean {statistics.mean(pct):.1f}%, median {statistics.median(pct):.1f}%")
    seen = Counter(m for r in graded for m in r.misconceptions)
    if seen:
        lines.append("top misconceptions:")
        for mid, n in seen.most_common(3):
            lines.append(f"  {n:4d} x {mid}: {explain(mid)[:90]}")
    noted = [(r.extra["student"].get("id", "?"), r.extra["student"]["note"]) for r in results
             if r.extra.get("student", {}).get("note")]
    if noted:
        lines.append(f"notes on {len(noted)} hand-in(s) (unrecognised names, dropped versions):")
        lines += [f"  {one_line(sid)}: {one_line(note)}" for sid, note in noted[:10]]
        if len(noted) > 10:
            lines.append(f"  ... and {len(noted) - 10} more (see the gradebook's results/)")
    lines.append(f"gradebook: {paths['gradebook']}")
    lines.append(f"report:    {paths['report']}")
    return visible("\n".join(lines))  # student ids and notes come from hand-ins' file names
