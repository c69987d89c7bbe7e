"""Each hand-in's own instance of the hidden tests: the values its graphs are built from.

The suite writes every graph with its published values (`g.leaves(1.5, -4.0)`). A hand-in is
graded on values drawn from a seed made from its own content and the course secret (HMAC), so
the feedback one hand-in gets (the graphs, the expected gradients) answers no other hand-in's
tests, and the same file gets the same values, and the same bytes out, every time.

A leaf keeps its sign and is drawn within half to one and a half times its published magnitude
(or the range the test gave it with `Node.within`), to three significant digits; a published 0
stays exactly 0 (ReLU's kink). A draw is kept only if the graph still serves the test's
purpose, checked against the published graph: every node keeps its sign (zero stays zero), and
so does every gradient; a ReLU input stays at least half as far from 0, a divisor at least half
as large, a tanh input out of saturation (|x| <= 2, or its published size), every value within
reach (|x| <= 100, or 4 times its published size); no nodes become equal that were not.
Otherwise the next draw is tried, and after `TRIES` the published values are used (the kit's
tests check that this never happens, and that every misconception's wrong answer still differs
from the right one on the kit's buggy engines).
"""
from __future__ import annotations

import hashlib
import hmac
import math
import random
from dataclasses import dataclass

from . import model
from .graph import Graph

DEFAULT_SECRET = "backprop-grader: no course secret"  # public: see the README
TRIES = 64
SPREAD = (0.5, 1.5)  # a leaf's magnitude, times its published one


@dataclass(frozen=True)
class Instances:
    """How a run draws each hand-in's values: from the course secret, or the published ones."""
    secret: str = DEFAULT_SECRET
    published: bool = False

    def of(self, cells: list[dict]) -> "Instance":
        """The instance of a hand-in, from its code (each cell's source, in order)."""
        if self.published:
            return PUBLISHED
        content = "\0".join(c["source"] for c in cells).encode("utf-8", "surrogatepass")
        digest = hmac.new(self.secret.encode(), content, hashlib.sha256).hexdigest()
        return Instance(digest[:32])

    def fingerprint(self) -> str:
        """Which values a run grades on, without the secret: what `--resume` compares."""
        if self.published:
            return "published"
        return "own:" + hashlib.sha256(self.secret.encode()).hexdigest()[:16]

    def record(self, instance: "Instance") -> dict:
        """What a result's `extra_data.instance` says about the values it was graded on."""
        if instance.seed is None:
            return {"values": "published"}
        return {"values": "own", "seed": instance.seed,
                "secret": "default" if self.secret == DEFAULT_SECRET else "course file"}


@dataclass(frozen=True)
class Instance:
    seed: str | None  # None: the values written in the suite

    def vary(self, g: Graph, root: int) -> Graph:
        """`g` with this instance's leaf values (`g` itself under published values)."""
        if self.seed is None:
            return g
        published = model.evaluate(g.ops, root)  # the same for every hand-in: memoised
        rng = random.Random(_number(self.seed, repr(g.ops)))
        for _ in range(TRIES):
            ops = [["leaf", _draw(rng, op[1], g.ranges.get(i))] if op[0] == "leaf" else op
                   for i, op in enumerate(g.ops)]
            if _keeps_purpose(ops, root, published):
                return g.with_ops(ops)
        return g


PUBLISHED = Instance(None)


def _number(seed: str, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}\0{name}".encode()).digest()[:16], "big")


def _draw(rng: random.Random, x: float, within) -> float:
    if within is not None:
        lo, hi = within
        return lo if lo == hi else _round(rng.uniform(lo, hi))
    if x == 0:
        return 0.0
    while True:  # never the published value itself
        v = _round(math.copysign(abs(x) * rng.uniform(*SPREAD), x))
        if v != x:
            return v


def _round(x: float) -> float:
    return float(f"{x:.3g}") + 0.0  # three significant digits, shown as a student types them


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _keeps_purpose(ops: list, root: int, published) -> bool:
    pdata, pgrad = published
    data, grad = model.evaluate(ops, root)
    seen: dict[float, float] = {}  # instance data -> published data
    for i in range(root + 1):
        x, p, dx, dp = data[i], pdata[i], grad[i], pgrad[i]
        if not (math.isfinite(x) and math.isfinite(dx)):
            return False
        if _sign(x) != _sign(p) or _sign(dx) != _sign(dp):
            return False
        if abs(x) > max(100.0, 4 * abs(p)) or abs(dx) > max(100.0, 4 * abs(dp)):
            return False
        if seen.setdefault(x, p) != p:  # no nodes become equal that were not
            return False
        op = ops[i]
        for j, role in _inputs(op):
            if role == "relu" and abs(data[j]) < 0.5 * abs(pdata[j]):
                return False
            if role == "div" and abs(data[j]) < 0.5 * abs(pdata[j]):
                return False
            if role == "tanh" and abs(data[j]) > max(2.0, abs(pdata[j])):
                return False
    return True


def _inputs(op: list):
    """(node index, what it is to this op) for the inputs whose size matters."""
    kind = op[0]
    if kind in ("relu", "tanh") and isinstance(op[1], int):
        yield op[1], kind
    elif kind == "div" and isinstance(op[2], int):
        yield op[2], "div"
