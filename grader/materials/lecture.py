"""The lecture notebook, from its master in MyST-NB's text format.

Markdown cells are separated by `+++` lines; a code cell is a ```{code-cell} block whose first
lines may be options (`:tags: [engine]`). A code cell tagged `engine` or `check` is left empty in
the master and filled here, with the stub engine and the student check.
"""
from __future__ import annotations

import hashlib
import re

import nbformat
import yaml
from nbformat import v4

from .master import MasterError

CODE_OPEN = re.compile(r"^```\{code-cell\}")
FILLED = ("engine", "check")


def cells(text: str, name: str = "solutions/lecture.md") -> list[dict]:
    """[{"type": "markdown" | "code", "source": ..., "tags": [...]}] in order."""
    if text.startswith("<!--"):  # a note for instructors, not part of the lecture
        text = text[text.index("-->") + 3:]
    found, lines, code, options = [], [], None, {}

    def flush(kind):
        source = "\n".join(lines).strip("\n")
        if kind == "code" or source.strip():
            found.append({"type": kind, "source": source, "tags": options.get("tags", [])})
        lines.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        if code is None:
            if CODE_OPEN.match(line):
                flush("markdown")
                code, options = number, {}
            elif line.strip() == "+++":
                flush("markdown")
            else:
                lines.append(line)
        elif line.strip() == "```":
            flush("code")
            code, options = None, {}
        elif not lines and line.startswith(":"):
            try:
                options.update(yaml.safe_load(line[1:].replace(":", ": ", 1)) or {})
            except yaml.YAMLError as e:
                raise MasterError(f"{name}, line {number}: a cell option is not YAML ({e})")
        else:
            lines.append(line)
    if code is not None:
        raise MasterError(f"{name}, line {code}: this code cell is never closed by ```")
    flush("markdown")
    return found


def notebook(text: str, fill: dict[str, str], name: str = "solutions/lecture.md") -> str:
    """The notebook's JSON: the master's cells, with the `engine` and `check` cells filled."""
    nb = v4.new_notebook(metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    seen = set()
    for i, cell in enumerate(cells(text, name)):
        tags = [t for t in cell["tags"] if t in FILLED]
        source = fill[tags[0]] if tags else cell["source"]
        seen.update(tags)
        new = v4.new_code_cell if cell["type"] == "code" else v4.new_markdown_cell
        made = new(source.rstrip("\n"))
        if cell["tags"]:
            made.metadata["tags"] = cell["tags"]
        if "check" in tags:  # long and not the student's business: folded in Jupyter
            made.metadata["jupyter"] = {"source_hidden": True}
        # stable ids, so an unchanged master regenerates the same bytes
        made.id = hashlib.sha1(f"{i}\n{made.source}".encode()).hexdigest()[:8]
        nb.cells.append(made)
    missing = [t for t in FILLED if t not in seen]
    if missing:
        raise MasterError(f"{name}: no code cell tagged {missing[0]!r} "
                          f"(write one as ```{{code-cell}} ipython3 / :tags: [{missing[0]}])")
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"
