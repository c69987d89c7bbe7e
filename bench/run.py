"""Speed benchmark: one `grader grade` and a whole `grader batch` against `import pytest`.

    python bench/run.py [--handins 500] [--runs 5] [--batch-runs 3] [--jobs 2]
                        [--out bench/results.json] [--skip-memory] [--skip-check]

Everything is timed on this machine in this run, from the shell (subprocesses of the `grader`
command installed next to `sys.executable`), several times each; medians are reported, with the
minimum and maximum beside them because shared machines are noisy. Figures:

- bare: `python -c pass` and `python -c "import pytest"` (the yardstick);
- one hand-in: `grader grade engine.py` end to end (the reference solution);
- a class: `grader batch CLASS --out DIR --jobs J` over a class of mixed hand-ins (the reference,
  every mutant of tests/mutants.py, the stub, notebooks of some of them, and malformed files:
  a syntax error, an empty file, a binary file, a notebook that is not JSON), at 100 and at the
  full size, to show the time per hand-in does not grow with the class;
- peak memory of the whole batch: the sum of the RSS of every process under `grader batch`
  (workers, sandbox hosts, bwrap, hand-in children), sampled every 50 ms from /proc, in a run of
  its own so the sampling does not slow the timed runs. RSS counts pages shared between forked
  processes once per process, so the sum is an upper bound; the sum of PSS (shared pages split
  between the processes sharing them) is given beside it when /proc allows reading it, and
  getrusage(RUSAGE_CHILDREN).ru_maxrss (the largest single process) as a lower bound;
- where the time of one hand-in goes: one `grader grade` run in a child interpreter with
  time.perf_counter marks around the CLI import, pytest's start-up and collection, the sandbox
  start, reading the hand-in, loading it in the sandbox, the tests, the report and the shutdown;
- batch == alone: for a sample of hand-ins, the per-test scores of `grader grade FILE` equal the
  batch's results/<student>.json;
- hostile hand-ins: `grader grade` on hand-ins that in every backward() call leave the process,
  hog memory, loop forever or print without end, each as a ratio to import pytest;
- bytecode: how many of the grader package's modules have a bytecode cache (the warm-up run
  writes them where it can, whatever PYTHONDONTWRITEBYTECODE says: an installed kit has them).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
GRADER = str(Path(PY).with_name("grader"))

ONE_TARGET = 1.5      # one hand-in / import pytest
BATCH_TARGET = 0.1    # batch seconds per hand-in / import pytest
HOSTILE_TARGET = 20   # one hostile hand-in / import pytest

# Hand-ins that misbehave in every backward() call (the reference with a snippet appended):
# leave the process, hog memory, loop forever, print without end.
HOSTILE = {"exit": ROOT / "tests" / "hostile" / "exit_backward_os.py",
           "memory": ROOT / "bench" / "hostile" / "memory_backward.py",
           "loop": ROOT / "bench" / "hostile" / "loop_backward.py",
           "print": ROOT / "bench" / "hostile" / "print_backward.py"}


# ---------------------------------------------------------------- the class

def _mutants():
    spec = importlib.util.spec_from_file_location("bench_mutants", ROOT / "tests" / "mutants.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _notebook(source: str) -> str:
    import nbformat
    from nbformat import v4

    nb = v4.new_notebook()
    # The engine split in two code cells around a markdown cell, plus a magic, as in a lecture.
    head, sep, tail = source.partition("\nclass Value")
    nb.cells = [v4.new_markdown_cell("# Autodiff\nFill in the backward closures."),
                v4.new_code_cell("%matplotlib inline\n" + head),
                v4.new_markdown_cell("The engine:"),
                v4.new_code_cell((sep + tail).lstrip("\n"))]
    return nbformat.writes(nb)


def handin_kinds() -> list[tuple[str, str, bytes]]:
    """(kind, suffix, content) for every kind of hand-in in the class, in cycling order."""
    m = _mutants()
    reference = m.REFERENCE.read_text()
    stub = (ROOT / "assignments" / "engine.py").read_text()
    kinds = [("reference", ".py", reference.encode())]
    kinds += [(f"mutant:{name}", ".py", m.source(name).encode()) for name in m.MUTANTS]
    kinds.append(("stub", ".py", stub.encode()))
    for name, src in (("reference", reference), ("stub", stub),
                      ("add-overwrite", m.source("add-overwrite")),
                      ("tanh-from-input", m.source("tanh-from-input"))):
        kinds.append((f"notebook:{name}", ".ipynb", _notebook(src).encode()))
    kinds += [
        ("malformed:syntax", ".py", reference.replace("def backward(self):",
                                                      "def backward(self)").encode()),
        ("malformed:empty", ".py", b""),
        ("malformed:binary", ".py", b"\x7fELF\x02\x01\x01\0\0\0" + bytes(range(256)) * 4),
        ("malformed:notebook", ".ipynb", b'{"cells": [{"cell_type": "code", "source": '),
    ]
    return kinds


def build_class(folder: Path, n: int) -> dict[str, str]:
    """n loose files s0001.py, s0002.ipynb... cycling through the kinds; {student: kind}."""
    folder.mkdir(parents=True, exist_ok=True)
    kinds = handin_kinds()
    students = {}
    for i in range(n):
        kind, suffix, content = kinds[i % len(kinds)]
        student = f"s{i + 1:04d}"
        (folder / (student + suffix)).write_bytes(content)
        students[student] = kind
    return students


# ---------------------------------------------------------------- timing

def _env() -> dict:
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env["PATH"] = str(Path(PY).parent) + os.pathsep + env.get("PATH", "")
    return env


def timed(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env or _env(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): "
                           f"{p.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def warm(cmd: list[str], cwd: Path | None = None) -> float:
    """Run `cmd` once, untimed, writing the bytecode caches it lacks (pip writes them at install;
    a working tree has them once anything has run there, unless PYTHONDONTWRITEBYTECODE)."""
    env = _env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return timed(cmd, cwd, env)


def bytecode(grader: str) -> dict | None:
    """How many modules of the `grader` package the command `grader` runs have a bytecode cache
    (asked of the python beside it)."""
    python = Path(grader).with_name("python")
    if not python.exists():
        return None
    ask = ("import grader, importlib.util, json, pathlib\n"
           "mods = list(pathlib.Path(grader.__file__).parent.rglob('*.py'))\n"
           "have = [m for m in mods if pathlib.Path(importlib.util.cache_from_source(str(m)))"
           ".is_file()]\n"
           "print(json.dumps({'package': str(pathlib.Path(grader.__file__).parent), "
           "'modules': len(mods), 'cached': len(have)}))")
    p = subprocess.run([str(python), "-c", ask], env=_env(), capture_output=True, text=True,
                       cwd=tempfile.gettempdir())
    return json.loads(p.stdout) if p.returncode == 0 else None


def hostile_handins(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    reference = (ROOT / "solutions" / "engine.py").read_text()
    out = {}
    for kind, snippet in HOSTILE.items():
        out[kind] = folder / f"{kind}.py"
        out[kind].write_text(reference + "\n\n" + snippet.read_text())
    return out


def hostile_costs(folder: Path, runs: int, import_pytest: float) -> dict:
    """Wall seconds of `grader grade` on each hostile hand-in, and the median over import
    pytest (target HOSTILE_TARGET)."""
    handins = hostile_handins(folder)
    samples = {kind: [] for kind in handins}
    for _ in range(runs):
        for kind, path in handins.items():
            samples[kind].append(timed([GRADER, "grade", str(path)], cwd=folder))
    out = {kind: {**summary(s), "over_import_pytest": statistics.median(s) / import_pytest}
           for kind, s in samples.items()}
    return {"target": HOSTILE_TARGET, "handins": out,
            "worst_over_import_pytest": max(v["over_import_pytest"] for v in out.values())}


def summary(samples: list[float]) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "runs": [round(s, 4) for s in samples]}


def batch_cmd(cls: Path, out: Path, jobs: int, grader: str | None = None) -> list[str]:
    return [grader or GRADER, "batch", str(cls), "--out", str(out), "--jobs", str(jobs)]


# ---------------------------------------------------------------- memory

def _tree(root: int) -> list[int]:
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            parent[int(name)] = int(stat[stat.rfind(b")") + 2:].split()[1])
    children: dict[int, list[int]] = {}
    for pid, pp in parent.items():
        children.setdefault(pp, []).append(pid)
    found, frontier = [], [root]
    while frontier:
        p = frontier.pop()
        found.append(p)
        frontier.extend(children.get(p, []))
    return found


def _hwm(pid: int) -> int:
    """The process's own peak RSS so far (VmHWM), in bytes."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def _rss_pss(pid: int, page: int) -> tuple[int, int | None]:
    try:
        with open(f"/proc/{pid}/statm") as f:
            rss = int(f.read().split()[1]) * page
    except (OSError, IndexError, ValueError):
        return 0, 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return rss, int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, None


