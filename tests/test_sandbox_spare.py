"""A warm batch worker's sandbox keeps a spare hand-in process (`Sandbox(spare=True)`): forked,
every layer set up, as soon as the last hand-in's process ended, and given the next hand-in's
cells. It must answer exactly as a process forked on demand, never carry anything from the
hand-in before it, and go with the sandbox."""
from __future__ import annotations

import os
import time

from grader.sandbox.client import Sandbox, _process_tree, _running
from mutants import REFERENCE

# Stores a value at import and answers with it: a process reused across hand-ins would show
# the first hand-in's value to the second.
MARKED = REFERENCE.read_text() + """

import builtins
builtins.__dict__.setdefault("first_seen", {MARK})
_data = Value.__init__


def __init__(self, data, *args, **kwargs):
    _data(self, data * builtins.first_seen, *args, **kwargs)


Value.__init__ = __init__
"""
REQUEST = {"ops": [["leaf", 1.5], ["leaf", -2.0], ["mul", 0, 1]], "root": 2}


def cells(mark: int) -> list[dict]:
    return [{"source": MARKED.replace("{MARK}", str(mark)), "filename": "engine.py"}]


def answer(sandbox: Sandbox, mark: int) -> dict:
    handin = sandbox.load(cells(mark))
    assert handin.open()["loaded"]
    try:
        return handin.ask(REQUEST)
    finally:
        handin.close()


def test_each_handin_gets_a_fresh_spare_and_answers_as_on_demand():
    on_demand, spare = Sandbox(), Sandbox(spare=True)
    on_demand.start()
    spare.start()
    try:
        assert spare.spare is not None  # forked as the host came up, before any hand-in
        for mark in (1, 2, 3):
            waiting = spare.spare
            got = answer(spare, mark)
            assert waiting is not spare.spare is not None  # used, and the next one forked
            assert got == answer(on_demand, mark)
            # every node's data times the mark this hand-in stored, not an earlier one's
            assert got["data"] == [1.5 * mark, -2.0 * mark, -3.0 * mark ** 3]
        assert on_demand.spare is None
    finally:
        on_demand.close()
        spare.close()


def test_the_spare_goes_with_the_sandbox():
    sandbox = Sandbox(spare=True)
    sandbox.start()
    answer(sandbox, 1)
    inside = _process_tree(sandbox.proc.pid)
    assert len(inside) >= 3  # bwrap or the host, and the spare hand-in process under it
    sandbox.close()
    deadline = time.monotonic() + 5
    while any(map(_running, inside)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not [pid for pid in inside if _running(pid)]
    assert sandbox.spare is None


def test_a_spare_of_a_host_that_is_gone_is_not_used():
    """A hand-in that brings its host down takes the spare with it: the next hand-in gets a
    process of the new host."""
    sandbox = Sandbox(spare=True)
    sandbox.start()
    try:
        answer(sandbox, 1)
        old = sandbox.proc
        os.killpg(old.pid, 9)
        old.wait()
        assert answer(sandbox, 2)["data"] == [3.0, -4.0, -24.0]
        assert sandbox.proc is not old
    finally:
        sandbox.close()
