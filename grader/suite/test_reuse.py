"""Nodes used on more than one path must receive the sum of every path's gradient.

Engines that keep `_prev` in a set run sibling closures in an order that changes from run to
run, so each overwrite bug is also caught by a graph whose expected gradient no visiting order
of a buggy engine can produce (`a + a`, `Value(2)*a + Value(3)*a`, `(a+1)*(a+2)`)."""
from grader.checking.graph import Graph
from grader.suite.marks import weight


@weight(4)
def test_lecture_graph(engine):
    """The lecture's graph: f = (a*b) * (a+b) with a = -2, b = 3"""
    g = Graph()
    a, b = g.leaves(-2.0, 3.0)
    d = (a * b).named("d")
    e = (a + b).named("e")
    engine.check(g, (d * e).named("f"))


@weight(4)
def test_add_self(engine):
    """b = a + a: a is both operands, a.grad must be 2 * b.grad"""
    g = Graph()
    (a,) = g.leaves(3.0)
    b = (a + a).named("b")
    engine.check(g, (b ** 2).named("out"))


@weight(4)
def test_mul_self(engine):
    """b = a * a: a is both operands, a.grad must be 2 * a * b.grad"""
    g = Graph()
    (a,) = g.leaves(-1.5)
    b = (a * a).named("b")
    engine.check(g, (b * 2).named("out"))


@weight(4)
def test_right_operand_twice(engine):
    """Value(2)*a + Value(3)*a: a is the right operand of two products"""
    g = Graph()
    a, two, three = g.leaves(1.25, 2.0, 3.0, names=["a", "two", "three"])
    s = (two * a + three * a).named("s")
    engine.check(g, (s * 2).named("out"), wrt=[a])


@weight(4)
def test_two_sums(engine):
    """(a+1) * (a+2): a flows through two sums"""
    g = Graph()
    (a,) = g.leaves(0.5)
    p = ((a + 1).named("u") * (a + 2).named("v")).named("p")
    engine.check(g, (p * 1.5).named("out"))


@weight(3)
def test_diamond(engine):
    """A diamond: x feeds two branches that meet again"""
    g = Graph()
    (x,) = g.leaves(0.6)
    u = (x * 2).named("u")
    v = x.tanh().named("v")
    engine.check(g, ((u * v).named("w") * 1.5).named("out"))


@weight(3)
def test_many_uses(engine):
    """A value used ten times in one sum"""
    g = Graph()
    a, b = g.leaves(0.5, 2.0)
    s = a * b
    for _ in range(9):
        s = s + a * b
    engine.check(g, (s.named("s") * 0.5).named("out"))


@weight(3)
def test_reuse_through_every_op(engine):
    """A value reused through tanh, exp, relu, ** and *: every path adds up"""
    g = Graph()
    (a,) = g.leaves(0.7)
    r = (a.tanh() * a + a.exp() * a + a.relu() * a + a ** 2 + a ** 3 * a).named("r")
    engine.check(g, (r * 1.5).named("out"))


@weight(3)
def test_shared_intermediate(engine):
    """An intermediate node (not a leaf) used twice"""
    g = Graph()
    a, b = g.leaves(0.9, -0.4)
    c = (a * b + b).named("c")
    h = (c.tanh() + c * c).named("h")
    engine.check(g, (h * 2).named("out"), wrt=[a, b, c])


@weight(2)
def test_exp_reused(engine):
    """exp(a) * exp(a): exp's output feeds a product twice"""
    g = Graph()
    (a,) = g.leaves(0.3)
    e = a.exp().named("e")
    engine.check(g, ((e * e) * 0.5).named("out"))


@weight(2)
def test_exp_twice(engine):
    """a.exp() and a.exp() again: a feeds two exp nodes"""
    g = Graph()
    (a,) = g.leaves(0.4)
    s = (a.exp() + a.exp() * 2).named("s")
    engine.check(g, s.tanh().named("out"))


@weight(2)
def test_tanh_twice(engine):
    """a.tanh() twice: a feeds two tanh nodes"""
    g = Graph()
    (a,) = g.leaves(0.5)
    s = (a.tanh() + a.tanh() ** 2).named("s")
    engine.check(g, (s * 1.5).named("out"))


@weight(2)
def test_relu_twice(engine):
    """a.relu() twice: a feeds two relu nodes"""
    g = Graph()
    (a,) = g.leaves(1.5)
    s = (a.relu() + a.relu() ** 2).named("s")
    engine.check(g, s.tanh().named("out"))


@weight(2)
def test_pow_twice(engine):
    """a**2 + a**3: a feeds two powers"""
    g = Graph()
    (a,) = g.leaves(0.5)
    s = (a ** 2 + a ** 3).named("s")
    engine.check(g, (s * 3).named("out"))
