"""The kit grades what it should: full marks for the reference, little for the stub, partial
credit and the right diagnosis for every one-bug mutant, the same score for a notebook as for
the same code in a .py, the same score every time, 0 with a clear reason for a broken hand-in,
and Gradescope-valid JSON throughout.

Almost every hand-in is graded in one `run()` (one pytest session) by a module fixture.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import nbformat
import pytest
from mutants import MUTANTS, REFERENCE, source
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.checking.misconceptions import explain
from grader.grading.runner import Job, grade, run
from grader.results.model import Result

ROOT = Path(__file__).resolve().parents[1]
STUB = ROOT / "assignments" / "engine.py"
SCHEMA = json.loads((Path(__file__).with_name("schema")
                     / "gradescope_results.schema.json").read_text())
GRADER = Path(sys.executable).with_name("grader")

NOTHING_FLOWS = ["no-seed"]  # only the forward tests pass
PARTIAL = [name for name in MUTANTS if name not in NOTHING_FLOWS]
NOTEBOOK_MUTANTS = ["add-overwrite", "tanh-from-input", "typo-pow"]
DETERMINISM_MUTANTS = ["add-overwrite", "mul-overwrite"]
ORDER_SENSITIVE = [name for name in MUTANTS if name.endswith("-overwrite")]
QUARTER = 0.25
# Mutants that earn nothing beyond the stub, by the maths: every gradient test multiplies nodes
# of different data (at least its outer `* c`), which a swapped `*` gets wrong. (The suite's
# published values let it pass `(a + b) * c` by luck: there a + b = c.)
NO_PARTIAL_CREDIT = {"mul-swapped"}

# name: (file name, bytes or None for a folder, words the reason must contain)
MALFORMED = {
    "syntax-error": ("syntax.py", b"import math\n\nclass Value:\n    def f(self)\n        pass\n",
                     ["SyntaxError", "line 4"]),
    "empty": ("empty.py", b"", ["empty"]),
    "blank": ("blank.py", b"   \n\n\t\n", ["empty"]),
    "binary": ("binary.py", bytes(range(256)) * 4, ["binary"]),
    "not-utf8": ("latin1.py", "x = 'caf\u00e9'\n".encode("latin-1"), ["UTF-8"]),
    "no-value": ("novalue.py", b"import math\n\nclass Scalar:\n    pass\n", ["Value"]),
    "bad-notebook": ("engine.ipynb", b'{"cells": [ {"cell_type": "code", ', ["not a valid notebook"]),
    "no-python-folder": ("handin", None, ["no .py or .ipynb"]),
}


def no_backward_source() -> str:
    text = REFERENCE.read_text()
    start = text.index("    def backward(self):")
    end = text.index("\n    def ", start + 1)
    return text[:start] + "    def backward(self):\n        pass\n" + text[end:]


def notebook(*engines: str, first_engine_line: str = "") -> str:
    """A notebook as students hand it in: prose, magics and shell escapes, a cell that fails
    on a missing package, then the engine cells (the last `Value` defined wins)."""
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# Backprop exercise\n\nMy engine is below."),
        new_code_cell("%matplotlib inline\n!pip install x\nimport math\nprint('setup done')"),
        new_code_cell("import graphviz_not_installed\ngraphviz_not_installed.Digraph()"),
    ]
    nb.cells += [new_code_cell(first_engine_line + engine) for engine in engines]
    nb.cells.append(new_code_cell("v = Value(2.0)\nv"))
    return nbformat.writes(nb)


def engine_cell_number(nb_text: str, last: bool = True) -> int:
    """1-based index among code cells (as the student sees them) of the last engine cell."""
    cells = [c for c in json.loads(nb_text)["cells"] if c["cell_type"] == "code"]
    numbers = [i for i, c in enumerate(cells, start=1)
               if "class Value" in "".join(c["source"])]
    return numbers[-1] if last else numbers[0]


@pytest.fixture(scope="module")
def handins(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("handins")
    paths = {"reference": REFERENCE, "stub": STUB}
    (d / "no-backward.py").write_text(no_backward_source())
    paths["no-backward"] = d / "no-backward.py"
    for name in MUTANTS:
        p = d / f"{name}.py"
        p.write_text(source(name))
        paths[f"mutant:{name}"] = p
    reference = REFERENCE.read_text()
    for name in NOTEBOOK_MUTANTS:
        mutant = source(name)
        variants = {
            "alone": notebook(mutant, first_engine_line="%load_ext autoreload\n"),
            "after-reference": notebook(reference, mutant),
            "before-reference": notebook(mutant, reference),
        }
        for variant, text in variants.items():
            folder = d / f"nb-{variant}-{name}"
            folder.mkdir()
            (folder / "engine.ipynb").write_text(text)
            paths[f"nb-{variant}:{name}"] = folder / "engine.ipynb"
    for name, (file, content, _) in MALFORMED.items():
        folder = d / f"bad-{name}"
        folder.mkdir()
        target = folder / file
        if content is None:
            target.mkdir()
            (target / "README.txt").write_text("my engine is attached\n")
            (target / "notes.md").write_text("# notes\n")
        else:
            target.write_bytes(content)
        paths[f"bad:{name}"] = target
    return paths


@pytest.fixture(scope="module")
def graded(handins) -> dict[str, Result]:
    """Every hand-in above, graded in one pytest session."""
    results: dict[str, Result] = {}
    run([Job(path, {"key": key}) for key, path in handins.items()],
        lambda job, result: results.__setitem__(job.extra["key"], result))
    assert set(results) == set(handins)
    return results


def scores(result: Result) -> list[tuple[str, float, float]]:
    return [(t.name, t.score, t.max_score) for t in result.tests]


def failed_outputs(result: Result) -> list[str]:
    return [t.output for t in result.tests if t.status == "failed"]


# --- the reference, the stub, an empty backward ------------------------------------------------

def test_reference_gets_full_marks(graded):
    r = graded["reference"]
    assert r.max_score > 0
    assert r.score == r.max_score == sum(t.max_score for t in r.tests)
    assert all(t.status == "passed" and t.score == t.max_score for t in r.tests)
    assert r.misconceptions == []
    assert "error" not in r.extra


def test_stub_scores_little_and_says_stub(graded):
    r, full = graded["stub"], graded["reference"]
    assert scores(r) and [t.name for t in r.tests] == [t.name for t in full.tests]
    assert r.max_score == full.max_score
    assert 0 < r.score <= QUARTER * r.max_score
    gradient = [t for t in r.tests if not t.name.startswith("Forward")]
    assert gradient and len(gradient) < len(r.tests)
    assert all(t.score == 0 for t in gradient), [t.name for t in gradient if t.score]
    failed = [t for t in r.tests if t.status == "failed"]
    assert failed
    for t in failed:
        assert "NotImplementedError" in t.output, t.name
        assert "stub" in t.extra["misconceptions"], t.name
        assert explain("stub") in t.output, t.name
    assert r.misconceptions == ["stub"]


def test_backward_that_does_nothing_scores_little(graded):
    r = graded["no-backward"]
    assert r.misconceptions == ["backward-runs-nothing"]
    assert r.max_score == graded["reference"].max_score
    assert r.score <= QUARTER * r.max_score
    assert all(t.score == 0 for t in r.tests if not t.name.startswith("Forward"))


# --- one-bug mutants ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PARTIAL)
def test_mutant_partial_credit_and_diagnosis(graded, name):
    r, stub = graded[f"mutant:{name}"], graded["stub"]
    expected = MUTANTS[name][0]
    assert r.max_score == graded["reference"].max_score
    assert stub.score < r.score < r.max_score or (
        name in NO_PARTIAL_CREDIT and r.score == stub.score), f"{name}: {r.score}/{r.max_score}"
    assert r.misconceptions == [expected], f"{name}: diagnosed {r.misconceptions}"
    text = explain(expected)
    assert any(text in out for out in failed_outputs(r)), \
        f"{name}: no failed test explains {expected!r}"


@pytest.mark.parametrize("name", NOTHING_FLOWS)
def test_no_gradient_flows_mutants(graded, name):
    r, expected = graded[f"mutant:{name}"], MUTANTS[name][0]
    assert r.score <= QUARTER * r.max_score
    assert r.misconceptions == [expected]
    assert any(explain(expected) in out for out in failed_outputs(r))


def test_exception_feedback_names_type_and_line(graded, handins):
    path = handins["mutant:typo-pow"]
    lines = path.read_text().splitlines()
    (line,) = [i for i, text in enumerate(lines, start=1) if "slef.data" in text]
    outputs = failed_outputs(graded["mutant:typo-pow"])
    assert outputs
    where = f"{path.name}, line {line}"
    named = [out for out in outputs if "NameError" in out and where in out]
    assert named, f"no failure names NameError at {where}: {outputs[0]}"


def test_exception_line_in_notebook_counts_within_the_cell(graded, handins):
    """Magic lines are blanked, not removed, so line numbers match the student's cell."""
    path = handins["nb-alone:typo-pow"]
    cell = engine_cell_number(path.read_text())
    mutant_line = [i for i, text in enumerate(source("typo-pow").splitlines(), start=1)
                   if "slef.data" in text][0]
    where = f"{path.name}, code cell {cell}, line {mutant_line + 1}"  # + the %load_ext line
    outputs = failed_outputs(graded["nb-alone:typo-pow"])
    assert any("NameError" in out and where in out for out in outputs), outputs[:1]


