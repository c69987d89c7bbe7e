# base: reference. backward() touches memory until something gives, in every test that calls it.


def backward(self):
    hoard = []
    while True:
        hoard.append(bytearray(1 << 24))
        hoard[-1][::4096] = b"x" * (1 << 12)  # every page written, so it is really held


Value.backward = backward
