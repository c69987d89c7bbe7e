"""The instructor's HTML report: structure, escaping, no network, and a real headless browser."""
from __future__ import annotations

import math
import os
import re
import shutil
import struct
import subprocess
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.checking.misconceptions import explain
from grader.report.html import render
from grader.report.svg import fmt, graph, same
from grader.results.model import Result
from grader.results.model import TestResult as TR

HOSTILE = '<script>alert(1)</script></details><img src="https://evil.example/x.png">'


# --------------------------------------------------------------------------- fixtures

SAME = object()


def _node(label, op, inputs, data, grad, data_rec=SAME, grad_rec=SAME):
    return {"label": label, "op": op, "inputs": inputs,
            "data_expected": data, "data_received": data if data_rec is SAME else data_rec,
            "grad_expected": grad, "grad_received": grad if grad_rec is SAME else grad_rec}


def multi_use_graph(overwrite: bool) -> dict:
    """f = (a*b) * (a+b) with a = -2, b = 3: a and b are each used on two paths."""
    ga, gb = (-6.0, -6.0) if overwrite else (-3.0, -8.0)
    return {
        "root": 4,
        "program": "a = Value(-2)\nb = Value(3)\nc = a * b\nd = a + b\nf = c * d",
        "nodes": [
            _node("a", "leaf", [], -2.0, -3.0, grad_rec=ga),
            _node("b", "leaf", [], 3.0, -8.0, grad_rec=gb),
            _node("c", "*", [0, 1], -6.0, 1.0),
            _node("d", "+", [0, 1], 1.0, -6.0),
            _node("f", "*", [2, 3], -6.0, 1.0),
        ],
    }


def tanh_graph() -> dict:
    """y = tanh(x) * tanh(x) + x with the hand-in's gradients gone to NaN/inf."""
    t = math.tanh(0.5)
    return {
        "root": 3,
        "program": "x = Value(0.5)\nt = x.tanh()\ny = t * t + x",
        "nodes": [
            _node("x", "leaf", [], 0.5, 1 + 2 * t * (1 - t * t), grad_rec=float("nan")),
            _node("t", "tanh", [0], t, 2 * t, grad_rec=float("inf")),
            _node("n2", "*", [1, 1], t * t, 1.0),
            _node("y", "+", [2, 0], t * t + 0.5, 1.0, grad_rec=None),
        ],
    }


def tr(name, score, max_score=1.0, output="", **extra):
    return TR(name=name, score=score, max_score=max_score, output=output, extra=extra)


NAMES = ["single use", "multi-use add", "multi-use mul", "tanh chain", "relu at zero"]


def student(i, name, **more):
    return {"student": {"id": f"s{i:04d}", "name": name, "email": f"{i}@uni.example"}, **more}


def results() -> list[Result]:
    full = Result(tests=[tr(n, 1.0, output="ok") for n in NAMES], execution_time=1.2,
                  extra=student(1, "Ada Lovelace", sandbox={
                      "level": "partial", "layers": {"namespaces": "bwrap failed",
                                                     "landlock": "held"}, "imports": []}))
    out = [full]
    for i, name in enumerate(["Grace Hopper", "Alan Turing", "Edsger Dijkstra"], start=2):
        g = multi_use_graph(overwrite=True)
        out.append(Result(
            tests=[
                tr("single use", 1.0, output="ok"),
                tr("multi-use add", 0.0, output="a.grad: expected -3, got -6",
                     misconceptions=["add-overwrite"], graph=g),
                tr("multi-use mul", 0.0, output="b.grad: expected -8, got -6",
                     misconceptions=["mul-overwrite"], graph=multi_use_graph(True)),
                tr("tanh chain", 1.0 if i != 4 else 0.0, output="",
                     **({"misconceptions": ["tanh-from-input"], "graph": tanh_graph()}
                        if i == 4 else {})),
                tr("relu at zero", 1.0),
            ],
            execution_time=2.0 + i,
            extra=student(i, name, sandbox="bwrap",
                          late={"late": i == 3, "days": 1.5, "penalty": 0.1 if i == 3 else 0}),
        ))
    out.append(Result(tests=[], execution_time=0.1,
                      extra=student(5, "Barbara Liskov", error="engine.py has a syntax error on "
                                    "line 12, so the hand-in could not be imported.")))
    out.append(Result(
        tests=[tr(n if n != "relu at zero" else HOSTILE, 0.0, output=HOSTILE + "\n" + "x" * 50,
                  misconceptions=["no-gradient"]) for n in NAMES],
        output="stdout: " + HOSTILE,
        execution_time=29.7,
        extra={"student": {"id": "s0006", "name": 'Mallory <b onmouseover="alert(2)">'},
               "sandbox": "none"},
    ))
    out.append(Result(tests=[tr(n, 0.5) for n in NAMES], execution_time=0.8,
                      extra={"late": {"late": True, "days": 3, "penalty": 0.3}}))  # no student
    return out


