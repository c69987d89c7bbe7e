"""The trusted side's reading of what comes from the sandbox, fuzzed: any JSON value of any size
for every kind of frame, frames cut anywhere and channels closed mid-frame. Reading either
gives a frame that matches its schema or says why not; it never raises anything else."""
from __future__ import annotations

import json
import math
import socket
import time

from hypothesis import HealthCheck, given, settings, strategies as st

from grader.sandbox import frames
from grader.sandbox.client import Garbage, _Channel
from grader.sandbox.host import HEADER, MAX_FRAME, as_float

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
CONTEXT = {"id": 3, "nodes": 2, "backward": True}

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10 ** 400),
                                                          max_value=10 ** 400),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
                    st.sampled_from(["nan", "inf", "-inf", "loaded", "ready", "ended"]))
keys = st.one_of(st.sampled_from(["loaded", "cell_errors", "value", "classes", "id", "data",
                                  "grad", "error", "type", "message", "phase", "step", "where",
                                  "qualname", "file", "line", "column", "event", "python",
                                  "layers", "killed", "code", "signal", "output", "dropped",
                                  "exited", "name", "backward"]), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=8)), max_leaves=40)


def _checked(value, kind):
    try:
        got = frames.check(value, kind, **CONTEXT)
    except frames.Invalid as e:
        assert str(e)
        return None
    assert got[0] == kind
    return got[1]


@SETTINGS
@given(value=values, kind=st.sampled_from(sorted(frames.FRAMES)))
def test_any_json_value_is_a_frame_or_invalid(value, kind):
    _checked(value, kind)


ERROR = st.fixed_dictionaries({
    "type": st.text(max_size=20), "message": st.text(max_size=50),
    "phase": st.sampled_from(["load", "forward", "backward", "read"]),
    "step": st.none() | st.integers(0, 50), "qualname": st.text(max_size=20),
    "where": st.none() | st.fixed_dictionaries(
        {"file": st.text(max_size=20)}, optional={"line": st.integers(0, 10 ** 6)})})


@SETTINGS
@given(data=st.lists(st.floats(), min_size=2, max_size=2),
       grad=st.lists(st.floats(), min_size=2, max_size=2), error=ERROR,
       mutate=st.sampled_from(["none", "drop", "extra", "retype"]), key=st.sampled_from(
           ["id", "data", "grad"]))
def test_answers_as_the_host_writes_them_pass_and_any_change_does_not(data, grad, error,
                                                                      mutate, key):
    """An answer the host writes (through its own JSON and `as_float`) reads back as the same
    numbers, NaN and infinities included; one with a key dropped, added or retyped does not."""
    frame = json.loads(json.dumps({"id": 3, "data": [as_float(x) for x in data],
                                   "grad": [as_float(x) for x in grad]}))
    if mutate == "drop":
        del frame[key]
    elif mutate == "extra":
        frame["score"] = 1
    elif mutate == "retype":
        frame[key] = str(frame[key])
    got = _checked(frame, "answer")
    if mutate != "none":
        assert got is None
        return
    for sent, back in zip(data + grad, got["data"] + got["grad"]):
        assert type(back) is float
        assert (math.isnan(sent) and math.isnan(back)) or sent == back
    assert _checked(json.loads(json.dumps({"id": 3, "error": error})), "answer") is not None


def _frame(body: bytes) -> bytes:
    return HEADER.pack(len(body)) + body


chunks = st.one_of(
    values.map(lambda v: _frame(json.dumps(v).encode())),
    st.binary(max_size=40).map(_frame),                       # bodies that are not JSON
    st.sampled_from([_frame(b'{"id": NaN}'), _frame(b"[1e999]"), _frame(b"\xff\xfe"),
                     _frame(b"[" * 100_000 + b"]" * 100_000),  # nested beyond any parser
                     HEADER.pack(MAX_FRAME + 1) + b"{}",     # a size over the limit
                     HEADER.pack(1 << 32 - 1)]),
    st.binary(max_size=10))                                   # loose bytes: cut frames


@SETTINGS
@given(parts=st.lists(chunks, max_size=6), cut=st.integers(0, 64), close=st.booleans())
def test_a_channel_read_any_way_gives_frames_garbage_or_its_end(parts, cut, close):
    """Frames of every kind and shape, in any order, sent in pieces of any size, the sender
    closing its end (mid-frame, perhaps) or falling silent: each read gives a frame, Garbage,
    the end of the channel or a timeout, and the frames are checked or refused."""
    mine, theirs = socket.socketpair()
    try:
        data = b"".join(parts)
        step = max(cut, 1)
        theirs.setblocking(False)
        sent = 0
        for i in range(0, len(data), step):
            try:
                sent += theirs.send(data[i:i + step])
            except BlockingIOError:
                break
        if close:
            theirs.close()
        channel = _Channel(mine)
        for _ in range(len(parts) + 2):
            got, frame = channel.read(time.monotonic() + 0.01)
            assert got in ("self", "eof", "timeout")
            if got != "self":
                break
            if not isinstance(frame, Garbage):
                for kind in frames.FRAMES:
                    _checked(frame, kind)
    finally:
        mine.close()
        if not close:
            theirs.close()
