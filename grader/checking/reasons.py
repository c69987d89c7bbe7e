"""Why a hand-in went wrong while loading, in one sentence a student understands.

The sandbox reports plain facts (an exception's type, message and place; the classes the
hand-in defined); this module turns them into sentences: where, as the student sees it
("engine.ipynb, code cell 3 (In [7]), line 4"), and what it means ("imports `sklearn`, which
grading does not provide", "this looks like Python 3.12+ syntax; grading runs Python 3.11.7").
"""
from __future__ import annotations

import re


def place(where) -> str:
    """`file, line N[, column M]` from a sandbox report, whose fields a hand-in may have forged."""
    if not isinstance(where, dict) or not isinstance(where.get("file"), str):
        return ""
    text = where["file"]
    for key in ("line", "column"):
        if type(where.get(key)) is int and where[key] > 0:
            text += f", {key} {where[key]}"
    return text


def missing_module(err: dict) -> str | None:
    """"imports `sklearn`, which grading does not provide", for a ModuleNotFoundError."""
    if err.get("type") != "ModuleNotFoundError":
        return None
    m = re.match(r"No module named '([^']+)'", str(err.get("message", "")))
    if not m:
        return None
    return f"imports `{m.group(1).split('.')[0]}`, which grading does not provide"


# Syntax a grading interpreter older than the version shown rejects, recognised by the
# offending line (f-strings: recognised only where 3.12's rules are what the line relies on).
NEWER_SYNTAX = [
    ((3, 12), re.compile(r"""[fF][rR]?("|').*\{[^}]*(\1|\\|#)""")),   # PEP 701 f-strings
    ((3, 12), re.compile(r"^\s*type\s+\w+\s*(\[.*\])?\s*=")),          # type aliases
    ((3, 12), re.compile(r"^\s*(class|def)\s+\w+\s*\[")),              # generic classes, functions
    ((3, 11), re.compile(r"^\s*except\s*\*")),                          # exception groups
    ((3, 14), re.compile(r"^\s*except\s+[\w.]+\s*,\s*[\w.]+.*:")),     # except A, B:
]


def newer_syntax(line: str, python: str | None) -> str | None:
    """"this looks like Python 3.12+ syntax; grading runs Python 3.11.7", or None."""
    if not python:
        return None
    running = tuple(int(x) for x in python.split(".")[:2])
    for version, pattern in NEWER_SYNTAX:
        if running < version and pattern.search(line):
            return (f"this looks like Python {version[0]}.{version[1]}+ syntax; grading runs "
                    f"Python {python}")
    return None


def cell_error(err: dict, sources: dict[str, str], python: str | None = None) -> str:
    """One load-time error as a sentence: `engine.py, line 3: imports `numpy`, ...`."""
    where = err.get("where") if isinstance(err.get("where"), dict) else {}
    at = place(where) or "while loading"
    kind, message = str(err.get("type", ""))[:100], str(err.get("message", ""))[:500]
    if kind == "timeout":
        return f"{at}: {message}"
    missing = missing_module(err)
    if missing:
        return f"{at}: {missing}"
    if kind in ("MemoryError", "RecursionError") and type(where.get("line")) is not int:
        return f"{at}: nested too deeply for Python to compile ({kind})"
    if kind == "MemoryError":
        return f"{at}: ran out of memory (MemoryError)"
    text = f"{at}: {kind}: {message}"
    if kind in ("SyntaxError", "IndentationError", "TabError") and type(where.get("line")) is int:
        lines = sources.get(_file(err), "").split("\n")
        newer = newer_syntax(lines[where["line"] - 1] if 0 < where["line"] <= len(lines)
                             else "", python)
        if newer:
            text += f" ({newer})"
    return text


def source_at(error: str, info: dict, sources: dict[str, str]) -> dict | None:
    """The source line the sentence `error` names (its first load error that has a line in
    a file of the hand-in): {"file", "line", "column", "text"}, for a caret under it."""
    for err in load_errors(info):
        where = err.get("where") if isinstance(err.get("where"), dict) else {}
        line, file = where.get("line"), _file(err)
        if type(line) is int and file in sources and error.startswith(place(where)):
            lines = sources[file].split("\n")
            if 0 < line <= len(lines):
                column = where.get("column") if type(where.get("column")) is int else None
                return {"file": file, "line": line, "column": column, "text": lines[line - 1]}
    return None


def load_errors(info: dict) -> list[dict]:
    """The load report's errors; a hand-in can write a report of any shape on its channel."""
    errors = info.get("cell_errors")
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def no_value(name: str, info: dict, sources: dict[str, str], python: str | None) -> str:
    """Why a hand-in that ran has no `Value` class to grade: the first that applies of its
    own error where `Value` should have been defined, a near-miss name, or what it lacks."""
    errors = load_errors(info)
    defining = [e for e in errors
                if re.search(r"^\s*class\s+Value\b", sources.get(_file(e), ""), re.M)]
    if defining:
        return f"{cell_error(defining[0], sources, python)}, so `Value` was never defined"
    value = info.get("value")
    if value == "Value":
        return (f"{name}: `Value` is an instance of your class `Value`, not the class: a later "
                "line or cell assigns to the name `Value`")
    if isinstance(value, str) and value:
        return f"{name}: `Value` is {_article(value)} `{value}`, not a class"
    classes = info.get("classes") if isinstance(info.get("classes"), list) else []
    classes = [c for c in classes if isinstance(c, dict) and isinstance(c.get("name"), str)]
    for c in classes:
        if c["name"].lower() == "value":
            return (f"{name}: found a class named `{c['name']}`; the grader looks for `Value` "
                    "(names are case-sensitive)")
    engines = [c["name"] for c in classes if c.get("backward")]
    if engines:
        return (f"{name}: found a class `{engines[0]}` with a `backward` method; the grader "
                f"looks for a class named `Value` (rename it, or add `Value = {engines[0]}`)")
    if errors and not classes:
        return f"{cell_error(errors[0], sources, python)}, and no `Value` class was defined"
    if classes:
        names = ", ".join(f"`{c['name']}`" for c in classes[:5])
        return f"{name}: defines no `Value` class (its classes are {names})"
    return f"{name}: defines no class at all; the grader looks for a class named `Value`"


def _article(noun: str) -> str:
    return ("an" if noun[:1].lower() in "aeiou" else "a")


def _file(err: dict) -> str:
    where = err.get("where")
    file = where.get("file") if isinstance(where, dict) else None
    return file if isinstance(file, str) else ""
