"""Checks on the student materials in assignments/ against the reference in solutions/.

* the public tests pass against the reference engine and fail (NotImplementedError) against the stub;
* assignments/engine.py is the reference with only the six `_backward` closure bodies stubbed out;
* the notebook validates, carries the same engine class, and its cells run (skipping magics and the
  optional graphviz cell): forward passes work with the stub, and the worked examples pass once the
  reference closures are in place.
"""
from __future__ import annotations

import ast
import importlib.util
import math
import shutil
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "solutions" / "engine.py"
STUB = ROOT / "assignments" / "engine.py"
PUBLIC_TESTS = ROOT / "assignments" / "test_public.py"
NOTEBOOK = ROOT / "assignments" / "engine.ipynb"

CLOSURE_OPS = ("__add__", "__mul__", "__pow__", "exp", "tanh", "relu")
_ENV = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")  # no __pycache__ left in assignments/


# --------------------------------------------------------------------------- helpers

def _load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_public_tests(engine: Path, tmp_path: Path) -> list[dict]:
    """Run test_public.py in a subprocess with `engine` copied next to it as engine.py."""
    shutil.copy(engine, tmp_path / "engine.py")
    shutil.copy(PUBLIC_TESTS, tmp_path / "test_public.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # keep the repo's config out of it
    report = tmp_path / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--junitxml={report}", "test_public.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=_ENV,
    )
    assert report.exists(), f"pytest produced no report:\n{proc.stdout}\n{proc.stderr}"
    cases = []
    for case in ET.parse(report).getroot().iter("testcase"):
        problems = [child for child in case if child.tag in ("failure", "error", "skipped")]
        cases.append({
            "name": case.get("name"),
            "outcome": problems[0].tag if problems else "passed",
            "message": " ".join((p.get("message") or "") + (p.text or "") for p in problems),
        })
    return cases


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _value_class(tree: ast.Module) -> ast.ClassDef:
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Value"]
    assert len(classes) == 1, "expected exactly one top-level class Value"
    return classes[0]


def _split_closures(source: str) -> tuple[str, dict[str, list[ast.stmt]]]:
    """Return (dump of the module with the six closure bodies blanked, {op: closure body})."""
    tree = ast.parse(source)
    tree.body = _strip_docstring(tree.body)
    methods = {n.name: n for n in _value_class(tree).body if isinstance(n, ast.FunctionDef)}
    bodies = {}
    for op in CLOSURE_OPS:
        assert op in methods, f"Value.{op} is missing"
        closures = [n for n in methods[op].body if isinstance(n, ast.FunctionDef) and n.name == "_backward"]
        assert len(closures) == 1, f"Value.{op} should define exactly one _backward closure"
        bodies[op] = closures[0].body
        closures[0].body = [ast.Pass()]
    return ast.dump(tree), bodies


def _is_plot_cell(source: str) -> bool:
    return "graphviz" in source or "draw_dot(" in source


def _runnable(source: str) -> str:
    """Cell source without IPython magics and shell escapes; a cell magic drops the whole cell."""
    if source.lstrip().startswith("%%"):
        return ""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def _code_cells(nb) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def _defines_value(source: str) -> bool:
    try:
        tree = ast.parse(_runnable(source))
    except SyntaxError:
        return False
    return any(isinstance(n, ast.ClassDef) and n.name == "Value" for n in tree.body)


def _run_cells(cells: list[str], allow_not_implemented: bool) -> tuple[dict, list[str]]:
    """Exec the non-plot cells in order in one fresh namespace, as a kernel would."""
    namespace: dict = {"__name__": "__main__"}
    stubbed = []
    for i, source in enumerate(cells):
        if _is_plot_cell(source):
            continue
        code = _runnable(source)
        try:
            exec(compile(code, f"<cell {i}>", "exec"), namespace)
        except NotImplementedError as exc:
            if not allow_not_implemented:
                raise
            stubbed.append(str(exc))
    return namespace, stubbed


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def engine_cell_index(notebook):
    cells = _code_cells(notebook)
    found = [i for i, source in enumerate(cells) if _defines_value(source)]
    assert len(found) == 1, f"expected exactly one code cell defining class Value, found {len(found)}"
    return found[0]


# --------------------------------------------------------------------------- public tests

def test_public_tests_pass_against_reference(tmp_path):
    cases = _run_public_tests(REFERENCE, tmp_path)
    assert 8 <= len(cases) <= 12, f"expected 8-12 public tests, found {len(cases)}"
    failing = [c for c in cases if c["outcome"] != "passed"]
    assert not failing, f"public tests fail against the reference: {failing}"


def test_public_tests_fail_against_stub(tmp_path):
    cases = _run_public_tests(STUB, tmp_path)
    assert cases, "no public tests were collected"
    passing = [c["name"] for c in cases if c["outcome"] == "passed"]
    assert not passing, f"these public tests pass without any closure filled in: {passing}"
    for case in cases:
        assert case["outcome"] == "failure" and "NotImplementedError" in case["message"], case


