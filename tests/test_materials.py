"""The student materials: generated from the masters in solutions/, and the check students run.

* every committed generated file (assignments/, samples/canvas/) is what `grader materials build`
  makes, and an instructor's hint in the master reaches the stub and the notebook;
* the stub is the reference with only the marked closure bodies replaced;
* `python check.py` beside engine.py, the notebook's `check(Value)` and `pytest test_public.py`
  pass the reference, explain the stub per operation and name each one-bug engine's
  misconception (expected from the bug planted, tests/mutants.py), and agree with each other;
* nothing shipped to students holds a hidden graph or a line of the reference closures;
* the sample class grades as the bugs planted in it say.
"""
from __future__ import annotations

import ast
import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from grader.checking.graph import Graph
from grader.checking.misconceptions import TEXT, explain
from grader.materials import generate, stale
from grader.materials.master import Master, MasterError
from mutants import MUTANTS, source

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "solutions" / "engine.py"
STUB = ROOT / "assignments" / "engine.py"
CHECK = ROOT / "assignments" / "check.py"
PUBLIC_TESTS = ROOT / "assignments" / "test_public.py"
NOTEBOOK = ROOT / "assignments" / "engine.ipynb"
SHIPPED = [STUB, CHECK, PUBLIC_TESTS, NOTEBOOK]
GRADER = Path(sys.executable).with_name("grader")

OPS = {"__add__": "add", "__mul__": "mul", "__pow__": "pow", "exp": "exp", "tanh": "tanh",
       "relu": "relu"}
_ENV = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")  # no __pycache__ left in assignments/
HIDDEN_WORDS = "Hidden tests will also run"


# --------------------------------------------------------------------------- helpers

def _load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _value(engine_source: str, tmp_path: Path, name: str):
    path = tmp_path / f"{name}.py"
    path.write_text(engine_source)
    return _load_module(path, f"_engine_{name.replace('-', '_')}").Value


@pytest.fixture(scope="module")
def check():
    return _load_module(CHECK, "_student_check")


def _student_folder(tmp_path: Path, engine_source: str) -> Path:
    """What a student has: engine.py and check.py, nothing else."""
    folder = tmp_path / "handin"
    folder.mkdir(parents=True)
    (folder / "engine.py").write_text(engine_source)
    shutil.copy(CHECK, folder / "check.py")
    return folder


def _run_check(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "check.py"], cwd=folder, capture_output=True,
                          text=True, timeout=60, env=_ENV)


def _run_public_tests(folder: Path) -> list[dict]:
    shutil.copy(PUBLIC_TESTS, folder / "test_public.py")
    (folder / "pytest.ini").write_text("[pytest]\n")  # keep the repo's config out of it
    report = folder / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--junitxml={report}", "test_public.py"],
        cwd=folder, capture_output=True, text=True, timeout=120, env=_ENV)
    assert report.exists(), f"pytest produced no report:\n{proc.stdout}\n{proc.stderr}"
    cases = []
    for case in ET.parse(report).getroot().iter("testcase"):
        problems = [child for child in case if child.tag in ("failure", "error", "skipped")]
        cases.append({
            "id": case.get("name").split("[", 1)[1].rstrip("]"),
            "outcome": problems[0].tag if problems else "passed",
            "message": " ".join((p.get("message") or "") + (p.text or "") for p in problems),
        })
    return cases


def _causes_named(output: str) -> set[str]:
    """The misconceptions whose explanation a report prints."""
    return {mid for mid, text in TEXT.items() if text in output}


# --------------------------------------------------------------------------- generation

def test_committed_files_are_what_the_masters_generate():
    assert stale(ROOT) == [], "run `grader materials build` and commit what it writes"


