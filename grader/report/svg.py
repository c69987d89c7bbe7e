"""Inline SVG drawings for the HTML report: the score histogram and a computation graph.

Everything returned here is a self-contained `<svg>` element; every piece of text that came
from a hand-in or from the results file goes through `esc`, so nothing is ever injected raw.
"""
from __future__ import annotations

import html
import math


def esc(s) -> str:
    """Escape any value for HTML text or a quoted attribute (also SVG text inside HTML)."""
    s = str(s)
    if "&" in s or "<" in s or ">" in s or '"' in s or "'" in s or "\x00" in s:
        return html.escape(s, quote=True).replace("\x00", "\ufffd")
    return s  # most text has nothing to escape: the test is quicker than escaping


def num(x) -> float | None:
    """A float if `x` is a real number (bools excluded), else None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x)


def fmt(x, digits: int = 6) -> str:
    """A number as short text: None as a dash, NaN and infinities spelled out, no crash."""
    if type(x) is float and x and math.isfinite(x):  # the common case, checked at once
        return f"{x:.{digits}g}".replace("-", "\u2212")
    v = num(x)
    if v is None:
        return "\u2014" if x is None else str(x)[:24]
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "\u221e" if v > 0 else "\u2212\u221e"
    if v == 0:
        return "0"
    return f"{v:.{digits}g}".replace("-", "\u2212")


def same(expected, received, rel: float = 1e-6, abs_: float = 1e-9) -> bool:
    """Whether a received value matches the expected one (NaN matches NaN, inf matches inf)."""
    e, r = num(expected), num(received)
    if e is None or r is None:
        return e is None and r is None
    if math.isnan(e) or math.isnan(r):
        return math.isnan(e) and math.isnan(r)
    if math.isinf(e) or math.isinf(r):
        return e == r
    return math.isclose(e, r, rel_tol=rel, abs_tol=abs_)


def _short(s, n: int = 14) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "\u2026"


# --------------------------------------------------------------------------- histogram

def histogram(counts: list[int], caption: str = "") -> str:
    """Bars of `counts` for the ten percent bins 0-10 ... 90-100, each labelled with its count."""
    w, h = 500, 250
    left, right, top, bottom = 46, 8, 24, 50
    pw, ph = w - left - right, h - top - bottom
    peak = max(counts) if counts and max(counts) > 0 else 1
    # A tidy y-axis: up to 5 integer ticks.
    step = max(1, math.ceil(peak / 5))
    ymax = step * math.ceil(peak / step)
    n = len(counts)
    bw = pw / n
    out = [
        f'<svg class="hist" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="{esc(caption or "Score histogram")}">',
        f"<title>{esc(caption or 'Score histogram')}</title>",
    ]
    for t in range(0, ymax + 1, step):
        y = top + ph - ph * t / ymax
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" class="tick" text-anchor="end">{t}</text>')
    for i, c in enumerate(counts):
        x = left + i * bw
        bh = ph * c / ymax
        y = top + ph - bh
        lo, hi = i * 100 // n, (i + 1) * 100 // n
        if c:
            out.append(
                f'<rect x="{x + 4:.1f}" y="{y:.1f}" width="{bw - 8:.1f}" height="{bh:.1f}" '
                f'class="bar"><title>{lo}\u2013{hi}%: {c}</title></rect>'
            )
        out.append(f'<text x="{x + bw / 2:.1f}" y="{y - 6:.1f}" class="count" '
                   f'text-anchor="middle">{c}</text>')
        out.append(f'<text x="{x + bw / 2:.1f}" y="{top + ph + 16}" class="tick" '
                   f'text-anchor="middle">{lo}\u2013{hi}</text>')
    out.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" class="axis"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" class="axis"/>')
    out.append(f'<text x="{left + pw / 2}" y="{h - 10}" class="label" text-anchor="middle">'
               f"score (% of maximum)</text>")
    out.append(f'<text transform="translate(14 {top + ph / 2}) rotate(-90)" class="label" '
               f'text-anchor="middle">hand-ins</text>')
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- graph

BOX_W, BOX_H = 128, 42
COL_GAP, ROW_H = 64, 104
PAD = 16
TOP = 30  # room above the first row for edges that skip a column
CROSS = " \u2717"


def _depths(nodes: list[dict]) -> list[int]:
    """Longest path from a leaf to each node (leaves and unknown inputs at 0; cycles cut)."""
    n = len(nodes)
    depth: list[int | None] = [None] * n
    visiting = set()

    def d(i: int) -> int:
        if depth[i] is not None:
            return depth[i]
        if i in visiting:
            return 0
        visiting.add(i)
        ins = _inputs(nodes[i], n)
        depth[i] = 0 if not ins else 1 + max(d(j) for j in ins)
        visiting.discard(i)
        return depth[i]

    return [d(i) for i in range(n)]


def _inputs(node: dict, n: int) -> list[int]:
    ins = node.get("inputs") if isinstance(node, dict) else None
    if not isinstance(ins, list):
        return []
    return [j for j in ins if isinstance(j, int) and not isinstance(j, bool) and 0 <= j < n]


def graph(g: dict, mid: str = "arrow") -> str:
    """Draw a recorded graph left to right by depth; each node shows label and op, and under
    it the gradient expected and received (red where they differ). `mid` names its arrowhead
    marker: unique on its page, the same whichever page was drawn before."""
    raw = g.get("nodes") if isinstance(g, dict) else None
    if not isinstance(raw, list) or not raw:
        return ""
    nodes = [nd if isinstance(nd, dict) else {} for nd in raw[:200]]
    n = len(nodes)
    root = g.get("root")
    depth = _depths(nodes)
    cols: dict[int, list[int]] = {}
    for i in range(n):
        cols.setdefault(depth[i], []).append(i)
    row: dict[int, float] = {}
    for dcol in sorted(cols):
        members = cols[dcol]
        if dcol > 0:  # order by the mean row of the inputs, to keep edges from crossing
            def key(i):
                ins = _inputs(nodes[i], n)
                return (sum(row.get(j, 0) for j in ins) / len(ins) if ins else 0, i)
            members.sort(key=key)
        for r, i in enumerate(members):
            row[i] = r
    ncols = max(cols) + 1
    nrows = max(len(m) for m in cols.values())
    # Centre short columns vertically.
    pos = {}
    for dcol, members in cols.items():
        offset = (nrows - len(members)) / 2
        for i in members:
            x = PAD + dcol * (BOX_W + COL_GAP)
            y = TOP + (row[i] + offset) * ROW_H
            pos[i] = (x, y)
    w = PAD * 2 + ncols * BOX_W + (ncols - 1) * COL_GAP
    h = TOP + PAD + nrows * ROW_H - (ROW_H - BOX_H - 34)
    out = [
        f'<svg class="graph" viewBox="0 0 {w} {h:.0f}" width="{w}" height="{h:.0f}" '
        f'role="img" aria-label="computation graph">',
        f'<defs><marker id="{mid}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        f'class="arrowhead"/></marker></defs>',
    ]
    for i in range(n):
        ins = _inputs(nodes[i], n)
        x2, y2 = pos[i]
        seen: dict[int, int] = {}
        for k, j in enumerate(ins):
            dup = seen.get(j, 0)
            seen[j] = dup + 1
            x1, y1 = pos[j]
            sx, sy = x1 + BOX_W, y1 + BOX_H / 2
            spread = (k - (len(ins) - 1) / 2) * 10
            ex, ey = x2, y2 + BOX_H / 2 + spread
            bend = dup * 18
            if depth[i] - depth[j] > 1:
                # Skips a column: arc over the boxes in between, through the lane above them.
                lane = min(y1, y2) - 24 - bend
                c1, c2 = sx + (ex - sx) * 0.2, ex - (ex - sx) * 0.2
                d = (f"M{sx:.1f},{sy:.1f} C{c1:.1f},{lane:.1f} {c2:.1f},{lane:.1f} "
                     f"{ex - 1:.1f},{ey:.1f}")
            else:
                cx = (sx + ex) / 2
                d = (f"M{sx:.1f},{sy:.1f} C{cx:.1f},{sy + bend:.1f} {cx:.1f},{ey + bend:.1f} "
                     f"{ex - 1:.1f},{ey:.1f}")
            out.append(f'<path d="{d}" class="edge" marker-end="url(#{mid})"/>')
    for i in range(n):
        nd = nodes[i]
        x, y = pos[i]
        label = nd.get("label", f"n{i}")
        op = nd.get("op", "?")
        gexp, grec = nd.get("grad_expected"), nd.get("grad_received")
        dexp, drec = nd.get("data_expected"), nd.get("data_received")
        gbad = not same(gexp, grec)
        dbad = "data_received" in nd and not same(dexp, drec)
        cls = "node" + (" root" if i == root else "") + (" bad" if gbad or dbad else "")
        tip = (f"{label} ({op})\ndata expected {fmt(dexp)}, received {fmt(drec)}\n"
               f"grad expected {fmt(gexp)}, received {fmt(grec)}")
        out.append(f'<g class="{cls}"><title>{esc(tip)}</title>')
        out.append(f'<rect x="{x}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="6"/>')
        head = _short(label) if op == "leaf" else f"{_short(label, 8)} = {_short(op, 6)}"
        out.append(f'<text x="{x + BOX_W / 2}" y="{y + 17:.1f}" class="nlabel" '
                   f'text-anchor="middle">{esc(head)}</text>')
        dtext = (f"data {fmt(dexp, 3)} \u2260 {fmt(drec, 3)}" if dbad else f"data {fmt(dexp, 4)}")
        out.append(f'<text x="{x + BOX_W / 2}" y="{y + 33:.1f}" class="ndata{" mis" if dbad else ""}" '
                   f'text-anchor="middle">{esc(dtext)}</text>')
        out.append(f'<text x="{x + 2}" y="{y + BOX_H + 15:.1f}" class="gexp">'
                   f"grad exp. {esc(fmt(gexp, 5))}</text>")
        out.append(f'<text x="{x + 2}" y="{y + BOX_H + 30:.1f}" class="grec{" mis" if gbad else ""}">'
                   f"grad got {esc(fmt(grec, 5))}{CROSS if gbad else ''}</text>")
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
