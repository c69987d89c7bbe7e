"""The public checks: graphs students may see, with what the grader would say about them.

`cases()` is what check.py ships: each graph as plain data, its expected forward values and
gradients (from the reference model), and, for every misconception the model can run, the
gradients that bug gives on it (every visiting order, for an overwrite), and whether it always
fails there. The student's check names a misconception by matching numbers, and rules out one
that would have failed a graph that passed, so it needs neither the model nor the reference
closures. None of these graphs may be one the hidden suite uses: tests/test_materials.py
checks that, allowing only the lecture's own worked example.
"""
from __future__ import annotations

import math

from ..checking import model
from ..checking.check import ORDER_MATTERS, ORDERS, close
from ..checking.graph import Graph, Node
from ..checking.misconceptions import MODEL_BUGS, OPS, TEXT, explain


def _one(x: float, build) -> tuple[Graph, Node, list[Node]]:
    g = Graph()
    a = g.leaf(x, "a")
    return g, build(a).named("out"), [a]


def _two(x: float, y: float, build) -> tuple[Graph, Node, list[Node]]:
    g = Graph()
    a, b = g.leaves(x, y)
    return g, build(a, b).named("out"), [a, b]


def _three(x: float, y: float, z: float, build) -> tuple[Graph, Node, list[Node]]:
    g = Graph()
    a, b, c = g.leaves(x, y, z)
    return g, build(a, b, c).named("out"), [a, b, c]


def _lecture():
    g = Graph()
    a, b = g.leaves(-2.0, 3.0)
    d = (a * b).named("d")
    e = (a + b).named("e")
    return g, (d * e).named("f"), [a, b]


def _twice():
    g = Graph()
    (a,) = g.leaves(3.0)
    return g, (a + a).named("b"), [a]


def _neuron():
    g = Graph()
    x1, x2, w1, w2, b = (g.leaf(v, name) for v, name in (
        (1.5, "x1"), (-0.5, "x2"), (0.8, "w1"), (-1.2, "w2"), (-0.6, "b")))
    n = (x1 * w1 + x2 * w2 + b).named("n")
    return g, n.tanh().named("o"), [x1, x2, w1, w2, b]


# (id, title, graph builder), in the lecture's order: each operation alone, then a value used
# twice (through each operation, so that no visiting order hides an overwrite), then chains.
CASES = [
    ("add", "d(a + b)/da and d(a + b)/db", lambda: _two(2.0, -4.0, lambda a, b: a + b)),
    ("mul", "d(a * b)/da and d(a * b)/db", lambda: _two(2.0, -4.0, lambda a, b: a * b)),
    ("pow", "d(a ** 3)/da", lambda: _one(2.0, lambda a: a ** 3)),
    ("exp", "d(exp(a))/da", lambda: _one(0.5, lambda a: a.exp())),
    ("tanh", "d(tanh(a))/da", lambda: _one(0.8, lambda a: a.tanh())),
    ("relu-positive", "d(relu(a))/da above 0", lambda: _one(1.5, lambda a: a.relu())),
    ("relu-negative", "d(relu(a))/da below 0: no gradient flows",
     lambda: _one(-1.5, lambda a: a.relu())),
    ("relu-zero", "d(relu(a))/da at exactly 0 is 0", lambda: _one(0.0, lambda a: a.relu())),
    ("a-plus-a", "b = a + a: both uses of a add up", _twice),
    ("add-left-twice", "(a + b) + (a + c): a is the left operand of two sums",
     lambda: _three(1.5, -2.0, 0.5, lambda a, b, c: (a + b) + (a + c))),
    ("add-right-twice", "(b + a) + (c + a): a is the right operand of two sums",
     lambda: _three(1.5, -2.0, 0.5, lambda a, b, c: (b + a) + (c + a))),
    ("mul-left-twice", "(a * b) * (a * c): a is the left operand of two products",
     lambda: _three(0.5, 3.0, -1.5, lambda a, b, c: (a * b) * (a * c))),
    ("mul-right-twice", "(b * a) * (c * a): a is the right operand of two products",
     lambda: _three(0.5, 3.0, -1.5, lambda a, b, c: (b * a) * (c * a))),
    ("lecture", "The lecture's worked example: f = (a*b) * (a+b)", _lecture),
    ("mul-twice", "a * a: both uses of a add up", lambda: _one(-0.5, lambda a: a * a)),
    ("pow-twice", "a**2 * a**3: both uses of a add up",
     lambda: _one(1.2, lambda a: a ** 2 * a ** 3)),
    ("exp-twice", "exp(a) * exp(a): both uses of a add up",
     lambda: _one(0.3, lambda a: a.exp() * a.exp())),
    ("tanh-twice", "tanh(a) * tanh(a): both uses of a add up",
     lambda: _one(0.4, lambda a: a.tanh() * a.tanh())),
    ("relu-twice", "relu(a) * relu(a): both uses of a add up",
     lambda: _one(1.2, lambda a: a.relu() * a.relu())),
    ("neuron", "A neuron: o = tanh(x1*w1 + x2*w2 + b)", _neuron),
    ("pow-of-product", "(a * b) ** 2: the gradient goes on through a * b",
     lambda: _two(1.5, -0.5, lambda a, b: (a * b) ** 2)),
    ("exp-of-product", "exp(a * b): the gradient goes on through a * b",
     lambda: _two(0.5, 0.8, lambda a, b: (a * b).exp())),
    ("relu-of-product", "relu(a * b): the gradient goes on through a * b",
     lambda: _two(1.5, 0.5, lambda a, b: (a * b).relu())),
    ("sub-div", "(a - b) / b, built from +, * and ** -1",
     lambda: _two(3.0, 2.0, lambda a, b: (a - b) / b)),
]


