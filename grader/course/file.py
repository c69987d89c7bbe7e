"""The course file, `grader.toml`: what an instructor tunes without touching `grader/`.

`load` reads and checks it, `find` says which one a command uses, `template` writes one with
every key set to its default. A mistake is a `CourseError` naming the file, the line and the
key: tomllib reports syntax errors with their line, but not where a well-formed key with a
wrong value sits, so `_Lines` finds each key's line in the raw text.
"""
from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..sandbox.limits import Limits
from ..suite.index import suite, suite_groups, suite_tests
from .attempts import COUNTS, Policy, duration_text, parse_duration

FILENAME = "grader.toml"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")

# [limits] keys, named like the command-line options they stand for, and their Limits fields.
LIMIT_KEYS = {"test_timeout": "test_seconds", "handin_timeout": "handin_seconds",
              "cell_timeout": "cell_seconds", "memory": "memory_mb", "max_output": "output_bytes",
              "max_file": "file_mb"}


class CourseError(ValueError):
    """A course file that cannot be used, with where and why."""


@dataclass(frozen=True)
class Rule:
    """What the course file says about one group of tests or one test; None: not set."""
    weight: float | None = None       # a test's points; for a group, `scale`
    visibility: str | None = None


@dataclass(frozen=True)
class Course:
    title: str = "Backprop engine"
    points: float = 0.0                    # 0: the tests' weights as they are
    visibility: str = "visible"            # Gradescope's top-level visibility
    forward_needs_gradient: bool = False
    secret: str = ""                       # seeds each hand-in's values; "": the public default
    late_penalty: str = ""
    due: str = ""
    flag_late_days: float = 1.0
    limits: Limits = Limits()
    allowed_imports: tuple[str, ...] = ("numpy",)
    submissions: Policy = Policy()         # attempts, cooldown, which counts, extensions
    groups: dict[str, Rule] = field(default_factory=dict)
    tests: dict[str, Rule] = field(default_factory=dict)
    path: Path | None = None               # where the values came from; None: the defaults
    sha256: str = ""                       # of the file's bytes

    def values(self) -> dict:
        """The values in use, shaped like the file (what results record)."""
        return {
            "assignment": {"title": self.title, "points": self.points,
                           "visibility": self.visibility,
                           "forward_needs_gradient": self.forward_needs_gradient},
            "late": {"penalty": self.late_penalty, "due": self.due,
                     "flag_days": self.flag_late_days},
            "limits": {key: getattr(self.limits, f) for key, f in LIMIT_KEYS.items()},
            "sandbox": {"allowed_imports": list(self.allowed_imports)},
            "submissions": self.submissions.values(),
            "groups": {g: _rule(r, "scale") for g, r in sorted(self.groups.items())},
            "tests": {t: _rule(r, "weight") for t, r in sorted(self.tests.items())},
        }

    def instances(self, published: bool = False):
        """How hand-ins' values are drawn: from this course's secret, or (`published`) the
        values written in the suite. The secret itself is in no result."""
        from ..checking.instance import DEFAULT_SECRET, Instances

        return Instances(self.secret or DEFAULT_SECRET, published)

    def record(self) -> dict:
        """What a result's `extra_data.course` holds."""
        return {"file": str(self.path) if self.path else None, "sha256": self.sha256 or None,
                "values": self.values()}

    def with_options(self, **given) -> "Course":
        """The course with the command line's options (those given, not None) in place."""
        limits = {f: given.pop(f) for f in list(given) if f in _LIMIT_FIELDS}
        limits = {f: v for f, v in limits.items() if v is not None}
        given = {k: v for k, v in given.items() if v is not None}
        return replace(self, limits=replace(self.limits, **limits), **given)


_LIMIT_FIELDS = {f.name for f in fields(Limits)}


def _rule(r: Rule, weight_key: str) -> dict:
    d = {weight_key: r.weight, "visibility": r.visibility}
    return {k: v for k, v in d.items() if v is not None}


def find(given: Path | None, cwd: Path | None = None) -> Path | None:
    """The course file a command uses: `--config PATH`, else `grader.toml` in the current
    folder, else none (the defaults)."""
    if given is not None:
        return Path(given)
    here = Path(FILENAME) if cwd is None else cwd / FILENAME  # as the instructor names it
    return here if here.is_file() else None


