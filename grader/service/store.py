"""Where the service keeps everything: SQLAlchemy Core, one schema for SQLite and PostgreSQL.

Every submission row holds the uploaded bytes themselves, so an accepted upload is on disk (in
the database's own durable commit) before the answer says so, and a worker on another machine
needs nothing but the database. A row's `status` moves queued -> running -> done | failed:

* `claim` takes a queued row for one grader (a random claim id, the time); only the holder of
  that claim may finish it, so a row is graded, and its result written, exactly once;
* `release` puts a running row back in the queue when its grader died, counting the death in
  `tries`: after a second death the row is failed with a sentence for the student;
* `notified` says that the after-graded hook (score passback) ran for a finished row; rows
  finished but not notified are notified again after a restart.

Times are seconds since the epoch (UTC), the same on every engine.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

meta = sa.MetaData()

submissions = sa.Table(
    "submissions", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("course", sa.String(255), nullable=False),
    sa.Column("student", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False, default=""),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="queued"),
    sa.Column("tries", sa.Integer, nullable=False, default=0),
    sa.Column("claim", sa.String(64)),
    sa.Column("claimed_at", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("graded_at", sa.Float),
    sa.Column("result", sa.Text),          # the full result (every test), JSON
    sa.Column("error", sa.Text),           # failed: one sentence for the student
    sa.Column("score", sa.Float),
    sa.Column("max_score", sa.Float),
    sa.Column("notified", sa.Boolean, nullable=False, default=False),
    sa.Index("submissions_student", "course", "student"),
    sa.Index("submissions_status", "status"),
)

users = sa.Table(  # everyone the service has seen or been told of (tokens, launches, rosters)
    "users", meta,
    sa.Column("course", sa.String(255), primary_key=True),
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, default=""),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("seen_at", sa.Float),
)

tokens = sa.Table(
    "tokens", meta,
    sa.Column("sha256", sa.String(64), primary_key=True),  # of the token: the token is not kept
    sa.Column("course", sa.String(255), nullable=False),
    sa.Column("user", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False, default=""),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

settings = sa.Table(
    "settings", meta,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

regrades = sa.Table(  # a regrade's results, kept apart until the instructor applies them
    "regrades", meta,
    sa.Column("run", sa.String(32), primary_key=True),
    sa.Column("submission", sa.Integer, primary_key=True),
    sa.Column("course", sa.String(255), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="queued"),
    sa.Column("result", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("score", sa.Float),
    sa.Column("max_score", sa.Float),
)

ROLES = ("student", "instructor")
BUSY_SECONDS = 15.0  # how long SQLite waits for another writer before the request fails
LOST = ("the grader's worker process died twice while grading this hand-in, so it was not "
        "graded; it costs no attempt: please tell your instructor")


class StoreError(RuntimeError):
    """The database cannot take or give what was asked (locked, disk full, unreachable): one
    sentence, shown as it is."""


@dataclass
class User:
    id: str
    name: str
    role: str
    course: str

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role, "course": self.course}


def sqlite_url(data) -> str:
    return f"sqlite:///{data}/grader.db"


def engine_for(url: str, durable: bool = True) -> sa.Engine:
    """The engine for `url`. On SQLite, `durable` commits are on disk when they return (an
    accepted upload); the others (claims, results) may be lost to a power cut, never to a
    killed process, and then the submission is simply graded again."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_SECONDS,
                                                     "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(conn, record):
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")   # readers never wait for the writer
            cur.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            cur.close()
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _why(e: OperationalError) -> str:
    text = str(e.orig if getattr(e, "orig", None) else e).lower()
    if "locked" in text or "busy" in text:
        return "the database is locked by another program and did not free up in time"
    if "full" in text or "no space" in text:
        return "the disk holding the database is full"
    return "the database could not be reached (" + str(e.orig or e).splitlines()[0][:200] + ")"


