"""Closures made with functools.partial over module-level backward functions; children in a
list `_children`; an iterative topological sort."""
import functools
import math


def add_back(a, b, out):
    a.grad += out.grad
    b.grad += out.grad


def mul_back(a, b, out):
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad


def pow_back(a, k, out):
    a.grad += k * a.data ** (k - 1) * out.grad


def unary_back(a, local, out):
    a.grad += local(out) * out.grad


def nothing():
    pass


class Value:
    def __init__(self, data, children=None, op=''):
        self.data = float(data)
        self.grad = 0.0
        self._children = list(children or [])
        self._op = op
        self._backward = nothing

    @staticmethod
    def lift(x):
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, other):
        other = Value.lift(other)
        out = Value(self.data + other.data, [self, other], '+')
        out._backward = functools.partial(add_back, self, other, out)
        return out

    def __mul__(self, other):
        other = Value.lift(other)
        out = Value(self.data * other.data, [self, other], '*')
        out._backward = functools.partial(mul_back, self, other, out)
        return out

    def __pow__(self, k):
        out = Value(self.data ** k, [self], '**')
        out._backward = functools.partial(pow_back, self, k, out)
        return out

    def _unary(self, value, op, local):
        out = Value(value, [self], op)
        out._backward = functools.partial(unary_back, self, local, out)
        return out

    def exp(self):
        return self._unary(math.exp(self.data), 'exp', lambda out: out.data)

    def tanh(self):
        return self._unary(math.tanh(self.data), 'tanh', lambda out: 1 - out.data ** 2)

    def relu(self):
        return self._unary(max(0.0, self.data), 'relu', lambda out: float(out.data > 0))

    def __neg__(self): return self * -1
    def __radd__(self, other): return self + other
    def __sub__(self, other): return self + (-Value.lift(other))
    def __rsub__(self, other): return Value.lift(other) + (-self)
    def __rmul__(self, other): return self * other
    def __truediv__(self, other): return self * Value.lift(other) ** -1
    def __rtruediv__(self, other): return Value.lift(other) * self ** -1

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for child in node._children:
                stack.append((child, False))
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