def load(path: Path | None) -> Course:
    if path is None:
        return Course()
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CourseError(f"{path}: cannot be read ({e.strerror})")
    name = path.name
    if sys.version_info >= (3, 11):  # imported here: most runs have no course file to parse
        import tomllib
    else:  # pragma: no cover (3.10)
        import tomli as tomllib
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise CourseError(f"{name}, line {line}: not UTF-8 text; save the file as UTF-8")
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", str(e))
        if m:
            raise CourseError(f"{name}, line {m[1]}, column {m[2]}: not valid TOML: "
                              f"{str(e)[:m.start()]}")
        raise CourseError(f"{name}: not valid TOML: {e}")
    course = _Reader(name, _Lines(text)).course(data)
    return replace(course, path=path, sha256=hashlib.sha256(raw).hexdigest())


class _Lines:
    """Each key's line in the raw text: `[a.b]` headers, `key = ...`, `{ k = ... }`."""

    def __init__(self, text: str):
        self.at: dict[tuple, int] = {}
        table: tuple = ()
        for n, raw in enumerate(text.splitlines(), 1):
            line = _uncomment(raw).strip()
            header = re.fullmatch(r"\[\[?([^\[\]]+)\]\]?", line)
            if header:
                table = _dotted(header[1])
                self.at.setdefault(table, n)
                continue
            pair = re.match(r"((?:\"[^\"]*\"|'[^']*'|[\w\-. ])+?)\s*=\s*(.*)", line)
            if pair:
                key = table + _dotted(pair[1])
                self.at.setdefault(key, n)
                if pair[2].startswith("{"):
                    for inner in re.findall(r"([\w\-]+)\s*=", pair[2]):
                        self.at.setdefault(key + (inner,), n)

    def of(self, key: tuple) -> int | None:
        while key:
            if key in self.at:
                return self.at[key]
            key = key[:-1]
        return None


def _uncomment(line: str) -> str:
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return line[:i]
    return line


def _dotted(s: str) -> tuple:
    """`a."b.c".d` -> ("a", "b.c", "d"): quoted parts (an email as a key) keep their dots."""
    parts = re.findall(r"\s*(\"[^\"]*\"|'[^']*'|[^.]+)\s*(?:\.|$)", s)
    return tuple(p.strip().strip("\"'") for p in parts)


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _shown(x) -> str:
    return repr(x) if isinstance(x, str) else str(x).lower() if isinstance(x, bool) else str(x)


# Each section's keys: (what it must be, check). A check returns an error or "".
def _at_least(low, strict=False):
    def check(x):
        if not _number(x):
            return f"must be a number, got {_shown(x)}"
        if x < low or (strict and x == low):
            return f"must be {'more than' if strict else 'at least'} {low:g}, got {x:g}"
        return ""
    return check


def _string(x):
    return "" if isinstance(x, str) else f"must be a string, got {_shown(x)}"


def _visibility(x):
    if x not in VISIBILITIES:
        return (f"must be one of {', '.join(repr(v) for v in VISIBILITIES)}, got {_shown(x)}")
    return ""


def _secret(x):
    if not isinstance(x, str):
        return f"must be a string, got {_shown(x)}"
    if 0 < len(x) < 16:
        return "is too short: `grader init` makes one of 32 hex digits"
    return None


def _boolean(x):
    return "" if isinstance(x, bool) else f"must be true or false, got {_shown(x)}"


def _penalty(x):
    if not isinstance(x, str):
        return _string(x)
    from .late import parse_policy
    try:
        parse_policy(x)
    except ValueError:
        return f"must be a rule like \"10%/day\" or \"20%\", or \"\" for none, got {x!r}"
    return ""


def _due(x):
    if not isinstance(x, str):
        return _string(x)
    if not x:
        return ""
    from .late import parse_due
    try:
        parse_due(x)
    except ValueError:
        return f"must be a date like \"2026-12-01T23:59\" (ISO 8601), or \"\" for none, got {x!r}"
    return ""


