"""Nothing lost: `kill -9` the server, or a grading process, at random moments while clients
upload; after a restart every accepted upload is graded exactly once, with the score the same
file gets on a quiet server. A grading process that dies while grading a hand-in costs a retry;
a second death fails the hand-in with a sentence the student sees."""
from __future__ import annotations

import http.client
import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from servicekit import MAXIMUM, Client, Server, handin, token

from grader.service.store import LOST

KINDS = ["reference", "add-overwrite", "stub", "syntax", "relu-at-zero"]
SLOW = handin("reference") + b"\nimport time\ntime.sleep(4)\n"  # 4 s to load: killable mid-grade


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def graders(server: Server) -> list[int]:
    """The server's warm grading processes (children of its forkserver)."""
    found = []
    for child in children(server.proc.pid):
        cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"forkserver" in cmd:
            found += children(child)
    return found


def rows(data: Path) -> list[tuple]:
    db = sqlite3.connect(data / "grader.db")
    try:
        return db.execute("SELECT id, student, status, score, tries, error, result IS NOT NULL "
                          "FROM submissions ORDER BY id").fetchall()
    finally:
        db.close()


def uploader(server_ref, tok: str, accepted: dict, stop: threading.Event, seed: int):
    rng = random.Random(seed)
    while not stop.is_set():
        kind = rng.choice(KINDS)
        try:
            code, body = Client(server_ref[0].base, tok).upload(handin(kind))
        except (OSError, http.client.HTTPException):  # the server is down, or went down
            time.sleep(0.05)  # while answering (an answer cut short): try again
            continue
        if code == 202:
            accepted[body["id"]] = kind
        time.sleep(rng.uniform(0, 0.3))


def test_killing_the_server_at_random_loses_no_accepted_upload(tmp_path):
    rng = random.Random(17)
    data = tmp_path / "data"
    tokens = [token(data, "--student", f"s{i}") for i in range(3)]
    accepted: dict[int, str] = {}
    server = [Server(data, "--jobs", "2", "--rate", "1000").start()]
    stop = threading.Event()
    port = server[0].port
    threads = [threading.Thread(target=uploader, args=(server, t, accepted, stop, i))
               for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    try:
        for _ in range(6):  # bounded: six kills at random moments
            time.sleep(rng.uniform(0.5, 4.0))
            server[0].kill()
            time.sleep(rng.uniform(0, 0.5))
            restarted = Server(data, "--jobs", "2", "--rate", "1000")
            restarted.port, restarted.base = port, server[0].base
            server[0] = restarted.start()
    finally:
        stop.set()
        for t in threads:
            t.join()
    try:
        assert len(accepted) >= 10, "too few uploads were accepted to test anything"
        quiet = {}
        end = time.monotonic() + 600
        while time.monotonic() < end:
            state = {r[0]: r for r in rows(data)}
            if all(state[sid][2] in ("done", "failed") for sid in accepted):
                break
            time.sleep(0.5)
        state = {r[0]: r for r in rows(data)}
        for sid, kind in accepted.items():
            _, student, status, score, tries, error, has_result = state[sid]
            assert tries == 0, (sid, "a server that stopped is no grader's death")
            if kind == "syntax":
                assert status == "failed" and "line" in error
                continue
            assert status == "done" and has_result, (sid, kind, status, error)
            quiet.setdefault(kind, set()).add(score)
        # the same file, the same score, however often the server died around it
        assert all(len(scores) == 1 for scores in quiet.values()), quiet
        assert quiet.get("reference", {MAXIMUM}) == {MAXIMUM}
        assert all(s < MAXIMUM for k, v in quiet.items() if k != "reference" for s in v)
        assert not [r for r in state.values() if r[2] in ("queued", "running")]
        # attempts numbered once each: 1..n per student, none twice
        for i, tok in enumerate(tokens):
            subs = Client(server[0].base, tok).request("GET", "/api/v1/submissions")[1]
            numbers = [s["attempt"] for s in subs["submissions"] if s["attempt"] is not None]
            assert numbers == list(range(1, len(numbers) + 1))
    finally:
        server[0].stop()


@pytest.fixture
def slow_server(tmp_path):
    s = Server(tmp_path / "data", "--jobs", "1").start()
    yield s
    s.stop()


def kill_grader_while_running(server: Server, sid: int, tries: int) -> None:
    """Once the submission is running for the (tries+1)th time, kill its grading process in
    the middle of the hand-in's four seconds of loading."""
    end = time.monotonic() + 120
    while time.monotonic() < end:
        row = [r for r in rows(server.data) if r[0] == sid]
        busy = [pid for pid in graders(server) if children(pid)]  # its sandbox runs
        if row and row[0][2] == "running" and row[0][4] == tries and busy:
            time.sleep(1.0)
            for pid in busy:
                os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.05)
    raise AssertionError("never running")


def test_a_grader_that_dies_is_retried_once_then_the_hand_in_fails_with_a_reason(slow_server):
    client = Client(slow_server.base, token(slow_server.data, "--student", "ada"))
    once = client.upload(SLOW)[1]["id"]
    kill_grader_while_running(slow_server, once, 0)
    body = client.wait(once)
    assert body["status"] == "done" and body["result"]["score"] == MAXIMUM
    assert [r[4] for r in rows(slow_server.data) if r[0] == once] == [1]

    twice = client.upload(SLOW)[1]["id"]
    kill_grader_while_running(slow_server, twice, 0)
    kill_grader_while_running(slow_server, twice, 1)
    body = client.wait(twice)
    assert body["status"] == "failed" and body["error"] == LOST and body["attempt"] is None
    # and the service grades on
    after = client.upload(handin("reference"))[1]["id"]
    assert client.wait(after)["attempt"] == 2
