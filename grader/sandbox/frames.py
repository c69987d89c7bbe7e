"""What every frame from the sandbox must be, checked here before anything reads it.

A hand-in can write any bytes on its own data channel (it finds the descriptor the way the
host does), so nothing that comes back is trusted: each frame is one of the kinds in `FRAMES`,
told apart by a tag (a key only that kind has, with the value it must hold, if any), and must
match that kind's schema exactly: no key missing or unknown, every value of its type and
within its size. Numbers are doubles: a finite JSON number within the double range (no
integer too large for a float, no `NaN` or `Infinity` token), or one of the strings "nan",
"inf", "-inf" that the host writes for an engine's non-finite values. A frame that fails
raises `Invalid`, saying where, and is the hand-in's fault.

To add a frame (a new request's answer, say): one entry in `FRAMES` built from the schemas
below, then `check(frame, "yourkind", ...)` where the client reads it. A schema is a function
`(value, context) -> value` that raises `Invalid`; `context` carries what the request fixes
(how many nodes its graph has, its id, whether it asked for gradients).

Checking is cheap next to a round trip (see bench/frames.py): plain type tests, no library.
A schema library was measured here at ~50 ms to import and compile per `grader grade`, and
~6x the time per answer.
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable

from .wire import MAX_FRAME

DOUBLE_MAX = 1.7976931348623157e308
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
INT_MAX = 1 << 53  # ids, steps, line numbers, byte counts: exact in a double

Schema = Callable[[Any, dict], Any]


class Invalid(ValueError):
    """A frame that is not what its kind must be; the message says where and why."""


def _refuse_constant(name):
    raise Invalid(f"{name} is not a number in the grader's JSON (non-finite values are "
                  '"nan", "inf", "-inf")')


def parse(body: bytes):
    """A frame's body as strict JSON (no NaN or Infinity tokens); Invalid otherwise."""
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except Invalid:
        raise
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise Invalid(f"not JSON ({type(e).__name__})") from None


# ---------------------------------------------------------------- schemas

def _name(x) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "object", type(None): "null"}.get(type(x), type(x).__name__)


def text(most: int) -> Schema:
    def schema(x, ctx):
        if type(x) is not str:
            raise Invalid(f"{a(_name(x))}, not a string")
        if len(x) > most:
            raise Invalid(f"a string of {len(x)} characters (at most {most})")
        return x
    return schema


def integer(low: int = 0, high: int = INT_MAX) -> Schema:
    def schema(x, ctx):
        if type(x) is not int:
            raise Invalid(f"{a(_name(x))}, not an integer")
        if not low <= x <= high:
            raise Invalid(f"{x if abs(x) < 10 ** 20 else 'an integer'} is outside "
                          f"[{low}, {high}]")
        return x
    return schema


def boolean(x, ctx):
    if type(x) is not bool:
        raise Invalid(f"{a(_name(x))}, not true or false")
    return x


def const(value) -> Schema:
    def schema(x, ctx):
        if type(x) is not type(value) or x != value:
            raise Invalid(f"not {json.dumps(value)}")
        return x
    return schema


def nullable(inner: Schema) -> Schema:
    def schema(x, ctx):
        return None if x is None else inner(x, ctx)
    return schema


def one_of(*values: str) -> Schema:
    def schema(x, ctx):
        if type(x) is not str or x not in values:
            raise Invalid(f"not one of {', '.join(values)}")
        return x
    return schema


def listof(item: Schema, most: int) -> Schema:
    def schema(x, ctx):
        if type(x) is not list:
            raise Invalid(f"{a(_name(x))}, not a list")
        if len(x) > most:
            raise Invalid(f"a list of {len(x)} (at most {most})")
        out = []
        for i, v in enumerate(x):
            try:
                out.append(item(v, ctx))
            except Invalid as e:
                raise Invalid(f"[{i}]: {e}") from None
        return out
    return schema


def mapping(key: Schema, value: Schema, most: int) -> Schema:
    def schema(x, ctx):
        if type(x) is not dict:
            raise Invalid(f"{a(_name(x))}, not an object")
        if len(x) > most:
            raise Invalid(f"an object of {len(x)} keys (at most {most})")
        out = {}
        for k, v in x.items():
            try:
                out[key(k, ctx)] = value(v, ctx)
            except Invalid as e:
                raise Invalid(f"{k[:40]!r}: {e}") from None
        return out
    return schema


