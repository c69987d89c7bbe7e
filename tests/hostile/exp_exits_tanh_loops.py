# base: reference. Two different operations end badly: exp's backward exits the process, tanh's
# never returns; every other operation is right.
import os

_exp, _tanh = Value.exp, Value.tanh


def exp(self):
    out = _exp(self)

    def _backward():
        os._exit(7)
    out._backward = _backward
    return out


def tanh(self):
    out = _tanh(self)

    def _backward():
        while True:
            pass
    out._backward = _backward
    return out


Value.exp, Value.tanh = exp, tanh
