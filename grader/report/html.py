"""One self-contained HTML page summarising a batch of graded hand-ins, for the instructor.

No network fetches of any kind: CSS and the one tiny script are inline, the histogram and the
computation graphs are inline SVG, fonts are the system's. Every string that came from a
hand-in or a results file is escaped (`svg.esc`); a student's feedback opens in `<details>`.
"""
from __future__ import annotations

import math
import statistics

from grader.checking.misconceptions import explain
from grader.results import Result, TestResult
from grader.report.feedback import clip, test_html
from grader.report.svg import esc, fmt, histogram, num

MAX_GRAPHS = 3      # failed graphs drawn per student


def _d(x) -> dict:
    return x if isinstance(x, dict) else {}


def _student(r: Result, i: int) -> tuple[str, str]:
    s = _d(_d(r.extra).get("student"))
    sid = s.get("id")
    name = s.get("name")
    return (str(sid) if sid not in (None, "") else f"#{i + 1}",
            str(name) if name not in (None, "") else "")


def _error(r: Result) -> str:
    e = _d(r.extra).get("error")
    return str(e) if e not in (None, "", False) else ""


def _late(r: Result) -> dict:
    late = _d(_d(r.extra).get("late"))
    return late if late.get("late") else {}


def _safe(f, default=0.0) -> float:
    try:
        v = float(f())
    except Exception:
        return default
    return v if math.isfinite(v) else default


def _percent(r: Result) -> float:
    mx = _safe(lambda: r.max_score)
    return 100.0 * _safe(lambda: r.score) / mx if mx > 0 else 0.0


def _time(r: Result) -> float:
    t = num(r.execution_time)
    return t if t is not None and math.isfinite(t) else 0.0


def _misconceptions(r: Result) -> list[str]:
    try:
        return [str(m) for m in r.misconceptions]
    except Exception:
        return []


def _pbar(frac: float, cls: str = "") -> str:
    frac = min(1.0, max(0.0, frac))
    return (f'<span class="pbar {cls}"><span style="width:{100 * frac:.1f}%"></span></span>')


def _mtags(ids: list[str]) -> str:
    return "".join(f'<span class="tag" title="{esc(explain(m))}">{esc(m)}</span>' for m in ids)


# --------------------------------------------------------------------------- sections

def _header(results, graded, title) -> str:
    pcts = [_percent(r) for r in graded]
    scores = [_safe(lambda r=r: r.score) for r in graded]
    maxes = {_safe(lambda r=r: r.max_score) for r in graded}
    common = maxes.pop() if len(maxes) == 1 else None

    def stat(label, vals, pvals):
        if not pvals:
            return f'<div class="stat"><div class="v">\u2014</div><div class="k">{label}</div></div>'
        p = f"{fmt(pvals, 3)}%"
        sub = f'<div class="s">{fmt(vals, 3)} / {fmt(common, 4)} pts</div>' if common else ""
        return f'<div class="stat"><div class="v">{p}</div>{sub}<div class="k">{label}</div></div>'

    failed = len(results) - len(graded)
    cards = [
        f'<div class="stat"><div class="v">{len(graded)}</div><div class="k">graded</div></div>',
        f'<div class="stat{" warn" if failed else ""}"><div class="v">{failed}</div>'
        f'<div class="k">failed to grade</div></div>',
        stat("mean", statistics.fmean(scores) if scores else 0,
             statistics.fmean(pcts) if pcts else None),
        stat("median", statistics.median(scores) if scores else 0,
             statistics.median(pcts) if pcts else None),
        stat("max", max(scores) if scores else 0, max(pcts) if pcts else None),
    ]
    note = ("Mean, median, max and the histogram are over graded hand-ins, after late "
            "penalties.")
    return (f"<header><h1>{esc(title)}</h1><p class=\"meta\">{len(results)} hand-ins. {note}</p>"
            f'<div class="stats">{"".join(cards)}</div></header>')