# --- notebooks ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NOTEBOOK_MUTANTS)
def test_notebook_scores_like_py(graded, name):
    py = scores(graded[f"mutant:{name}"])
    assert scores(graded[f"nb-alone:{name}"]) == py
    assert scores(graded[f"nb-after-reference:{name}"]) == py  # the mutant is defined last
    assert scores(graded[f"nb-before-reference:{name}"]) == scores(graded["reference"])


@pytest.mark.parametrize("name", NOTEBOOK_MUTANTS)
def test_notebook_failing_cell_is_reported_not_fatal(graded, name):
    r = graded[f"nb-alone:{name}"]
    assert "error" not in r.extra
    assert "graphviz_not_installed" in r.output
    # the second code cell: markdown cells are not counted
    assert ("engine.ipynb, code cell 2, line 2: imports `graphviz_not_installed`, which "
            "grading does not provide") in r.output
    assert "setup done" in r.output  # the cell with magics stripped still ran
    assert r.extra["handin"]["kind"] == "ipynb"


# --- determinism: the same hand-in gets the same bytes ----------------------------------------

@pytest.mark.parametrize("name", DETERMINISM_MUTANTS)
def test_batch_grades_like_alone(graded, handins, name):
    alone, batch = grade(handins[f"mutant:{name}"]), graded[f"mutant:{name}"]
    assert scores(batch) == scores(alone)
    assert batch.misconceptions == alone.misconceptions == [MUTANTS[name][0]]