def test_build_command_reports_and_fixes_a_stale_file(tmp_path):
    course = tmp_path / "course"
    for folder in ("solutions", "assignments", "samples"):
        shutil.copytree(ROOT / folder, course / folder)
    master = course / "solutions" / "engine.py"
    master.write_text(master.read_text().replace(
        "# d(out)/d(self) = 1 - t ** 2;", "# tanh'(x) = 1 - tanh(x)**2, and tanh(x) is t;"))

    def grader(*args):
        return subprocess.run([str(GRADER), "materials", "build", str(course), *args],
                              capture_output=True, text=True, timeout=120)

    checked = grader("--check")
    assert checked.returncode == 1
    assert "out of date: assignments/engine.py" in checked.stdout
    assert "out of date: assignments/engine.ipynb" in checked.stdout
    assert grader().returncode == 0
    assert grader("--check").returncode == 0 and "up to date" in grader("--check").stdout
    stub = (course / "assignments" / "engine.py").read_text()
    hint = ("TODO: tanh'(x) = 1 - tanh(x)**2, and tanh(x) is t; "
            "multiply by out.grad and accumulate with +=")
    assert f'raise NotImplementedError("{hint}")' in stub
    assert hint in (course / "assignments" / "engine.ipynb").read_text()


def test_python_dash_m_is_the_same_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grader.materials", str(ROOT), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "up to date" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("edit, words", [
    (("            # --- end ---\n        out._backward = _backward\n        return out\n\n"
      "    def __mul__",
      "        out._backward = _backward\n        return out\n\n    def __mul__"),
     ["line 54", "before the one at line 41 is closed"]),
    (("            # d(out)/d(self) = 1 and d(out)/d(other) = 1;\n"
      "            # multiply by out.grad and accumulate with +=\n", ""), ["line 41", "no hint"]),
    (("# --- backward: mul ---", "# --- backward: add ---"), ["line 55", "second"]),
    (("# --- backward: relu ---", "# --- backwards: relu ---"), ["unknown marker"]),
])
def test_a_malformed_master_is_one_line_naming_file_and_line(tmp_path, edit, words):
    text = REFERENCE.read_text()
    assert text.count(edit[0]) == 1
    with pytest.raises(MasterError) as err:
        Master(text.replace(edit[0], edit[1]))
    assert str(err.value).startswith("solutions/engine.py, line ")
    for word in words:
        assert word in str(err.value)
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    (course / "solutions" / "engine.py").write_text(text.replace(edit[0], edit[1]))
    proc = subprocess.run([str(GRADER), "materials", "build", str(course)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "solutions/engine.py, line" in proc.stderr


def test_a_master_without_regions_is_refused():
    with pytest.raises(MasterError, match="no `# --- backward: <op> ---` region"):
        Master("class Value:\n    pass\n")


def test_master_regions_are_the_six_closures():
    master = Master(REFERENCE.read_text())
    assert master.methods == OPS
    for op, region in master.regions.items():
        assert region.hint and region.body, op


# --------------------------------------------------------------------------- engine.py

def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _split_closures(text: str) -> tuple[str, dict[str, list[ast.stmt]]]:
    """(dump of the module with the six closure bodies blanked, {method: closure body})."""
    tree = ast.parse(text)
    tree.body = _strip_docstring(tree.body)
    (value,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Value"]
    methods = {n.name: n for n in value.body if isinstance(n, ast.FunctionDef)}
    bodies = {}
    for method in OPS:
        closures = [n for n in methods[method].body
                    if isinstance(n, ast.FunctionDef) and n.name == "_backward"]
        assert len(closures) == 1, f"Value.{method} should define exactly one _backward closure"
        bodies[method] = closures[0].body
        closures[0].body = [ast.Pass()]
    return ast.dump(tree), bodies


def test_stub_equals_reference_outside_closure_bodies():
    ref_dump, _ = _split_closures(REFERENCE.read_text())
    stub_dump, _ = _split_closures(STUB.read_text())
    assert stub_dump == ref_dump


def test_stub_closures_raise_the_masters_hints():
    master = Master(REFERENCE.read_text())
    _, bodies = _split_closures(STUB.read_text())
    for method, body in bodies.items():
        assert len(body) == 1 and isinstance(body[0], ast.Raise), method
        exc = body[0].exc
        assert isinstance(exc, ast.Call) and exc.func.id == "NotImplementedError", method
        message = exc.args[0].value
        assert message == "TODO: " + master.regions[OPS[method]].hint
        assert "+=" in message and "out.grad" in message


def test_stub_module_docstring_points_at_the_check():
    doc = ast.get_docstring(ast.parse(STUB.read_text()))
    assert doc and "_backward" in doc and "+=" in doc and "python check.py" in doc


def test_stub_forward_passes_match_the_maths(tmp_path):
    import math
    for name, path in (("reference", REFERENCE), ("stub", STUB)):
        V = _value(path.read_text(), tmp_path, name)
        x, y = V(1.5), V(-2.0)
        got = [(x + y).data, (x * y).data, (x ** 3).data, x.exp().data, y.tanh().data,
               y.relu().data, x.relu().data, (-x).data, (x - y).data, (2 - x).data,
               (2 + x).data, (2 * x).data, (x / y).data, (2 / x).data]
        want = [-0.5, -3.0, 3.375, math.exp(1.5), math.tanh(-2.0), 0.0, 1.5, -1.5, 3.5, 0.5,
                3.5, 3.0, -0.75, 2 / 1.5]
        assert got == pytest.approx(want), name


# --------------------------------------------------------------------------- python check.py

def test_check_passes_the_reference(tmp_path):
    proc = _run_check(_student_folder(tmp_path, REFERENCE.read_text()))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout and "Likely cause" not in proc.stdout
    assert HIDDEN_WORDS in proc.stdout
    assert sorted(p.name for p in (tmp_path / "handin").iterdir()) == ["check.py", "engine.py"]


def test_check_explains_the_stub_per_operation(tmp_path):
    proc = _run_check(_student_folder(tmp_path, STUB.read_text()))
    assert proc.returncode == 1
    lines = STUB.read_text().splitlines()
    for method, op in OPS.items():
        line = next(i for i, text in enumerate(lines, start=1)
                    if text.strip().startswith("raise NotImplementedError")
                    and _enclosing(lines, i) == method)
        assert (f"`{op}`'s backward still raises NotImplementedError at engine.py, line {line}: "
                "not filled in yet.") in proc.stdout
    assert "the backward of add, mul, pow, exp, tanh, relu." in proc.stdout
    assert _causes_named(proc.stdout) == {"stub"}
    assert "0 of " in proc.stdout and HIDDEN_WORDS in proc.stdout


def _enclosing(lines: list[str], number: int) -> str:
    for text in reversed(lines[:number]):
        if text.startswith("    def "):
            return text.split("def ", 1)[1].split("(", 1)[0]
    return ""


@pytest.mark.parametrize("name", MUTANTS)
def test_check_names_each_planted_bug(tmp_path, name, check):
    expected = MUTANTS[name][0]
    proc = _run_check(_student_folder(tmp_path, source(name)))
    assert proc.returncode == 1, proc.stdout
    assert explain(expected) in proc.stdout, proc.stdout
    assert HIDDEN_WORDS in proc.stdout
    # every graph that fails points (among others, where the numbers allow) to the bug planted
    failures = check.run_all(_value(source(name), tmp_path, name))
    assert failures
    for cid, failure in failures.items():
        assert expected in failure.causes, (cid, failure.causes)
    if name == "typo-mul":
        assert "NameError: name 'slef' is not defined raised at engine.py, line" in proc.stdout
        assert "(in mul's backward) during backward()" in proc.stdout
    if name == "stub-tanh":
        assert "`tanh`'s backward still raises NotImplementedError" in proc.stdout


def test_check_names_one_cause_where_the_graphs_tell_them_apart(tmp_path, check):
    """`b = a + a` alone cannot tell an overwriting `+` from a one-sided one; `a + b` passing
    rules the one-sided `+` out."""
    failures = check.run_all(_value(source("add-overwrite"), tmp_path, "add-overwrite"))
    assert "a-plus-a" in failures
    assert all(f.causes == ["add-overwrite"] for f in failures.values())


@pytest.mark.parametrize("name", [n for n in MUTANTS if MUTANTS[n][0].endswith("-overwrite")])
def test_check_verdicts_do_not_depend_on_the_order_siblings_are_visited_in(tmp_path, check, name):
    """An overwrite passes some graphs in one visiting order and fails them in the other; the
    check still fails the same graphs, as the grader scores the same hand-in the same."""
    text = source(name)
    assert text.count("self._prev = set(_children)") == 1
    verdicts = []
    for order, children in (("forward", "list(_children)"), ("reversed", "list(_children)[::-1]")):
        engine = text.replace("set(_children)", children)
        failures = check.run_all(_value(engine, tmp_path, f"{name}-{order}"))
        verdicts.append(sorted(failures))
        assert all(MUTANTS[name][0] in f.causes for f in failures.values())
    assert verdicts[0] == verdicts[1]


@pytest.mark.parametrize("edit, cause, words", [
    (("            self.grad += out.grad\n            other.grad += out.grad\n",
      "            self.grad += 2 * out.grad\n            other.grad += 2 * out.grad\n"),
     "unknown", "Expected a.grad = 1, got 2."),
    (("self.grad = 0.0", "self.grad = 0j"), "not-a-number",
     "A .data or .grad could not be turned into a float"),
    (("self._backward = lambda: None", "self._backward = lambda: 1 / 0"), "exception",
     "ZeroDivisionError: division by zero raised at engine.py, line"),
])
def test_check_explains_what_no_misconception_covers(tmp_path, edit, cause, words):
    text = REFERENCE.read_text()
    assert text.count(edit[0]) == 1
    proc = _run_check(_student_folder(tmp_path, text.replace(*edit)))
    assert proc.returncode == 1 and not proc.stderr, proc.stderr
    assert words in proc.stdout and explain(cause) in proc.stdout, proc.stdout


@pytest.mark.parametrize("engine, words", [
    ("import math\n\nclass Value:\n    def f(self)\n        pass\n",
     "engine.py, line 4: SyntaxError: expected ':'"),
    ("import numpy_that_is_not_there\n",
     "engine.py, line 1: ModuleNotFoundError: No module named 'numpy_that_is_not_there'"),
    ("class Scalar:\n    pass\n", "engine.py defines no `Value` class."),
])
def test_check_says_why_engine_py_does_not_load(tmp_path, engine, words):
    proc = _run_check(_student_folder(tmp_path, engine))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert words in proc.stderr, proc.stderr


# --------------------------------------------------------------------------- test_public.py

@pytest.mark.parametrize("name", ["reference", "stub", *MUTANTS])
def test_public_tests_are_the_check_and_agree_with_it(tmp_path, check, name):
    text = {"reference": REFERENCE, "stub": STUB}.get(name)
    folder = _student_folder(tmp_path, text.read_text() if text else source(name))
    cases = _run_public_tests(folder)
    assert [c["id"] for c in cases] == [c["id"] for c in check.CASES]
    report = _run_check(folder).stdout
    for case, title in zip(cases, (c["title"] for c in check.CASES)):
        verdict = "passed" if f"  ok    {title}" in report else "failure"
        assert case["outcome"] == verdict, case
    failed = [c for c in cases if c["outcome"] != "passed"]
    assert bool(failed) == (name != "reference")
    for case in failed:  # in the grader's words, naming what the check's report names
        assert "Likely cause" in case["message"]
        assert _causes_named(case["message"]) <= _causes_named(report)
        if name == "stub":
            assert "NotImplementedError" in case["message"]


def test_public_tests_run_from_repo_root():
    """`pytest assignments/test_public.py` from the repo root checks the stub engine."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(PUBLIC_TESTS.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=_ENV)
    assert "NotImplementedError" in proc.stdout, proc.stdout + proc.stderr
    assert "passed" not in proc.stdout.splitlines()[-1], proc.stdout


# --------------------------------------------------------------------------- the notebook

@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def _code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _tagged(nb, tag: str) -> int:
    found = [i for i, cell in enumerate(_code_cells(nb)) if tag in cell.metadata.get("tags", [])]
    assert len(found) == 1, f"expected one code cell tagged {tag!r}, found {len(found)}"
    return found[0]


RUN_CELLS = textwrap.dedent('''
    """Run a notebook's code cells in order in one namespace, as a fresh kernel's "Run all"
    would: the first cell that raises stops the run."""
    import sys
    import nbformat

    nb = nbformat.read(sys.argv[1], as_version=4)
    namespace = {"__name__": "__main__", "display": print}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.source.lstrip().startswith("%%"):
            continue
        source = "\\n".join("" if line.lstrip().startswith(("%", "!")) else line
                            for line in cell.source.splitlines())
        try:
            exec(compile(source, f"<cell {i}>", "exec"), namespace)
        except Exception as e:
            print(f"[cell {i} raised {type(e).__name__}: {e}]")
            break
''')


def _run_notebook(tmp_path: Path, engine_cell: str | None) -> str:
    """The output of every cell of the lecture notebook, `engine_cell` in place of the stub,
    run in a fresh Python process."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    if engine_cell is not None:
        _code_cells(nb)[_tagged(nb, "engine")].source = engine_cell
    path = tmp_path / "engine.ipynb"
    nbformat.write(nb, path)
    proc = subprocess.run([sys.executable, "-c", RUN_CELLS, str(path)], capture_output=True,
                          text=True, timeout=120, env=_ENV, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_notebook_validates_and_has_no_outputs(notebook):
    nbformat.validate(notebook)
    for cell in _code_cells(notebook):
        assert cell.outputs == [] and cell.execution_count is None


def test_notebook_is_in_the_lectures_order(notebook):
    cells = _code_cells(notebook)
    engine, check_cell = _tagged(notebook, "engine"), _tagged(notebook, "check")
    assert engine < check_cell == len(cells) - 2
    assert cells[-1].source.strip() == "check(Value)"
    assert any("graphviz" in c.source for c in cells[engine:check_cell]), "optional drawing"
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    for needle in ("a = Value(-2.0); b = Value(3.0)", "a.grad == -3.0", "b.grad == -8.0",
                   "b = a + a", "+=", "self.grad =", "hidden tests"):
        assert needle in text, f"markdown should mention {needle!r}"


def test_notebook_engine_cell_is_engine_py(notebook):
    cell = ast.parse(_code_cells(notebook)[_tagged(notebook, "engine")].source)
    stub = ast.parse(STUB.read_text())
    stub.body = _strip_docstring(stub.body)
    assert ast.dump(cell) == ast.dump(stub)


def test_notebook_check_cell_is_check_py_without_loading_engine_py(notebook):
    cell = _code_cells(notebook)[_tagged(notebook, "check")].source
    assert cell.strip() and CHECK.read_text().startswith(cell.rstrip("\n"))
    assert "import engine" not in cell and "__main__" not in cell


def test_notebook_with_the_reference_passes_its_check(tmp_path):
    out = _run_notebook(tmp_path, REFERENCE.read_text())
    assert "raised" not in out, out
    assert "a.grad = -3.0, b.grad = -8.0" in out
    assert "FAIL" not in out and HIDDEN_WORDS in out
    assert out.rstrip().splitlines()[-2].endswith("public checks pass.")


def test_notebook_with_the_stub_explains_it_per_operation(tmp_path):
    out = _run_notebook(tmp_path, None)
    assert "Not yet: NotImplementedError: TODO:" in out  # the worked examples, before the check
    assert "[cell " not in out  # no cell stopped "Run all"
    for op in OPS.values():
        assert f"`{op}`'s backward still raises NotImplementedError at line " in out
    assert "of its notebook cell" in out and HIDDEN_WORDS in out


@pytest.mark.parametrize("name", ["mul-no-outgrad", "relu-at-zero", "tanh-overwrite",
                                  "mul-overwrite-other", "typo-pow"])
def test_notebook_check_names_a_planted_bug(tmp_path, name):
    """"Run all" reaches the check whatever the demos before it meet."""
    out = _run_notebook(tmp_path, source(name))
    assert "[cell " not in out, out
    report = out[out.index("Checking your Value"):]
    assert _causes_named(report) == {MUTANTS[name][0]}, report


# --------------------------------------------------------------------------- what students get

RECORD_SUITE = textwrap.dedent('''
    """Print every graph the hidden suite and the grader's probes build, as JSON."""
    import json
    import sys

    import pytest

    from grader.checking.check import EQUAL_DATA, PROBES
    from grader.checking.graph import Graph

    graphs = []

    def record(g, root):
        graphs.append({"ops": g.ops[:root.index + 1], "program": g.program(root.index)})

    class Recorder:
        """Any of the engine's methods (check, forward, ...) takes the graph and its root."""
        from grader.checking.instance import PUBLISHED as instance  # the suite's own values

        def __getattr__(self, name):
            return lambda g, root, *args, **kwargs: record(g, root)

    class Plugin:
        def pytest_configure(self, config):
            config.addinivalue_line("markers", "weight(n): points")

        @pytest.fixture
        def engine(self):
            return Recorder()

    suite = sys.argv[1]
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-c", suite + "/pytest.ini",
                        "--rootdir", suite, suite], plugins=[Plugin()])
    for at, build in [probe for probes in PROBES.values() for probe in probes] + [EQUAL_DATA]:
        g = Graph()
        record(g, build(*g.leaves(*at)).named("out"))
    print("GRAPHS " + json.dumps({"code": int(code), "graphs": graphs}))
''')


@pytest.fixture(scope="module")
def hidden_graphs() -> list[dict]:
    proc = subprocess.run([sys.executable, "-c", RECORD_SUITE, str(ROOT / "grader" / "suite")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("GRAPHS "))
    recorded = json.loads(line[len("GRAPHS "):])
    assert recorded["code"] == 0, proc.stdout
    assert len(recorded["graphs"]) >= 30
    return recorded["graphs"]


def _lecture_graph() -> list:
    """The lecture's worked example, public by definition: its prose works it through."""
    g = Graph()
    a, b = g.leaves(-2.0, 3.0)
    return json.loads(json.dumps(((a * b) * (a + b)).graph.ops))


def _shipped_text() -> str:
    parts = [p.read_text() for p in SHIPPED if p.suffix == ".py"]
    parts += [cell.source for cell in nbformat.read(NOTEBOOK, as_version=4).cells]
    return "\n".join(parts)


def test_no_hidden_graph_is_shipped(hidden_graphs, check):
    lecture = _lecture_graph()
    hidden = [g["ops"] for g in hidden_graphs if g["ops"] != lecture]
    for case in check.CASES:
        assert case["ops"] not in hidden, f"public check {case['id']!r} is a hidden test's graph"
    text = _shipped_text()
    for g in hidden_graphs:
        if g["ops"] != lecture:
            assert g["program"] not in text, g["program"]


def test_no_reference_closure_is_shipped():
    text = " ".join(_shipped_text().split())
    lines = Master(REFERENCE.read_text()).reference_lines()
    assert len(lines) >= 7
    for line in lines:
        assert " ".join(line.split()) not in text, line


def test_the_check_speaks_the_graders_words(check):
    assert check.CAUSES == {mid: explain(mid) for mid in check.CAUSES}
    for case in check.CASES:
        for bug, _, _ in case["bugs"]:
            assert bug in check.CAUSES


# --------------------------------------------------------------------------- the sample class

# student: (misconception of the bug planted, or the reason it cannot be graded)
SAMPLE_CLASS = {
    "lovelaceada": "",
    "turingalan": "add-overwrite",
    "hoppergrace": "tanh-from-input",
    "noetheremmy": "relu-at-zero",  # the newer of two submissions
    "gausscarl": "SyntaxError",
    "eulerleonhard": "stub",
    "kovalevskayasofia": "mul-no-outgrad",
}


def test_sample_class_grades_as_planted(tmp_path):
    proc = subprocess.run([str(GRADER), "batch", str(ROOT / "samples" / "canvas"), "--out",
                           str(tmp_path / "out"), "--late-penalty", "10%/day"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "out" / "gradebook.csv") as f:
        rows = {row["name"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(SAMPLE_CLASS)
    for name, planted in SAMPLE_CLASS.items():
        row = rows[name]
        if planted == "SyntaxError":
            assert planted in row["error"]
        else:
            assert row["misconceptions"] == planted, name
    assert rows["lovelaceada"]["score"] == rows["lovelaceada"]["max_score"]
    assert rows["turingalan"]["late"] == "inferred"  # a Canvas _LATE flag carries no time
    assert rows["gausscarl"]["score"] == "0"


def test_sample_class_files_are_generated():
    files = generate(ROOT)
    names = sorted(p.rsplit("/", 1)[1] for p in files if p.startswith("samples/canvas/"))
    assert names == sorted(p.name for p in (ROOT / "samples" / "canvas").iterdir())
