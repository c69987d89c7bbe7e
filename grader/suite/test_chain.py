"""The chain rule through compositions and backward's seeding. Tests whose names start with
"Whole engine" need every operation they list; the others need `+` and `*` of `Value`s only."""
from grader.checking.graph import Graph
from grader.suite.marks import weight


@weight(3)
def test_neuron(engine):
    """Whole engine (+, *, tanh): the lecture's neuron o = tanh(x1*w1 + x2*w2 + b)"""
    g = Graph()
    x1, x2, w1, w2 = g.leaves(2.0, 0.0, -3.0, 1.0, names=["x1", "x2", "w1", "w2"])
    b = g.leaf(6.8813735870195432, "b")
    n = (x1 * w1 + x2 * w2 + b).named("n")
    engine.check(g, n.tanh().named("o"))


@weight(3)
def test_deep_chain(engine):
    """Whole engine (every op and plain numbers): gradients multiply along a chain"""
    g = Graph()
    (x,) = g.leaves(0.3)
    y = ((x * 2 + 1).tanh().exp() ** 2).relu().named("y")
    engine.check(g, (y * 0.5).named("out"))


@weight(2)
def test_backward_seeds_root(engine):
    """backward() seeds the root with 1: for out = a * k, out.grad = 1 and a.grad = k"""
    g = Graph()
    a, k = g.leaves(-1.0, 3.0, names="ak")
    out = (a * k).named("out")
    engine.check(g, out, wrt=[a, k, out])


@weight(2)
def test_long_chain(engine):
    """A chain 150 nodes deep (the recursive topological sort must cope)"""
    g = Graph()
    x, p, q, r = g.leaves(0.5, 1.01, 0.001, 0.99, names="xpqr")
    p.within(1.0, 1.02), r.within(0.98, 1.0)  # 50 factors p * r stay near 1
    y = x
    for i in range(1, 51):
        y = ((y * p + q) * r).named(f"y{i}")
    engine.check(g, (y * p).named("out"), wrt=[x])