def _names(x):
    if not isinstance(x, list) or not all(isinstance(n, str) for n in x):
        return f"must be a list of module names like [\"numpy\"], got {_shown(x)}"
    bad = [n for n in x if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", n)]
    return f"{bad[0]!r} is not a module name" if bad else ""


def _duration(x):
    try:
        parse_duration(x)
    except ValueError:
        return f"must be a duration like \"10m\", \"30s\", \"1h30m\" or \"0\", got {_shown(x)}"
    return ""


def _counts(x):
    return "" if x in COUNTS else (f"must be one of {', '.join(repr(c) for c in COUNTS)}, "
                                   f"got {_shown(x)}")


def _table(x):
    return "" if isinstance(x, dict) else f"must be a table of student id = \"date\", got {_shown(x)}"


SECTIONS = {
    "assignment": {"title": _string, "points": _at_least(0), "visibility": _visibility,
                   "forward_needs_gradient": _boolean, "secret": _secret},
    "late": {"penalty": _penalty, "due": _due, "flag_days": _at_least(0)},
    "limits": {"test_timeout": _at_least(0, True), "handin_timeout": _at_least(0, True),
               "cell_timeout": _at_least(0, True), "memory": _at_least(1),
               "max_output": _at_least(0), "max_file": _at_least(0)},
    "sandbox": {"allowed_imports": _names},
    "submissions": {"attempts": _at_least(0), "cooldown": _duration, "counts": _counts,
                    "extensions": _table},
}
RULES = {"groups": {"scale": _at_least(0), "visibility": _visibility},
         "tests": {"weight": _at_least(0), "visibility": _visibility}}
_INTEGERS = {"memory", "max_output", "max_file", "attempts"}


class _Reader:
    def __init__(self, name: str, lines: _Lines):
        self.name, self.lines = name, lines

    def fail(self, key: tuple, message: str):
        line = self.lines.of(key)
        where = f"{self.name}, line {line}" if line else self.name
        raise CourseError(f"{where}: {message}")

    def table(self, key: tuple, value, allowed: dict) -> dict:
        label = "[" + ".".join(key) + "]"
        if not isinstance(value, dict):
            self.fail(key, f"{label} must be a table, got {_shown(value)}")
        for k, v in value.items():
            if k not in allowed:
                self.fail(key + (k,), f"unknown key `{k}` in {label}; expected one of: "
                          + ", ".join(allowed))
            problem = allowed[k](v)
            if not problem and k in _INTEGERS and not isinstance(v, int):
                problem = f"must be a whole number, got {_shown(v)}"
            if problem:
                self.fail(key + (k,), f"`{k}` {problem}")
        return value

    def course(self, data: dict) -> Course:
        for k in data:
            if k not in SECTIONS and k not in RULES:
                self.fail((k,), f"unknown section `{k}`; expected one of: "
                          + ", ".join([*SECTIONS, *RULES]))
        s = {k: self.table((k,), data.get(k, {}), keys) for k, keys in SECTIONS.items()}
        a, late, lim, sub = s["assignment"], s["late"], s["limits"], s["submissions"]
        d = Course()
        limits = replace(d.limits, **{LIMIT_KEYS[k]: v for k, v in lim.items()})
        groups = self.rules("groups", data.get("groups", {}), suite_groups(), "scale")
        tests = self.rules("tests", data.get("tests", {}), suite_tests(), "weight")
        return Course(
            title=a.get("title", d.title), points=float(a.get("points", d.points)),
            visibility=a.get("visibility", d.visibility),
            forward_needs_gradient=a.get("forward_needs_gradient", d.forward_needs_gradient),
            secret=a.get("secret", d.secret),
            late_penalty=late.get("penalty", d.late_penalty), due=late.get("due", d.due),
            flag_late_days=float(late.get("flag_days", d.flag_late_days)), limits=limits,
            allowed_imports=tuple(s["sandbox"].get("allowed_imports", d.allowed_imports)),
            submissions=self.submissions(sub, d.submissions), groups=groups, tests=tests)

    def submissions(self, sub: dict, d: Policy) -> Policy:
        extensions = {}
        for student, date in sub.get("extensions", {}).items():
            if hasattr(date, "isoformat"):  # a TOML date or date-time, written bare
                date = date.isoformat()
            if not isinstance(date, str) or not date or _due(date):
                self.fail(("submissions", "extensions", student),
                          f"the extension for `{student}` must be a date like "
                          f"\"2026-12-08T23:59\" (ISO 8601), got {_shown(date)}")
            extensions[student] = date
        return Policy(attempts=sub.get("attempts", d.attempts),
                      cooldown=parse_duration(sub.get("cooldown", d.cooldown)),
                      counts=sub.get("counts", d.counts), extensions=extensions)

    def rules(self, section: str, value, known, weight_key: str) -> dict[str, Rule]:
        if not isinstance(value, dict):
            self.fail((section,), f"[{section}] must be a table, got {_shown(value)}")
        rules = {}
        for name, body in value.items():
            if name not in known:
                what = "group" if section == "groups" else "hidden test"
                self.fail((section, name), f"no {what} is named `{name}`; the "
                          f"{what}s are: {', '.join(known)}")
            body = self.table((section, name), body, RULES[section])
            w = body.get(weight_key)
            rules[name] = Rule(None if w is None else float(w), body.get("visibility"))
        return rules


# --------------------------------------------------------------------------- grader init

def template(secret: str = "") -> str:
    """A course file with every key at its default, each explained, and `secret` (`grader
    init` makes a new one): `load` of it gives `Course(secret=secret)` (but for `path` and
    `sha256`)."""
    d = Course()
    tests = suite()
    raw = sum(t.weight * t.cases for t in tests)
    out = [
        "# The course file of backprop-grader: every command reads it from the current folder",
        "# (or --config PATH); an option given on the command line wins over it. Each key below",
        "# is set to its default, but for the secret: a new random one.",
        "",
        "[assignment]",
        f"title = {_toml(d.title)}  # heads the feedback pages and the class report",
        f"points = {d.points:g}  # the total the tests are scaled to; 0: the sum of their "
        f"weights ({raw:g})",
        f"visibility = {_toml(d.visibility)}  # Gradescope's visibility of the whole result: "
        + ", ".join(VISIBILITIES),
        "# true: a hand-in that passes no test outside the `forward` group (an untouched stub)",
        "# gets 0 for its forward tests too; false: forward tests earn their points regardless.",
        f"forward_needs_gradient = {_toml(d.forward_needs_gradient)}",
        "# Seeds each hand-in's own values of the hidden tests (with the hand-in's content), so",
        "# no student's feedback answers another's tests. Keep it from students; the same",
        "# secret and file give the same values. \"\": a public default (see the README).",
        f"secret = {_toml(secret)}",
        "",
        "[late]",
        f"penalty = {_toml(d.late_penalty)}  # \"10%/day\" per started day late, \"20%\" flat, "
        "\"\" none",
        f"due = {_toml(d.due)}  # ISO 8601, e.g. \"2026-12-01T23:59\"; \"\" none. Also when "
        "after_due_date tests show",
        f"flag_days = {d.flag_late_days:g}  # days charged to a hand-in flagged late without a "
        "time (Canvas _LATE)",
        "",
        "[limits]",
        f"test_timeout = {d.limits.test_seconds:g}  # seconds one test may take",
        f"handin_timeout = {d.limits.handin_seconds:g}  # seconds all of one hand-in's tests "
        "may take",
        f"cell_timeout = {d.limits.cell_seconds:g}  # seconds a notebook cell may run while "
        "loading",
        f"memory = {d.limits.memory_mb}  # MiB per hand-in",
        f"max_output = {d.limits.output_bytes}  # bytes of a hand-in's printed output kept",
        f"max_file = {d.limits.file_mb}  # MiB: the largest file a hand-in may write",
        "",
        "[sandbox]",
        f"allowed_imports = {_toml(list(d.allowed_imports))}  # packages hand-ins may import "
        "besides the standard library",
        "",
        "# Attempts, applied by the Gradescope autograder and the submission service: an",
        "# attempt that does not count is graded and shown, and says why it does not count.",
        "[submissions]",
        f"attempts = {d.submissions.attempts}  # how many attempts may count; 0: unlimited",
        f"cooldown = {_toml(duration_text(d.submissions.cooldown))}  # after an attempt that "
        "counts, the next counts only this much later: \"10m\", \"30s\", \"1h\"; \"0\" none",
        f"counts = {_toml(d.submissions.counts)}  # whose score is the student's: \"last\" "
        "(the latest that counts) or \"best\"",
        "# Per-student due dates, by student id (an email as Gradescope or the LMS gives it,",
        "# or a login): e.g. \"ada@example.edu\" = \"2026-12-08T23:59\"",
        "[submissions.extensions]",
        "",
        "# Each group is a file of hidden tests. `scale` multiplies the points of every test in",
        "# it (0: the group counts nothing); `visibility` is its tests' Gradescope visibility:",
        "# visible, hidden (never shown to students), after_due_date, after_published.",
    ]
    for g in dict.fromkeys(t.group for t in tests):
        pts = sum(t.weight * t.cases for t in tests if t.group == g)
        out += ["", f"[groups.{g}]  # {pts:g} points",
                "scale = 1", f"visibility = {_toml('visible')}"]
    out += ["", "# Each test's points (`weight`); a test may also take its own `visibility`,",
            "# which wins over its group's: e.g. test_neuron = { weight = 3, visibility = "
            "\"hidden\" }.",
            "[tests]"]
    for t in tests:
        each = f" ({t.cases} cases, each worth the weight)" if t.cases > 1 else ""
        out.append(f"{t.name} = {{ weight = {t.weight:g} }}  # {t.group}: {t.title}{each}")
    return "\n".join(out) + "\n"


def _toml(x) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, str):
        return '"' + x.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(x, list):
        return "[" + ", ".join(_toml(v) for v in x) + "]"
    return f"{x:g}"
