"""Each operation's local gradient. No result is the root itself: an outer operation makes
`out.grad` differ from 1, so a closure that forgets to multiply by it is seen. The outer
operations vary, so one broken closure does not fail every test."""
from grader.checking.graph import Graph
from grader.suite.marks import weight


@weight(3)
def test_add_local(engine):
    """Local gradient of +: both operands get out.grad"""
    g = Graph()
    a, b = g.leaves(1.5, -4.0)
    s = (a + b).named("s")
    engine.check(g, (s ** 2).named("out"))


@weight(3)
def test_mul_local(engine):
    """Local gradient of *: each operand gets the other's data times out.grad"""
    g = Graph()
    a, b = g.leaves(3.0, -2.0)
    p = (a * b).named("p")
    engine.check(g, (p ** 2).named("out"))


@weight(3)
def test_pow_local(engine):
    """Local gradient of **: n * x**(n-1) times out.grad"""
    g = Graph()
    (a,) = g.leaves(0.8)
    p = (a ** 3).named("p")
    engine.check(g, p.tanh().named("out"))


@weight(3)
def test_exp_local(engine):
    """Local gradient of exp: exp(x) times out.grad"""
    g = Graph()
    (a,) = g.leaves(0.7)
    e = a.exp().named("e")
    engine.check(g, (e ** 2).named("out"))


@weight(3)
def test_tanh_local(engine):
    """Local gradient of tanh: 1 - tanh(x)**2 times out.grad"""
    g = Graph()
    (a,) = g.leaves(0.8)
    t = a.tanh().named("t")
    engine.check(g, (t * -2).named("out"))


@weight(3)
def test_relu_positive(engine):
    """Local gradient of relu for a positive input: out.grad passes through"""
    g = Graph()
    (a,) = g.leaves(1.25)
    r = a.relu().named("r")
    engine.check(g, (r ** 2).named("out"))


@weight(2)
def test_sub_neg(engine):
    """Subtraction and unary minus route gradients with the right signs"""
    g = Graph()
    a, b = g.leaves(2.0, 5.0)
    d = (a - b).named("d")
    n = (-a).named("n")
    engine.check(g, ((d * n) * 1.5).named("out"))


@weight(2)
def test_div(engine):
    """Division: d(a/b)/da = 1/b and d(a/b)/db = -a/b**2"""
    g = Graph()
    a, b = g.leaves(3.0, -1.5)
    q = (a / b).named("q")
    engine.check(g, (q * 2).named("out"))


@weight(2)
def test_reflected_constants(engine):
    """Plain numbers on the left (2 * a, 1 + b, 1 / c, 3 - a) get the chain rule too"""
    g = Graph()
    a, b, c = g.leaves(1.5, -0.5, 2.0)
    r = ((2 * a) * (1 + b) + 1 / c + (3 - a)).named("r")
    engine.check(g, (r * 1.5).named("out"))
