"""Pairs of hand-ins a human may want to compare: shared code and shared failures, weighed by
how rare they are in the class. A pointer for a human, never a verdict.

For this exercise plain similarity is weak: every correct engine is close to the lecture's code
and the handed-out skeleton. What stands out is what two hand-ins share that the rest of the
class does not, above all shared *wrong* code and the same rare failures. So:

* Code is fingerprinted by copydetect (its tokenizer replaces every name with one letter and
  drops comments, so renaming and re-commenting change nothing; its k-grams do not care in
  which order methods come). Fingerprints of the handed-out code (`assignments/engine.py`, the
  notebook's code cells, the lecture's code cells in `solutions/lecture.md`) are removed as
  boilerplate, as are those more than `COMMON` of the class share.
* Each shared fingerprint weighs its rarity in the class (`log((N + 1) / holders)`), and a
  fingerprint of the reference solution (correct code) only `CORRECT` of that: two hand-ins
  that share code nobody else wrote, and that is not the known right answer, share most.
* A failed test is a failure signature: the test with the misconceptions it showed (not its
  feedback text: each hand-in is graded on its own instance of the values, and a renamed copy's
  feedback names its own names), weighed by its rarity the same way. Passing everything shares
  nothing.
* `similarity = 0.75 * shared code + 0.25 * shared failures`, each a weighted Jaccard share
  between 0 and 1.

copydetect (and numpy, matplotlib with it) is imported only here, when `grader batch` runs:
grading never loads it.
"""
from __future__ import annotations

import csv
import io
import keyword
import math
import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..results.model import Result

MARKS = ("def ", "async def ", "class ")
K = 25            # copydetect's noise threshold: k-grams of its filtered code, in characters
COMMON = 0.1      # a fingerprint more than this share of the class holds is common knowledge
COMMON_AT_LEAST = 20  # ... but never fewer hand-ins than this (small classes, copying rings)
CORRECT = 0.25    # what a fingerprint of the reference solution weighs, against one that is not
CODE, FAILURES = 0.75, 0.25
COLUMNS = ["student_a", "student_b", "similarity", "shared_code", "shared_failures",
           "copydetect", "failed_alike", "shared_excerpt"]
KIT = Path(__file__).resolve().parents[2]  # a checkout: assignments/, solutions/ beside grader/


@dataclass
class Handin:
    """What a student's hand-in brings to the comparison."""
    student: str
    code: str = ""
    failures: dict[str, str] = field(default_factory=dict)  # signature -> the test's name
    hashes: set[int] = field(default_factory=set)


@dataclass
class Pair:
    a: str
    b: str
    similarity: float
    code: float
    failures: float
    failed_alike: list[str]
    copydetect: float | None = None
    excerpt: str = ""

    def row(self) -> list:
        alike = "; ".join(self.failed_alike[:3])
        if len(self.failed_alike) > 3:
            alike = f"{len(self.failed_alike)} tests: {alike}; ..."
        return [self.a, self.b, f"{self.similarity:.3f}", f"{self.code:.3f}",
                f"{self.failures:.3f}",
                "" if self.copydetect is None else f"{self.copydetect:.3f}", alike, self.excerpt]


def source(path: Path) -> str:
    """A hand-in's code as graded (a notebook's code cells), or "" if it cannot be read."""
    from ..grading.handin import HandinError, load

    try:
        return "\n\n".join(cell["source"] for cell in load(Path(path)).cells)
    except (HandinError, OSError):
        return ""


def handed_out(kit: Path = KIT) -> list[str]:
    """The code every student was given or shown: the skeleton, the notebook's code cells, the
    lecture's code cells (what a checkout of the kit holds; none where it does not)."""
    code = []
    for path in (kit / "assignments" / "engine.py", kit / "assignments" / "engine.ipynb"):
        if path.is_file():
            code.append(source(path))
    lecture = kit / "solutions" / "lecture.md"
    if lecture.is_file():
        from ..materials.lecture import cells

        code += [c["source"] for c in cells(lecture.read_text(encoding="utf-8"))
                 if c["type"] == "code"]
    return [c for c in code if c.strip()]