# --------------------------------------------------------------------------- parsing

class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[str] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def find(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and all(
            v in (a.get(k) or "").split() for k, v in attrs.items())]


@pytest.fixture(scope="module")
def page_html() -> str:
    return render(results(), title="Backprop lab: report")


@pytest.fixture(scope="module")
def page(page_html) -> Page:
    p = Page()
    p.feed(page_html)
    p.close()
    return p


def test_isolation_level_shown(page_html):
    """Each student's facts say how hand-ins were isolated: the level of a result's
    `extra_data.sandbox`, or the name older results carry."""
    assert "isolation partial" in page_html
    assert "isolation bwrap" in page_html and "isolation none" in page_html


def test_document_shape(page, page_html):
    assert page_html.startswith("<!DOCTYPE html>")
    assert page.find("title")
    assert "Backprop lab: report" in "".join(page.text)
    assert len(page.find("style")) == 1
    assert len(page.scripts) == 1


def cards(page_html) -> dict[str, str]:
    return {k: v for v, k in re.findall(
        r'<div class="v">([^<]*)</div>(?:<div class="s">[^<]*</div>)?<div class="k">([^<]*)</div>',
        page_html)}


def test_header_numbers(page_html):
    c = cards(page_html)
    # scores after late penalties: 5, 3, 2.7, 2, 0, 1.75 of 5 graded, and s0005 not gradable (0)
    graded = [5, 3, 2.7, 2, 0, 1.75]
    assert c["could not be graded"] == "1"
    assert c["class mean (7 students)"] == f"{sum(graded) / 7 / 5 * 100:.1f}%"
    assert c["mean of 6 graded hand-ins"] == f"{sum(graded) / 6 / 5 * 100:.1f}%"
    assert c["class median"] == "40.0%"  # percents 0, 0, 35, 40, 54, 60, 100
    assert "2.41 / 5 pts" in page_html  # 14.45 / 6 = 2.408..., in hundredths


def test_sections_in_the_order_an_instructor_reads(page_html):
    at = [page_html.index(m) for m in ('class="stats"', 'id="distribution"',
                                       'id="misconceptions"', 'id="students"', 'id="tests"')]
    assert at == sorted(at)


def test_histogram(page, page_html):
    hist = page.find("svg", **{"class": "hist"})
    assert len(hist) == 1
    svg = re.search(r'<svg class="hist".*?</svg>', page_html, re.S).group(0)
    for lo in range(0, 100, 10):
        assert f">{lo}\u2013{lo + 10}<" in svg
    assert "score (% of maximum)" in svg and "hand-ins" in svg
    # every student the class mean counts: percents 100, 60, 54, 40, 0, 35 and the ungradable 0
    counts = [int(c) for c in re.findall(r'class="count"[^>]*>(\d+)<', svg)]
    assert counts == [2, 0, 0, 1, 1, 1, 1, 0, 0, 1]
    assert svg.count('class="bar"') == 6


def test_one_row_per_student_sortable_without_fetching_anything(page, page_html):
    rows = re.findall(r'<tr id="s\d+"', page_html)
    assert len(rows) == len(results())
    text = "".join(page.text)
    for sid in ("s0001", "s0002", "s0003", "s0004", "s0005", "s0006", "#7"):
        assert sid in text
    assert {a["data-sort"] for t, a in page.tags if t == "button"} == {"name", "score", "misc"}
    scores = dict(re.findall(r'data-score="([^"]+)"[^>]*data-id="([^"]+)"', page_html))
    assert {v: k for k, v in scores.items()}["s0001"] == "100.0000"


def test_test_pass_rates_and_misconceptions(page, page_html):
    text = " ".join("".join(page.text).split())
    tests = re.search(r'<table class="tests">.*?</table>', page_html, re.S).group(0)
    assert "multi-use add</td><td class=\"num\">1/6" in tests
    assert "single use</td><td class=\"num\">4/6" in tests
    miscs = re.search(r'<table class="miscs">.*?</table>', page_html, re.S).group(0)
    assert re.search(r'add-overwrite</span></td><td class="num">3<', miscs)
    assert re.search(r'tanh-from-input</span></td><td class="num">1<', miscs)
    # code spans rendered as code, not backticks
    assert "`" not in miscs and "<code>+=</code>" in miscs
    assert " ".join(explain("add-overwrite").replace("`", "").split()) in text


def test_slowest_and_ungradable(page_html):
    slow = re.search(r"<h2>Slowest hand-ins</h2>.*?</section>", page_html, re.S).group(0)
    assert slow.index("s0006") < slow.index("s0004")  # 29.7 s before 6 s
    assert "29.7 s" in slow
    row = re.search(r'<tr id="s\d+"[^>]*data-id="s0005".*?</tr>', page_html).group(0)
    assert "not gradable" in row and "syntax error on line 12" in row


