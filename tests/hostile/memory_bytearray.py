# base: reference. exp's backward asks for 4 GiB at once.
_exp = Value.exp


def exp(self):
    out = _exp(self)

    def _backward():
        x = bytearray(4 << 30)
        self.grad += out.data * out.grad + len(x)
    out._backward = _backward
    return out


Value.exp = exp
