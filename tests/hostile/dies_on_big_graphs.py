# base: reference. A right engine whose process ends on graphs of more than SIZE nodes (as a
# recursion too deep for the C stack would end it); every smaller graph is fine.
import os

_backward = Value.backward


def backward(self):
    seen, stack = set(), [self]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(v._prev)
    if len(seen) > SIZE:
        os._exit(1)
    _backward(self)


Value.backward = backward
