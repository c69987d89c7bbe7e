# HW: autodiff
import math


class Value:
    """Scalar autograd with an iterative topological sort: deep graphs never hit Python's
    recursion limit."""

    def __init__(self, data, _children=(), _op=''):
        self.data = data
        self.grad = 0.0
        self.bw = lambda: None
        self._prev = _children
        self._op = _op

    def __add__(self, rhs):
        rhs = rhs if isinstance(rhs, Value) else Value(rhs)
        z = Value(self.data + rhs.data, (self, rhs), '+')

        def bw():
            self.grad += z.grad
            rhs.grad += z.grad
        z.bw = bw
        return z

    def __mul__(self, rhs):
        rhs = rhs if isinstance(rhs, Value) else Value(rhs)
        z = Value(self.data * rhs.data, (self, rhs), '*')

        def bw():
            self.grad += rhs.data * z.grad
            rhs.grad += self.data * z.grad
        z.bw = bw
        return z

    def __pow__(self, rhs):
        z = Value(self.data ** rhs, (self,), f'**{rhs}')

        def bw():
            self.grad += rhs * self.data ** (rhs - 1) * z.grad
        z.bw = bw
        return z

    def exp(self):
        z = Value(math.exp(self.data), (self,), 'exp')

        def bw():
            self.grad += z.data * z.grad
        z.bw = bw
        return z

    def tanh(self):
        z = Value(math.tanh(self.data), (self,), 'tanh')

        def bw():
            self.grad += (1 - z.data ** 2) * z.grad
        z.bw = bw
        return z

    def relu(self):
        z = Value(self.data * (self.data > 0), (self,), 'relu')

        def bw():
            self.grad += (self.data > 0) * z.grad
        z.bw = bw
        return z

    def backward(self):
        topo, visited = [], set()
        todo = [(self, False)]
        while todo:
            node, expanded = todo.pop()
            if expanded:
                topo.append(node)
            elif node not in visited:
                visited.add(node)
                todo.append((node, True))
                for child in node._prev:
                    if child not in visited:
                        todo.append((child, False))
        self.grad = 1.0
        for node in reversed(topo):
            node.bw()

    def __neg__(self):
        return self * -1

    def __radd__(self, rhs):
        return self + rhs

    def __sub__(self, rhs):
        return self + (-rhs)

    def __rsub__(self, rhs):
        return rhs + (-self)

    def __rmul__(self, rhs):
        return self * rhs

    def __truediv__(self, rhs):
        return self * rhs ** -1

    def __rtruediv__(self, rhs):
        return rhs * self ** -1
