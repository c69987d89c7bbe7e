"""The `grader` command: parses options and calls library functions, nothing more."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .sandbox.isolation import Isolation
from .sandbox.limits import Limits


def limit_options(f):
    defaults = Limits()
    options = [
        click.option("--test-timeout", "test_seconds", type=float, default=defaults.test_seconds,
                     show_default=True, help="Seconds one test may take."),
        click.option("--handin-timeout", "handin_seconds", type=float,
                     default=defaults.handin_seconds, show_default=True,
                     help="Seconds all of one hand-in's tests may take."),
        click.option("--cell-timeout", "cell_seconds", type=float,
                     default=defaults.cell_seconds, show_default=True,
                     help="Seconds a notebook cell may run while loading; a slower one is cut "
                          "short and the rest still runs."),
        click.option("--memory", "memory_mb", type=int, default=defaults.memory_mb,
                     show_default=True, help="Memory limit per hand-in, in MiB."),
        click.option("--max-output", "output_bytes", type=int, default=defaults.output_bytes,
                     show_default=True, help="Bytes of a hand-in's printed output kept."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def isolation_options(f):
    f = click.option("--allow-import", "imports", multiple=True, metavar="NAME",
                     help="A package hand-ins may import (repeatable; numpy unless given; "
                          "`none` for none). It and what it requires are shown to hand-ins, "
                          "nothing else of the environment.")(f)
    return click.option("--sandbox", "sandbox_mode", type=click.Choice(["auto", "strict"]),
                        default="auto", show_default=True,
                        help="auto: the strongest isolation this machine allows, with a "
                             "warning when it is not full; strict: refuse to grade below "
                             "full isolation.")(f)


def isolation_from(kwargs) -> Isolation:
    imports, mode = kwargs.pop("imports"), kwargs.pop("sandbox_mode")
    if imports:
        from .sandbox.paths import locate

        imports = tuple(n for n in imports if n != "none")
        for name in imports:  # here, so a batch stops before any worker starts
            locate(name)
    else:
        imports = Isolation().imports
    return Isolation(imports=imports, strict=mode == "strict")


def limits_from(kwargs) -> Limits:
    return Limits(**{k: kwargs.pop(k) for k in ("test_seconds", "handin_seconds", "cell_seconds",
                                                "memory_mb", "output_bytes")})


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=False)


@click.group()
@click.version_option(__version__, prog_name="grader")
def main():
    """Grade micrograd-style autodiff hand-ins with hidden tests, safely."""


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["gradescope", "text", "prairielearn"]),
              default="gradescope", show_default=True,
              help="gradescope: results.json on stdout; text: a readable summary; "
                   "prairielearn: PrairieLearn's external grader results.")
@limit_options
@isolation_options
def grade(path, fmt, **kwargs):
    """Grade one hand-in: a .py file, an .ipynb notebook or a folder holding one."""
    from .sandbox.client import Sandbox

    limits = limits_from(kwargs)
    sandbox = Sandbox(limits, isolation_from(kwargs))
    sandbox.launch()  # bwrap starts while pytest is imported and set up
    from .runner import grade as grade_one
    from .sandbox.client import warn_if_weak

    result = grade_one(path, limits, sandbox=sandbox)
    warn_if_weak(result.extra.get("sandbox"))
    if fmt == "text":
        from .report.text import render
        click.echo(render(result), nl=False)
    elif fmt == "prairielearn":
        from .platforms.prairielearn import to_prairielearn
        click.echo(dumps(to_prairielearn(result)))
    else:
        click.echo(dumps(result.to_json()))
    global _exit_at_once
    _exit_at_once = True  # everything is written and the sandbox is closed: see run()


def parse_shard(ctx, param, value):
    if value is None:
        return None
    try:
        k, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise click.BadParameter("expected K/N, e.g. 2/8")
    if not 1 <= k <= n:
        raise click.BadParameter("K must be between 1 and N")
    return k, n


@main.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for results/, gradebook.csv and report.html.")
@click.option("--jobs", "-j", type=int, default=None, help="Parallel workers [default: cores].")
@click.option("--resume", is_flag=True,
              help="Skip hand-ins already graded with the same content and grader version.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Canvas gradebook export: write gradebook.csv in Canvas's import format.")
@click.option("--shard", callback=parse_shard, metavar="K/N",
              help="Grade only shard K of N (by a stable hash of the student id).")
@click.option("--late-penalty", metavar="RULE",
              help='"10%/day" per started day late, or "20%" flat, for late hand-ins.')
@click.option("--due", metavar="DATETIME",
              help="Due date (ISO 8601): hand-ins submitted after it are late.")
@limit_options
@isolation_options
def batch(source, out, jobs, resume, roster, shard, late_penalty, due, **kwargs):
    """Grade every hand-in in SOURCE (a folder or .zip, e.g. a Canvas, Moodle or Gradescope
    bulk download)."""
    import os

    from .batch.classroom import grade_class
    from .batch.outputs import summary

    limits, settings = limits_from(kwargs), isolation_from(kwargs)
    if settings.strict:  # refuse before any worker starts, in one line
        from .sandbox.client import Sandbox
        probe = Sandbox(limits, settings)
        probe.start()  # raises when isolation is not full
        probe.close()
    results, paths = grade_class(source, out, jobs or os.cpu_count() or 1, limits, resume,
                                 shard, late_penalty, due, roster, settings=settings)
    if results:
        from .sandbox.client import warn_if_weak
        warn_if_weak(results[0].extra.get("sandbox"))
    click.echo(summary(results, paths))


@main.command()
@click.argument("dirs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def merge(dirs, out, roster):
    """Join the output folders of sharded `grader batch` runs into one."""
    from .batch.classroom import merge as merge_dirs
    from .batch.outputs import summary

    results, paths = merge_dirs(list(dirs), out, roster)
    click.echo(summary(results, paths))


@main.command("gradescope-zip")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def gradescope_zip(out):
    """Build a Gradescope autograder zip (setup.sh, run_autograder) that installs this kit."""
    from .platforms.gradescope_zip import build

    click.echo(build(out, Path(__file__).resolve().parents[1]))


_exit_at_once = False


def run():
    """Entry point that turns the grader's own failures into one line on stderr."""
    try:
        main(standalone_mode=True)
    except SystemExit as e:
        if _exit_at_once and e.code in (0, None):
            _exit_now()
        raise
    except Exception as e:  # the grader itself could not run: one line, no traceback
        print(f"grader: error: {e}", file=sys.stderr)
        sys.exit(2)


def _exit_now() -> None:
    """After `grader grade` has written its result and closed its sandbox, skip tearing down
    the interpreter (freeing pytest's thousands of objects takes longer than the grading's
    own reporting); nothing is left to clean up."""
    import os

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # let the normal exit report it
    os._exit(0)
