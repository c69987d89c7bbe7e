"""What a hand-in's source shows, read with `ast` and never run.

These facts only word a diagnosis that the engine's behaviour has already established (all
gradients 0, say); they never decide a score.
"""
from __future__ import annotations

import ast


def facts(cells: list[dict]) -> dict:
    """`shadowed_backward`: where the last top-level `class Value` assigns `self.backward`;
    `set_children`: the attribute its `__init__` keeps children in, when that is a set;
    `backward_empty`: where its `backward` is defined, when that does nothing (`pass`);
    `closure_in_grad`: method name -> where it assigns one of its own closures to a `.grad`."""
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
    for method in cls.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if method.name == "backward" and all(_inert(s) for s in method.body):
            out["backward_empty"] = f"{filename}, line {method.lineno}"
        closures = {d.name for d in ast.walk(method) if isinstance(d, ast.FunctionDef)}
        for node in ast.walk(method):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Name)
                    and node.value.id in closures
                    and any(isinstance(t, ast.Attribute) and t.attr == "grad"
                            for t in node.targets)):
                out.setdefault("closure_in_grad", {}).setdefault(
                    method.name, f"{filename}, line {node.lineno}")
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


def _inert(statement) -> bool:
    """`pass`, `...` or a docstring: a statement that does nothing."""
    return isinstance(statement, ast.Pass) or (
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))


def _is_set(value) -> bool:
    return (isinstance(value, (ast.Set, ast.SetComp))
            or isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id == "set" and len(value.args) == 1)
