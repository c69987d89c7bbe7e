"""Compare a hand-in's answer for a graph with the reference, and say what a difference means.

A diagnosis is never read off one graph alone. Each operation's closure is first examined on its
own by small probe graphs (its `profile`) whose answers no visiting order can change, and a
failed test is blamed on what the probes found only where the reference model running all of it
gives exactly the gradients the engine returned. What no known misconception explains is said to
be unexplained. Nothing said depends on the order an engine happened to visit nodes in, so the
same hand-in always gets the same words.
"""
from __future__ import annotations

import itertools
import math
import re

from . import backprop, model, source
from .graph import Graph, Node, _num
from .instance import PUBLISHED, Instance
from .misconceptions import MODEL_BUGS, OPS, explain
from .reasons import missing_module, place

ORDERS = range(12)  # child visiting orders an engine with `_prev` as a set may take
ORDER_MATTERS = re.compile(r"-overwrite|-closure-on-input|^identity-by-value$")  # such bugs
OP_SYMBOL = {"leaf": "leaf", "add": "+", "sub": "-", "mul": "*", "div": "/", "neg": "neg",
             "tanh": "tanh", "relu": "relu", "exp": "exp"}
STUB_OPS = {"__add__": "add", "__mul__": "mul", "__pow__": "pow", "exp": "exp", "tanh": "tanh",
            "relu": "relu"}
PROGRAM_LINES = 16  # of a graph shown in feedback
# Each operation's own closure bugs (those the model can run), tried alone and together.
OP_BUGS = {kind: [b for b in MODEL_BUGS if b.split("-")[0] == kind] for kind in model.PRIMITIVES}

# Probe graphs, one operation each (and `*`, whose own probes come first). `local` sees the
# derivative and the use of `out.grad` (the outer `*` makes it differ from 1); `twice` makes
# one node feed the operation twice with equal shares, so an overwrite loses one share in any
# visiting order (`left`, `right`: one node the same operand of two operations, with equal
# shares, for an overwrite of one operand's gradient only); `inner` gives a one-input
# operation an input that was computed, whose own closure a closure stored on the input would
# replace. Leaf values keep every node's data distinct.
PROBES = {
    "mul": [([3.0, -2.0, 1.5], lambda a, b, c: (a * b) * c),
            ([1.5, -2.5], lambda a, c: (a * a) * c),
            ([1.5, -2.0, 0.75], lambda a, b, c: (a * b) * (a * c)),
            ([1.5, -2.0, 0.75], lambda a, b, c: (b * a) * (c * a))],
    "add": [([1.5, -4.0, -2.5], lambda a, b, c: (a + b) * c),
            ([1.5, -2.5], lambda a, c: (a + a) * c),
            ([1.5, -4.0, 0.5, -2.5], lambda a, b, c, k: ((a + b) + (a + c)) * k),
            ([1.5, -4.0, 0.5, -2.5], lambda a, b, c, k: ((b + a) + (c + a)) * k)],
    "pow": [([0.8, -1.5], lambda a, c: (a ** 3) * c),
            ([0.5], lambda a: (a ** 2) * (a ** 2)),
            ([0.6, -1.25, 1.5], lambda a, b, c: ((a * b) ** 3) * c)],
    "exp": [([0.7, 2.0], lambda a, c: a.exp() * c),
            ([0.4], lambda a: a.exp() * a.exp()),
            ([0.6, -1.25, 1.5], lambda a, b, c: (a * b).exp() * c)],
    "tanh": [([0.8, -2.0], lambda a, c: a.tanh() * c),
             ([0.5], lambda a: a.tanh() * a.tanh()),
             ([0.6, -1.25, 1.5], lambda a, b, c: (a * b).tanh() * c)],
    "relu": [([1.25, 3.0], lambda a, c: a.relu() * c),
             ([1.5], lambda a: a.relu() * a.relu()),
             ([0.0, 3.0], lambda a, c: a.relu() * c),
             ([0.6, 1.75, 1.5], lambda a, b, c: (a * b).relu() * c)],
}
# Two distinct products of equal data: an engine comparing nodes by value runs only one of them.
EQUAL_DATA = ([0.5, 0.8, 0.5, 0.8], lambda a, c, b, d: (a * c) * (b * d))


