"""Near misses explained: a `Value` named in another case or another name, no class at all, a
`Value` that is not a class, a module grading does not provide, syntax newer than the grading
interpreter (and `--python` to grade on a newer one), and notebook places as the student sees
them (code cell, In [n], line) in load errors, exceptions and endless loops.
"""
from __future__ import annotations

import glob
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.checking.reasons import newer_syntax
from grader.grading.runner import Job, run
from grader.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
NEARMISS = Path(__file__).with_name("nearmiss")
REFERENCE = (ROOT / "solutions" / "engine.py").read_text()
GRADER = Path(sys.executable).with_name("grader")
RUNNING = ".".join(map(str, sys.version_info[:3]))  # the default grading interpreter is ours

REPR = '        return f"Value(data={self.data}, grad={self.grad})"\n'
REPR_312 = '        return f"Value({", ".join(f"{k}={v}" for k, v in vars(self).items())})"\n'
TANH = "        t = math.tanh(self.data)\n"
assert REPR in REFERENCE and TANH in REFERENCE


def renamed(name: str) -> str:
    return REFERENCE.replace("class Value:", f"class {name}:").replace("Value(", f"{name}(") \
        .replace("isinstance(other, Value)", f"isinstance(other, {name})")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), start=1) if needle in line)


# name: (file name, source, words the one-sentence reason must hold)
NEAR = {
    "lowercase": ("engine.py", renamed("value"),
                  ["found a class named `value`; the grader looks for `Value`"]),
    "uppercase": ("engine.py", renamed("VALUE"), ["found a class named `VALUE`"]),
    "other-name": ("engine.py", renamed("Scalar"),
                   ["found a class `Scalar` with a `backward` method", "`Value = Scalar`"]),
    "no-class": ("no_class.py", (NEARMISS / "no_class.py").read_text(),
                 ["defines no class at all", "a class named `Value`"]),
    "not-a-class": ("value_function.py", (NEARMISS / "value_function.py").read_text(),
                    ["`Value` is a `function`, not a class"]),
    "shadowed": ("engine.py", REFERENCE + "\n\nValue = Value(2.0)\n",
                 ["`Value` is an instance of your class `Value`, not the class"]),
    "sklearn": ("engine.py", "from sklearn.utils import check_array\ncheck_array([])\n" + REFERENCE,
                ["engine.py, line 2: imports `sklearn`, which grading does not provide"]),
    "sklearn-submodule": ("engine.py", "import math\nimport sklearn.linear_model\n"
                          "model = sklearn.linear_model.Ridge()\n" + REFERENCE,
                          ["engine.py, line 3: imports `sklearn`, which grading does not"]),
}
if sys.version_info < (3, 12):
    NEAR["f-string-312"] = (
        "engine.py", REFERENCE.replace(REPR, REPR_312),
        [f"engine.py, line {line_of(REFERENCE, REPR.strip())}, column",
         f"this looks like Python 3.12+ syntax; grading runs Python {RUNNING}"])


def grade_all(jobs: dict[str, Path], limits: Limits = Limits()) -> dict:
    results = {}
    run([Job(p, {"key": k}) for k, p in jobs.items()],
        lambda job, r: results.__setitem__(job.extra["key"], r), limits)
    return results


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("nearmiss")
    jobs = {"reference": ROOT / "solutions" / "engine.py"}
    for key, (name, text, _) in NEAR.items():
        (d / key).mkdir()
        jobs[key] = d / key / name
        jobs[key].write_text(text)
    return grade_all(jobs)


@pytest.mark.parametrize("key", sorted(NEAR))
def test_near_miss_scores_zero_with_one_sentence_saying_what_is_close(graded, key):
    r, full = graded[key], graded["reference"]
    assert full.score == full.max_score > 0
    assert r.score == 0 and r.max_score == full.max_score
    reason = r.extra["error"]
    assert "\n" not in reason, reason
    for words in NEAR[key][2]:
        assert words in reason, (words, reason)


