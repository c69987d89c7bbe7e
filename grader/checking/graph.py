"""A recorded computation graph: what a hidden test asks a hand-in to build.

Tests write ordinary arithmetic on `Node`s (`f = (a * b) * (a + b)`); the `Graph` keeps it as
plain data that crosses into the sandbox as JSON. The hand-in's own `Value` objects never cross
back: only floats do.
"""
from __future__ import annotations

Operand = "int | dict"  # a node index, or {"c": number} for a plain Python number


class Graph:
    def __init__(self):
        self.ops: list[list] = []
        self.labels: list[str] = []
        self.named: set[int] = set()  # nodes a test gave a name; the rest are shown as formulas
        self.ranges: dict[int, tuple[float, float]] = {}  # a leaf's own range (`Node.within`)

    def leaf(self, x: float, label: str = "") -> "Node":
        return self._add(["leaf", float(x)]).named(label or f"x{len(self.ops)}")

    def leaves(self, *xs: float, names: str = "abcdefghijklmnopqrstuvwxyz") -> list["Node"]:
        return [self.leaf(x, names[i]) for i, x in enumerate(xs)]

    def _add(self, op: list) -> "Node":
        self.ops.append(op)
        self.labels.append(f"n{len(self.ops) - 1}")
        return Node(self, len(self.ops) - 1)

    def with_ops(self, ops: list[list]) -> "Graph":
        """The same graph, names and all, with other values (`checking.instance`)."""
        g = Graph()
        g.ops, g.labels, g.named, g.ranges = ops, self.labels, self.named, self.ranges
        return g

    def request(self, root: "Node") -> dict:
        """The plain-data request the sandboxed hand-in answers."""
        return {"ops": self.ops, "root": root.index}

    def pruned(self, root: "Node") -> tuple["Graph", "Node"]:
        """The graph with only the leaves and the nodes `root` depends on: every node a test
        builds then shows in its program (a node built but not used would not be)."""
        needed, stack = set(), [root.index]
        while stack:
            i = stack.pop()
            if i not in needed:
                needed.add(i)
                stack += [self.ops[i][k] for k in _inputs(self.ops[i])]
        keep = [i for i, op in enumerate(self.ops) if op[0] == "leaf" or i in needed]
        new = {old: n for n, old in enumerate(keep)}
        g = Graph()
        for i in keep:
            op = list(self.ops[i])
            for k in _inputs(op):
                op[k] = new[op[k]]
            g.ops.append(op)
            g.labels.append(self.labels[i] if i in self.named else f"n{len(g.labels)}")
        g.named = {new[i] for i in self.named if i in new}
        return g, Node(g, new[root.index])

    def describe(self, index: int, shared: set[int] | None = None) -> str:
        """Readable formula of a node, in terms of leaves and earlier labelled nodes
        (`shared`: the graph's `shared()`, when the caller has it)."""
        if shared is None:
            shared = self.shared()
        op = self.ops[index]
        kind = op[0]
        if kind == "leaf":
            return self.labels[index]
        if kind == "pow":
            return f"{self._operand_text(op[1], shared)}**{_num(op[2])}"
        args = [self._operand_text(a, shared) for a in op[1:]]
        if kind in INFIX:
            return f"{args[0]} {INFIX[kind]} {args[1]}"
        if kind == "neg":
            return f"-{args[0]}"
        return f"{args[0]}.{kind}()"

    def _operand_text(self, a, shared: set[int]) -> str:
        if isinstance(a, dict):
            return _num(a["c"])
        if a in self.named or a in shared:
            return self.labels[a]
        return f"({self.describe(a, shared)})"

    def shared(self) -> set[int]:
        """Nodes that several operations take as input: the program gives each its own line,
        so that pasted, it builds one node used twice, as the test does, not two."""
        seen, twice = set(), set()
        for op in self.ops:
            for k in _inputs(op):
                (twice if op[k] in seen else seen).add(op[k])
        return twice

    def program(self, root: int | None = None, most: int | None = None) -> str:
        """The graph as lines a student can paste to reproduce it; beyond `most` lines, the
        middle of a long chain is left out (its lines are alike)."""
        lines, shared = [], self.shared()
        for i, op in enumerate(self.ops):
            if root is not None and i > root:
                break
            if op[0] == "leaf":
                lines.append(f"{self.labels[i]} = Value({_num(op[1])})")
            elif i in self.named or i == root or i in shared:
                lines.append(f"{self.labels[i]} = {self.describe(i, shared)}")
        if most is not None and len(lines) > most:
            head, tail = most * 2 // 3, most - most * 2 // 3 - 1
            lines = (lines[:head] + [f"# ... {len(lines) - head - tail} more lines like these"]
                     + lines[-tail:])
        return "\n".join(lines)


INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/"}


def _inputs(op: list) -> list[int]:
    """Positions in a recorded op that hold a node index (a power's exponent is a number)."""
    if op[0] == "leaf":
        return []
    if op[0] == "pow":
        return [1]
    return [k for k in range(1, len(op)) if isinstance(op[k], int)]


def _num(x: float) -> str:
    return repr(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


class Node:
    __slots__ = ("graph", "index")

    def __init__(self, graph: Graph, index: int):
        self.graph = graph
        self.index = index

    def named(self, label: str) -> "Node":
        self.graph.labels[self.index] = label
        self.graph.named.add(self.index)
        return self

    def within(self, low: float, high: float) -> "Node":
        """The range a hand-in's own instance draws this leaf from (see `checking.instance`);
        `within(x, x)` keeps it at x for everyone."""
        self.graph.ranges[self.index] = (float(low), float(high))
        return self

    @property
    def label(self) -> str:
        return self.graph.labels[self.index]

    def _operand(self, other):
        if isinstance(other, Node):
            if other.graph is not self.graph:
                raise ValueError("nodes of different graphs")
            return other.index
        if isinstance(other, (int, float)):
            return {"c": float(other)}
        return NotImplemented

    def _binary(self, kind, other, reflected=False):
        o = self._operand(other)
        if o is NotImplemented:
            return NotImplemented
        args = [o, self.index] if reflected else [self.index, o]
        return self.graph._add([kind, *args])

    def __add__(self, o): return self._binary("add", o)
    def __radd__(self, o): return self._binary("add", o, True)
    def __sub__(self, o): return self._binary("sub", o)
    def __rsub__(self, o): return self._binary("sub", o, True)
    def __mul__(self, o): return self._binary("mul", o)
    def __rmul__(self, o): return self._binary("mul", o, True)
    def __truediv__(self, o): return self._binary("div", o)
    def __rtruediv__(self, o): return self._binary("div", o, True)
    def __neg__(self): return self.graph._add(["neg", self.index])

    def __pow__(self, k):
        if not isinstance(k, (int, float)):
            return NotImplemented
        return self.graph._add(["pow", self.index, k])

    def tanh(self): return self.graph._add(["tanh", self.index])
    def relu(self): return self.graph._add(["relu", self.index])
    def exp(self): return self.graph._add(["exp", self.index])
