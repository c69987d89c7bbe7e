import math


class Value:
    """Node of the expression graph."""

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._children = list(_children)
        self._op = _op
        self.label = label

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for c in v._children:
                    build(c)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

    def relu(self):
        out = Value(max(self.data, 0.0), [self], 'relu')

        def _backward():
            # chain rule: local derivative times upstream gradient
            if self.data >= 0:
                self.grad += out.grad
        out._backward = _backward
        return out

    def tanh(self):
        x = self.data
        t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
        out = Value(t, [self], 'tanh')

        def _backward():
            # chain rule: local derivative times upstream gradient
            self.grad += (1 - x ** 2) * out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, [self, other], '*')

        def _backward():
            # chain rule: local derivative times upstream gradient
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __rmul__(self, other):
        return self * other

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, [self, other], '+')

        def _backward():
            # chain rule: local derivative times upstream gradient
            self.grad = out.grad
            other.grad = out.grad
        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __repr__(self):
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.4f})"

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return -self + other

    def __pow__(self, n):
        out = Value(self.data ** n, [self], f'^{n}')

        def _backward():
            # chain rule: local derivative times upstream gradient
            self.grad += n * (self.data ** (n - 1)) * out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1

    def exp(self):
        e = math.exp(self.data)
        out = Value(e, [self], 'exp')

        def _backward():
            # chain rule: local derivative times upstream gradient
            self.grad += e * out.grad
        out._backward = _backward
        return out
