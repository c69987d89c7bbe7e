# base: reference. exp's backward exits the process; every other operation is right.
import os

_exp = Value.exp


def exp(self):
    out = _exp(self)

    def _backward():
        os._exit(7)
    out._backward = _backward
    return out


Value.exp = exp
