"""Reading hand-ins: notebook magics, folder picking."""
from pathlib import Path

import nbformat
import pytest

from grader.grading.handin import HandinError, load, strip_magics
from grader.grading.runner import grade

REFERENCE = Path(__file__).resolve().parents[1] / "solutions" / "engine.py"


def test_line_magics_and_shell_escapes_are_blanked_keeping_line_numbers():
    assert strip_magics("x = 1\n%matplotlib inline\n!pip install graphviz\ny = 2") == \
        "x = 1\n\n\ny = 2"


@pytest.mark.parametrize("magic", ["%%time", "%%timeit -n1", "%%capture out"])
def test_python_cell_magics_keep_their_body(magic):
    assert strip_magics(f"{magic}\nx = 1") == "\nx = 1"


@pytest.mark.parametrize("magic", ["%%bash", "%%writefile engine.py", "%%html"])
def test_other_cell_magics_drop_the_cell(magic):
    assert strip_magics(f"{magic}\nls -la") == ""


def test_engine_cell_timed_with_cell_magic_gets_full_marks(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%%time\n" + REFERENCE.read_text())]
    path = tmp_path / "timed.ipynb"
    nbformat.write(nb, path)
    result = grade(path)
    assert result.score == result.max_score


def test_folder_prefers_engine_py_and_ignores_conftest(tmp_path):
    (tmp_path / "conftest.py").write_text("raise SystemExit")
    (tmp_path / "helpers.py").write_text("x = 1")
    (tmp_path / "engine.py").write_text(REFERENCE.read_text())
    assert load(tmp_path).path.name == "engine.py"


def test_folder_with_several_files_and_no_engine_is_refused(tmp_path):
    (tmp_path / "a.py").write_text("x = 1")
    (tmp_path / "b.py").write_text("y = 2")
    with pytest.raises(HandinError, match="several Python files"):
        load(tmp_path)


def test_the_kits_own_check_py_beside_the_engine_is_never_the_engine(tmp_path):
    """A Gradescope hand-in of my_engine.py and the handed-out check.py is graded by
    my_engine.py, and the result names it."""
    kit = REFERENCE.parents[1] / "assignments"
    for name in ("check.py", "test_public.py"):
        (tmp_path / name).write_text((kit / name).read_text())
    (tmp_path / "my_engine.py").write_text(REFERENCE.read_text())
    assert load(tmp_path).path.name == "my_engine.py"
    result = grade(tmp_path)
    assert result.score == result.max_score and result.max_score > 0
    assert result.extra["handin"]["file"] == "my_engine.py"


def test_the_one_file_that_defines_value_is_the_engine(tmp_path):
    (tmp_path / "plots.py").write_text("import engine\nprint(1)\n")
    (tmp_path / "autodiff.py").write_text(REFERENCE.read_text())
    assert load(tmp_path).path.name == "autodiff.py"


def test_a_slow_cell_is_cut_short_and_the_rest_still_graded(tmp_path):
    from grader.sandbox.limits import Limits

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(REFERENCE.read_text()),
                nbformat.v4.new_code_cell("import time\nfor epoch in range(10**6):\n"
                                          "    time.sleep(0.01)"),
                nbformat.v4.new_code_cell("print('after training')")]
    path = tmp_path / "trains.ipynb"
    nbformat.write(nb, path)
    result = grade(path, Limits(cell_seconds=0.5))
    assert result.score == result.max_score
    assert ("trains.ipynb, code cell 2, line 3: did not finish in 0.5 s, so the rest of it was "
            "skipped") in result.output
    assert "after training" in result.output
    assert result.extra["limits"]["cell_seconds"] == 0.5
