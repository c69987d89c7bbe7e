"""Compare a hand-in's answer for a graph with the reference, and say what a difference means."""
from __future__ import annotations

import math
import re

from . import model
from .graph import Graph, Node, _num
from .misconceptions import MODEL_BUGS, explain

ORDERS = range(12)  # child visiting orders an engine with `_prev` as a set may take
OP_SYMBOL = {"leaf": "leaf", "add": "+", "sub": "-", "mul": "*", "div": "/", "neg": "neg",
             "tanh": "tanh", "relu": "relu", "exp": "exp"}
STUB_OPS = {"__add__": "add", "__mul__": "mul", "__pow__": "pow", "exp": "exp", "tanh": "tanh",
            "relu": "relu"}


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


class Checker:
    """What the hidden tests call: `engine.check(graph, root)`, `engine.forward(...)`."""

    def __init__(self, ask):
        self.ask = ask  # request dict -> answer dict; raises sandbox.client.Fault

    def forward(self, g: Graph, root: Node) -> None:
        """Only the forward values: what a hand-in earns before any backward works."""
        answer = self._answer(g, root, backward=False)
        expected, _ = model.evaluate(g.ops, root.index)
        self._check_data(g, root, answer["data"], expected)

    def check(self, g: Graph, root: Node, wrt: list[Node] | None = None,
              probe: bool = True) -> None:
        """Build the graph in the hand-in, call `root.backward()`, compare data and grads.

        `wrt` are the nodes whose gradients count (default: every leaf)."""
        answer = self._answer(g, root, backward=True)
        data, grad = model.evaluate(g.ops, root.index)
        self._check_data(g, root, answer["data"], data)
        nodes = [n.index for n in wrt] if wrt else [i for i, op in enumerate(g.ops)
                                                    if op[0] == "leaf"]
        got = answer["grad"]
        wrong = [i for i in nodes if not close(got[i], grad[i])]
        if not wrong:
            if probe:
                self._probe_order_luck(g)
            return
        ids = diagnose(g, root.index, nodes, got)
        if probe:
            ids = self._confirm_overwrites(g, ids)
        lines = [f"Expected {g.labels[i]}.grad = {fmt(grad[i])}, got {fmt(got[i])}."
                 for i in wrong]
        right = [i for i in nodes if i not in wrong]
        if right:
            lines.append("Correct: " + ", ".join(
                f"{g.labels[i]}.grad = {fmt(got[i])}" for i in right) + ".")
        raise Failed(_feedback(g, root.index, lines, ids), ids,
                     graph_facts(g, root.index, data, grad, answer["data"], got))

    def _probe_order_luck(self, g: Graph) -> None:
        """Make the verdict independent of the order the engine visits siblings in.

        Where a node feeds several parents, an engine that overwrites instead of accumulating
        gets the right answer whenever the right closure happens to run last, and engines that
        keep `_prev` in a set change that order from run to run. For each operation that writes
        into such a shared node, a small graph whose answer no visiting order of an overwriting
        engine can produce decides instead."""
        for kind in sorted(shared_writers(g)):
            failure = self._probe(kind)
            if failure:
                raise Failed("This graph passed, but only thanks to the order your engine "
                             "happened to visit nodes in; the same operation fails here:\n"
                             + failure.output, failure.misconceptions, failure.graph)

    def _confirm_overwrites(self, g: Graph, ids: list[str]) -> list[str]:
        """Which closure overwrote is read off the order-free probes, not off the order this
        engine happened to visit this graph in (which may fit another closure's overwrite, or
        none of the orders the model tries)."""
        kept = [m for m in ids if not m.endswith("-overwrite")
                or m in self._probed(m.split("-")[0])]
        if kept and kept != ["unknown"]:
            return kept
        found = [m for kind in sorted(shared_writers(g)) for m in self._probed(kind)
                 if m.endswith("-overwrite")]
        return found or kept or ["unknown"]

    def _probed(self, kind: str) -> list[str]:
        failure = self._probe(kind)
        return failure.misconceptions if failure else []

    def _probe(self, kind: str) -> "Failed | None":
        probe = Graph()
        a = probe.leaf(PROBE_AT[kind], "a")
        try:
            self.check(probe, PROBES[kind](a).named("out"), wrt=[a], probe=False)
        except Failed as f:
            return f
        return None

    def _answer(self, g: Graph, root: Node, backward: bool) -> dict:
        from ..sandbox.client import Fault

        request = dict(g.request(root), backward=backward)
        try:
            answer = self.ask(request)
        except Fault as f:
            mid = {"timeout": "timeout"}.get(f.kind, "crash")
            raise Failed(_feedback(g, root.index, [_fault_sentence(f, backward)], [mid]), [mid])
        if "error" in answer:
            raise _error_failure(g, root.index, answer["error"])
        return answer

    def _check_data(self, g, root, got, expected):
        for i, (x, y) in enumerate(zip(got, expected)):
            if not close(x, y):
                op = OP_SYMBOL.get(g.ops[i][0], g.ops[i][0])
                lines = [f"The forward value of {g.labels[i]} = {g.describe(i)} should be "
                         f"{fmt(y)}, got {fmt(x)} (op `{op}`)."]
                raise Failed(_feedback(g, root.index, lines, ["forward-wrong"]),
                             ["forward-wrong"])