def record(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object with exactly these keys (`optional` ones may be left out)."""
    optional = optional or {}
    fields = {**required, **optional}

    def schema(x, ctx):
        if type(x) is not dict:
            raise Invalid(f"{a(_name(x))}, not an object")
        missing = [k for k in required if k not in x]
        if missing:
            raise Invalid(f"no {missing[0]!r}")
        out = {}
        for k, v in x.items():
            check_field = fields.get(k)
            if check_field is None:
                raise Invalid(f"an unknown key {str(k)[:40]!r}")
            try:
                out[k] = check_field(v, ctx)
            except Invalid as e:
                raise Invalid(f"{k}: {e}") from None
        return out
    return schema


def either(**kinds: Schema) -> Schema:
    """One of several records, chosen by which of these keys it has (the first found)."""
    def schema(x, ctx):
        if type(x) is dict:
            for key, inner in kinds.items():
                if key in x:
                    return inner(x, ctx)
        raise Invalid(f"none of {', '.join(kinds)}")
    return schema


def double(x, ctx=None) -> float:
    """One of an engine's values: see the module's doc."""
    if type(x) is float and -DOUBLE_MAX <= x <= DOUBLE_MAX:
        return x
    if type(x) is int and -DOUBLE_MAX <= x <= DOUBLE_MAX:
        return float(x)
    if type(x) is str and x in NON_FINITE:
        return NON_FINITE[x]
    raise Invalid("not a number" if type(x) is not int else "an integer too large for a float")


def doubles(length: str, unless: str | None = None) -> Schema:
    """A list of `context[length]` doubles; null instead when `context[unless]` is false."""
    def schema(x, ctx):
        if unless is not None and not ctx[unless]:
            if x is not None:
                raise Invalid("values that were not asked for")
            return None
        n = ctx[length]
        if type(x) is not list or len(x) != n:
            raise Invalid(f"not a list of {n} numbers")
        # the common case in one pass: plain finite floats
        if all(type(v) is float and -DOUBLE_MAX <= v <= DOUBLE_MAX for v in x):
            return x
        out = []
        for i, v in enumerate(x):
            try:
                out.append(double(v))
            except Invalid as e:
                raise Invalid(f"[{i}]: {e}") from None
        return out
    return schema


def equals(name: str) -> Schema:
    """The value the request fixed as `context[name]` (an answer's id)."""
    def schema(x, ctx):
        if type(x) is not int or x != ctx[name]:
            raise Invalid(f"not {ctx[name]}")
        return x
    return schema


# ---------------------------------------------------------------- the frames

WHERE = record({"file": text(4096)}, {"line": nullable(integer()), "column": nullable(integer())})
ERROR = record({"type": text(200), "message": text(2000), "phase": one_of(
    "load", "forward", "backward", "read"), "step": nullable(integer()), "where": nullable(WHERE),
    "qualname": text(1000)})
REPLAY = record({"grad": nullable(doubles("nodes")), "closure": text(4000), "error": text(4000)},
                {"line": nullable(integer())})
CLASS = record({"name": text(80), "backward": boolean})


class Frame:
    """One kind of frame: what it is called in a message, its tag (a key only it has, and the
    value that key must hold, if one) and its schema."""

    def __init__(self, what: str, tag: str, schema: Schema, value=None):
        self.what, self.tag, self.schema, self.value = what, tag, schema, value

    def is_tagged(self, frame) -> bool:
        return type(frame) is dict and self.tag in frame and (
            self.value is None or frame[self.tag] == self.value)


FRAMES: dict[str, Frame] = {
    # host -> trusted side, on the control socket
    "ready": Frame("ready event", "event", record({
        "event": const("ready"), "python": text(40),
        "layers": mapping(text(40), nullable(text(1000)), 40)}), "ready"),
    "ended": Frame("ended event", "event", record({
        "event": const("ended"), "killed": boolean, "code": nullable(integer(0, 255)),
        "signal": nullable(integer(1, 128)), "output": text(MAX_FRAME),
        "dropped": integer()}), "ended"),
    "output": Frame("output event", "event", record({
        "event": const("output"), "output": text(MAX_FRAME), "dropped": integer()}), "output"),
    "failed": Frame("failure of the host", "event", record({
        "event": const("failed"), "error": text(300)}), "failed"),
    # a hand-in's process -> trusted side, on its data channel
    "load": Frame("load report", "loaded", either(loaded=record(
        {"loaded": boolean, "cell_errors": listof(ERROR, 10000)},
        {"value": nullable(text(200)), "classes": listof(CLASS, 50), "printed": boolean}))),
    "exited": Frame("exit notice", "exited", record({"exited": const(True), "code": text(100)})),
    "answer": Frame("answer", "id", either(
        error=record({"id": equals("id"), "error": ERROR}, {"printed": boolean}),
        data=record({"id": equals("id"), "data": doubles("nodes"),
                     "grad": doubles("nodes", unless="backward")},
                    # what the hand-in's own closures gave, run by the host from the root
                    # (a request with "replay": true; see checking/backprop.py)
                    {"replay": REPLAY, "printed": boolean}))),
}


def check(frame, *kinds: str, **context):
    """(kind, frame) for the first of `kinds` whose tag `frame` has, checked against that
    kind's schema with `context`; Invalid if it has none of their tags or does not match."""
    for kind in kinds:
        spec = FRAMES[kind]
        if spec.is_tagged(frame):
            try:
                return kind, spec.schema(frame, context)
            except Invalid as e:
                raise Invalid(f"{a(spec.what)} whose {e}") from None
    raise Invalid(a(_name(frame)) + (" without any of the keys it must have"
                                      if type(frame) is dict else ""))


def a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun
