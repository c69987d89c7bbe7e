"""similarity.csv: renamed, re-commented and reordered copies of an engine (tests/copies/) rank
above every pair of independently written engines, copies of wrong code above a copy of right
code, and what every student was given shares nothing. The truth is how the class was made:
which files were copied from which."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest

from grader.batch import similarity

ROOT = Path(__file__).resolve().parents[1]
GRADER = Path(sys.executable).with_name("grader")
CORPUS, COPIES = ROOT / "tests" / "corpus", ROOT / "tests" / "copies"

# families: every pair inside one is a copy; pairs across families are not
BUGGY = [["mixed_bugs", "mixed_renamed", "mixed_reordered", "mixed_all_changed"],
         ["pow_overwrite_only", "pow_overwrite_renamed"]]
CORRECT = [["iterative_topo", "iterative_topo_renamed"]]
# written independently of each other and of the families (correct engines)
ALONE = ["reference", "numpy_ops", "typed_prev_tuple", "lecture_notebook"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    d = tmp_path_factory.mktemp("similar")
    dl = d / "download"
    dl.mkdir()
    for name in [n for f in BUGGY + CORRECT for n in f] + ALONE:
        found = [p for p in (CORPUS / f"{name}.py", CORPUS / f"{name}.ipynb",
                             COPIES / f"{name}.py") if p.is_file()]
        path = found[0] if found else ROOT / "solutions" / "engine.py"
        shutil.copy(path, dl / f"{name}{path.suffix}")
    for name in ("stub_a", "stub_b"):  # two untouched skeletons: nothing of their own
        shutil.copy(ROOT / "assignments" / "engine.py", dl / f"{name}.py")
    shutil.copy(ROOT / "assignments" / "engine.ipynb", dl / "stub_notebook.ipynb")
    # each hand-in on its own instance of the values, as a class is graded
    proc = subprocess.run([str(GRADER), "batch", str(dl), "--out", str(d / "out"), "--jobs", "2"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with open(d / "out" / "similarity.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return d / "out", rows


def score(rows, a, b) -> float:
    for r in rows:
        if {r["student_a"], r["student_b"]} == {a, b}:
            return float(r["similarity"])
    return 0.0  # not listed: nothing rare shared


def test_columns_and_order(batch):
    out, rows = batch
    with open(out / "similarity.csv", newline="") as f:
        assert next(csv.reader(f))[:3] == ["student_a", "student_b", "similarity"]
    values = [float(r["similarity"]) for r in rows]
    assert values == sorted(values, reverse=True)


def test_copies_rank_above_independent_engines(batch):
    _, rows = batch
    copies = [score(rows, a, b) for f in BUGGY + CORRECT for a, b in combinations(f, 2)]
    everyone = [n for f in BUGGY + CORRECT for n in f] + ALONE
    family = {n: i for i, f in enumerate(BUGGY + CORRECT) for n in f}
    others = [score(rows, a, b) for a, b in combinations(everyone, 2)
              if family.get(a, a) != family.get(b, b)]
    assert min(copies) >= 0.5, copies
    assert max(others) <= 0.15, max(others)
    # the top of the list is copies, all of them
    top = {frozenset((r["student_a"], r["student_b"])) for r in rows[:len(copies)]}
    assert top == {frozenset(p) for f in BUGGY + CORRECT for p in combinations(f, 2)}


def test_shared_wrong_code_weighs_more_than_shared_right_code(batch):
    _, rows = batch
    wrong = [score(rows, a, b) for f in BUGGY for a, b in combinations(f, 2)]
    right = [score(rows, a, b) for f in CORRECT for a, b in combinations(f, 2)]
    assert max(right) < min(wrong)
    mixed = next(r for r in rows if {r["student_a"], r["student_b"]} ==
                 {"mixed_bugs", "mixed_all_changed"})
    assert float(mixed["shared_failures"]) == 1.0 and "tests:" in mixed["failed_alike"]


def test_copies_fail_alike_on_their_own_values(batch):
    """A copy behaves as its original, whatever its names: graded each on its own instance of
    the values, the two fail the same tests with the same misconceptions."""
    _, rows = batch
    for f in BUGGY:
        for a, b in combinations(f, 2):
            row = next(r for r in rows if {r["student_a"], r["student_b"]} == {a, b})
            assert float(row["shared_failures"]) == 1.0, (a, b, row)


def test_what_everyone_was_given_is_shared_by_nobody(batch):
    _, rows = batch
    stubs = ("stub_a", "stub_b", "stub_notebook")
    assert [r for r in rows if r["student_a"] in stubs or r["student_b"] in stubs] == []


def test_the_report_points_at_the_top_pairs(batch):
    out, rows = batch
    html = (out / "report.html").read_text()
    assert "Similar hand-ins" in html and "never a verdict" in html
    assert f'>{rows[0]["student_a"]}</a>' in html and f'>{rows[0]["student_b"]}</a>' in html


def test_grading_never_imports_copydetect():
    code = ("import sys, grader.cli, grader.grading.runner, grader.grading.session, grader.batch.classroom; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('copydetect', 'matplotlib'))))")
    proc = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True,
                          text=True, check=True)
    assert json.loads(proc.stdout) == []


def test_a_copy_of_the_reference_is_discounted():
    """The known right answer shared counts `CORRECT` of what other code shared counts."""
    ref = (ROOT / "solutions" / "engine.py").read_text()
    found = similarity.pairs([similarity.Handin("a", ref), similarity.Handin("b", ref),
                              similarity.Handin("c", (CORPUS / "numpy_ops.py").read_text())])
    ab = next(p for p in found if {p.a, p.b} == {"a", "b"})
    assert ab.code < 0.5


def test_a_similarity_process_that_stopped_on_an_error_says_which(tmp_path):
    """The process beside the grading ends on its error before the results are in: the batch
    says that error, not a broken pipe."""
    kit = tmp_path / "kit"
    (kit / "solutions").mkdir(parents=True)
    (kit / "solutions" / "engine.py").write_bytes(b"\xff\xfe not UTF-8\n")
    code = tmp_path / "a.py"
    code.write_text("x = 1\n")
    beside = similarity.Beside({"a": code}, tmp_path, kit=kit)
    beside.read()
    beside.proc.join(60)
    assert beside.proc.exitcode == 0
    beside.finish({})
    with pytest.raises(RuntimeError, match="similarity.csv: UnicodeDecodeError"):
        beside.pairs()
