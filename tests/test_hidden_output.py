"""Nothing of a hidden test reaches a student: a hand-in that prints every number it is given
(tests/hostile/print_everything.py: as each request runs, again at every backward pass, from a
thread, at exit, and in exception messages) is graded under a course file that holds groups
and single tests back, and no student output (text, PrairieLearn, Gradescope's shown parts,
feedback pages and texts, the Canvas comment, the Moodle feedback zip) holds a number that
only a held-back test gave it.

The truth of which numbers each test gives a hand-in is the hidden suite itself, its test
functions called with a recorder (tests/suite_cases.py), never the grader's results."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from suite_cases import discover

from grader.checking.check import EQUAL_DATA, PROBES
from grader.course.visibility import for_students
from grader.report import feedback
from grader.results.model import Result

ROOT = Path(__file__).resolve().parents[1]
GRADER = Path(sys.executable).with_name("grader")
HOSTILE = ROOT / "tests" / "hostile" / "print_everything.py"

COURSE = """
[late]
due = "2999-01-01T00:00Z"
[limits]
max_output = 4000000
[groups.random]
visibility = "hidden"
[groups.chain]
visibility = "after_published"
[groups.reuse]
visibility = "after_due_date"
[tests]
test_relu_at_zero = { visibility = "hidden" }
test_add_local = { visibility = "after_published" }
"""
# what each visibility is shown with, as the course says it (the truth for this test)
GROUPS = {"random": "hidden", "chain": "after_published", "reuse": "after_due_date"}
TESTS = {"test_relu_at_zero": "hidden", "test_add_local": "after_published"}
RANK = {"visible": 0, "after_due_date": 1, "after_published": 2, "hidden": 3}


def token(x: float) -> str:
    """How print_everything.py writes a number it is given."""
    return "Z" + repr(float(x)).replace("-", "m").replace(".", "p") + "Z"


class Recorder:
    def __init__(self):
        self.leaves, self.constants = set(), set()

    def _record(self, g):
        for op in g.ops:
            if op[0] == "leaf":
                self.leaves.add(op[1])
            for a in op[1:]:
                if isinstance(a, dict):  # a plain number: the engine makes Values of it,
                    c = a["c"]            # of its negation (a - c) or its inverse (a / c)
                    self.constants |= {c, -c, 1.0, -1.0} | ({1 / c} if c else set())

    def check(self, g, root, wrt=None):
        self._record(g)

    def forward(self, g, root):
        self._record(g)


@pytest.fixture(scope="module")
def numbers():
    """Each visibility's leaf numbers, by what the hidden tests ask (published values)."""
    leaves = {v: set() for v in RANK}
    constants = set()
    for case, func, kwargs in discover():
        module, name = case.split("[")[0].split("::")
        visibility = TESTS.get(name) or GROUPS.get(module.removeprefix("test_"), "visible")
        r = Recorder()
        func(r, **kwargs)
        leaves[visibility] |= r.leaves
        constants |= r.constants
    # the checker's own probe graphs (public, in grader/checking/check.py) may run in any test
    for xs, _ in [*(p for ps in PROBES.values() for p in ps), EQUAL_DATA]:
        constants |= set(xs)
    return leaves, constants


def forbidden(numbers, shown_rank: int) -> set[str]:
    """Tokens only tests held back beyond `shown_rank` give (nothing a shown test gives too)."""
    leaves, constants = numbers
    shown = set().union(*(leaves[v] for v in RANK if RANK[v] <= shown_rank)) | constants
    held = set().union(*(leaves[v] for v in RANK if RANK[v] > shown_rank))
    return {token(x) for x in held - shown}


def allowed(numbers, shown_rank: int) -> set[str]:
    leaves, _ = numbers
    return {token(x) for v in RANK if RANK[v] <= shown_rank for x in leaves[v]}