@pytest.mark.parametrize("line, version, first", [
    ('print(f"{d["key"]}")', "3.11.7", "3.12"),
    ("print(f'{x!r:>{width}} {'\\n'.join(rows)}')", "3.11.7", "3.12"),
    ("type Vector = list[float]", "3.11.7", "3.12"),
    ("class Stack[T]:", "3.10.13", "3.12"),
    ("def first[T](xs: list[T]) -> T:", "3.11.7", "3.12"),
    ("except* ValueError as group:", "3.10.13", "3.11"),
    ("except ValueError, TypeError:", "3.13.0", "3.14"),
])
def test_newer_syntax_names_both_versions(line, version, first):
    assert newer_syntax(line, version) == \
        f"this looks like Python {first}+ syntax; grading runs Python {version}"
    assert newer_syntax(line, first + ".0") is None  # that interpreter would not have failed


@pytest.mark.parametrize("line", ["def f(self)", "x = = 1", 'print(f"{x}" "y"', "else if x:"])
def test_ordinary_syntax_errors_claim_no_version(line):
    assert newer_syntax(line, "3.10.0") is None


def test_a_module_missing_at_test_time_is_named_in_the_tests_that_need_it(tmp_path):
    """An engine that imports torch inside `tanh` loses only tanh's tests, each naming torch."""
    text = REFERENCE.replace(TANH, "        import torch\n"
                                   "        t = torch.tanh(torch.tensor(self.data)).item()\n")
    path = tmp_path / "engine.py"
    path.write_text(text)
    r = grade_all({"torch": path})["torch"]
    failed = [t for t in r.tests if t.score < t.max_score]
    assert failed and len(failed) < len(r.tests)
    line = line_of(text, "torch.tanh(")  # where it is used: the import itself gets a stand-in
    for t in failed:
        assert f"Your engine imports `torch`, which grading does not provide (at engine.py, " \
               f"line {line}" in t.output, t.output


# --- notebook places ----------------------------------------------------------------------------

def lecture_notebook(engine: str, after: str = "") -> str:
    """Markdown between code cells and execution counts, as a lecture notebook has them."""
    nb = new_notebook()
    nb.cells = [new_markdown_cell("# Micrograd"),
                new_code_cell("import math\nprint('ready')", execution_count=1),
                new_markdown_cell("## The engine"),
                new_markdown_cell("It keeps its children."),
                new_code_cell(engine, execution_count=7)]
    if after:
        nb.cells += [new_markdown_cell("## Try it"), new_code_cell(after, execution_count=9)]
    return nbformat.writes(nb)


def test_notebook_places_count_code_cells_and_show_execution_counts(tmp_path):
    typo = REFERENCE.replace("other.grad += self.data * out.grad",
                             "other.grad += slef.data * out.grad")
    loop = REFERENCE.replace("            self.grad += (out.data > 0) * out.grad\n",
                             "            while True:\n                pass\n")
    jobs = {"typo": lecture_notebook(typo, after="x = Value(2.0)\ny = 1 / 0"),
            "loop": lecture_notebook(loop)}
    for key, text in jobs.items():
        (tmp_path / key).mkdir()
        (tmp_path / key / "engine.ipynb").write_text(text)
    results = grade_all({k: tmp_path / k / "engine.ipynb" for k in jobs},
                        Limits(test_seconds=0.5))

    typo_line = line_of(typo, "slef.data")
    outputs = [t.output for t in results["typo"].tests if t.score < t.max_score]
    assert any(f"NameError: name 'slef' is not defined raised at engine.ipynb, code cell 2 "
               f"(In [7]), line {typo_line}" in out for out in outputs), outputs[:1]
    assert "engine.ipynb, code cell 3 (In [9]), line 2: ZeroDivisionError: division by zero" \
        in results["typo"].output

    loop_line = line_of(loop, "while True")
    failed = [t for t in results["loop"].tests if t.score < t.max_score]
    outputs = [t.output for t in failed if not t.extra.get("not_run")]
    places = [f"stuck at engine.ipynb, code cell 2 (In [7]), line {n}." for n in
              (loop_line, loop_line + 1)]  # the `while` or its `pass`
    assert outputs and all(any(p in out for p in places) for out in outputs), outputs[:1]
    # once it hung twice, the rest are not run (tests/test_hostile_strikes.py)
    assert all("Not run: the hand-in did not finish" in t.output
               for t in failed if t.extra.get("not_run"))


