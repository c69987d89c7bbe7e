"""The master engine: the reference with its backward closures marked.

    def _backward():
        # --- backward: add ---
        # d(out)/d(self) = 1 and d(out)/d(other) = 1; ...     <- the hint, in the
        # instructor's words: the comment lines right after the opening marker
        self.grad += out.grad
        other.grad += out.grad
        # --- end ---

The stub replaces each marked body with `raise NotImplementedError("TODO: <hint>")`; a filled
hand-in keeps the bodies and drops the markers. Lines between `# --- instructor ---` and
`# --- end ---` reach no student file.
"""
from __future__ import annotations

import ast
import json
import re
import textwrap
from dataclasses import dataclass, field

OPEN = re.compile(r"^(?P<indent>\s*)# --- (?:backward: (?P<op>\w+)|instructor) ---\s*$")
END = re.compile(r"^\s*# --- end ---\s*$")
MARKER = re.compile(r"^\s*# --- .* ---\s*$")


class MasterError(ValueError):
    """A malformed master, named by file and line."""


@dataclass
class Region:
    op: str | None  # None for an instructor-only region
    indent: str
    line: int  # of the opening marker, from 1
    hint: str = ""
    body: list[str] = field(default_factory=list)  # the reference lines, as written


class Master:
    def __init__(self, text: str, name: str = "solutions/engine.py"):
        self.text, self.name = text, name
        self.parts: list[str | Region] = []  # plain lines and regions, in order
        self._parse()
        self.regions = {p.op: p for p in self.parts if isinstance(p, Region) and p.op}
        if not self.regions:  # the stub would be the reference itself
            raise MasterError(f"{name}: no `# --- backward: <op> ---` region marks a closure")
        self.methods = self._methods()

    def _error(self, line: int, what: str) -> MasterError:
        return MasterError(f"{self.name}, line {line}: {what}")

    def _parse(self) -> None:
        region = None
        for number, line in enumerate(self.text.splitlines(), start=1):
            opening, end = OPEN.match(line), END.match(line)
            if region is None:
                if opening:
                    region = Region(opening["op"], opening["indent"], number)
                    if region.op and any(isinstance(p, Region) and p.op == region.op
                                         for p in self.parts):
                        raise self._error(number, f"a second `backward: {region.op}` region")
                elif end:
                    raise self._error(number, "`# --- end ---` without an opening marker")
                elif MARKER.match(line):
                    raise self._error(number, "unknown marker: expected `# --- backward: <op> "
                                              "---`, `# --- instructor ---` or `# --- end ---`")
                else:
                    self.parts.append(line)
                continue
            if opening:
                raise self._error(number, f"a region opens before the one at line "
                                          f"{region.line} is closed by `# --- end ---`")
            if end:
                self._close(region)
                self.parts.append(region)
                region = None
            elif region.op and not region.body and line.strip().startswith("#"):
                region.hint = " ".join(filter(None, [region.hint, line.strip()[1:].strip()]))
            else:
                region.body.append(line)
        if region is not None:
            raise self._error(region.line, "this region is never closed by `# --- end ---`")

    def _close(self, region: Region) -> None:
        if not region.op:
            return
        if not region.hint:
            raise self._error(region.line, f"`{region.op}` has no hint: write it as comment "
                                           "lines right after the opening marker")
        if not any(line.strip() for line in region.body):
            raise self._error(region.line, f"`{region.op}` marks no reference code")

    def _methods(self) -> dict[str, str]:
        """{method name: op} for the method each marked region sits in (`__add__`: `add`)."""
        try:
            tree = ast.parse(self.text)
        except SyntaxError as e:
            raise self._error(e.lineno or 0, f"SyntaxError: {e.msg}")
        found = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name != "_backward":
                for op, region in self.regions.items():
                    if node.lineno < region.line <= node.end_lineno:
                        found[node.name] = op
        missing = set(self.regions) - set(found.values())
        if missing:
            line = min(self.regions[op].line for op in missing)
            raise self._error(line, "a backward region must sit inside a method of `Value`")
        return found

    def stub(self) -> str:
        """What students start from: every marked body raises NotImplementedError with its hint."""
        return self._render(lambda r: [f"{r.indent}raise NotImplementedError("
                                       f"{json.dumps('TODO: ' + r.hint, ensure_ascii=False)})"])

    def filled(self, bodies: dict[str, str] | None = None) -> str:
        """A finished hand-in: the reference bodies, or `bodies[op]` in their place."""
        bodies = bodies or {}
        unknown = set(bodies) - set(self.regions)
        if unknown:
            raise KeyError(f"no backward region for {sorted(unknown)}")

        def body(r: Region) -> list[str]:
            if r.op in bodies:
                return textwrap.indent(textwrap.dedent(bodies[r.op]).strip("\n"),
                                       r.indent).splitlines()
            return r.body
        return self._render(body)

    def reference_lines(self) -> list[str]:
        """The code of every marked body, one stripped line each."""
        return [line.strip() for r in self.regions.values() for line in r.body if line.strip()]

    def _render(self, body) -> str:
        lines = []
        for part in self.parts:
            if isinstance(part, Region):
                if part.op:
                    lines += body(part)
            else:
                lines.append(part)
        return "\n".join(lines).lstrip("\n") + "\n"
