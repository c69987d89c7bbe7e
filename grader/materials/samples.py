"""The sample class: a Canvas "Download Submissions" of students who finished the master's
engine, each with at most one bug planted, for trying the kit (`grader batch samples/canvas`)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Sample:
    name: str  # Canvas's download name: student[_LATE]_userid_fileid_original
    bodies: dict[str, str] = field(default_factory=dict)  # op: the closure body handed in
    edit: tuple[str, str] | None = None  # (old, new): a slip outside the closures
    stub: bool = False  # handed in without filling anything in

    @property
    def notebook(self) -> bool:
        return self.name.endswith(".ipynb")


CANVAS = [
    Sample("lovelaceada_101_5001_engine.py"),
    Sample("turingalan_LATE_102_5002_engine.py",
           {"add": "self.grad = out.grad\nother.grad = out.grad"}),
    Sample("hoppergrace_103_5003_engine.py",
           {"tanh": "self.grad += (1 - self.data ** 2) * out.grad"}),
    # two submissions: Canvas keeps both, the grader takes the newer (file id 5010)
    Sample("noetheremmy_104_5004_engine.py",
           {"mul": "self.grad = other.data * out.grad\nother.grad = self.data * out.grad"}),
    Sample("noetheremmy_104_5010_engine-1.py",
           {"relu": "self.grad += (self.data >= 0) * out.grad"}),
    Sample("gausscarl_105_5005_engine.py",
           edit=("    def __mul__(self, other):\n", "    def __mul__(self, other)\n")),
    Sample("eulerleonhard_106_5006_engine.py", stub=True),
    Sample("kovalevskayasofia_107_5007_engine.ipynb",
           {"mul": "self.grad += other.data\nother.grad += self.data"}),
]