def test_a_notebook_load_error_is_placed_in_its_code_cell(tmp_path):
    path = tmp_path / "engine.ipynb"
    path.write_text(lecture_notebook("import math\n\nclass Value:\n    def f(self)\n        pass"))
    r = grade_all({"nb": path})["nb"]
    assert r.score == 0
    assert r.extra["error"].startswith(
        "engine.ipynb, code cell 2 (In [7]), line 4, column 16: SyntaxError: expected ':'")


# --- --python -----------------------------------------------------------------------------------

def interpreters(newer_than: tuple[int, int] | None = None, older_than=None) -> list[str]:
    """Pythons on this machine by version, from PATH and pyenv's usual place."""
    found = {}
    for minor in range(6, 20):
        for p in [*glob.glob(f"/root/.pyenv/versions/3.{minor}.*/bin/python3.{minor}"),
                  *glob.glob(f"/usr/bin/python3.{minor}"), shutil.which(f"python3.{minor}")]:
            if (3, minor) not in found and p and subprocess.run(
                    [p, "-c", "pass"], capture_output=True).returncode == 0:
                found[(3, minor)] = p
    return [p for v, p in sorted(found.items())
            if (newer_than is None or v > newer_than) and (older_than is None or v < older_than)]


def run_grader(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADER), *map(str, args)], capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)


NEWER = interpreters(newer_than=(3, 11))


@pytest.mark.skipif(not NEWER, reason="no Python 3.12 or newer on this machine")
def test_python_option_grades_newer_syntax_on_a_newer_interpreter(tmp_path):
    path = tmp_path / "engine.py"
    path.write_text(REFERENCE.replace(REPR, REPR_312))
    proc = run_grader("grade", path, "--python", NEWER[0])
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) > 0
    assert data["extra_data"]["python"].startswith(Path(NEWER[0]).name[len("python"):])


@pytest.mark.skipif(not NEWER, reason="no Python 3.12 or newer on this machine")
def test_python_option_reaches_every_batch_worker(tmp_path):
    src = tmp_path / "class"
    src.mkdir()
    for student in ("ann", "bob", "cat"):
        (src / f"{student}.py").write_text(REFERENCE.replace(REPR, REPR_312))
    out = tmp_path / "out"
    proc = run_grader("batch", src, "--out", out, "--jobs", "2", "--python", NEWER[0])
    assert proc.returncode == 0, proc.stderr
    for p in (out / "results").glob("*.json"):
        data = json.loads(p.read_text())
        assert data["score"] == sum(t["max_score"] for t in data["tests"]) > 0, p.name


OLDER = interpreters(older_than=(3, 10))


@pytest.mark.skipif(not OLDER, reason="no Python older than 3.10 on this machine")
def test_python_option_refuses_an_interpreter_too_old():
    proc = run_grader("grade", ROOT / "solutions" / "engine.py", "--python", OLDER[-1])
    assert proc.returncode == 2 and not proc.stdout
    assert "hand-ins need Python 3.10 or newer" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_python_option_refuses_something_that_is_not_python(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text("not a program\n")
    proc = run_grader("grade", ROOT / "solutions" / "engine.py", "--python", fake)
    assert proc.returncode == 2 and not proc.stdout
    assert "is not a Python interpreter that runs" in proc.stderr
    assert "Traceback" not in proc.stderr
