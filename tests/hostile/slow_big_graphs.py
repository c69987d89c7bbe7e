# base: reference. A right engine, but slow: backward() on a graph of more than SIZE nodes takes
# a minute (as a sort that were quadratic, or worse, would). SIZE is set by the test.
import time

_backward = Value.backward


def backward(self):
    seen, stack = set(), [self]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(v._prev)
    if len(seen) > SIZE:
        time.sleep(60)
    _backward(self)


Value.backward = backward
