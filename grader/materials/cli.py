"""`grader materials build`: regenerate the student materials from the masters in solutions/."""
from __future__ import annotations

from pathlib import Path

import click


@click.group()
def materials():
    """Student materials generated from solutions/engine.py and solutions/lecture.md."""


@materials.command()
@click.argument("root", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--check", "only_check", is_flag=True,
              help="Write nothing; exit 1 if a generated file is out of date.")
def build(root, only_check):
    """Write assignments/ (engine.py, engine.ipynb, check.py) and samples/canvas/ in ROOT."""
    from . import MASTER, build as write, stale
    from .master import MasterError

    if not (root / MASTER).is_file():
        raise click.UsageError(f"no {MASTER} in {root}: ROOT is the course folder")
    try:
        paths = stale(root) if only_check else write(root)
    except MasterError as e:
        raise click.ClickException(str(e))
    for p in paths:
        click.echo(("out of date: " if only_check else "wrote ") + p)
    if not paths:
        click.echo("up to date")
    elif only_check:
        raise SystemExit(1)
