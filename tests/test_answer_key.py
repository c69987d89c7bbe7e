"""Feedback that is not an answer key (issue 16): each hand-in is graded on its own instance of
the hidden tests, and gradients count only when they come from backpropagation.

The hostile hand-ins (tests/hostile/) are the attacks the issue describes: a lookup table built
from one probe's feedback, and engines that differentiate numerically (complex step, finite
differences) with no working closure. Each is held to what the untouched stub scores on the
gradient tests (nothing), while every honest engine keeps its grade (tests/test_corpus.py).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from grader.checking.instance import DEFAULT_SECRET, Instances
from grader.grading.runner import grade
from test_hostile import STUB, handin

SECRET = Instances("a course secret of 32 hex digits!")
PUBLISHED = Instances(published=True)


def gradient_points(result) -> float:
    """Points from every test outside the forward group (those need backward())."""
    return sum(t.score for t in result.tests if "test_forward::" not in t.extra["test"])


@pytest.fixture(scope="module")
def stub_gradient_points() -> float:
    return gradient_points(grade(STUB, instances=SECRET))


# --------------------------------------------------------------- numerical differentiation

@pytest.mark.parametrize("name", ["complex_step", "finite_difference"])
def test_numerical_gradients_score_no_more_than_the_stub(tmp_path, name, stub_gradient_points):
    result = grade(handin(tmp_path, name), instances=SECRET)
    assert gradient_points(result) <= stub_gradient_points == 0
    # Its gradients were right (the check runs only then), and the feedback says what was seen.
    gradient = [t for t in result.tests if "test_forward::" not in t.extra["test"]]
    flagged = [t for t in gradient if t.extra["misconceptions"] == ["not-backprop"]]
    assert len(flagged) >= len(gradient) - 2, [t.name for t in gradient if t not in flagged]
    shown = flagged[0].output
    assert "Your backward() reported" in shown and "not produced by backpropagation" in shown
    if name == "complex_step":
        assert "no node of the graph holds a backward closure" in shown
    else:
        assert "running each node's own backward closure (`_backward`)" in shown
    assert "not-backprop" in result.misconceptions
    assert result.tests[0].status == "passed"  # its forward values still count


# --------------------------------------------------------------- a table from one probe

def probe_source() -> str:
    """The stub with every closure left as `pass`: all it shows is the feedback."""
    return re.sub(r"raise NotImplementedError\(.*\)", "pass", STUB.read_text())


def table_from(result) -> dict[str, list]:
    """What a student can read off one result's feedback: each graph's leaf values (as the
    program shows them) and the leaves' expected gradients."""
    table = {}
    for t in result.tests:
        leaves = re.findall(r"^    (\w+) = Value\((\S+)\)$", t.output, re.M)
        expected = dict(re.findall(r"Expected (\w+)\.grad = (\S+), got", t.output))
        for part in re.findall(r"Correct: (.*)\.$", t.output, re.M):
            expected.update(re.findall(r"(\w+)\.grad = (\S+)", part))
        if leaves and any(name in expected for name, _ in leaves):
            key = repr([float(x) for _, x in leaves])
            table[key] = [float(expected[n].rstrip(".,")) if n in expected else None
                          for n, _ in leaves]
    return table


def test_a_table_from_a_probe_scores_nothing_on_another_instance(tmp_path,
                                                                  stub_gradient_points):
    probe = tmp_path / "probe" / "engine.py"
    probe.parent.mkdir()
    probe.write_text(probe_source())
    table = {**table_from(grade(probe, instances=SECRET)),
             **table_from(grade(probe, instances=PUBLISHED))}
    assert len(table) > 30
    engine = handin(tmp_path, "lookup_table", TABLE_JSON=json.dumps(table))
    # On the values the probe saw (the suite's published ones), the table is the answer key:
    # its closures write the expected gradients, and running them from the root does the same.
    on_published = grade(engine, instances=PUBLISHED)
    assert gradient_points(on_published) > stub_gradient_points + 60
    # On its own instance (another file: other values), nothing in the table applies.
    own = grade(engine, instances=SECRET)
    assert own.extra["instance"]["values"] == "own"
    assert gradient_points(own) <= stub_gradient_points == 0


# --------------------------------------------------------------- each hand-in's own values

SEEDS = [f"{n:032x}" for n in range(1, 9)]


def test_every_instance_keeps_every_test_to_its_purpose():
    """For many hand-ins, each test finds values that keep its purpose (never falling back to
    the published ones), and they are other values than the published."""
    from grader.checking.instance import Instance
    from suite_cases import discover

    class Engine:
        def __init__(self, instance):
            self.instance, self.graphs = instance, []

        def check(self, g, root, wrt=None):
            self.graphs.append((g, self.instance.vary(g, root.index)))
        forward = check

    for n in range(200):
        for cid, func, kwargs in discover():
            engine = Engine(Instance(f"{n:032x}"))
            func(engine, **kwargs)
            for published, own in engine.graphs:
                assert own is not published, (n, cid)
                pinned = {i for i, (lo, hi) in published.ranges.items() if lo == hi}
                assert any(a != b for i, (a, b) in enumerate(zip(own.ops, published.ops))
                           if i not in pinned), (n, cid)
                zero = [i for i, op in enumerate(published.ops) if op == ["leaf", 0.0]]
                assert all(own.ops[i] == ["leaf", 0.0] for i in zero), (n, cid)


