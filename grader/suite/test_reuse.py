"""Nodes used on more than one path must receive the sum of every path's gradient.

Engines that keep `_prev` in a set run sibling closures in an order that changes from run to
run. Where an operation's closure overwrites a shared node's gradient, the answer depends on
that order, so such a graph fails whatever came back and the feedback shows a probe that fails
in every order (`grader.checking.check`). Each test uses one operation with `+` and `*` of
`Value`s, except the one whose name starts with "Whole engine"."""
from grader.checking.graph import Graph
from grader.suite.marks import weight


@weight(4)
def test_lecture_graph(engine):
    """The lecture's graph: f = (a*b) * (a+b)"""
    g = Graph()
    a, b = g.leaves(-2.0, 3.0)
    d = (a * b).named("d")
    e = (a + b).named("e")
    engine.check(g, (d * e).named("f"))


@weight(4)
def test_add_self(engine):
    """b = a + a: a is both operands, a.grad must be 2 * b.grad"""
    g = Graph()
    a, c = g.leaves(3.0, -1.5, names="ac")
    b = (a + a).named("b")
    engine.check(g, (b * c).named("out"))


@weight(4)
def test_mul_self(engine):
    """b = a * a: a is both operands, a.grad must be 2 * a * b.grad"""
    g = Graph()
    a, c = g.leaves(-1.5, 2.5, names="ac")
    b = (a * a).named("b")
    engine.check(g, (b * c).named("out"))


@weight(4)
def test_right_operand_twice(engine):
    """Value(2)*a + Value(3)*a: a is the right operand of two products"""
    g = Graph()
    a, two, three, c = g.leaves(1.25, 2.0, 3.0, -0.5, names=["a", "two", "three", "c"])
    two.within(2, 2), three.within(3, 3)  # as named, for every hand-in
    s = (two * a + three * a).named("s")
    engine.check(g, (s * c).named("out"), wrt=[a])


@weight(4)
def test_two_sums(engine):
    """(a+b) * (a+c): a flows through two sums"""
    g = Graph()
    a, b, c, d = g.leaves(0.5, 1.0, 2.0, 1.5)
    p = ((a + b).named("u") * (a + c).named("v")).named("p")
    engine.check(g, (p * d).named("out"))


@weight(3)
def test_diamond(engine):
    """A diamond: x feeds two branches (x * k and x + m) that meet again"""
    g = Graph()
    x, k, m, n = g.leaves(0.6, 2.0, -1.5, 1.5, names="xkmn")
    u = (x * k).named("u")
    v = (x + m).named("v")
    engine.check(g, ((u * v).named("w") * n).named("out"))


@weight(3)
def test_many_uses(engine):
    """A value used ten times in one sum"""
    g = Graph()
    a, b, c = g.leaves(0.5, 2.0, -0.5)
    s = a * b
    for _ in range(9):
        s = s + a * b
    engine.check(g, (s.named("s") * c).named("out"))


@weight(3)
def test_reuse_through_every_op(engine):
    """Whole engine (+, *, **, tanh, exp, relu): a value reused through every op adds up"""
    g = Graph()
    (a,) = g.leaves(0.7)
    r = (a.tanh() * a + a.exp() * a + a.relu() * a + a ** 2 + a ** 3 * a).named("r")
    engine.check(g, (r * 1.5).named("out"))


@weight(3)
def test_shared_intermediate(engine):
    """An intermediate node (not a leaf) used twice"""
    g = Graph()
    a, b, d = g.leaves(0.9, -0.4, 2.0, names="abd")
    c = (a * b + b).named("c")
    h = (c * d + c * c).named("h")
    engine.check(g, (h * d).named("out"), wrt=[a, b, c])


@weight(2)
def test_exp_reused(engine):
    """exp(a) * exp(a): exp's output feeds a product twice"""
    g = Graph()
    a, c = g.leaves(0.3, 0.5, names="ac")
    e = a.exp().named("e")
    engine.check(g, ((e * e) * c).named("out"))


@weight(2)
def test_exp_twice(engine):
    """a.exp() and a.exp() again: a feeds two exp nodes"""
    g = Graph()
    a, k, m = g.leaves(0.4, 2.0, -1.5, names="akm")
    s = (a.exp() + a.exp() * k).named("s")
    engine.check(g, (s * m).named("out"))


@weight(2)
def test_tanh_twice(engine):
    """a.tanh() twice: a feeds two tanh nodes"""
    g = Graph()
    a, k, m = g.leaves(0.5, 2.0, 1.5, names="akm")
    s = (a.tanh() + a.tanh() * k).named("s")
    engine.check(g, (s * m).named("out"))


@weight(2)
def test_relu_twice(engine):
    """a.relu() twice: a feeds two relu nodes"""
    g = Graph()
    a, k, m = g.leaves(1.5, 2.0, -0.5, names="akm")
    s = (a.relu() + a.relu() * k).named("s")
    engine.check(g, (s * m).named("out"))


@weight(2)
def test_pow_twice(engine):
    """a**2 + a**3: a feeds two powers"""
    g = Graph()
    a, c = g.leaves(0.5, 3.0, names="ac")
    s = (a ** 2 + a ** 3).named("s")
    engine.check(g, (s * c).named("out"))
