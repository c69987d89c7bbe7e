"""LTI 1.3 Advantage against a real platform over HTTP (tests/lms.py), the tool served by
waitress on 127.0.0.1: launches, roles, Deep Linking, AGS scores, NRPS roster, and the
launches a tool must refuse."""
from __future__ import annotations

import stat
import threading
from datetime import datetime, timedelta, timezone

import flask
import pytest
from lms import ADMINISTRATOR, INSTRUCTOR, LEARNER, LMS, MENTOR, TEACHING_ASSISTANT, Browser
from sqlalchemy import create_engine, select
from waitress import create_server, wasyncore

from grader.service.lti import Assignment, init_app, keys, roster, scores, store

ASSIGNMENTS = [Assignment("backprop", "Backprop engine", 10.0),
               Assignment("chain", "Chain rule warm-up", 4.0)]


class Tool:
    """A minimal Flask app with the LTI blueprint, served by waitress on 127.0.0.1."""

    def __init__(self, data_dir, engine=None, assignments=ASSIGNMENTS):
        self.engine = engine or create_engine(f"sqlite:///{data_dir}/service.db")
        app = flask.Flask("tool")
        app.secret_key = "test"
        app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE="None")
        self.rosters = []
        self.lti = init_app(app, self.engine, keys.load_or_make(data_dir), lambda: assignments,
                            roster_seen=lambda course, people: self.rosters.append(people))

        @app.get("/")
        def student():
            return {"page": "student", **flask.session["user"]}

        @app.get("/instructor")
        def instructor():
            return {"page": "instructor", **flask.session["user"]}

        self.server = create_server(app, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            wasyncore.loop(timeout=0.05, map=self.server._map, count=1)

    def close(self):
        self.stopped.set()
        self.thread.join()
        self.server.close()


@pytest.fixture
def lms():
    platform = LMS()
    yield platform
    platform.close()


@pytest.fixture
def tool(tmp_path, lms):
    t = Tool(tmp_path)
    lms.register_tool(t.url)
    lms.add_link("link-1", custom={"assignment": "backprop"})
    store.add_platform(t.engine, **lms.platform())
    yield t
    t.close()


def land(browser, response):
    """Follow the launch's redirect to the page it leads to; that page's JSON."""
    assert response.status_code == 303, response.text
    page = browser.get(response.headers["Location"] if "://" in response.headers["Location"]
                       else response.url.split("/lti/")[0] + response.headers["Location"])
    return page.json()


def test_key_pair_is_made_once_kept_private_and_served(tmp_path, tool):
    key = keys.load_or_make(tmp_path)
    assert stat.S_IMODE((tmp_path / keys.FILENAME).stat().st_mode) == 0o600
    assert keys.load_or_make(tmp_path).kid == key.kid   # the same key after a restart
    served = Browser().get(tool.url + "/lti/jwks.json").json()
    assert served == {"keys": [key.jwk]}
    assert "d" not in served["keys"][0] and "p" not in served["keys"][0]  # public half only


def test_processes_with_keys_of_their_own_sign_what_the_platform_can_check(tmp_path, lms):
    """Two web processes on one database, each with its data dir and so its own key: the
    platform asked one of them for the keys, the other signs the score's token request."""
    engine = create_engine(f"sqlite:///{tmp_path}/service.db")
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a, b = Tool(tmp_path / "a", engine=engine), Tool(tmp_path / "b", engine=engine)
    try:
        assert a.lti.key.kid != b.lti.key.kid
        lms.register_tool(b.url, keyset=a.url + "/lti/jwks.json")
        lms.add_link("link-1", custom={"assignment": "backprop"})
        store.add_platform(engine, **lms.platform())
        lms.enrol("course-1", "u-1", "Ada Lovelace", [LEARNER])
        browser = Browser()
        me = land(browser, lms.launch(browser, "u-1"))
        assert scores.after_graded(b.lti, student=me["id"], course=me["course"], score=3,
                                   max_score=4, graded_at=1.7e9, submission=1) == "sent"
        served = {k["kid"] for k in Browser().get(a.url + "/lti/jwks.json").json()["keys"]}
        assert served == {a.lti.key.kid, b.lti.key.kid}
    finally:
        a.close(), b.close()


def test_config_json_is_canvas_format(tool):
    c = Browser().get(tool.url + "/lti/config.json").json()
    assert c["oidc_initiation_url"] == tool.url + "/lti/login"
    assert c["target_link_uri"] == tool.url + "/lti/launch"
    assert c["public_jwk_url"] == tool.url + "/lti/jwks.json"
    assert c["redirect_uris"] == [c["target_link_uri"]]
    for scope in ("lineitem", "result.readonly", "score"):
        assert f"https://purl.imsglobal.org/spec/lti-ags/scope/{scope}" in c["scopes"]
    canvas = c["extensions"][0]
    assert canvas["platform"] == "canvas.instructure.com"
    assert {p["message_type"] for p in canvas["settings"]["placements"]} == {
        "LtiDeepLinkingRequest"}


def test_student_launch_then_score_reaches_the_gradebook(tool, lms):
    lms.enrol("course-1", "u-7", "Ada Lovelace", [LEARNER])
    browser = Browser()
    me = land(browser, lms.launch(browser, "u-7"))
    pid = store.find_platform(tool.engine, lms.issuer, lms.client_id).id
    assert me == {"page": "student", "id": f"lti:{pid}:u-7", "name": "Ada Lovelace",
                  "role": "student", "course": f"lti:{pid}:course-1"}
    cookie = next(c for c in browser.cookies if c.name == "session")
    assert cookie.secure and cookie.has_nonstandard_attr("HttpOnly")

    graded = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    outcome = scores.after_graded(tool.lti, student=me["id"], course=me["course"],
                                  score=7.5, max_score=10, graded_at=graded, submission="s1")
    assert outcome == "sent"
    (url, s), = lms.scores
    item = lms.lineitems[url]
    assert item["resourceLinkId"] == "link-1" and item["resourceId"] == "backprop"
    assert s["userId"] == "u-7" and s["scoreGiven"] / s["scoreMaximum"] == 7.5 / 10
    assert s["activityProgress"] == "Submitted" and s["gradingProgress"] == "FullyGraded"
    assert datetime.fromisoformat(s["timestamp"]) == graded.replace(microsecond=123000)

    # the next attempt goes to the same line item; the last one allowed is Completed
    scores.after_graded(tool.lti, student=me["id"], course=me["course"], score=4, max_score=10,
                        graded_at=graded + timedelta(minutes=5), submission="s2",
                        attempts_left=0)
    assert len(lms.lineitems) == 1
    latest = lms.gradebook[(url, "u-7")]
    assert latest["scoreGiven"] == 4 and latest["activityProgress"] == "Completed"
    # the client assertion verified against the tool's served JWKS each time
    assert all("https://purl.imsglobal.org/spec/lti-ags/scope/score" in r
               for r in lms.token_requests)


def test_no_score_for_someone_who_did_not_come_by_lti(tool, lms):
    assert scores.after_graded(tool.lti, student="local-1", course="c", score=1, max_score=2,
                               graded_at=0.0, submission="x") is None
    assert lms.scores == []


def test_a_platform_that_is_down_loses_no_score(tool, lms):
    lms.enrol("course-1", "u-8", "Grace Hopper", [LEARNER])
    browser = Browser()
    me = land(browser, lms.launch(browser, "u-8"))
    lms.fail_scores = 1
    why = scores.after_graded(tool.lti, student=me["id"], course=me["course"], score=9,
                              max_score=10, graded_at=1.7e9, submission="s9")
    assert "503" in why and lms.scores == []
    assert scores.publish_pending(tool.lti) == {(me["id"], me["course"]): "sent"}
    assert [s["scoreGiven"] for _, s in lms.scores] == [9]
    assert scores.publish_pending(tool.lti) == {}   # nothing sent twice


@pytest.mark.parametrize("roles, page", [
    ([LEARNER], "student"),
    ([INSTRUCTOR], "instructor"),
    ([INSTRUCTOR, TEACHING_ASSISTANT], "instructor"),
    ([ADMINISTRATOR], "instructor"),
    # a teacher elsewhere in the institution, a learner here
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor", LEARNER],
     "student"),
])
def test_roles_pick_the_page(tool, lms, roles, page):
    browser = Browser()
    assert land(browser, lms.launch(browser, "u-1", roles=roles))["role"] == page


