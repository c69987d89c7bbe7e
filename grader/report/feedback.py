"""One student's feedback, rendered from their `Result`: a page of its own, plain text, markdown.

The page is self-contained (inline CSS, the graphs as inline SVG, no script, a CSP that allows
nothing else) and fits a phone: the text wraps, and a graph wider than the screen scrolls inside
its own box while its gradients are also listed in a table that fits.

The page and the text say each thing once (`walk`): the misconceptions are numbered at the top
and each failed test points to its number; a paragraph an earlier test showed becomes a pointer
to that test; code spans are code (`inline`). A hand-in that cannot be graded gets its sentence
and the source line with a caret (`excerpt`), no list of failed tests. `summary` is the short
version for a platform's comment box (a Canvas comment, a Moodle worksheet cell), under 2,000
characters, with the page attached.
"""
from __future__ import annotations

import re

from grader.checking.misconceptions import explain
from grader.report.svg import esc, fmt, graph, same
from grader.results.model import Result, TestResult, points

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


_CODE = re.compile(r"`([^`\n]+)`")


def inline(text) -> str:
    """Feedback prose as HTML: escaped, its `code spans` rendered as code."""
    return _CODE.sub(r"<code>\1</code>", esc(text))


def who(result: Result) -> str:
    st = _d(result.extra.get("student"))
    return str(st.get("name") or st.get("id") or "")


def headline(result: Result) -> str:
    """ "Score: 91 / 120 (76%)", with the late penalty when there is one."""
    line = f"Score: {points(result.score)} / {points(result.max_score)}"
    if result.max_score:
        line += f" ({100 * result.score / result.max_score:.0f}%)"
    late = _d(result.extra.get("late"))
    if late.get("late"):
        from grader.course.late import describe as describe_late  # late hand-ins only

        line += f"; {describe_late(late)}"
        if result.penalty:
            line += f" (before the penalty: {points(result.raw_score)})"
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


# --------------------------------------------------------------------------- each thing once

def paragraphs(output: str) -> list[tuple[str, list[str]]]:
    """A test's output as (line, the indented lines under it): a sentence, or a line that
    introduces a listing (a graph's program) or a list ("Likely cause:" and its items)."""
    out: list[tuple[str, list[str]]] = []
    for line in clip(output).splitlines():
        if not line.strip():
            continue
        if line.startswith(("  ", "\t")) and out:
            out[-1][1].append(line)
        else:
            out.append((line, []))
    return out


def _cause(head: str, body: list[str], numbers: dict[str, int]) -> list[str] | None:
    """The misconceptions a "Likely cause:" paragraph names, when every item of it is one the
    page lists at the top; None for any other paragraph."""
    if not head.startswith("Likely cause") or not body:
        return None
    by_text = {explain(m): m for m in numbers}
    ids = [by_text.get(line.strip()[2:]) for line in body]
    return ids if all(ids) else None


def walk(result: Result):
    """Each failed test with what its page says under it, each thing once: a misconception
    is explained at the top and the test points to it (``("cause", ids)``); a paragraph an
    earlier test already showed is left out for a pointer to that test (``("seen", name)``);
    the rest is ``("text", line)`` and ``("code", listing)``."""
    numbers = {m: i for i, m in enumerate(result.misconceptions, 1)}
    shown: dict[tuple, str] = {}
    for t in _failed(result):
        items: list[tuple[str, object]] = []
        for head, body in paragraphs(t.output):
            ids = _cause(head, body, numbers)
            if ids:
                items.append(("cause", ids))
                continue
            key = (head, *body)
            if key in shown and shown[key] != t.name:
                if not items or items[-1] != ("seen", shown[key]):
                    items.append(("seen", shown[key]))
                continue
            shown.setdefault(key, t.name)
            items.append(("text", head))
            if body:
                items.append(("code", "\n".join(body)))
        yield t, items, numbers


def _body_html(lines: list[str]) -> str:
    """The indented lines under a paragraph: a listing (four spaces) as code, a sentence or a
    list item (two) as text."""
    out, code = [], []
    for line in lines + [""]:
        if line.startswith("    ") and line.strip():
            code.append(line[4:])
            continue
        if code:
            out.append(f"<pre>{esc(chr(10).join(code))}</pre>")
            code = []
        if line.strip():
            out.append(f'<p class="explain">{inline(line.strip())}</p>')
    return "".join(out)


