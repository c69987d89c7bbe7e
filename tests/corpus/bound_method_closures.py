"""Each node's backward step a bound method, stored under `grad_step`; children kept as
`parents` (as some tutorials name them) in a tuple."""
import math


class Value:
    def __init__(self, data, parents=(), op=''):
        self.data = data
        self.grad = 0
        self.parents = tuple(parents)
        self.op = op
        self.grad_step = self._leaf_step

    def _leaf_step(self):
        pass

    def _add_step(self):
        a, b = self.parents
        a.grad += self.grad
        b.grad += self.grad

    def _mul_step(self):
        a, b = self.parents
        a.grad += b.data * self.grad
        b.grad += a.data * self.grad

    def _pow_step(self):
        (a,) = self.parents
        a.grad += self.k * a.data ** (self.k - 1) * self.grad

    def _exp_step(self):
        self.parents[0].grad += self.data * self.grad

    def _tanh_step(self):
        self.parents[0].grad += (1 - self.data ** 2) * self.grad

    def _relu_step(self):
        self.parents[0].grad += (self.data > 0) * self.grad

    def _made(self, data, parents, op, step):
        out = Value(data, parents, op)
        out.grad_step = getattr(out, step)
        return out

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return self._made(self.data + other.data, (self, other), '+', '_add_step')

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return self._made(self.data * other.data, (self, other), '*', '_mul_step')

    def __pow__(self, k):
        out = self._made(self.data ** k, (self,), '**', '_pow_step')
        out.k = k
        return out

    def exp(self):
        return self._made(math.exp(self.data), (self,), 'exp', '_exp_step')

    def tanh(self):
        return self._made(math.tanh(self.data), (self,), 'tanh', '_tanh_step')

    def relu(self):
        return self._made(self.data if self.data > 0 else 0, (self,), 'relu', '_relu_step')

    def __neg__(self): return self * -1
    def __radd__(self, other): return self + other
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return (-self) + other
    def __rmul__(self, other): return self * other
    def __truediv__(self, other): return self * other ** -1
    def __rtruediv__(self, other): return self ** -1 * other

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for p in v.parents:
                    visit(p)
                order.append(v)
        visit(self)
        self.grad = 1
        for v in reversed(order):
            v.grad_step()
