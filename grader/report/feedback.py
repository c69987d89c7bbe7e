"""One student's feedback, rendered from their `Result`: a page of its own, plain text, markdown.

The page is self-contained (inline CSS, the graphs as inline SVG, no script, a CSP that allows
nothing else) and fits a phone: the text wraps, and a graph wider than the screen scrolls inside
its own box while its gradients are also listed in a table that fits. The report draws each
test with `test_html`, so a test looks the same in the report and on the student's page.
"""
from __future__ import annotations

import re

from grader.checking.misconceptions import explain
from grader.platforms.late import describe as describe_late
from grader.report.svg import esc, fmt, graph, same
from grader.results import Result, TestResult

MAX_OUTPUT = 4_000  # characters of one test's output shown; hand-ins can print megabytes
CROSS = " \u2717"
DIFFERS = ' class="differs"'


def _d(x) -> dict:
    return x if isinstance(x, dict) else {}


def _status(t: TestResult) -> str:
    try:
        return t.status
    except Exception:
        return "failed"


def clip(text) -> str:
    text = "" if text is None else str(text)
    if len(text) > MAX_OUTPUT:
        text = text[:MAX_OUTPUT] + f"\n\u2026 ({len(text) - MAX_OUTPUT} more characters not shown)"
    return text


def who(result: Result) -> str:
    st = _d(result.extra.get("student"))
    return str(st.get("name") or st.get("id") or "")


def headline(result: Result) -> str:
    """ "Score: 91 / 120 (76%)", with the late penalty when there is one."""
    line = f"Score: {fmt(result.score, 4)} / {fmt(result.max_score, 4)}"
    if result.max_score:
        line += f" ({100 * result.score / result.max_score:.0f}%)"
    late = _d(result.extra.get("late"))
    if late.get("late"):
        line += f"; {describe_late(late)}"
        if result.penalty:
            line += f" (before the penalty: {fmt(result.raw_score, 4)})"
    return line.replace("\u2212", "-")


def gradients(t: TestResult) -> list[tuple[str, str, str, bool]]:
    """(node, expected gradient, received gradient, differs) for a failed test's graph."""
    g = _d(t.extra.get("graph"))
    rows = []
    for nd in g.get("nodes") or []:
        nd = _d(nd)
        label = str(nd.get("label", "?"))
        if nd.get("op") not in (None, "leaf"):
            label += f" = {nd['op']}"
        e, r = nd.get("grad_expected"), nd.get("grad_received")
        rows.append((label, fmt(e, 6).replace("\u2212", "-"), fmt(r, 6).replace("\u2212", "-"),
                     not same(e, r)))
    return rows


def notes(result: Result) -> str:
    """The result's overall output without its list of misconceptions, which the page and the
    text show on their own: what loading the code said and what it printed."""
    parts = [p for p in result.output.split("\n\n")
             if not p.startswith("What the failed tests point to:")]
    return "\n\n".join(parts).strip()


def _failed(result: Result) -> list[TestResult]:
    return [t for t in result.tests if _status(t) != "passed"]


# --------------------------------------------------------------------------- HTML

def test_html(t: TestResult, draw: bool = True) -> str:
    """One test: its verdict, its feedback text and, for a failed one, its graph drawn and its
    gradients listed. Shared by the class report and the student's page."""
    st = _status(t)
    extra = _d(t.extra)
    ms = extra.get("misconceptions")
    ms = [str(m) for m in ms] if isinstance(ms, list) else []
    parts = [
        f'<div class="test {st}"><div class="thead"><span class="badge {st}">{st}</span>'
        f"<span class=\"tname\">{esc(t.name)}</span>"
        f"<span class=\"num\">{fmt(t.score, 4)} / {fmt(t.max_score, 4)}</span></div>",
    ]
    if t.output:
        parts.append(f"<pre>{esc(clip(t.output))}</pre>")
    for m in ms:
        parts.append(f'<p class="explain"><span class="tag">{esc(m)}</span> {esc(explain(m))}</p>')
    g = _d(extra.get("graph"))
    if draw and st != "passed" and g:
        drawing = graph(g)
        if drawing:
            prog = g.get("program")
            parts.append('<div class="graphbox"><div class="graphrow">')
            if prog:
                parts.append(f"<pre class=\"program\">{esc(prog)}</pre>")
            parts.append(f'<div class="scroll">{drawing}</div></div>'
                         '<p class="legend">Each box: a node (label = op) with its forward value; '
                         "under it the gradient expected and the gradient received, "
                         '<span class="mis">red</span> where they differ.</p>')
            rows = "".join(
                f"<tr{DIFFERS if bad else ''}><td>{esc(n)}</td><td class=\"num\">{esc(e)}</td>"
                f"<td class=\"num\">{esc(r)}{CROSS if bad else ''}</td></tr>"
                for n, e, r, bad in gradients(t))
            parts.append('<table class="grads"><thead><tr><th>node</th><th class="num">expected '
                         f'grad</th><th class="num">your grad</th></tr></thead><tbody>{rows}'
                         "</tbody></table></div>")
    parts.append("</div>")
    return "".join(parts)


