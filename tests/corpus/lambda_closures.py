"""Each closure a lambda: `+=` is not allowed in one, so it calls a small helper."""
import math


def _acc(node, amount):
    node.grad += amount


class Value:
    def __init__(self, data, _children=(), _op=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')
        out._backward = lambda: (_acc(self, out.grad), _acc(other, out.grad))
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')
        out._backward = lambda: (_acc(self, other.data * out.grad),
                                 _acc(other, self.data * out.grad))
        return out

    def __pow__(self, k):
        out = Value(self.data ** k, (self,), f'**{k}')
        out._backward = lambda: _acc(self, k * self.data ** (k - 1) * out.grad)
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), 'exp')
        out._backward = lambda: _acc(self, out.data * out.grad)
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), 'tanh')
        out._backward = lambda: _acc(self, (1 - out.data ** 2) * out.grad)
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), 'relu')
        out._backward = lambda: _acc(self, (out.data > 0) * out.grad)
        return out

    def __neg__(self): return self * -1
    def __radd__(self, other): return self + other
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
    def __truediv__(self, other): return self * other ** -1
    def __rtruediv__(self, other): return other * self ** -1

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()