def _cause_text(ids: list[str], numbers: dict[str, int]) -> str:
    named = ", ".join(f"({numbers[m]}) {m}" for m in ids)
    return f"Likely cause: {named}, explained at the top."


def _seen_text(name: str) -> str:
    return f"(The rest is as under \"{name}\" above.)"


def excerpt(result: Result) -> list[str]:
    """The source line a hand-in could not be loaded at, with a caret under the column."""
    at = _d(result.extra.get("error_at"))
    line, text = at.get("line"), at.get("text")
    if type(line) is not int or not isinstance(text, str):
        return []
    text = text.expandtabs(4).rstrip()[:160]
    gutter = f"{line} | "
    lines = [gutter + text]
    column = at.get("column")
    if type(column) is int and 0 < column <= len(text) + 1:
        lines.append(" " * (len(gutter) - 2) + "| " + " " * (column - 1) + "^")
    return lines


# --------------------------------------------------------------------------- HTML

def test_html(t: TestResult, draw: bool = True, items=None, numbers=None, n: int = 0) -> str:
    """One test: its verdict, its feedback (`items` from `walk`, so each thing is said once
    on a page; else its whole output) and, for a failed one, its graph drawn and its
    gradients listed. `n`, the test's place on the page, names its graph's arrowhead."""
    st = _status(t)
    extra = _d(t.extra)
    if items is None:
        items = [("para", (head, body)) if body else ("text", head)
                 for head, body in paragraphs(t.output)]
    parts = [
        f'<div class="test {st}"><div class="thead"><span class="badge {st}">{st}</span>'
        f"<span class=\"tname\">{esc(t.name)}</span>"
        f"<span class=\"num\">{points(t.score)} / {points(t.max_score)}</span></div>",
    ]
    for kind, what in items:
        if kind == "text":
            parts.append(f'<p class="explain">{inline(what)}</p>')
        elif kind == "para":
            head, body = what
            parts.append(f'<p class="explain">{inline(head)}</p>{_body_html(body)}')
        elif kind == "code":
            parts.append(_body_html(what.splitlines()))
        elif kind == "cause":
            parts.append('<p class="explain">Likely cause: ' + ", ".join(
                f'({numbers[m]}) <span class="tag">{esc(m)}</span>' for m in what)
                + ", explained at the top.</p>")
        elif kind == "seen":
            parts.append(f'<p class="explain muted">{esc(_seen_text(what))}</p>')
    g = _d(extra.get("graph"))
    if draw and st != "passed" and g:
        drawing = graph(g, f"arrow{n}")
        if drawing:
            prog = str(g.get("program") or "")
            if prog and prog.splitlines()[0] not in t.output:  # the output lists it otherwise
                parts.append(f'<pre class="program">{esc(prog)}</pre>')
            parts.append('<div class="graphbox"><div class="scroll">' + drawing + "</div>"
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
border-radius:6px;padding:8px 12px 8px 36px}.points li{margin:4px 0}
code{font:13px ui-monospace,Menlo,Consolas,monospace;background:#eef1f4;border-radius:3px;
padding:0 3px}.muted{color:var(--muted)}
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
        parts.append(f"<p class=\"error\"><strong>Not graded:</strong> {inline(error)}</p>")
        if excerpt(result):
            parts.append(f"<pre>{esc(chr(10).join(excerpt(result)))}</pre>")
    if result.misconceptions and not error:
        parts.append("<h2>What the failed tests point to</h2><ol class=\"points\">" + "".join(
            f'<li><span class="tag">{esc(m)}</span> {inline(explain(m))}</li>'
            for m in result.misconceptions) + "</ol>")
    if notes(result) and not error:
        parts.append(f"<h2>Notes from grading</h2><pre>{esc(clip(notes(result)))}</pre>")
    passed = [t for t in result.tests if _status(t) == "passed"]
    if failed and not error:
        parts.append(f"<h2>Failed tests ({len(failed)} of {len(result.tests)})</h2>")
        parts += [test_html(t, True, items, numbers, n)
                  for n, (t, items, numbers) in enumerate(walk(result))]
    if passed:
        parts.append(f"<h2>Passed tests ({len(passed)} of {len(result.tests)})</h2>"
                     "<ul class=\"passed-list\">" + "".join(
                         f"<li>{esc(t.name)} ({points(t.score)} / {points(t.max_score)})"
                         f"{_printed(t)}</li>" for t in passed) + "</ul>")
    parts.append("</main></body></html>\n")
    return "".join(parts)