PAGE_CSS = """
:root{--fg:#1d2430;--muted:#5f6b7a;--line:#dde2e8;--bg:#f6f7f9;--ok:#2e8b57;--bad:#c0392b;
--warn:#b7791f}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
overflow-wrap:anywhere}
main{max-width:820px;margin:0 auto;padding:16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:20px 0 8px}
.score{font-size:20px;font-weight:700;margin:8px 0}.late{color:var(--warn);font-weight:600}
.points{background:#fff;border:1px solid var(--line);border-left:4px solid var(--bad);
border-radius:6px;padding:8px 12px 8px 32px}.points li{margin:4px 0}
.test{background:#fff;border:1px solid var(--line);border-left:4px solid var(--ok);
border-radius:6px;padding:8px 12px;margin:10px 0;min-width:0}
.test.failed{border-left-color:var(--bad)}
.thead{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline}
.tname{flex:1 1 12em;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{font-size:11px;font-weight:700;text-transform:uppercase;border-radius:4px;padding:1px 6px}
.badge.passed{background:#e3f4ea;color:#1e6b41}.badge.failed{background:#fdecea;color:#8e2a20}
pre{background:#f4f6f8;border:1px solid #e6e9ed;border-radius:4px;padding:8px 10px;margin:6px 0;
white-space:pre-wrap;overflow-wrap:anywhere;font:13px/1.45 ui-monospace,Menlo,Consolas,monospace}
.tag{font:12px ui-monospace,Menlo,Consolas,monospace;background:#fdecea;color:#8e2a20;
border-radius:4px;padding:0 6px}
.graphrow{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:flex-start}
.graphrow>*{min-width:0;max-width:100%}.scroll{overflow-x:auto}
pre.program{margin:0}
svg.graph .node rect{fill:#f8fafc;stroke:#7b8794;stroke-width:1.2}
svg.graph .node.root rect{stroke:#1d2430;stroke-width:2}
svg.graph .node.bad rect{fill:#fdf1f0;stroke:var(--bad)}
svg.graph .edge{fill:none;stroke:#9aa5b1;stroke-width:1.3}svg.graph .arrowhead{fill:#9aa5b1}
svg.graph text{font:12px ui-monospace,Menlo,Consolas,monospace;fill:var(--fg)}
svg.graph .nlabel{font-weight:700}svg.graph .ndata,svg.graph .gexp{fill:var(--muted)}
svg.graph .mis{fill:var(--bad);font-weight:700}
.legend{font-size:13px;color:var(--muted);margin:4px 0}.mis{color:var(--bad);font-weight:700}
table.grads{border-collapse:collapse;margin:6px 0;font-size:14px}
.grads th,.grads td{padding:3px 10px 3px 0;border-bottom:1px solid var(--line);text-align:left}
.grads th.num,.grads td.num{text-align:right}
.grads tr.differs td{color:var(--bad);font-weight:600}
.passed-list{color:var(--muted);padding-left:20px}.error{color:var(--bad)}
"""


def page(result: Result, title: str = "Backprop engine: your feedback") -> str:
    """The student's own page: score, what the failures point to, each failed test with its
    graph and gradients, the tests passed."""
    name = who(result)
    failed = _failed(result)
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>{esc(title + (': ' + name if name else ''))}</title>"
        f"<style>{PAGE_CSS}</style></head><body><main>",
        f"<h1>{esc(title)}</h1>",
        f"<p class=\"who\">{esc(name)}</p>" if name else "",
        f"<p class=\"score\">{esc(headline(result))}</p>",
    ]
    error = result.extra.get("error")
    if error:
        parts.append(f"<p class=\"error\"><strong>Not graded:</strong> {esc(error)}</p>")
    if result.misconceptions:
        parts.append("<h2>What the failed tests point to</h2><ul class=\"points\">" + "".join(
            f"<li>{esc(explain(m))}</li>" for m in result.misconceptions) + "</ul>")
    if notes(result) and not error:
        parts.append(f"<h2>Notes from grading</h2><pre>{esc(clip(notes(result)))}</pre>")
    passed = [t for t in result.tests if _status(t) == "passed"]
    if failed and not error:
        parts.append(f"<h2>Failed tests ({len(failed)} of {len(result.tests)})</h2>")
        parts += [test_html(t) for t in failed]
    if passed:
        parts.append(f"<h2>Passed tests ({len(passed)} of {len(result.tests)})</h2>"
                     "<ul class=\"passed-list\">" + "".join(
                         f"<li>{esc(t.name)} ({fmt(t.score, 4)} / {fmt(t.max_score, 4)})"
                         f"{_printed(t)}</li>" for t in passed) + "</ul>")
    parts.append("</main></body></html>\n")
    return "".join(parts)