@pytest.fixture(scope="module")
def mutant_engines(tmp_path_factory):
    from corpus_truth import load_engine
    from mutants import MUTANTS, source

    folder = tmp_path_factory.mktemp("mutants")
    engines = {}
    for name in MUTANTS:
        path = folder / f"{name.replace('-', '_')}.py"
        path.write_text(source(name))
        engines[name] = load_engine(path)
    return engines


@pytest.fixture(scope="module")
def first_verdicts(mutant_engines):
    """Each mutant's verdict on each test, on the published values and on one instance."""
    from corpus_truth import hidden_tests
    from grader.checking.instance import Instance

    return {"published": verdicts(mutant_engines, hidden_tests()),
            "first": verdicts(mutant_engines, hidden_tests(Instance("f" * 32)))}


def verdicts(engines, tests) -> dict:
    from corpus_truth import request_passes

    manifest = {"children": "_prev", "closure": "_backward"}
    return {(name, t["name"]): all(request_passes(Value, r, manifest) for r in t["requests"])
            for name, Value in engines.items() for t in tests
}


@pytest.mark.parametrize("seed", SEEDS)
def test_no_mutant_passes_or_fails_by_the_luck_of_its_values(mutant_engines, first_verdicts,
                                                            seed):
    """Each one-bug engine (tests/mutants.py) passes the same tests on every hand-in's own
    values (verdicts from finite differences and 32 visiting orders, corpus_truth): its
    misconception's wrong answer never meets the right one by chance. It passes none that it
    fails on the published values; it may fail one it passes there by their luck (the lecture's
    a = -2, b = 3 make a + b = 1, which hides a `*` that forgets `out.grad`)."""
    from corpus_truth import hidden_tests
    from grader.checking.instance import Instance

    now = verdicts(mutant_engines, hidden_tests(Instance(seed)))
    differ = {k: v for k, v in now.items() if v != first_verdicts["first"][k]}
    assert not differ
    lucky = {k for k, v in now.items() if v and not first_verdicts["published"][k]}
    assert not lucky


def test_the_same_file_gets_the_same_instance_and_bytes_and_another_file_another(tmp_path):
    from grader.platforms.gradescope import to_gradescope
    from mutants import source

    a = tmp_path / "a" / "engine.py"
    b = tmp_path / "b" / "engine.py"
    for path, text in ((a, source("tanh-from-input")),
                       (b, source("tanh-from-input") + "\n# handed in again\n")):
        path.parent.mkdir()
        path.write_text(text)

    def graded(path, instances=SECRET):
        r = grade(path, instances=instances)
        return r, re.sub(r'"execution_time": [0-9.e-]+', "",
                         json.dumps(to_gradescope(r, "visible"), sort_keys=True))

    (r1, out1), (r2, out2), (r3, out3) = graded(a), graded(a), graded(b)
    assert out1 == out2 and r1.extra["instance"] == r2.extra["instance"]
    assert r1.extra["instance"]["seed"] != r3.extra["instance"]["seed"]
    assert r1.extra["instance"]["secret"] == "course file"
    program = {t.name: t.output.split("Expected")[0] for t in r1.tests if t.status == "failed"}
    other = {t.name: t.output.split("Expected")[0] for t in r3.tests if t.status == "failed"}
    assert program.keys() == other.keys() and all(program[k] != other[k] for k in program)
    assert r1.score == r3.score  # one bug, the same tests, whatever the values
    # With the published values, what the suite says, as it says it.
    p, _ = graded(a, PUBLISHED)
    assert p.extra["instance"] == {"values": "published"}
    lecture = next(t for t in p.tests if t.name.startswith("The lecture's graph"))
    assert "a = Value(-2)\n    b = Value(3)" in lecture.output or lecture.status == "passed"
    assert grade(a).extra["instance"]["secret"] == "default"
    assert DEFAULT_SECRET


def test_an_answer_whose_replay_is_not_floats_is_not_an_answer():
    from grader.sandbox import frames

    good = {"grad": [1.0, 2], "closure": "_backward", "error": ""}
    asked = {"id": 1, "nodes": 2, "backward": True}

    def answer(replay):
        return {"id": 1, "data": [1.0, 2.0], "grad": [1.0, 2.0], "replay": replay}

    _, checked = frames.check(answer(good), "answer", **asked)
    assert checked["replay"] == {"grad": [1.0, 2.0], "closure": "_backward", "error": ""}
    for bad in ("x", {**good, "grad": [1.0]}, {**good, "grad": [1.0, "2"]},
                {**good, "closure": 3}, {**good, "grad": [True, 1.0]}, {**good, "line": "1"}):
        with pytest.raises(frames.Invalid):
            frames.check(answer(bad), "answer", **asked)


def test_published_values_on_the_command_line(tmp_path):
    """`grader grade` and `grader batch` take --published-values and record what they graded."""
    import subprocess
    import sys

    from test_hostile import REFERENCE

    grader = Path(sys.executable).with_name("grader")
    one = subprocess.run([str(grader), "grade", str(REFERENCE), "--published-values"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["extra_data"]["instance"] == {"values": "published"}
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "ada.py").write_text(REFERENCE.read_text())
    for flag, values in (("--published-values", "published"), (None, "own")):
        proc = subprocess.run([str(grader), "batch", "class", "--out", "out", "--jobs", "1",
                               "--resume", *([flag] if flag else [])],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        result = json.loads((tmp_path / "out" / "results" / "ada.json").read_text())
        assert result["extra_data"]["instance"]["values"] == values
    assert "values changed" in proc.stdout + proc.stderr  # --resume graded it again
