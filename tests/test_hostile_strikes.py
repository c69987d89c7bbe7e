"""A hand-in that kills or hangs its process in test after test costs a few tests' time, not
every test's: once two strikes show what it does (grader/sandbox/strikes.py), the tests that
would do it again fail at once, each saying why in one sentence, and no new process is started
for them. An engine that fails that way only in some operations, or only on the largest graphs,
loses only the tests that meet them.

Expected scores come from the hidden suite's recorded requests (tests/corpus_truth.py), not from
the grader: a test is lost exactly when one of its requests calls backward() on a graph the
hand-in's snippet breaks (every graph, one using a given operation, or one above a size); the
base engine is the reference, right on everything else. No assertion is on time: the counts are
of what happened (processes started, tests not run).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from corpus_truth import hidden_tests
from grader.grading.runner import Job, grade, run
from test_hostile import CONDITIONS, FAST, GRADER, HERE, HOSTILE, REFERENCE, ROOT, STUB, cli, \
    handin, shared_tmp, source  # noqa: F401 (a fixture)

TESTS = hidden_tests()
MAX = sum(t["weight"] for t in TESTS)


def lost_when(breaks) -> set[str]:
    """The tests with a backward() request on a graph `breaks(ops, nodes)` says fails."""
    return {t["name"] for t in TESTS
            if any(r["backward"] and breaks({op[0] for op in r["ops"]}, len(r["ops"]))
                   for r in t["requests"])}


def deserved(lost: set[str]) -> float:
    return sum(t["weight"] for t in TESTS if t["name"] not in lost)


EVERYWHERE = lost_when(lambda ops, nodes: True)
NOT_RUN = re.compile(r"Not run: the hand-in .+ in [12] tests? \(e\.g\. “[^”]+”\), so the "
                     r"(tests that .+|remaining tests) were not run\.")

# snippet: what its strikes say
EVERY_BACKWARD = {
    "exit_backward_os": "exited the process (exit code 0)",
    "exit_backward_sys": "exited the process",
    "every_backward_hog": "",  # MemoryError, or killed, as the machine's limits have it
    "every_backward_loop": "did not finish",
    "every_backward_sleep": "did not finish",
    "every_backward_stubborn": "did not finish",
    "every_backward_print": "did not finish",
    "every_backward_forks": "",  # refused forks, then a loop: a timeout, or a crash
    "every_backward_close": "",  # the channel closed under it
}


def handin_of(tmp_path, *names: str):
    """The reference with each snippet appended: one broken operation per snippet."""
    path = handin(tmp_path, names[0])
    for name in names[1:]:
        path.write_text(path.read_text() + "\n\n" + (HOSTILE / f"{name}.py").read_text())
    return path


def not_run(result) -> list:
    return [t for t in result.tests if t.extra.get("not_run")]


def strikes(result, lost: set[str]) -> list:
    """The lost tests that ran (and met the hand-in's end) rather than failing at once."""
    return [t for t in result.tests if t.name in lost and not t.extra.get("not_run")]


@pytest.mark.parametrize("name", list(EVERY_BACKWARD))
def test_breaking_every_backward_costs_a_few_tests(tmp_path, name):
    result = grade(handin(tmp_path, name), FAST)
    assert result.score == deserved(EVERYWHERE) == 10  # the forward tests
    assert result.max_score == MAX
    assert {t.name for t in result.tests if t.status == "failed"} == EVERYWHERE
    assert len(strikes(result, EVERYWHERE)) <= 3
    assert len(not_run(result)) >= len(EVERYWHERE) - 3
    assert result.extra["processes"] <= 4  # the first, and one after each strike that ended it
    for t in not_run(result):
        assert NOT_RUN.search(t.output), t.output
        assert EVERY_BACKWARD[name] in t.output, t.output
        assert "could not run this test" not in t.output


@pytest.mark.parametrize("name, ops", [("exp_exits", {"exp"}), ("tanh_loop", {"tanh"}),
                                       ("memory_list", {"relu"}),
                                       ("exp_exits+tanh_loop", {"exp", "tanh"})])
def test_breaking_one_operation_costs_only_its_tests(tmp_path, name, ops):
    """The tests that never use the operation all run and pass; of those that use it, the first
    two or three meet its end and the rest are not run."""
    lost = lost_when(lambda used, nodes: bool(used & ops))
    result = grade(handin_of(tmp_path, *name.split("+")), FAST)
    assert {t.name for t in result.tests if t.status == "failed"} == lost
    assert result.score == deserved(lost)
    assert len(strikes(result, lost)) <= 3 * len(ops)
    assert not_run(result)
    assert all(t.name in lost for t in not_run(result))
    for t in not_run(result):
        assert NOT_RUN.search(t.output), t.output
        if len(ops) == 1:
            assert re.search(rf"so the tests that use [^.]*\b{min(ops)}\b", t.output), t.output


def test_two_operations_each_keep_their_own_reason(tmp_path):
    """exp exits and tanh loops: tests of exp are refused for exiting, tests of tanh for not
    finishing, and never one for the other's reason."""
    result = grade(handin_of(tmp_path, "exp_exits", "tanh_loop"), FAST)
    for t in not_run(result):
        said = NOT_RUN.search(t.output).group(0)
        uses = re.search(r"tests that use ([^.]*) and call", said).group(1).split()
        if "exited" in said:
            assert "exp" in uses and "did not finish" not in said, said
        else:
            assert "did not finish" in said and "tanh" in uses, said


@pytest.mark.parametrize("fail", ["time.sleep(60)", "os._exit(1)"])
@pytest.mark.parametrize("size", [100, 20])
def test_a_right_engine_that_fails_on_the_largest_graphs_keeps_every_smaller_one(tmp_path,
                                                                                  fail, size):
    """Slow (past its time limit) or dying on graphs above `size` nodes: one such test (the
    150-node chain) or two (and the sum of ten terms) are lost, and nothing else."""
    lost = {t["name"] for t in TESTS if any(r["backward"] and _reachable(r) > size
                                            for r in t["requests"])}
    assert len(lost) == (1 if size == 100 else 2)
    result = grade(handin(tmp_path, "big_graphs", SIZE=str(size), FAIL=fail), FAST)
    assert {t.name for t in result.tests if t.status == "failed"} == lost
    assert result.score == deserved(lost)
    assert not_run(result) == []


def _reachable(request) -> int:
    """Nodes below the root (the root included): what the snippets count."""
    ops, seen, stack = request["ops"], set(), [request["root"]]
    while stack:
        i = stack.pop()
        if i not in seen:
            seen.add(i)
            op = ops[i]
            stack += [a for a in (op[1:2] if op[0] == "pow" else op[1:])
                      if isinstance(a, int) and op[0] != "leaf"]
    return len(seen)


def test_exceptions_are_never_strikes(tmp_path, baseline_stub):
    """The untouched stub raises NotImplementedError in most tests: each is that test's answer,
    and every test runs, in one process."""
    path = tmp_path / "engine.py"
    path.write_text(STUB.read_text())
    result = grade(path, FAST)
    assert result.score == baseline_stub
    assert not_run(result) == [] and result.extra["processes"] == 1


@pytest.fixture(scope="module")
def baseline_stub():
    return grade(STUB, FAST).score


def test_through_the_command(tmp_path):
    data, _, _ = cli(handin(tmp_path, "exit_backward_os"), "--test-timeout", "0.5")
    assert data["score"] == deserved(EVERYWHERE)
    assert sum(t["max_score"] for t in data["tests"]) == MAX
    assert data["extra_data"]["processes"] <= 4
    assert sum(1 for t in data["tests"] if NOT_RUN.search(t["output"])) >= len(EVERYWHERE) - 3


HOSTILE_CLASS = ["exit_backward_os", "every_backward_stubborn", "every_backward_hog",
                 "every_backward_loop", "every_backward_forks"]


def class_of(folder):
    """Honest hand-ins (the reference and the stub, in turn) with the hostile ones among them."""
    folder.mkdir(mode=0o755)
    names = []
    for i, name in enumerate(HOSTILE_CLASS):
        for j, text in enumerate([source(name), (REFERENCE if i % 2 else STUB).read_text()]):
            path = folder / f"s{2 * i + j}_engine.py"
            path.write_text(text)
            path.chmod(0o644)
            names.append(name if j == 0 else ("reference" if i % 2 else "stub"))
    return names


def check_class(names, results: dict, stub: float) -> None:
    for i, name in enumerate(names):
        r = results[f"s{i}_engine"]
        if name == "reference":
            assert r["score"] == MAX, r["output"]
        elif name == "stub":
            assert r["score"] == stub
        else:
            assert r["score"] == deserved(EVERYWHERE), (name, r["output"])
            assert r["extra_data"]["processes"] <= 4
            notrun = [t for t in r["tests"] if NOT_RUN.search(t["output"])]
            assert len(notrun) >= len(EVERYWHERE) - 3, name
        assert sum(t["max_score"] for t in r["tests"]) == MAX


def test_a_class_with_hostile_handins_in_one_session(tmp_path, baseline_stub):
    names = class_of(tmp_path / "class")
    results = {}
    run([Job(p, {"key": p.stem}) for p in sorted((tmp_path / "class").iterdir())],
        lambda job, result: results.__setitem__(job.extra["key"], result.to_json()), FAST)
    check_class(names, results, baseline_stub)


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_a_class_with_hostile_handins_in_every_condition(shared_tmp, baseline_stub, condition):
    """`grader batch` where layers are missing (tests/container.py): the same counts."""
    import container
    if container.missing():
        pytest.skip(container.missing())
    names = class_of(shared_tmp / "class")
    reveal = ":".join(sorted({sys.base_prefix, sys.prefix, str(ROOT), str(shared_tmp)}))
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C.UTF-8", "HOME": str(shared_tmp), "REVEAL": reveal}
    proc = subprocess.run([container.SYSTEM_PYTHON, str(HERE / "container.py"),
                           *CONDITIONS[condition], "--", str(GRADER), "batch",
                           str(shared_tmp / "class"), "--out", str(shared_tmp / "out"),
                           "--jobs", "2", "--test-timeout", "0.5"],
                          capture_output=True, text=True, timeout=300, cwd=shared_tmp, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = {f"s{i}_engine": json.loads(
        (shared_tmp / "out" / "results" / f"s{i}_engine.json").read_text())
        for i in range(len(names))}
    check_class(names, results, baseline_stub)


def test_a_late_kill_read_with_the_next_spawn_leaves_it_its_channel():
    """The trusted side asks to kill a process that has already ended, then spawns the next:
    the host may read both messages at once, with the spawn's channel. The spawn must keep it
    (it once went with the kill and was closed: the next process never loaded, and the grader
    waited for a new host)."""
    import socket
    import time

    from grader.sandbox.client import Sandbox, _Channel, _write
    from grader.sandbox.host import frame
    from grader.grading.handin import load

    sandbox = Sandbox(FAST)
    sandbox.start()
    try:
        mine, theirs = socket.socketpair()
        both = frame({"op": "kill"}) + frame({"op": "spawn", "limits": FAST.to_json(),
                                              "confine": sandbox.confine,
                                              "uid": sandbox.next_uid()})
        socket.send_fds(sandbox.ctl, [both], [theirs.fileno()])
        theirs.close()
        channel = _Channel(mine)
        try:
            _write(mine, {"cells": load(REFERENCE).cells}, time.monotonic() + 10)
        except OSError:
            pytest.fail("the host closed the spawn's channel")
        got, report = channel.read(time.monotonic() + 10)
        assert got == "self" and report["loaded"] is True, (got, report)
    finally:
        sandbox.close(kill=True)
