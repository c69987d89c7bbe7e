"""One-bug variants of the reference engine, made by editing its source, and the misconception
each one must be diagnosed with."""
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[1] / "solutions" / "engine.py"

ADD = "            self.grad += out.grad\n            other.grad += out.grad\n"
MUL_SELF = "self.grad += other.data * out.grad"
MUL_OTHER = "other.grad += self.data * out.grad"
POW = "self.grad += other * self.data ** (other - 1) * out.grad"
EXP = "self.grad += out.data * out.grad"
TANH = "self.grad += (1 - t ** 2) * out.grad"
RELU = "self.grad += (out.data > 0) * out.grad"
END = "            # --- end ---\n        out._backward = _backward\n        return out\n"


def ending(line: str, new: str) -> tuple[str, str]:
    """The end of the method whose closure holds `line`, changed to `new`."""
    return line + "\n" + END, line + "\n" + new

# name: (expected misconception id, [(old, new), ...])
MUTANTS = {
    "add-overwrite": ("add-overwrite", [(ADD, ADD.replace("+=", "="))]),
    "mul-overwrite": ("mul-overwrite", [(MUL_SELF, MUL_SELF.replace("+=", "=")),
                                        (MUL_OTHER, MUL_OTHER.replace("+=", "="))]),
    "pow-overwrite": ("pow-overwrite", [(POW, POW.replace("+=", "="))]),
    "exp-overwrite": ("exp-overwrite", [(EXP, EXP.replace("+=", "="))]),
    "tanh-overwrite": ("tanh-overwrite", [(TANH, TANH.replace("+=", "="))]),
    "relu-overwrite": ("relu-overwrite", [(RELU, RELU.replace("+=", "="))]),
    "add-no-outgrad": ("add-no-outgrad", [(ADD, ADD.replace("out.grad", "1.0"))]),
    "mul-no-outgrad": ("mul-no-outgrad", [(MUL_SELF, "self.grad += other.data"),
                                          (MUL_OTHER, "other.grad += self.data")]),
    "pow-no-outgrad": ("pow-no-outgrad", [(POW, POW.replace(" * out.grad", ""))]),
    "exp-no-outgrad": ("exp-no-outgrad", [(EXP, "self.grad += out.data")]),
    "tanh-no-outgrad": ("tanh-no-outgrad", [(TANH, TANH.replace(" * out.grad", ""))]),
    "relu-no-outgrad": ("relu-no-outgrad", [(RELU, "self.grad += float(out.data > 0)")]),
    "tanh-from-input": ("tanh-from-input", [(TANH, TANH.replace("t ** 2", "self.data ** 2"))]),
    "exp-from-input": ("exp-from-input", [(EXP, "self.grad += self.data * out.grad")]),
    "relu-at-zero": ("relu-at-zero", [(RELU, "self.grad += (self.data >= 0) * out.grad")]),
    "mul-swapped": ("mul-swapped", [(MUL_SELF, "self.grad += self.data * out.grad"),
                                    (MUL_OTHER, "other.grad += other.data * out.grad")]),
    "add-one-side": ("add-one-side", [(ADD, "            self.grad += out.grad\n")]),
    "pow-exponent": ("pow-exponent", [(POW, POW.replace("(other - 1)", "other"))]),
    "no-seed": ("backward-no-seed", [("        self.grad = 1.0\n", "")]),
    "forward-tanh": ("forward-wrong", [("t = math.tanh(self.data)",
                                        "t = math.tanh(self.data) * 0.5")]),
    "stub-tanh": ("stub", [(TANH, "raise NotImplementedError('TODO')")]),
    "typo-pow": ("exception", [(POW, POW.replace("self.data", "slef.data"))]),
    "mul-overwrite-other": ("mul-overwrite-other", [(MUL_OTHER, MUL_OTHER.replace("+=", "="))]),
    "add-overwrite-self": ("add-overwrite-self", [(ADD, ADD.replace("self.grad +=",
                                                                    "self.grad ="))]),
    "tanh-closure-on-input": ("tanh-closure-on-input", [ending(
        TANH, END.replace("out._backward", "self._backward"))]),
    "exp-closure-in-grad": ("exp-closure-in-grad", [ending(
        EXP, END.replace("out._backward", "out.grad"))]),
    "relu-returns-none": ("relu-returns-none", [ending(
        RELU, END.replace("        return out\n", ""))]),
    "pow-number-in-children": ("pow-number-in-children", [
        ("(self,), f'**{other}')", "(self, other), f'**{other}')")]),
}


def source(name: str) -> str:
    text = REFERENCE.read_text()
    for old, new in MUTANTS[name][1]:
        assert old in text, (name, old)
        text = text.replace(old, new)
    return text
