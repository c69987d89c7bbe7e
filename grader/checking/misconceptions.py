"""What a wrong answer means, in words a student understands.

Ids that name a closure bug (`add-overwrite`, `tanh-from-input`, ...) are also bugs the reference
model can run (`model.py`): a hand-in whose gradients equal that model's shows that
misconception. The others are recognised from how the hand-in failed: the exception it raised
(`missing-tanh`, `missing-__rsub__`, `plain-numbers`, `unhashable`), or what it did to graphs
built to tell them apart (`identity-by-value`).
"""

OPS = ("add", "mul", "pow", "exp", "tanh", "relu")

_LOCAL = {
    "add": "1 for both operands",
    "mul": "the other operand's data",
    "pow": "n * x**(n-1)",
    "exp": "the output's data (exp is its own derivative)",
    "tanh": "1 - t**2 with t the output",
    "relu": "1 where the input is above 0, else 0",
}

TEXT = {}
for _op in OPS:
    TEXT[f"{_op}-overwrite"] = (
        f"Overwritten instead of accumulated in `{_op}`'s backward: a value used on more than "
        f"one path must receive the sum of every path's gradient. Use `+=`, not `=`."
    )
    TEXT[f"{_op}-no-outgrad"] = (
        f"Missing chain-rule factor in `{_op}`'s backward: the local derivative "
        f"({_LOCAL[_op]}) must be multiplied by `out.grad`, the gradient flowing in from above."
    )
UNARY = ("pow", "exp", "tanh", "relu")  # operations with one `Value` input
BINARY = ("add", "mul")
for _op in BINARY:
    for _side, _other in (("self", "other"), ("other", "self")):
        TEXT[f"{_op}-overwrite-{_side}"] = (
            f"Overwritten instead of accumulated in `{_op}`'s backward, for one operand: "
            f"`{_side}.grad = ...` where `{_other}.grad` rightly adds. A value used on more "
            f"than one path must receive the sum of every path's gradient. Use `+=`, not `=`."
        )
CALL = {"add": "a + b", "mul": "a * b", "pow": "a ** n", "exp": "a.exp()", "tanh": "a.tanh()",
        "relu": "a.relu()"}
for _op in UNARY:
    TEXT[f"{_op}-closure-on-input"] = (
        f"`{_op}` stores its closure on its input (`self._backward = _backward`) instead of "
        f"on its output (`out._backward = _backward`): it replaces the input's own closure, "
        f"so gradient stops there when the input was computed, and of two `{_op}`s of one "
        f"input only the last one made counts."
    )
for _op in OPS:
    TEXT[f"{_op}-closure-in-grad"] = (
        f"`{_op}` stores its closure in the output's gradient (`out.grad = _backward`): "
        f"`.grad` must stay a number, and the closure belongs in `out._backward`."
    )
    TEXT[f"{_op}-returns-none"] = (
        f"`{CALL[_op]}` returned `None`: the method builds `out` but does not "
        f"`return out`."
    )
    TEXT[f"{_op}-number-in-children"] = (
        f"`{_op}` puts a plain number among its output's children, so `backward()` meets a "
        f"number where it expects a `Value`: keep only `Value`s in `_children`"
        + (" (for `a ** n`, `_children=(self,)`: the exponent is not a node)." if _op == "pow"
           else " (wrap plain numbers in `Value(...)` first).")
    )
