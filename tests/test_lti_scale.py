"""LTI on the service beyond one machine: PostgreSQL and RQ workers (the servers come from
`.ci/services.sh start`, as for the service's own scale-out tests, whose fixtures these use).

Thirty launches of one link at once on PostgreSQL; a replay refused by another web process on
the same database; a score graded by a worker with no data dir (so no tool key) published by
the web process."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from lms import LEARNER, LMS, Browser
from servicekit import Server, handin
from test_lti import Tool, land
from test_lti_service import add_platform, graded, upload, wait_for
from test_service_scale import Workers, db, queue  # noqa: F401  (skips without the servers)

from grader.service.lti import store
from grader.service.store import engine_for


def test_launches_at_once_and_a_replay_on_postgresql(tmp_path, db):  # noqa: F811
    engine = engine_for(db)
    lms = LMS()
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a, b = Tool(tmp_path / "a", engine=engine), Tool(tmp_path / "b", engine=engine)
    try:
        lms.register_tool(a.url)
        lms.add_link("link-1", custom={"assignment": "backprop"})
        store.add_platform(engine, **lms.platform())

        def one(i):
            lms.enrol("course-1", f"u-{i}", f"Student {i}", [LEARNER])
            browser = Browser()
            return land(browser, lms.launch(browser, f"u-{i}"))["id"], browser.last_form

        with ThreadPoolExecutor(30) as pool:
            launched = list(pool.map(one, range(30)))
        assert len({who for who, _ in launched}) == 30
        action, fields = launched[0][1]
        replay = Browser().post(action.replace(a.url, b.url), data=fields,
                                allow_redirects=False)
        assert replay.status_code == 401 and "Nonce" in replay.text
    finally:
        a.close(), b.close()
        lms.close()
        engine.dispose()


def test_a_score_graded_on_a_worker_reaches_the_lms(tmp_path, db, queue):  # noqa: F811
    lms = LMS()
    server = Server(tmp_path / "data", "--db", db, "--queue", queue).start()
    workers = Workers(tmp_path, db, queue)   # `grader worker --db --queue`: no data dir, no key
    try:
        lms.register_tool(server.base)
        add_platform(server.data, lms, "--db", db)
        lms.enrol("course-1", "u-1", "Ada Lovelace", [LEARNER])
        lms.add_link("link-1")
        ada = Browser()
        lms.launch(ada, "u-1")
        csrf = ada.get(server.base + "/student").text.split('name="csrf-token" content="')[1]
        sent = upload(ada, server.base, handin("stub-tanh"), csrf.split('"')[0])
        assert sent.status_code == 202, sent.text
        workers.start(1)
        result = graded(ada, server.base, sent.json()["id"])["result"]
        started = time.monotonic()
        (_, score), = wait_for(lambda: lms.scores)
        assert score["scoreGiven"] / score["scoreMaximum"] == result["score"] / result["max_score"]
        assert time.monotonic() - started < 60
    finally:
        workers.stop()
        server.stop()
        lms.close()
