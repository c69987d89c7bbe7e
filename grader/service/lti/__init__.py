"""LTI 1.3 Advantage: Canvas, Moodle, Blackboard, D2L and Sakai launch the grader, no plug-in.

- `views`: the blueprint under /lti: OIDC login initiation, launch, Deep Linking, the tool's
  JWKS and its configuration in Canvas's JSON format;
- `tool`: pylti1p3 on our database (platforms, nonces, launches), with the checks it leaves out;
- `scores`: Assignment and Grade Services, the counting score published after every grading;
- `roster`: Names and Role Provisioning, the course's students as the platform lists them;
- `store`: the tables, on a MetaData of their own; `keys`: the tool's key pair.

`init_app` is all a Flask app needs to offer LTI.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import requests
from sqlalchemy.engine import Engine

from . import store
from .keys import ToolKey

HTTP_SECONDS = 15    # for every request to a platform: a stalled LMS never holds a thread


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    points: float


@dataclass
class Lti:
    engine: Engine
    key: ToolKey | None             # None: a grading worker without the data dir's key
    assignments: Callable[[], list[Assignment]]
    student_page: str = "/"              # a path, or an endpoint for url_for
    instructor_page: str = "/instructor"
    title: str = "Backprop autograder"
    sign_in: Callable[[dict], None] | None = None   # starts the session; None: session["user"]
    # the students the platform lists (NRPS), told at each instructor launch: (course, people)
    roster_seen: Callable[[str, list[dict]], None] | None = None


class PlatformSession(requests.Session):
    """What pylti1p3 sends to a platform, with a timeout (it sets none)."""

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", HTTP_SECONDS)
        return super().request(*args, **kwargs)


def init_app(app, engine: Engine, key: ToolKey, assignments: Callable[[], list[Assignment]],
             **pages) -> Lti:
    """Create the tables if missing, register the blueprint; the `Lti` in use."""
    from .views import blueprint
    store.create(engine)
    store.add_tool_key(engine, key.jwk)
    lti = Lti(engine=engine, key=key, assignments=assignments, **pages)
    app.extensions["lti"] = lti
    app.register_blueprint(blueprint)
    return lti