def _printed(t: TestResult) -> str:
    """What a passed test's output shows of the hand-in's own printing, folded."""
    from ..visibility import PRINTED

    _, found, rest = t.output.partition(PRINTED)
    if not found:
        return ""
    return (f"<details><summary>what your code printed</summary>"
            f"<pre>{esc(clip(PRINTED.strip() + rest))}</pre></details>")


# --------------------------------------------------------------------------- plain text

def gradient_table(t: TestResult) -> list[str]:
    rows = gradients(t)
    if not rows:
        return []
    w = max(len("node"), *(len(n) for n, *_ in rows))
    we = max(len("expected"), *(len(e) for _, e, _, _ in rows))
    lines = [f"{'node':<{w}}  {'expected':>{we}}  received"]
    lines += [f"{n:<{w}}  {e:>{we}}  {r}{'  <- differs' if bad else ''}" for n, e, r, bad in rows]
    return lines


def text(result: Result, title: str = "Backprop engine: your feedback") -> str:
    """The page's content as plain text, for platforms that take only text (a Canvas comment)."""
    name = who(result)
    lines = [title + (f" for {name}" if name else ""), headline(result)]
    if result.extra.get("error"):
        lines += ["", f"Not graded: {result.extra['error']}"]
    if result.misconceptions:
        lines += ["", "What the failed tests point to:"]
        lines += [f"  - {explain(m)}" for m in result.misconceptions]
    if notes(result) and not result.extra.get("error"):
        lines += ["", clip(notes(result))]
    failed = _failed(result)
    passed = len(result.tests) - len(failed)
    if result.tests:
        lines += ["", f"Passed {passed} of {len(result.tests)} tests."]
    if not result.extra.get("error"):
        for t in failed:
            lines += ["", f"FAILED ({fmt(t.score, 4)} / {fmt(t.max_score, 4)}): {t.name}"]
            lines += ["  " + ln for ln in clip(t.output).splitlines()]
            table = gradient_table(t)
            if table:
                lines += ["  Gradients:"] + ["    " + ln for ln in table]
    return "\n".join(lines).replace("\u2212", "-") + "\n"


# --------------------------------------------------------------------------- markdown

_MD_SPECIAL = re.compile(r"([\\*_\[\]<>#|~])")


def _md_inline(line: str) -> str:
    """Escape markdown outside `code spans`, which the feedback uses on purpose."""
    pieces = line.split("`")
    return "`".join(p if i % 2 else _MD_SPECIAL.sub(r"\\\1", p) for i, p in enumerate(pieces))


def markdown(text_: str) -> str:
    """Feedback text as markdown: indented listings (a graph's program) become code blocks,
    "  - " lines a list, every other line its own paragraph."""
    out, code = [], []
    for line in text_.splitlines():
        if line.startswith("    ") and line.strip():
            code.append(line)
            continue
        if code:
            indent = min(len(c) - len(c.lstrip()) for c in code)
            out += ["```", *(c[indent:] for c in code), "```", ""]
            code = []
        s = line.strip()
        if not s:
            continue
        if s.startswith("- "):
            out.append("- " + _md_inline(s[2:]))
        else:
            if out and out[-1].startswith("- "):
                out.append("")
            out += [_md_inline(s), ""]
    if code:
        indent = min(len(c) - len(c.lstrip()) for c in code)
        out += ["```", *(c[indent:] for c in code), "```"]
    return "\n".join(out).strip() + "\n"


def test_markdown(t: TestResult) -> str:
    """A test's feedback as markdown, its gradients as a table."""
    md = markdown(t.output) if t.output else ""
    rows = gradients(t) if _status(t) != "passed" else []
    if rows:
        md += ("\n| node | expected grad | your grad |\n|---|---:|---:|\n" + "".join(
            f"| `{n}` | {e} | {f'**{r}**{CROSS}' if bad else r} |\n"
            for n, e, r, bad in rows))
    return md
