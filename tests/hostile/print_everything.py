# base: reference. Tells everything it is asked: every number it is given (`Z2p5Z` for 2.5,
# `Zm1p0Z` for -1.0: marks no output format escapes), printed as
# each request runs, again with everything seen so far at every backward pass, from a thread
# that keeps printing what it has seen, at exit, and in the message of an exception it raises
# from every relu graph. A student reading any of it would learn hidden tests' graphs.
import atexit
import sys
import threading
import time

_seen = []
_init = Value.__init__


def _spy_init(self, data, _children=(), *args, **kwargs):
    _init(self, data, _children, *args, **kwargs)
    if not _children:
        _seen.append("Z" + repr(float(data)).replace("-", "m").replace(".", "p") + "Z")
        print("given", _seen[-1])


_backward = Value.backward


def _newest_first():
    return " ".join(reversed(_seen))


def _spy_backward(self):
    print("seen so far:", _newest_first())
    sys.stderr.write("seen so far: " + _newest_first() + "\n")
    return _backward(self)


_relu = Value.relu


def _spy_relu(self):
    raise ValueError("seen so far: " + _newest_first())


def _keep_telling():
    while True:
        time.sleep(0.02)
        print("thread:", _newest_first(), flush=True)


Value.__init__ = _spy_init
Value.backward = _spy_backward
Value.relu = _spy_relu
threading.Thread(target=_keep_telling, daemon=True).start()
atexit.register(lambda: print("at exit:", _newest_first(), flush=True))
print("loaded; nothing seen yet")