class Failed(AssertionError):
    """A test failed; carries the student-facing feedback and what the report needs."""

    def __init__(self, output: str, misconceptions=(), graph: dict | None = None):
        super().__init__(output)
        self.output = output
        self.misconceptions = list(misconceptions)
        self.graph = graph


def close(x: float, y: float, rel: float = 1e-6, abs_: float = 1e-9) -> bool:
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return math.isclose(x, y, rel_tol=rel, abs_tol=abs_)


def fmt(x) -> str:
    if x is None:
        return "nothing"
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return repr(x)
    return _num(round(x, 6)) if abs(x) < 1e12 else f"{x:.6g}"


class Probe:
    """One probe graph and the hand-in's gradients for it."""

    def __init__(self, values, build):
        self.graph = Graph()
        leaves = self.graph.leaves(*values)
        self.root = build(*leaves).named("out")
        self.got: list[float] = []
        self.failure: Failed | None = None  # how the hand-in failed to answer, if it did

    def right(self) -> bool:
        return self.fits(())

    def fits(self, bugs) -> bool:
        return fits(self.graph, self.root.index, leaves_of(self.graph), self.got, bugs)


class Checker:
    """What the hidden tests call: `engine.check(graph, root)`, `engine.forward(...)`.

    One per hand-in: what the probes find is kept for all its tests."""

    def __init__(self, ask, cells: list[dict] | None = None, instance: Instance = PUBLISHED):
        self.ask = ask  # request dict -> answer dict; raises sandbox.client.Fault
        self.cells = cells or []  # the hand-in's source, read only to word a diagnosis
        self.instance = instance  # the values this hand-in's graphs are built from
        self._facts: dict | None = None
        self._profiles: dict[str, tuple[str, ...]] = {}
        self._probes: dict[tuple[str, int], Probe] = {}
        self._shown: dict[str, Probe] = {}  # kind -> the probe that shows its overwrite
        self._merges: bool | None = None
        self._probing = 0  # inside a probe, an error is worded without asking other probes

    @property
    def facts(self) -> dict:
        """What the hand-in's source shows (`source.facts`), read when a diagnosis needs it."""
        if self._facts is None:
            self._facts = source.facts(self.cells)
        return self._facts

    def forward(self, g: Graph, root: Node) -> None:
        """Only the forward values: what a hand-in earns before any backward works."""
        g = self.instance.vary(g, root.index)
        answer = self._answer(g, root, backward=False)
        expected, _ = model.evaluate(g.ops, root.index)
        self._check_data(g, root, answer["data"], expected)

    def check(self, g: Graph, root: Node, wrt: list[Node] | None = None) -> None:
        """Build the graph in the hand-in, call `root.backward()`, compare data and grads.

        `wrt` are the nodes whose gradients count (default: every leaf)."""
        g = self.instance.vary(g, root.index)
        answer = self._answer(g, root, backward=True, replay=True)
        data, grad = model.evaluate(g.ops, root.index)
        self._check_data(g, root, answer["data"], data)
        nodes = [n.index for n in wrt] if wrt else leaves_of(g)
        got = answer["grad"]
        racing = [k for k in sorted(racing_writers(g, root.index, nodes)) if self.overwrites(k)]
        if racing and self._varies(g, root.index, nodes):
            raise self._order_dependent(g, root.index, nodes, racing)
        wrong = [i for i in nodes if not close(got[i], grad[i])]
        if not wrong:
            seen = backprop.unconfirmed(g, nodes, answer)
            if seen:
                raise Failed(_feedback(g, root.index, seen, [backprop.ID]), [backprop.ID])
            return
        ids = self.diagnose(g, root.index, nodes, got)
        lines = [f"Expected {g.labels[i]}.grad = {fmt(grad[i])}, got {fmt(got[i])}."
                 for i in wrong]
        right = [i for i in nodes if i not in wrong]
        if right:
            lines.append("Correct: " + ", ".join(
                f"{g.labels[i]}.grad = {fmt(got[i])}" for i in right) + ".")
        if "shadowed-backward" in ids:
            lines.append(f"Your `Value` sets `self.backward` at {self.facts['shadowed_backward']}.")
        raise Failed(_feedback(g, root.index, lines, ids), ids,
                     graph_facts(g, root.index, data, grad, answer["data"], got))

    # -- what each operation's closure does, from probes ------------------------------------

    def profile(self, kind: str) -> tuple[str, ...]:
        """The misconceptions of `kind`'s closure (model bug ids, or how its probes failed)."""
        if kind not in self._profiles:
            self._profiles[kind] = self._examine(kind)
        return self._profiles[kind]

    def overwrites(self, kind: str) -> bool:
        """Whether `kind`'s closure overwrites a gradient (both operands', or one's)."""
        return any(b.startswith(f"{kind}-overwrite") for b in self.profile(kind))

    def _varies(self, g: Graph, root: int, nodes: list[int]) -> bool:
        """Whether an engine with the misconceptions its probes found gives other gradients
        at `nodes` in other visiting orders: where every order gives the same, its answer is
        judged as it is."""
        bugs = self._found(g, root)
        answers = [model.evaluate(g.ops, root, tuple(bugs), order)[1] for order in ORDERS]
        return any(not all(close(a[i], answers[0][i]) for i in nodes) for a in answers[1:])

    def _found(self, g: Graph, root: int) -> list[str]:
        """The model bugs the probes found in the operations this graph runs."""
        found = [b for k in closure_kinds(g, root) for b in self._model_bugs(k)]
        return found + (["identity-by-value"] if self.merges() else [])

    def _probe(self, kind: str, i: int) -> Probe:
        if (kind, i) not in self._probes:
            p = self._probes[kind, i] = Probe(*PROBES[kind][i])
            self._probing += 1
            try:
                p.failure = self._run(p)
            finally:
                self._probing -= 1
        return self._probes[kind, i]

    def _examine(self, kind: str) -> tuple[str, ...]:
        known = () if kind == "mul" else self._model_bugs("mul")
        if kind != "mul" and self.merges():
            known += ("identity-by-value",)
        probes = [self._probe(kind, i) for i in range(len(PROBES[kind]))]
        for p in probes:
            if p.failure:
                return tuple(p.failure.misconceptions)
        self._shown[kind] = next((p for p in probes[1:] if not p.right()), probes[1])
        for size in range(len(OP_BUGS[kind]) + 1):
            for bugs in itertools.combinations(OP_BUGS[kind], size):
                if all(p.fits(known + bugs) for p in probes):
                    return bugs
        return ("unknown",)

    def merges(self) -> bool:
        """Whether the engine takes two nodes of equal data for one (see `EQUAL_DATA`)."""
        if self._merges is None:
            p = Probe(*EQUAL_DATA)
            known = self._model_bugs("mul")
            self._merges = (not self._run(p) and not p.fits(known)
                            and p.fits(known + ("identity-by-value",)))
        return self._merges

    def _model_bugs(self, kind: str) -> tuple[str, ...]:
        return tuple(b for b in self.profile(kind) if b in MODEL_BUGS)

    def _run(self, p: Probe) -> "Failed | None":
        try:
            answer = self._answer(p.graph, p.root, backward=True)
            data, _ = model.evaluate(p.graph.ops, p.root.index)
            self._check_data(p.graph, p.root, answer["data"], data)
        except Failed as f:
            return f
        p.got = answer["grad"]
        return None

    # -- what a failure means ----------------------------------------------------------------

    def diagnose(self, g: Graph, root: int, nodes: list[int], got: list[float]) -> list[str]:
        """The misconceptions that together give exactly these gradients, each confirmed by
        its operation's probes; `unknown` when they do not."""
        if all(close(x, 0.0) for x in got[:root + 1]):  # not even the root's own gradient
            if "shadowed_backward" in self.facts:
                return ["shadowed-backward"]
            return ["backward-runs-nothing" if "backward_empty" in self.facts
                    else "backward-no-seed"]
        found = self._found(g, root)
        if found and fits(g, root, nodes, got, found):
            for b in list(found):  # only what this graph needs to come out this way
                rest = [m for m in found if m != b]
                if rest and fits(g, root, nodes, got, rest):
                    found = rest
            return found
        if close(got[root], 1.0) and all(close(got[i], 0.0) for i in nodes if i != root):
            return ["no-gradient"]
        return ["unknown"]

    def _order_dependent(self, g: Graph, root: int, nodes: list[int], racing: list[str]):
        """A graph where an overwriting closure writes into a node several operations feed:
        what the engine returns depends on the order its closures run in, so the answer is
        not shown; the probe that shows the overwrite in any order is."""
        ops = " and ".join(f"`{k}`" for k in racing)
        verb = "overwrites" if len(racing) == 1 else "overwrite"
        lines = [f"Here a node feeds several operations, and {ops} {verb} its gradient instead "
                 "of adding to it: what your engine returns for this graph depends on the order "
                 "it runs the closures in."]
        if "set_children" in self.facts:
            lines.append(f"(Your `Value` keeps its children in a set "
                         f"(`{self.facts['set_children']}`), whose order can change from run to "
                         "run.)")
        ids = [b for k in racing for b in self._model_bugs(k) if b.startswith(f"{k}-overwrite")]
        data, grad = model.evaluate(g.ops, root)
        for k in closure_kinds(g, root):  # the operations' other misconceptions this graph shows
            for b in self._model_bugs(k):
                if b not in ids and not fits(g, root, nodes, grad, [b]):
                    ids.append(b)
        shown = self._shown[racing[0]]
        pdata, pgrad = model.evaluate(shown.graph.ops, shown.root.index)
        a = leaves_of(shown.graph)[0]
        lines.append("The smallest graph that shows it, whatever the order:")
        lines += ["    " + line for line in shown.graph.program(shown.root.index).splitlines()]
        lines.append(f"  Expected a.grad = {fmt(pgrad[a])}, got {fmt(shown.got[a])}.")
        return Failed(_feedback(g, root, lines, ids), ids,
                      graph_facts(shown.graph, shown.root.index, pdata, pgrad, pdata, shown.got))

    def _answer(self, g: Graph, root: Node, backward: bool, replay: bool = False) -> dict:
        from ..sandbox.client import Fault

        request = dict(g.request(root), backward=backward)
        if replay:  # also run the closures from the root ourselves (see `backprop`)
            request["replay"] = True
        try:
            answer = self.ask(request)
        except Fault as f:
            mid = {"timeout": "timeout"}.get(f.kind, "crash")
            raise Failed(_feedback(g, root.index, [_fault_sentence(f, backward)], [mid]), [mid])
        if "error" in answer:
            err = answer["error"]
            raise _error_failure(g, root.index, err, self._cause(g, root.index, err))
        return answer

    def _cause(self, g: Graph, root: int, err: dict) -> list[str]:
        """What an exception shows, checked against what the engine did: an operation that
        returned `None`, a closure kept in `.grad`, a number among a node's children (the
        operation whose own probe meets it too). Empty when none of these is what happened."""
        kind, message = err.get("type"), str(err.get("message") or "")
        if kind == "returned-none":
            step = err.get("step")
            op = g.ops[step][0] if isinstance(step, int) and 0 <= step < len(g.ops) else ""
            return [f"{op}-returns-none" if op in OPS else "returns-none"]
        if kind in ("TypeError", "not-a-number") and re.search(r"'(function|method)'", message):
            stored = self.facts.get("closure_in_grad", {})
            ops = sorted({STUB_OPS.get(m, m) for m in stored} & set(closure_kinds(g, root)))
            return [f"{op}-closure-in-grad" for op in ops] or ["closure-in-grad"]
        if number_in_children(err):
            if self._probing:
                return ["number-in-children"]
            ops = [k for k in closure_kinds(g, root)
                   if (p := self._probe(k, 0)).failure
                   and "number-in-children" in p.failure.misconceptions]
            return [f"{k}-number-in-children" for k in ops] or ["number-in-children"]
        return []

    def _check_data(self, g, root, got, expected):
        for i, (x, y) in enumerate(zip(got, expected)):
            if not close(x, y):
                op = OP_SYMBOL.get(g.ops[i][0], g.ops[i][0])
                lines = [f"The forward value of {g.labels[i]} = {g.describe(i)} should be "
                         f"{fmt(y)}, got {fmt(x)} (op `{op}`)."]
                raise Failed(_feedback(g, root.index, lines, ["forward-wrong"]),
                             ["forward-wrong"])


