"""Malformed hand-ins of every shape: one sentence saying why (with the place where it applies),
a score of 0 out of the full maximum, never a crash. The loader is fuzzed with hypothesis.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.grading.handin import MAX_BYTES, HandinError, load
from grader.grading.runner import grade

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = (ROOT / "solutions" / "engine.py").read_text()
GRADER = Path(sys.executable).with_name("grader")


def notebook(*cells) -> bytes:
    return json.dumps({"cells": list(cells), "metadata": {}, "nbformat": 4,
                       "nbformat_minor": 5}).encode()


def code_cell(source, count=None) -> dict:
    return {"cell_type": "code", "source": source, "execution_count": count, "metadata": {},
            "outputs": []}


DEEP = b"[" * 200_000 + b"]" * 200_000

# name: (file name, bytes, words the sentence must contain)
MALFORMED = {
    "deep-notebook": ("engine.ipynb", DEEP, ["line 1, column 501", "nested"]),
    "deep-in-metadata": ("engine.ipynb", b'{"metadata": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000
                         + b', "cells": []}', ["line 1, column", "nested"]),
    "too-large": ("engine.py", b"x = 1\n" * (MAX_BYTES // 6 + 1), ["too large"]),
    "binary": ("engine.py", bytes(range(256)) * 4, ["line 1, column 1", "binary"]),
    "nul-in-source": ("engine.py", b"import math\nx = 1\x00\n", ["line 2, column 6", "NUL"]),
    "pdf": ("engine.py", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", ["PDF document"]),
    "word-document": ("engine.py", b"PK\x03\x04\x14\x00\x06\x00", ["zip archive", "Word"]),
    "utf-16": ("engine.py", "class Value:\n    pass\n".encode("utf-16"), ["UTF-16"]),
    "latin-1": ("engine.py", "x = 1\nname = 'Andr\u00e9'\n".encode("latin-1"),
                ["line 2, column 13", "0xe9", "UTF-8"]),
    "bad-coding-line": ("engine.py", b"# -*- coding: klingon -*-\nx = 1\n", ["klingon"]),
    "utf-16-coding-line": ("engine.py", b"# coding: utf-16\nx = 1\n", ["utf-16", "coding line"]),
    "empty": ("engine.py", b"", ["empty"]),
    "blank": ("engine.py", b" \n\t\n", ["empty"]),
    "empty-notebook": ("engine.ipynb", b"", ["empty"]),
    "truncated-notebook": ("engine.ipynb", b'{"cells": [\n  {"cell_type": "code", ',
                           ["line 2, column", "JSON is broken"]),
    "invalid-utf8-notebook": ("engine.ipynb", b'{"cells": [],\n "x": "\xff"}',
                              ["line 2, column 8", "0xff"]),
    "notebook-is-a-list": ("engine.ipynb", b"[1, 2, 3]", ["\"cells\""]),
    "cells-not-a-list": ("engine.ipynb", b'{"cells": {"a": 1}}', ["\"cells\""]),
    "cell-is-a-number": ("engine.ipynb", notebook(code_cell("x = 1"), 7),
                         ["cell 2 is a number"]),
    "cell-without-type": ("engine.ipynb", notebook({"source": "x = 1"}),
                          ["cell 1 has no \"cell_type\""]),
    "source-is-a-number": ("engine.ipynb", notebook({"cell_type": "markdown", "source": "# Hi"},
                                                    code_cell(42)),
                           ["code cell 1", "\"source\" is a number"]),
    "source-list-of-numbers": ("engine.ipynb", notebook(code_cell([1, 2])),
                               ["code cell 1", "a list"]),
    "nul-in-cell": ("engine.ipynb", notebook(code_cell("x = 1\ny = '\0'", 3)),
                    ["code cell 1 (In [3]), line 2", "NUL"]),
    "lone-surrogate": ("engine.ipynb",
                       b'{"cells": [{"cell_type": "code", "source": "x = \\"\\ud800\\""}]}',
                       ["code cell 1, line 1", "\\ud800"]),
    "no-code-cells": ("engine.ipynb", notebook({"cell_type": "markdown", "source": "# Hi"}),
                      ["no code cells"]),
    "only-magics": ("engine.ipynb", notebook(code_cell("%matplotlib inline\n!pip install x")),
                    ["every code cell", "empty"]),
    "version-3": ("engine.ipynb", b'{"worksheets": [{"cells": []}], "nbformat": 3}',
                  ["version 3"]),
}


def one_sentence(message: str, file: str) -> None:
    assert message.startswith(file), message
    assert "\n" not in message and "Traceback" not in message, message
    assert 20 < len(message) < 400, message


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_handin_gets_one_sentence_with_its_place(tmp_path, case):
    name, data, words = MALFORMED[case]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(HandinError) as e:
        load(path)
    one_sentence(str(e.value), name)
    for word in words:
        assert word in str(e.value), (word, str(e.value))


def test_a_coding_line_python_accepts_is_honoured(tmp_path):
    path = tmp_path / "engine.py"
    path.write_bytes("# -*- coding: latin-1 -*-\nname = 'Andr\u00e9'\n".encode("latin-1"))
    assert "Andr\u00e9" in load(path).cells[0]["source"]


def test_a_symlink_planted_in_a_folder_is_refused(tmp_path):
    (tmp_path / "engine.py").symlink_to(ROOT / "solutions" / "engine.py")
    with pytest.raises(HandinError, match="symbolic link"):
        load(tmp_path)


def test_odd_fields_grading_does_not_read_are_ignored(tmp_path):
    """Outputs, metadata and a non-numeric execution count do not stop a notebook's code."""
    path = tmp_path / "engine.ipynb"
    path.write_bytes(json.dumps({"cells": [
        {"cell_type": "code", "source": "x = 1", "execution_count": "\x1b[2J",
         "outputs": 5, "metadata": [None]}], "metadata": 3}).encode())
    (cell,) = load(path).cells
    assert cell == {"source": "x = 1", "filename": "engine.ipynb, code cell 1"}


