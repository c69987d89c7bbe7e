"""Each operation's local gradient, from that operation and `+` and `*` of `Value`s only. No
result is the root itself: an outer `* c` makes `out.grad` differ from 1, so a closure that
forgets to multiply by it is seen. Subtraction, division, unary minus and plain numbers on
either side are tested one at a time, so a missing `__rsub__` costs only its own test."""
from grader.checking.graph import Graph
from grader.suite.marks import weight


@weight(3)
def test_add_local(engine):
    """Local gradient of +: both operands get out.grad"""
    g = Graph()
    a, b, c = g.leaves(1.5, -4.0, -2.5)
    s = (a + b).named("s")
    engine.check(g, (s * c).named("out"))


@weight(3)
def test_mul_local(engine):
    """Local gradient of *: each operand gets the other's data times out.grad"""
    g = Graph()
    a, b, c = g.leaves(3.0, -2.0, 1.5)
    p = (a * b).named("p")
    engine.check(g, (p * c).named("out"))


@weight(3)
def test_pow_local(engine):
    """Local gradient of **: n * x**(n-1) times out.grad"""
    g = Graph()
    a, c = g.leaves(0.8, -1.5, names="ac")
    p = (a ** 3).named("p")
    engine.check(g, (p * c).named("out"))


@weight(3)
def test_exp_local(engine):
    """Local gradient of exp: exp(x) times out.grad"""
    g = Graph()
    a, c = g.leaves(0.7, 2.0, names="ac")
    e = a.exp().named("e")
    engine.check(g, (e * c).named("out"))


@weight(3)
def test_tanh_local(engine):
    """Local gradient of tanh: 1 - tanh(x)**2 times out.grad"""
    g = Graph()
    a, c = g.leaves(0.8, -2.0, names="ac")
    t = a.tanh().named("t")
    engine.check(g, (t * c).named("out"))


@weight(3)
def test_relu_positive(engine):
    """Local gradient of relu for a positive input: out.grad passes through"""
    g = Graph()
    a, c = g.leaves(1.25, 3.0, names="ac")
    r = a.relu().named("r")
    engine.check(g, (r * c).named("out"))


@weight(2)
def test_sub(engine):
    """Subtraction: d(a-b)/da = 1 and d(a-b)/db = -1"""
    g = Graph()
    a, b, c = g.leaves(2.0, 5.0, 1.5)
    d = (a - b).named("d")
    engine.check(g, (d * c).named("out"))


@weight(1)
def test_neg(engine):
    """Unary minus: d(-a)/da = -1"""
    g = Graph()
    a, c = g.leaves(2.0, 1.5, names="ac")
    n = (-a).named("n")
    engine.check(g, (n * c).named("out"))


@weight(2)
def test_div(engine):
    """Division: d(a/b)/da = 1/b and d(a/b)/db = -a/b**2"""
    g = Graph()
    a, b, c = g.leaves(3.0, -1.5, 2.0)
    q = (a / b).named("q")
    engine.check(g, (q * c).named("out"))


@weight(2)
def test_numbers_right(engine):
    """Plain numbers on the right (a * 2, a + 1) are wrapped and get no gradient"""
    g = Graph()
    a, b = g.leaves(1.5, -0.5)
    r = (a * 2 + 1).named("r")
    engine.check(g, (r * b).named("out"))


@weight(1)
def test_radd(engine):
    """A plain number on the left of +: 1 + a"""
    g = Graph()
    a, b = g.leaves(1.5, -0.5)
    r = (1 + a).named("r")
    engine.check(g, (r * b).named("out"))


@weight(1)
def test_rmul(engine):
    """A plain number on the left of *: 2 * a"""
    g = Graph()
    a, b = g.leaves(1.5, -0.5)
    r = (2 * a).named("r")
    engine.check(g, (r * b).named("out"))


@weight(1)
def test_rsub(engine):
    """A plain number on the left of -: 3 - a"""
    g = Graph()
    a, b = g.leaves(1.5, -0.5)
    r = (3 - a).named("r")
    engine.check(g, (r * b).named("out"))


@weight(1)
def test_rtruediv(engine):
    """A plain number on the left of /: 1 / a"""
    g = Graph()
    a, b = g.leaves(2.0, -0.5)
    r = (1 / a).named("r")
    engine.check(g, (r * b).named("out"))