def test_pictures_stay_on_the_students_pages(page_html, page):
    from grader.report.feedback import page as student_page

    assert not page.find("svg", **{"class": "graph"})
    drawn = student_page(results()[3])  # Edsger: two multi-use graphs and the tanh graph
    assert drawn.count('<svg class="graph"') == 3
    assert "grad got \u22126 \u2717" in drawn
    assert "grad got NaN" in drawn and "grad got \u221e" in drawn
    assert "grad got \u2014 \u2717" in drawn  # no gradient received at all
    assert "a = Value(-2)" in drawn
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert len(ids) == len(set(ids))


def test_hostile_output_is_escaped(page_html, page):
    assert "<script>alert(1)</script>" not in page_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;/details&gt;" in page_html
    assert 'onmouseover="alert(2)"' not in page_html
    assert len(page.scripts) == 1 and "alert" not in page.scripts[0]
    assert not page.find("img")
    # the hostile text survives as text, intact
    assert HOSTILE in "".join(page.text)
    assert all(not k.startswith("on") for _, a in page.tags for k in a)


def test_no_network_fetches(page):
    for tag, attrs in page.tags:
        for k in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            v = (attrs.get(k) or "").strip().lower()
            assert not re.match(r"^(https?:)?//", v), (tag, k, v)
            if tag == "link":
                pytest.fail("no <link> elements expected")
    assert not re.search(r"url\((?!#)", "".join(page.text) + " ".join(
        a.get("style", "") or "" for _, a in page.tags))
    assert not [t for t, _ in page.tags if t in ("link", "iframe", "object", "embed", "img")]


def test_defensive_inputs():
    odd = [
        Result(),  # nothing at all
        Result(tests=[tr("t", 0.0, graph={"root": 9, "nodes": [
            {"label": "<a>", "op": "+", "inputs": [1, 7, "x"]}, "junk",
            {"op": "*", "inputs": [2], "grad_expected": float("-inf"), "grad_received": "1e3"}]},
            misconceptions=["made-up-id"])],
            execution_time=float("nan"),
            extra={"student": "not a dict", "late": {"late": True, "penalty": 0}}),
    ]
    html = render(odd)
    assert "made-up-id" in html
    assert render([]).count("<tr id=") == 0


def test_graph_layout_by_depth():
    svg = graph(multi_use_graph(True))
    xs = {m.group(2): float(m.group(1)) for m in
          re.finditer(r'<rect x="([\d.]+)"[^>]*/><text[^>]*>([^<]+)</text>', svg)}
    assert xs["a"] == xs["b"] < xs["c = *"] == xs["d = +"] < xs["f = *"]
    assert svg.count('class="edge"') == 6


def test_number_formatting():
    assert fmt(float("nan")) == "NaN" and fmt(float("inf")) == "\u221e"
    assert fmt(None) == "\u2014" and fmt(-2.0) == "\u22122" and fmt(0.1 + 0.2) == "0.3"
    assert same(float("nan"), float("nan")) and not same(1.0, None) and same(1.0, 1.0 + 1e-12)


# --------------------------------------------------------------------------- real browser

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium")
                                        else None)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _png_distinct_rows(data: bytes) -> int:
    """How many distinct scanlines the image has: a blank page has one or two."""
    w, h = _png_size(data)
    idat, pos = b"", 8
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = len(raw) // h
    return len({raw[i * stride + 1:(i + 1) * stride] for i in range(h)})


def _run_chromium(report: Path, tmp: Path, name: str) -> tuple[bytes, str, float]:
    shot = tmp / f"{name}.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp / ('profile-' + name)}",
           "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", "--window-size=1200,1600",
           report.as_uri()]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp)
    took = time.monotonic() - t0
    assert shot.exists(), proc.stderr[-3000:]
    return shot.read_bytes(), proc.stderr, took


def _page_console(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines()
            if ":CONSOLE" in ln or "Uncaught" in ln or "Content Security Policy" in ln]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                    "(apt-get install -y chromium) so the report cannot be loaded in a browser")
@pytest.mark.parametrize("expanded", [False, True], ids=["collapsed", "expanded"])
def test_report_in_headless_chromium(tmp_path, expanded):
    html = render(results(), title="Backprop lab: report")
    if expanded:  # every student's details open, so they are laid out and painted too
        html = html.replace("<details>", "<details open>")
    report = tmp_path / "report.html"
    report.write_text(html, encoding="utf-8")
    data, stderr, took = _run_chromium(report, tmp_path, "expanded" if expanded else "collapsed")
    print(f"chromium took {took:.2f} s")
    keep = os.environ.get("REPORT_SHOT_DIR")
    if keep:
        Path(keep, f"report-{'expanded' if expanded else 'collapsed'}.png").write_bytes(data)
        Path(keep, "report.html").write_text(html, encoding="utf-8")
    assert _png_size(data) == (1200, 1600)
    assert len(data) > 20_000
    assert _png_distinct_rows(data) > 100
    assert _page_console(stderr) == [], "\n".join(_page_console(stderr))