def test_a_role_without_a_page_is_told_so(tool, lms):
    r = lms.launch(Browser(), "u-2", roles=[MENTOR])
    assert r.status_code == 403 and "role" in r.text


def test_deep_linking_places_the_chosen_assignment(tool, lms):
    lms.enrol("course-1", "t-1", "Alan Turing", [INSTRUCTOR])
    lms.enrol("course-1", "u-3", "Emmy Noether", [LEARNER])
    browser = Browser()
    picker = lms.launch(browser, "t-1", deep_linking=True)
    assert picker.status_code == 200 and "Chain rule warm-up" in picker.text
    back = browser.submit(picker, assignment="chain")
    assert back.status_code == 200
    assert lms.url + "/deep_link_return" in back.text
    assert browser.submit(back).text == "added"   # the platform checked the signed response
    (claims,) = lms.deep_link_responses
    (item,) = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["custom"] == {"assignment": "chain"} and item["url"] == tool.url + "/lti/launch"
    assert item["lineItem"]["scoreMaximum"] == 4.0

    # a student opens the placed link: the launch names the assignment and its line item
    link = next(k for k, v in lms.links.items() if v["custom"] == {"assignment": "chain"})
    student = Browser()
    me = land(student, lms.launch(student, "u-3", link=link))
    scores.after_graded(tool.lti, student=me["id"], course=me["course"], score=3,
                        max_score=4, graded_at=1.7e9, submission="s3")
    (url, s), = lms.scores
    assert url == lms.links[link]["lineitem"] and len(lms.lineitems) == 1
    assert s["scoreGiven"] / s["scoreMaximum"] == 3 / 4