def fits(g: Graph, root: int, nodes: list[int], got: list[float], bugs) -> bool:
    """Whether the model running `bugs` gives `got` at `nodes` in some visiting order."""
    order_matters = any(ORDER_MATTERS.search(b) for b in bugs)
    for order in ORDERS if order_matters else ORDERS[:1]:
        _, grad = model.evaluate(g.ops, root, tuple(bugs), order)
        if all(close(got[i], grad[i]) for i in nodes):
            return True
    return False


def leaves_of(g: Graph) -> list[int]:
    return [i for i, op in enumerate(g.ops) if op[0] == "leaf"]


def closure_kinds(g: Graph, root: int) -> list[str]:
    """The primitive operations whose closures run for `root`, in the model's fixed order."""
    x = model.expanded(g.ops)
    kinds = {x.kind[v] for v in model.topo_order(x, x.at[root])}
    return [k for k in model.PRIMITIVES if k in kinds]


def racing_writers(g: Graph, root: int, nodes: list[int]) -> set[str]:
    """Kinds of the operations whose closures, were they to overwrite, could lose another
    parent's share of a gradient that counts (of `nodes`, or flowing on to them) in some
    visiting order: an operation writing into a node that also feeds a parent which may run
    its closure first (one that is not below it)."""
    key = (model.shape(g.ops), root, tuple(nodes))  # values do not matter
    found = _RACING.get(key)
    if found is None:
        if len(_RACING) >= 1 << 12:
            _RACING.clear()
        found = _RACING[key] = _racing(model.expanded(g.ops), root, nodes)
    return set(found)


