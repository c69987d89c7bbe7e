"""Every hidden test item, called directly: the kit's tests run the hidden suite's functions
against engines of their own (the model, a recorder) instead of through the grader."""
from __future__ import annotations

import importlib
import pkgutil

import grader.suite


def discover() -> list[tuple[str, object, dict]]:
    """(id, function, keyword arguments besides `engine`) for every hidden test item."""
    cases = []
    modules = sorted(m.name for m in pkgutil.iter_modules(grader.suite.__path__)
                     if m.name.startswith("test_"))
    for name in modules:
        module = importlib.import_module(f"grader.suite.{name}")
        for fname, func in vars(module).items():
            if not (fname.startswith("test_") and callable(func)
                    and getattr(func, "__module__", None) == module.__name__):
                continue
            marks = [m for m in getattr(func, "pytestmark", []) if m.name == "parametrize"]
            assert len(marks) <= 1, f"{name}.{fname}: stacked parametrize is not handled here"
            if not marks:
                cases.append((f"{name}::{fname}", func, {}))
                continue
            argnames, argvalues = marks[0].args[:2]
            if isinstance(argnames, str):
                argnames = [a.strip() for a in argnames.split(",") if a.strip()]
            for values in argvalues:
                values = getattr(values, "values", values)  # pytest.param(...)
                values = tuple(values) if len(argnames) > 1 else (values,)
                kwargs = dict(zip(argnames, values))
                cases.append((f"{name}::{fname}[{'-'.join(map(str, values))}]", func, kwargs))
    return cases


def weight(func) -> float:
    marks = [m for m in getattr(func, "pytestmark", []) if m.name == "weight"]
    return float(marks[0].args[0]) if marks else 1.0


def display_name(func, kwargs: dict) -> str:
    """The name students see: the docstring's first line, then the parameters."""
    doc = (func.__doc__ or func.__name__).strip().splitlines()[0]
    return doc + (f" [{'-'.join(map(str, kwargs.values()))}]" if kwargs else "")


def full_marks() -> float:
    """The hidden suite's maximum, from the weights its tests declare."""
    return sum(weight(func) for _, func, _ in discover())
