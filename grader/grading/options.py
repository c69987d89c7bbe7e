"""The settings every way of grading shares: `grader grade`, `grader batch` and
`pytest --pyargs grader.suite --handin PATH`. One table, rendered as click options by the CLI
and as pytest options by the plugin, so a new setting appears in both."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..sandbox.limits import Limits


@dataclass(frozen=True)
class Option:
    flag: str
    dest: str          # the `Limits` field it sets
    type: type
    help: str

    @property
    def default(self):
        return getattr(Limits(), self.dest)


OPTIONS = (
    Option("--test-timeout", "test_seconds", float, "Seconds one test may take."),
    Option("--handin-timeout", "handin_seconds", float,
           "Seconds all of one hand-in's tests may take."),
    Option("--cell-timeout", "cell_seconds", float,
           "Seconds a notebook cell may run while loading; a slower one is cut short and the "
           "rest still runs."),
    Option("--memory", "memory_mb", int, "Memory limit per hand-in, in MiB."),
    Option("--max-output", "output_bytes", int, "Bytes of a hand-in's printed output kept."),
)


def limits_from(values: Mapping) -> Limits:
    """The limits set by `values`, a mapping from each option's `dest` to its value."""
    return Limits(**{o.dest: values[o.dest] for o in OPTIONS})
