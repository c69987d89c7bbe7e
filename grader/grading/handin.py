"""Read a hand-in from disk into the cells the sandbox runs. Never executes anything.

A `.py` file is one cell; a notebook is its code cells with IPython magics (`%`, `%%`) and
shell escapes (`!`) taken out; a folder is its `engine.py` (else `engine.ipynb`, else its only
Python file or notebook). Nothing else in a folder is read: a `conftest.py` or `pytest.ini`
beside the engine is never loaded.

Whatever the bytes, loading either returns cells or raises `HandinError` with one sentence
that says what is wrong and where (line and column, or the notebook's code cell). Compiling
is left to the sandbox, which runs the interpreter that grades (`--python`).
"""
from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
import tokenize
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

    @property
    def name(self) -> str:
        return _shown(self.path)

    @property
    def sources(self) -> dict[str, str]:
        return {cell["filename"]: cell["source"] for cell in self.cells}

    def describe(self) -> dict:
        return {"file": self.name, "kind": self.kind, "sha256": self.sha256}


MAX_BYTES = 2 << 20
MAX_CELLS = 5000  # code cells in a notebook; a lecture notebook has well under 100


def pick(path: Path) -> Path:
    """The file to grade: PATH itself, or the engine inside a hand-in folder."""
    if not path.exists():
        raise HandinError(f"{path}: no such file or folder")
    if path.is_symlink() and not path.is_dir():  # planted, it could point at the solution
        raise HandinError(f"{_shown(path)}: a symbolic link; hand in the file itself")
    if path.is_file():
        return path
    if not path.is_dir():
        raise HandinError(f"{_shown(path)}: not a file or a folder")
    for name in ("engine.py", "engine.ipynb"):
        if (path / name).is_file() or (path / name).is_symlink():
            return pick(path / name)
    candidates = sorted(p for p in path.rglob("*") if p.suffix in (".py", ".ipynb")
                        and p.is_file() and not _ignored(p.relative_to(path))
                        and p.resolve().is_relative_to(path.resolve()))
    if len(candidates) == 1:
        return pick(candidates[0])
    if not candidates:
        raise HandinError(f"{_shown(path)}/: the folder holds no .py or .ipynb file")
    engines = [p for p in candidates if _defines_value(p)]
    if len(engines) == 1:  # the hand-in's own files leave no doubt
        return pick(engines[0])
    names = ", ".join(_shown(p.relative_to(path)) for p in candidates[:5])
    raise HandinError(f"{_shown(path)}/: several Python files ({names}) and none is engine.py"
                      + ("" if engines else " or defines class Value")
                      + "; hand in one engine file, or name it engine.py")


# What the kit hands out beside the engine (`grader materials`): never the engine itself.
HANDED_OUT = {"check.py"}


def _ignored(rel: Path) -> bool:
    ignored = {"conftest.py", "setup.py", "sitecustomize.py", "usercustomize.py", *HANDED_OUT}
    return (rel.name in ignored or rel.name.startswith("test_")
            or any(part.startswith((".", "__")) for part in rel.parts))


_VALUE_CLASS = re.compile(rb"^class\s+Value\b", re.M)


def _defines_value(path: Path) -> bool:
    """Whether a candidate file defines the engine's `class Value` (read, never run; in a
    notebook the class sits in a JSON string, so its line starts after a quote)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES)
    except OSError:
        return False
    if path.suffix == ".ipynb":
        return re.search(rb'"class\s+Value\b', raw) is not None
    return _VALUE_CLASS.search(raw) is not None


def _shown(path: Path) -> str:
    """A file name as text that can be written anywhere (names on disk need not be UTF-8)."""
    return str(path.name if path.name else path).encode("utf-8", "surrogateescape") \
        .decode("utf-8", "replace")


def load(path: Path) -> Handin:
    file = pick(Path(path))
    name = _shown(file)
    with open(file, "rb") as f:
        raw = f.read(MAX_BYTES + 1)  # a hand-in of gigabytes is never read whole
    if len(raw) > MAX_BYTES:
        raise HandinError(f"{name}: too large for a hand-in (more than {MAX_BYTES} bytes)")
    refuse_binary(name, raw)
    if file.suffix == ".ipynb":
        cells, kind = notebook_cells(name, raw), "ipynb"
    else:
        source = python_text(name, raw)
        check_text(name, source)
        cells, kind = [{"source": source, "filename": name}], "py"
    return Handin(file, kind, cells, hashlib.sha256(raw).hexdigest())


# ------------------------------------------------------------------------- bytes and text

SIGNATURES = {
    b"PK\x03\x04": "a zip archive (Word and other Office documents are zip archives too)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x7fELF": "a compiled program",
}


def refuse_binary(name: str, raw: bytes) -> None:
    if not raw.strip():
        raise HandinError(f"{name}: the file is empty")
    for magic, what in SIGNATURES.items():
        if raw.startswith(magic):
            raise HandinError(f"{name}: {what}, not Python source or a notebook")
    if utf16(raw):
        raise HandinError(f"{name}: saved as UTF-16 text; save it as UTF-8 and hand it in again")
    nul = raw.find(b"\0")
    if nul >= 0:
        line, column = position(raw, nul)
        raise HandinError(f"{name}, line {line}, column {column}: a NUL byte, which text never "
                          "holds: this is a binary file, not Python source or a notebook")


def utf16(raw: bytes) -> bool:
    """A byte-order mark, or plain ASCII with a zero byte after (or before) every character."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    head = raw[:128]
    text = set(range(32, 127)) | set(b"\t\n\r")
    return len(head) >= 8 and any(not any(zeros) and set(chars) <= text
                                  for zeros, chars in ((head[1::2], head[0::2]),
                                                       (head[0::2], head[1::2])))


