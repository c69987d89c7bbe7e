"""What a hand-in's source shows, read with `ast` and never run.

These facts only word a diagnosis that the engine's behaviour has already established (all
gradients 0, say); they never decide a score.
"""
from __future__ import annotations

import ast


def facts(cells: list[dict]) -> dict:
    """`shadowed_backward`: where the last top-level `class Value` assigns `self.backward`;
    `set_children`: the attribute its `__init__` keeps children in, when that is a set."""
    found = None
    for cell in cells:
        try:
            tree = ast.parse(cell["source"])
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == "Value":
                found = node, cell["filename"]
    if found is None:
        return {}
    cls, filename = found
    out = {}
    for node in ast.walk(cls):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        else:
            continue
        for t in targets:
            if not (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                    and t.value.id == "self"):
                continue
            if t.attr == "backward" and "shadowed_backward" not in out:
                out["shadowed_backward"] = f"{filename}, line {node.lineno}"
            if _is_set(value) and "set_children" not in out:
                out["set_children"] = t.attr
    return out


def _is_set(value) -> bool:
    return (isinstance(value, (ast.Set, ast.SetComp))
            or isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id == "set" and len(value.args) == 1)
