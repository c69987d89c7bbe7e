"""Gradients must come from backpropagation: the engine's own closures, run from the root.

With each graph a test asks about, the sandbox host also builds the graph a second time and runs
the nodes' backward closures itself (`replay` in sandbox/host.py): the root's gradient set to 1,
then each node's closure, whatever its name or form (a nested function, a lambda,
`functools.partial`, a bound method, a method of the class named like `_backward`), parents
before children along the children the nodes hold (in any attribute, as a set, list or tuple).
`backward()` is not called. A test whose gradients were right passes only if that run gives
them too. An engine whose `backward()` finds its gradients another way (finite differences,
complex step, symbolic differentiation, a table of answers) gets them from no closure, so the
run gives something else (zeros, where it has no closures), and the test fails saying so.
"""
from __future__ import annotations

import math

from .graph import Graph, _num

ID = "not-backprop"


def unconfirmed(g: Graph, nodes: list[int], answer: dict) -> list[str]:
    """What was seen, in sentences, when the (right) gradients `backward()` reported are not
    those the engine's own closures give when run from the root; [] when they are."""
    found = answer.get("replay")
    if found is None:  # an asker that does not replay (the reference model itself, in tests);
        return []      # the sandbox always does (`sandbox.client` refuses an answer without)
    if found["error"]:
        at = f" (line {found['line']})" if found.get("line") else ""
        return [f"Your backward() gave the right gradients, but running your nodes' backward "
                f"closures from the root, as backpropagation does, failed: {found['error']}"
                f"{at}. Gradients must come from those closures."]
    got, replayed = answer["grad"], found["grad"]
    differ = [i for i in nodes if not _same(got[i], replayed[i])]
    if not differ:
        return []
    shown = ", ".join(f"{g.labels[i]}.grad = {_fmt(replayed[i])}" for i in differ[:4])
    told = ", ".join(f"{g.labels[i]}.grad = {_fmt(got[i])}" for i in differ[:4])
    if not found["closure"]:
        how = ("no node of the graph holds a backward closure (a function such as `_backward` "
               "that backward() calls for each node), so running them from the root gives "
               f"{shown}")
    else:
        how = (f"running each node's own backward closure (`{found['closure']}`) from the root "
               f"gives {shown}")
    return [f"Your backward() reported {told}, but {how}.",
            "These gradients were not produced by backpropagation through your closures "
            "(numerical, complex-step or symbolic differentiation, or a table of answers, earn "
            "no gradient points)."]


def _same(x: float, y: float) -> bool:
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9)


def _fmt(x: float) -> str:
    return _num(round(x, 6)) if math.isfinite(x) and abs(x) < 1e12 else repr(x)