def _width_at(report: Path, tmp: Path, width: int) -> tuple[int, int, str]:
    """(scroll width, client width, the elements sticking out) of `report` shown `width` CSS
    pixels wide: headless Chromium's window is never narrower than 500 px, so the report is
    framed at that width by a page of our own that measures it."""
    frame = tmp / "frame.html"
    frame.write_text(
        f'<html><body><iframe id="f" src="{report.name}" style="width:{width}px;height:900px;'
        'border:0"></iframe><script>document.getElementById("f").onload=function(){'
        "var d=this.contentDocument.documentElement,o=[],all=d.querySelectorAll('*');"
        "for(var i=0;i<all.length;i++){var r=all[i].getBoundingClientRect();"
        "if(r.right>d.clientWidth+1){o.push(all[i].tagName+'.'+all[i].className)}}"
        "document.body.setAttribute('data-w',d.scrollWidth+' '+d.clientWidth+' '+"
        "o.slice(0,8).join(','))}</script></body></html>")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--allow-file-access-from-files", f"--user-data-dir={tmp / 'profile-width'}",
           "--virtual-time-budget=5000", "--dump-dom", frame.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp).stdout
    scroll, client, wide = re.search(r'data-w="(\d+) (\d+) ?([^"]*)"', dom).groups()
    return int(scroll), int(client), wide


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                    "(apt-get install -y chromium) so the report cannot be loaded in a browser")
def test_report_on_a_phone_does_not_scroll_sideways(tmp_path):
    report = tmp_path / "report.html"
    report.write_text(render(results() + big_class(40), title="Backprop lab: report",
                             link=lambda r: "feedback/x.html"), encoding="utf-8")
    scroll, client, wide = _width_at(report, tmp_path, 375)
    assert 300 < client <= 375 and scroll <= client, wide


def big_class(n: int) -> list[Result]:
    """`n` students as a real class's summaries: every test, some failed with misconceptions,
    one in five not gradable (their tests all failed, as the grader scores them)."""
    names = [f"test_{g}::case {k}" for g in ("forward", "chain", "local", "random")
             for k in range(13)][:51]
    out = []
    for i in range(n):
        bad = i % 5 == 0
        tests = [tr(t, 0.0 if bad or (i + k) % 7 == 0 else 1.96, 1.96,
                    **({"misconceptions": ["add-overwrite"]} if (i + k) % 7 == 0 and not bad
                       else {})) for k, t in enumerate(names)]
        extra = student(100 + i, f"Student Number {i} Withalongname",
                        sandbox={"level": "full"})
        if bad:
            extra["error"] = "engine.py, line 12: invalid syntax"
        out.append(Result(tests, execution_time=1.5, extra=extra).summary())
    return out


def test_a_class_of_200_weighs_under_a_megabyte():
    html = render(big_class(200), link=lambda r: "feedback/x.html")
    print(f"report of 200 students: {len(html.encode()) / 1e3:.0f} kB")
    assert len(html.encode()) < 1_000_000
    assert html.count('<tr id="s') == 200


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                    "(apt-get install -y chromium) so the report cannot be loaded in a browser")
def test_students_sort_in_a_real_browser(tmp_path):
    """The page's own script sorts the students: by score (highest first) and by
    misconception (students without one last)."""
    probe = ("<script>var b=document.querySelector('table.students tbody');function ids(){"
             "return [].map.call(b.rows,function(r){return r.getAttribute('data-id')}).join(',')}"
             "document.querySelector('button[data-sort=score]').click();var s=ids();"
             "document.querySelector('button[data-sort=misc]').click();"
             "document.body.setAttribute('data-order',s+'|'+ids())</script>")
    report = tmp_path / "report.html"
    report.write_text(render(results()).replace("</body>", probe + "</body>"), encoding="utf-8")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", report.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    by_score, by_misc = re.search(r'data-order="([^"]*)"', dom)[1].split("|")
    # percents: s0001 100, s0002 60, s0003 54, s0004 40, #7 35, then s0005 and s0006 at 0
    assert by_score.split(",")[:5] == ["s0001", "s0002", "s0003", "s0004", "#7"]
    # by their misconceptions, then name: the two overwrites (Alan, Grace), those and
    # tanh-from-input (Edsger), no-gradient (Mallory), then those with none
    assert by_misc.split(",") == ["s0003", "s0002", "s0004", "s0006", "#7", "s0001", "s0005"]
