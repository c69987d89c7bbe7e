"""The Flask app of `grader serve`: `create_app(service)`.

Pages and the API are in views/ (student, instructor, api); errors answer JSON under /api/ and
a short page elsewhere, each with one sentence saying what went wrong.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .service import Service
from .store import StoreError

MESSAGES = {
    400: "The request was not understood.",
    401: "Sign in first: open this tool from your course page, or use your personal link.",
    403: "You may not do that here.",
    404: "There is nothing here, or it is not yours to see.",
    405: "That is not something this address does.",
    429: "Too many uploads in the last minute; wait a little and try again.",
}


def too_large(limit: int) -> str:
    return (f"The upload is larger than the {limit / 2**20:g} MB a hand-in may be; hand in only "
            "engine.py or engine.ipynb (clearing a notebook's outputs makes it smaller).")


def create_app(service: Service) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SERVICE=service,
        SECRET_KEY=service.secret_key(),
        # framed by an LMS on another site: the cookie must travel in a third-party frame
        SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_NAME="grader_session",
        # a browser blocking third-party cookies keeps a partitioned one for the LMS's frame
        SESSION_COOKIE_PARTITIONED=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=service.upload + 64 * 1024,  # the file and its form around it
        MAX_FORM_MEMORY_SIZE=service.upload + 64 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from .views import api, instructor, student
    app.register_blueprint(api.bp)
    app.register_blueprint(student.bp)
    app.register_blueprint(instructor.bp)
    from .lti.wiring import install
    install(app, service)

    @app.get("/")
    def home():
        from .auth import user
        who = user()
        if who is None:
            return render_template("message.html", title="Sign in",
                                   message=MESSAGES[401]), 401
        return redirect(url_for("instructor.home" if who.role == "instructor"
                                else "student.home"))

    @app.get("/healthz")
    def healthz():
        return jsonify({"ok": True})

    @app.after_request
    def headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "frame-ancestors *")  # an LMS frames the tool
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(StoreError)
    def store_error(e):
        app.logger.error("database: %s", e)
        return _error(503, f"The service cannot store or read submissions right now: {e}. "
                           "Nothing was lost; try again in a minute.")

    @app.errorhandler(RequestEntityTooLarge)
    def large(e):
        return _error(413, too_large(service.upload))

    @app.errorhandler(HTTPException)
    def http_error(e):
        own = e.description and e.description != type(e).description  # abort(code, "...")
        text = e.description if own else MESSAGES.get(e.code, f"{e.name}.")
        response = _error(e.code, text)
        if e.code == 429:
            response[0].headers["Retry-After"] = "60"
        return response

    return app


def _error(code: int, message: str):
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify({"error": message}), code
    return render_template("message.html", title="Sorry", message=message), code
