"""What the LTI side keeps, on a MetaData of its own created on the service's Engine.

The core's schema never changes for LTI: `create(engine)` adds these tables (SQLite or
PostgreSQL alike). Platforms are rows, read on every launch, so `grader lti add-platform`
takes effect on a running server. The short-lived OIDC values (nonces, states, launches) live
in `lti_cache` so that every process of the service sees them: a nonce is taken by deleting
its row, which one process only can do.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

from sqlalchemy import (Column, Float, Integer, MetaData, String, Table, Text, UniqueConstraint,
                        and_, delete, insert, select, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

metadata = MetaData()

platforms = Table(
    "lti_platform", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issuer", String(1024), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("auth_login_url", String(2048), nullable=False),
    Column("auth_token_url", String(2048), nullable=False),
    Column("keyset_url", String(2048), nullable=False),
    UniqueConstraint("issuer", "client_id"),
)

deployments = Table(
    "lti_deployment", metadata,
    Column("platform_id", Integer, primary_key=True),
    Column("deployment_id", String(255), primary_key=True),
)

cache = Table(
    "lti_cache", metadata,
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Column("expires", Float, nullable=False),
)

# One row per resource link (an activity placed in a course): where its scores go.
links = Table(
    "lti_link", metadata,
    Column("platform_id", Integer, primary_key=True),
    Column("resource_link_id", String(255), primary_key=True),
    Column("course", String(1024), nullable=False),
    Column("assignment", String(255), nullable=False),
    Column("title", String(1024), nullable=False),
    Column("ags", Text, nullable=False),          # the launch's AGS endpoint claim, JSON; {} none
    Column("lineitem", String(2048)),             # the line item found or made for the link
)

# Per course: the platform's roster service, when it offers one.
contexts = Table(
    "lti_context", metadata,
    Column("course", String(1024), primary_key=True),
    Column("platform_id", Integer, nullable=False),
    Column("memberships_url", String(2048)),
)

# Who came by LTI: the student's id on the platform (AGS's userId) and the link they used last.
members = Table(
    "lti_member", metadata,
    Column("student", String(1024), primary_key=True),
    Column("course", String(1024), primary_key=True),
    Column("platform_id", Integer, nullable=False),
    Column("sub", String(255), nullable=False),
    Column("resource_link_id", String(255), nullable=False),
)

# Every score to publish, kept until the platform took it: an LMS that is down loses nothing.
scores = Table(
    "lti_score", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("student", String(1024), nullable=False),
    Column("course", String(1024), nullable=False),
    Column("submission", String(255), nullable=False),
    Column("score", Float, nullable=False),
    Column("max_score", Float, nullable=False),
    Column("graded_at", String(64), nullable=False),   # ISO 8601, UTC
    Column("activity", String(32), nullable=False),
    Column("sent_at", Float),
    Column("error", Text),
)


# The public halves of the tool's keys: each process signs with the private key of its own
# data dir, and the JWKS any of them serves lists every key, so the platform can check a
# signature whichever process made it and whichever one it asked for the keys.
tool_keys = Table(
    "lti_tool_key", metadata,
    Column("kid", String(255), primary_key=True),
    Column("jwk", Text, nullable=False),
)


def create(engine: Engine) -> None:
    metadata.create_all(engine)


@dataclass(frozen=True)
class Platform:
    id: int
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    keyset_url: str


def add_platform(engine: Engine, *, issuer: str, client_id: str, deployment_id: str,
                 auth_login_url: str, auth_token_url: str, keyset_url: str) -> Platform:
    """Register an LMS (or update its URLs, or add a deployment to it); effective at once."""
    for name, url in (("auth-login-url", auth_login_url), ("auth-token-url", auth_token_url),
                      ("keyset-url", keyset_url)):
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"--{name} must be an http(s) URL, not {url!r}")
    for name, value in (("issuer", issuer), ("client-id", client_id),
                        ("deployment-id", deployment_id)):
        if not value.strip():
            raise ValueError(f"--{name} must not be empty")
    create(engine)
    urls = dict(auth_login_url=auth_login_url, auth_token_url=auth_token_url,
                keyset_url=keyset_url)
    with engine.begin() as db:
        row = db.execute(select(platforms.c.id).where(
            platforms.c.issuer == issuer, platforms.c.client_id == client_id)).first()
        if row:
            pid = row.id
            db.execute(update(platforms).where(platforms.c.id == pid).values(**urls))
        else:
            pid = db.execute(insert(platforms).values(
                issuer=issuer, client_id=client_id, **urls)).inserted_primary_key[0]
        if not db.execute(select(deployments).where(
                deployments.c.platform_id == pid,
                deployments.c.deployment_id == deployment_id)).first():
            db.execute(insert(deployments).values(platform_id=pid, deployment_id=deployment_id))
    return Platform(pid, issuer, client_id, **urls)


def find_platform(engine: Engine, issuer: str, client_id: str | None) -> Platform | None:
    """The platform for `issuer` (and `client_id`, when given; else the issuer's only one)."""
    query = select(platforms).where(platforms.c.issuer == issuer)
    if client_id:
        query = query.where(platforms.c.client_id == client_id)
    with engine.connect() as db:
        rows = db.execute(query).all()
    if len(rows) != 1:
        return None
    return Platform(**rows[0]._mapping)


def platform_by_id(engine: Engine, pid: int) -> Platform | None:
    with engine.connect() as db:
        row = db.execute(select(platforms).where(platforms.c.id == pid)).first()
    return Platform(**row._mapping) if row else None


def has_deployment(engine: Engine, pid: int, deployment_id: str) -> bool:
    with engine.connect() as db:
        return db.execute(select(deployments).where(
            deployments.c.platform_id == pid,
            deployments.c.deployment_id == deployment_id)).first() is not None


def add_tool_key(engine: Engine, jwk: dict) -> None:
    upsert(engine, tool_keys, {"kid": jwk["kid"]}, {"jwk": json.dumps(jwk)})


def tool_jwks(engine: Engine) -> dict:
    with engine.connect() as db:
        return {"keys": [json.loads(r.jwk) for r in db.execute(
            select(tool_keys.c.jwk).order_by(tool_keys.c.kid))]}


# --- the cache of short-lived values -------------------------------------------------------

def cache_set(engine: Engine, key: str, value, seconds: float) -> None:
    now = time.time()
    upsert(engine, cache, {"key": key}, {"value": json.dumps(value), "expires": now + seconds})
    if random.randrange(64) == 0:   # now and then, what has expired goes
        with engine.begin() as db:
            db.execute(delete(cache).where(cache.c.expires < now))


def cache_get(engine: Engine, key: str):
    with engine.connect() as db:
        row = db.execute(select(cache.c.value).where(
            cache.c.key == key, cache.c.expires >= time.time())).first()
    return json.loads(row.value) if row else None


def cache_take(engine: Engine, key: str) -> bool:
    """Whether `key` was there, unexpired; it is gone afterwards, for every process."""
    with engine.begin() as db:
        gone = db.execute(delete(cache).where(cache.c.key == key,
                                              cache.c.expires >= time.time()))
    return gone.rowcount == 1


# --- links, courses, members ---------------------------------------------------------------

def upsert(engine: Engine, table: Table, keys: dict, values: dict) -> None:
    """Insert the row, or update its `values` if one with these `keys` is there: in one
    statement, so that two launches of one link at the same moment both succeed."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[engine.dialect.name]
    statement = dialect.insert(table).values(**keys, **values)
    statement = (statement.on_conflict_do_update(index_elements=list(keys), set_=values)
                 if values else statement.on_conflict_do_nothing(index_elements=list(keys)))
    with engine.begin() as db:
        db.execute(statement)


def update_row(engine: Engine, table: Table, keys: dict, values: dict) -> None:
    with engine.begin() as db:
        db.execute(update(table).where(and_(*(table.c[k] == v for k, v in keys.items())))
                   .values(**values))


def row(engine: Engine, table: Table, **keys):
    with engine.connect() as db:
        found = db.execute(select(table).where(
            and_(*(table.c[k] == v for k, v in keys.items())))).first()
    return found._mapping if found else None
