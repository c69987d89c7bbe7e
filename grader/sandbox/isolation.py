"""How well hand-ins are isolated on this machine, as results record it and the CLI says it.

Each layer is probed where it would run and is used only if it holds (see `layers/`). What held
is recorded in every result as `extra_data.sandbox`:

    {"level": "full" | "partial" | "none",
     "layers": {"namespaces": "held", "landlock": "held", "seccomp": "held",
                "uid": "not running as root", ...},
     "imports": ["numpy"]}

`layers` maps each layer to "held" or the reason it did not; `imports` names the packages hand-ins
could import. The level:

- full: namespaces held (bubblewrap): a hand-in sees only Python's runtime and the allowed
  imports, has no network and sees no other process.
- partial: no namespaces, but at least one unprivileged layer held (Landlock: files and TCP;
  seccomp: sockets, ptrace, namespaces; a dedicated uid when grading as root).
- none: resource limits only: hand-ins can read whatever this machine's user can.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .paths import DEFAULT_IMPORTS

CONFINING = ("landlock", "seccomp", "uid")
UNPRIVILEGED = ("landlock", "seccomp")  # applied by layers/confine.py
OFF = "turned off (GRADER_SANDBOX=none)"


@dataclass(frozen=True)
class Isolation:
    """Settings of `grader grade` and `grader batch`: what hand-ins may import, and whether to
    refuse to grade below full isolation."""
    imports: tuple[str, ...] = DEFAULT_IMPORTS
    strict: bool = False

    @classmethod
    def chosen(cls, imports=(), mode: str = "auto",
               default: tuple[str, ...] = DEFAULT_IMPORTS) -> "Isolation":
        """From `--allow-import` (repeatable, `none` for none; `default`, the course file's
        list, unless given) and `--sandbox`. Each package is checked here, so a batch stops
        before any worker starts: ValueError when one cannot be offered."""
        imports = imports or default
        from .paths import locate

        imports = tuple(n for n in imports if n != "none")
        for name in imports:
            locate(name)
        return cls(imports, mode == "strict")


def turned_off() -> bool:
    """GRADER_SANDBOX=none: no isolation layer at all (to see what a hand-in can do without)."""
    return os.environ.get("GRADER_SANDBOX") == "none"


def record(layers: dict[str, str | None], imports: list[str]) -> dict:
    """`extra_data.sandbox` from the layers' probes (None = holds, else why not)."""
    held = {name: "held" if why is None else why for name, why in sorted(layers.items())}
    if held.get("namespaces") == "held":
        level = "full"
    elif any(held.get(name) == "held" for name in CONFINING):
        level = "partial"
    else:
        level = "none"
    return {"level": level, "layers": held, "imports": list(imports)}


def warning(sandbox: dict) -> str | None:
    """One line for stderr when isolation is weaker than full, else None."""
    if sandbox["level"] == "full":
        return None
    missing = "; ".join(f"{name}: {why}" for name, why in sandbox["layers"].items()
                        if why != "held")
    if sandbox["level"] == "partial":
        held = ", ".join(n for n, why in sandbox["layers"].items() if why == "held")
        return (f"grader: warning: partial isolation: hand-ins are confined by {held} only "
                f"({missing})")
    return ("grader: warning: no isolation: hand-ins run with resource limits only and can "
            f"read this machine's files ({missing})")


def refusal(sandbox: dict) -> str:
    """Why `--sandbox strict` will not grade here (one line)."""
    missing = "; ".join(f"{name}: {why}" for name, why in sandbox["layers"].items()
                        if why != "held")
    return (f"--sandbox strict: isolation here is {sandbox['level']}, not full, so nothing "
            f"was graded ({missing})")