def test_public_tests_run_from_repo_root():
    """`pytest assignments/test_public.py` from the repo root must import the stub engine."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(PUBLIC_TESTS.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=_ENV,
    )
    assert "NotImplementedError" in proc.stdout, proc.stdout + proc.stderr
    assert "passed" not in proc.stdout.splitlines()[-1], proc.stdout


# --------------------------------------------------------------------------- engine.py

def test_stub_equals_reference_outside_closure_bodies():
    ref_dump, _ = _split_closures(REFERENCE.read_text())
    stub_dump, _ = _split_closures(STUB.read_text())
    assert stub_dump == ref_dump, "assignments/engine.py differs from the reference outside the six closure bodies"


def test_stub_closures_are_todo_stubs():
    _, bodies = _split_closures(STUB.read_text())
    for op, body in bodies.items():
        assert len(body) == 1 and isinstance(body[0], ast.Raise), f"{op}: closure should be a single raise"
        exc = body[0].exc
        assert isinstance(exc, ast.Call) and isinstance(exc.func, ast.Name) \
            and exc.func.id == "NotImplementedError", f"{op}: should raise NotImplementedError(...)"
        message = exc.args[0].value
        assert message.startswith("TODO: d(out)/d(self) = "), f"{op}: {message!r}"
        assert "+=" in message and "out.grad" in message, f"{op}: hint should mention out.grad and +="


def test_stub_module_docstring():
    doc = ast.get_docstring(ast.parse(STUB.read_text()))
    assert doc and "_backward" in doc and "+=" in doc


def test_stub_forward_passes_match_reference():
    ref = _load_module(REFERENCE, "_reference_engine")
    stub = _load_module(STUB, "_stub_engine")
    for mod in (ref, stub):
        V = mod.Value
        x, y = V(1.5), V(-2.0)
        got = [(x + y).data, (x * y).data, (x ** 3).data, x.exp().data, y.tanh().data,
               y.relu().data, x.relu().data, (-x).data, (x - y).data, (2 - x).data,
               (2 + x).data, (2 * x).data, (x / y).data, (2 / x).data]
        want = [-0.5, -3.0, 3.375, math.exp(1.5), math.tanh(-2.0), 0.0, 1.5, -1.5, 3.5, 0.5,
                3.5, 3.0, -0.75, 2 / 1.5]
        assert got == pytest.approx(want), mod.__name__
    with pytest.raises(NotImplementedError):
        (stub.Value(1.0) * 2).backward()
    leaf = stub.Value(4.0)
    leaf.backward()  # a lone leaf has nothing to stub
    assert leaf.grad == 1.0


# --------------------------------------------------------------------------- notebook

def test_notebook_validates(notebook):
    nbformat.validate(notebook)
    assert notebook.nbformat == 4


def test_notebook_cells_parse(notebook):
    for i, source in enumerate(_code_cells(notebook)):
        ast.parse(_runnable(source), f"<cell {i}>")


def test_notebook_has_no_outputs(notebook):
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_has_realistic_extra_cells(notebook):
    cells = _code_cells(notebook)
    assert any(_is_plot_cell(s) for s in cells), "expected an optional graphviz cell"
    assert any(line.lstrip().startswith(("%", "!")) for s in cells for line in s.splitlines()), \
        "expected a cell with an IPython magic"


def test_notebook_explains_worked_examples(notebook):
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    for needle in ("a = Value(-2.0); b = Value(3.0)", "a.grad == -3.0", "b.grad == -8.0",
                   "b = a + a", "+=", "self.grad ="):
        assert needle in text, f"markdown should mention {needle!r}"


def test_notebook_engine_cell_is_engine_py(notebook, engine_cell_index):
    cell = ast.parse(_code_cells(notebook)[engine_cell_index])
    stub = ast.parse(STUB.read_text())
    stub.body = _strip_docstring(stub.body)
    assert ast.dump(cell) == ast.dump(stub), "the notebook's engine cell differs from assignments/engine.py"


def test_notebook_cells_run_with_stub(notebook, engine_cell_index):
    cells = _code_cells(notebook)
    namespace, stubbed = _run_cells(cells, allow_not_implemented=True)
    assert stubbed and all(msg.startswith("TODO:") for msg in stubbed), stubbed
    V = namespace["Value"]
    a, b = V(-2.0), V(3.0)
    f = (a * b) * (a + b)
    assert f.data == -6.0 and f._op == "*" and len(f._prev) == 2
    assert (a ** 2).data == 4.0 and a.relu().data == 0.0 and V(0.0).tanh().data == 0.0
    assert V(0.0).exp().data == 1.0 and (a - b).data == -5.0 and (b / 2).data == 1.5
    with pytest.raises(NotImplementedError):
        f.backward()


def test_notebook_cells_pass_with_reference_closures(notebook, engine_cell_index):
    """A student who fills in the closures like the reference gets a notebook that runs clean."""
    cells = _code_cells(notebook)
    cells[engine_cell_index] = REFERENCE.read_text()
    namespace, stubbed = _run_cells(cells, allow_not_implemented=False)
    assert not stubbed
    assert namespace["a"].grad == 2.0  # the `b = a + a` cell ran after the worked example