_RACING: dict = {}  # (shape, root, nodes) -> racing_writers


def _racing(x: model.Expanded, root: int, nodes: list[int]) -> tuple[str, ...]:
    live = model.topo_order(x, x.at[root])
    below = {}  # node -> every node under it
    for v in live:  # children come first in a topological order
        below[v] = set(x.children[v]).union(*(below[c] for c in x.children[v]))
    counted = {x.at[i] for i in nodes}
    parents: dict[int, set[int]] = {}
    for v in live:
        for c in x.children[v]:
            if c in counted or below[c] & counted:
                parents.setdefault(c, set()).add(v)
    kinds = {x.kind[p] for ps in parents.values() for p in ps
             if any(q not in below[p] for q in ps if q != p)}
    return tuple(sorted(kinds))


def _fault_sentence(f, backward: bool) -> str:
    from ..sandbox.strikes import NotRun

    if isinstance(f, NotRun):  # a whole sentence already
        return str(f)
    during = "while building the graph or in backward()" if backward else "in the forward pass"
    text = str(f)
    if text.startswith("did not"):
        text = "your engine " + text
    return f"{text[0].upper()}{text[1:]} ({during})."


NUMBERS = ("int", "float")
OPERATORS = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "** or pow()": "pow"}


def number_in_children(err: dict) -> bool:
    """A number met where `backward()` walks the graph (not in an operation's closure): one
    was kept among some node's children."""
    parts = str(err.get("qualname") or "").split(".")
    method = parts[1] if len(parts) > 1 and parts[0] == "Value" else parts[0]
    return (err.get("type") == "AttributeError" and err.get("phase") == "backward"
            and method not in STUB_OPS
            and re.match(r"'(int|float)' object has no attribute '(?!(data|grad)')\w+'",
                         str(err.get("message") or "")) is not None)


