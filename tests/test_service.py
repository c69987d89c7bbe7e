"""The submission service in-process (Flask's test client) on its embedded default: SQLite in a
temporary folder, real grading in a warm grading process. Expected scores come from the suite's
declared weights (the reference solution earns all of them) and the mutants' known bugs."""
from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import pytest

from mutants import MUTANTS
from servicekit import MAXIMUM, handin
from test_hidden_output import COURSE as HIDING_COURSE
from test_hidden_output import HOSTILE as PRINT_EVERYTHING
from test_hidden_output import RANK, allowed, forbidden, found, numbers  # noqa: F401 (fixture)

from grader.course.file import load
from grader.service import hooks
from grader.service.app import create_app
from grader.service.service import Service
from grader.service.store import User

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ADA = User("ada", "Ada Lovelace", "student", "ml101")
ALAN = User("alan", "Alan Turing", "student", "ml101")
EMMY = User("emmy", "Emmy Noether", "student", "ml101")
PROF = User("prof", "The Professor", "instructor", "ml101")
OTHER = User("other", "Another Professor", "instructor", "phys202")
BASE = "https://localhost"  # browsers hold Secure cookies for localhost as for any https site


def course_file(tmp: Path, text: str):
    path = tmp / "grader.toml"
    path.write_text(text)
    return load(path)


def start(tmp: Path, **kw) -> Service:
    return Service(data=tmp / "data", jobs=1, **kw).open()


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    service = start(tmp_path_factory.mktemp("service"))
    yield service
    service.close()


@pytest.fixture(scope="module")
def app(svc):
    return create_app(svc)


class Api:
    """The API through Flask's test client, with a bearer token."""

    def __init__(self, app, svc, user: User):
        self.client = app.test_client()
        self.token = svc.token(user)
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def upload(self, data: bytes, name: str = "engine.py", **kw):
        return self.client.post("/api/v1/submissions", base_url=BASE, headers=self.headers,
                                data={"file": (io.BytesIO(data), name)}, **kw)

    def get(self, sid):
        return self.client.get(f"/api/v1/submissions/{sid}", base_url=BASE, headers=self.headers)

    def wait(self, sid, timeout: float = 300) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = self.get(sid)
            assert r.status_code == 200, r.json
            if r.json["status"] in ("done", "failed"):
                return r.json
            time.sleep(0.1)
        raise AssertionError(f"not graded in {timeout} s")

    def graded(self, kind: str, name: str = "engine.py") -> dict:
        r = self.upload(handin(kind), name)
        assert r.status_code == 202, r.json
        return self.wait(r.json["id"])


def test_upload_answers_202_then_the_result_with_score_and_maximum(app, svc):
    api = Api(app, svc, ADA)
    r = api.upload(handin("reference"))
    assert r.status_code == 202 and set(r.json) >= {"id"}
    body = api.wait(r.json["id"])
    assert body["status"] == "done" and body["attempt"] == 1 and body["graded_at"]
    assert body["result"]["score"] == body["result"]["max_score"] == MAXIMUM
    assert all(t["status"] == "passed" for t in body["result"]["tests"])


@pytest.mark.parametrize("bug", ["add-overwrite", "mul-no-outgrad"])
def test_a_buggy_engine_is_scored_below_the_maximum_and_its_misconception_named(app, svc, bug):
    body = Api(app, svc, ALAN).graded(bug)
    result = body["result"]
    assert body["status"] == "done" and result["max_score"] == MAXIMUM
    assert 0 < result["score"] < MAXIMUM
    named = {m for t in result["tests"] for m in t.get("extra_data", {}).get("misconceptions", [])}
    assert MUTANTS[bug][0] in named


def test_any_base_name_and_a_notebook_are_hand_ins(app, svc):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(handin("reference").decode())]
    api = Api(app, svc, EMMY)
    r = api.upload(nbformat.writes(nb).encode(), "My Homework (final).ipynb")
    assert r.status_code == 202
    body = api.wait(r.json["id"])
    assert body["status"] == "done" and body["result"]["score"] == MAXIMUM
    assert body["result"]["extra_data"]["handin"]["kind"] == "ipynb"
    body = api.graded("reference", "solution_v2.PY")
    assert body["status"] == "done" and body["result"]["score"] == MAXIMUM


