# Homework 3: autodiff engine
import math


class Value:
    """Scalar autodiff node (my own version).

    Keeps track of the graph for backprop."""

    def __init__(self, data, _kids=(), _kind='', tag=''):
        self.data = data
        self.grad = 0.0
        self._back = lambda: None
        self._kids = list(_kids)
        self._kind = _kind
        self.tag = tag

    def __repr__(self):
        prefix = f"{self.tag}=" if self.tag else ""
        return f"Value({prefix}{self.data:.4f})"

    def __add__(self, rhs):
        rhs = rhs if isinstance(rhs, Value) else Value(rhs)
        res = Value(self.data + rhs.data, [self, rhs], '+')

        def _back():
            self.grad = res.grad
            rhs.grad = res.grad
        res._back = _back
        return res

    def __radd__(self, rhs):
        return self + rhs

    def __mul__(self, rhs):
        rhs = rhs if isinstance(rhs, Value) else Value(rhs)
        res = Value(self.data * rhs.data, [self, rhs], '*')

        def _back():
            self.grad += rhs.data * res.grad
            rhs.grad += self.data * res.grad
        res._back = _back
        return res

    def __rmul__(self, rhs):
        return self * rhs

    def __neg__(self):
        return self * -1

    def __sub__(self, rhs):
        return self + (-rhs)

    def __rsub__(self, rhs):
        return -self + rhs

    def __pow__(self, k):
        res = Value(self.data ** k, [self], f'**{k}')

        def _back():
            self.grad += k * (self.data ** (k - 1)) * res.grad
        res._back = _back
        return res

    def __truediv__(self, rhs):
        return self * rhs ** -1

    def __rtruediv__(self, rhs):
        return rhs * self ** -1

    def exp(self):
        ex = math.exp(self.data)
        res = Value(ex, [self], 'exp')

        def _back():
            self.grad += ex * res.grad
        res._back = _back
        return res

    def tanh(self):
        z = self.data
        th = (math.exp(2 * z) - 1) / (math.exp(2 * z) + 1)
        res = Value(th, [self], 'tanh')

        def _back():
            self.grad += (1 - z ** 2) * res.grad
        res._back = _back
        return res

    def relu(self):
        res = Value(max(self.data, 0.0), [self], 'relu')

        def _back():
            if self.data >= 0:
                self.grad += res.grad
        res._back = _back
        return res

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if v not in seen:
                seen.add(v)
                for child in v._kids:
                    visit(child)
                order.append(v)
        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._back()
