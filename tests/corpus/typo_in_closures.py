# --- instructor ---
# The reference engine (full marks), and the master of the student materials:
# `grader materials build` makes assignments/engine.py, engine.ipynb and check.py and the
# sample class in samples/canvas/ from this file and solutions/lecture.md.
# Each `_backward` body between `# --- backward: <op> ---` and `# --- end ---` becomes
# `raise NotImplementedError("TODO: <hint>")` in the stub; the hint is the comment lines right
# after the opening marker, in your own words. The module docstring is the assignment's text.
# Lines in an instructor region (like these) reach no student file.
# --- end ---
"""Assignment: the backward pass of a micrograd-style autodiff engine.

The forward passes and `backward()` (topological sort, then each node's `_backward` in
reverse order) are done. Your job is the body of the `_backward` closure in `__add__`,
`__mul__`, `__pow__`, `exp`, `tanh` and `relu`: replace each `raise NotImplementedError(...)`
with the local derivative times `out.grad`, added to the child's grad with `+=` (a node can
be used more than once, e.g. `a + a`, and every use must contribute). Do not change anything
else. Check your work with `python check.py` (or `pytest test_public.py`).
"""
import math


class Value:
    """A scalar that remembers how it was computed, so gradients can flow back."""

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')

        def _backward():
            # --- backward: add ---
            # d(out)/d(self) = 1 and d(out)/d(other) = 1;
            # multiply by out.grad and accumulate with +=
            self.grad += out.grad
            other.grad += out.grad
            # --- end ---
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')

        def _backward():
            # --- backward: mul ---
            # d(out)/d(self) = other.data and d(out)/d(other) = self.data;
            # multiply by out.grad and accumulate with +=
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
            # --- end ---
        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, (int, float)), "only int/float powers are supported"
        out = Value(self.data ** other, (self,), f'**{other}')

        def _backward():
            # --- backward: pow ---
            # d(out)/d(self) = other * self.data ** (other - 1);
            # multiply by out.grad and accumulate with +=
            self.grad += other * self.data ** (other - 1) * out.grad
            # --- end ---
        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), 'exp')

        def _backward():
            # --- backward: exp ---
            # d(out)/d(self) = exp(self.data), which is out.data;
            # multiply by out.grad and accumulate with +=
            self.grad += out.data * out.grad.value
            # --- end ---
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), 'tanh')

        def _backward():
            # --- backward: tanh ---
            # d(out)/d(self) = 1 - t ** 2;
            # multiply by out.grad and accumulate with +=
            self.grad += (1 - t ** 2) * out.grad.value
            # --- end ---
        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), 'ReLU')

        def _backward():
            # --- backward: relu ---
            # d(out)/d(self) = 1 if out.data > 0 else 0;
            # multiply by out.grad and accumulate with +=
            self.grad += (out.data > 0) * out.grad.value
            # --- end ---
        out._backward = _backward
        return out

    def backward(self):
        topo = []
        visited = set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)

        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1
