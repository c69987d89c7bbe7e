"""Not starting a hand-in's process again for a request it has shown it kills or hangs.

A hand-in that exits, dies, hogs memory or loops in every backward() would otherwise cost a new
process and a reload, or a full time limit, in every test: seconds each, for a verdict already
known. So its strikes are kept, and a request that would meet the same end is not run.

A strike is a request after which the hand-in's process was gone or stuck: it exited, died of a
signal, was killed (out of memory, or still running past its limit and the grace), closed or
garbled its channel, filled its scratch; or it answered that the grader's time limit fired inside
it, or that it ran out of memory (MemoryError). Any other exception is the engine's own answer
to that test and never a strike: a bug in one operation costs the tests that meet it, as always.

Any two strikes make a rule: a later request is not run if it asks at least as much as both
did, and nothing has shown otherwise:

- its graph uses every operation the two graphs have in common;
- it is at least as large as the smaller of them, unless that one was small (no working engine
  needs its time limit, or all its memory, for a graph of SMALL nodes: a strike there shows an
  endless loop or a hog, whatever the size);
- it calls backward(), unless one of them did not;
- and no request that asked as much has been answered with the process alive: that would show
  the operations the two share are not what kills it (two different operations that each hang,
  say: each pair of strikes of one of them still covers that operation's tests).

So an engine that exits in every backward() loses its gradient tests after two or three, and
keeps its forward ones; one whose exp backward exits loses only the tests that use exp; one slow
(but right) on the deepest graphs keeps every smaller one; and one strike alone (a single slow
test) costs nothing else. A test not run scores 0, saying why in one sentence.

What this does not bound: a hand-in that hangs in one test and answers the next, in turn, shows
every time that it survives what it was asked; each of its hangs costs the short limit after a
hang (client.AFTER_HANG_SECONDS), up to the hand-in's time budget.
"""
from __future__ import annotations

import re

from .client import Fault

SMALL = 10  # nodes
SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "neg": "unary -",
          "tanh": "tanh", "exp": "exp", "relu": "relu"}


class NotRun(Fault):
    """A request not run because the hand-in has shown what it would do; its message is the
    whole sentence the student reads."""


class Asked:
    """What a request asks of the hand-in: the operations of its graph, its size, whether it
    calls backward()."""

    def __init__(self, request: dict):
        self.ops = frozenset(op[0] for op in request["ops"]) - {"leaf"}
        self.nodes = len(request["ops"])
        self.backward = request.get("backward", True) is not False

    def covers(self, ops, nodes: int, backward: bool) -> bool:
        return self.ops >= ops and self.nodes >= nodes and (self.backward or not backward)


class Strike(Asked):
    def __init__(self, request: dict, kind: str, reason: str):
        super().__init__(request)
        self.kind = kind  # the Fault's ("timeout", "crash", ...), for the misconception
        self.reason = reason if reason.startswith("the hand-in") else "the hand-in " + reason
        self.test: str | None = None  # the test it happened in, once the session says


class Rule:
    """Two strikes and what they have in common: what a request must ask to be refused."""

    def __init__(self, first: Strike, second: Strike):
        self.pair = (first, second)
        self.ops = first.ops & second.ops
        smallest = min(first.nodes, second.nodes)
        self.nodes = smallest if smallest > SMALL else 0
        self.backward = first.backward and second.backward

    def covers(self, asked: Asked) -> bool:
        return asked.covers(self.ops, self.nodes, self.backward)


class Strikes:
    def __init__(self):
        self.strikes: list[Strike] = []
        self.rules: list[Rule] = []  # one per pair of strikes, while nothing refutes it
        self.survived: list[Asked] = []  # requests answered with the process alive
        self.not_run = 0  # requests refused
        self._refused = False  # a request was refused since `name` was last called

    def check(self, request: dict) -> None:
        """Raise NotRun if a pair of strikes covers `request` (see the module)."""
        if not self.rules:
            return
        asked = Asked(request)
        rule = next((r for r in self.rules if r.covers(asked)), None)
        if rule is not None:
            self.not_run += 1
            self._refused = True
            raise NotRun(rule.pair[0].kind, _sentence(rule))

    def fault(self, request: dict, f: Fault) -> None:
        """The request ended its process (or the hand-in's budget): a strike."""
        self._strike(Strike(request, f.kind, str(f)))

    def answered(self, request: dict, answer: dict) -> None:
        """An answer saying the time limit fired inside the hand-in or it ran out of memory is
        a strike; any other answer shows the process lives through such a request."""
        kind = answer.get("error", {}).get("type")
        if kind == "timeout":
            self._strike(Strike(request, "timeout", "did not finish in its time limit"))
        elif kind == "MemoryError":
            self._strike(Strike(request, "crash", "ran out of memory (MemoryError)"))
        else:
            asked = Asked(request)
            self.survived.append(asked)
            self.rules = [r for r in self.rules if not r.covers(asked)]

    def _strike(self, strike: Strike) -> None:
        for earlier in self.strikes:
            rule = Rule(earlier, strike)
            if not any(rule.covers(a) for a in self.survived):
                self.rules.append(rule)
        self.strikes.append(strike)

    def name(self, test: str) -> bool:
        """The strikes since the last call happened in `test`; whether a request of it was not
        run."""
        for s in self.strikes:
            s.test = s.test or test
        refused, self._refused = self._refused, False
        return refused


def _key(reason: str) -> str:
    """What two strikes must share to count together: the reason without its details (an
    exit code, a signal's number, a limit's seconds, what was wrong with a frame)."""
    if reason.startswith("the hand-in did not finish"):
        return "timeout"
    return re.sub(r"\d+", "N", re.sub(r" \(.*", "", reason))


def _sentence(rule: Rule) -> str:
    first, second = rule.pair
    why = first.reason
    if _key(second.reason) != _key(first.reason):
        why += " and " + second.reason.removeprefix("the hand-in ")
    tests = {first.test, second.test}  # None: the test running now
    named = first.test or second.test
    where = f" (e.g. “{named}”)" if named else ""
    scope = []
    if rule.ops:
        scope.append("use " + _and([SYMBOL.get(op, op) for op in sorted(rule.ops)]))
    if rule.backward:
        scope.append("call backward()")
    which = "the tests that " + " and ".join(scope) if scope else "the remaining tests"
    if rule.nodes:
        which += f" on graphs of {rule.nodes} nodes or more"
    count = f"{len(tests)} test" + ("s" if len(tests) > 1 else "")
    return f"Not run: {why} in {count}{where}, so {which} were not run."


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
