# base: reference. tanh's backward never returns.
_tanh = Value.tanh


def tanh(self):
    out = _tanh(self)

    def _backward():
        while True:
            pass
    out._backward = _backward
    return out


Value.tanh = tanh
