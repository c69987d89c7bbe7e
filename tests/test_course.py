"""The course file: weights and points by their arithmetic, visibility in every output, a
broken file's key and line, `grader init`, and what results record."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from grader.course.file import Course, CourseError, load
from grader.platforms.gradescope import to_gradescope
from grader.platforms.gradescope_zip import build, unpack_like_gradescope
from grader.platforms.prairielearn import to_prairielearn
from grader.report import feedback
from grader.report.text import render
from grader.grading.runner import Job, run
from grader.course.scoring import apply, plan
from grader.course.visibility import for_students

from mutants import source

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "solutions" / "engine.py"
STUB = ROOT / "assignments" / "engine.py"
GRADER = Path(sys.executable).with_name("grader")

# The hidden suite's weights (grader/suite): 123 points, 10 of them forward values, which a
# stub earns (every backward closure raises). test_neuron is worth 3, the 5 random graphs 3 each.
RAW, FORWARD, NEURON, RANDOM = 123.0, 10.0, 3.0, 15.0


def grader(*args, cwd=None):
    return subprocess.run([str(GRADER), *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd, stdin=subprocess.DEVNULL)


def course(tmp_path, text: str) -> Course:
    p = tmp_path / "grader.toml"
    p.write_text(text)
    return load(p)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    d = tmp_path_factory.mktemp("course")
    overwrite = d / "add-overwrite.py"
    overwrite.write_text(source("add-overwrite"))
    paths = {"reference": REFERENCE, "stub": STUB, "add-overwrite": overwrite}
    results = {}
    run([Job(p, {"key": k}) for k, p in paths.items()],
        lambda job, result: results.__setitem__(job.extra["key"], result))
    return results


# --------------------------------------------------------------------------- the arithmetic

def test_default_course_changes_nothing(graded):
    for r in graded.values():
        scored = apply(r, Course())
        assert [(t.score, t.max_score, t.visibility) for t in scored.tests] == \
               [(t.score, t.max_score, "visible") for t in r.tests]
    assert apply(graded["stub"], Course()).score == FORWARD
    assert apply(graded["reference"], Course()).max_score == RAW


def test_weights_change_scores_by_exactly_the_arithmetic(graded, tmp_path):
    c = course(tmp_path, "[groups.forward]\nscale = 2\n[tests]\ntest_neuron = { weight = 10 }\n"
                         "[groups.random]\nscale = 0\n")
    maximum = RAW + FORWARD + (10 - NEURON) - RANDOM
    ref, stub = apply(graded["reference"], c), apply(graded["stub"], c)
    assert ref.max_score == ref.score == maximum
    assert stub.max_score == maximum and stub.score == 2 * FORWARD
    neuron = [t for t in ref.tests if t.extra["test"] == "test_chain::test_neuron"]
    assert [(t.score, t.max_score) for t in neuron] == [(10, 10)]


def test_points_scale_the_maximum_to_exactly_the_course_points(graded, tmp_path):
    c = course(tmp_path, "[assignment]\npoints = 100\n")
    ref, stub = apply(graded["reference"], c), apply(graded["stub"], c)
    assert ref.max_score == 100 and ref.score == 100
    assert stub.max_score == 100
    # each test's points are whole hundredths within a hundredth of their exact share
    assert all(round(t.max_score * 100) == pytest.approx(t.max_score * 100, abs=1e-9)
               and t.score <= t.max_score for t in stub.tests)
    exact = [w * 100 / RAW for w in (t.max_score for t in graded["reference"].tests)]
    assert all(abs(t.max_score - e) < 0.01 for t, e in zip(ref.tests, exact))
    assert stub.score == pytest.approx(100 * FORWARD / RAW, abs=0.01 * len(stub.tests))
    assert stub.score == round(sum(t.score for t in stub.tests), 2)


def test_a_failed_test_worth_nothing_still_reads_failed(graded, tmp_path):
    c = course(tmp_path, "[groups.local]\nscale = 0\n")
    stub = apply(graded["stub"], c)
    local = [t for t in stub.tests if t.extra["test"].startswith("test_local::")]
    assert local and all(t.max_score == 0 and t.status == "failed" for t in local)
    assert all(t["status"] == "failed" for t in to_gradescope(stub)["tests"]
               if t["extra_data"]["test"].startswith("test_local::"))


def test_an_untouched_stub_can_be_given_zero(graded, tmp_path):
    c = course(tmp_path, "[assignment]\nforward_needs_gradient = true\n")
    stub = apply(graded["stub"], c)
    assert stub.score == 0 and stub.max_score == RAW
    forward = [t for t in stub.tests if t.extra["test"].startswith("test_forward::")]
    assert all("No credit" in t.output for t in forward)
    # one gradient test passed is enough for the forward points: the overwriting `+` passes
    # the graphs that use no node twice
    assert apply(graded["add-overwrite"], c).score == apply(graded["add-overwrite"],
                                                            Course()).score
    assert apply(graded["reference"], c).score == RAW


# --------------------------------------------------------------------------- visibility

HIDING = """
[late]
due = "2999-01-01T00:00Z"
[groups.reuse]
visibility = "hidden"
[groups.chain]
visibility = "hidden"
[groups.random]
visibility = "after_due_date"
[groups.nonlinear]
visibility = "after_published"
"""


def hidden_names(result):
    return [t.name for t in result.tests if t.extra["test"].split("::")[0]
            in ("test_reuse", "test_chain", "test_random", "test_nonlinear")]


def student_outputs(result, c: Course, **when) -> dict[str, str]:
    view = for_students(result, c.due, **when)
    return {"text": render(view), "page": feedback.page(view), "feedback": feedback.text(view),
            "prairielearn": json.dumps(to_prairielearn(view))}


def test_hidden_tests_stay_out_of_student_outputs_and_in_gradescopes(graded, tmp_path):
    c = course(tmp_path, HIDING)
    r = apply(graded["add-overwrite"], c)
    names = hidden_names(r)
    assert len(names) == 4 + 14 + 5 + 6
    # what gives the overwrite away: every test of a node used twice (all hidden here)
    assert r.misconceptions == ["add-overwrite"]
    for kind, text in student_outputs(r, c).items():
        for name in names:
            assert name not in text and json.dumps(name)[1:-1] not in text, (kind, name)
        assert "use `+=`" not in text, kind
        assert "29 hidden tests" in text, kind
    pl = to_prairielearn(for_students(r, c.due))
    assert pl["score"] == round(r.score / r.max_score, 6)  # the grade is the whole one

    gs = to_gradescope(r, c.visibility)
    by_name = {t["name"]: t["visibility"] for t in gs["tests"]}
    assert set(names) <= set(by_name)
    assert {by_name[t.name] for t in r.tests if t.extra["test"].startswith("test_reuse::")} \
        == {"hidden"}
    assert {by_name[t.name] for t in r.tests if t.extra["test"].startswith("test_random::")} \
        == {"after_due_date"}
    assert {by_name[t.name] for t in r.tests if t.extra["test"].startswith("test_local::")} \
        == {"visible"}
    assert gs["visibility"] == "visible"
    assert gs["score"] == r.score


def test_tests_show_once_due_or_published(graded, tmp_path):
    c = course(tmp_path, HIDING)
    r = apply(graded["add-overwrite"], c)
    random = [t.name for t in r.tests if t.extra["test"].startswith("test_random::")]
    nonlinear = [t.name for t in r.tests if t.extra["test"].startswith("test_nonlinear::")]
    reuse = [t.name for t in r.tests if t.extra["test"].startswith("test_reuse::")]
    after = datetime(3000, 1, 1, tzinfo=timezone.utc)
    text = student_outputs(r, c, now=after)["text"]
    assert all(n in text for n in random)
    assert not any(n in text for n in nonlinear + reuse)
    text = student_outputs(r, c, published=True)["text"]
    assert all(n in text for n in random + nonlinear)
    assert not any(n in text for n in reuse)  # hidden: never


def test_top_level_visibility_reaches_gradescope(graded, tmp_path):
    c = course(tmp_path, '[assignment]\nvisibility = "after_published"\n')
    assert to_gradescope(apply(graded["stub"], c), c.visibility)["visibility"] == \
        "after_published"


# --------------------------------------------------------------------------- a broken file

@pytest.mark.parametrize("text, message", [
    ('[assignment]\ntitle = "BP"\n\n[tests]\ntest_neuron = { weight = "ten" }\n',
     "grader.toml, line 5: `weight` must be a number, got 'ten'"),
    ('[assignment]\npoints = -5\n', "grader.toml, line 2: `points` must be at least 0, got -5"),
    ('[groups.reuse]\nvisibility = "secret"\n',
     "grader.toml, line 2: `visibility` must be one of 'visible', 'hidden', 'after_due_date', "
     "'after_published', got 'secret'"),
    ('\n[tests.test_neuron]\nwieght = 3\n',
     "grader.toml, line 3: unknown key `wieght` in [tests.test_neuron]; expected one of: "
     "weight, visibility"),
    ('[tests]\ntest_nueron = { weight = 3 }\n',
     "grader.toml, line 2: no hidden test is named `test_nueron`"),
    ('[groups.backward]\nscale = 1\n', "grader.toml, line 1: no group is named `backward`"),
    ('[late]\ndue = "next friday"\n', "grader.toml, line 2: `due` must be a date like"),
    ('[late]\npenalty = "lots"\n', "grader.toml, line 2: `penalty` must be a rule like"),
    ('[limits]\nmemory = 512.5\n', "grader.toml, line 2: `memory` must be a whole number"),
    ('[limits]\ntest_timeout = 0\n', "grader.toml, line 2: `test_timeout` must be more than 0"),
    ('[sandbox]\nallowed_imports = "numpy"\n',
     "grader.toml, line 2: `allowed_imports` must be a list of module names"),
    ('[assignment]\nforward_needs_gradient = "yes"  # comment\n',
     "grader.toml, line 2: `forward_needs_gradient` must be true or false, got 'yes'"),
    ('[asignment]\ntitle = "x"\n', "grader.toml, line 1: unknown section `asignment`"),
    ('[assignment]\ntitle = "x\n', "grader.toml, line 2, column 11: not valid TOML"),
])
def test_a_mistake_names_the_key_and_the_line(tmp_path, text, message):
    with pytest.raises(CourseError) as e:
        course(tmp_path, text)
    assert str(e.value).startswith(message), str(e.value)


def test_a_broken_file_stops_every_command_with_one_line(tmp_path):
    (tmp_path / "grader.toml").write_text('[limits]\nmemory = "lots"\n')
    for args in (["grade", REFERENCE], ["batch", ROOT / "samples" / "canvas", "--out", "o"],
                 ["merge", tmp_path, "--out", "m"], ["gradescope-zip", "a.zip"]):
        proc = grader(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr == ("grader: error: grader.toml, line 2: `memory` must be a number, "
                               "got 'lots'\n"), args
        assert proc.stdout == ""
    assert not (tmp_path / "o").exists() and not (tmp_path / "a.zip").exists()


# --------------------------------------------------------------------------- grader init

def test_init_writes_every_key_and_it_loads_back_to_the_defaults(tmp_path):
    proc = grader("init", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    loaded, default = load(tmp_path / "grader.toml"), Course()
    assert len(loaded.secret) == 32 and int(loaded.secret, 16) >= 0  # a new secret of its own
    same = lambda c: replace(c, groups={}, tests={}, path=None, sha256="",  # noqa: E731
                             secret="")
    assert same(loaded) == default
    assert plan(loaded) == plan(default)
    text = (tmp_path / "grader.toml").read_text()
    for key in ("title", "points", "visibility", "forward_needs_gradient", "penalty", "due",
                "flag_days", "test_timeout", "handin_timeout", "cell_timeout", "memory",
                "max_output", "max_file", "allowed_imports", "scale", "secret", "attempts",
                "cooldown", "counts"):
        assert f"\n{key} = " in text, key
    assert sum(line.startswith("test_") and "= { weight = " in line
               for line in text.splitlines()) == len(plan(default))
    assert grader("init", cwd=tmp_path).returncode == 2  # never overwrites without --force
    assert grader("init", "--force", cwd=tmp_path).returncode == 0
    assert load(tmp_path / "grader.toml").secret != loaded.secret


def test_the_secret_seeds_the_values_and_no_result_holds_it(tmp_path):
    from grader.checking.instance import DEFAULT_SECRET

    (tmp_path / "grader.toml").write_text('[assignment]\nsecret = "short"\n')
    proc = grader("grade", REFERENCE, cwd=tmp_path)
    assert proc.returncode == 2 and "line 2" in proc.stderr and "`secret`" in proc.stderr
    secret = "0123456789abcdef0123456789abcdef"
    (tmp_path / "grader.toml").write_text(f'[assignment]\nsecret = "{secret}"\n')
    course = load(tmp_path / "grader.toml")
    assert course.instances().secret == secret and Course().instances().secret == DEFAULT_SECRET
    assert course.instances(published=True).published
    proc = grader("grade", REFERENCE, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert secret not in proc.stdout
    assert json.loads(proc.stdout)["extra_data"]["instance"]["secret"] == "course file"


# --------------------------------------------------------------------------- what is recorded

def test_results_record_the_course_file_and_the_values_used(tmp_path):
    text = '[limits]\ntest_timeout = 5\nmemory = 900\n[assignment]\npoints = 50\n'
    (tmp_path / "grader.toml").write_text(text)
    proc = grader("grade", REFERENCE, "--test-timeout", "3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    recorded = data["extra_data"]["course"]
    assert recorded["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert recorded["file"] == "grader.toml"
    assert recorded["values"]["limits"]["test_timeout"] == 3  # the command line wins
    assert recorded["values"]["limits"]["memory"] == 900
    assert data["extra_data"]["limits"]["test_seconds"] == 3
    assert data["extra_data"]["limits"]["memory_mb"] == 900
    assert recorded["values"]["sandbox"]["allowed_imports"] == ["numpy"]
    assert data["score"] == pytest.approx(50)
    assert data["visibility"] == "visible"


def test_a_batch_grades_by_the_course_file_and_resume_reapplies_it(tmp_path):
    conf = tmp_path / "course.toml"
    conf.write_text('[assignment]\ntitle = "Autodiff 101"\n[groups.reuse]\n'
                    'visibility = "hidden"\n')
    out = tmp_path / "out"
    proc = grader("batch", ROOT / "samples" / "canvas", "--out", out, "--config", conf,
                  "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    first = {p.name: json.loads(p.read_text()) for p in (out / "results").glob("*.json")}
    assert first
    reuse_names = set()
    for r in first.values():
        assert r["extra_data"]["course"]["values"]["assignment"]["title"] == "Autodiff 101"
        reuse_names |= {t["name"] for t in r["tests"] if t["visibility"] == "hidden"}
    assert len(reuse_names) == 14
    for page in (out / "feedback").iterdir():
        text = page.read_text()
        assert "Autodiff 101: your feedback" in text
        assert not any(n in text or n.replace("'", "&#x27;") in text for n in reuse_names), page
    assert "Autodiff 101: grading report" in (out / "report.html").read_text()

    conf.write_text('[assignment]\npoints = 10\n')
    proc = grader("batch", ROOT / "samples" / "canvas", "--out", out, "--config", conf,
                  "--resume")
    assert proc.returncode == 0, proc.stderr
    assert "Re-applied course file (weights, visibility, points) to" in proc.stdout
    for name, before in first.items():
        after = json.loads((out / "results" / name).read_text())
        assert after["extra_data"]["course"]["values"]["assignment"]["points"] == 10
        if not before["extra_data"].get("error"):
            assert after["score"] == pytest.approx(before["score"] * 10 / RAW, abs=0.3)
            assert after["score"] == round(sum(t["score"] for t in after["tests"]), 2)


def test_gradescopes_autograder_grades_by_the_course_file_in_its_zip(tmp_path):
    conf = tmp_path / "grader.toml"
    conf.write_text('[assignment]\npoints = 50\n[groups.random]\nvisibility = "after_due_date"\n')
    z = build(tmp_path / "a.zip", ROOT, course=conf)
    with zipfile.ZipFile(z) as zf:
        assert zf.read("grader.toml") == conf.read_bytes()
    root = unpack_like_gradescope(z, tmp_path / "autograder")
    shutil.copy(REFERENCE, root / "submission" / "engine.py")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root),
           "PATH": f"{GRADER.parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, text=True,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == pytest.approx(50)
    assert [t["visibility"] for t in data["tests"]].count("after_due_date") == 5


def test_the_pytest_route_and_convert_score_by_the_course_file(tmp_path):
    conf = tmp_path / "course.toml"
    conf.write_text("[assignment]\npoints = 50\n[limits]\nmemory = 900\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_ADDOPTS")}
    report = tmp_path / "report.json"
    proc = subprocess.run([str(GRADER.with_name("pytest")), "--pyargs", "grader.suite",
                           "--handin", str(STUB), "--config", str(conf), "-q", "--json-report",
                           "--json-report-file", str(report)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:]
    converted = json.loads(grader("convert", report, "--config", conf, cwd=tmp_path).stdout)
    assert converted["score"] == pytest.approx(50 * FORWARD / RAW, abs=0.3)
    shown = f"{converted['score']:.2f}".rstrip("0").rstrip(".")
    assert f"grader: engine.py: {shown} / 50 points" in proc.stdout
    assert converted["extra_data"]["limits"]["memory_mb"] == 900


def test_the_canvas_comment_leaves_hidden_tests_out(tmp_path):
    from test_platforms_canvas_upload import ASSIGNMENT, COURSE, TOKEN, FakeCanvas
    import threading

    from grader.batch.classroom import Settings, grade_class

    conf = tmp_path / "grader.toml"
    conf.write_text('[groups.reuse]\nvisibility = "hidden"\n')
    dl = tmp_path / "dl"
    dl.mkdir()
    (dl / "turingalan_102_5002_engine.py").write_text(source("add-overwrite"))
    out = tmp_path / "out"
    grade_class(dl, out, settings=Settings(course=load(conf)), progress=False)
    stored = json.loads((out / "results" / "102.json").read_text())
    hidden = [t["name"] for t in stored["tests"] if t["visibility"] == "hidden"]
    assert len(hidden) == 14

    server = FakeCanvas([102])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"CANVAS_API_URL": server.url, "CANVAS_API_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}
        proc = subprocess.run([str(GRADER), "canvas-upload", str(out), "--course", str(COURSE),
                               "--assignment", str(ASSIGNMENT), "--yes"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stderr
    [comment] = [c["comment"] for c in server.subs[102]["submission_comments"]]
    assert "14 hidden tests" in comment
    assert not any(name in comment for name in hidden)
