"""What a corpus engine deserves, found without the grader: the engine itself is run on every
hidden test's recorded graph, and its gradients are compared with central finite differences of
the graph's plain-maths forward.

Only the graphs come from the hidden suite (each test is called with a recorder instead of an
engine), on the values the grader draws for the engine (`own_instance`). The verdicts come from the engine's own `Value`, built and differentiated here in the
test process, and from this module's arithmetic. A test passes when:

- every node's data equals the plain-maths forward;
- after `root.backward()`, every gradient the test checks equals the finite difference;
- run again with its closures called in 32 other valid orders (children visited in the order
  they were made, reversed, and shuffled by fixed seeds; nodes told apart by identity), the
  engine still gives those gradients: an engine that is right only in the order it happens to
  visit nodes in does not pass, and the orders tried are the same in every process.
"""
from __future__ import annotations

import importlib
import json
import math
import random
import sys
import types
from pathlib import Path

from grader.checking.instance import PUBLISHED, Instances
from grader.grading.handin import load
from suite_cases import discover, display_name, weight

CORPUS = Path(__file__).with_name("corpus")
REL, ABS = 1e-4, 1e-6
ORDER_SEEDS = range(32)
CREATED: dict[int, int] = {}  # id of a node -> when it was made: orders that never depend on
_ALIVE: list = []             # addresses (a set's order), and the nodes kept so ids stay theirs


class Recorder:
    """Stands in for the grader's `engine` fixture: keeps the requests a hidden test makes, on
    the values of `instance` (a hand-in's own, as the grader draws them, or the published)."""

    def __init__(self, instance=PUBLISHED):
        self.requests = []
        self.instance = instance

    def forward(self, g, root):
        g = self.instance.vary(g, root.index)
        self.requests.append({"ops": [list(op) for op in g.ops], "root": root.index,
                              "backward": False, "wrt": []})

    def check(self, g, root, wrt=None):
        g = self.instance.vary(g, root.index)
        nodes = [n.index for n in wrt] if wrt else [i for i, op in enumerate(g.ops)
                                                    if op[0] == "leaf"]
        self.requests.append({"ops": [list(op) for op in g.ops], "root": root.index,
                              "backward": True, "wrt": nodes})


def hidden_tests(instance=PUBLISHED) -> list[dict]:
    """name, weight and recorded requests of every hidden test item, on `instance`'s values."""
    tests = []
    for _, func, kwargs in discover():
        recorder = Recorder(instance)
        func(recorder, **kwargs)
        tests.append({"name": display_name(func, kwargs), "weight": weight(func),
                      "requests": recorder.requests})
    return tests


# --- plain maths -------------------------------------------------------------------------------

def plain_forward(ops, override: dict | None = None) -> list[float]:
    values: list[float] = []
    for i, op in enumerate(ops):
        kind = op[0]
        arg = [a["c"] if isinstance(a, dict) else values[a] for a in operands(op)]
        if kind == "leaf":
            v = op[1]
        elif kind == "add":
            v = arg[0] + arg[1]
        elif kind == "sub":
            v = arg[0] - arg[1]
        elif kind == "mul":
            v = arg[0] * arg[1]
        elif kind == "div":
            v = arg[0] / arg[1]
        elif kind == "neg":
            v = -arg[0]
        elif kind == "pow":
            v = arg[0] ** op[2]
        elif kind == "tanh":
            v = math.tanh(arg[0])
        elif kind == "exp":
            v = math.exp(arg[0])
        elif kind == "relu":
            v = max(arg[0], 0.0)
        else:
            raise ValueError(kind)
        values.append(override[i] if override and i in override else v)
    return values


def operands(op: list) -> list:
    """A recorded op's inputs: node indices or {"c": number}; a power's exponent is not one."""
    return [] if op[0] == "leaf" else op[1:2] if op[0] == "pow" else op[1:]


def finite_difference(ops, root: int, node: int) -> float:
    """d root / d node, the node's value nudged with everything it depends on held fixed.

    Central differences, except where a relu sits exactly at its kink: there the derivative is
    taken from the left (0), the convention of micrograd and PyTorch."""
    base = plain_forward(ops)
    x = base[node]
    h = 1e-6 * max(1.0, abs(x))

    def f(v):
        return plain_forward(ops, {node: v})[root]
    at_kink = any(op[0] == "relu" and not isinstance(op[1], dict) and base[op[1]] == 0.0
                  for op in ops[:root + 1])
    if at_kink:
        return (f(x) - f(x - h)) / h
    return (f(x + h) - f(x - h)) / (2 * h)


def near(x, y) -> bool:
    return math.isclose(float(x), float(y), rel_tol=REL, abs_tol=ABS)


# --- the engine, run directly ------------------------------------------------------------------

