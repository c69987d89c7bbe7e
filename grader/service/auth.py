"""Who is asking: a bearer token (scripts) or the session cookie (a browser, after an LTI launch
or a personal link), and the CSRF check every cookie-authenticated change must pass.

The session holds `user = {"id", "name", "role": "student"|"instructor", "course"}` and
`csrf`, the token pages carry as `<meta name="csrf-token">` and scripts send back as the
`X-CSRF-Token` header (forms as the `csrf_token` field). A bearer token is never sent by a
browser on its own, so it needs no CSRF token.
"""
from __future__ import annotations

import hmac
import secrets
from functools import wraps

from flask import abort, current_app, g, request, session

from .store import User

SAFE = ("GET", "HEAD", "OPTIONS")


def login(user: User) -> None:
    """Start a browser session for `user` (a personal link, an LTI launch)."""
    session.clear()
    session["user"] = user.to_json()
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True
    current_app.config["SERVICE"].store.see(user)


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def user() -> User | None:
    """The caller, or None; aborts 403 on a cookie-authenticated change without the CSRF token."""
    if "user" in g:
        return g.user
    found = None
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        found = current_app.config["SERVICE"].store.token_user(header[7:].strip())
        if found is None:
            abort(401)
    elif isinstance(session.get("user"), dict):
        u = session["user"]
        found = User(str(u.get("id", "")), str(u.get("name", "")), str(u.get("role", "")),
                     str(u.get("course", "")))
        if request.method not in SAFE:
            sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
            if not hmac.compare_digest(sent.encode(), session.get("csrf", "").encode()):
                abort(403, "This request did not carry the page's CSRF token; reload the page "
                           "and try again.")
    g.user = found
    return found


def required(role: str | None = None):
    """A view for signed-in users (of `role`, if given): 401 without credentials, 403 with
    another role."""
    def wrap(view):
        @wraps(view)
        def inner(*args, **kwargs):
            who = user()
            if who is None:
                abort(401)
            if role and who.role != role:
                abort(403, f"This page is for {role}s.")
            return view(*args, **kwargs)
        return inner
    return wrap