def test_deep_linking_without_data_returns_none(tool, lms):
    browser = Browser()
    picker = lms.launch(browser, "t-1", deep_linking=True, roles=[INSTRUCTOR],
                        data=None)
    assert browser.submit(browser.submit(picker, assignment="backprop")).text == "added"
    assert "https://purl.imsglobal.org/spec/lti-dl/claim/data" not in \
        lms.deep_link_responses[0]


def test_deep_linking_choice_needs_the_launch_session(tool, lms):
    browser = Browser()
    picker = lms.launch(browser, "t-1", deep_linking=True, roles=[INSTRUCTOR])
    stranger = Browser()   # a cross-site post without the instructor's session
    r = stranger.submit(picker, assignment="chain")
    assert r.status_code == 403
    assert lms.launch(Browser(), "u-9", deep_linking=True, roles=[LEARNER]).status_code == 403


def test_roster_follows_every_page(tool, lms):
    people = [("u-1", "Ada Lovelace", [LEARNER]), ("u-2", "Grace Hopper", [LEARNER]),
              ("t-1", "Alan Turing", [INSTRUCTOR]), ("u-3", "Emmy Noether", [LEARNER])]
    for who in people:
        lms.enrol("course-1", *who)
    lms.enrol("course-1", "u-4", "Gone Student", [LEARNER], status="Inactive")
    browser = Browser()
    me = land(browser, lms.launch(browser, "t-1"))
    pid = store.find_platform(tool.engine, lms.issuer, lms.client_id).id
    got = roster.students(tool.lti, me["course"])
    assert sorted(p["id"] for p in got) == [f"lti:{pid}:u-{i}" for i in (1, 2, 3)]
    for _ in range(200):   # told to the service after the instructor's launch
        if tool.rosters:
            break
        threading.Event().wait(0.05)
    assert tool.rosters == [got]
    assert roster.roster(tool.lti, "lti:99:nowhere") is None


def _refused(tool, lms, **launch):
    browser = Browser()
    r = lms.launch(browser, "u-5", **launch)
    assert r.status_code == 401, r.text
    assert "session" not in {c.name for c in browser.cookies}   # nobody was let in
    return r


def test_tampered_token_is_refused(tool, lms):
    _refused(tool, lms, tamper=True)


def test_token_signed_by_another_key_is_refused(tool, lms):
    from jwcrypto.jwk import JWK
    _refused(tool, lms, sign_with=JWK.generate(kty="RSA", size=2048))


def test_wrong_audience_is_refused(tool, lms):
    assert "audience" in _refused(tool, lms, claims={"aud": "another-tool"}).text \
        or "Registration" in _refused(tool, lms, claims={"aud": "another-tool"}).text
    # a list naming us among others, without azp naming us
    _refused(tool, lms, claims={"aud": [lms.client_id, "another-tool"]})


def test_expired_token_is_refused(tool, lms):
    import time
    r = _refused(tool, lms, claims={"exp": int(time.time()) - 60})
    assert "expired" in r.text.lower()


def test_token_without_iat_is_refused(tool, lms):
    _refused(tool, lms, claims={"iat": None})


def test_a_clock_a_little_ahead_is_taken(tool, lms):
    import time
    r = lms.launch(Browser(), "u-5", claims={"iat": int(time.time()) + 5})
    assert r.status_code == 303


def test_platform_keys_are_remembered_and_a_rotation_is_followed(tool, lms):
    for _ in range(2):
        assert lms.launch(Browser(), "u-5").status_code == 303
    assert lms.keyset_requests == 1
    lms.rotate_key()
    assert lms.launch(Browser(), "u-5").status_code == 303   # the new kid: asked again
    assert lms.keyset_requests == 2


def test_unknown_deployment_is_refused(tool, lms):
    _refused(tool, lms, claims={
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "not-registered"})


def test_replayed_launch_is_refused(tool, lms):
    browser = Browser()
    first = lms.launch(browser, "u-6")
    assert first.status_code == 303
    action, fields = browser.last_form
    again = browser.post(action, data=fields, allow_redirects=False)  # same token, state, nonce
    assert again.status_code == 401 and "Nonce" in again.text


