"""tanh's derivative from its output, ReLU on both sides and at 0, powers; each with `+` and `*`
of `Value`s around it only."""
from grader.checking.graph import Graph
from grader.suite.marks import weight


@weight(3)
def test_tanh_from_output(engine):
    """tanh's derivative from its output: 1 - tanh(x)**2, not 1 - x**2"""
    g = Graph()
    a, c = g.leaves(1.5, 2.0, names="ac")
    t = a.tanh().named("t")
    engine.check(g, (t * c).named("out"))


@weight(3)
def test_relu_both_sides(engine):
    """relu passes gradient for a positive input and blocks it for a negative one"""
    g = Graph()
    a, b, c = g.leaves(2.0, -3.0, 1.5)
    r = (a.relu() + b.relu()).named("r")
    engine.check(g, (r * c).named("out"))


@weight(3)
def test_relu_at_zero(engine):
    """relu at exactly 0 has gradient 0 (as in micrograd and PyTorch)"""
    g = Graph()
    a, b, c = g.leaves(0.0, 1.0, 2.5)
    r = (a.relu() + b.relu()).named("r")
    engine.check(g, (r * c).named("out"))


@weight(2)
def test_relu_of_sum(engine):
    """relu of a sum that is negative: no gradient flows to its inputs"""
    g = Graph()
    a, b, c, d, e = g.leaves(-2.0, 0.5, 1.5, 2.0, 1.25)
    r = ((a + b).relu() + c * d).named("r")
    engine.check(g, (r * e).named("out"))


@weight(3)
def test_pow_negative(engine):
    """Negative exponents: a**-1 and a**-2"""
    g = Graph()
    a, c = g.leaves(1.6, 2.0, names="ac")
    r = (a ** -1 + a ** -2).named("r")
    engine.check(g, (r * c).named("out"))


@weight(3)
def test_pow_fractional(engine):
    """Fractional exponents: a**0.5 and a**1.5"""
    g = Graph()
    a, c = g.leaves(2.25, -0.5, names="ac")
    r = (a ** 0.5 + a ** 1.5).named("r")
    engine.check(g, (r * c).named("out"))
