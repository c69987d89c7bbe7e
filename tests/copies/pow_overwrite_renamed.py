# my engine
import math


class Value:

    def __init__(node, data, _children=(), _op='', label=''):
        node.data = data
        node.grad = 0.0
        node._grad_step = lambda: None
        node._prev = set(_children)
        node._op = _op
        node.label = label

    def __repr__(node):
        return f"Value(data={node.data})"

    def __add__(node, b):
        b = b if isinstance(b, Value) else Value(b)
        result = Value(node.data + b.data, (node, b), '+')

        def _grad_step():
            node.grad += 1.0 * result.grad
            b.grad += 1.0 * result.grad
        result._grad_step = _grad_step
        return result

    def __mul__(node, b):
        b = b if isinstance(b, Value) else Value(b)
        result = Value(node.data * b.data, (node, b), '*')

        def _grad_step():
            node.grad += b.data * result.grad
            b.grad += node.data * result.grad
        result._grad_step = _grad_step
        return result

    def tanh(node):
        n = node.data
        t = (math.exp(2 * n) - 1) / (math.exp(2 * n) + 1)
        result = Value(t, (node,), 'tanh')

        def _grad_step():
            node.grad += (1 - t ** 2) * result.grad
        result._grad_step = _grad_step
        return result

    def exp(node):
        result = Value(math.exp(node.data), (node,), 'exp')

        def _grad_step():
            node.grad += result.data * result.grad
        result._grad_step = _grad_step
        return result

    def relu(node):
        result = Value(0.0 if node.data < 0 else node.data, (node,), 'ReLU')

        def _grad_step():
            node.grad += (result.data > 0) * result.grad
        result._grad_step = _grad_step
        return result

    def __pow__(node, b):
        assert isinstance(b, (int, float))
        result = Value(node.data ** b, (node,), f'**{b}')

        def _grad_step():
            node.grad = b * (node.data ** (b - 1)) * result.grad
        result._grad_step = _grad_step
        return result

    def __radd__(node, b):
        return node + b

    def __rmul__(node, b):
        return node * b

    def __neg__(node):
        return node * -1

    def __sub__(node, b):
        return node + (-b)

    def __rsub__(node, b):
        return b + (-node)

    def __truediv__(node, b):
        return node * b ** -1

    def __rtruediv__(node, b):
        return b * node ** -1

    def backward(node):
        topo = []
        visited = set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(node)
        node.grad = 1.0
        for node in reversed(topo):
            node._grad_step()