@pytest.mark.parametrize("kind, words", [
    ("binary", "NUL byte"), ("latin1", "UTF-8"), ("syntax", "line"), ("novalue", "Value")])
def test_an_upload_that_cannot_be_graded_says_why_in_one_sentence_and_costs_no_attempt(
        app, svc, kind, words):
    user = User(f"ungradeable-{kind}", "", "student", "ml101")
    api = Api(app, svc, user)
    body = api.graded(kind)
    assert body["status"] == "failed" and body["attempt"] is None and body["result"] is None
    assert words in body["error"] and "\n" not in body["error"].strip()
    assert "Traceback" not in body["error"]
    after = api.graded("reference")
    assert after["attempt"] == 1  # the failed upload was no attempt


def test_a_wrong_extension_and_a_missing_field_are_refused(app, svc):
    api = Api(app, svc, ADA)
    r = api.upload(b"print(1)", "engine.txt")
    assert r.status_code == 400 and ".py" in r.json["error"]
    r = api.client.post("/api/v1/submissions", base_url=BASE, headers=api.headers, data={})
    assert r.status_code == 400 and "`file`" in r.json["error"]


def test_nobody_reads_what_is_not_theirs(app, svc):
    ada, alan = Api(app, svc, ADA), Api(app, svc, ALAN)
    sid = ada.upload(handin("stub")).json["id"]
    assert alan.get(sid).status_code == 404
    assert alan.get(10 ** 9).status_code == 404
    assert app.test_client().get(f"/api/v1/submissions/{sid}", base_url=BASE).status_code == 401
    r = app.test_client().get(f"/api/v1/submissions/{sid}", base_url=BASE,
                              headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    assert Api(app, svc, PROF).get(sid).status_code == 200      # their course's
    assert Api(app, svc, OTHER).get(sid).status_code == 404     # another course's
    c = app.test_client()
    c.get("/student", base_url=BASE, headers=alan.headers)
    assert c.get(f"/student/submissions/{sid}/feedback", base_url=BASE,
                 headers=alan.headers).status_code == 404
    assert c.get("/instructor", base_url=BASE, headers=alan.headers).status_code == 403
    ada.wait(sid)


def test_the_same_file_gets_the_same_score_whoever_submits_it(app, svc):
    scores = [Api(app, svc, User(f"twin{i}", "", "student", "ml101")).graded("tanh-overwrite")
              ["result"]["score"] for i in range(2)]
    assert scores[0] == scores[1] < MAXIMUM


def test_a_upload_over_the_limit_is_refused_with_a_sentence(app, svc):
    r = Api(app, svc, ADA).upload(b"x = 1\n" * (svc.upload // 6 + 10))
    assert r.status_code == 413 and "MB" in r.json["error"] and r.json["error"].endswith(".")


def test_at_least_ten_uploads_a_minute_then_a_clear_429(app, svc):
    api = Api(app, svc, User("eager", "", "student", "ml101"))
    codes = [api.upload(handin("binary")).status_code for _ in range(svc.rate + 1)]
    assert svc.rate >= 10 and codes[:svc.rate] == [202] * svc.rate
    r = api.upload(handin("binary"))
    assert r.status_code == 429 and r.headers["Retry-After"] and "minute" in r.json["error"]


def session_client(app, svc, user: User):
    """A browser: signed in with a personal link, holding the page's CSRF token."""
    c = app.test_client()
    token = svc.token(user)
    r = c.post("/enter", base_url=BASE, json={"token": token})
    assert r.status_code == 200, r.json
    cookie = r.headers["Set-Cookie"]
    page = c.get("/student" if user.role == "student" else "/instructor", base_url=BASE)
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)[1]
    return c, csrf, cookie


def test_a_browser_session_needs_the_csrf_token_to_change_anything(app, svc):
    c, csrf, cookie = session_client(app, svc, EMMY)
    flags = [f.strip().lower() for f in cookie.split(";")]
    assert "secure" in flags and "httponly" in flags and "samesite=none" in flags
    data = lambda: {"file": (io.BytesIO(handin("stub")), "engine.py")}  # noqa: E731
    r = c.post("/api/v1/submissions", base_url=BASE, data=data())
    assert r.status_code == 403 and "CSRF" in r.json["error"]
    r = c.post("/api/v1/submissions", base_url=BASE, data=data(),
               headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    r = c.post("/api/v1/submissions", base_url=BASE, data=data(), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 202
    assert c.get(f"/api/v1/submissions/{r.json['id']}", base_url=BASE).status_code == 200
    assert app.test_client().post("/enter", base_url=BASE,
                                  json={"token": "guessed"}).status_code == 401


def test_the_student_page_has_the_upload_the_history_and_the_feedback(app, svc):
    c, csrf, _ = session_client(app, svc, ADA)
    page = c.get("/student", base_url=BASE).text
    assert 'type="file"' in page and 'id="history"' in page and "csrf-token" in page
    sid = c.get("/api/v1/submissions", base_url=BASE).json["submissions"][0]["id"]
    fb = c.get(f"/student/submissions/{sid}/feedback", base_url=BASE)
    assert fb.status_code == 200 and "Score: " in fb.text


def test_hidden_tests_are_folded_for_students_and_the_score_is_whole(tmp_path):
    course = course_file(tmp_path, '[groups.random]\nvisibility = "hidden"\n')
    service = start(tmp_path, course=course)
    try:
        app = create_app(service)
        body = Api(app, service, ADA).graded("add-overwrite")
        result = body["result"]
        names = [t["name"] for t in result["tests"]]
        assert any(re.fullmatch(r"\d+ hidden tests", n) for n in names)
        assert not any("random" in n.lower() for n in names)
        assert result["max_score"] == MAXIMUM and sum(t["max_score"] for t in
                                                       result["tests"]) == MAXIMUM
        full = Api(app, service, PROF).get(body["id"]).json["result"]
        assert full["score"] == result["score"] and len(full["tests"]) > len(names)
    finally:
        service.close()


def test_the_course_policy_decides_which_attempt_counts_and_the_hook_hears_it(
        tmp_path, monkeypatch):
    heard = []
    monkeypatch.setattr(hooks, "after_graded", lambda service, **kw: heard.append(kw))
    course = course_file(tmp_path, '[submissions]\nattempts = 2\ncounts = "best"\n')
    service = start(tmp_path, course=course)
    try:
        api = Api(create_app(service), service, ADA)
        first = api.graded("reference")
        second = api.graded("add-overwrite")
        third = api.graded("stub")
        assert [b["attempt"] for b in (first, second, third)] == [1, 2, 3]
        assert [b["counts"] for b in (first, second, third)] == [True, True, False]
        assert "does not count" in third["verdict"]
        for _ in range(600):  # the hook runs just after the result is stored
            if len(heard) == 3:
                break
            time.sleep(0.05)
        assert [h["submission"] for h in heard] == [first["id"], second["id"], third["id"]]
        # best of the attempts that count: the first, whatever came after
        assert {(h["score"], h["maximum"]) for h in heard} == {(MAXIMUM, MAXIMUM)}
        assert all(h["student"] == "ada" and h["course"] == "ml101" for h in heard)
    finally:
        service.close()


def test_the_instructor_sees_the_class_and_downloads_the_exports(app, svc):
    svc.store.see(User("neverdid", "Never Did", "student", "ml101"))
    Api(app, svc, User("grace", "Grace Hopper", "student", "ml101")).graded("reference")
    c, csrf, _ = session_client(app, svc, PROF)
    page = c.get("/instructor", base_url=BASE).text
    assert "grace" in page and "Not submitted" in page and "Never Did" in page
    rows = list(csv.DictReader(io.StringIO(
        c.get("/instructor/export/gradebook.csv", base_url=BASE).text)))
    by = {r["student_id"]: r for r in rows}
    assert float(by["grace"]["score"]) == float(by["grace"]["max_score"]) == MAXIMUM
    report = c.get("/instructor/export/report.html", base_url=BASE)
    assert report.status_code == 200 and "grace" in report.text
    history = c.get("/instructor/students/ada", base_url=BASE)
    assert history.status_code == 200 and "attempts" in history.text
    # another course's instructor sees none of it
    c2, _, _ = session_client(app, svc, OTHER)
    assert "ada" not in c2.get("/instructor", base_url=BASE).text
    assert c2.get("/instructor/students/ada", base_url=BASE).status_code == 404


def test_a_regrade_shows_what_changes_before_it_overwrites_anything(tmp_path, monkeypatch):
    heard = []
    monkeypatch.setattr(hooks, "after_graded", lambda service, **kw: heard.append(kw))
    path = tmp_path / "grader.toml"
    path.write_text("[assignment]\npoints = 0\n")
    service = start(tmp_path, course=load(path), course_path=path)
    try:
        app = create_app(service)
        sid = Api(app, service, ADA).graded("reference")["id"]
        for _ in range(600):  # the score is told (the hook) just after the result is stored
            if not service.store.unnotified():
                break
            time.sleep(0.05)
        heard.clear()
        path.write_text("[assignment]\npoints = 10\n")  # the instructor rescales
        c, csrf, _ = session_client(app, service, PROF)
        assert c.post("/instructor/regrade", base_url=BASE).status_code == 403  # no CSRF
        r = c.post("/instructor/regrade", base_url=BASE, data={"csrf_token": csrf})
        assert r.status_code == 302
        preview = r.headers["Location"]
        for _ in range(600):
            text = c.get(preview, base_url=BASE).text
            if 'id="pending"' not in text:
                break
            time.sleep(0.2)
        assert "1 of 1 students" in text and "10 / 10" in text
        assert service.store.get(sid)["score"] == MAXIMUM and heard == []  # nothing yet
        run = preview.rstrip("/").rsplit("/", 1)[1]
        assert c.post(f"/instructor/regrade/{run}/apply", base_url=BASE,
                      data={"csrf_token": csrf}).status_code == 302
        assert service.store.get(sid)["score"] == 10
        assert [(h["score"], h["maximum"]) for h in heard] == [(10, 10)]
    finally:
        service.close()


def test_healthz_and_a_page_without_a_session(app):
    c = app.test_client()
    assert c.get("/healthz").status_code == 200
    assert c.get("/", base_url=BASE).status_code == 401


def test_a_locked_database_is_a_clear_error_and_nothing_half_stored(tmp_path, monkeypatch):
    import sqlite3

    from grader.service import store
    monkeypatch.setattr(store, "BUSY_SECONDS", 0.5)
    service = start(tmp_path)
    try:
        api = Api(create_app(service), service, ADA)
        before = len(service.store.history("ml101"))
        lock = sqlite3.connect(tmp_path / "data" / "grader.db", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            r = api.upload(handin("reference"))
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert r.status_code == 503 and "locked" in r.json["error"]
        assert len(service.store.history("ml101")) == before  # refused, not half stored
        assert api.upload(handin("reference")).status_code == 202
    finally:
        service.close()


def test_a_full_disk_is_a_clear_error(tmp_path):
    """SQLite's page limit stands in for a full disk: both fail a write with SQLITE_FULL."""
    import sqlalchemy as sa
    service = start(tmp_path)
    try:
        api = Api(create_app(service), service, ADA)
        pages = service.store.engine.connect().exec_driver_sql("PRAGMA page_count").scalar()
        for engine in (service.store.engine, service.store.durable):
            sa.event.listen(engine, "connect", lambda conn, _: conn.execute(
                f"PRAGMA max_page_count = {pages + 2}"))
            engine.dispose()
        r = api.upload(handin("reference") * 20)
        assert r.status_code == 503 and "full" in r.json["error"], r.json
        assert service.store.history("ml101") == []
    finally:
        service.close()



def test_nothing_of_a_held_back_test_reaches_the_student_through_the_service(tmp_path, numbers):
    """The hand-in that prints every number it is given (tests/hostile/print_everything.py),
    under the course file of tests/test_hidden_output.py: the student's API answer and feedback
    page hold no number only a held-back test gave it; the instructor's result does."""
    service = start(tmp_path, course=course_file(tmp_path, HIDING_COURSE))
    try:
        app = create_app(service)
        api = Api(app, service, ADA)
        r = api.upload(handin("reference") + b"\n" + PRINT_EVERYTHING.read_bytes())
        body = api.wait(r.json["id"])
        assert body["status"] == "done"
        page = api.client.get(f"/student/submissions/{body['id']}/feedback", base_url=BASE,
                              headers=api.headers).text
        full = json.dumps(Api(app, service, PROF).get(body["id"]).json)
    finally:
        service.close()
    bad = forbidden(numbers, RANK["visible"])
    for shown in (json.dumps(body), page):
        assert not found(shown, bad)
        assert found(shown, allowed(numbers, RANK["visible"]))  # it does print
    assert found(full, bad)  # the leak is real: the instructor's view holds it
