"""Resource limits for one hand-in: settings of `grader grade` and `grader batch`."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    test_seconds: float = 2.0      # wall time for one request (one test's graph) to answer
    handin_seconds: float = 40.0   # wall time for all of one hand-in's tests together
    cell_seconds: float = 10.0     # a notebook cell (or a .py's top level) while loading;
    #                                a slower one is cut short, like a cell that raised
    memory_mb: int = 1024          # memory of the hand-in: its address space plus its scratch
    output_bytes: int = 32 * 1024  # captured stdout+stderr kept per hand-in; the rest is counted
    file_mb: int = 16              # largest file the hand-in may write in its scratch folder
    scratch_mb: int = 64           # all its scratch files together (a tmpfs, part of memory_mb)

    def to_json(self) -> dict:
        return asdict(self)