class Store:
    def __init__(self, url: str):
        self.url = url
        self.engine = engine_for(url, durable=False)
        self.durable = engine_for(url) if url.startswith("sqlite") else self.engine

    def create(self) -> None:
        try:
            meta.create_all(self.engine)
        except OperationalError as e:
            raise StoreError(_why(e)) from None

    def begin(self, durable: bool = False):
        """A transaction; `durable`: its commit is on disk when it returns (SQLite's FULL)."""
        return _Tx(self.durable if durable else self.engine)

    # ------------------------------------------------------------------ settings and users

    def setting(self, key: str, make) -> str:
        """The value of `key`, made by `make()` and kept on first use (by one process only)."""
        with self.begin() as c:
            row = c.execute(sa.select(settings.c.value).where(settings.c.key == key)).first()
        if row:
            return row[0]
        try:
            with self.begin() as c:
                c.execute(settings.insert().values(key=key, value=make()))
        except IntegrityError:
            pass  # another process made it first: theirs stands
        with self.begin() as c:
            return c.execute(sa.select(settings.c.value).where(settings.c.key == key)).scalar_one()

    def put_setting(self, key: str, value: str) -> None:
        with self.begin() as c:
            if c.execute(settings.update().where(settings.c.key == key)
                         .values(value=value)).rowcount == 0:
                c.execute(settings.insert().values(key=key, value=value))

    def get_setting(self, key: str, default: str = "") -> str:
        with self.begin() as c:
            row = c.execute(sa.select(settings.c.value).where(settings.c.key == key)).first()
        return row[0] if row else default

    def see(self, user: User) -> None:
        """Remember a user (a token made for them, a launch, a roster's line)."""
        with self.begin() as c:
            done = c.execute(users.update().where(users.c.course == user.course,
                                                  users.c.id == user.id)
                             .values(name=user.name or users.c.name, role=user.role,
                                     seen_at=time.time())).rowcount
            if not done:
                c.execute(users.insert().values(course=user.course, id=user.id, name=user.name,
                                                role=user.role, seen_at=time.time()))

    def people(self, course: str, role: str = "student") -> list[dict]:
        with self.begin() as c:
            rows = c.execute(sa.select(users).where(users.c.course == course,
                                                    users.c.role == role)
                             .order_by(users.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def make_token(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        with self.begin(durable=True) as c:
            c.execute(tokens.insert().values(sha256=_hash(token), course=user.course,
                                             user=user.id, name=user.name, role=user.role,
                                             created_at=time.time()))
        self.see(user)
        return token

    def token_user(self, token: str) -> User | None:
        with self.begin() as c:
            row = c.execute(sa.select(tokens).where(tokens.c.sha256 == _hash(token))).first()
        return User(row.user, row.name, row.role, row.course) if row else None

    # ------------------------------------------------------------------ submissions

    def add(self, user: User, filename: str, content: bytes, status: str = "queued",
            error: str | None = None) -> int:
        """Store an upload durably; its id. `status` "failed" (with `error`) for an upload
        that cannot be graded at all (not UTF-8, binary): it is kept, and costs no attempt."""
        now = time.time()
        with self.begin(durable=True) as c:
            return c.execute(submissions.insert().values(
                course=user.course, student=user.id, name=user.name, filename=filename,
                content=content, sha256=hashlib.sha256(content).hexdigest(), status=status,
                error=error, created_at=now, graded_at=now if status == "failed" else None,
                tries=0, notified=False)).inserted_primary_key[0]

    def get(self, sid: int, content: bool = False) -> dict | None:
        cols = [c for c in submissions.c if content or c.name != "content"]
        with self.begin() as c:
            row = c.execute(sa.select(*cols).where(submissions.c.id == sid)).mappings().first()
        return dict(row) if row else None

    def history(self, course: str, student: str | None = None) -> list[dict]:
        """A student's submissions (or a course's), oldest first, without their bytes and full
        results."""
        cols = [c for c in submissions.c if c.name not in ("content", "result")]
        q = sa.select(*cols).where(submissions.c.course == course)
        if student is not None:
            q = q.where(submissions.c.student == student)
        with self.begin() as c:
            return [dict(r) for r in c.execute(q.order_by(submissions.c.id)).mappings()]

    def results(self, ids: list[int]) -> dict[int, str]:
        with self.begin() as c:
            return dict(c.execute(sa.select(submissions.c.id, submissions.c.result)
                                  .where(submissions.c.id.in_(ids))).all())

    def recent(self, course: str, student: str, seconds: float) -> int:
        """How many uploads a student made in the last `seconds` (the rate limit)."""
        with self.begin() as c:
            return c.execute(sa.select(sa.func.count()).select_from(submissions).where(
                submissions.c.course == course, submissions.c.student == student,
                submissions.c.created_at > time.time() - seconds)).scalar_one()

    def waiting(self) -> list[int]:
        with self.begin() as c:
            return list(c.execute(sa.select(submissions.c.id)
                                  .where(submissions.c.status == "queued")
                                  .order_by(submissions.c.id)).scalars())

    def claim(self, sid: int) -> str | None:
        """Take a queued submission for grading: the claim id, or None if it is not queued
        (someone else took it, or it is finished)."""
        claim = secrets.token_hex(16)
        with self.begin() as c:
            n = c.execute(submissions.update().where(submissions.c.id == sid,
                                                     submissions.c.status == "queued")
                          .values(status="running", claim=claim,
                                  claimed_at=time.time())).rowcount
        return claim if n == 1 else None

    def finish(self, sid: int, claim: str, result: dict | None, error: str | None) -> bool:
        """Write a claimed submission's outcome: done with its (course-scored) result, or failed
        with `error`; False if the claim is no longer held (nothing is written)."""
        values = {"status": "failed" if error else "done", "graded_at": time.time(),
                  "error": error, "claim": None}
        if result is not None:
            values.update(result=json.dumps(result, allow_nan=False), score=result["score"],
                          max_score=result["max_score"])
        with self.begin() as c:
            return c.execute(submissions.update().where(submissions.c.id == sid,
                                                        submissions.c.claim == claim,
                                                        submissions.c.status == "running")
                             .values(**values)).rowcount == 1

    def release(self, sid: int, claim: str | None, died: bool) -> str:
        """Put a running submission back: "queued" again, or "failed" after its grader died a
        second time (`died`: a grader died holding it, rather than the whole service stopping)."""
        with self.begin() as c:
            q = submissions.c.id == sid
            if claim is not None:
                q = q & (submissions.c.claim == claim)
            row = c.execute(sa.select(submissions.c.tries).where(
                q, submissions.c.status == "running")).first()
            if row is None:
                return ""
            tries = row.tries + (1 if died else 0)
            status = "failed" if tries >= 2 else "queued"
            c.execute(submissions.update().where(q, submissions.c.status == "running").values(
                status=status, tries=tries, claim=None, claimed_at=None,
                error=LOST if status == "failed" else None,
                graded_at=time.time() if status == "failed" else None))
        return status

    def refresh(self, sid: int, claim: str) -> None:
        with self.begin() as c:
            c.execute(submissions.update().where(submissions.c.id == sid,
                                                 submissions.c.claim == claim)
                      .values(claimed_at=time.time()))

    def stale(self, older_than: float) -> list[tuple[int, str]]:
        """Running submissions claimed before `older_than`: their graders are gone."""
        with self.begin() as c:
            return [tuple(r) for r in c.execute(sa.select(submissions.c.id, submissions.c.claim)
                                                .where(submissions.c.status == "running",
                                                       submissions.c.claimed_at < older_than))]

    def unclaim_all(self) -> int:
        """After the one process that grades restarts: every running row goes back to the
        queue, with no death counted (the service stopped, not the hand-in's grader)."""
        with self.begin() as c:
            return c.execute(submissions.update().where(submissions.c.status == "running")
                             .values(status="queued", claim=None, claimed_at=None)).rowcount

    def unnotified(self) -> list[int]:
        with self.begin() as c:
            return list(c.execute(sa.select(submissions.c.id).where(
                submissions.c.status == "done", submissions.c.notified == sa.false())
                .order_by(submissions.c.id)).scalars())

    def mark_notified(self, sid: int) -> None:
        with self.begin() as c:
            c.execute(submissions.update().where(submissions.c.id == sid).values(notified=True))

    # ------------------------------------------------------------------ regrade runs

    def start_regrade(self, course: str, ids: list[int]) -> str:
        run = secrets.token_hex(8)
        with self.begin() as c:
            for sid in ids:
                c.execute(regrades.insert().values(run=run, submission=sid, course=course,
                                                   status="queued"))
        return run

    def regrade_claim(self, run: str, sid: int) -> bool:
        with self.begin() as c:
            return c.execute(regrades.update().where(regrades.c.run == run,
                                                     regrades.c.submission == sid,
                                                     regrades.c.status == "queued")
                             .values(status="running")).rowcount == 1

    def regrade_done(self, run: str, sid: int, result: dict | None, error: str | None) -> None:
        values = {"status": "failed" if error or result is None else "done", "error": error}
        if result is not None:
            values.update(result=json.dumps(result, allow_nan=False), score=result["score"],
                          max_score=result["max_score"])
        with self.begin() as c:
            c.execute(regrades.update().where(regrades.c.run == run,
                                              regrades.c.submission == sid).values(**values))

    def regrade_rows(self, run: str) -> list[dict]:
        with self.begin() as c:
            return [dict(r) for r in c.execute(sa.select(regrades).where(regrades.c.run == run)
                                               .order_by(regrades.c.submission)).mappings()]

    def apply_regrade(self, run: str) -> list[int]:
        """Every regraded result in place of its submission's; the ids changed."""
        changed = []
        with self.begin() as c:
            for r in c.execute(sa.select(regrades).where(regrades.c.run == run,
                                                         regrades.c.status == "done")).all():
                c.execute(submissions.update().where(submissions.c.id == r.submission,
                                                     submissions.c.status == "done")
                          .values(result=r.result, score=r.score, max_score=r.max_score,
                                  notified=False))
                changed.append(r.submission)
            c.execute(regrades.delete().where(regrades.c.run == run))
        return changed

    def drop_regrade(self, run: str) -> None:
        with self.begin() as c:
            c.execute(regrades.delete().where(regrades.c.run == run))


class _Tx:
    """A transaction whose database failures are `StoreError`s with a sentence."""

    def __init__(self, engine):
        self.cm = engine.begin()

    def __enter__(self):
        try:
            return self.cm.__enter__()
        except OperationalError as e:
            raise StoreError(_why(e)) from None

    def __exit__(self, kind, error, tb):
        try:
            self.cm.__exit__(kind, error, tb)  # commits, or rolls back and may re-raise
        except OperationalError as e:
            raise StoreError(_why(e)) from None
        if isinstance(error, OperationalError):
            raise StoreError(_why(error)) from None
        return False


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

