"""One self-contained HTML page summarising a batch of graded hand-ins, for the instructor.

In the order an instructor reads it, one function per section: the overview (the class mean
counting every student the gradebook grades, the mean over graded hand-ins beside it), the
score distribution, the misconceptions, the students (sortable by name, score or
misconception; what went wrong folded under each row, with a link to their own page, where
their graphs are drawn), the tests, the slowest hand-ins. Rendered from summaries
(`Result.summary()`), so a class of 200 is about 0.2 MB.

No network fetches of any kind: CSS and the one tiny script are inline, the histogram is inline
SVG, fonts are the system's. Every string that came from a hand-in or a results file is
escaped (`svg.esc`).
"""
from __future__ import annotations

import math
import statistics

from grader.checking.misconceptions import explain
from grader.report.feedback import inline
from grader.report.gradebook import has_grade, status
from grader.report.svg import esc, fmt, histogram, num
from grader.results.model import Result, TestResult, points


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
# Each section is a function of the results that returns its HTML; `chunks` lays them out in
# the order an instructor reads: the class, the misconceptions, the students, the tests.

def _card(value: str, label: str, sub: str = "", cls: str = "") -> str:
    sub = f'<div class="s">{sub}</div>' if sub else ""
    return (f'<div class="stat {cls}"><div class="v">{value}</div>{sub}'
            f'<div class="k">{label}</div></div>')


def _mean(results) -> tuple[float, float] | None:
    """(mean percent, mean points) of `results`, None for none."""
    if not results:
        return None
    return (statistics.fmean(_percent(r) for r in results),
            statistics.fmean(_safe(lambda r=r: r.score) for r in results))


def _overview(results, title) -> str:
    """The numbers an instructor came for: the class mean counting every student the
    gradebook grades, the mean over graded hand-ins beside it, and who is not in either."""
    counted = [r for r in results if has_grade(r)]
    graded = [r for r in results if has_grade(r) and not _error(r)]
    ungradable = [r for r in counted if _error(r)]
    absent = [r for r in results if _d(r.extra).get("no_submission")]
    unknown = [r for r in results if _d(_d(r.extra).get("late")).get("unknown")]
    maxes = {_safe(lambda r=r: r.max_score) for r in graded}
    common = maxes.pop() if len(maxes) == 1 else None

    def mean_card(rs, label):
        m = _mean(rs)
        if m is None:
            return _card("\u2014", label)
        sub = f"{points(m[1])} / {points(common)} pts" if common else ""
        return _card(f"{m[0]:.1f}%", label, sub)

    cards = [
        mean_card(counted, f"class mean ({len(counted)} students)"),
        mean_card(graded, f"mean of {len(graded)} graded hand-ins"),
        _card(f"{statistics.median(_percent(r) for r in counted):.1f}%" if counted
              else "\u2014", "class median"),
        _card(str(len(ungradable)), "could not be graded", cls="warn" if ungradable else ""),
    ]
    if absent:
        cards.append(_card(str(len(absent)), "no submission", cls="warn"))
    if unknown:
        cards.append(_card(str(len(unknown)), "lateness unknown", cls="warn"))
    zero = any(r.tests for r in absent)
    note = [f"{len(results)} students. Scores are after late penalties. The class mean "
            "counts every student the gradebook grades: a hand-in that could not be graded "
            "counts 0"
            + (", and so does a missing one (--missing-as-zero)." if zero else
               (f"; the {len(absent)} without a submission are left out (their grade is "
                "blank)." if absent else "."))]
    if unknown:
        note.append(f"Lateness unknown for {len(unknown)} hand-in"
                    f"{'s' if len(unknown) != 1 else ''}: no late penalty was applied to "
                    f"{'them' if len(unknown) != 1 else 'it'} "
                    f"({esc(_d(unknown[0].extra['late']).get('rule', ''))}).")
    return (f"<header><h1>{esc(title)}</h1><p class=\"meta\">{' '.join(note)}</p>"
            f'<div class="stats">{"".join(cards)}</div></header>')


