"""Public tests for engine.py. Run them with `pytest test_public.py` from this folder.

These check the examples from the lecture and each operation's local gradient at one point.
Passing them is a good sign, but the graded tests check more cases than these.
"""
import math
import os
import sys

# Make `from engine import Value` find the engine.py next to this file, wherever pytest is run from.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from engine import Value  # noqa: E402


def close(x, y):
    return math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9)


def test_lecture_worked_example():
    a = Value(-2.0)
    b = Value(3.0)
    d = a * b
    e = a + b
    f = d * e
    f.backward()
    assert close(a.grad, -3.0), f"a.grad should be -3.0 (a is used twice: via d and via e), got {a.grad}"
    assert close(b.grad, -8.0), f"b.grad should be -8.0 (b is used twice: via d and via e), got {b.grad}"


def test_a_plus_a_accumulates():
    a = Value(3.0)
    b = a + a
    b.backward()
    assert close(a.grad, 2.0), (
        f"a.grad should be 2.0 for b = a + a, got {a.grad}; "
        "did you use `=` instead of `+=` in __add__'s _backward?"
    )


def test_add_local_gradient():
    a, b = Value(2.0), Value(-4.0)
    c = a + b
    c.backward()
    assert close(a.grad, 1.0), f"d(a + b)/da should be 1.0, got {a.grad}"
    assert close(b.grad, 1.0), f"d(a + b)/db should be 1.0, got {b.grad}"


def test_mul_local_gradient():
    a, b = Value(2.0), Value(-4.0)
    c = a * b
    c.backward()
    assert close(a.grad, -4.0), f"d(a * b)/da should be b.data = -4.0, got {a.grad}"
    assert close(b.grad, 2.0), f"d(a * b)/db should be a.data = 2.0, got {b.grad}"


def test_pow_local_gradient():
    a = Value(2.0)
    c = a ** 3
    c.backward()
    assert close(a.grad, 12.0), f"d(a ** 3)/da at a = 2 should be 3 * 2 ** 2 = 12.0, got {a.grad}"


def test_exp_local_gradient():
    a = Value(0.5)
    c = a.exp()
    c.backward()
    assert close(a.grad, math.exp(0.5)), f"d(exp(a))/da at a = 0.5 should be exp(0.5) = {math.exp(0.5)}, got {a.grad}"


def test_tanh_local_gradient():
    a = Value(0.8)
    c = a.tanh()
    c.backward()
    expected = 1 - math.tanh(0.8) ** 2
    assert close(a.grad, expected), f"d(tanh(a))/da at a = 0.8 should be 1 - tanh(0.8)**2 = {expected}, got {a.grad}"


def test_relu_positive_input():
    a = Value(1.5)
    c = a.relu()
    c.backward()
    assert close(a.grad, 1.0), f"d(relu(a))/da at a = 1.5 should be 1.0, got {a.grad}"


def test_relu_negative_input():
    a = Value(-1.5)
    c = a.relu()
    c.backward()
    assert close(a.grad, 0.0), f"d(relu(a))/da at a = -1.5 should be 0.0 (no gradient flows through), got {a.grad}"


def test_chain_through_tanh():
    # The lecture's neuron: o = tanh(x1*w1 + x2*w2 + b)
    x1, x2 = Value(2.0), Value(0.0)
    w1, w2 = Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    assert close(o.data, 0.7071067811865476), f"forward pass: o.data should be about 0.7071, got {o.data}"
    expected = {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5}
    got = {"x1": x1.grad, "w1": w1.grad, "x2": x2.grad, "w2": w2.grad, "b": b.grad}
    for name, want in expected.items():
        assert close(got[name], want), f"{name}.grad should be {want}, got {got[name]} (all grads: {got})"


def test_composite_ops_sub_and_div():
    a, b = Value(3.0), Value(2.0)
    c = (a - b) / b  # built from +, * and ** -1
    c.backward()
    assert close(c.data, 0.5), f"(3 - 2) / 2 should be 0.5, got {c.data}"
    assert close(a.grad, 0.5), f"d((a - b) / b)/da should be 1 / b = 0.5, got {a.grad}"
    assert close(b.grad, -0.75), f"d((a - b) / b)/db should be -a / b**2 = -0.75, got {b.grad}"
