"""The `grader` command: parses options and calls library functions, nothing more."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__, options
from .sandbox.limits import Limits


def limit_options(f):
    for o in reversed(options.OPTIONS):
        f = click.option(o.flag, o.dest, type=o.type, default=o.default, show_default=True,
                         help=o.help)(f)
    return f


def limits_from(kwargs) -> Limits:
    return options.limits_from({o.dest: kwargs.pop(o.dest) for o in options.OPTIONS})


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=False)


format_option = click.option(
    "--format", "fmt", type=click.Choice(["gradescope", "text", "prairielearn"]),
    default="gradescope", show_default=True,
    help="gradescope: results.json on stdout; text: a readable summary; "
         "prairielearn: PrairieLearn's external grader results.")


def echo_result(result, fmt: str) -> None:
    if fmt == "text":
        from .report.text import render
        click.echo(render(result), nl=False)
    elif fmt == "prairielearn":
        from .platforms.prairielearn import to_prairielearn
        click.echo(dumps(to_prairielearn(result)))
    else:
        click.echo(dumps(result.to_json()))


@click.group()
@click.version_option(__version__, prog_name="grader")
def main():
    """Grade micrograd-style autodiff hand-ins with hidden tests, safely."""


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@format_option
@limit_options
def grade(path, fmt, **kwargs):
    """Grade one hand-in: a .py file, an .ipynb notebook or a folder holding one."""
    from .sandbox.client import Sandbox

    limits = limits_from(kwargs)
    sandbox = Sandbox(limits)
    sandbox.launch()  # bwrap starts while pytest is imported and set up
    from .runner import grade as grade_one
    from .sandbox.client import warn_if_unsandboxed

    result = grade_one(path, limits, sandbox=sandbox)
    warn_if_unsandboxed(result.extra.get("sandbox"))
    echo_result(result, fmt)
    global _exit_at_once
    _exit_at_once = True  # everything is written and the sandbox is closed: see run()


@main.command()
@click.argument("report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option
def convert(report, fmt):
    """Turn the JSON report of `pytest --pyargs grader.suite --handin PATH --json-report
    --json-report-file REPORT` into the results `grader grade` prints."""
    from .json_report import read

    echo_result(read(report), fmt)


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
def batch(source, out, jobs, resume, roster, shard, late_penalty, due, **kwargs):
    """Grade every hand-in in SOURCE (a folder or .zip, e.g. a Canvas, Moodle or Gradescope
    bulk download)."""
    import os

    from .batch.classroom import grade_class
    from .batch.outputs import summary

    limits = limits_from(kwargs)
    results, paths = grade_class(source, out, jobs or os.cpu_count() or 1, limits, resume,
                                 shard, late_penalty, due, roster)
    if results:
        from .sandbox.client import warn_if_unsandboxed
        warn_if_unsandboxed(results[0].extra.get("sandbox"))
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
