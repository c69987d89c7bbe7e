"""Not starting a hand-in's process again for a request it has shown it kills or hangs.

A hand-in that exits, dies, hogs memory or loops in every backward() would otherwise cost a new
process and a reload, or a full time limit, in every test: seconds each, for a verdict already
known. So its strikes are kept, and a request that would meet the same end is not run.

A strike is a request after which the hand-in's process was gone or stuck: it exited, died of a
signal, was killed (out of memory, or still running past its limit and the grace), closed or
garbled its channel, filled its scratch; or it answered that the grader's time limit fired inside
it, or that it ran out of memory (MemoryError). Any other exception is the engine's own answer
to that test and never a strike: a bug in one operation costs the tests that meet it, as always.

Once two strikes have the same reason, a later request is not run if it asks at least as much as
each of them did: its graph uses every operation their graphs have in common, it has at least
as many nodes as the smallest of them, and it calls backward() unless one of them did not. So an
engine that exits in every backward() loses its gradient tests after two, and keeps its forward
ones; one whose exp backward exits loses only the tests that use exp; one slow (but right) on
the deepest graphs keeps every smaller one; and one strike alone (a single slow test) costs
nothing else. A test not run scores 0, saying why in one sentence.
"""
from __future__ import annotations

import re

from .client import Fault

SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "neg": "unary -",
          "tanh": "tanh", "exp": "exp", "relu": "relu"}
SIZE_SHOWN = 10  # a smallest graph larger than this is named in the sentence


class NotRun(Fault):
    """A request not run because the hand-in has shown what it would do; its message is the
    whole sentence the student reads."""


class Strike:
    def __init__(self, request: dict, kind: str, reason: str):
        self.ops = {op[0] for op in request["ops"]} - {"leaf"}
        self.nodes = len(request["ops"])
        self.backward = request.get("backward", True)
        self.kind = kind  # the Fault's ("timeout", "crash", ...)
        self.reason = reason if reason.startswith("the hand-in") else "the hand-in " + reason
        self.test: str | None = None  # the test it happened in, once the session says


class Strikes:
    def __init__(self):
        self.strikes: list[Strike] = []
        self.not_run = 0  # requests refused
        self._refused = False  # a request was refused since `name` was last called

    def check(self, request: dict) -> None:
        """Raise NotRun if two strikes of one reason cover `request` (see the module)."""
        groups: dict[str, list[Strike]] = {}
        for s in self.strikes:
            groups.setdefault(_key(s.reason), []).append(s)
        for same in groups.values():
            if len(same) < 2:
                continue
            ops = set.intersection(*(s.ops for s in same))
            nodes = min(s.nodes for s in same)
            backward = all(s.backward for s in same)
            used = {op[0] for op in request["ops"]}
            if ops <= used and len(request["ops"]) >= nodes \
                    and (request.get("backward", True) or not backward):
                self.not_run += 1
                self._refused = True
                raise NotRun(same[0].kind, _sentence(same, ops, nodes, backward))

    def fault(self, request: dict, f: Fault) -> None:
        """The request ended its process (or the hand-in's budget): a strike."""
        self.strikes.append(Strike(request, f.kind, str(f)))

    def answered(self, request: dict, answer: dict) -> None:
        """An answer saying the time limit fired inside the hand-in or it ran out of memory is
        a strike; any other answer is not."""
        kind = answer.get("error", {}).get("type")
        if kind == "timeout":
            self.strikes.append(Strike(request, "timeout", "did not finish in its time limit"))
        elif kind == "MemoryError":
            self.strikes.append(Strike(request, "crash", "ran out of memory (MemoryError)"))

    def name(self, test: str) -> bool:
        """The strikes since the last call happened in `test`; whether a request of it was not
        run."""
        for s in self.strikes:
            s.test = s.test or test
        refused, self._refused = self._refused, False
        return refused


def _key(reason: str) -> str:
    """What two strikes must share to count together: the reason without its details (an
    exit code, a limit's seconds, what was wrong with a frame)."""
    if reason.startswith("the hand-in did not finish"):
        return "timeout"
    return re.sub(r" \(.*", "", reason)


def _sentence(same: list[Strike], ops: set[str], nodes: int, backward: bool) -> str:
    tests = {s.test for s in same}  # None: the test running now
    named = next((s.test for s in same if s.test), None)
    where = f" (e.g. “{named}”)" if named else ""
    scope = []
    if ops:
        scope.append("use " + _and([SYMBOL.get(op, op) for op in sorted(ops)]))
    if backward:
        scope.append("call backward()")
    which = "the tests that " + " and ".join(scope) if scope else "the remaining tests"
    if nodes > SIZE_SHOWN:
        which += f" on graphs of {nodes} nodes or more"
    count = f"{len(tests)} test" + ("s" if len(tests) > 1 else "")
    return f"Not run: {same[0].reason} in {count}{where}, so {which} were not run."


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
