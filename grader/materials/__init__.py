"""Student materials, generated from one master.

solutions/engine.py (the reference engine with its backward closures marked, see `master.py`)
and solutions/lecture.md (the lecture notebook's text, see `lecture.py`) make:

    assignments/engine.py      the stub: each marked closure raises NotImplementedError(hint)
    assignments/engine.ipynb   the lecture notebook, with the stub and the student check
    assignments/check.py       the student check (`python check.py`), from `check_template.py`
                               and the public graphs of `public.py`
    samples/canvas/            the sample class (`samples.py`)

assignments/test_public.py is hand-written: pytest wrappers over check.py's cases.
"""
from __future__ import annotations

from pathlib import Path

MASTER = "solutions/engine.py"
LECTURE = "solutions/lecture.md"
CHECK_TEMPLATE = Path(__file__).with_name("check_template.py")
DATA_START, DATA_END = "# --- generated data ---\n", "# --- end generated data ---\n"
SCRIPT_ONLY = "# --- python check.py: the engine.py beside this file ---\n"
SAMPLES = "samples/canvas"


def generate(root: Path) -> dict[str, str]:
    """{path relative to root: content} of every generated file."""
    from .lecture import notebook
    from .master import Master

    root = Path(root)
    master = Master((root / MASTER).read_text(), MASTER)
    lecture = (root / LECTURE).read_text()
    stub = master.stub()
    check = check_source(master)

    def lecture_notebook(engine: str) -> str:
        return notebook(lecture, {"engine": _without_docstring(engine),
                                  "check": notebook_check(check)}, LECTURE)

    files = {"assignments/engine.py": stub, "assignments/check.py": check,
             "assignments/engine.ipynb": lecture_notebook(stub)}
    files.update(sample_class(master, lecture_notebook))
    return files


def check_source(master) -> str:
    """check_template.py with the public cases and the grader's words filled in."""
    import pprint

    from .public import cases, causes

    template = CHECK_TEMPLATE.read_text()
    start, end = template.index(DATA_START) + len(DATA_START), template.index(DATA_END)
    data = "".join(f"{name} = {pprint.pformat(value, width=100, sort_dicts=False)}\n"
                   for name, value in (("CASES", cases()), ("CAUSES", causes()),
                                       ("OPS", master.methods)))
    return template[:start] + data + template[end:]


def notebook_check(check: str) -> str:
    """The check as a notebook cell: without the part that loads engine.py."""
    cell = check[:check.index(SCRIPT_ONLY)].rstrip("\n") + "\n"
    for number, line in enumerate(cell.splitlines(), start=1):
        if line.lstrip().startswith(("%", "!")):  # Jupyter and the grader would take it for IPython
            raise ValueError(f"{CHECK_TEMPLATE.name}, line {number}: a line starting with "
                             f"{line.lstrip()[0]!r} is not Python in a notebook cell")
    return cell


def sample_class(master, lecture_notebook) -> dict[str, str]:
    from .samples import CANVAS

    files = {}
    for s in CANVAS:
        text = master.stub() if s.stub else master.filled(s.bodies)
        if s.edit:
            old, new = s.edit
            if text.count(old) != 1:
                raise ValueError(f"{s.name}: the edit {old!r} does not match exactly once")
            text = text.replace(old, new)
        files[f"{SAMPLES}/{s.name}"] = lecture_notebook(text) if s.notebook else text
    return files


def _without_docstring(source: str) -> str:
    """The engine as the notebook's cell holds it: the module docstring is the notebook's prose."""
    if not source.startswith('"""'):
        return source
    return source[source.index('"""', 3) + 3:].lstrip("\n")


def stale(root: Path, files: dict[str, str] | None = None) -> list[str]:
    """Generated files that differ from what the masters make, and strays in the sample class."""
    root = Path(root)
    files = generate(root) if files is None else files
    out = [p for p, text in files.items()
           if not (root / p).is_file() or (root / p).read_text() != text]
    out += [f"{SAMPLES}/{p.name}" for p in sorted((root / SAMPLES).glob("*"))
            if f"{SAMPLES}/{p.name}" not in files]
    return out


def build(root: Path) -> list[str]:
    """Write every generated file that changed and remove strays; the paths touched."""
    root = Path(root)
    files = generate(root)
    touched = stale(root, files)
    for p in touched:
        if p in files:
            (root / p).parent.mkdir(parents=True, exist_ok=True)
            (root / p).write_text(files[p])
        else:
            (root / p).unlink()
    return touched
