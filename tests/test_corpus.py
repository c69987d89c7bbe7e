"""Engines written the way learners write them (`corpus/`), graded and compared with what each
deserves: the verdict of every hidden test from running the engine itself against finite
differences (`corpus_truth`), and the misconceptions from the bugs planted in it (the `.json`
manifest next to each engine). All are graded in one pytest session."""
from __future__ import annotations

import pytest

from corpus_truth import engines, expected, hidden_tests, manifest, own_instance
from grader.grading.runner import Job, run

ENGINES = engines()
ID = [p.name for p in ENGINES]


@pytest.fixture(scope="module")
def tests():
    """Each engine's hidden tests, on its own instance (as the grader draws it)."""
    return lambda engine: hidden_tests(own_instance(engine))


@pytest.fixture(scope="module")
def graded() -> dict:
    results = {}
    run([Job(p, {"key": p.name}) for p in ENGINES],
        lambda job, result: results.__setitem__(job.extra["key"], result))
    return results


def test_corpus_has_twenty_engines_each_with_a_manifest():
    assert len(ENGINES) >= 20
    for engine in ENGINES:
        m = manifest(engine)
        assert m["pattern"] and m["planted"] and isinstance(m["misconceptions"], list), engine


@pytest.mark.parametrize("engine", ENGINES, ids=ID)
def test_score_is_what_finite_differences_say(engine, graded, tests):
    tests = tests(engine)
    truth = expected(engine, tests)
    result = graded[engine.name]
    verdicts = {t.name: t.status == "passed" for t in result.tests}
    assert set(verdicts) == set(truth)
    differ = {name: f"graded {'pass' if ok else 'fail'}" for name, ok in verdicts.items()
              if ok != truth[name]}
    assert not differ, f"{engine.name}: {differ}"
    deserved = sum(t["weight"] for t in tests if truth[t["name"]])
    assert result.score == deserved


@pytest.mark.parametrize("engine", ENGINES, ids=ID)
def test_diagnosis_names_every_planted_bug_and_nothing_else(engine, graded):
    result = graded[engine.name]
    assert sorted(result.misconceptions) == sorted(manifest(engine)["misconceptions"])
