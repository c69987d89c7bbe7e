"""The chain rule through compositions, backward's seeding, constants mixed in."""
from grader.checking.graph import Graph
from grader.suite.marks import weight


@weight(3)
def test_neuron(engine):
    """A tanh neuron: o = tanh(x1*w1 + x2*w2 + b), the lecture's example"""
    g = Graph()
    x1, x2, w1, w2 = g.leaves(2.0, 0.0, -3.0, 1.0, names=["x1", "x2", "w1", "w2"])
    b = g.leaf(6.8813735870195432, "b")
    n = (x1 * w1 + x2 * w2 + b).named("n")
    engine.check(g, n.tanh().named("o"))


@weight(3)
def test_deep_chain(engine):
    """A chain of every op: gradients multiply along the path"""
    g = Graph()
    (x,) = g.leaves(0.3)
    y = ((x * 2 + 1).tanh().exp() ** 2).relu().named("y")
    engine.check(g, (y * 0.5).named("out"))


@weight(2)
def test_backward_seeds_root(engine):
    """backward() seeds the root with 1: for out = 3 * a, a.grad = 3"""
    g = Graph()
    (a,) = g.leaves(-1.0)
    out = (a * 3).named("out")
    engine.check(g, out, wrt=[a, out])


@weight(2)
def test_long_chain(engine):
    """A chain 150 nodes deep (the recursive topological sort must cope)"""
    g = Graph()
    (x,) = g.leaves(0.5)
    y = x
    for i in range(50):
        y = (y * 1.01 + 0.001) * 0.99
    engine.check(g, (y * 2).named("out"))


@weight(2)
def test_constants_mixed(engine):
    """Constants inside the graph do not receive or break gradients"""
    g = Graph()
    a, b = g.leaves(0.4, -0.9)
    h = ((a * 3 + 2) * (b - 1) / 4 + 0.5).named("h")
    engine.check(g, (h.tanh() * 2).named("out"))