def missing(err: dict) -> str | None:
    """The misconception an AttributeError or TypeError names: a method or operator `Value`
    lacks, an operator refusing plain numbers, a `Value` that cannot go in a set. Nothing
    where an operand was `None` (an operation that returned nothing, not a missing one)."""
    message = err.get("message") or ""
    if "'NoneType'" in message:
        return None
    if err.get("type") == "AttributeError":
        m = re.match(r"'(\w+)' object has no attribute '(\w+)'", message)
        if m and m.group(1) in NUMBERS and m.group(2) in ("data", "grad"):
            return "plain-numbers"
        if m and m.group(2) in ("tanh", "relu", "exp", "backward"):
            return f"missing-{m.group(2)}"
    elif err.get("type") == "TypeError":
        m = re.match(r"unsupported operand type\(s\) for (.+?): '(\w+)' and '(\w+)'", message)
        if m and m.group(1) in OPERATORS:
            name = OPERATORS[m.group(1)]
            if m.group(2) in NUMBERS:
                return f"missing-__r{name}__"
            if m.group(3) in NUMBERS and name != "pow":
                return "plain-numbers"
            return f"missing-__{name}__"
        if message.startswith("bad operand type for unary -"):
            return "missing-__neg__"
        if message.startswith("unhashable type"):
            return "unhashable"
    return None


