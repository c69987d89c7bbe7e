"""Randomized graphs with shared nodes, seeded so a hand-in always gets the same score: each
hand-in's own shapes, drawn from its instance (`grader.checking.instance`).

Each graph's reference gradients are confirmed by central finite differences before use, and
ReLU inputs are kept away from its kink."""
import math

import pytest

from grader.checking import model
from grader.checking.graph import Graph
from grader.checking.instance import PUBLISHED, Instance
from grader.suite.marks import weight

SEEDS = [11, 23, 37, 41, 59]


def random_graph(seed: int, instance: Instance = PUBLISHED):
    rng = instance.random(seed)  # the hand-in's own shapes, or `random.Random(seed)`
    while True:
        g = Graph()
        nodes = g.leaves(*[rng.choice([-1, 1]) * rng.uniform(0.3, 1.2) for _ in range(3)])
        for leaf in nodes:  # drawn from the instance already
            leaf.within(leaf.graph.ops[leaf.index][1], leaf.graph.ops[leaf.index][1])
        for _ in range(rng.randint(6, 9)):
            a, b = rng.choice(nodes), rng.choice(nodes)
            kind = rng.choice(["add", "mul", "sub", "tanh", "exp", "relu", "pow", "mul"])
            if kind == "add":
                n = a + b
            elif kind == "mul":
                n = a * b
            elif kind == "sub":
                n = a - b
            elif kind == "tanh":
                n = a.tanh()
            elif kind == "exp":
                n = (a * 0.5).exp()
            elif kind == "relu":
                n = a.relu()
            else:
                n = a ** 2
            nodes.append(n)
        s = nodes[-1] + nodes[-2] * nodes[-3]
        root = (s * 1.5).named("out")
        if usable(g, root):
            return g, root


def usable(g: Graph, root) -> bool:
    data, grad = model.evaluate(g.ops, root.index)
    if not all(math.isfinite(x) and abs(x) < 1e3 for x in data + grad):
        return False
    for i, op in enumerate(g.ops):
        if op[0] == "relu" and abs(data[op[1]]) < 0.05:
            return False
    leaves = [i for i, op in enumerate(g.ops) if op[0] == "leaf"]
    if not any(abs(grad[i]) > 1e-3 for i in leaves) or not every_share_counts(g, root):
        return False
    return all(math.isclose(grad[i], finite_difference(g, root.index, i), rel_tol=1e-4,
                            abs_tol=1e-6) for i in leaves)


def every_share_counts(g: Graph, root) -> bool:
    """Whether every node that several operations feed gets a nonzero share of gradient from
    each: where a share is 0 (a ReLU blocking, or a dead branch above), overwriting instead of
    adding loses nothing, yet the grader judges an overwrite by the graph's shape."""
    x = model.expanded(g.ops)
    data = model.forward(x)
    live = model.topo_order(x, x.at[root.index])
    grad = model.backward(x, data, x.at[root.index])
    shares: dict[int, list[bool]] = {}
    for v in live:
        for c in x.children[v]:
            blocked = x.kind[v] == "relu" and data[c] <= 0
            shares.setdefault(c, []).append(grad[v] != 0 and not blocked)
    return all(all(s) for s in shares.values() if len(s) > 1)


def finite_difference(g: Graph, root: int, leaf: int, h: float = 1e-6) -> float:
    def f(x):
        ops = [list(op) for op in g.ops]
        ops[leaf] = ["leaf", x]
        return model.evaluate(ops, root)[0][root]
    x = g.ops[leaf][1]
    return (f(x + h) - f(x - h)) / (2 * h)


@weight(3)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_graph(engine, seed):
    """Whole engine (every op and plain numbers): a random graph with shared nodes"""
    g, root = random_graph(seed, engine.instance)
    engine.check(g, root)