def reference(kit: Path = KIT) -> str:
    """The correct code: the reference solution, where the kit's checkout has it."""
    path = kit / "solutions" / "engine.py"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def failures(result: Result) -> dict[str, str]:
    """The failure signatures of a result: each failed test with the misconceptions it showed.
    Not its feedback text: every hand-in is graded on its own instance of the values, so two
    copies of one engine read other numbers, and a renamed copy's feedback names its own names."""
    out = {}
    for t in result.tests:
        ids = sorted(t.extra.get("misconceptions", []))
        if t.status != "failed" or t.output.startswith("Not graded") or ids == ["stub"]:
            continue  # a closure left as handed out is no signature of anyone's
        out[f"{t.name}\x00{','.join(ids) or 'failed'}"] = t.name
    return out


def _fingerprint(code: str, boilerplate=None):
    from copydetect import CodeFingerprint

    return CodeFingerprint("engine.py", K, 1, boilerplate=boilerplate, language="python",
                           fp=io.StringIO(code))


def _plain_self(code: str) -> str:
    """`self` as any other name: copydetect's filter keeps it as it is, so a copy that calls
    it `s` would share nothing with its original."""
    return re.sub(r"\bself\b", "self_", code)


_NAME = re.compile(r"\b(?!(?:" + "|".join(keyword.kwlist) + r")\b)[A-Za-z_]\w*")


def _shape(line: str) -> str:
    """A line with every name one letter and no comment: lines that differ only in their
    names (a renamed copy's and its original's) have the same shape."""
    return _NAME.sub("V", line.split("#", 1)[0].strip())


def _hashes(code: str, boilerplate, given: frozenset = frozenset()) -> set[int]:
    """copydetect's fingerprints of `code`, each function and method on its own (its filtered
    code cut before every `def`), so that reordering methods changes none. Lines shaped as a
    handed-out line (`given`, see `_shape`; but `def` and `class` lines, which mark where
    pieces start) are left out before copydetect sees the code: they are boilerplate anyway,
    and lexing a hand-in's own few lines instead of the whole skeleton is most of the cost. Python's
    string hashes: comparable within one process and the processes it forks, not across runs."""
    from copydetect.utils import filter_code, get_document_fingerprints

    if given:
        code = "".join(line for line in code.splitlines(keepends=True)
                       if _shape(line) not in given or line.lstrip().startswith(MARKS))
    try:
        filtered, _ = filter_code(_plain_self(code), "engine.py", "python")
    except Exception:  # code pygments cannot lex: nothing to compare, never a failed batch
        return set()
    found = set()
    for piece in re.split(r"(?=defF\()", filtered):
        if len(piece) >= K:
            hashes, _ = get_document_fingerprints(piece, K, 1, boilerplate)
            found.update(int(h) for h in hashes)
    return found


