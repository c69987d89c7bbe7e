"""A request and its answer hand over between the grader and the hand-in's process on one CPU
(grader/sandbox/affinity.py): while a hand-in is loaded, both run on the CPU the grader was
on, and afterwards the grader may run wherever it could before. Batch workers each get a CPU
of their own where there are at least as many CPUs as workers, and their sandboxes run there."""
from __future__ import annotations

import json
import os

import pytest

from grader.batch.run import Task, grade_all
from grader.sandbox import affinity
from grader.sandbox.client import Sandbox
from grader.sandbox.limits import Limits
from mutants import REFERENCE

CPUS = os.sched_getaffinity(0)
pytestmark = pytest.mark.skipif(len(CPUS) < 2, reason="one CPU: there is nothing to choose")

# The reference, but a leaf of 7.0 answers with the CPUs its process may run on (a bit mask).
TELLS = REFERENCE.read_text() + """

import os as _os
_init = Value.__init__


def __init__(self, data, *args, **kwargs):
    _init(self, data, *args, **kwargs)
    if data == 7.0:
        self.data = float(sum(1 << c for c in _os.sched_getaffinity(0)))


Value.__init__ = __init__
"""
ASK_CPUS = {"ops": [["leaf", 7.0]], "root": 0, "backward": False}
PRINTS_CPUS = REFERENCE.read_text() + "\nimport os\nprint('cpus', sorted(os.sched_getaffinity(0)))\n"


def mask(cpus) -> float:
    return float(sum(1 << c for c in cpus))


@pytest.mark.parametrize("spare", [False, True], ids=["forked-on-demand", "spare"])
def test_the_handin_runs_on_the_graders_cpu_while_it_is_loaded(spare):
    sandbox = Sandbox(spare=spare)
    sandbox.start()
    try:
        for _ in range(3):
            handin = sandbox.load([{"source": TELLS, "filename": "engine.py"}])
            assert handin.open()["loaded"]
            mine = os.sched_getaffinity(0)
            assert len(mine) == 1
            assert handin.ask(ASK_CPUS)["data"] == [mask(mine)]
            handin._kill()  # a new process for the same hand-in keeps the CPU
            assert handin.ask(ASK_CPUS)["data"] == [mask(mine)]
            handin.close()
            assert os.sched_getaffinity(0) == CPUS  # given back
    finally:
        sandbox.close()


def test_workers_get_a_cpu_each_where_there_are_enough():
    assert sorted(affinity.spread(len(CPUS))) == sorted(CPUS)
    assert len(set(affinity.spread(2))) == 2
    assert affinity.spread(len(CPUS) + 1) == [None] * (len(CPUS) + 1)


def test_a_batch_grades_each_handin_on_its_workers_cpu(tmp_path):
    tasks = []
    for sid in "abcdef":
        path = tmp_path / "src" / sid / "engine.py"
        path.parent.mkdir(parents=True)
        path.write_text(PRINTS_CPUS)
        tasks.append(Task(sid, path, {}))
    grade_all(tasks, tmp_path / "results", 2, Limits(), lambda task, result: None)
    seen = []
    for sid in "abcdef":
        result = json.loads((tmp_path / "results" / f"{sid}.json").read_text())
        assert result["score"] == 123
        line = next(x for x in result["output"].splitlines() if x.startswith("cpus "))
        seen.append(tuple(json.loads(line[len("cpus "):])))
    assert all(len(cpus) == 1 for cpus in seen)
    assert len(set(seen)) <= 2 and set(seen) <= {(c,) for c in CPUS}