def python_text(name: str, raw: bytes) -> str:
    """Decode as Python does: UTF-8, or the file's `# -*- coding: ... -*-` line."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as e:  # an unknown or contradictory coding line
        raise HandinError(f"{name}: {e.msg.rstrip('.')}; save the file as UTF-8 without a "
                          "coding line") from None
    if not _ascii_compatible(encoding):  # UTF-16, rot13, ...: Python refuses them too
        raise HandinError(f"{name}: its coding line names {encoding}, which Python source "
                          "cannot use; save the file as UTF-8 without a coding line")
    return decode(name, raw, encoding)


def _ascii_compatible(encoding: str) -> bool:
    try:
        return bytes(range(128)).decode(encoding) == bytes(range(128)).decode("ascii")
    except (LookupError, UnicodeDecodeError):
        return False


def decode(name: str, raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        line, column = position(raw, e.start, encoding)
        label = "UTF-8" if encoding.startswith("utf-8") else encoding
        raise HandinError(f"{name}, line {line}, column {column}: byte 0x{raw[e.start]:02x} is "
                          f"not {label} text; save the file as UTF-8") from None


def position(raw: bytes, offset: int, encoding: str = "utf-8") -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, len(raw[start:offset].decode(encoding, "replace")) + 1


def check_text(where: str, source: str) -> None:
    """Text that no Python accepts as source, said with its line: NUL, half a surrogate pair."""
    bad = re.search("[\0\ud800-\udfff]", source)
    if bad:
        line = source.count("\n", 0, bad.start()) + 1
        what = "a NUL character" if bad.group() == "\0" else \
            f"an invalid character (\\u{ord(bad.group()):04x}, half of a UTF-16 pair)"
        raise HandinError(f"{where}, line {line}: {what}, which Python source cannot hold")
    if not source.strip():
        raise HandinError(f"{where}: the file is empty")


# ------------------------------------------------------------------------- notebooks

def notebook_cells(name: str, raw: bytes) -> list[dict]:
    """The code cells, named as the student sees them: `engine.ipynb, code cell 3 (In [7])`.

    Only what grading needs is read (each cell's type, source and execution count); a notebook
    whose other fields are odd is still graded on its code."""
    text = decode(name, raw, "utf-8-sig")
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as e:
        raise HandinError(f"{name}, line {e.lineno}, column {e.colno}: not a valid notebook, "
                          f"its JSON is broken ({e.msg}); was it saved completely?") from None
    except RecursionError:
        line, column = too_deep(text)
        raise HandinError(f"{name}, line {line}, column {column}: not a valid notebook, its "
                          f"JSON is nested more than {DEPTH} levels deep") from None
    if isinstance(nb, dict) and "cells" not in nb and "worksheets" in nb:
        raise HandinError(f"{name}: an old notebook format (version 3); open it in Jupyter and "
                          "save it again to update it")
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise HandinError(f"{name}: not a valid notebook (JSON, but without the list of "
                          "\"cells\" a Jupyter notebook has)")
    cells, code = [], 0
    for number, cell in enumerate(nb["cells"], start=1):
        kind = cell.get("cell_type") if isinstance(cell, dict) else None
        if not isinstance(kind, str):
            what = "has no \"cell_type\"" if isinstance(cell, dict) else f"is {_a(cell)}"
            raise HandinError(f"{name}: not a valid notebook, cell {number} {what} where a "
                              "notebook has a cell")
        if kind != "code":
            continue  # markdown and raw cells are not counted: "code cell 3" is the third code cell
        code += 1
        if code > MAX_CELLS:
            raise HandinError(f"{name}: more than {MAX_CELLS} code cells, too many for a hand-in")
        where = f"{name}, code cell {code}"
        count = cell.get("execution_count")
        if type(count) is int and 0 <= count < 10**6:
            where += f" (In [{count}])"
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)  # how notebooks store a cell of several lines
        if not isinstance(source, str):
            raise HandinError(f"{where}: not a valid notebook, the cell's \"source\" is "
                              f"{_a(source)} where a notebook has text")
        source = strip_magics(source)
        if source.strip():
            check_text(where, source)
            cells.append({"source": source, "filename": where})
    if not code:
        raise HandinError(f"{name}: the notebook has no code cells")
    if not cells:
        raise HandinError(f"{name}: every code cell of the notebook is empty")
    return cells


DEPTH = 500  # JSON nesting reported as too deep; the parser gives up near Python's recursion limit


def too_deep(text: str) -> tuple[int, int]:
    """Line and column where the JSON's nesting first passes DEPTH levels."""
    depth = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > DEPTH:
                line = text.count("\n", 0, m.start()) + 1
                return line, m.start() - text.rfind("\n", 0, m.start())
        elif token in "]}":
            depth -= 1
    return 1, 1


def _a(value) -> str:
    """What a JSON value is, in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return {int: "a number", float: "a number", str: "text", list: "a list",
            dict: "an object"}.get(type(value), "something else")


# Cell magics whose body is ordinary Python that Jupyter runs; any other (%%bash, %%html,
# %%writefile, ...) makes the whole cell something else.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}


def strip_magics(source: str) -> str:
    """Blank out IPython-only lines so line numbers still match the student's cell."""
    lines = re.split("\r\n|\r|\n", source)  # Python's line ends only, not str.splitlines()'s
    if lines and lines[0].lstrip().startswith("%%"):
        name = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if name not in PYTHON_CELL_MAGICS:
            return ""
        lines[0] = ""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