def found(text: str, tokens: set[str]) -> set[str]:
    return {t for t in tokens if t in text}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    d = tmp_path_factory.mktemp("hidden")
    (d / "grader.toml").write_text(COURSE)
    handin = d / "engine.py"
    handin.write_text((ROOT / "solutions" / "engine.py").read_text() + "\n"
                      + HOSTILE.read_text())
    out = {}
    for name, args in {"gradescope": [], "text": ["--format", "text"],
                       "published": ["--format", "text", "--published"],
                       "prairielearn": ["--format", "prairielearn"]}.items():
        proc = subprocess.run([str(GRADER), "grade", str(handin), "--published-values", *args],
                              cwd=d, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        out[name] = proc.stdout
    # a class: the same hand-in as a Moodle participant's upload
    moodle = d / "download" / "Ada Lovelace_1234_assignsubmission_file_"
    moodle.mkdir(parents=True)
    (moodle / "engine.py").write_text(handin.read_text())
    proc = subprocess.run([str(GRADER), "batch", str(d / "download"), "--out", str(d / "class"),
                           "--published-values"],
                          cwd=d, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return d, out


def test_the_hand_in_told_the_grader_hidden_numbers(graded, numbers):
    """The instructor's result holds what it printed in held-back tests: the leak is real."""
    _, out = graded
    full = json.dumps(json.loads(out["gradescope"]))
    # how many depends on how its printing thread interleaves with its tests (each test keeps
    # the first 2000 characters printed while it ran): 19 or 22 in six runs here
    assert len(found(full, forbidden(numbers, RANK["visible"]))) >= 10
    assert len(found(full, forbidden(numbers, RANK["after_published"]))) >= 10


def test_text_and_prairielearn_show_no_held_back_number(graded, numbers):
    _, out = graded
    for name, shown in (("text", "visible"), ("prairielearn", "visible"),
                        ("published", "after_published")):
        assert not found(out[name], forbidden(numbers, RANK[shown])), name
        assert found(out[name], allowed(numbers, RANK[shown])), name  # it does print


def test_gradescope_shows_each_test_only_what_it_was_given(graded, numbers):
    _, out = graded
    data = json.loads(out["gradescope"])
    top = data["output"]
    assert "Your code printed while loading:\nloaded; nothing seen yet" in top
    assert not found(top, forbidden(numbers, RANK["visible"]))
    assert "seen so far" not in top and "given" not in top  # printed in tests, shown with them
    shown_any = False
    for t in data["tests"]:
        if t["visibility"] == "hidden":
            continue
        text = t["name"] + t["output"]
        assert not found(text, forbidden(numbers, RANK[t["visibility"]])), t["name"]
        shown_any |= bool(found(text, allowed(numbers, RANK[t["visibility"]])))
    assert shown_any


def test_feedback_pages_canvas_comment_and_moodle_zip(graded, numbers):
    d, _ = graded
    bad = forbidden(numbers, RANK["visible"])
    pages = list((d / "class" / "feedback").iterdir())
    assert len(pages) == 2
    for page in pages:
        text = page.read_text()
        assert not found(text, bad), page.name
        assert found(text, allowed(numbers, RANK["visible"])), page.name
    with zipfile.ZipFile(d / "class" / "moodle-feedback.zip") as z:
        for name in z.namelist():
            assert not found(z.read(name).decode(), bad), name
    result = Result.from_json(json.loads(next((d / "class" / "results").glob("*.json"))
                                         .read_text()))
    comment = feedback.text(for_students(result, "2999-01-01T00:00Z"))  # what Canvas gets
    assert not found(comment, bad)
    assert found(json.dumps(result.to_json()), bad)  # the instructor's own view keeps it


def test_gradescope_top_level_names_only_what_visible_tests_found(tmp_path):
    """Gradescope shows the top-level output whatever each test's visibility: the
    misconceptions it lists are those of visible tests, never one only a held-back test found."""
    from grader.checking.misconceptions import explain

    sys.path.insert(0, str(ROOT / "tests"))
    from mutants import source

    (tmp_path / "grader.toml").write_text(COURSE)
    (tmp_path / "engine.py").write_text(source("add-overwrite"))
    proc = subprocess.run([str(GRADER), "grade", "engine.py"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    by = {}
    for t in data["tests"]:
        for m in t["extra_data"].get("misconceptions", []):
            by.setdefault(m, set()).add(t["visibility"])
    only_held = {m for m, v in by.items() if "visible" not in v}
    shown = {m for m, v in by.items() if "visible" in v}
    assert only_held, by  # the course holds back a test that finds something of its own
    for m in only_held:
        assert explain(m) not in data["output"], m
    for m in shown:
        assert explain(m) in data["output"], m


def test_a_result_graded_in_another_order_shows_no_late_printed_text():
    """A course file changed after grading (a test that ran early is now held back): what
    later tests printed is not shown, and `in_order` says the result must be graded again."""
    from grader.course.visibility import in_order, printed_in_order
    from grader.results.model import TestResult

    def test(name, ran, visibility):
        return TestResult(name, 1, 1, f"Passed.\n\nYour code printed during this test:\n{name}!",
                          visibility=visibility, extra={"test": name, "ran": ran, "printed": 5})
    held_first = Result([test("a", 1, "visible"), test("b", 0, "hidden")])
    assert not in_order(held_first, {"a": "visible", "b": "hidden"})
    assert in_order(held_first, {"a": "hidden", "b": "visible"})
    shown = printed_in_order(held_first).tests
    assert "a!" not in shown[0].output and "not shown" in shown[0].output
    assert "b!" in shown[1].output  # its own text, shown only with it
    assert "a!" in for_students(Result([test("a", 0, "visible"), test("b", 1, "hidden")]))\
        .tests[0].output