def _distribution(results) -> str:
    counted = [r for r in results if has_grade(r)]
    counts = [0] * 10
    for r in counted:
        counts[min(9, max(0, int(_percent(r) // 10)))] += 1
    cap = f"Scores of the {len(counted)} students the class mean counts"
    return f'<section id="distribution"><h2>Score distribution</h2>{histogram(counts, cap)}' \
           "</section>"


def _misconceptions_section(results) -> str:
    graded = [r for r in results if has_grade(r) and not _error(r)]
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
            f"<td class=\"bar\">{_pbar(c / n if n else 0, 'bad')}</td><td>{inline(explain(m))}</td>"
            "</tr>"
            for m, c in sorted(count.items(), key=lambda kv: (-kv[1], kv[0])))
        body = ("<div class=\"wide\"><table class=\"miscs\"><thead><tr><th>misconception</th>"
                "<th class=\"num\">students</th><th class=\"bar\"></th><th>what it means</th>"
                f"</tr></thead><tbody>{rows}</tbody></table></div>")
    return f'<section id="misconceptions"><h2>Misconceptions</h2>{body}</section>'


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


def _late_text(r: Result) -> tuple[str, str]:
    """(what the late cell says, the rule behind it)."""
    late = _d(_d(r.extra).get("late"))
    if late.get("unknown"):
        return "lateness unknown", str(late.get("rule", ""))
    if not late.get("late"):
        return "", ""
    days, pen = num(late.get("days")), num(late.get("penalty"))
    text = ("late" + (" (inferred)" if late.get("inferred") else "")
            + (f" {fmt(days, 2)} d" if days is not None else "")
            + (f", \u2212{fmt(100 * pen, 3)}%" if pen else ""))
    return text, str(late.get("rule", ""))


def _student_row(r: Result, i: int, link) -> str:
    """One student: the row an instructor scans, and what went wrong folded under it."""
    sid, name = _student(r, i)
    st = status(r)
    ms = _misconceptions(r)
    pct = _percent(r)
    if has_grade(r):
        score = f"{points(_safe(lambda: r.score))} / {points(_safe(lambda: r.max_score))}"
        pcell = f"{_pbar(pct / 100, 'ok' if pct >= 99.995 else '')}<span>{pct:.1f}%</span>"
        key = f"{pct:.4f}"
    else:
        score, pcell, key = "\u2014", "", "-1"
    late, rule = _late_text(r)
    late_html = (f'<span class="late{" unknown" if "unknown" in late else ""}" '
                 f'title="{esc(rule)}">{esc(late)}</span>') if late else ""
    failed = [t for t in r.tests if _status(t) != "passed"]
    more = []
    if _error(r):
        more.append(f'<p class="error">{esc(_error(r))}</p>')
    elif failed and st == "graded":
        more.append(f"<p>Failed {len(failed)} of {len(r.tests)}: "
                    + ", ".join(esc(t.name) for t in failed) + "</p>")
    if not _d(r.extra).get("no_submission"):
        sandbox = _d(r.extra).get("sandbox")  # {"level", "layers"}; a name in old results
        level = sandbox.get("level") if isinstance(sandbox, dict) else sandbox
        more.append(f'<p class="muted">execution time {fmt(_time(r), 3)} s'
                    + (f" \u00b7 isolation {esc(level)}" if level else "")
                    + (f" \u00b7 {esc(rule)}" if late else "") + "</p>")
    href = link(r) if link else None
    if href:
        more.append(f'<p><a href="{esc(href)}">feedback page</a> (graphs and gradients)</p>')
    details = (f"<details><summary>{esc(st)}</summary>{''.join(more)}</details>" if more
               else esc(st))
    return (f'<tr id="s{i}" data-score="{key}" data-misc="{esc(" ".join(ms) or "~")}" '
            f'data-name="{esc(name.casefold() or sid.casefold())}" data-id="{esc(sid)}">'
            f'<td class="c-id">{esc(sid)}</td><td class="c-name">{esc(name)}</td>'
            f'<td class="num c-score">{score}</td><td class="c-pct">{pcell}</td>'
            f'<td class="c-late">{late_html}</td><td class="c-misc">{_mtags(ms)}</td>'
            f'<td class="c-status st-{st.replace(" ", "-")}">{details}</td></tr>')


def _students(results, link=None):
    """Every student, sortable by name, score or misconception (the inline script), one row
    at a time; their pictures are on their own feedback pages."""
    order = sorted(range(len(results)),
                   key=lambda i: (_student(results[i], i)[1].casefold(),
                                  _student(results[i], i)[0].casefold(), i))
    yield (
        '<section id="students"><h2>Students</h2><p class="tools">Sort by '
        '<button type="button" data-sort="name">name</button> '
        '<button type="button" data-sort="score">score</button> '
        '<button type="button" data-sort="misc">misconception</button></p>'
        '<table class="students"><thead><tr><th>id</th><th>name</th>'
        '<th class="num">score</th><th>percent</th><th>late</th><th>misconceptions</th>'
        "<th>status</th></tr></thead><tbody>"
    )
    for i in order:
        yield _student_row(results[i], i, link)
    yield "</tbody></table></section>"


def _tests(results) -> str:
    stats: dict[str, list[int]] = {}
    for r in results:
        if not has_grade(r) or _error(r):
            continue
        for t in r.tests:
            s = stats.setdefault(str(t.name), [0, 0])
            s[1] += 1
            s[0] += _status(t) == "passed"
    if not stats:
        return '<section id="tests"><h2>Tests</h2><p class="muted">No test results.</p></section>'
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td class=\"num\">{p}/{n}</td>"
        f"<td class=\"bar\">{_pbar(p / n if n else 0, 'ok' if p == n else '')}</td></tr>"
        for name, (p, n) in stats.items()
    )
    return ("<section id=\"tests\"><h2>Tests</h2><table class=\"tests\"><thead><tr><th>test</th>"
            f"<th class=\"num\">passed</th><th class=\"bar\">pass rate</th></tr></thead><tbody>{rows}"
            "</tbody></table></section>")


def _slowest(results) -> str:
    slow = sorted(range(len(results)), key=lambda i: _time(results[i]), reverse=True)[:5]
    rows = "".join(
        f"<tr><td><a href=\"#s{i}\">{esc(_student(results[i], i)[0])}</a></td>"
        f"<td>{esc(_student(results[i], i)[1])}</td>"
        f"<td class=\"num\">{fmt(_time(results[i]), 3)} s</td></tr>" for i in slow
        if not _d(results[i].extra).get("no_submission"))
    return ("<section id=\"slowest\"><h2>Slowest hand-ins</h2><table><thead><tr><th>id</th>"
            f"<th>name</th><th class=\"num\">time</th></tr></thead><tbody>{rows}</tbody></table>"
            "</section>")


# --------------------------------------------------------------------------- page

CSS = """
:root{--fg:#1d2430;--muted:#5f6b7a;--line:#dde2e8;--bg:#f6f7f9;--card:#fff;--accent:#2f6fb3;
--ok:#2e8b57;--bad:#c0392b;--warn:#b7791f}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);overflow-wrap:anywhere;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:20px 16px 48px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:16px;margin:0 0 12px;color:#2b3442}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;
margin:16px 0;min-width:0}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
code,.tag,.c-id{font:12px/1.6 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
code{background:#eef1f4;border-radius:3px;padding:0 4px}
svg.hist{display:block;max-width:100%;height:auto}
.meta,.muted{color:var(--muted)}.meta{max-width:72em}
.stats{display:flex;gap:12px;flex-wrap:wrap;margin-top:12px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;
flex:1 1 150px;max-width:260px}
.stat .v{font-size:22px;font-weight:600}.stat .s{color:var(--muted);font-size:12px}
.stat .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.stat.warn .v{color:var(--bad)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pbar{display:inline-block;width:90px;max-width:100%;height:8px;background:#e8ecf1;
border-radius:4px;overflow:hidden;vertical-align:middle;margin-right:6px}
.pbar>span{display:block;height:100%;background:var(--accent)}
.pbar.ok>span{background:var(--ok)}.pbar.bad>span{background:var(--bad)}
.tag{display:inline-block;white-space:nowrap;background:#fdecea;color:#8e2a20;border-radius:4px;
padding:0 6px;margin:1px 4px 1px 0}
svg.hist .bar{fill:var(--accent)}svg.hist .grid{stroke:#eef1f4}
svg.hist .axis{stroke:#8a95a3}svg.hist text{font-size:12px;fill:var(--fg)}
svg.hist .tick{fill:var(--muted);font-size:11px}svg.hist .count{font-weight:600}
svg.hist .label{fill:var(--muted);font-size:12px}
.tools{margin:0 0 8px;color:var(--muted)}
button{font:inherit;font-size:12px;padding:3px 10px;border:1px solid var(--line);border-radius:4px;
background:#fff;cursor:pointer}button[aria-pressed=true]{background:#e4edf7;border-color:#9dbbe0}
.c-id{white-space:nowrap}.c-pct{white-space:nowrap}
.late{color:var(--warn);font-size:12px;font-weight:600}.late.unknown{color:var(--bad)}
details summary{cursor:pointer;color:var(--accent)}details p{margin:4px 0}
.st-not-gradable summary,.st-not-gradable,.error{color:var(--bad)}
.st-no-submission{color:var(--muted)}
.notice{background:#fdecea;color:#8e2a20;border:1px solid var(--bad);border-radius:8px;
padding:10px 16px;font-weight:600}
@media (max-width:720px){
 table.students thead,table.miscs thead{display:none}
 table.students tr,table.miscs tr{display:grid;grid-template-columns:1fr auto;gap:2px 12px;
  padding:8px 0;border-bottom:1px solid var(--line)}
 table.students td,table.miscs td{border:0;padding:0 4px}
 table.miscs td:last-child{grid-column:1/-1}
 table.students .c-name{font-weight:600}.c-misc,.c-status{grid-column:1/-1}
 th.bar,td.bar{display:none}
}
@media print{section{break-inside:avoid}.tools{display:none}}
"""

JS = """
(function(){
  var body=document.querySelector('table.students tbody');
  if(!body){return;}
  function key(tr,by){
    if(by==='score'){return -parseFloat(tr.getAttribute('data-score'));}
    return tr.getAttribute('data-'+by)+' '+tr.getAttribute('data-name');
  }
  var buttons=document.querySelectorAll('button[data-sort]');
  function sort(by){
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){var x=key(a,by),y=key(b,by);return x<y?-1:x>y?1:0;});
    for(var i=0;i<rows.length;i++){body.appendChild(rows[i]);}
    for(var j=0;j<buttons.length;j++){
      buttons[j].setAttribute('aria-pressed',buttons[j].getAttribute('data-sort')===by);}
  }
  for(var i=0;i<buttons.length;i++){
    buttons[i].addEventListener('click',function(){sort(this.getAttribute('data-sort'));});
  }
})();
"""


def render(results: list[Result], title: str = "Autodiff assignment: grading report",
           notice: str = "", link=None) -> str:
    """The whole report as one HTML document (a string), with no external resources."""
    return "".join(chunks(results, title, notice, link))


def chunks(results: list[Result], title: str = "Autodiff assignment: grading report",
           notice: str = "", link=None, pairs=()):
    """The report piece by piece, to write a large class's page without holding it whole.

    `results` may be summaries (`Result.summary()`): the report needs no test's output.
    `link(result)` gives the address of a student's own feedback page, relative to the
    report, where their graphs are drawn (the report draws none, so it stays small)."""
    results = list(results)
    yield (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
    )
    if notice:
        yield f'<p class="notice">{esc(notice)}</p>'
    yield _overview(results, title)
    yield _distribution(results)
    yield _misconceptions_section(results)
    yield _pairs(pairs, results, {id(r): i for i, r in enumerate(results)})
    yield from _students(results, link)
    yield _tests(results)
    yield _slowest(results)
    yield f"</main><script>{JS}</script></body></html>\n"
