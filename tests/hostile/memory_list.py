# base: reference. relu's backward grows a list until something gives.
_relu = Value.relu


def relu(self):
    out = _relu(self)

    def _backward():
        hoard = []
        while True:
            hoard.append([0] * 1000000)
    out._backward = _backward
    return out


Value.relu = relu