def _hist(graded) -> str:
    counts = [0] * 10
    for r in graded:
        counts[min(9, max(0, int(_percent(r) // 10)))] += 1
    cap = f"Score distribution of {len(graded)} graded hand-ins"
    return f'<div><h2>Score distribution</h2>{histogram(counts, cap)}</div>'


def _tests(graded) -> str:
    stats: dict[str, list[int]] = {}
    for r in graded:
        for t in r.tests:
            s = stats.setdefault(str(t.name), [0, 0])
            s[1] += 1
            s[0] += _status(t) == "passed"
    if not stats:
        return '<div><h2>Tests</h2><p class="muted">No test results.</p></div>'
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td class=\"num\">{p}/{n}</td>"
        f"<td>{_pbar(p / n if n else 0, 'ok' if p == n else '')}</td></tr>"
        for name, (p, n) in stats.items()
    )
    return ("<div><h2>Tests</h2><table class=\"tests\"><thead><tr><th>test</th>"
            f"<th class=\"num\">passed</th><th>pass rate</th></tr></thead><tbody>{rows}"
            "</tbody></table></div>")


def _miscs(graded) -> str:
    count: dict[str, int] = {}
    for r in graded:
        for m in _misconceptions(r):
            count[m] = count.get(m, 0) + 1
    if not count:
        body = "<p class=\"muted\">No misconception was recognised in any hand-in.</p>"
    else:
        n = len(graded)
        rows = "".join(
            f"<tr><td><span class=\"tag\">{esc(m)}</span></td><td class=\"num\">{c}</td>"
            f"<td>{_pbar(c / n if n else 0, 'bad')}</td><td>{esc(explain(m))}</td></tr>"
            for m, c in sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        body = ("<table class=\"miscs\"><thead><tr><th>misconception</th><th class=\"num\">"
                f"students</th><th></th><th>what it means</th></tr></thead><tbody>{rows}"
                "</tbody></table>")
    return f"<section><h2>Misconceptions</h2>{body}</section>"


def _attention(results, idx) -> str:
    slow = sorted(results, key=_time, reverse=True)[:5]
    slow_rows = "".join(
        f"<tr><td><a href=\"#s{idx[id(r)]}\">{esc(_student(r, idx[id(r)])[0])}</a></td>"
        f"<td>{esc(_student(r, idx[id(r)])[1])}</td><td class=\"num\">{fmt(_time(r), 3)} s</td></tr>"
        for r in slow
    )
    failing = [r for r in results if _error(r) or _safe(lambda r=r: r.score) <= 0]
    fail_rows = "".join(
        f"<tr><td><a href=\"#s{idx[id(r)]}\">{esc(_student(r, idx[id(r)])[0])}</a></td>"
        f"<td>{esc(_student(r, idx[id(r)])[1])}</td>"
        f"<td>{esc(_error(r) or 'score 0')}</td></tr>"
        for r in failing
    ) or "<tr><td colspan=\"3\" class=\"muted\">None.</td></tr>"
    return (
        "<section class=\"two\"><div><h2>Slowest hand-ins</h2><table><thead><tr><th>id</th>"
        f"<th>name</th><th class=\"num\">time</th></tr></thead><tbody>{slow_rows}</tbody></table>"
        "</div><div><h2>Failing hand-ins</h2><table><thead><tr><th>id</th><th>name</th>"
        f"<th>reason</th></tr></thead><tbody>{fail_rows}</tbody></table></div></section>"
    )


TOP_PAIRS = 10


def _pairs(pairs, results, idx) -> str:
    """The most similar pairs of hand-ins (similarity.csv has them all): a pointer, no verdict."""
    if not pairs:
        return ""
    anchor = {_student(r, idx[id(r)])[0]: idx[id(r)] for r in results}

    def who(sid):
        return (f'<a href="#s{anchor[sid]}">{esc(sid)}</a>' if sid in anchor else esc(sid))
    rows = "".join(
        f"<tr><td>{who(p.a)}</td><td>{who(p.b)}</td><td class=\"num\">{p.similarity:.2f}</td>"
        f"<td class=\"num\">{p.code:.2f}</td><td class=\"num\">{p.failures:.2f}</td>"
        f"<td>{esc('; '.join(p.failed_alike[:3]) + (' ...' if len(p.failed_alike) > 3 else ''))}"
        f"</td><td><code>{esc(p.excerpt)}</code></td></tr>" for p in pairs[:TOP_PAIRS])
    return ("<section><h2>Similar hand-ins</h2><p class=\"muted\">The pairs that share most of "
            "what the rest of the class does not: code beyond the handed-out skeleton and the "
            "lecture (wrong code weighs more than the known right answer) and the same rare "
            "failures. A pointer for a human to compare the two, never a verdict: "
            "similarity.csv lists every pair.</p><table><thead><tr><th>student</th>"
            "<th>student</th><th class=\"num\">similarity</th><th class=\"num\">code</th>"
            "<th class=\"num\">failures</th><th>failed alike</th><th>longest shared code</th>"
            f"</tr></thead><tbody>{rows}</tbody></table></section>")


def _status(t: TestResult) -> str:
    try:
        return t.status
    except Exception:
        return "failed"


def _output(text) -> str:
    return f"<pre>{esc(clip(text))}</pre>" if text else ""


def _student_row(r: Result, i: int) -> str:
    sid, name = _student(r, i)
    err = _error(r)
    late = _late(r)
    pct = _percent(r)
    ms = _misconceptions(r)
    if err:
        score = "<span class=\"badge error\">not graded</span>"
        pcell = ""
    else:
        score = f"{fmt(_safe(lambda: r.score), 4)} / {fmt(_safe(lambda: r.max_score), 4)}"
        pcell = f"{fmt(pct, 3)}%"
    late_txt = ""
    if late:
        days = num(late.get("days"))
        pen = num(late.get("penalty"))
        late_txt = ("late" + (" (inferred)" if late.get("inferred") else "")
                    + (f" {fmt(days, 2)} d" if days is not None else "")
                    + (f", \u2212{fmt(100 * pen, 3)}%" if pen else ""))
    tip = f' title="{esc(late.get("rule", ""))}"' if late else ""
    late_html = f'<span class="badge-late"{tip}>{esc(late_txt)}</span>' if late else ""
    summary = (
        f'<summary><span class="c-id" title="{esc(sid)}">{esc(sid)}</span>'
        f'<span class="c-name" title="{esc(name)}">{esc(name)}</span>'
        f'<span class="c-score num">{score}</span><span class="c-pct">'
        f'{_pbar(pct / 100, "ok" if pct >= 99.9999 else "") if not err else ""}'
        f'<span class="num">{pcell}</span></span>'
        f'<span class="c-late">{late_html}</span>'
        f'<span class="c-misc">{_mtags(ms)}</span></summary>'
    )
    facts = []
    if err:
        facts.append(f"<p class=\"error\"><strong>Could not be graded:</strong> {esc(err)}</p>")
    info = [f"execution time {fmt(_time(r), 3)} s"]
    sandbox = _d(r.extra).get("sandbox")  # {"level": ..., "layers": ...}; a name in old results
    level = sandbox.get("level") if isinstance(sandbox, dict) else sandbox
    if level:
        info.append(f"isolation {esc(level)}")
    if late:
        info.append(esc(late_txt if not late.get("inferred") else late.get("rule", late_txt)))
    facts.append('<p class="muted">' + " \u00b7 ".join(info) + "</p>")
    if r.output:
        facts.append('<p class="sub">Output of the whole run</p>' + _output(r.output))
    # A few drawings per student (their first failed graphs) keep a class's page light.
    drawn = [t for t in r.tests if _status(t) != "passed" and _d(t.extra).get("graph")]
    drawn = {id(t) for t in drawn[:MAX_GRAPHS]}
    tests = "".join(test_html(t, id(t) in drawn) for t in r.tests)
    return (f'<details class="student" id="s{i}">{summary}<div class="feedback">'
            f"{''.join(facts)}{tests}</div></details>")


def _students(results, feedback):
    """The roster, one student's row at a time (each read through `feedback`)."""
    order = sorted(range(len(results)),
                   key=lambda i: (_student(results[i], i)[1].casefold(),
                                  _student(results[i], i)[0].casefold(), i))
    yield (
        "<section><h2>Students</h2><p class=\"tools\"><button type=\"button\" id=\"openall\">"
        "Expand all</button> <button type=\"button\" id=\"closeall\">Collapse all</button></p>"
        '<div class="roster"><div class="rhead"><span>id</span><span>name</span>'
        '<span class="num">score</span><span>percent</span><span>late</span>'
        "<span>misconceptions</span></div>"
    )
    for i in order:
        yield _student_row(feedback(results[i]), i)
    yield "</div></section>"


# --------------------------------------------------------------------------- page

CSS = """
:root{--fg:#1d2430;--muted:#5f6b7a;--line:#dde2e8;--bg:#f6f7f9;--card:#fff;--accent:#2f6fb3;
--ok:#2e8b57;--bad:#c0392b;--warn:#b7791f}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:16px;margin:0 0 12px;color:#2b3442}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;
margin:16px 0}
section.two{display:grid;grid-template-columns:1fr 1fr;gap:28px}
section.two>div{min-width:0}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.sub{font-size:12px;color:var(--muted);margin:8px 0 0;font-weight:600}
svg.hist{max-width:100%;height:auto}
.meta,.muted{color:var(--muted)}
.stats{display:flex;gap:12px;flex-wrap:wrap;margin-top:12px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;
min-width:140px}
.stat .v{font-size:22px;font-weight:600}.stat .s{color:var(--muted);font-size:12px}
.stat .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.stat.warn .v{color:var(--bad)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pbar{display:inline-block;width:110px;flex:0 0 auto;height:8px;background:#e8ecf1;border-radius:4px;
overflow:hidden;vertical-align:middle}
.pbar>span{display:block;height:100%;background:var(--accent)}
.pbar.ok>span{background:var(--ok)}.pbar.bad>span{background:var(--bad)}
.tag{display:inline-block;white-space:nowrap;font:12px/1.6 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
background:#fdecea;color:#8e2a20;border-radius:4px;padding:0 6px;margin:1px 4px 1px 0}
svg.hist .bar{fill:var(--accent)}svg.hist .grid{stroke:#eef1f4}
svg.hist .axis{stroke:#8a95a3}svg.hist text{font-size:12px;fill:var(--fg)}
svg.hist .tick{fill:var(--muted);font-size:11px}svg.hist .count{font-weight:600}
svg.hist .label{fill:var(--muted);font-size:12px}
.tools{margin:0 0 8px}
button{font:inherit;font-size:12px;padding:3px 10px;border:1px solid var(--line);border-radius:4px;
background:#fff;cursor:pointer}
.rhead,summary{display:grid;grid-template-columns:110px 1.3fr 90px 190px 130px 2fr;gap:10px;
align-items:center;padding:6px 8px}
.rhead{font-size:12px;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line)}
details.student{border-bottom:1px solid var(--line)}
summary{cursor:pointer;list-style:none}summary::-webkit-details-marker{display:none}
summary:hover{background:#f3f6fa}details[open]>summary{background:#eef3f9}
.c-id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow:hidden;
text-overflow:ellipsis;white-space:nowrap}
.c-id::before{content:"\\25B8";display:inline-block;width:14px;color:var(--muted)}
details[open] .c-id::before{content:"\\25BE"}
.c-name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.c-pct{display:flex;gap:8px;align-items:center}.c-pct .num{min-width:52px}
.badge-late{color:var(--warn);font-size:12px;font-weight:600}
.feedback{padding:8px 12px 16px 24px}
.badge{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;
border-radius:4px;padding:1px 6px;letter-spacing:.03em}
.badge.passed{background:#e3f4ea;color:#1e6b41}.badge.failed{background:#fdecea;color:#8e2a20}
.badge.error{background:#fdecea;color:#8e2a20}
.test{border:1px solid var(--line);border-left:4px solid var(--ok);border-radius:6px;
padding:8px 12px;margin:8px 0;background:#fff}
.test.failed{border-left-color:var(--bad)}
.thead{display:flex;gap:10px;align-items:center}.tname{flex:1;font-weight:600}
pre{background:#f4f6f8;border:1px solid #e6e9ed;border-radius:4px;padding:8px 10px;margin:6px 0;
white-space:pre-wrap;word-break:break-word;max-height:320px;overflow:auto;
font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.explain{margin:6px 0}.error{color:var(--bad)}
.notice{background:#fdecea;color:#8e2a20;border:1px solid var(--bad);border-radius:8px;
padding:10px 16px;font-weight:600}
table.grads{width:auto;margin:6px 0}.grads tr.differs td{color:var(--bad);font-weight:600}
.graphbox{margin-top:8px}.scroll{overflow-x:auto}
.graphrow{display:flex;gap:16px;align-items:flex-start}
pre.program{flex:0 0 auto;min-width:170px;margin:0}
svg.graph .node rect{fill:#f8fafc;stroke:#7b8794;stroke-width:1.2}
svg.graph .node.root rect{stroke:#1d2430;stroke-width:2}
svg.graph .node.bad rect{fill:#fdf1f0;stroke:var(--bad)}
svg.graph .edge{fill:none;stroke:#9aa5b1;stroke-width:1.3}
svg.graph .arrowhead{fill:#9aa5b1}
svg.graph text{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;fill:var(--fg)}
svg.graph .nlabel{font-weight:700}svg.graph .ndata,svg.graph .gexp{fill:var(--muted)}
svg.graph .mis{fill:var(--bad);font-weight:700}
.legend{font-size:12px;color:var(--muted);margin:4px 0 0}.mis{color:var(--bad);font-weight:700}
@media print{section{break-inside:avoid}.tools{display:none}}
"""

JS = """
(function(){
  function all(open){
    var ds=document.querySelectorAll('details.student');
    for(var i=0;i<ds.length;i++){ds[i].open=open;}
  }
  document.getElementById('openall').addEventListener('click',function(){all(true);});
  document.getElementById('closeall').addEventListener('click',function(){all(false);});
})();
"""


def render(results: list[Result], title: str = "Autodiff assignment: grading report",
           feedback=None, notice: str = "") -> str:
    """The whole report as one HTML document (a string), with no external resources."""
    return "".join(chunks(results, title, feedback, notice))


def chunks(results: list[Result], title: str = "Autodiff assignment: grading report",
           feedback=None, notice: str = "", pairs=()):
    """The report piece by piece, to write a large class's page without holding it whole.

    `feedback(result)` gives the full result for a student's row when `results` hold only
    summaries (`Result.summary()`), so a whole class never has to be in memory at once."""
    results = list(results)
    graded = [r for r in results if not _error(r)]
    idx = {id(r): i for i, r in enumerate(results)}
    yield (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
    )
    if notice:
        yield f'<p class="notice">{esc(notice)}</p>'
    yield _header(results, graded, title)
    yield "".join(['<section class="two">', _hist(graded), _tests(graded), "</section>"])
    yield _miscs(graded)
    yield _attention(results, idx)
    yield _pairs(pairs, results, idx)
    yield from _students(results, feedback or (lambda r: r))
    yield f"</main><script>{JS}</script></body></html>\n"
