"""What a graded class leaves in its output folder: gradebook, report, summary."""
from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path

from ..checking.misconceptions import explain
from ..platforms.canvas import import_csv
from ..platforms.gradebook import gradebook_csv
from ..report.html import render
from ..results import Result


def write_all(out: Path, results: list[Result], roster: Path | None = None,
              column: str = "Backprop engine") -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    gradebook = out / "gradebook.csv"
    if roster:
        scores = {r.extra.get("student", {}).get("id", ""): r.score for r in results}
        points = max((r.max_score for r in results), default=None)
        text = import_csv(roster, scores, column, points_possible=points)
    else:
        text = gradebook_csv(results)
    _atomic(gradebook, text)
    report = out / "report.html"
    _atomic(report, render(results))
    return {"gradebook": gradebook, "report": report}


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(".partial-" + path.name)
    tmp.write_text(text, encoding="utf-8", newline="")
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
        lines += [f"  {sid}: {note}" for sid, note in noted[:10]]
        if len(noted) > 10:
            lines.append(f"  ... and {len(noted) - 10} more (see the gradebook's results/)")
    lines.append(f"gradebook: {paths['gradebook']}")
    lines.append(f"report:    {paths['report']}")
    return "\n".join(lines)
