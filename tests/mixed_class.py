"""A class of mixed hand-ins as a Canvas download, for the tests of grading on many machines.

It cycles through the reference solution, every one-bug mutant (tests/mutants.py), the stub,
learners' own engines (tests/corpus, scripts and notebooks), a notebook of the reference and
files that do not load (syntax error, empty, binary); every ninth is flagged late.
"""
from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _mutants():
    spec = importlib.util.spec_from_file_location("mixed_class_mutants", ROOT / "tests" / "mutants.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _notebook(source: str) -> bytes:
    import nbformat
    from nbformat import v4

    nb = v4.new_notebook()
    nb.cells = [v4.new_markdown_cell("# My engine"), v4.new_code_cell(source)]
    return nbformat.writes(nb).encode()


def kinds() -> list[tuple[str, str, bytes]]:
    """(kind, file suffix, bytes) of every kind of hand-in in the class."""
    m = _mutants()
    reference = m.REFERENCE.read_text()
    out = [("reference", ".py", reference.encode()),
           ("stub", ".py", (ROOT / "assignments" / "engine.py").read_bytes()),
           ("notebook", ".ipynb", _notebook(reference)),
           ("syntax", ".py", reference.replace("def backward(self):", "def backward(self)",
                                                1).encode()),
           ("empty", ".py", b""),
           ("binary", ".py", bytes(range(256)) * 4)]
    out += [(f"mutant:{name}", ".py", m.source(name).encode()) for name in m.MUTANTS]
    out += [(f"corpus:{p.stem}", p.suffix, p.read_bytes())
            for p in sorted((ROOT / "tests" / "corpus").iterdir())
            if p.suffix in (".py", ".ipynb")]
    return out


def canvas_class(folder: Path, size: int) -> tuple[Path, dict[str, str]]:
    """A Canvas "Download Submissions" zip of `size` students; {student id: kind}."""
    folder.mkdir(parents=True)
    zpath, kind_of = folder / "submissions.zip", {}
    every = kinds()
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(size):
            kind, suffix, data = every[i % len(every)]
            uid = str(2000 + i)
            late = "_LATE" if i % 9 == 4 else ""
            zf.writestr(f"student{i:03d}{late}_{uid}_{7000 + i}_engine{suffix}", data)
            kind_of[uid] = kind
    return zpath, kind_of
