"""`python -m grader.materials [ROOT] [--check]`: the same as `grader materials build`."""
from .cli import build

build(prog_name="python -m grader.materials")