def _error_failure(g: Graph, root: int, err: dict, cause: list[str] = ()) -> Failed:
    where = err.get("where") or {}
    qual = err.get("qualname") or ""
    parts = qual.split(".")  # "Value.tanh.<locals>._backward", or "tanh.<locals>._backward"
    if "<locals>" in parts[1:]:
        method = parts[parts.index("<locals>") - 1]
    else:
        method = parts[1] if len(parts) > 1 and parts[0] == "Value" else ""
    op = STUB_OPS.get(method, method)
    at = place(where) or "your engine"
    inside = f" (in {op}'s backward)" if "_backward" in qual and op else ""
    if err.get("type") == "NotImplementedError":
        whose = f"`{op}`'s backward" if op else "A backward closure"
        sentence = f"{whose} still raises NotImplementedError at {at}: not filled in yet."
        return Failed(_feedback(g, root, [sentence], ["stub"]), ["stub"])
    if err.get("type") == "timeout":
        what = f"Your {op} backward" if inside else "Your engine"
        sentence = f"{what} {err.get('message')}: stuck at {at}. Look for an endless loop."
        return Failed(_feedback(g, root, [sentence], ["timeout"]), ["timeout"])
    step = err.get("step")
    if err.get("phase") == "forward" and isinstance(step, int) and 0 <= step < len(g.ops):
        phase = f"building {g.labels[step]} = {g.describe(step)}"
    else:
        phase = {"backward": "backward()"}.get(err.get("phase"), "the test")
    module = missing_module(err)
    if err.get("type") == "not-a-number":
        sentence = f"A .data or .grad could not be turned into a float: {err.get('message')}."
        ids = list(cause) or ["not-a-number"]
    elif err.get("type") == "returned-none":
        sentence = f"{err.get('message')} (defined at {at}), during {phase}."
        ids = list(cause)
    elif module:
        sentence = f"Your engine {module} (at {at}{inside}, during {phase})."
        ids = [missing(err) or "exception"]
    else:
        sentence = (f"{err.get('type')}: {err.get('message')} raised at {at}{inside} "
                    f"during {phase}.")
        ids = list(cause) or [missing(err) or "exception"]
    return Failed(_feedback(g, root, [sentence], ids), ids)


def _feedback(g: Graph, root: int, lines: list[str], ids: list[str]) -> str:
    text = ["Graph (then backward() on " + g.labels[root] + "):"]
    text += ["    " + line for line in g.program(root, most=PROGRAM_LINES).splitlines()]
    text += lines
    text.append("Likely causes:" if len(ids) > 1 else "Likely cause:")
    text += ["  - " + explain(m) for m in ids]
    return "\n".join(text)


def graph_facts(g: Graph, root: int, data, grad, got_data, got_grad) -> dict:
    """The graph with expected and received values, for the report's drawing."""
    nodes = []
    for i, op in enumerate(g.ops[:root + 1]):
        kind = op[0]
        symbol = OP_SYMBOL.get(kind, kind)
        if kind == "pow":
            symbol = f"**{_num(op[2])}"
        consts = [f"{_num(a['c'])}" for a in op[1:] if isinstance(a, dict)]
        if consts and kind != "pow":
            symbol += " " + ", ".join(consts)
        nodes.append({
            "label": g.labels[i], "op": symbol,
            "inputs": [a for a in op[1:] if isinstance(a, int)] if kind not in ("leaf", "pow")
            else ([op[1]] if kind == "pow" else []),
            "data_expected": _plain(data[i]), "data_received": _plain(got_data[i]),
            "grad_expected": _plain(grad[i]), "grad_received": _plain(got_grad[i]),
        })
    return {"root": root, "program": g.program(root), "nodes": nodes}


def _plain(x: float):
    """Strict JSON has no NaN or infinity: keep those as text."""
    return x if math.isfinite(x) else repr(x)