# Grades hand-ins in a process of its own and prints every output format of each, with the
# execution time (the one thing allowed to differ) set to 0.
RENDER = """
import json, sys
from pathlib import Path
from grader.report.gradebook import gradebook_csv
from grader.platforms.prairielearn import to_prairielearn
from grader.report.html import render as html
from grader.report.text import render as text
from grader.grading.runner import Job, run

out = {}
def emit(job, r):
    r.execution_time = 0.0
    out[job.path.name] = {"gradescope": json.dumps(r.to_json(), indent=2), "text": text(r),
                          "prairielearn": json.dumps(to_prairielearn(r), indent=2),
                          "gradebook": gradebook_csv([r]), "report": html([r])}
run([Job(Path(p)) for p in sys.argv[1:]], emit)
print(json.dumps(out))
"""


def test_same_bytes_in_every_format_run_after_run(handins):
    """Engines keeping `_prev` in a set visit nodes in another order in every process (their
    nodes' addresses differ); one overwriting closure makes their answers depend on it."""
    paths = [str(handins[f"mutant:{n}"]) for n in ORDER_SENSITIVE]
    paths.append(str(ROOT / "tests" / "corpus" / "three_overwrites.py"))
    runs = []
    for seed in ("1", "2", "3"):
        done = subprocess.run([sys.executable, "-c", RENDER, *paths], capture_output=True,
                              text=True, timeout=300, env=dict(os.environ, PYTHONHASHSEED=seed))
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout))
    assert set(runs[0]) == {Path(p).name for p in paths}
    for name, formats in runs[0].items():
        for fmt, text in formats.items():
            assert text == runs[1][name][fmt] == runs[2][name][fmt], (name, fmt)


