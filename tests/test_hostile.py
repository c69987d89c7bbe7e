"""Hostile hand-ins: what the sandbox promises, each shown with a hand-in that tries to break it.

1. No score by cheating: exiting, lying objects, monkeypatching, forged frames on every open file
   descriptor and a folder's own conftest.py / pytest.ini / sitecustomize.py earn no more than
   the untouched stub; a correct engine with such extras still earns full marks.
2. No secrets out: under bubblewrap a hand-in that searches the disk finds neither the reference
   nor the hidden tests, and nothing of them reaches the results.
3. Faults stay local: a hang, a huge allocation or a flood of output fails only the tests that
   meet it.
4. Nothing left behind: no process the hand-in started and no file it wrote survives grading.
5. Limits are settings, reported in the results.
6. One hand-in never reaches the next: not through a process it left, its channel, its scratch
   files or the machine's process table; each honest classmate in a batch gets exactly what it
   gets alone, and the batch ends, also where the layers that make this so are missing.
And bad input gets score 0 with one sentence, exit code 0 and no traceback.

The hand-ins are the reference or the stub with a snippet from tests/hostile/ appended.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from grader.grading.runner import Job, grade, run
from grader.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).parent
HOSTILE = HERE / "hostile"
REFERENCE = ROOT / "solutions" / "engine.py"
STUB = ROOT / "assignments" / "engine.py"
SUITE = ROOT / "grader" / "suite"
GRADER = Path(sys.executable).with_name("grader")
FAST = Limits(test_seconds=0.5)

HAVE_BWRAP = shutil.which("bwrap") is not None
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP, reason="bubblewrap (bwrap) is not installed: "
                                 "without it hand-ins can read this machine's files")


@pytest.fixture(autouse=True)
def _sandbox_as_configured(monkeypatch):
    """Every test states its sandbox: bwrap when installed unless it asks for none."""
    monkeypatch.delenv("GRADER_SANDBOX", raising=False)


@pytest.fixture(scope="module")
def baseline():
    """What the untouched stub and the reference score against the suite as it is now (the
    reference should get every point; these tests hold hand-ins to what it actually gets)."""
    stub, ref = grade(STUB), grade(REFERENCE)
    assert ref.score > stub.score > 0
    return {"stub": stub.score, "full": ref.score, "max": ref.max_score}


def source(name: str, **subs: str) -> str:
    """The reference or the stub (as the snippet's first line says) with the snippet appended."""
    snippet = (HOSTILE / f"{name}.py").read_text()
    base = REFERENCE if snippet.startswith("# base: reference") else STUB
    for key, value in subs.items():
        snippet = snippet.replace(key, value)
    return base.read_text() + "\n\n" + snippet


def handin(tmp_path: Path, name: str, **subs: str) -> Path:
    path = tmp_path / name / "engine.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source(name, **subs))
    return path


def cli(*args, env: dict | None = None, cwd: Path = ROOT) -> tuple[dict, str, str]:
    """`grader grade ARGS` in a subprocess: exit code 0 and valid JSON on stdout, or fail."""
    proc = subprocess.run([str(GRADER), "grade", *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout), proc.stdout, proc.stderr


def never_blamed_the_grader(result) -> None:
    """A hand-in must not be able to make the hidden suite itself fault."""
    for t in result.tests:
        assert "could not run this test" not in t.output, (t.name, t.output)


def passed(result) -> set[str]:
    return {t.name for t in result.tests if t.status == "passed"}


def by_name(result, words: str):
    found = [t for t in result.tests if words in t.name]
    assert found, f"no test named like {words!r}"
    return found


# ------------------------------------------------------------- 1. no score by cheating

CHEATS = ["exit_import_os", "exit_import_sys", "exit_backward_os", "exit_backward_sys",
          "liar_eq", "liar_grad_is_data", "liar_float", "monkeypatch", "fd_forger",
          "fd_forger_backward"]


@pytest.mark.parametrize("name", CHEATS)
def test_cheats_score_no_more_than_the_stub(tmp_path, baseline, name):
    result = grade(handin(tmp_path, name), FAST)
    assert result.score <= baseline["stub"], [t.name for t in result.tests if t.score]
    never_blamed_the_grader(result)


def test_exit_at_import_is_not_success(tmp_path):
    result = grade(handin(tmp_path, "exit_import_os"), FAST)
    assert result.score == 0
    assert "exited the process (exit code 0)" in result.extra["error"]


def test_forged_answer_without_gradients_is_a_crash(tmp_path):
    """The forger answers its own request with the right data and `grad: null`."""
    result = grade(handin(tmp_path, "fd_forger_backward"), FAST)
    outputs = "\n".join(t.output for t in result.tests)
    assert "not an answer" in outputs
    never_blamed_the_grader(result)


@pytest.mark.parametrize("name", ["exit_import_os", "fd_forger_backward"])
def test_cheats_through_the_command(tmp_path, baseline, name):
    data, _, _ = cli(handin(tmp_path, name), "--test-timeout", "0.5")
    assert data["score"] <= baseline["stub"]
    assert sum(t["max_score"] for t in data["tests"]) == baseline["max"]


# Frames a hand-in writes on its own data channel (found through sys._getframe), each of a
# shape the grader once took on trust: (when, body). Each costs only the forger, scored out of
# the full maximum, and `grader grade` still writes its result and exits 0.
BIG = "1" + "0" * 400  # an integer too large for a float
FORGED = {
    "load-bare-string": ("load", '"loaded"'),
    "load-list": ("load", '["loaded"]'),
    "load-wrong-types": ("load", '{"loaded": "yes", "cell_errors": {"type": 1}}'),
    "load-unknown-key": ("load", '{"loaded": true, "cell_errors": [], "score": 123}'),
    "load-not-json": ("load", '{"loaded": tru'),
    "load-huge-error": ("load", '{"loaded": false, "cell_errors": [{"type": "' + "x" * 5000
                        + '", "message": "", "phase": "load", "step": null, "where": null, '
                          '"qualname": ""}]}'),
    "answer-string": ("backward", '"answer"'),
    "answer-list": ("backward", '[@ID@]'),
    "answer-big-int": ("backward", '{"id": @ID@, "data": @LIST(' + BIG + ')@, '
                                   '"grad": @LIST(' + BIG + ')@}'),
    "answer-nan-token": ("backward", '{"id": @ID@, "data": @LIST(NaN)@, "grad": @LIST(1)@}'),
    "answer-overflowing-float": ("backward", '{"id": @ID@, "data": @LIST(1e999)@, '
                                             '"grad": @LIST(1)@}'),
    "answer-bool": ("backward", '{"id": @ID@, "data": @LIST(true)@, "grad": @LIST(1)@}'),
    "answer-error-string": ("backward", '{"id": @ID@, "error": "boom"}'),
    "answer-error-wrong-types": ("backward", '{"id": @ID@, "error": {"type": 1, "message": [], '
                                             '"phase": "x", "step": "0", "where": [1], '
                                             '"qualname": 5}}'),
    "answer-wrong-id": ("backward", '{"id": 7777, "data": @LIST(1)@, "grad": @LIST(1)@}'),
}


def forger(tmp_path: Path, name: str) -> Path:
    when, body = FORGED[name]
    return handin(tmp_path, "frame_forger", **{"@@WHEN@@": when, "@@FRAME@@": body})


@pytest.mark.parametrize("name", list(FORGED))
def test_a_forged_frame_costs_only_the_forger(tmp_path, baseline, name):
    data, _, _ = cli(forger(tmp_path, name), "--test-timeout", "0.5")
    assert sum(t["max_score"] for t in data["tests"]) == baseline["max"]
    if FORGED[name][0] == "load":
        assert data["score"] == 0
        assert "is not a load report on the grader's channel" in data["output"], data["output"]
        assert "\n" not in data["extra_data"]["error"]
    else:
        assert data["score"] <= baseline["stub"]
        failed = [t for t in data["tests"] if t["status"] == "failed"]
        assert failed and all("is not an answer on the grader's channel" in t["output"]
                              for t in failed), failed[0]["output"]
    assert all("could not run this test" not in t["output"] for t in data["tests"])


def test_a_forged_frame_alone_in_a_batch_keeps_the_maximum(tmp_path, baseline):
    """Graded alone (no classmate's result shows the maximum), the forger is still scored out
    of the suite's full maximum, and an honest hand-in after it gets full marks."""
    forged, honest = batch(tmp_path, forger(tmp_path, "load-bare-string"), REFERENCE)
    assert forged["score"] == 0
    assert sum(t["max_score"] for t in forged["tests"]) == baseline["max"]
    assert "not a load report" in forged["output"]
    assert honest["score"] == baseline["full"]


def folder(tmp_path: Path, engine: Path) -> Path:
    """A folder hand-in carrying its own conftest.py, pytest.ini and sitecustomize.py."""
    d = tmp_path / "handin"
    d.mkdir()
    shutil.copy(engine, d / "engine.py")
    shutil.copy(HOSTILE / "folder_conftest.py", d / "conftest.py")
    shutil.copy(HOSTILE / "folder_sitecustomize.py", d / "sitecustomize.py")
    (d / "pytest.ini").write_text("[pytest]\naddopts = -p conftest --collect-only\n"
                                  "python_files = nothing_here_*.py\n")
    return d


def test_folder_with_its_own_conftest_earns_nothing_from_it(tmp_path, baseline):
    d = folder(tmp_path, STUB)
    result = grade(d, FAST)
    assert result.score == baseline["stub"]
    assert result.extra["handin"]["file"] == "engine.py"
    assert not (d / "CONFTEST_WAS_LOADED").exists()
    assert not (d / "SITECUSTOMIZE_WAS_LOADED").exists()


def test_folder_with_its_own_conftest_through_the_command(tmp_path, baseline):
    d = folder(tmp_path, STUB)
    data, _, _ = cli(d, cwd=d)  # run from inside the folder, where pytest would look first
    assert data["score"] == baseline["stub"]
    assert not (d / "CONFTEST_WAS_LOADED").exists()
    assert not (d / "SITECUSTOMIZE_WAS_LOADED").exists()


def test_correct_engine_with_extras_keeps_full_marks(tmp_path, baseline):
    result = grade(folder(tmp_path, REFERENCE), FAST)
    assert result.score == baseline["full"]


# ------------------------------------------------------------- every layer, its own attack

def layer_attempts(output: str) -> dict[str, list[str]]:
    """`layer LAYER WHAT: refused|DONE` lines of tests/hostile/layers_try.py, by layer."""
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        if line.startswith("layer "):
            layer, rest = line[len("layer "):].split(" ", 1)
            found.setdefault(layer, []).append(rest)
    return found


def not_stopped(result_output: str, layers: dict) -> list[str]:
    """Attempts that got through a layer the result says held (each is one only it stops)."""
    attempts = layer_attempts(result_output)
    assert set(attempts) == {"seccomp", "landlock", "namespaces", "pidns", "uid", "rlimits"}, \
        result_output
    return [f"{layer} {a}" for layer, tried in attempts.items() if layers.get(layer) == "held"
            for a in tried if not a.split(": ", 1)[1].startswith("refused")]


@pytest.fixture
def root_secret():
    """A file of root's only root may read, put among Python's runtime (which every hand-in
    may read): what only a uid of the hand-in's own keeps from it, where the grader is root."""
    import sysconfig
    path = Path(sysconfig.get_paths()["stdlib"]) / f"grader-secret-{uuid.uuid4().hex}.txt"
    try:
        path.write_text("root's secret\n")
        path.chmod(0o600)
    except OSError:
        pytest.skip("Python's runtime is not writable here")
    yield path
    path.unlink()


def test_every_layer_that_holds_stops_what_only_it_stops(tmp_path, baseline, root_secret):
    """One attack per layer, each stopped by that layer alone (in some condition): a layer
    whose apply step were skipped while the result says it held would let one through."""
    result = grade(handin(tmp_path, "layers_try", SECRET=str(root_secret),
                          FILE_MB=str(FAST.file_mb)), FAST)
    layers = result.extra["sandbox"]["layers"]
    assert not_stopped(result.output, layers) == [], result.output
    assert result.score == baseline["full"]


# ------------------------------------------------------------- 2. no secrets out

def test_later_handin_cannot_read_an_earlier_one(tmp_path):
    """In a batch every hand-in's process is forked from the same sandbox host: nothing of an
    earlier hand-in's source may be left in that host's memory."""
    token = "EARLIER-HANDIN-" + uuid.uuid4().hex[:8]
    (tmp_path / "a").mkdir()
    earlier = tmp_path / "a" / "engine.py"
    earlier.write_text(f"# {token}\n" + REFERENCE.read_text())
    later = handin(tmp_path, "memory_scan")
    results = []
    run([Job(earlier), Job(later)], lambda job, result: results.append(result), FAST)
    out = results[1].output
    assert "found: []" in out or "Permission denied: '/proc/self/maps'" in out, out
    assert token not in out


def _suite_lines(public: str) -> list[str]:
    """Lines of the hidden suite worth looking for: not blank, not trivial, not shown by design
    (test names are the first lines of docstrings and appear in every result)."""
    lines = set()
    for path in SUITE.glob("*"):
        if path.is_file():
            for line in path.read_text().splitlines():
                line = line.strip()
                if len(line) >= 16 and line not in public:
                    lines.add(line)
    return sorted(lines)


def _strings(obj) -> str:
    if isinstance(obj, dict):
        return "\n".join(_strings(v) for v in [*obj.keys(), *obj.values()])
    if isinstance(obj, list):
        return "\n".join(_strings(v) for v in obj)
    return str(obj)


@needs_bwrap
def test_disk_walker_finds_nothing_under_bwrap(tmp_path, baseline):
    data, text, _ = cli(handin(tmp_path, "disk_walker"))
    assert data["extra_data"]["sandbox"]["level"] == "full"
    assert "error" not in data["extra_data"], data["output"]  # it loaded and searched
    assert "reference: None" in data["output"]
    assert data["score"] <= baseline["stub"]
    everything = text + "\n" + _strings(data)
    for secret in ("def test_", "engine.check(", "engine.forward("):
        assert secret not in everything
    public = _strings(grade(STUB).to_json())
    leaked = [line for line in _suite_lines(public) if line in everything]
    assert not leaked


def test_without_bwrap_the_result_says_so(tmp_path):
    """GRADER_SANDBOX=none turns every isolation layer off; the results must say that nothing
    hid the disk. (The same walker then finds the reference through /proc/*/cwd: what the
    layers are there for.)"""
    data, _, stderr = cli(handin(tmp_path, "disk_walker"), env={"GRADER_SANDBOX": "none"})
    assert data["extra_data"]["sandbox"]["level"] == "none"
    assert "grader: warning: no isolation" in stderr
    assert "reference: None" not in data["output"]


# ------------------------------------------------------------- 3. faults stay local

def test_endless_tanh_backward_fails_only_tanh_tests(tmp_path, baseline):
    started = time.monotonic()
    result = grade(handin(tmp_path, "tanh_loop"), FAST)
    elapsed = time.monotonic() - started
    assert elapsed < 45
    failed = [t for t in result.tests if t.status == "failed"]
    ran = sorted((t for t in failed if not t.extra.get("not_run")), key=lambda t: t.extra["ran"])
    assert ran
    for t in ran:
        assert "Your tanh backward did not finish in" in t.output, (t.name, t.output)
        assert "line" in t.output  # where in the hand-in it was stuck
    # the first hang costs the full limit, later ones only a short one
    assert "did not finish in 0.5 s" in ran[0].output
    assert all("did not finish in 0.25 s" in t.output for t in ran[1:])
    # once it hung twice, the other tests of tanh are not run (tests/test_hostile_strikes.py)
    for t in failed:
        if t not in ran:
            assert "Not run: the hand-in did not finish in its time limit" in t.output, t.output
    for words in ("lecture's graph", "b = a + a"):
        assert all(t.status == "passed" for t in by_name(result, words))
    assert baseline["stub"] < result.score < baseline["full"]


@pytest.mark.parametrize("name, op", [("memory_bytearray", "exp"), ("memory_list", "relu")])
def test_huge_allocation_fails_only_its_tests(tmp_path, baseline, name, op):
    result = grade(handin(tmp_path, name), FAST)
    failed = [t for t in result.tests if t.status == "failed"]
    assert failed
    for t in failed:
        assert op in t.output, (t.name, t.output)
        assert any(s in t.output for s in ("MemoryError", "did not finish", "killed")), t.output
    for words in ("lecture's graph", "b = a + a"):
        assert all(t.status == "passed" for t in by_name(result, words))
    assert baseline["stub"] < result.score < baseline["full"]
    assert result.extra["limits"]["memory_mb"] == 1024


def test_printing_300_mb_keeps_full_marks_and_a_small_result(tmp_path, baseline):
    data, text, _ = cli(handin(tmp_path, "print_flood"))
    assert data["score"] == baseline["full"]
    assert len(text.encode()) < 1 << 20
    assert "[output cut:" in data["output"]
    assert "flood flood" in data["output"]


# ------------------------------------------------------------- 4. nothing left behind

def marked_processes(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                pids.append(int(entry.name))
    return pids


@pytest.fixture
def marker():
    """A sleep duration no other process uses; anything left with it is killed afterwards."""
    m = f"987654.{uuid.uuid4().int % 10**9:09d}"
    yield m
    for pid in marked_processes(m):
        try:
            os.kill(pid, 9)
        except OSError:
            pass


MODES = ["bwrap", "none"] if HAVE_BWRAP else ["none"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["procs_spawn", "procs_execv"])
def test_no_process_survives_grading(tmp_path, baseline, monkeypatch, marker, mode, name):
    if mode == "none":
        monkeypatch.setenv("GRADER_SANDBOX", "none")
    result = grade(handin(tmp_path, name, MARKER=marker), FAST)
    assert (result.extra["sandbox"]["layers"]["namespaces"] == "held") == (mode == "bwrap")
    if name == "procs_spawn":
        assert result.score == baseline["full"]
    else:  # as `sleep` it never answers, unless the sandbox refused to run another program
        assert result.score in (0, baseline["full"])
    assert marked_processes(marker) == []


def test_cgroups_of_dead_graders_are_swept():
    """A grader killed outright leaves its (empty) cgroups; the next sandbox removes them."""
    from grader.sandbox.layers import cgroup
    dead = 2 ** 22 + 1  # above any pid_max: no such process
    made, why = cgroup.create(f"grader-{dead}-left", 8, 64 << 20)
    if why:
        pytest.skip(why)
    grade(REFERENCE, FAST)
    assert [p for p in made if os.path.exists(p)] == []


@pytest.mark.parametrize("mode", MODES)
def test_handin_holds_no_privilege(tmp_path, baseline, monkeypatch, mode):
    """As root the host keeps some capabilities to set hand-ins up; a hand-in keeps none."""
    if mode == "none":
        monkeypatch.setenv("GRADER_SANDBOX", "none")
    result = grade(handin(tmp_path, "caps_try"), FAST)
    assert "privileged: []" in result.output, result.output
    assert result.score == baseline["full"]


@needs_bwrap
def test_no_process_survives_killing_the_host(tmp_path, baseline, marker):
    """The hand-in leaves a sleeper in a session of its own and kills its parent: the sandbox
    host where nothing hides it, else (pid 1 of its own namespace, with no parent in view) its
    own process group. Either way the sleeper goes with the hand-in's pid namespace or
    bubblewrap's. How many answers get out first is a race, so the score is not fixed."""
    result = grade(handin(tmp_path, "procs_kill_host", MARKER=marker), FAST)
    assert result.score <= baseline["full"]
    never_blamed_the_grader(result)
    # the kernel empties a pid namespace after its init has gone, not always before we look
    deadline = time.monotonic() + 2
    while marked_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marked_processes(marker) == []


@needs_bwrap
def test_no_file_written_outside_a_temporary_folder(tmp_path, baseline):
    name = f"hostile-{uuid.uuid4().hex}"
    places = [ROOT / name, Path("/root") / name, Path("/tmp") / name, Path.cwd() / name]
    try:
        result = grade(handin(tmp_path, "files_write", MARKER=name, REPO=str(ROOT)), FAST)
        assert result.score == baseline["full"]
        assert [p for p in places if p.exists()] == []
        assert list(Path("/tmp").glob(f"*/{name}")) == []
        assert list(Path("/tmp").glob(f"*/*/{name}")) == []
    finally:
        for p in places:
            if p.is_file():
                p.unlink()


# ------------------------------------------------------------- 6. one hand-in never reaches the next

def batch(tmp_path: Path, *files: Path, timeout: float = 240) -> list[dict]:
    """`grader batch --jobs 1` over FILES, graded in this order by one worker: their results."""
    src = tmp_path / "class"
    src.mkdir()
    for i, f in enumerate(files):
        shutil.copy(f, src / f"s{i}_engine.py")
    proc = subprocess.run([str(GRADER), "batch", str(src), "--out", str(tmp_path / "out"),
                           "--jobs", "1", "--test-timeout", "0.5"],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return [json.loads((tmp_path / "out" / "results" / f"s{i}_engine.json").read_text())
            for i in range(len(files))]


def run_after(first: Path, then: Path, limits: Limits = FAST, between=None) -> list:
    """Grade FIRST then THEN in one session (one sandbox, as a batch worker does); `between`
    is called once FIRST's result is out, before THEN is loaded."""
    results = []

    def emit(job, result):
        results.append(result)
        if between is not None and len(results) == 1:
            between()
    run([Job(first), Job(then)], emit, limits)
    return results


def test_survivor_cannot_answer_for_the_next_handin(tmp_path, baseline):
    """The attacker leaves a process with a zombie leader and a live thread that replays its
    own (correct) answers for the next hand-in: the friend's stub must score what it scores
    alone."""
    friend = tmp_path / "friend.py"
    shutil.copy(STUB, friend)
    attacker, graded = batch(tmp_path, handin(tmp_path, "procs_survivor_friend"), friend)
    assert graded["score"] == baseline["stub"], graded["output"]
    assert attacker["score"] == baseline["full"]


@pytest.mark.parametrize("name", ["channel_poison", "channel_fill"])
def test_poisoned_channel_leaves_the_next_handin_alone(tmp_path, baseline, name):
    """Bytes left in (or a channel filled through) /proc/self/fd: the honest hand-in graded
    next gets full marks, and the batch finishes."""
    _, honest = batch(tmp_path, handin(tmp_path, name), REFERENCE, timeout=120)
    assert honest["score"] == baseline["full"], honest["output"]


def test_scratch_files_are_capped_and_gone_for_the_next_handin(tmp_path, baseline):
    """Files count against the memory limit, and the next hand-in finds none of them."""
    marker = f"hoard-{uuid.uuid4().hex[:8]}"
    limits = Limits(test_seconds=0.5, memory_mb=256)
    hoard, later = run_after(handin(tmp_path, "scratch_hoard", MARKER=marker, TOTAL="768"),
                             handin(tmp_path, "scratch_list", MARKER=marker), limits)
    hoarded = [line for line in hoard.output.splitlines() if line.startswith("hoarded")]
    assert hoarded and int(hoarded[0].split()[1]) <= limits.memory_mb, hoard.output
    assert hoard.score == baseline["full"]
    assert "found: []" in later.output, later.output


def scratch_written(output: str) -> int:
    """How many MiB tests/hostile/scratch_fill.py says it got into its scratch folder."""
    said = [int(line.split()[-2] if line.startswith("wrote") else line.split()[2])
            for line in output.splitlines() if line.startswith(("wrote ", "refused after "))]
    assert said, output
    return max(said)


def scratch_capped(output: str, score: float, full: float, limits: Limits) -> None:
    """Written no more than the scratch cap plus one file; stopped (and told why) or refused."""
    assert scratch_written(output) <= limits.scratch_mb + limits.file_mb, output
    if score != full:
        assert f"scratch files passed their {limits.scratch_mb} MiB cap" in output, output
    else:
        assert "No space left on device" in output, output


def test_scratch_is_capped(tmp_path, baseline):
    """Where a tmpfs of fixed size holds the scratch (root, bubblewrap), the hand-in is refused
    at the cap; tests/test_conditions.py checks the trusted side's watcher where it cannot."""
    limits = FAST
    result = grade(handin(tmp_path, "scratch_fill", TOTAL="360",
                          FILE_MB=str(limits.file_mb)), limits)
    text = result.output + "\n" + result.extra.get("error", "")
    scratch_capped(text, result.score, baseline["full"], limits)


def test_process_count_is_limited_even_as_root(tmp_path, baseline, marker):
    result = grade(handin(tmp_path, "procs_count", MARKER=marker), FAST)
    held = [line for line in result.output.splitlines() if line.startswith("held")]
    assert held and int(held[0].split()[1]) <= 64, result.output
    assert marked_processes(marker) == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["procs_spawn", "procs_wanderer", "procs_count"])
def test_no_process_outlives_its_handin(tmp_path, monkeypatch, marker, mode, name):
    """Checked while the sandbox is still up, between two hand-ins of one session."""
    if mode == "none":
        monkeypatch.setenv("GRADER_SANDBOX", "none")
    left = []
    run_after(handin(tmp_path, name, MARKER=marker), REFERENCE,
              between=lambda: left.extend(marked_processes(marker)))
    assert left == []


@pytest.fixture
def shared_tmp():
    """A temporary folder another uid can write in (pytest's own is closed to others)."""
    d = Path(tempfile.mkdtemp(prefix="grader-hostile-"))
    d.chmod(0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="changing uid needs root")
def test_uid_sweep_ends_every_process_of_the_uid(marker):
    """Where a hand-in has no pid namespace but a uid of its own: sleepers in sessions of their
    own, orphaned at once, all end with one sweep."""
    from grader.sandbox.layers import uid
    u = uid.for_handin(os.getpid(), 63)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        os.setresgid(u, u, u)
        os.setresuid(u, u, u)
        for _ in range(5):
            if os.fork() == 0:
                os.setsid()
                os.execv("/bin/sleep", ["sleep", marker])
        os._exit(0)
    os.waitpid(pid, 0)
    deadline = time.monotonic() + 5
    while len(marked_processes(marker)) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(marked_processes(marker)) == 5
    uid.sweep(u, reap=lambda: None)
    deadline = time.monotonic() + 2  # their parent (init) collects them
    while marked_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marked_processes(marker) == []


CONDITIONS = {"root": ["root"], "platform": ["platform"], "user": ["user", "61234"],
              "no-userns": ["no-userns", "61234"]}


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_one_class_of_attackers_in_every_condition(shared_tmp, baseline, condition):
    """The class above, graded by one worker where layers are missing (tests/container.py: a
    platform's container as root, an unprivileged user with and without user namespaces):
    each attacker's classmate still gets exactly what it gets alone, and the batch ends, even
    where a hand-in can stop the sandbox host."""
    import container
    if container.missing():
        pytest.skip(container.missing())
    tmp_path = shared_tmp
    src = tmp_path / "class"
    src.mkdir(mode=0o755)
    order = [source("procs_survivor_friend"), STUB.read_text(),
             source("channel_fill"), REFERENCE.read_text(),
             source("procs_count", MARKER="987654.5"), REFERENCE.read_text(),
             source("procs_stop_host"), REFERENCE.read_text()]
    for i, text in enumerate(order):
        (src / f"s{i}_engine.py").write_text(text)
        (src / f"s{i}_engine.py").chmod(0o644)
    reveal = ":".join(sorted({sys.base_prefix, sys.prefix, str(ROOT), str(tmp_path)}))
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C.UTF-8", "HOME": str(tmp_path), "REVEAL": reveal}
    proc = subprocess.run([container.SYSTEM_PYTHON, str(HERE / "container.py"),
                           *CONDITIONS[condition], "--", str(GRADER), "batch", str(src),
                           "--out", str(tmp_path / "out"), "--jobs", "1",
                           "--test-timeout", "0.5"],
                          capture_output=True, text=True, timeout=240, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    scores = [json.loads((tmp_path / "out" / "results" / f"s{i}_engine.json").read_text())
              for i in range(len(order))]
    assert scores[1]["score"] == baseline["stub"], scores[1]["output"]
    assert scores[3]["score"] == scores[5]["score"] == scores[7]["score"] == baseline["full"]
    held = [line for line in scores[4]["output"].splitlines() if line.startswith("held")]
    assert held and int(held[0].split()[1]) <= 64, scores[4]["output"]


# ------------------------------------------------------------- 5. limits are settings

def test_limits_are_reported(baseline):
    data, _, _ = cli(REFERENCE, "--test-timeout", "0.5", "--memory", "256",
                     "--handin-timeout", "20", "--max-output", "1000", "--cell-timeout", "3")
    assert data["extra_data"]["limits"] == {"test_seconds": 0.5, "handin_seconds": 20.0,
                                            "cell_seconds": 3.0, "memory_mb": 256,
                                            "output_bytes": 1000, "file_mb": Limits().file_mb,
                                            "scratch_mb": Limits().scratch_mb}
    assert data["score"] == baseline["full"]


# ------------------------------------------------------------- bad input

BAD = {
    "syntax.py": (b"class Value:\n    def __init__(self, data):\n        self.data = = data\n",
                  ["SyntaxError", "line 3"]),
    "empty.py": (b"", ["empty"]),
    "binary.py": (bytes(range(256)) * 4, ["binary"]),
    "novalue.py": (b"import math\n\nclass Scalar:\n    pass\n", ["no `Value`"]),
    "broken.ipynb": (b'{"cells": [{"cell_type": "code", "source": "x = 1"', ["not a valid notebook"]),
    "folder": (None, ["no .py or .ipynb file"]),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_one_sentence(tmp_path, name):
    content, words = BAD[name]
    path = tmp_path / name
    if content is None:
        path.mkdir()
        (path / "README.txt").write_text("my engine is in my other folder\n")
    else:
        path.write_bytes(content)
    data, _, stderr = cli(path)
    assert data["score"] == 0
    assert data["tests"] and all(t["score"] == 0 for t in data["tests"])
    sentence = data["output"]
    assert sentence.startswith("Your hand-in could not be graded: ") and "\n" not in sentence
    for word in words:
        assert word in sentence, sentence
    assert stderr.strip() == "" or stderr.startswith("grader: warning:")