# --- fuzzing ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=20)
sources = st.text() | st.lists(st.text(), max_size=4) | json_values
cells = st.fixed_dictionaries(
    {"cell_type": st.sampled_from(["code", "markdown", "raw", "heading"]) | json_values},
    optional={"source": sources, "execution_count": json_values, "metadata": json_values,
              "outputs": json_values})
notebooks = st.fixed_dictionaries(
    {"cells": st.lists(cells | json_values, max_size=6) | json_values},
    optional={"metadata": json_values, "nbformat": json_values, "worksheets": json_values})


def nested(depth: int, kind: str) -> bytes:
    opener, closer = ("[", "]") if kind == "list" else ('{"a": ', "}")
    body = (opener * depth + "1" + closer * depth).encode()
    return b'{"cells": [{"cell_type": "code", "source": "x = 1", "metadata": ' + body + b"}]}"


def outcome(name: str, data: bytes) -> None:
    """Loading returns cells of text, or raises HandinError with one sentence: nothing else."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(data)
        try:
            handin = load(path)
        except HandinError as e:
            one_sentence(str(e), name)
            return
    assert handin.cells
    for cell in handin.cells:
        assert isinstance(cell["source"], str) and cell["source"].strip()
        assert cell["filename"].startswith(name)
        cell["source"].encode("utf-8")  # sendable: no half surrogate pairs


# FUZZ_EXAMPLES=5000 for a longer search than the suite's default
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 300)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(notebooks)
def test_fuzz_notebook_shaped_json(nb):
    outcome("engine.ipynb", json.dumps(nb).encode())


@FUZZ
@given(json_values)
def test_fuzz_any_json(value):
    outcome("engine.ipynb", json.dumps(value).encode())


@FUZZ
@given(st.binary(max_size=2000))
def test_fuzz_any_bytes_as_notebook(data):
    outcome("engine.ipynb", data)


@FUZZ
@given(st.binary(max_size=2000) | st.text().map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_fuzz_any_bytes_as_python(data):
    outcome("engine.py", data)


@FUZZ
@given(notebooks, st.integers(0, 4000), st.integers(0, 10**6))
def test_fuzz_notebook_bytes_cut_or_corrupted(nb, cut, noise):
    data = json.dumps(nb).encode()
    cut %= len(data) + 1
    outcome("engine.ipynb", data[:cut] + bytes([noise % 256]) + data[cut + 1:])


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 20_000), st.sampled_from(["list", "object"]))
def test_fuzz_deep_nesting(depth, kind):
    outcome("engine.ipynb", nested(depth, kind))


# --- end to end ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def full_marks() -> float:
    """The suite's maximum, read off a graded reference (the reference gets every point)."""
    result = grade(ROOT / "solutions" / "engine.py")
    assert result.score == result.max_score > 0
    return result.max_score


def run_grader(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADER), *args], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


E2E = ["deep-notebook", "nul-in-source", "cell-is-a-number", "latin-1", "too-large"]


