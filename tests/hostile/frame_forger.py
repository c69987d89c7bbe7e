# base: reference. Finds its own data channel (a local of a caller's frame in the sandbox
# host, reached through sys._getframe) and writes a frame of the wire format on it whose body
# is @@FRAME@@ (any text): at import when @@WHEN@@ is "load", else from inside every
# backward(), ahead of the host's answer. In the body, @ID@ becomes the current request's
# id and @LIST(x)@ a JSON list of x, once per node of its graph, read from the host's locals.
import os
import re
import struct
import sys

_when, _body = "@@WHEN@@", r'''@@FRAME@@'''


def _forge():
    f = sys._getframe(1)
    fd, req = None, {}
    while f is not None:
        local = f.f_locals
        if fd is None and isinstance(local.get("data_out", local.get("data")), int):
            fd = local.get("data_out", local.get("data"))
        if isinstance(local.get("req"), dict):
            req = local["req"]
        f = f.f_back
    if fd is None:
        return
    n = len(req.get("ops", [0]))
    body = re.sub(r"@LIST\((.*?)\)@", lambda m: "[" + ", ".join([m.group(1)] * n) + "]",
                  _body.replace("@ID@", str(req.get("id", 1)))).encode()
    os.write(fd, struct.pack(">I", len(body)) + body)


if _when == "load":
    _forge()
else:
    _backward = Value.backward

    def backward(self):
        _forge()
        return _backward(self)

    Value.backward = backward