def test_replay_is_refused_by_another_process_of_the_service(tmp_path, tool, lms):
    other = Tool(tmp_path, engine=create_engine(f"sqlite:///{tmp_path}/service.db"))
    try:
        browser = Browser()
        assert lms.launch(browser, "u-6").status_code == 303
        action, fields = browser.last_form
        replay = browser.post(action.replace(tool.url, other.url), data=fields,
                              allow_redirects=False)
        assert replay.status_code == 401
    finally:
        other.close()


def test_a_class_launching_at_once(tmp_path, lms):
    """Thirty students open the same link in the same second (the start of a lab): every
    launch lands, on the service's own SQLite settings."""
    from concurrent.futures import ThreadPoolExecutor

    from grader.service.store import engine_for, sqlite_url
    t = Tool(tmp_path, engine=engine_for(sqlite_url(tmp_path)))
    try:
        lms.register_tool(t.url)
        lms.add_link("link-1", custom={"assignment": "backprop"})
        store.add_platform(t.engine, **lms.platform())

        def one(i):
            lms.enrol("course-1", f"u-{i}", f"Student {i}", [LEARNER])
            browser = Browser()
            return land(browser, lms.launch(browser, f"u-{i}"))["id"]

        with ThreadPoolExecutor(30) as pool:
            ids = list(pool.map(one, range(30)))
        assert len(set(ids)) == 30
        with t.engine.connect() as db:
            assert len(db.execute(select(store.members)).all()) == 30
            assert len(db.execute(select(store.links)).all()) == 1
    finally:
        t.close()


def test_a_link_naming_no_assignment(tool, lms):
    lms.add_link("bare")
    r = lms.launch(Browser(), "u-1", link="bare")
    assert r.status_code == 404 and "picks one" in r.text   # two offered: which one is unsaid


def test_a_platform_added_while_serving_takes_effect_at_once(tmp_path, lms):
    t = Tool(tmp_path, assignments=ASSIGNMENTS[:1])   # the only one: no need to name it
    try:
        lms.register_tool(t.url)
        browser = Browser()
        r = browser.get(t.url + "/lti/login", params={"iss": lms.issuer, "login_hint": "u",
                                                      "client_id": lms.client_id})
        assert r.status_code == 400 and "registration" in r.text.lower()
        store.add_platform(t.engine, **lms.platform())       # as `grader lti add-platform`
        assert land(browser, lms.launch(browser, "u-1"))["role"] == "student"
        with t.engine.connect() as db:
            assert len(db.execute(select(store.platforms)).all()) == 1
    finally:
        t.close()


def test_add_platform_says_what_is_wrong(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/s.db")
    with pytest.raises(ValueError, match="--keyset-url"):
        store.add_platform(engine, issuer="https://lms", client_id="1", deployment_id="d",
                           auth_login_url="https://lms/auth", auth_token_url="https://lms/t",
                           keyset_url="lms/jwks")


def test_told_twice_of_a_grading_publishes_it_once(tool, lms):
    lms.enrol("course-1", "u-1", "Ada Lovelace", [LEARNER])
    browser = Browser()
    me = land(browser, lms.launch(browser, "u-1"))
    told = dict(student=me["id"], course=me["course"], score=5, max_score=10,
                graded_at=1.7e9, submission=12)
    assert scores.after_graded(tool.lti, **told) == "sent"
    # the service's retry after a restart, a moment later: nothing new to say
    assert scores.after_graded(tool.lti, **dict(told, graded_at=1.7e9 + 1)) == "sent"
    assert len(lms.scores) == 1
    # a regrade of the same attempt: a new score, later, replaces the first
    scores.after_graded(tool.lti, **dict(told, score=8, graded_at=1.7e9 + 60))
    assert [s["scoreGiven"] for _, s in lms.scores] == [5, 8]
    assert lms.gradebook[(lms.scores[0][0], "u-1")]["scoreGiven"] == 8


def test_a_worker_without_the_key_leaves_the_score_to_the_web_process(tool, lms):
    import dataclasses
    lms.enrol("course-1", "u-1", "Ada Lovelace", [LEARNER])
    browser = Browser()
    me = land(browser, lms.launch(browser, "u-1"))
    worker = dataclasses.replace(tool.lti, key=None)
    why = scores.after_graded(worker, student=me["id"], course=me["course"], score=6,
                              max_score=10, graded_at=1.7e9, submission=13)
    assert "web process" in why and lms.scores == []
    stop = scores.keep_publishing(tool.lti, every=0.05)
    try:
        for _ in range(200):
            if lms.scores:
                break
            threading.Event().wait(0.05)
    finally:
        stop.set()
    assert [s["scoreGiven"] for _, s in lms.scores] == [6]
