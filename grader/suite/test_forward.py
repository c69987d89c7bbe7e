"""Forward values only. Together these are worth 10 points, under a tenth of the total: what an
engine earns before any backward closure works."""
from grader.checking.graph import Graph
from grader.suite.marks import weight


@weight(3)
def test_forward_arithmetic(engine):
    """Forward: + - * / ** and unary minus give the right data"""
    g = Graph()
    a, b = g.leaves(2.0, -3.0)
    r = ((a * b + a - b) / (b ** 2) - (-a)).named("r")
    engine.forward(g, r)


@weight(3)
def test_forward_nonlinear(engine):
    """Forward: tanh, relu and exp give the right data"""
    g = Graph()
    a, b = g.leaves(0.5, -1.5)
    r = (a.tanh() + b.relu() + a.exp() + (a * 2).relu()).named("r")
    engine.forward(g, r)


@weight(2)
def test_forward_constants(engine):
    """Forward: plain numbers on either side (2 * a, 1 + a, 1 / a, 3 - a)"""
    g = Graph()
    (a,) = g.leaves(4.0)
    r = (2 * a + (1 + a) + 1 / a + (3 - a) + a * 0.5).named("r")
    engine.forward(g, r)


@weight(2)
def test_forward_powers(engine):
    """Forward: negative and fractional exponents"""
    g = Graph()
    (a,) = g.leaves(2.25)
    r = (a ** -1 + a ** 0.5 + a ** -2.5 + a ** 3).named("r")
    engine.forward(g, r)
