"""Beyond one machine, for real: PostgreSQL (--db) and RQ on Redis (--queue), the web process
never grading, `grader worker` processes pulling from the queue and writing results to the
database, a killed worker's hand-in taken over by another.

The servers come from `.ci/services.sh start` (Debian's postgresql and redis-server);
GRADER_TEST_POSTGRES and GRADER_TEST_REDIS say where they are. Under CI=true a missing server
fails these tests: a skipped test of a real part is a missing install step."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest

from servicekit import GRADER, MAXIMUM, Client, Server, handin, token

POSTGRES = os.environ.get("GRADER_TEST_POSTGRES",
                          "postgresql://grader:grader@127.0.0.1:5432/grader_test")
REDIS = os.environ.get("GRADER_TEST_REDIS", "redis://127.0.0.1:6399/0")


def _reachable() -> str:
    try:
        import psycopg
        import redis
        psycopg.connect(POSTGRES.replace("postgresql://", "postgresql://", 1),
                        connect_timeout=3).close()
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except Exception as e:  # noqa: BLE001 (any failure means: not there)
        return f"{type(e).__name__}: {e}"
    return ""


_missing = _reachable()
if _missing:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL or Redis is not running ({_missing}); .ci/run starts them "
                    "with .ci/services.sh", pytrace=False)
    pytest.skip(f"PostgreSQL or Redis is not running ({_missing}): run .ci/services.sh start",
                allow_module_level=True)


@pytest.fixture
def db():
    """A database of its own for each test, dropped after."""
    import psycopg
    name = "grader_t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(POSTGRES, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    yield POSTGRES.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(POSTGRES, autocommit=True) as c:
        c.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def queue():
    import redis
    redis.Redis.from_url(REDIS).flushdb()
    yield REDIS
    redis.Redis.from_url(REDIS).flushdb()


class Workers:
    def __init__(self, tmp_path, db, queue):
        self.tmp, self.db, self.queue, self.procs = tmp_path, db, queue, []

    def start(self, n: int = 1):
        for _ in range(n):
            log = open(self.tmp / f"worker-{uuid.uuid4().hex[:8]}.log", "wb")
            self.procs.append(subprocess.Popen(
                [str(GRADER), "worker", "--db", self.db, "--queue", self.queue],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        return self

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def statuses(client: Client, ids) -> list[str]:
    return [client.get(i)[1]["status"] for i in ids]


def test_postgres_and_redis_the_web_process_never_grades(tmp_path, db, queue):
    server = Server(tmp_path / "data", "--db", db, "--queue", queue).start()
    workers = Workers(tmp_path, db, queue)
    try:
        tok = token(tmp_path / "data", "--db", db, "--student", "ada")
        client = Client(server.base, tok)
        kinds = ["reference", "add-overwrite", "stub", "syntax", "reference", "mul-swapped"]
        ids = [client.upload(handin(k))[1]["id"] for k in kinds]
        time.sleep(3)
        assert set(statuses(client, ids)) == {"queued"}, "the web process graded"
        workers.start(2)
        bodies = [client.wait(i) for i in ids]
        assert [b["status"] for b in bodies] == ["done", "done", "done", "failed", "done", "done"]
        assert bodies[0]["result"]["score"] == bodies[4]["result"]["score"] == MAXIMUM
        assert all(b["result"]["score"] < MAXIMUM for b in (bodies[1], bodies[2], bodies[5]))
        assert [b["attempt"] for b in bodies] == [1, 2, 3, None, 4, 5]
        # a second web process on the same database serves the same submissions
        other = Server(tmp_path / "data2", "--db", db, "--queue", queue).start()
        try:
            assert Client(other.base, tok).get(ids[0])[1]["result"]["score"] == MAXIMUM
        finally:
            other.stop()
    finally:
        workers.stop()
        server.stop()


def test_a_killed_worker_hand_in_is_graded_by_another(tmp_path, db, queue):
    import psycopg
    server = Server(tmp_path / "data", "--db", db, "--queue", queue).start()
    workers = Workers(tmp_path, db, queue).start(1)
    try:
        client = Client(server.base, token(tmp_path / "data", "--db", db, "--student", "ada"))
        slow = handin("reference") + b"\nimport time\ntime.sleep(6)\n"
        sid = client.upload(slow)[1]["id"]
        end = time.monotonic() + 120
        while client.get(sid)[1]["status"] != "running":
            assert time.monotonic() < end
            time.sleep(0.1)
        time.sleep(1)
        os.killpg(workers.procs[0].pid, signal.SIGKILL)  # the worker and its grading process
        workers.start(1)
        body = client.wait(sid)
        assert body["status"] == "done" and body["result"]["score"] == MAXIMUM
        with psycopg.connect(db) as c:
            assert c.execute("SELECT tries FROM submissions WHERE id = %s",
                             (sid,)).fetchone() == (1,)
    finally:
        workers.stop()
        server.stop()


def test_killing_the_web_process_or_a_worker_at_random_loses_nothing(tmp_path, db, queue):
    import random
    import threading

    from grader.service.store import LOST

    rng = random.Random(6)
    server = [Server(tmp_path / "data", "--db", db, "--queue", queue).start()]
    port, base = server[0].port, server[0].base
    workers = Workers(tmp_path, db, queue).start(2)
    tok = token(tmp_path / "data", "--db", db, "--student", "ada")
    kinds = ["reference", "add-overwrite", "stub", "syntax"]
    accepted: dict[int, str] = {}
    stop = threading.Event()

    def upload():
        i = 0
        while not stop.is_set():
            kind = kinds[i % len(kinds)]
            try:
                code, body = Client(base, tok).upload(handin(kind))
            except OSError:
                time.sleep(0.1)
                continue
            if code == 202:
                accepted[body["id"]] = kind
                i += 1
            time.sleep(0.3)

    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        for _ in range(4):  # bounded: four kills at random moments
            time.sleep(rng.uniform(1, 5))
            if rng.random() < 0.5:
                server[0].kill()
                again = Server(tmp_path / "data", "--db", db, "--queue", queue)
                again.port, again.base = port, base
                server[0] = again.start()
            else:
                victim = workers.procs.pop(rng.randrange(len(workers.procs)))
                os.killpg(victim.pid, signal.SIGKILL)
                victim.wait()
                workers.start(1)
        stop.set()
        uploader.join()
        client = Client(base, tok)
        assert len(accepted) >= 8
        for sid, kind in accepted.items():
            body = client.wait(sid, timeout=600)
            if kind == "syntax":
                assert body["status"] == "failed" and "line" in body["error"]
            elif body["status"] == "failed":
                assert body["error"] == LOST  # its worker was killed twice while grading it
            else:
                assert (body["result"]["score"] == MAXIMUM) == (kind == "reference"), body
        numbers = [s["attempt"] for s in client.request("GET", "/api/v1/submissions")[1]
                   ["submissions"] if s["attempt"] is not None]
        assert numbers == list(range(1, len(numbers) + 1))
    finally:
        stop.set()
        uploader.join()
        workers.stop()
        server[0].stop()
