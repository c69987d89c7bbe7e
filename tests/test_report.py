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
from grader.results import Result
from grader.results import TestResult as TR

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
        tests=[tr(n, 0.0, output=HOSTILE + "\n" + "x" * 50, misconceptions=["no-gradient"])
               for n in NAMES],
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


def test_header_numbers(page_html):
    cards = dict((k, v) for v, k in re.findall(
        r'<div class="v">([^<]*)</div>(?:<div class="s">[^<]*</div>)?<div class="k">([^<]*)</div>',
        page_html))
    # 6 graded, 1 could not be graded; scores after late penalties: 5, 3, 2.7, 2, 0, 1.75 of 5
    assert cards["graded"] == "6" and cards["failed to grade"] == "1"
    mean = (5 + 3 + 2.7 + 2 + 0 + 1.75) / 6
    assert cards["mean"] == f"{mean / 5 * 100:.3g}%"
    assert cards["median"] == "47%"  # percents 0, 35, 40, 54, 60, 100
    assert cards["max"] == "100%"
    assert "2.35 / 5 pts" in page_html


def test_histogram(page, page_html):
    hist = page.find("svg", **{"class": "hist"})
    assert len(hist) == 1
    svg = re.search(r'<svg class="hist".*?</svg>', page_html, re.S).group(0)
    for lo in range(0, 100, 10):
        assert f">{lo}\u2013{lo + 10}<" in svg
    assert "score (% of maximum)" in svg and "hand-ins" in svg
    # percents 100, 60, 54, 40, 0, 35 -> bins 9, 6, 5, 4, 0, 3
    counts = [int(c) for c in re.findall(r'class="count"[^>]*>(\d+)<', svg)]
    assert counts == [1, 0, 0, 1, 1, 1, 1, 0, 0, 1]
    assert svg.count('class="bar"') == 6


def test_one_row_per_student(page):
    rows = page.find("details", **{"class": "student"})
    assert len(rows) == len(results())
    assert len(page.find("summary")) == len(results())
    text = "".join(page.text)
    for sid in ("s0001", "s0002", "s0003", "s0004", "s0005", "s0006", "#7"):
        assert sid in text


def test_test_pass_rates_and_misconceptions(page, page_html):
    text = " ".join("".join(page.text).split())
    tests = re.search(r'<table class="tests">.*?</table>', page_html, re.S).group(0)
    assert "multi-use add</td><td class=\"num\">1/6" in tests
    assert "single use</td><td class=\"num\">4/6" in tests
    miscs = re.search(r'<table class="miscs">.*?</table>', page_html, re.S).group(0)
    assert re.search(r'add-overwrite</span></td><td class="num">3<', miscs)
    assert re.search(r'tanh-from-input</span></td><td class="num">1<', miscs)
    assert " ".join(explain("add-overwrite").replace("`", "`").split()) in text


def test_slowest_and_failing(page_html):
    two = re.search(r"<h2>Slowest hand-ins</h2>.*?</section>", page_html, re.S).group(0)
    slow, failing = two.split("Failing hand-ins")
    assert slow.index("s0006") < slow.index("s0004")  # 29.7 s before 6 s
    assert "29.7 s" in slow
    assert "syntax error on line 12" in failing and "s0006" in failing and "score 0" in failing
    assert "s0001" not in failing


def test_failed_tests_draw_graph(page_html, page):
    graphs = page.find("svg", **{"class": "graph"})
    # students 2-4: two multi-use graphs each, student 4 also the tanh graph
    assert len(graphs) == 7
    # the overwrite mismatch shows in red; NaN/inf are printed, not crashing
    assert "grad got \u22126 \u2717" in page_html
    assert "grad got NaN" in page_html and "grad got \u221e" in page_html
    assert "grad got \u2014 \u2717" in page_html  # no gradient received at all
    assert "a = Value(-2)" in page_html
    # marker ids are unique in the document
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
    assert "&lt;a&gt;" in html and "made-up-id" in html
    assert render([]).count("<details") == 0


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
    if expanded:  # every student's feedback open, so the graphs are laid out and painted too
        html = html.replace('<details class="student"', '<details open class="student"')
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