def batch_memory(cls: Path, out: Path, jobs: int, interval: float = 0.05) -> dict:
    """Peak summed RSS (and PSS) of the `grader batch` process tree, sampled from /proc."""
    page = os.sysconf("SC_PAGE_SIZE")
    p = subprocess.Popen(batch_cmd(cls, out, jobs), env=_env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    peak = {"rss": 0, "pss": 0, "pss_complete": True, "processes": 0, "samples": 0, "hwm": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            rss = pss = 0
            complete = True
            pids = _tree(p.pid)
            for pid in pids:
                peak["hwm"] = max(peak["hwm"], _hwm(pid))
                r, s = _rss_pss(pid, page)
                rss += r
                if s is None:
                    complete = False
                else:
                    pss += s
            peak["samples"] += 1
            peak["processes"] = max(peak["processes"], len(pids))
            if rss > peak["rss"]:
                peak["rss"] = rss
            if pss > peak["pss"]:
                peak["pss"] = pss
            peak["pss_complete"] &= complete
            done.wait(interval)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    code = p.wait()
    done.set()
    t.join()
    if code != 0:
        raise RuntimeError(f"grader batch failed ({code}) in the memory run")
    after = _maxrss_children()
    mib = 1 << 20
    return {
        "method": "sum of RSS (and of PSS) over the grader batch process tree, "
                  f"sampled every {interval * 1000:g} ms from /proc",
        "peak_rss_sum_mib": round(peak["rss"] / mib, 1),
        "peak_pss_sum_mib": round(peak["pss"] / mib, 1) if peak["pss"] else None,
        "pss_readable_for_every_process": peak["pss_complete"],
        "max_processes": peak["processes"],
        "samples": peak["samples"],
        "largest_single_process_mib_lower_bound": round(peak["hwm"] / mib, 1),
        "ru_maxrss_children_mib": round(after / 1024, 1),
        "ru_maxrss_note": "getrusage(RUSAGE_CHILDREN).ru_maxrss: the largest process among all "
                          "this benchmark's waited-for descendants, earlier timed runs included",
    }


def _maxrss_children() -> int:
    import resource
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux


# ---------------------------------------------------------------- where the time goes

PROFILE = r'''
import sys, time, json, gc
T0 = time.perf_counter()
marks = []
def mark(name):
    marks.append((name, time.perf_counter()))
gc_time = [0.0, None]
def on_gc(phase, info):
    if phase == "start":
        gc_time[1] = time.perf_counter()
    elif gc_time[1] is not None:
        gc_time[0] += time.perf_counter() - gc_time[1]
gc.callbacks.append(on_gc)
import io, contextlib
import grader.cli as cli
mark("import grader.cli (click)")
from grader.sandbox import client

spans = {}
def wrap(owner, name, label):
    f = getattr(owner, name)
    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            spans[label] = spans.get(label, 0.0) + time.perf_counter() - t
    setattr(owner, name, timed)

wrap(client.Sandbox, "launch", "sandbox launch, before pytest's import (not in the sum)")
wrap(client.Sandbox, "start", "sandbox: wait until ready (bwrap ran during the imports)")
wrap(client.Sandbox, "close", "sandbox close")
wrap(client.Handin, "open", "load hand-in in the sandbox (fork + exec)")
wrap(client.Handin, "close", "hand-in close")

def hooked(mod):
    # grader.grading.runner is imported by the grade command (after it starts the sandbox, if it
    # does): wrap its functions and pytest.main as soon as it is imported.
    import pytest
    wrap(sys.modules["grader.grading.session"], "load", "read hand-in from disk")
    wrap(mod, "call_directly", "tests (hidden suite, all items)")

    class Marks:
        @pytest.hookimpl(tryfirst=True)
        def pytest_sessionstart(self, session):
            mark("pytest.main to session start (config, plugins)")
        @pytest.hookimpl(trylast=True)
        def pytest_collection_finish(self, session):
            mark("collection of the hidden suite")
        @pytest.hookimpl(tryfirst=True)
        def pytest_runtestloop(self, session):
            mark("-")
        @pytest.hookimpl(trylast=True)
        def pytest_sessionfinish(self, session):
            mark("grading loop")

    main = pytest.main
    def main_with_marks(args, plugins=()):
        mark("import grader.grading.runner (pytest, checking, sandbox client)")
        return main(args, plugins=[Marks(), *plugins])
    pytest.main = main_with_marks

import importlib.abc
class Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "grader.grading.runner":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        loader = spec.loader
        exec_module = loader.exec_module
        def exec_and_hook(module):
            exec_module(module)
            hooked(module)
        loader.exec_module = exec_and_hook
        return spec
import importlib.util
sys.meta_path.insert(0, Finder())

buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    try:
        cli.main(["grade", sys.argv[1]], standalone_mode=False)
    finally:
        mark("pytest shutdown + report (JSON to stdout)")
sys.stderr.write(json.dumps({"t0": T0, "marks": marks, "spans": spans,
                             "gc": gc_time[0]}))
'''


def where_time_goes(engine: Path, runs: int) -> dict:
    """Median seconds per stage of one `grader grade`, from perf_counter marks in a child."""
    stages: dict[str, list[float]] = {}
    totals = []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run([PY, "-c", PROFILE, str(engine)], env=_env(), cwd=engine.parent,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        totals.append(time.perf_counter() - t)
        data = json.loads(p.stderr[p.stderr.index("{"):])
        prev = data["t0"]
        seen = {}
        for name, at in data["marks"]:
            if name != "-":
                seen[name] = seen.get(name, 0.0) + at - prev
            prev = at
        spans = data["spans"]
        loop = seen.pop("grading loop", 0.0)
        inner = sum(v for k, v in spans.items() if "not in" not in k)
        seen.update(spans)
        seen["grading loop, other (pytest reporting hooks, results)"] = loop - inner
        seen["garbage collection, anywhere above (not in the sum)"] = data["gc"]
        for k, v in seen.items():
            stages.setdefault(k, []).append(v)
    out = {k: round(statistics.median(v), 4) for k, v in stages.items()}
    total = statistics.median(totals)
    out["interpreter start + exit (rest of the wall time)"] = round(
        total - sum(v for k, v in out.items() if "not in the sum" not in k), 4)
    return {"wall_median": round(total, 4), "stages": out}


# ---------------------------------------------------------------- batch == alone

def check_equal(cls: Path, batch_out: Path, students: dict[str, str], sample: int) -> dict:
    from grader.batch.store import filename

    names = sorted(students)
    kinds = len(set(students.values()))
    rounds = max(1, len(names) // kinds)
    # Spread over the kinds (every kind once before any twice) and over the class.
    picked = []
    for i in range(min(sample, len(names))):
        at = (i * kinds // min(sample, kinds)) % kinds + kinds * (i * 7 % rounds) \
            + i // kinds
        at = min(at, len(names) - 1)
        if names[at] not in picked:
            picked.append(names[at])
    mismatches = []
    for s in picked:
        file = next(cls.glob(s + ".*"))
        p = subprocess.run([GRADER, "grade", str(file)], env=_env(), capture_output=True,
                           text=True)
        alone = json.loads(p.stdout)
        batch = json.loads((batch_out / "results" / filename(s)).read_text())
        a = [(t["name"], t["score"], t["max_score"]) for t in alone["tests"]]
        b = [(t["name"], t["score"], t["max_score"]) for t in batch["tests"]]
        if a != b or alone["score"] != batch["score"]:
            mismatches.append({"student": s, "kind": students[s],
                               "alone_score": alone["score"], "batch_score": batch["score"],
                               "differing_tests": [x for x, y in zip(a, b) if x != y][:5]})
    return {"checked": len(picked), "kinds": sorted({students[s] for s in picked}),
            "equal": not mismatches, "mismatches": mismatches}


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    global GRADER
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--handins", type=int, default=500)
    ap.add_argument("--small", type=int, default=100, help="the smaller class, for growth")
    ap.add_argument("--runs", type=int, default=5, help="runs of each quick measurement")
    ap.add_argument("--batch-runs", type=int, default=3, help="runs of each batch")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--sample", type=int, default=20, help="hand-ins checked alone vs batch")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-check", action="store_true")
    ap.add_argument("--hostile-runs", type=int, default=2,
                    help="runs of each hostile hand-in (0: skip them)")
    ap.add_argument("--grader", default=GRADER,
                    help="the grader command to time [default: the one next to this python]")
    ap.add_argument("--before", metavar="CMD",
                    help="another grader command (e.g. an older checkout's) to compare with, "
                         "interleaved in this run: one hand-in and the smaller batch, "
                         "--runs rounds each; gives the ratios this/before")
    args = ap.parse_args(argv)
    GRADER = args.grader
    if not shutil.which(GRADER):
        sys.exit(f"no grader command {GRADER}: pip install -e . into this interpreter's venv")

    work = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    try:
        figures = run_all(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print_table(figures)
    print(f"\nwritten: {args.out}")
    return 0


def run_all(args, work: Path) -> dict:
    big, small = work / "class", work / "class-small"
    students = build_class(big, args.handins)
    build_class(small, min(args.small, args.handins))
    engine = work / "one" / "engine.py"
    engine.parent.mkdir()
    shutil.copy(ROOT / "solutions" / "engine.py", engine)

    def log(msg):
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    # Warm the page cache and the bytecode caches once, untimed.
    warm([PY, "-c", "import pytest"])
    warm([GRADER, "grade", str(engine)], cwd=engine.parent)

    log(f"bare interpreter, import pytest, grader grade: {args.runs} rounds")
    bare, imp, one = [], [], []
    for _ in range(args.runs):  # interleaved, so a noisy spell hits all three alike
        bare.append(timed([PY, "-c", "pass"]))
        imp.append(timed([PY, "-c", "import pytest"]))
        one.append(timed([GRADER, "grade", str(engine)], cwd=engine.parent))

    batches = {}
    for cls, n in ((small, min(args.small, args.handins)), (big, args.handins)):
        log(f"grader batch of {n} hand-ins, --jobs {args.jobs}: {args.batch_runs} runs")
        samples = []
        for r in range(args.batch_runs):
            out = work / f"out-{n}-{r}"
            samples.append(timed(batch_cmd(cls, out, args.jobs)))
        batches[n] = summary(samples)
        batches[n]["handins"] = n
        batches[n]["per_handin"] = batches[n]["median"] / n
        batches[n]["handins_per_second"] = n / batches[n]["median"]
    last_big_out = work / f"out-{args.handins}-{args.batch_runs - 1}"

    log("where the time of one hand-in goes")
    profile = where_time_goes(engine, args.runs)

    memory = None
    if not args.skip_memory:
        log("peak memory of the batch (a run of its own)")
        memory = batch_memory(big, work / "out-memory", args.jobs)

    check = None
    if not args.skip_check:
        log(f"batch results vs grading each hand-in alone ({args.sample} hand-ins)")
        check = check_equal(big, last_big_out, students, args.sample)

    import_pytest = statistics.median(imp)
    hostile = None
    if args.hostile_runs:
        log(f"hostile hand-ins ({', '.join(HOSTILE)}), {args.hostile_runs} runs each")
        hostile = hostile_costs(work / "hostile", args.hostile_runs, import_pytest)

    before = None
    if args.before:
        log(f"against {args.before}: one hand-in and a batch of {args.small}, {args.runs} rounds")
        before = against(args.before, engine, small, min(args.small, args.handins), work, args)

    full = batches[args.handins]
    return {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "bwrap": shutil.which("bwrap") is not None,
                    "load_average_at_end": os.getloadavg(),
                    "bytecode": {"this": bytecode(GRADER),
                                 "before": bytecode(args.before) if args.before else None},
                    "pythondontwritebytecode": os.environ.get("PYTHONDONTWRITEBYTECODE")},
        "grader_commit": _git_commit(),
        "grader_command": GRADER,
        "class": {"handins": args.handins, "kinds": len(handin_kinds()),
                  "jobs": args.jobs},
        "python_pass": summary(bare),
        "import_pytest": summary(imp),
        "grade_one": summary(one),
        "batch": {str(k): v for k, v in batches.items()},
        "ratios": {
            "one_handin_over_import_pytest": one_ratio(one, import_pytest),
            "one_handin_target": ONE_TARGET,
            "batch_per_handin_over_import_pytest": full["per_handin"] / import_pytest,
            "batch_target": BATCH_TARGET,
            "handins_per_second": full["handins_per_second"],
        },
        "growth": {str(k): {"per_handin": v["per_handin"]} for k, v in batches.items()},
        "one_handin_stages": profile,
        "memory": memory,
        "batch_equals_alone": check,
        "hostile": hostile,
        "against_before": before,
    }


def against(before: str, engine: Path, cls: Path, n: int, work: Path, args) -> dict:
    """This grader and `before`, alternating within each round so a noisy spell hits both:
    medians of wall and CPU seconds (user + system of the command and everything it waited
    for, less swayed by other load on a shared machine), and the median of the per-round
    ratios this / before."""
    # untimed, to warm the page cache; its bytecode caches are left as that checkout has them
    # (machine.bytecode.before counts them)
    timed([before, "grade", str(engine)], cwd=engine.parent)
    runs = {(name, i): [] for name in ("grade_one", "batch_per_handin") for i in (0, 1)}
    for r in range(args.runs):
        for i, cmd in ((0, GRADER), (1, before))[::1 if r % 2 == 0 else -1]:
            runs["grade_one", i].append(cpu_timed([cmd, "grade", str(engine)], engine.parent))
            out = work / f"against-{i}-{r}"
            wall, cpu = cpu_timed(batch_cmd(cls, out, args.jobs, cmd))
            runs["batch_per_handin", i].append((wall / n, cpu / n))
    figures = {"command": before, "handins": n}
    for name in ("grade_one", "batch_per_handin"):
        this, then = runs[name, 0], runs[name, 1]
        figures[name] = {
            f"{kind}_{side}": summary([x[k] for x in runs[name, i]])
            for k, kind in enumerate(("wall", "cpu")) for i, side in enumerate(("this", "before"))}
        for k, kind in enumerate(("wall", "cpu")):
            figures[name][f"{kind}_ratio"] = statistics.median(a[k] / b[k]
                                                               for a, b in zip(this, then))
    return figures


def cpu_timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of `cmd` (its own and its waited-for descendants')."""
    import resource

    def used():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime
    before = used()
    wall = timed(cmd, cwd)
    return wall, used() - before


def one_ratio(one: list[float], import_pytest: float) -> float:
    return statistics.median(one) / import_pytest


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip() or None
    except OSError:
        return None


def print_table(f: dict) -> None:
    ms = lambda s: f"{s * 1000:8.1f} ms"  # noqa: E731
    rows = [("python -c pass", f["python_pass"]), ("python -c 'import pytest'",
                                                    f["import_pytest"]),
            ("grader grade engine.py", f["grade_one"])]
    print(f"{'measurement':44} {'median':>11} {'min':>11} {'max':>11}")
    for name, s in rows:
        print(f"{name:44} {ms(s['median'])} {ms(s['min'])} {ms(s['max'])}")
    for n, b in f["batch"].items():
        name = f"grader batch {n} hand-ins --jobs {f['class']['jobs']}"
        print(f"{name:44} {b['median']:9.2f} s  {b['min']:9.2f} s  {b['max']:9.2f} s")
    r = f["ratios"]
    print()
    print(f"one hand-in / import pytest          {r['one_handin_over_import_pytest']:6.2f}"
          f"   (target <= {r['one_handin_target']})")
    print(f"batch per hand-in / import pytest    "
          f"{r['batch_per_handin_over_import_pytest']:6.2f}   (target <= {r['batch_target']})")
    print(f"hand-ins per second (batch)          {r['handins_per_second']:6.1f}")
    for n, g in f["growth"].items():
        print(f"per hand-in at {n:>5} hand-ins          {g['per_handin'] * 1000:6.1f} ms")
    b = f.get("against_before")
    if b:
        print(f"\nagainst {b['command']} (medians, this / before; ratio: median of rounds):")
        for name in ("grade_one", "batch_per_handin"):
            for kind in ("wall", "cpu"):
                x = b[name]
                print(f"  {name:18} {kind:4} {ms(x[kind + '_this']['median'])} / "
                      f"{ms(x[kind + '_before']['median'])}   ratio {x[kind + '_ratio']:.3f}")
    m = f.get("memory")
    if m:
        pss = f"{m['peak_pss_sum_mib']} MiB" if m["peak_pss_sum_mib"] is not None else "n/a"
        if m["peak_pss_sum_mib"] is not None and not m["pss_readable_for_every_process"]:
            pss += " (partial: some processes' PSS was not readable)"
        print(f"batch peak memory: RSS sum {m['peak_rss_sum_mib']} MiB (upper bound), "
              f"PSS sum {pss}, largest single process "
              f"{m['largest_single_process_mib_lower_bound']} MiB (lower bound)")
    p = f["one_handin_stages"]
    print(f"\nwhere one hand-in's {p['wall_median'] * 1000:.0f} ms go (medians, profile run):")
    for k, v in p["stages"].items():
        print(f"  {k:58} {v * 1000:7.1f} ms")
    h = f.get("hostile")
    if h:
        print(f"\nhostile hand-ins (in every backward), grader grade / import pytest "
              f"(target <= {h['target']}):")
        for kind, x in h["handins"].items():
            print(f"  {kind:8} {x['median']:7.2f} s   {x['over_import_pytest']:6.1f}x")
    bc = f["machine"].get("bytecode") or {}
    for side, b in bc.items():
        if b:
            print(f"bytecode caches ({side}): {b['cached']} of {b['modules']} modules of "
                  f"{b['package']}")
    c = f.get("batch_equals_alone")
    if c:
        print(f"\nbatch == alone for {c['checked']} hand-ins ({len(c['kinds'])} kinds): "
              f"{'yes' if c['equal'] else 'NO: ' + json.dumps(c['mismatches'])}")


if __name__ == "__main__":
    sys.exit(main())