def graphs() -> list[tuple[str, str, Graph, Node, list[Node]]]:
    return [(cid, title, *build()) for cid, title, build in CASES]


def case_data(cid: str, title: str, g: Graph, root: Node, wrt: list[Node]) -> dict:
    data, grad = model.evaluate(g.ops, root.index)
    nodes = [n.index for n in wrt]
    want = [grad[i] for i in nodes]
    if not all(math.isfinite(x) for x in list(data) + want):
        raise ValueError(f"public check {cid!r}: the reference gives a value that is not finite")
    bugs = []
    for bug in MODEL_BUGS:
        seen: list[list[float]] = []
        always = True  # whatever order it visits nodes in, an engine with this bug fails here
        for order in ORDERS if ORDER_MATTERS.search(bug) else ORDERS[:1]:
            got = [model.evaluate(g.ops, root.index, bug, order)[1][i] for i in nodes]
            if _same(got, want):
                always = False
            elif all(math.isfinite(x) for x in got) and not any(_same(got, s) for s in seen):
                seen.append(got)
        if seen:
            bugs.append([bug, seen, always])
    upto = root.index + 1  # the nodes the check builds
    return {"id": cid, "title": title, "ops": g.ops[:upto], "root": root.index,
            "program": g.program(root.index), "labels": g.labels[:upto],
            "names": [_name(g, i) for i in range(upto)], "wrt": nodes,
            "data": list(data[:upto]), "grad": want, "bugs": bugs}


def _name(g: Graph, i: int) -> str:
    """A node as the forward-value message names it: `d = a * b`, or the formula if unnamed."""
    if g.ops[i][0] == "leaf":
        return g.labels[i]
    return f"{g.labels[i]} = {g.describe(i)}" if i in g.named else g.describe(i)


def _same(xs, ys) -> bool:
    return all(close(x, y) for x, y in zip(xs, ys))


def cases() -> list[dict]:
    return [case_data(*c) for c in graphs()]


# What the check can say, besides the closure bugs the cases carry.
OTHER_CAUSES = ("forward-wrong", "no-gradient", "unknown", "stub", "exception", "not-a-number",
                 "returns-none", "closure-in-grad", "number-in-children", "backward-runs-nothing",
                 *(f"{op}-{what}" for what in ("returns-none", "closure-in-grad",
                                                "number-in-children") for op in OPS))


def causes() -> dict[str, str]:
    """The grader's own words for every misconception the check can name."""
    ids = [m for m in MODEL_BUGS if m in TEXT] + list(OTHER_CAUSES)
    return {m: explain(m) for m in ids}
