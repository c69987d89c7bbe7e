# `Value` is a factory function returning nodes of another class.
import math


class Node:
    def __init__(self, data, children=()):
        self.data, self.grad, self._prev = data, 0.0, children
        self._backward = lambda: None

    def tanh(self):
        out = Node(math.tanh(self.data), (self,))

        def _backward():
            self.grad += (1 - out.data ** 2) * out.grad
        out._backward = _backward
        return out


def Value(data):
    return Node(data)
