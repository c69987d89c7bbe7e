"""`grader grade` and a warm batch worker call the hidden tests without pytest's per-test
protocol (`Job(..., hooks=False)`, see `grader.grading.runner.call_directly`); `Job(...)` runs
each through pytest's hooks, as `pytest --handin` does. Both must give the same result, byte
for byte but for the time it took, on real engines: every one-bug mutant, the reference, the
stub, the corpus of learners' engines, and hand-ins that print, exit or lie. The direct results
are also held to the independent truth (the planted bug's misconception; the corpus engines'
scores from finite differences)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import grader.grading.runner as runner
from corpus_truth import engines, expected, hidden_tests, manifest, own_instance
from grader.grading.runner import Job, run
from mutants import MUTANTS, REFERENCE, source

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ["print_flood", "exit_backward_sys", "liar_float", "liar_eq", "lookup_table",
           "monkeypatch"]
# The reference, printing in every backward pass and at load: each test has its own output.
PRINTING = """

print("loaded")
_backward = Value.backward


def backward(self):
    print("backward from", self.data)
    _backward(self)


Value.backward = backward
"""


@pytest.fixture(scope="module")
def handins(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("direct")
    paths = {"reference": REFERENCE, "stub": ROOT / "assignments" / "engine.py"}
    for name in MUTANTS:
        paths[f"mutant:{name}"] = d / f"{name}.py"
        paths[f"mutant:{name}"].write_text(source(name))
    for engine in engines():
        paths[f"corpus:{engine.name}"] = engine
    for name in HOSTILE:  # the reference or the stub, as the snippet's first line says
        snippet = (ROOT / "tests" / "hostile" / f"{name}.py").read_text()
        base = REFERENCE if snippet.startswith("# base: reference") else paths["stub"]
        paths[f"hostile:{name}"] = d / f"hostile-{name}.py"
        paths[f"hostile:{name}"].write_text(base.read_text() + "\n\n" + snippet)
    paths["printing"] = d / "printing.py"
    paths["printing"].write_text(REFERENCE.read_text() + PRINTING)
    (d / "broken.py").write_text("class Value:\n    def __init__(self, data)\n")
    paths["syntax-error"] = d / "broken.py"
    return paths


@pytest.fixture(scope="module")
def both(handins, tmp_path_factory):
    """Each hand-in graded twice in one session, through pytest's protocol and directly; how
    many tests went through pytest's protocol while the direct ones were graded."""
    results = {True: {}, False: {}}
    protocol = {"hooked": 0, "direct": 0}
    real = runner.runtestprotocol
    grading_now = {}

    def counted(item, **kwargs):
        protocol["hooked" if grading_now["hooks"] else "direct"] += 1
        return real(item, **kwargs)

    def jobs():
        for key, path in handins.items():
            for hooks in (True, False):
                grading_now["hooks"] = hooks
                yield Job(path, {"key": key}, hooks=hooks)

    def emit(job, result):
        result.execution_time = 0.0
        results[job.hooks][job.extra["key"]] = result

    mp = pytest.MonkeyPatch()
    mp.setattr(runner, "runtestprotocol", counted)
    try:
        run(jobs(), emit)
    finally:
        mp.undo()
    assert set(results[True]) == set(results[False]) == set(handins)
    return results, protocol


def test_direct_calls_go_around_pytests_protocol(both):
    results, protocol = both
    assert protocol["direct"] == 0
    graded = sum(1 for r in results[True].values() if not r.extra.get("error"))
    assert protocol["hooked"] >= graded * 40  # every test of every hand-in that loaded


@pytest.mark.parametrize("key", ["reference", "stub", "syntax-error", "printing"]
                         + [f"mutant:{n}" for n in MUTANTS]
                         + [f"corpus:{e.name}" for e in engines()]
                         + [f"hostile:{n}" for n in HOSTILE])
def test_same_result_with_and_without_pytests_hooks(both, key):
    results, _ = both
    hooked, direct = results[True][key], results[False][key]
    assert json.dumps(direct.to_json(), sort_keys=True) == \
        json.dumps(hooked.to_json(), sort_keys=True)


def test_direct_results_meet_the_truth(both, handins):
    """What the maths says, not what the other path says: the planted misconception of every
    mutant; every corpus engine's score from finite differences and its planted bugs."""
    direct = both[0][False]
    assert direct["reference"].score == direct["reference"].max_score > 0
    assert direct["printing"].score == direct["reference"].max_score
    assert sum("backward from" in t.output for t in direct["printing"].tests) >= 40
    for name, (misconception, _) in MUTANTS.items():
        assert direct[f"mutant:{name}"].misconceptions == [misconception], name
    for engine in engines():
        tests = hidden_tests(own_instance(engine))
        truth = expected(engine, tests)
        result = direct[f"corpus:{engine.name}"]
        assert {t.name: t.status == "passed" for t in result.tests} == truth, engine.name
        assert result.score == sum(t["weight"] for t in tests if truth[t["name"]])
        assert sorted(result.misconceptions) == sorted(manifest(engine)["misconceptions"])