def load_engine(path: Path) -> type:
    """The engine's `Value`: a .py run as a module, a notebook's code cells run in order in one
    namespace as Jupyter would (IPython-only lines blanked, a failing cell skipped). A module
    the manifest lists under `imports` that is not installed here is an empty module whose
    every attribute raises: the engine deserves what it earns without using it. An engine
    without a manifest (a mutant written on the fly) lists none."""
    listed = manifest(path) if path.with_suffix(".json").exists() else {}
    for name in listed.get("imports", []):
        absent(name)
    module = types.ModuleType(f"corpus_{path.stem}")
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    namespace = module.__dict__
    if path.suffix == ".ipynb":
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        sources = ["".join(c["source"]) for c in cells]
    else:
        sources = [path.read_text()]
    for source in sources:
        lines = ["" if line.lstrip().startswith(("%", "!")) else line
                 for line in source.splitlines()]
        try:
            exec(compile("\n".join(lines), str(path), "exec"), namespace)
        except Exception:
            if len(sources) == 1:
                raise
    return _tracked(namespace["Value"])


def absent(name: str) -> None:
    """`name` and the packages above it, as modules that fail when anything of them is used."""
    try:
        importlib.import_module(name)
        return
    except ImportError:
        pass
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        dotted = ".".join(parts[:i])
        if dotted not in sys.modules:
            stub = types.ModuleType(dotted)
            stub.__path__ = []

            def __getattr__(attr, dotted=dotted):
                raise AttributeError(f"{dotted} is not installed here: no {attr}")
            stub.__getattr__ = __getattr__
            sys.modules[dotted] = stub
            if i > 1:
                setattr(sys.modules[".".join(parts[:i - 1])], parts[i - 1], stub)


def _tracked(Value: type) -> type:
    """`Value` noting when each node is made, the engine's own inner nodes included."""
    init = Value.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        CREATED[id(self)] = len(_ALIVE)
        _ALIVE.append(self)
    Value.__init__ = __init__
    return Value


def build(Value, ops) -> list:
    nodes = []
    for op in ops:
        kind = op[0]
        arg = [a["c"] if isinstance(a, dict) else nodes[a] for a in operands(op)]
        if kind == "leaf":
            nodes.append(Value(op[1]))
        elif kind == "add":
            nodes.append(arg[0] + arg[1])
        elif kind == "sub":
            nodes.append(arg[0] - arg[1])
        elif kind == "mul":
            nodes.append(arg[0] * arg[1])
        elif kind == "div":
            nodes.append(arg[0] / arg[1])
        elif kind == "neg":
            nodes.append(-arg[0])
        elif kind == "pow":
            nodes.append(nodes[op[1]] ** op[2])
        else:
            nodes.append(getattr(arg[0], kind)())
    return nodes


def in_other_order(root, children: str, closure: str, seed: int) -> None:
    """Backpropagate by calling the engine's closures in a topological order of our own."""
    rng = random.Random(seed)
    order, seen = [], set()

    def visit(v):
        if id(v) in seen:
            return
        seen.add(id(v))
        kids = sorted(getattr(v, children), key=lambda c: CREATED.get(id(c), -1))
        if seed == 1:
            kids.reverse()
        elif seed > 1:
            rng.shuffle(kids)
        for c in kids:
            visit(c)
        order.append(v)
    visit(root)
    for v in order:
        v.grad = 0.0
    root.grad = 1.0
    for v in reversed(order):
        getattr(v, closure)()


def request_passes(Value, request: dict, manifest: dict) -> bool:
    ops, root = request["ops"], request["root"]
    CREATED.clear()
    _ALIVE.clear()
    expected = plain_forward(ops)
    try:
        nodes = build(Value, ops)
        if not all(near(n.data, x) for n, x in zip(nodes, expected)):
            return False
        if not request["backward"]:
            return True
        nodes[root].backward()
    except Exception:
        return False
    truth = {i: finite_difference(ops, root, i) for i in request["wrt"]}
    if not all(near(nodes[i].grad, d) for i, d in truth.items()):
        return False
    for seed in ORDER_SEEDS:
        nodes = build(Value, ops)
        in_other_order(nodes[root], manifest["children"], manifest["closure"], seed)
        if not all(near(nodes[i].grad, d) for i, d in truth.items()):
            return False
    return True


def engines() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix in (".py", ".ipynb"))


def manifest(engine: Path) -> dict:
    return json.loads(engine.with_suffix(".json").read_text())


def own_instance(engine: Path, instances: Instances = Instances()):
    """The instance the grader draws for this hand-in (its values only: verdicts come from
    here)."""
    return instances.of(load(engine).cells)


def expected(engine: Path, tests: list[dict]) -> dict[str, bool]:
    """test name -> whether the engine deserves its points."""
    Value = load_engine(engine)
    m = manifest(engine)
    return {t["name"]: all(request_passes(Value, r, m) for r in t["requests"]) for t in tests}
