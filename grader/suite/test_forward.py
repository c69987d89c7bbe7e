"""Forward values only, one operation each. Together these are worth 10 points, under a tenth of
the total: what an engine earns before any backward closure works."""
from grader.checking.graph import Graph
from grader.suite.marks import weight


@weight(2)
def test_forward_add_mul(engine):
    """Forward: a + b and a * b"""
    g = Graph()
    a, b = g.leaves(2.0, -3.0)
    s = (a + b).named("s")
    engine.forward(g, (s * a).named("r"))


@weight(1)
def test_forward_sub(engine):
    """Forward: a - b"""
    g = Graph()
    a, b = g.leaves(2.0, -3.0)
    engine.forward(g, (a - b).named("r"))


@weight(1)
def test_forward_neg(engine):
    """Forward: -a"""
    g = Graph()
    (a,) = g.leaves(2.5)
    engine.forward(g, (-a).named("r"))


@weight(1)
def test_forward_div(engine):
    """Forward: a / b"""
    g = Graph()
    a, b = g.leaves(3.0, -4.0)
    engine.forward(g, (a / b).named("r"))


@weight(1)
def test_forward_pow(engine):
    """Forward: a**3, a**-1, a**0.5 and a**-2.5"""
    g = Graph()
    (a,) = g.leaves(2.25)
    for name, k in zip("pqr", (3, -1, 0.5)):
        (a ** k).named(name)
    engine.forward(g, (a ** -2.5).named("s"))


@weight(1)
def test_forward_tanh(engine):
    """Forward: tanh"""
    g = Graph()
    a, b = g.leaves(0.5, -1.5)
    a.tanh().named("p")
    engine.forward(g, b.tanh().named("q"))


@weight(1)
def test_forward_exp(engine):
    """Forward: exp"""
    g = Graph()
    a, b = g.leaves(0.5, -1.5)
    a.exp().named("p")
    engine.forward(g, b.exp().named("q"))


@weight(2)
def test_forward_relu(engine):
    """Forward: relu of a positive and of a negative input"""
    g = Graph()
    a, b = g.leaves(0.5, -1.5)
    a.relu().named("p")
    engine.forward(g, b.relu().named("q"))
