"""Randomized graphs with shared nodes, seeded so a hand-in always gets the same score. Only
nodes the output depends on are built, so each is in the program the feedback shows.

Each graph's reference gradients are confirmed by central finite differences before use, and
ReLU inputs are kept away from its kink."""
import functools
import math
import random

import pytest

from grader.checking import model
from grader.checking.graph import Graph
from grader.suite.marks import weight

SEEDS = [11, 23, 37, 41, 59]


@functools.cache  # the same graphs for every hand-in (checking never changes a test's graph)
def random_graph(seed: int):
    rng = random.Random(seed)
    while True:
        g = Graph()
        nodes = g.leaves(*[rng.choice([-1, 1]) * rng.uniform(0.3, 1.2) for _ in range(3)])
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
        g, root = g.pruned((s * 1.5).named("out"))  # nothing built that the program hides
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
    if not any(abs(grad[i]) > 1e-3 for i in leaves):
        return False
    return all(math.isclose(grad[i], finite_difference(g, root.index, i), rel_tol=1e-4,
                            abs_tol=1e-6) for i in leaves)


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
    g, root = random_graph(seed)
    engine.check(g, root)
