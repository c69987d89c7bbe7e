# base: stub. A `Value` with no backward closures at all: it records the expression (each
# node's operation and children), and backward() differentiates it numerically by the complex
# step, d root/d v = Im(root(v + ih)) / h, for every node v. Its gradients are right to 1e-15.
import cmath


class Value:
    def __init__(self, data, _children=(), _op='', k=None):
        self.data = data
        self.grad = 0.0
        self._prev = tuple(_children)
        self._op = _op
        self._k = k

    def _wrap(self, o):
        return o if isinstance(o, Value) else Value(o)

    def __add__(self, o):
        o = self._wrap(o)
        return Value(self.data + o.data, (self, o), '+')

    def __mul__(self, o):
        o = self._wrap(o)
        return Value(self.data * o.data, (self, o), '*')

    def __pow__(self, k):
        return Value(self.data ** k, (self,), '**', k)

    def exp(self):
        return Value(cmath.exp(self.data).real, (self,), 'exp')

    def tanh(self):
        return Value(cmath.tanh(self.data).real, (self,), 'tanh')

    def relu(self):
        return Value(self.data if self.data > 0 else 0.0, (self,), 'relu')

    def __neg__(self): return self * -1
    def __sub__(self, o): return self + (-self._wrap(o))
    def __truediv__(self, o): return self * self._wrap(o) ** -1
    def __radd__(self, o): return self + o
    def __rmul__(self, o): return self * o
    def __rsub__(self, o): return (-self) + o
    def __rtruediv__(self, o): return self ** -1 * o

    @staticmethod
    def _apply(op, k, xs):
        if op == '+':
            return xs[0] + xs[1]
        if op == '*':
            return xs[0] * xs[1]
        if op == '**':
            return xs[0] ** k
        if op == 'exp':
            return cmath.exp(xs[0])
        if op == 'tanh':
            return cmath.tanh(xs[0])
        if op == 'relu':
            return xs[0] if xs[0].real > 0 else 0.0
        return xs[0]

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if id(v) not in seen:
                seen.add(id(v))
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)
        h = 1e-30
        for v in topo:
            values = {}
            for u in topo:
                if u is v:
                    values[id(u)] = u.data + 1j * h
                elif not u._prev:
                    values[id(u)] = complex(u.data)
                else:
                    values[id(u)] = Value._apply(u._op, u._k, [values[id(c)] for c in u._prev])
            v.grad = values[id(self)].imag / h
