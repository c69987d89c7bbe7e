"""`grader grade` has the sandbox load a hand-in while pytest is imported (`Sandbox.load_early`):
the process that loaded early is the one graded, with what it printed while loading, on the
grader's CPU once asked; cells other than those loaded early get a process of their own."""
from __future__ import annotations

import os

from grader.sandbox.client import EARLY_SOURCE, Sandbox
from mutants import REFERENCE
from test_sandbox_affinity import ASK_CPUS, TELLS, mask

SOURCE = REFERENCE.read_text()
TELLS_AND_PRINTS = TELLS + '\nprint("loaded in", _os.getpid())\n'  # and says it loaded
ASK = {"ops": [["leaf", -2.0], ["leaf", 3.0], ["mul", 0, 1], ["add", 0, 1], ["mul", 2, 3]],
       "root": 4}
CHAIN_RULE = [-3.0, -8.0]  # a.grad and b.grad: the sum of both paths' gradients


def cells(source: str) -> list[dict]:
    return [{"source": source, "filename": "engine.py"}]


def loads_when_asked(sandbox: Sandbox, source: str) -> None:
    """Nothing of `source` loads early; once asked, it loads and is graded."""
    sandbox.load_early(cells(source))
    assert sandbox.early is None
    sandbox.start()
    handin = sandbox.load(cells(source))
    assert handin.open()["loaded"]
    assert handin.ask(ASK)["grad"][:2] == CHAIN_RULE
    handin.close()


def test_the_handin_loaded_early_is_the_one_graded():
    sandbox = Sandbox()
    sandbox.launch()
    try:
        sandbox.load_early(cells(TELLS_AND_PRINTS))
        early = sandbox.early
        assert early is not None
        sandbox.start()
        handin = sandbox.load(cells(TELLS_AND_PRINTS))
        assert handin is early and sandbox.early is None
        assert handin.open()["loaded"]
        assert handin.processes == 1
        assert handin.ask(ASK)["grad"][:2] == CHAIN_RULE
        mine = os.sched_getaffinity(0)  # held while the hand-in is loaded
        assert handin.ask(ASK_CPUS)["data"] == [mask(mine)]
        printed, _ = handin.printed()
        assert printed.startswith("loaded in ")
        handin.close()
    finally:
        sandbox.close()


def test_other_cells_get_a_process_of_their_own():
    sandbox = Sandbox()
    sandbox.launch()
    try:
        sandbox.load_early(cells(TELLS_AND_PRINTS))
        sandbox.start()
        handin = sandbox.load(cells(SOURCE))
        assert sandbox.early is None
        assert handin.open()["loaded"]
        assert handin.ask(ASK)["grad"][:2] == CHAIN_RULE
        assert handin.printed() == ("", 0)  # nothing of the early one's printing
        handin.close()
    finally:
        sandbox.close()


def test_large_handins_and_unlaunched_sandboxes_load_when_asked():
    sandbox = Sandbox()
    sandbox.load_early(cells(SOURCE))  # not launched: nothing to send to
    assert sandbox.early is None
    sandbox.launch()
    try:
        # might not fit in the sockets' buffers
        loads_when_asked(sandbox, SOURCE + "\n# " + "x" * EARLY_SOURCE + "\n")
    finally:
        sandbox.close()


def test_closing_the_sandbox_ends_a_handin_loaded_early():
    sandbox = Sandbox()
    sandbox.launch()
    sandbox.load_early(cells(SOURCE))
    assert sandbox.early is not None
    sandbox.close()
    assert sandbox.early is None and sandbox.proc is None


def test_without_bwrap_nothing_loads_before_we_read(monkeypatch):
    # the cap on a hand-in's scratch may then be the trusted side's to keep (watch.py)
    monkeypatch.setenv("GRADER_SANDBOX", "none")
    sandbox = Sandbox()
    assert sandbox.mode == "none"
    sandbox.launch()
    try:
        loads_when_asked(sandbox, SOURCE)
    finally:
        sandbox.close()
