"""`grader grade` has the sandbox load a hand-in while pytest is imported (`Sandbox.load_early`):
the process that loaded early is the one graded, with what it printed while loading, on the
grader's CPU once asked; cells other than those loaded early get a process of their own."""
from __future__ import annotations

import os

from grader.sandbox.client import EARLY_SOURCE, Sandbox
from mutants import REFERENCE

SOURCE = REFERENCE.read_text()
# a leaf of 7.0 answers with the CPUs its process may run on (a bit mask)
TELLS = SOURCE + """

import os as _os
print("loaded in", _os.getpid())
_init = Value.__init__


def __init__(self, data, *args, **kwargs):
    _init(self, data, *args, **kwargs)
    if data == 7.0:
        self.data = float(sum(1 << c for c in _os.sched_getaffinity(0)))


Value.__init__ = __init__
"""
ASK_CPUS = {"ops": [["leaf", 7.0]], "root": 0, "backward": False}
ASK = {"ops": [["leaf", -2.0], ["leaf", 3.0], ["mul", 0, 1], ["add", 0, 1], ["mul", 2, 3]],
       "root": 4}


def cells(source: str) -> list[dict]:
    return [{"source": source, "filename": "engine.py"}]


def test_the_handin_loaded_early_is_the_one_graded():
    sandbox = Sandbox()
    sandbox.launch()
    try:
        sandbox.load_early(cells(TELLS))
        early = sandbox.early
        assert early is not None
        sandbox.start()
        handin = sandbox.load(cells(TELLS))
        assert handin is early and sandbox.early is None
        assert handin.open()["loaded"]
        assert handin.processes == 1
        assert handin.ask(ASK)["grad"][:2] == [-3.0, -8.0]  # the chain rule's sum
        mine = os.sched_getaffinity(0)  # held while the hand-in is loaded
        assert handin.ask(ASK_CPUS)["data"] == [float(sum(1 << c for c in mine))]
        printed, _ = handin.printed()
        assert printed.startswith("loaded in ")
        handin.close()
    finally:
        sandbox.close()


def test_other_cells_get_a_process_of_their_own():
    sandbox = Sandbox()
    sandbox.launch()
    try:
        sandbox.load_early(cells(TELLS))
        sandbox.start()
        handin = sandbox.load(cells(SOURCE))
        assert sandbox.early is None
        assert handin.open()["loaded"]
        assert handin.ask(ASK)["grad"][:2] == [-3.0, -8.0]
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
        big = SOURCE + "\n# " + "x" * EARLY_SOURCE + "\n"
        sandbox.load_early(cells(big))  # might not fit in the sockets' buffers
        assert sandbox.early is None
        sandbox.start()
        handin = sandbox.load(cells(big))
        assert handin.open()["loaded"]
        assert handin.ask(ASK)["grad"][:2] == [-3.0, -8.0]
        handin.close()
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
        sandbox.load_early(cells(SOURCE))
        assert sandbox.early is None
        sandbox.start()
        handin = sandbox.load(cells(SOURCE))
        assert handin.open()["loaded"]
        assert handin.ask(ASK)["grad"][:2] == [-3.0, -8.0]
        handin.close()
    finally:
        sandbox.close()