PROBE_AT = {"add": 1.5, "mul": 1.5, "pow": 0.5, "exp": 0.4, "tanh": 0.5, "relu": 1.5}
PROBES = {
    "add": lambda a: a + a,
    "mul": lambda a: a * a,
    "pow": lambda a: a ** 2 + a ** 3,
    "exp": lambda a: a.exp() + a.exp(),
    "tanh": lambda a: a.tanh() + a.tanh(),
    "relu": lambda a: a.relu() + a.relu(),
}


def shared_writers(g: Graph) -> set[str]:
    """Kinds of the primitive operations whose closures write into a node with several parents."""
    x = model.expanded(g.ops)
    parents: dict[int, set[int]] = {}
    for v, children in enumerate(x.children):
        for c in children:
            parents.setdefault(c, set()).add(v)
    return {x.kind[p] for ps in parents.values() if len(ps) > 1 for p in ps}


def _fault_sentence(f, backward: bool) -> str:
    during = "while building the graph or in backward()" if backward else "in the forward pass"
    text = str(f)
    if text.startswith("did not"):
        text = "your engine " + text
    return f"{text[0].upper()}{text[1:]} ({during})."


def error_text(err: dict) -> str:
    """"Type: message", or, for a module the sandbox does not offer, a sentence naming it."""
    missing = re.fullmatch(r"No module named '([\w.]+)'", str(err.get("message")))
    if err.get("type") == "ModuleNotFoundError" and missing:
        return f"imports `{missing[1]}`, which grading does not provide"
    return f"{err.get('type')}: {err.get('message')}"


def _error_failure(g: Graph, root: int, err: dict) -> Failed:
    where = err.get("where") or {}
    qual = err.get("qualname") or ""
    parts = qual.split(".")  # "Value.tanh.<locals>._backward", or "tanh.<locals>._backward"
    if "<locals>" in parts[1:]:
        method = parts[parts.index("<locals>") - 1]
    else:
        method = parts[1] if len(parts) > 1 and parts[0] == "Value" else ""
    op = STUB_OPS.get(method, method)
    place = f"{where['file']}, line {where['line']}" if where else "your engine"
    inside = f" (in {op}'s backward)" if "_backward" in qual and op else ""
    if err.get("type") == "NotImplementedError":
        whose = f"`{op}`'s backward" if op else "A backward closure"
        sentence = f"{whose} still raises NotImplementedError at {place}: not filled in yet."
        return Failed(_feedback(g, root, [sentence], ["stub"]), ["stub"])
    if err.get("type") == "timeout":
        what = f"Your {op} backward" if inside else "Your engine"
        sentence = f"{what} {err.get('message')}: stuck at {place}. Look for an endless loop."
        return Failed(_feedback(g, root, [sentence], ["timeout"]), ["timeout"])
    if err.get("type") == "not-a-number":
        sentence = f"A .data or .grad could not be turned into a float: {err.get('message')}."
        return Failed(_feedback(g, root, [sentence], ["not-a-number"]), ["not-a-number"])
    phase = {"forward": "building the graph", "backward": "backward()"}.get(err.get("phase"),
                                                                          "the test")
    if err.get("type") == "ModuleNotFoundError":
        sentence = f"Your engine {error_text(err)}: at {place}{inside}, during {phase}."
    else:
        sentence = f"{error_text(err)} raised at {place}{inside} during {phase}."
    return Failed(_feedback(g, root, [sentence], ["exception"]), ["exception"])


def diagnose(g: Graph, root: int, nodes: list[int], got: list[float]) -> list[str]:
    """The misconceptions whose model engine gives exactly these gradients."""
    found = []
    for bug in MODEL_BUGS:
        # only an overwrite depends on which sibling's closure runs last
        for order in ORDERS if bug.endswith("-overwrite") else ORDERS[:1]:
            _, grad = model.evaluate(g.ops, root, bug, order)
            if all(close(got[i], grad[i]) for i in nodes):
                found.append(bug)
                break
    if not found and all(close(got[i], 0.0) for i in nodes):
        return ["no-gradient"]
    return found or ["unknown"]


def _feedback(g: Graph, root: int, lines: list[str], ids: list[str]) -> str:
    text = ["Graph (then backward() on " + g.labels[root] + "):"]
    text += ["    " + line for line in g.program(root).splitlines()]
    text += lines
    if ids == ["unknown"] or len(ids) > 1:
        text.append("Likely cause" + (" (one of these)" if len(ids) > 1 else "") + ":")
    else:
        text.append("Likely cause:")
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
