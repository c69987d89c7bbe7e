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
* A failed test is a failure signature twice over: the test with the misconceptions it showed,
  and the test with its exact feedback (the same wrong gradients on the same graph); each
  weighs its rarity the same way. Passing everything shares nothing.
* `similarity = 0.75 * shared code + 0.25 * shared failures`, each a weighted Jaccard share
  between 0 and 1.

copydetect (and numpy, matplotlib with it) is imported only here, when `grader batch` runs:
grading never loads it.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..results import Result

K = 25            # copydetect's noise threshold: k-grams of its filtered code, in characters
COMMON = 0.2      # a fingerprint more than this share of the class holds is common knowledge
COMMON_AT_LEAST = 5  # ... but never fewer hand-ins than this (small classes)
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
        return [self.a, self.b, f"{self.similarity:.3f}", f"{self.code:.3f}",
                f"{self.failures:.3f}",
                "" if self.copydetect is None else f"{self.copydetect:.3f}",
                "; ".join(self.failed_alike), self.excerpt]


def source(path: Path) -> str:
    """A hand-in's code as graded (a notebook's code cells), or "" if it cannot be read."""
    from ..handin import HandinError, load

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
    """The failure signatures of a result: for each failed test, the test with the
    misconceptions it showed, and the test with its exact feedback."""
    out = {}
    for t in result.tests:
        if t.status != "failed" or t.output.startswith("Not graded"):
            continue
        ids = ",".join(sorted(t.extra.get("misconceptions", []))) or "failed"
        out[f"{t.name}\x00{ids}"] = t.name
        digest = hashlib.sha256(t.output.encode("utf-8", "replace")).hexdigest()
        out[f"{t.name}\x00{digest}"] = t.name
    return out


def _fingerprint(code: str, boilerplate=None):
    from copydetect import CodeFingerprint

    return CodeFingerprint("engine.py", K, 1, boilerplate=boilerplate, language="python",
                           fp=io.StringIO(code))


def _plain_self(code: str) -> str:
    """`self` as any other name: copydetect's filter keeps it as it is, so a copy that calls
    it `s` would share nothing with its original."""
    return re.sub(r"\bself\b", "me", code)


def units(code: str) -> list[str]:
    """The code in pieces no k-gram should span: each function and method on its own, and
    the rest of the module, so reordering methods changes no fingerprint. Code that does not
    parse is one piece."""
    import ast

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return [code]
    lines = code.splitlines(keepends=True)
    pieces, taken = [], set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                not any(node.lineno - 1 in range(a, b) for a, b in taken):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            pieces.append("".join(lines[start:node.end_lineno]))
            taken.add((start, node.end_lineno))
    rest = "".join(line for i, line in enumerate(lines)
                   if not any(a <= i < b for a, b in taken))
    return [rest] + pieces


def _hashes(code: str, boilerplate) -> set[int]:
    found = set()
    for piece in units(_plain_self(code)):
        try:
            found |= {int(h) for h in _fingerprint(piece, boilerplate).hashes}
        except Exception:  # code pygments cannot lex: nothing to compare, never a failed batch
            pass
    return found


def pairs(handins: list[Handin], kit: Path = KIT, top: int = 200) -> list[Pair]:
    """Every pair of hand-ins that shares anything rare, most suspicious first; the `top`
    ones also get copydetect's own similarity and an excerpt of the code they share."""
    boiler = sorted({h for code in handed_out(kit) for h in _hashes(code, None)})
    correct = _hashes(reference(kit), boiler)
    seen: dict[str, set[int]] = {}  # identical hand-ins are fingerprinted once
    for h in handins:
        if h.code not in seen:
            seen[h.code] = _hashes(h.code, boiler)
        h.hashes = seen[h.code]
    n = len(handins)
    common = max(COMMON_AT_LEAST, COMMON * n)

    def weights(features: list[set]) -> dict:
        held = Counter(f for fs in features for f in fs)
        return {f: math.log((n + 1) / k) for f, k in held.items() if k <= common}

    code_w = weights([h.hashes for h in handins])
    for f in code_w:
        if f in correct:
            code_w[f] *= CORRECT
    fail_w = weights([set(h.failures) for h in handins])
    code_total = [sum(code_w.get(f, 0.0) for f in h.hashes) for h in handins]
    fail_total = [sum(fail_w.get(f, 0.0) for f in h.failures) for h in handins]

    shared_code: dict[tuple[int, int], float] = defaultdict(float)
    shared_fail: dict[tuple[int, int], float] = defaultdict(float)
    for features, w, shared in (([h.hashes for h in handins], code_w, shared_code),
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
        code = _share(shared_code.get((i, j), 0.0), code_total[i], code_total[j])
        fail = _share(shared_fail.get((i, j), 0.0), fail_total[i], fail_total[j])
        alike = sorted({handins[i].failures[f] for f in handins[i].failures
                        if f in handins[j].failures and f in fail_w})
        found.append(Pair(handins[i].student, handins[j].student,
                          round(CODE * code + FAILURES * fail, 6), code, fail, alike))
    found.sort(key=lambda p: (-p.similarity, p.a, p.b))
    by_id = {h.student: h for h in handins}
    whole: dict[str, object] = {}

    def fingerprint(student):
        if student not in whole:
            try:
                whole[student] = _fingerprint(_plain_self(by_id[student].code), boiler)
            except Exception:
                whole[student] = None
        return whole[student]
    for p in found[:top]:
        p.copydetect, p.excerpt = _compare(by_id[p.a].code, fingerprint(p.a), fingerprint(p.b))
    return found


def _share(shared: float, a: float, b: float) -> float:
    """Weighted Jaccard: what the two share over all they hold between them."""
    union = a + b - shared
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
    excerpt = " ".join(_plain_self(code)[int(start):int(end)].split())
    return float(min(sa, sb)), excerpt[:160] + ("..." if len(excerpt) > 160 else "")


def write_csv(path: Path, found: list[Pair]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for p in found:
        w.writerow(p.row())
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    tmp.replace(path)
