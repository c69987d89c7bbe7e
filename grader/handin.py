"""Read a hand-in from disk into the cells the sandbox runs. Never executes anything.

A `.py` file is one cell; a notebook is its code cells with IPython magics (`%`, `%%`) and
shell escapes (`!`) taken out; a folder is its `engine.py` (else `engine.ipynb`, else its only
Python file or notebook). Nothing else in a folder is read: a `conftest.py` or `pytest.ini`
beside the engine is never loaded.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


class HandinError(Exception):
    """The hand-in cannot be graded; the message is one sentence for the student."""


@dataclass
class Handin:
    path: Path            # the file actually graded
    kind: str             # "py" or "ipynb"
    cells: list[dict]     # [{"source": str, "filename": str}] in run order
    sha256: str

    def describe(self) -> dict:
        return {"file": self.path.name, "kind": self.kind, "sha256": self.sha256}


MAX_BYTES = 2 << 20


def pick(path: Path) -> Path:
    """The file to grade: PATH itself, or the engine inside a hand-in folder."""
    if not path.exists():
        raise HandinError(f"{path}: no such file or folder")
    if path.is_file():
        return path
    for name in ("engine.py", "engine.ipynb"):
        if (path / name).is_file():
            return path / name
    candidates = sorted(p for p in path.rglob("*") if p.suffix in (".py", ".ipynb")
                        and p.is_file() and not _ignored(p.relative_to(path)))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise HandinError(f"{path.name}/: the folder holds no .py or .ipynb file")
    names = ", ".join(str(p.relative_to(path)) for p in candidates[:5])
    raise HandinError(f"{path.name}/: several Python files ({names}) and none is engine.py")


def _ignored(rel: Path) -> bool:
    ignored = {"conftest.py", "setup.py", "sitecustomize.py", "usercustomize.py"}
    return (rel.name in ignored or rel.name.startswith("test_")
            or any(part.startswith((".", "__")) for part in rel.parts))


def load(path: Path) -> Handin:
    path = Path(path)
    file = pick(path)
    raw = file.read_bytes()
    if len(raw) > MAX_BYTES:
        raise HandinError(f"{file.name}: {len(raw)} bytes is too large for a hand-in "
                          f"(at most {MAX_BYTES} bytes)")
    sha = hashlib.sha256(raw).hexdigest()
    if b"\0" in raw:
        raise HandinError(f"{file.name}: a binary file, not Python source or a notebook")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise HandinError(f"{file.name}: not UTF-8 text (byte {e.start} cannot be decoded)")
    if not text.strip():
        raise HandinError(f"{file.name}: the file is empty")
    if file.suffix == ".ipynb":
        cells = notebook_cells(file.name, text)
        kind = "ipynb"
    else:
        cells = [{"source": text, "filename": file.name}]
        check_syntax(cells[0])
        kind = "py"
    return Handin(file, kind, cells, sha)


def check_syntax(cell: dict) -> None:
    try:
        compile(cell["source"], cell["filename"], "exec", dont_inherit=True)
    except SyntaxError as e:
        where = f"line {e.lineno}" if e.lineno else "somewhere"
        raise HandinError(f"{cell['filename']}, {where}: SyntaxError: {e.msg}")
    except ValueError as e:
        raise HandinError(f"{cell['filename']}: cannot be compiled: {e}")


def notebook_cells(name: str, text: str) -> list[dict]:
    import json

    import nbformat  # only notebooks pay for it

    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise HandinError(f"{name}, line {e.lineno}: not a valid notebook, its JSON is broken "
                          f"({e.msg}, column {e.colno}); was it saved completely?")
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise HandinError(f"{name}: not a valid notebook (JSON, but without the list of "
                          "\"cells\" a Jupyter notebook has)")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as e:  # nbformat raises several unrelated types for odd notebooks
        reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise HandinError(f"{name}: not a valid notebook ({reason})")
    cells = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        source = strip_magics(cell.get("source", ""))
        if source.strip():
            cells.append({"source": source, "filename": f"{name} cell {number}"})
    if not cells:
        raise HandinError(f"{name}: the notebook has no code cells")
    return cells


# Cell magics whose body is ordinary Python that Jupyter runs; any other (%%bash, %%html,
# %%writefile, ...) makes the whole cell something else.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}


def strip_magics(source: str) -> str:
    """Blank out IPython-only lines so line numbers still match the student's cell."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        name = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if name not in PYTHON_CELL_MAGICS:
            return ""
        lines[0] = ""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