def _printed(t: TestResult) -> str:
    """What a passed test's output shows of the hand-in's own printing, folded."""
    from ..course.visibility import PRINTED

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
    """The page's content as plain text, each thing said once like the page."""
    name = who(result)
    lines = [title + (f" for {name}" if name else ""), headline(result)]
    error = result.extra.get("error")
    if error:
        lines += ["", f"Not graded: {error}"]
        lines += ["    " + ln for ln in excerpt(result)]
        return "\n".join(lines).replace("\u2212", "-") + "\n"
    if result.misconceptions:
        lines += ["", "What the failed tests point to:"]
        lines += [f"  ({i}) {m}: {explain(m)}" for i, m in enumerate(result.misconceptions, 1)]
    if notes(result):
        lines += ["", clip(notes(result))]
    failed = _failed(result)
    if result.tests:
        lines += ["", f"Passed {len(result.tests) - len(failed)} of {len(result.tests)} tests."]
    for t, items, numbers in walk(result):
        lines += ["", f"FAILED ({points(t.score)} / {points(t.max_score)}): {t.name}"]
        for kind, what in items:
            if kind == "text":
                lines.append("  " + what)
            elif kind == "code":
                lines += what.splitlines()
            elif kind == "cause":
                lines.append("  " + _cause_text(what, numbers))
            elif kind == "seen":
                lines.append("  " + _seen_text(what))
        table = gradient_table(t)
        if table:
            lines += ["  Gradients:"] + ["    " + ln for ln in table]
    return "\n".join(lines).replace("\u2212", "-") + "\n"


SUMMARY_LIMIT = 1800  # characters of the summary: with a Canvas comment's marker, or as a
#                       Moodle cell's HTML, the box holds under 2,000
SUMMARY_TESTS = 10    # failed tests named in it; the page has every one


def summary(result: Result, page: str | None = "feedback.html",
            title: str = "Backprop engine: your feedback") -> str:
    """A short summary for a platform's comment box (a Canvas comment, a Moodle worksheet
    cell): the score, what the failures point to (each once), the failed tests by name, and
    where the full page is; under `SUMMARY_LIMIT` characters whatever the hand-in."""
    name = who(result)
    lines = [title + (f" for {name}" if name else ""), headline(result)]
    error = result.extra.get("error")
    if error:
        lines += ["", f"Not graded: {clip(error)[:600]}"] + excerpt(result)
    else:
        if result.misconceptions:
            lines += ["", "What the failed tests point to:"]
            lines += [f"({i}) {explain(m)}" for i, m in enumerate(result.misconceptions, 1)]
        failed = _failed(result)
        if result.tests:
            lines += ["", f"Passed {len(result.tests) - len(failed)} of {len(result.tests)} "
                          "tests." + (" Failed:" if failed else "")]
            lines += [f"- {t.name}" for t in failed[:SUMMARY_TESTS]]
            if len(failed) > SUMMARY_TESTS:
                lines.append(f"- and {len(failed) - SUMMARY_TESTS} more"
                             + (", on the attached page." if page else "."))
    if page and not error:
        lines += ["", f"Every test, with its graph and gradients, is in the attached page "
                      f"({page})."]
    out = _CODE.sub(r"\1", "\n".join(lines)).replace("\u2212", "-")  # no markdown in a box
    if len(out) > SUMMARY_LIMIT:  # many failed tests or long names: keep the ends
        tail = "\n".join(lines[-2:])
        out = out[:SUMMARY_LIMIT - len(tail) - 40].rsplit("\n", 1)[0] + "\n- \u2026\n" + tail
    return out + "\n"


def summary_html(result: Result, page: str = "feedback.html",
                 title: str = "Backprop engine: your feedback") -> str:
    """`summary` as HTML, for a platform that shows a comment as HTML (Moodle): one paragraph
    per block, lines broken as in the text, code spans as code."""
    text = summary(result, page, title)
    raw = {explain(m): inline(explain(m)) for m in result.misconceptions}
    blocks = []
    for block in text.strip().split("\n\n"):
        lines = [esc(ln) for ln in block.splitlines()]
        html = "<br>".join(lines)
        for plain_, rich in raw.items():  # the explanations keep their code spans
            html = html.replace(esc(_CODE.sub(r"\1", plain_)), rich)
        blocks.append(f"<p>{html}</p>")
    return "".join(blocks)


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
