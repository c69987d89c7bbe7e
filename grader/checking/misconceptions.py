"""What a wrong answer means, in words a student understands.

Ids that name a closure bug (`add-overwrite`, `tanh-from-input`, ...) are also bugs the reference
model can run (`model.py`): a hand-in whose gradients equal that model's shows that
misconception. The others are recognised from how the hand-in failed.
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
TEXT.update({
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
    "exception": "Your engine raised an exception while the test ran.",
    "timeout": "Your engine did not finish in time: look for an infinite loop.",
    "crash": "Your engine stopped the worker process (it exited, was killed or ran out of memory).",
    "not-a-number": "A `.data` or `.grad` is not a number that `float()` accepts.",
    "unknown": (
        "The gradients match no common mistake the grader knows: compare them with a hand "
        "derivation of the chain rule for this graph."
    ),
})

# The closure bugs the model can run, tried in this order when diagnosing.
MODEL_BUGS = (
    [f"{op}-overwrite" for op in OPS]
    + [f"{op}-no-outgrad" for op in OPS]
    + ["tanh-from-input", "exp-from-input", "relu-at-zero", "mul-swapped", "add-one-side",
       "pow-exponent", "backward-no-seed"]
)


def explain(mid: str) -> str:
    return TEXT.get(mid, TEXT["unknown"])