@pytest.mark.parametrize("case", E2E)
def test_grade_scores_a_malformed_handin_zero_out_of_the_full_maximum(tmp_path, full_marks,
                                                                      case):
    name, data, words = MALFORMED[case]
    path = tmp_path / name
    path.write_bytes(data)
    proc = run_grader("grade", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "error" not in proc.stderr
    result = json.loads(proc.stdout)
    assert result["score"] == 0
    assert sum(t["max_score"] for t in result["tests"]) == full_marks
    assert all(word in result["extra_data"]["error"] for word in words)
    assert result["output"] == "Your hand-in could not be graded: " + result["extra_data"]["error"]


def test_batch_with_malformed_handins_among_good_ones(tmp_path, full_marks):
    """Each malformed hand-in gets 0 of the full maximum; the good ones are untouched."""
    src = tmp_path / "class"
    src.mkdir()
    (src / "ann.py").write_text(REFERENCE)
    (src / "bob.ipynb").write_bytes(MALFORMED["deep-notebook"][1])
    (src / "cat.py").write_bytes(MALFORMED["binary"][1])
    (src / "dan.ipynb").write_bytes(MALFORMED["source-is-a-number"][1])
    (src / "eve.py").write_text(REFERENCE)
    proc = run_grader("batch", str(src), "--out", str(tmp_path / "out"), "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    results = {p.stem: json.loads(p.read_text())
               for p in (tmp_path / "out" / "results").glob("*.json")}
    assert sorted(results) == ["ann", "bob", "cat", "dan", "eve"]
    for student, r in results.items():
        assert sum(t["max_score"] for t in r["tests"]) == full_marks, student
        if student in ("ann", "eve"):
            assert r["score"] == full_marks and "error" not in r["extra_data"]
        else:
            assert r["score"] == 0 and r["extra_data"]["error"], student
    assert "nested" in results["bob"]["extra_data"]["error"]
    assert "Graded 2 hand-ins; 3 could not be graded." in proc.stdout


def test_half_a_surrogate_pair_in_an_exception_message_breaks_no_output(tmp_path, full_marks):
    """Python lets a hand-in raise ValueError("\\ud800"); no UTF-8 output can hold that."""
    src = tmp_path / "class"
    src.mkdir()
    (src / "ann.py").write_text(REFERENCE)
    (src / "bob.py").write_text(REFERENCE + "\n\ndef _tanh(self):\n"
                                '    raise ValueError("\\ud800 half")\n\n\nValue.tanh = _tanh\n')
    proc = run_grader("batch", str(src), "--out", str(tmp_path / "out"), "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "out" / "report.html").read_text(encoding="utf-8")  # valid UTF-8
    assert (tmp_path / "out" / "feedback" / "bob.html").read_text().count("\\ud800 half") > 0
    bob = json.loads((tmp_path / "out" / "results" / "bob.json").read_text())
    assert 0 < bob["score"] < full_marks
    proc = run_grader("grade", str(src / "bob.py"), "--format", "text")
    assert proc.returncode == 0, proc.stderr
    assert "ValueError: \\ud800 half raised at bob.py" in proc.stdout


def test_source_too_deep_to_compile_is_one_sentence(tmp_path, full_marks):
    """Python's compiler gives up (MemoryError, RecursionError) with no line to point at."""
    from grader.grading.runner import Job, run

    sources = {"unary": "x = " + "-" * 100_000 + "1\n", "attributes": "x = " + "a." * 100_000
               + "b\n", "lambdas": "f = " + "lambda: " * 50_000 + "1\n"}
    for name, text in sources.items():
        (tmp_path / f"{name}.py").write_text(text)
    results = {}
    run([Job(tmp_path / f"{name}.py") for name in sources],
        lambda job, r: results.__setitem__(job.path.stem, r))
    for name, r in results.items():
        assert r.score == 0 and r.max_score == full_marks
        assert r.extra["error"].startswith(f"{name}.py: nested too deeply for Python to compile")


def test_forged_load_reports_of_any_shape_cost_only_the_forger(tmp_path, full_marks):
    """A hand-in writes load reports with wrong types on its channel: 0, one sentence, no crash,
    and the honest hand-in graded after it in the same session is untouched."""
    from grader.grading.runner import Job, run

    snippet = (Path(__file__).with_name("hostile") / "forged_load_report.py").read_text()
    stub = (ROOT / "assignments" / "engine.py").read_text()
    jobs = []
    for i in range(3):
        one = snippet.replace("for obj in FORGED:", f"for obj in FORGED[{i}:{i + 1}]:")
        assert one != snippet
        jobs.append(tmp_path / f"forger{i}.py")
        jobs[-1].write_text(stub + "\n" + one)
    jobs.append(tmp_path / "honest.py")
    jobs[-1].write_text(REFERENCE)
    results = {}
    run([Job(p) for p in jobs], lambda job, r: results.__setitem__(job.path.stem, r))
    for i in range(3):
        r = results[f"forger{i}"]
        assert r.score == 0 and r.max_score == full_marks
        one_sentence(r.extra["error"], r.extra["error"].split(":")[0])
        assert "\x1b" not in r.extra["error"]
    assert results["honest"].score == full_marks
