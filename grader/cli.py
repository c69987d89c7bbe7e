"""The `grader` command: parses options and calls library functions, nothing more."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .sandbox.limits import Limits


def limit_options(f):
    defaults = Limits()
    options = [
        click.option("--test-timeout", "test_seconds", type=float, default=defaults.test_seconds,
                     show_default=True, help="Seconds one test may take."),
        click.option("--handin-timeout", "handin_seconds", type=float,
                     default=defaults.handin_seconds, show_default=True,
                     help="Seconds all of one hand-in's tests may take."),
        click.option("--memory", "memory_mb", type=int, default=defaults.memory_mb,
                     show_default=True, help="Memory limit per hand-in, in MiB."),
        click.option("--max-output", "output_bytes", type=int, default=defaults.output_bytes,
                     show_default=True, help="Bytes of a hand-in's printed output kept."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def limits_from(kwargs) -> Limits:
    return Limits(**{k: kwargs.pop(k) for k in ("test_seconds", "handin_seconds", "memory_mb",
                                                "output_bytes")})


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=False)


@click.group()
@click.version_option(__version__, prog_name="grader")
def main():
    """Grade micrograd-style autodiff hand-ins with hidden tests, safely."""


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["gradescope", "text", "prairielearn"]),
              default="gradescope", show_default=True,
              help="gradescope: results.json on stdout; text: a readable summary; "
                   "prairielearn: PrairieLearn's external grader results.")
@limit_options
def grade(path, fmt, **kwargs):
    """Grade one hand-in: a .py file, an .ipynb notebook or a folder holding one."""
    from .runner import grade as grade_one
    from .sandbox.client import warn_if_unsandboxed

    result = grade_one(path, limits_from(kwargs))
    warn_if_unsandboxed(result.extra.get("sandbox"))
    if fmt == "text":
        from .report.text import render
        click.echo(render(result), nl=False)
    elif fmt == "prairielearn":
        from .platforms.prairielearn import to_prairielearn
        click.echo(dumps(to_prairielearn(result)))
    else:
        click.echo(dumps(result.to_json()))


def run():
    """Entry point that turns the grader's own failures into one line on stderr."""
    try:
        main(standalone_mode=True)
    except Exception as e:  # the grader itself could not run: one line, no traceback
        print(f"grader: error: {e}", file=sys.stderr)
        sys.exit(2)