TEXT.update({
    "returns-none": (
        "An operation returned `None`: the method builds `out` but does not `return out`."
    ),
    "closure-in-grad": (
        "A `.grad` holds a function: a closure was stored in a gradient (`out.grad = "
        "_backward`) where it belongs in `out._backward`; `.grad` must stay a number."
    ),
    "number-in-children": (
        "A plain number is among a node's children, so `backward()` meets a number where it "
        "expects a `Value`: keep only `Value`s in `_children` (for `a ** n`, "
        "`_children=(self,)`)."
    ),
    "backward-runs-nothing": (
        "`backward()` does nothing yet: it must set the root's gradient to 1.0, then call "
        "every node's `_backward` in reverse topological order."
    ),
    "tanh-from-input": (
        "tanh's derivative taken from the input: it is 1 - t**2 where t = tanh(x) is the "
        "output (`out.data`), not 1 - x**2."
    ),
    "exp-from-input": (
        "exp's derivative taken from the input: d/dx exp(x) = exp(x), the output's data "
        "(`out.data`), not x."
    ),
    "relu-at-zero": (
        "ReLU's gradient at exactly 0 must be 0 (as in micrograd and PyTorch): pass the "
        "gradient only where the input is strictly greater than 0."
    ),
    "mul-swapped": (
        "Swapped operands in `*`'s backward: d(a*b)/da is b, so `self.grad` gets "
        "`other.data * out.grad` and `other.grad` gets `self.data * out.grad`."
    ),
    "add-one-side": (
        "`+`'s backward feeds only one side: both operands of a sum receive `out.grad`."
    ),
    "pow-exponent": (
        "Power rule off by one: d(x**n)/dx is n * x**(n-1), not n * x**n."
    ),
    "backward-no-seed": (
        "`backward()` must start by setting the root's gradient to 1.0 (d out/d out = 1); "
        "without it every gradient stays 0."
    ),
    "no-gradient": (
        "No gradient reached the inputs at all: check that `backward()` calls every node's "
        "`_backward` in reverse topological order and that the closures are assigned to "
        "`out._backward`."
    ),
    "forward-wrong": (
        "A forward value is wrong: the result of the operation itself (`out.data`) differs "
        "from the maths, so every gradient built on it is off too."
    ),
    "stub": (
        "A backward closure is still the stub raising NotImplementedError: fill it in."
    ),
    "not-backprop": (
        "Gradients not produced by backpropagation: `backward()` must get them by calling each "
        "node's backward closure from the root (the chain rule, one node at a time); numerical, "
        "complex-step or symbolic differentiation, or a table of answers, earn no gradient "
        "points."
    ),
    "exception": "Your engine raised an exception while the test ran.",
    "timeout": "Your engine did not finish in time: look for an infinite loop.",
    "crash": "Your engine stopped the worker process (it exited, was killed or ran out of memory).",
    "not-a-number": "A `.data` or `.grad` is not a number that `float()` accepts.",
    "unknown": (
        "No misconception the grader knows explains these gradients: compare them with a hand "
        "derivation of the chain rule for this graph."
    ),
    "identity-by-value": (
        "Two different nodes with equal `.data` are taken for one: your `Value` compares "
        "(`__eq__`) and hashes (`__hash__`) by its data, so the topological sort's `visited` "
        "set skips the second node and its closure never runs. Nodes must compare by identity: "
        "remove `__eq__`/`__hash__` (with `@dataclass`, use `eq=False`)."
    ),
    "unhashable": (
        "`Value` cannot go in a set: defining `__eq__` (as `@dataclass` does by default) "
        "removes `__hash__`. Nodes must compare by identity: remove `__eq__` (with "
        "`@dataclass`, use `eq=False`)."
    ),
    "shadowed-backward": (
        "`backward` is hidden: your `__init__` sets `self.backward`, so `out.backward()` calls "
        "that attribute instead of the method and no gradient flows. Keep each node's closure "
        "in `self._backward`."
    ),
    "plain-numbers": (
        "An operator does not accept a plain number (`a * 2`, `a + 1`): wrap `other` in "
        "`Value(other)` when it is not a `Value` already."
    ),
})

# A method the engine lacks: each costs only the tests that need it.
for _name in ("tanh", "relu", "exp", "backward"):
    TEXT[f"missing-{_name}"] = (
        f"`Value` has no `{_name}` method: every test that calls `.{_name}()` fails until it "
        f"has one."
    )
DUNDER_EXAMPLES = {
    "__add__": "a + b", "__radd__": "1 + a", "__sub__": "a - b", "__rsub__": "3 - a",
    "__mul__": "a * b", "__rmul__": "2 * a", "__truediv__": "a / b", "__rtruediv__": "1 / a",
    "__pow__": "a ** 2", "__neg__": "-a",
}
for _name, _example in DUNDER_EXAMPLES.items():
    if _name == "__neg__":
        _why = "`Value` has no `__neg__` (often wanted by `__sub__` too)"
    elif _name.startswith("__r"):
        _why = (f"with a plain number on the left Python asks the `Value` on the right, and it "
                f"has no `{_name}` (or it returned NotImplemented)")
    else:
        _why = f"`Value` has no `{_name}` that takes these operands (or it returned NotImplemented)"
    TEXT[f"missing-{_name}"] = f"`{_example}` needs `{_name}`: {_why}."

# The closure bugs the model can run, tried in this order when diagnosing.
MODEL_BUGS = (
    [f"{op}-overwrite" for op in OPS]
    + [f"{op}-no-outgrad" for op in OPS]
    + [f"{op}-overwrite-{side}" for op in BINARY for side in ("self", "other")]
    + [f"{op}-closure-on-input" for op in UNARY]
    + ["tanh-from-input", "exp-from-input", "relu-at-zero", "mul-swapped", "add-one-side",
       "pow-exponent", "backward-no-seed"]
)


def explain(mid: str) -> str:
    return TEXT.get(mid, TEXT["unknown"])
