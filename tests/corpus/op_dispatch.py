"""No stored closures: one `_backward` method of the class looks at the node's `_op` and
applies its local derivative; children in a tuple."""
import math


class Value:
    def __init__(self, data, _children=(), _op='', _k=None):
        self.data = data
        self.grad = 0.0
        self._prev = tuple(_children)
        self._op = _op
        self._k = _k

    def _backward(self):
        if self._op == '+':
            for c in self._prev:
                c.grad += self.grad
        elif self._op == '*':
            a, b = self._prev
            a.grad += b.data * self.grad
            b.grad += a.data * self.grad
        elif self._op == '**':
            a = self._prev[0]
            a.grad += self._k * a.data ** (self._k - 1) * self.grad
        elif self._op == 'exp':
            self._prev[0].grad += self.data * self.grad
        elif self._op == 'tanh':
            self._prev[0].grad += (1 - self.data ** 2) * self.grad
        elif self._op == 'relu':
            self._prev[0].grad += (self.data > 0) * self.grad

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), '+')

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), '*')

    def __pow__(self, k):
        return Value(self.data ** k, (self,), '**', k)

    def exp(self):
        return Value(math.exp(self.data), (self,), 'exp')

    def tanh(self):
        return Value(math.tanh(self.data), (self,), 'tanh')

    def relu(self):
        return Value(max(0.0, self.data), (self,), 'relu')

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
