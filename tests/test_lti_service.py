"""LTI 1.3 end to end: a real `grader serve` (waitress, its own process) launched by the LMS
emulator over HTTP: the platform registered with `grader lti add-platform` while the server
runs, Deep Linking, a student's upload through the launch's session, the counting score in
the LMS's gradebook, the platform's roster on the class page, a replayed launch refused by
another server process on the same database."""
from __future__ import annotations

import re
import subprocess
import time

import pytest
from lms import INSTRUCTOR, LEARNER, LMS, Browser
from servicekit import GRADER, MAXIMUM, Server, handin


@pytest.fixture(scope="module")
def lms():
    platform = LMS()
    yield platform
    platform.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory, lms):
    data = tmp_path_factory.mktemp("lti") / "data"
    server = Server(data, "--jobs", "1").start()
    lms.register_tool(server.base)
    yield server
    server.stop()


def add_platform(data, lms, *more):
    args = [str(GRADER), "lti", "add-platform", "--data", str(data), *more]
    for key, value in lms.platform().items():
        args += ["--" + key.replace("_", "-"), value]
    subprocess.run(args, check=True, capture_output=True, text=True)


def wait_for(what, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = what()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("not in time")


def upload(browser, base, data, csrf=None):
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return browser.post(base + "/api/v1/submissions", files={"file": ("engine.py", data)},
                        headers=headers)


def graded(browser, base, sid):
    def done():
        body = browser.get(f"{base}/api/v1/submissions/{sid}").json()
        return body if body["status"] in ("done", "failed") else None
    return wait_for(done, 300)


def test_launch_upload_and_the_score_reaches_the_lms(served, lms):
    base = served.base
    # before the platform is registered, the server refuses its launches ...
    assert Browser().get(base + "/lti/login", params={
        "iss": lms.issuer, "login_hint": "t-1", "client_id": lms.client_id}).status_code == 400
    add_platform(served.data, lms)   # ... and takes them after, with no restart
    for who in (("t-1", "Alan Turing", [INSTRUCTOR]), ("u-1", "Ada Lovelace", [LEARNER]),
                ("u-2", "Grace Hopper", [LEARNER])):
        lms.enrol("course-1", *who)

    teacher = Browser()
    picker = lms.launch(teacher, "t-1", deep_linking=True)
    assert picker.status_code == 200 and "Backprop engine" in picker.text
    assert teacher.submit(teacher.submit(picker, assignment="assignment")).text == "added"
    link = next(iter(lms.links))
    lineitem = lms.links[link]["lineitem"]
    assert lms.lineitems[lineitem]["scoreMaximum"] == MAXIMUM   # the gradebook column's points

    ada = Browser()
    launched = lms.launch(ada, "u-1", link=link)
    assert launched.status_code == 303 and launched.headers["Location"].endswith("/student")
    page = ada.get(base + "/student")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
    assert upload(ada, base, handin("stub-tanh")).status_code == 403   # no CSRF token
    sent = upload(ada, base, handin("stub-tanh"), csrf)
    assert sent.status_code == 202, sent.text
    first = graded(ada, base, sent.json()["id"])
    result = first["result"]
    assert first["status"] == "done" and 0 < result["score"] < result["max_score"]

    score = wait_for(lambda: lms.gradebook.get((lineitem, "u-1")))
    assert score["scoreGiven"] / score["scoreMaximum"] == result["score"] / result["max_score"]
    assert score["activityProgress"] == "Submitted"
    assert score["gradingProgress"] == "FullyGraded"

    # the last attempt counts (no [submissions] table): the full score replaces it
    second = graded(ada, base, upload(ada, base, handin("reference"), csrf).json()["id"])
    assert second["result"]["score"] == second["result"]["max_score"]
    wait_for(lambda: lms.gradebook[(lineitem, "u-1")]["scoreGiven"]
             == lms.gradebook[(lineitem, "u-1")]["scoreMaximum"])
    assert {url for url, _ in lms.scores} == {lineitem}

    # the instructor's launch brings the roster: Grace never opened the tool, yet is missing
    teacher = Browser()
    opened = lms.launch(teacher, "t-1", link=link)
    assert opened.headers["Location"].endswith("/instructor")

    def missing_list():
        page = teacher.get(base + "/instructor").text
        return page.split('id="missing"')[1] if "Grace Hopper" in page else None
    missing = wait_for(missing_list)
    assert "Grace Hopper" in missing and "Ada Lovelace" not in missing


def test_replay_refused_by_another_server_on_the_same_database(served, lms):
    add_platform(served.data, lms)
    lms.enrol("course-1", "u-3", "Emmy Noether", [LEARNER])
    emmy = Browser()
    assert lms.launch(emmy, "u-3").status_code == 303
    other = Server(served.data, "--jobs", "1").start()
    try:
        action, fields = emmy.last_form
        replay = Browser().post(action.replace(served.base, other.base), data=fields,
                                allow_redirects=False)
        assert replay.status_code == 401 and "Nonce" in replay.text
    finally:
        other.stop()


def test_a_regrade_applied_reaches_the_lms(tmp_path, lms):
    """The instructor rescales the assignment and applies a regrade: the new counting score
    replaces the old one in the LMS (the same attempt, a newer score)."""
    (tmp_path / "grader.toml").write_text("[assignment]\npoints = 0\n")
    server = Server(tmp_path / "data", "--jobs", "1", cwd=tmp_path).start()
    try:
        lms.register_tool(server.base)
        add_platform(server.data, lms)
        for who in (("t-9", "Alan Turing", [INSTRUCTOR]), ("u-9", "Ada Lovelace", [LEARNER])):
            lms.enrol("course-9", *who)
        lms.add_link("link-9", context="course-9")
        ada = Browser()
        lms.launch(ada, "u-9", link="link-9")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"',
                         ada.get(server.base + "/student").text).group(1)
        sid = upload(ada, server.base, handin("stub-tanh"), csrf).json()["id"]
        first = graded(ada, server.base, sid)["result"]
        wait_for(lambda: any(k[1] == "u-9" for k in lms.gradebook))
        key = next(k for k in lms.gradebook if k[1] == "u-9")
        assert lms.gradebook[key]["scoreMaximum"] == first["max_score"] == MAXIMUM

        (tmp_path / "grader.toml").write_text("[assignment]\npoints = 10\n")
        prof = Browser()
        lms.launch(prof, "t-9", link="link-9")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"',
                         prof.get(server.base + "/instructor").text).group(1)
        preview = prof.post(server.base + "/instructor/regrade", data={"csrf_token": csrf})
        assert preview.status_code == 200, preview.text
        wait_for(lambda: 'id="pending"' not in prof.get(preview.url).text, 300)
        applied = prof.post(preview.url.rstrip("/") + "/apply", data={"csrf_token": csrf})
        assert applied.status_code == 200, applied.text
        wait_for(lambda: lms.gradebook[key]["scoreMaximum"] == 10)
        now, regraded = lms.gradebook[key], graded(ada, server.base, sid)["result"]
        assert regraded["max_score"] == 10 and regraded["score"] != first["score"]
        assert now["scoreGiven"] / now["scoreMaximum"] == regraded["score"] / 10
    finally:
        server.stop()


def test_add_platform_refuses_a_url_that_is_not_one(tmp_path, lms):
    args = [str(GRADER), "lti", "add-platform", "--data", str(tmp_path / "data")]
    for key, value in dict(lms.platform(), keyset_url="lms/jwks").items():
        args += ["--" + key.replace("_", "-"), value]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 2 and "--keyset-url must be an http(s) URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_behind_a_tls_proxy_the_tool_gives_https_urls(served):
    """The README's nginx and Caddy set X-Forwarded-Proto: the URLs the platform is given
    (and the redirect_uri it checks) are the public https ones."""
    proxied = Browser().get(served.base + "/lti/config.json", headers={
        "X-Forwarded-Proto": "https", "Host": "grader.example.edu"}).json()
    assert proxied["oidc_initiation_url"] == "https://grader.example.edu/lti/login"
    assert proxied["target_link_uri"] == "https://grader.example.edu/lti/launch"
    assert proxied["public_jwk_url"] == "https://grader.example.edu/lti/jwks.json"
