"""Each student's feedback: the page (self-contained, on a phone), its text, and what the
platforms show (Gradescope markdown, PrairieLearn text), all from the same `Result`.

The gradients a page shows are checked against an independent truth: central finite differences
of the graph's forward pass (expected) and the buggy engine itself run on the same graph
(received)."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.batch import store
from grader.batch.classroom import grade_class
from grader.checking.misconceptions import explain
from grader.platforms.prairielearn import to_prairielearn
from grader.report import feedback

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mutants  # noqa: E402

GRADER = Path(sys.executable).with_name("grader")
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium")
                                        else None)
PRINTS = '\nprint("<script>alert(1)</script> <img src=https://evil.example/x.png>")\n'
CLASS = {"alice": "reference", "bob": "add-overwrite", "dave": "tanh-from-input",
         "heidi": "mul-swapped", "mallory": "reference+print", "erin": "syntax"}


def source(kind: str) -> str:
    if kind == "reference":
        return mutants.REFERENCE.read_text()
    if kind == "reference+print":
        return mutants.REFERENCE.read_text() + PRINTS
    if kind == "syntax":
        return mutants.REFERENCE.read_text().replace("def __add__(self, other):",
                                                     "def __add__(self, other)", 1)
    return mutants.source(kind)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("feedback")
    for sid, kind in CLASS.items():
        (base / "src").mkdir(exist_ok=True)
        (base / "src" / f"{sid}.py").write_text(source(kind))
    grade_class(base / "src", base / "out", jobs=2, progress=False)
    return base / "out"


def result(out: Path, sid: str):
    return store.read(out / "results" / f"{sid}.json")


class Page(HTMLParser):
    def __init__(self, text: str):
        super().__init__()
        self.tags, self.attrs, self.rows, self.row = [], [], [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag == "tr":
            self.row = []

    def handle_data(self, data):
        if self.row is not None and data.strip():
            self.row.append(data.strip())

    def handle_endtag(self, tag):
        if tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None


# --------------------------------------------------------------------------- independent truth

def engine(kind: str, folder: Path):
    path = folder / f"engine_{kind.replace('-', '_')}.py"
    path.write_text(source(kind))
    spec = importlib.util.spec_from_file_location(f"engine_{kind}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_program(module, program: str, root: str, **shift):
    """Run a graph's program with `module`'s Value; `shift` nudges named leaves."""
    lines = []
    for line in program.splitlines():
        m = re.fullmatch(r"(\w+) = Value\((.+)\)", line.strip())
        if m and m[1] in shift:
            line = f"{m[1]} = Value(({m[2]}) + {shift[m[1]]!r})"
        lines.append(line)
    ns = {"Value": module.Value}
    exec("\n".join(lines), ns)
    return ns


def leaves(program: str) -> list[str]:
    return [m[1] for m in re.finditer(r"^(\w+) = Value\(", program, re.M)]


def table(text: str, test_name: str) -> dict[str, tuple[float, float]]:
    """The Gradients table under a failed test in the plain-text feedback."""
    block = text.split(f"): {test_name}\n", 1)[1].split("\nFAILED (", 1)[0]
    rows = block.split("  Gradients:\n", 1)[1].splitlines()[1:]
    out = {}
    for row in rows:
        parts = row.split()
        if parts[1] != "=":  # leaves only: "a  2  1  <- differs"
            out[parts[0]] = (float(parts[1]), float(parts[2]))
    return out


@pytest.mark.parametrize("sid", ["bob", "dave", "heidi"])
def test_gradients_shown_are_the_maths_and_the_engine(graded, sid):
    r = result(graded, sid)
    reference, buggy = engine("reference", graded.parent), engine(CLASS[sid], graded.parent)
    text = (graded / "feedback" / f"{sid}.txt").read_text()
    checked = differs = 0
    for t in r.tests:
        g = t.extra.get("graph")
        if t.status == "passed" or not g:
            continue
        root = g["nodes"][g["root"]]["label"]
        if not re.search(rf"^{re.escape(root)} = ", g["program"], re.M):
            continue
        shown = table(text, t.name)
        try:
            got = run_program(buggy, g["program"], root)
            got[root].backward()
        except Exception:
            continue  # a program the buggy engine cannot run: nothing independent to compare
        for leaf in leaves(g["program"]):
            if leaf not in shown:
                continue
            h = 1e-6
            up = run_program(reference, g["program"], root, **{leaf: h})[root].data
            down = run_program(reference, g["program"], root, **{leaf: -h})[root].data
            at = run_program(reference, g["program"], root)[root].data
            central, left = (up - down) / (2 * h), (at - down) / h
            # at ReLU's kink the two differ: micrograd (and PyTorch) take the left derivative, 0
            want = left if abs(central - left) > 1e-3 else central
            expected, received = shown[leaf]
            assert expected == pytest.approx(want, rel=1e-4, abs=1e-4), (t.name, leaf)
            if sid != "bob":  # an overwrite's result depends on the order a set is visited in
                assert received == pytest.approx(got[leaf].grad, rel=1e-4, abs=1e-5), \
                    (t.name, leaf)
            differs += received != pytest.approx(expected, rel=1e-6, abs=1e-9)
            checked += 1
    assert differs, "a failed graph shows at least one gradient that differs"
    assert checked >= 3, f"only {checked} gradients of {sid}'s failed graphs could be checked"


# --------------------------------------------------------------------------- the page

def test_every_student_gets_a_page_and_its_text(graded):
    assert sorted(p.name for p in (graded / "feedback").iterdir()) == sorted(
        f"{sid}{ext}" for sid in CLASS for ext in (".html", ".txt"))
    for sid in CLASS:
        r = result(graded, sid)
        html = (graded / "feedback" / f"{sid}.html").read_text()
        text = (graded / "feedback" / f"{sid}.txt").read_text()
        head = f"Score: {r.score:g} / {r.max_score:g}"
        assert head in html and head in text
        page = Page(html)
        assert ("meta", "name", "viewport") in page.attrs
        csp = [v for t, k, v in page.attrs if t == "meta" and k == "content"
               and "default-src" in (v or "")]
        assert csp == ["default-src 'none'; style-src 'unsafe-inline'"]
        # Self-contained: nothing to fetch, nothing to run.
        assert "script" not in page.tags and "img" not in page.tags and "link" not in page.tags
        assert not [a for a in page.attrs if a[1] in ("src", "href")]
        for m in r.misconceptions:  # once each, code spans as code
            assert html.count(feedback.inline(explain(m))) == 1 and text.count(explain(m)) == 1
            assert "<code>" in feedback.inline(explain(m))
        failed = [t for t in r.tests if t.status == "failed"]
        drawn = [t for t in failed if t.extra.get("graph")]
        if not r.extra.get("error"):
            assert page.tags.count("svg") == len(drawn)
            assert text.count("\nFAILED (") == len(failed)
            for t in failed:
                assert feedback.esc(t.name) in html and t.name in text
    erin = (graded / "feedback" / "erin.txt").read_text()
    assert "Not graded:" in erin and "SyntaxError" in erin


def test_page_shows_expected_and_received_gradients(graded):
    r = result(graded, "bob")
    html = (graded / "feedback" / "bob.html").read_text()
    page = Page(html)
    t = next(t for t in r.tests if t.status == "failed" and t.extra.get("graph"))
    rows = [row for row in page.rows if row and row[0] in
            {n["label"] for n in t.extra["graph"]["nodes"]}]
    assert rows
    assert any(row[-1].endswith("\u2717") for row in page.rows), "a differing gradient is marked"


def test_printed_output_is_escaped_on_the_page(graded):
    html = (graded / "feedback" / "mallory.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html
    assert "Notes from grading" in html


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y "
                    "chromium) so the pages cannot be loaded in a browser")
def test_pages_fit_a_phone_in_headless_chromium(graded, tmp_path):
    """Each page laid out 375 px wide (in an iframe: headless windows are at least 500 px) is
    never wider than its frame; a page with the fit taken out is caught overflowing."""
    loose = tmp_path / "loose.html"
    fitted = (graded / "feedback" / "bob.html").read_text()
    assert ".scroll{overflow-x:auto}" in fitted
    loose.write_text(fitted.replace(".scroll{overflow-x:auto}", ""))
    pages = [graded / "feedback" / f"{sid}.html" for sid in CLASS] + [loose]
    frames = "".join(f'<iframe src="{p.as_uri()}" style="width:375px;height:900px;border:0">'
                     "</iframe>" for p in pages)
    harness = tmp_path / "harness.html"
    harness.write_text(
        f"<html><body style=\"margin:0\">{frames}<script>window.onload=function(){{"
        "var out=[];var fs=document.getElementsByTagName('iframe');"
        "for(var i=0;i<fs.length;i++){var d=fs[i].contentDocument.documentElement;"
        "out.push(d.scrollWidth+'/'+d.clientWidth);}"
        "document.title='W '+out.join(' ');};</script></body></html>")
    shot = tmp_path / "phone.png"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
              "--disable-background-networking", "--no-first-run",
              f"--user-data-dir={tmp_path / 'profile'}", "--allow-file-access-from-files"]
    proc = subprocess.run(common + ["--virtual-time-budget=5000", "--dump-dom",
                                    harness.as_uri()],
                          capture_output=True, text=True, timeout=120)
    m = re.search(r"<title>W ([^<]*)</title>", proc.stdout)
    assert m, proc.stderr[-2000:]
    widths = [tuple(map(int, w.split("/"))) for w in m[1].split()]
    assert len(widths) == len(pages)
    for page, (scroll, client) in zip(pages[:-1], widths):
        assert 300 < client <= 375 and scroll <= client, (page.name, scroll, client)
    assert widths[-1][0] > widths[-1][1], "the control page should overflow"

    # And a picture of bob's page on a phone, for a person to look at.
    subprocess.run(common + [f"--screenshot={shot}", "--window-size=375,2000",
                             (graded / "feedback" / "bob.html").as_uri()],
                   capture_output=True, timeout=120)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    keep = os.environ.get("REPORT_SHOT_DIR")
    if keep:
        Path(keep, "feedback-phone.png").write_bytes(data)


# --------------------------------------------------------------------------- the platforms

def test_gradescope_shows_markdown_rendered_from_the_result(graded, tmp_path):
    src = tmp_path / "engine.py"
    src.write_text(source("tanh-from-input"))
    proc = subprocess.run([str(GRADER), "grade", str(src)], capture_output=True, text=True,
                          timeout=120)
    data = json.loads(proc.stdout)
    assert data["test_output_format"] == "md"
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(data, json.loads((HERE / "schema" / "gradescope_results.schema.json")
                                         .read_text()))
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed
    for t in failed:
        md = t["output"]
        if "Graph (then backward()" in md:
            program = t["extra_data"]["graph"]["program"]
            assert f"```\n{program}\n```" in md  # the listing as code, `**` and all
            assert "| node | expected grad | your grad |" in md
        assert "\\*\\*2" in md or "**2" not in md.replace("```", "").split("|")[0]
        assert "`out.data`" in md  # the explanation's code stays code


def test_prairielearn_test_output_ends_with_the_gradients(graded):
    d = to_prairielearn(result(graded, "bob"))
    with_graph = [t for t in d["tests"] if "Gradients:" in t["output"]]
    assert with_graph
    for t in with_graph:
        assert t["message"] != "Passed." and "expected" in t["output"].split("Gradients:")[1]


@pytest.mark.parametrize("fmt", ["gradescope", "text", "prairielearn"])
def test_the_same_hand_in_gets_the_same_bytes_in_every_process(tmp_path, fmt):
    """An engine whose closures raise where a set's order decides which runs first: graded
    in separate processes, every output names the same line (only the time taken differs)."""
    engine = HERE / "corpus" / "typo_in_closures.py"
    outputs = set()
    for _ in range(4):
        proc = subprocess.run([str(GRADER), "grade", str(engine), "--format", fmt],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        text = proc.stdout
        if fmt == "gradescope":
            data = json.loads(text)
            data.pop("execution_time")
            text = json.dumps(data)
        outputs.add(re.sub(r'"execution_time": [0-9.]+', "", text))
    assert len(outputs) == 1
    assert re.search(r"raised at typo\\*_in\\*_closures\.py, line \d+ \(in \w+'s backward\)",
                     outputs.pop())


# --------------------------------------------------------------------------- each thing once

def test_a_page_with_many_failed_tests_says_each_thing_once(graded):
    """bob overwrites in add: seven tests fail for the one misconception."""
    r = result(graded, "bob")
    failed = [t for t in r.tests if t.status == "failed"]
    assert len(failed) >= 5 and r.misconceptions == ["add-overwrite"]
    sentence = explain("add-overwrite")
    html = (graded / "feedback" / "bob.html").read_text()
    text = (graded / "feedback" / "bob.txt").read_text()
    # explained once, at the top; every failed test points to it
    assert html.count(feedback.inline(sentence)) == 1 and text.count(sentence) == 1
    assert text.count("Likely cause: (1) add-overwrite") == len(failed)
    assert html.count("Likely cause: (1) <span class=\"tag\">add-overwrite</span>") == len(failed)
    # code spans are code, never raw backticks on the page
    assert "<code>+=</code>" in html
    assert "`" not in re.sub(r"<pre[^>]*>.*?</pre>", "", html, flags=re.S)
    # no paragraph of a test's feedback is said twice on the page
    paragraphs = [ln.strip() for ln in text.splitlines() if len(ln.strip()) > 60
                  and not ln.strip().startswith("(The rest is as under")]
    assert len(paragraphs) == len(set(paragraphs)), [p for p in paragraphs
                                                     if paragraphs.count(p) > 1][:3]
    summary = feedback.summary(r)
    assert len(summary) < 2000 and summary.count(sentence.replace("`", "")) == 1
    assert len(feedback.summary_html(r)) < 2000
    assert all(t.name in summary for t in failed)


def test_an_ungradable_hand_in_shows_its_sentence_and_the_line(graded):
    r = result(graded, "erin")
    text = (graded / "feedback" / "erin.txt").read_text()
    html = (graded / "feedback" / "erin.html").read_text()
    line = source("syntax").splitlines()[r.extra["error_at"]["line"] - 1]
    assert line == "    def __add__(self, other)"  # the maths: the line the colon is missing on
    assert f"36 | {line}" in text and text.rstrip().endswith("^")
    caret = text.rstrip().splitlines()[-1]
    assert len(caret) - len("    36 | ") == len(line) + 1  # just past its end, where ':' goes
    assert "FAIL" not in text and "Passed" not in text and "Failed tests" not in html
    assert feedback.esc(line) in html
    assert "FAIL" not in terminal_text(r)


def terminal_text(r) -> str:
    from grader.report.text import render

    return render(r)