# --- malformed hand-ins ------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_handin_scores_zero_with_reason(graded, name):
    r, full = graded[f"bad:{name}"], graded["reference"]
    words = MALFORMED[name][2]
    assert r.score == 0
    assert [t.name for t in r.tests] == [t.name for t in full.tests]
    assert r.max_score == full.max_score
    error = r.extra.get("error")
    assert error
    for word in words:
        assert word in error, (word, error)
        assert word in r.output, (word, r.output)
    assert "Traceback" not in r.output
    for t in r.tests:
        assert t.score == 0 and t.status == "failed"
        assert t.output.startswith("Not graded:") and error in t.output


# --- Gradescope JSON -----------------------------------------------------------------------------

def validate(data: dict) -> None:
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
    json.dumps(data, allow_nan=False)


def test_schema_rejects_what_gradescope_does_not_know():
    good = {"score": 1.0, "tests": [{"name": "t", "score": 1.0, "max_score": 1.0,
                                     "status": "passed", "visibility": "visible"}]}
    validate(good)
    bad = [
        dict(good, unknown=1),
        dict(good, visibility="sometimes"),
        dict(good, tests=[dict(good["tests"][0], status="error")]),
        dict(good, tests=[dict(good["tests"][0], misconceptions=[])]),
        dict(good, tests=[dict(good["tests"][0], number=1)]),
        dict(good, output_format="pdf"),
        {"output": "no score anywhere"},
    ]
    for data in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("key", ["reference", "stub", "no-backward", "mutant:add-overwrite",
                                 "mutant:typo-pow", "mutant:forward-tanh",
                                 "nb-alone:tanh-from-input", "bad:syntax-error",
                                 "bad:no-python-folder", "bad:binary"])
def test_results_json_is_valid_gradescope(graded, key):
    data = graded[key].to_json()
    validate(data)
    assert data["score"] == graded[key].score
    assert len(data["tests"]) == len(graded["reference"].tests)
    assert all(t["status"] in ("passed", "failed") for t in data["tests"])


def test_every_result_is_strict_json(graded):
    for key, r in graded.items():
        data = r.to_json()
        try:
            validate(data)
        except (jsonschema.ValidationError, ValueError) as e:
            pytest.fail(f"{key}: {e}")
        assert Result.from_json(json.loads(json.dumps(data))).score == r.score, key


# --- the command line ----------------------------------------------------------------------------

def grader_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADER), "grade", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_cli_gradescope_json_for_reference_and_syntax_error(graded, handins):
    ok = grader_cli(REFERENCE)
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    validate(data)
    assert data["score"] == graded["reference"].max_score

    bad = grader_cli(handins["bad:syntax-error"])
    assert bad.returncode == 0, bad.stderr
    assert "Traceback" not in bad.stderr
    data = json.loads(bad.stdout)
    validate(data)
    assert data["score"] == 0
    assert "SyntaxError" in data["extra_data"]["error"]
    assert len(data["tests"]) == len(graded["reference"].tests)


def test_cli_text_prints_score_line(graded):
    out = grader_cli(STUB, "--format", "text")
    assert out.returncode == 0, out.stderr
    r = graded["stub"]
    assert f"Score: {r.score:g} / {r.max_score:g}" in out.stdout.splitlines()[0]


def test_cli_prairielearn_score_is_a_fraction(graded, handins):
    out = grader_cli(handins["mutant:add-overwrite"], "--format", "prairielearn")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    r = graded["mutant:add-overwrite"]
    assert 0 <= data["score"] <= 1
    assert data["score"] == pytest.approx(r.score / r.max_score, abs=1e-6)