def _fingerprints(codes: list[str], boilerplate, given: frozenset,
                  jobs: int) -> list[set[int]]:
    """`_hashes` of each code, in `jobs` processes forked from this one (same string hashes)."""
    if jobs <= 1 or len(codes) < 50 or not sys.platform.startswith("linux"):
        return [_hashes(c, boilerplate, given) for c in codes]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
        return list(pool.map(partial(_hashes, boilerplate=boilerplate, given=given), codes,
                             chunksize=max(1, len(codes) // (4 * jobs))))


@dataclass
class Prints:
    """What the class's code gives before any result is known: the handed-out code's
    fingerprints (`boiler`), the reference solution's (`correct`), each code's (`made`)."""
    boiler: object
    given: frozenset
    correct: set[int]
    made: dict[str, set[int]] = field(default_factory=dict)


def prints_of(kit: Path = KIT) -> Prints:
    """The handed-out code's and the reference solution's fingerprints; no hand-in's yet."""
    import numpy as np

    out_there = handed_out(kit)
    boiler = np.array(sorted({h for code in out_there for h in _hashes(code, None)}))
    given = frozenset(_shape(line) for code in out_there for line in code.splitlines())
    return Prints(boiler, given, _hashes(reference(kit), boiler, given))


def fingerprint_all(prints: Prints, codes, jobs: int = 1) -> Prints:
    """Each of `codes` fingerprinted into `prints.made` (identical ones once), in `jobs`
    processes."""
    distinct = [c for c in dict.fromkeys(codes) if c not in prints.made]
    prints.made.update(zip(distinct, _fingerprints(distinct, prints.boiler, prints.given, jobs)))
    return prints


def pairs(handins: list[Handin], kit: Path = KIT, top: int = 20, jobs: int = 1,
          prints: Prints | None = None) -> list[Pair]:
    """Every pair of hand-ins that shares anything rare, most suspicious first; the `top`
    ones also get copydetect's own similarity and an excerpt of the code they share.
    Fingerprints not in `prints` already are made in `jobs` processes."""
    prints = fingerprint_all(prints or prints_of(kit), (h.code for h in handins), jobs)
    boiler, correct = prints.boiler, prints.correct
    for h in handins:
        h.hashes = prints.made[h.code]
    n = len(handins)
    common = max(COMMON_AT_LEAST, COMMON * n)

    def weights(features: list[set]) -> dict:
        held = Counter(f for fs in features for f in fs)
        return {f: math.log((n + 1) / k) for f, k in held.items() if k <= common}

    rarity = weights([h.hashes for h in handins])
    code_w = {f: w * (CORRECT if f in correct else 1.0) for f, w in rarity.items()}
    fail_w = weights([set(h.failures) for h in handins])
    # shared code counts at its discounted weight against all code at its full weight:
    # a copy of the right answer shares less than a copy of a wrong one
    code_total = [sum(rarity.get(f, 0.0) for f in h.hashes) for h in handins]
    fail_total = [sum(fail_w.get(f, 0.0) for f in h.failures) for h in handins]

    shared_code: dict[tuple[int, int], float] = defaultdict(float)
    shared_full: dict[tuple[int, int], float] = defaultdict(float)
    shared_fail: dict[tuple[int, int], float] = defaultdict(float)
    for features, w, shared in (([h.hashes for h in handins], code_w, shared_code),
                                ([h.hashes for h in handins], rarity, shared_full),
                                ([h.failures for h in handins], fail_w, shared_fail)):
        holders = defaultdict(list)
        for i, fs in enumerate(features):
            for f in fs:
                if f in w:
                    holders[f].append(i)
        for f, who in holders.items():
            for x in range(len(who)):
                for y in range(x + 1, len(who)):
                    shared[who[x], who[y]] += w[f]

    found = []
    for i, j in set(shared_code) | set(shared_fail):
        code = _share(shared_code.get((i, j), 0.0), code_total[i], code_total[j],
                      shared_full.get((i, j), 0.0))
        fail = _share(shared_fail.get((i, j), 0.0), fail_total[i], fail_total[j])
        alike = sorted({handins[i].failures[f] for f in handins[i].failures
                        if f in handins[j].failures and f in fail_w})
        found.append(Pair(handins[i].student, handins[j].student,
                          round(CODE * code + FAILURES * fail, 6), code, fail, alike))
    found.sort(key=lambda p: (-p.similarity, p.a, p.b))
    by_id = {h.student: h for h in handins}
    whole: dict[str, object] = {}

    def fingerprint(student):
        code = by_id[student].code
        if code not in whole:
            try:
                whole[code] = _fingerprint(_plain_self(code), boiler)
            except Exception:
                whole[code] = None
        return whole[code]
    for p in found[:top]:
        p.copydetect, p.excerpt = _compare(by_id[p.a].code, fingerprint(p.a), fingerprint(p.b))
    return found


def _share(shared: float, a: float, b: float, counted: float | None = None) -> float:
    """Weighted Jaccard: what the two share (at `shared`'s weights) over all they hold between
    them (`a + b - counted`, `counted` being what they share at the weights of `a` and `b`)."""
    union = a + b - (shared if counted is None else counted)
    return min(1.0, shared / union) if union > 0 else 0.0


def _compare(code: str, a, b) -> tuple[float | None, str]:
    """copydetect's own similarity of a pair of fingerprints (the smaller of its two shares,
    boilerplate removed) and the longest stretch of `a`'s `code` the two share, on one line."""
    from copydetect import compare_files

    if a is None or b is None:
        return None, ""
    _, (sa, sb), (slices, _) = compare_files(a, b)
    if len(slices) == 0 or len(slices[0]) == 0:
        return float(min(sa, sb)), ""
    start, end = max(zip(slices[0], slices[1]), key=lambda s: s[1] - s[0])
    excerpt = " ".join(_plain_self(code)[int(start):int(end)].split()).replace("self_", "self")
    return float(min(sa, sb)), excerpt[:160] + ("..." if len(excerpt) > 160 else "")


def compare(codes: dict[str, str], failures: dict[str, dict], out: Path, jobs: int = 1,
            kit: Path = KIT, prints: Prints | None = None, top: int = 20) -> list[Pair]:
    """similarity.csv in OUT for the hand-ins' `codes` and their results' `failures` (both by
    student, in the order of the class); the `top` pairs, for the report."""
    handins = [Handin(sid, code, failures.get(sid, {})) for sid, code in codes.items()]
    found = pairs(handins, kit, top, jobs, prints)
    write_csv(out / "similarity.csv", found)
    return found[:top]


class Beside:
    """similarity.csv worked out beside the grading. A process forked now reads every hand-in's
    code, imports copydetect (and numpy, matplotlib with it: seconds) and fingerprints the code
    while the workers grade; once the results are in (`finish`), only the pairs are left to find.
    Where processes are not forked (not Linux), all of it is done in this one at `finish`."""

    def __init__(self, paths: dict[str, Path], out: Path, jobs: int = 1, kit: Path = KIT):
        self.out, self.jobs, self.kit = out, jobs, kit
        self.conn = self.proc = None
        if not sys.platform.startswith("linux"):
            self.codes = {sid: source(p) for sid, p in paths.items()}
            return
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=_beside, args=(theirs, paths, out, jobs, kit),
                                daemon=True)
        self.proc.start()
        theirs.close()

    def read(self) -> None:
        """Return once every hand-in's code is read (before the hand-ins' files go)."""
        if self.conn is not None:
            self._get()

    def finish(self, failures: dict[str, dict]) -> None:
        """Start on the pairs, from the results' failure signatures (`failures`, by student);
        `pairs` waits for them."""
        if self.conn is None:
            self.found = compare(self.codes, failures, self.out, self.jobs, self.kit)
        else:
            try:
                self.conn.send(failures)
            except OSError:  # it stopped on an error: `pairs` reads and says it
                pass

    def pairs(self) -> list[Pair]:
        """Once similarity.csv is written, the top pairs, for the report."""
        if self.conn is not None:
            self.found = self._get()
            self.close()
        return self.found

    def _get(self):
        try:
            kind, what = self.conn.recv()
        except (EOFError, OSError):
            raise RuntimeError("the process working out similarity.csv died") from None
        if kind == "error":
            raise RuntimeError(f"similarity.csv: {what}")
        return what

    def close(self) -> None:
        if self.proc is not None:
            self.conn.close()
            self.proc.terminate()
            self.proc.join(2)
            self.proc = None


def _beside(conn, paths: dict[str, Path], out: Path, jobs: int, kit: Path) -> None:
    """`Beside`'s process: read, fingerprint one code at a time while the parent grades (its
    workers have the cores), every core for the rest once the failures arrive, then compare."""
    import signal

    from .run import _die_with_parent

    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"  # numpy's linear algebra is not used: no threads to wait on
    try:
        codes = {sid: source(p) for sid, p in paths.items()}
        conn.send(("read", None))
        _import_copydetect_alone()
        prints = prints_of(kit)
        for code in codes.values():
            if conn.poll():
                break
            fingerprint_all(prints, [code])
        failures = conn.recv()
        conn.send(("done", compare(codes, failures, out, jobs, kit, prints)))
    except Exception as e:  # noqa: BLE001 (said in the parent, which stops the batch)
        conn.send(("error", f"{type(e).__name__}: {e}"))


def _import_copydetect_alone() -> None:
    """Import copydetect without matplotlib, in `Beside`'s process only (which draws nothing):
    copydetect imports pyplot for the HTML report of its own command line, never made here,
    and pyplot is two thirds of its import time and half its memory. Stand-ins take
    matplotlib's place while copydetect is imported; if that fails, it is imported as it is."""
    import types

    if "copydetect" in sys.modules or "matplotlib" in sys.modules:
        return
    stand_in = types.ModuleType("matplotlib")
    stand_in.pyplot = types.ModuleType("matplotlib.pyplot")
    sys.modules.update({"matplotlib": stand_in, "matplotlib.pyplot": stand_in.pyplot})
    try:
        import copydetect  # noqa: F401
    except Exception:  # noqa: BLE001 (a copydetect that needs more of it: the real one)
        for name in [m for m in sys.modules if m.split(".")[0] == "copydetect"]:
            del sys.modules[name]
    finally:
        del sys.modules["matplotlib"], sys.modules["matplotlib.pyplot"]


def write_csv(path: Path, found: list[Pair]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for p in found:
        w.writerow(p.row())
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    tmp.replace(path)
