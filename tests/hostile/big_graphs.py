# base: reference. A right engine but on graphs of more than SIZE nodes, where backward() runs
# FAIL instead: `time.sleep(60)` (slow, as a sort that were quadratic or worse would be) or
# `os._exit(1)` (its process ends, as a recursion too deep for the C stack would end it). The
# test sets SIZE and FAIL.
import os  # noqa: F401
import time  # noqa: F401

_backward = Value.backward


def backward(self):
    seen, stack = set(), [self]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(v._prev)
    if len(seen) > SIZE:
        FAIL
    _backward(self)


Value.backward = backward
