# submitted by: (renamed)
import math


class Value:
    """Value with grad."""

    def __init__(s, data, parents=(), _op='', nm=''):
        s.data = data
        s.grad = 0.0
        s.grad_fn = lambda: None
        s.parents = list(parents)
        s._op = _op
        s.nm = nm

    def backward(s):
        ordering, done = [], set()

        def dfs(node):
            if node not in done:
                done.add(node)
                for c in node.parents:
                    dfs(c)
                ordering.append(node)
        dfs(s)
        s.grad = 1.0
        for node in reversed(ordering):
            node.grad_fn()

    def relu(s):
        y = Value(max(s.data, 0.0), [s], 'relu')

        def grad_fn():
            # d/dx, times the grad from above
            if s.data >= 0:
                s.grad += y.grad
        y.grad_fn = grad_fn
        return y

    def tanh(s):
        x = s.data
        t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
        y = Value(t, [s], 'tanh')

        def grad_fn():
            # d/dx, times the grad from above
            s.grad += (1 - x ** 2) * y.grad
        y.grad_fn = grad_fn
        return y

    def __mul__(s, o):
        o = o if isinstance(o, Value) else Value(o)
        y = Value(s.data * o.data, [s, o], '*')

        def grad_fn():
            # d/dx, times the grad from above
            s.grad += o.data * y.grad
            o.grad += s.data * y.grad
        y.grad_fn = grad_fn
        return y

    def __rmul__(s, o):
        return s * o

    def __add__(s, o):
        o = o if isinstance(o, Value) else Value(o)
        y = Value(s.data + o.data, [s, o], '+')

        def grad_fn():
            # d/dx, times the grad from above
            s.grad = y.grad
            o.grad = y.grad
        y.grad_fn = grad_fn
        return y

    def __radd__(s, o):
        return s + o

    def __repr__(s):
        name = f"{s.nm}=" if s.nm else ""
        return f"Value({name}{s.data:.4f})"

    def __neg__(s):
        return s * -1

    def __sub__(s, o):
        return s + (-o)

    def __rsub__(s, o):
        return -s + o

    def __pow__(s, n):
        y = Value(s.data ** n, [s], f'^{n}')

        def grad_fn():
            # d/dx, times the grad from above
            s.grad += n * (s.data ** (n - 1)) * y.grad
        y.grad_fn = grad_fn
        return y

    def __truediv__(s, o):
        return s * o ** -1

    def __rtruediv__(s, o):
        return o * s ** -1

    def exp(s):
        e = math.exp(s.data)
        y = Value(e, [s], 'exp')

        def grad_fn():
            # d/dx, times the grad from above
            s.grad += e * y.grad
        y.grad_fn = grad_fn
        return y
