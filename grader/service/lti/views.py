"""The /lti blueprint: login initiation, launch, Deep Linking, JWKS, Canvas's configuration."""
from __future__ import annotations

import json
import logging
import secrets
import threading
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, request, session, url_for
from markupsafe import escape
from pylti1p3.contrib.flask import FlaskOIDCLogin, FlaskRequest
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.lineitem import LineItem

from . import PlatformSession, roster, store
from .roles import role_of
from .scores import LINE_ITEM_TAG
from .tool import Launch, ToolConf, services

log = logging.getLogger(__name__)
blueprint = Blueprint("lti", __name__, url_prefix="/lti")

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DL_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
AGS_SCOPES = ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
              "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
              "https://purl.imsglobal.org/spec/lti-ags/scope/score"]
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


def lti():
    return current_app.extensions["lti"]


def refuse(status: int, why: str):
    """A launch that cannot go on: the reason, in a sentence, for the person in the LMS."""
    log.info("LTI refused (%d): %s", status, why)
    body = (f"<!doctype html><meta charset=utf-8><title>Cannot open the grader</title>"
            f"<p>The grader could not open this activity: {escape(why)}</p>")
    return body, status, {"Content-Type": "text/html; charset=utf-8"}


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    """OIDC third-party initiated login: back to the platform's auth endpoint with a nonce."""
    req = FlaskRequest()
    oidc = FlaskOIDCLogin(req, ToolConf(lti().engine, lti().key), **services(req, lti().engine))
    try:
        return oidc.redirect(url_for(".launch", _external=True))
    except (OIDCException, LtiException) as e:
        return refuse(400, f"the login request from the platform is not valid ({e}).")


@blueprint.route("/launch", methods=["POST"])
def launch():
    if request.form.get("error"):   # the platform's auth endpoint answered with an OIDC error
        return refuse(400, f"the platform refused the login ({request.form.get('error')}).")
    req = FlaskRequest()
    message = Launch(req, ToolConf(lti().engine, lti().key), lti().engine,
                     requests_session=PlatformSession(), **services(req, lti().engine))
    try:
        message.validate()
    except LtiException as e:
        return refuse(401, f"the launch does not hold ({e}).")
    except Exception as e:  # pylti1p3 lets a malformed token through as a plain error
        return refuse(400, f"the launch is malformed ({type(e).__name__}).")
    body = message.get_launch_data()
    platform = store.find_platform(lti().engine, body["iss"], message.get_client_id())
    role = role_of(body.get(CLAIM + "roles"))
    if role is None:
        return refuse(403, "your role in this course is not one the grader serves "
                           "(learners submit; instructors, teaching assistants and "
                           "administrators see the class).")
    context = body.get(CLAIM + "context") or {}
    deployment = body.get(CLAIM + "deployment_id")
    course = f"lti:{platform.id}:{context.get('id') or 'deployment:' + deployment}"
    user = {"id": f"lti:{platform.id}:{body['sub']}", "name": _name(body, role),
            "role": role, "course": course}
    kind = body.get(CLAIM + "message_type")
    if kind == "LtiDeepLinkingRequest":
        if role != "instructor":
            return refuse(403, "only an instructor adds the grader to a course.")
        _sign_in(user)
        session["lti_deep_link"] = message.get_launch_id()
        return _picker(message.get_launch_id(), body)
    if kind != "LtiResourceLinkRequest":
        return refuse(400, f"the grader does not take {kind} messages.")
    assignment = _assignment(body)
    if assignment is None:
        return refuse(404, "this activity names no assignment the grader serves; the "
                           "instructor adds it again and picks one.")
    _remember(platform, body, course, user, assignment)
    _sign_in(user)
    if role == "instructor":
        _sync_roster(course)
    page = lti().instructor_page if role == "instructor" else lti().student_page
    return redirect(page if page.startswith("/") else url_for(page), 303)


def _sync_roster(course: str) -> None:
    """The platform's roster into the class page (who has not submitted), where offered: in
    the background, since a large class's roster takes the platform many pages."""
    tool = lti()
    if tool.roster_seen is None:
        return

    def sync():
        try:
            people = roster.students(tool, course)
            if people is not None:
                tool.roster_seen(course, people)
        except Exception as e:  # the class page opens anyway; the next launch tries again
            log.warning("NRPS roster of %s not read: %s", course, e)

    threading.Thread(target=sync, name="lti-roster", daemon=True).start()


def _sign_in(user: dict) -> None:
    """A new identity: nothing of the previous session carries over."""
    if lti().sign_in:
        lti().sign_in(user)
    else:
        session.clear()
        session["user"] = user


def _name(body, role) -> str:
    name = body.get("name") or " ".join(
        p for p in (body.get("given_name"), body.get("family_name")) if p)
    return name or body.get("email") or f"{role} {body['sub']}"


def _assignment(body):
    chosen = (body.get(CLAIM + "custom") or {}).get("assignment")
    offered = lti().assignments()
    if chosen:
        return next((a for a in offered if a.id == chosen), None)
    return offered[0] if len(offered) == 1 else None


def _remember(platform, body, course, user, assignment):
    """Where this link's scores go, the course's roster service, and who the student is."""
    engine = lti().engine
    link = (body.get(CLAIM + "resource_link") or {}).get("id", "")
    ags = body.get(AGS_CLAIM) or {}
    store.upsert(engine, store.links, {"platform_id": platform.id, "resource_link_id": link},
                 {"course": course, "assignment": assignment.id, "title": assignment.title,
                  "ags": json.dumps(ags),
                  **({"lineitem": ags["lineitem"]} if ags.get("lineitem") else {})})
    nrps = (body.get(NRPS_CLAIM) or {}).get("context_memberships_url")
    store.upsert(engine, store.contexts, {"course": course},
                 {"platform_id": platform.id, **({"memberships_url": nrps} if nrps else {})})
    if user["role"] == "student":
        store.upsert(engine, store.members, {"student": user["id"], "course": course},
                     {"platform_id": platform.id, "sub": body["sub"], "resource_link_id": link})


def _picker(launch_id: str, body):
    settings = body.get(DL_SETTINGS) or {}
    if "ltiResourceLink" not in settings.get("accept_types", []):
        return refuse(400, "the platform does not accept the LTI resource links the grader "
                           "places (accept_types).")
    items = "".join(
        f'<li><label><input type=radio name=assignment value="{escape(a.id)}"'
        f'{" checked" if i == 0 else ""}> {escape(a.title)} ({a.points:g} points)</label>'
        for i, a in enumerate(lti().assignments()))
    return (f"<!doctype html><meta charset=utf-8><title>Add an assignment</title>"
            f"<h1>{escape(lti().title)}: the assignment to add</h1>"
            f'<form method=post action="{url_for(".deep_link")}">'
            f'<input type=hidden name=launch value="{escape(launch_id)}">'
            f"<ul>{items}</ul><button type=submit>Add</button></form>")


@blueprint.route("/deep-link", methods=["POST"])
def deep_link():
    """The instructor's choice, sent back to the platform as a signed Deep Linking response."""
    launch_id = request.form.get("launch", "")
    # the launch id is the form's CSRF token: it lives in this session and in the page only
    if not launch_id or session.pop("lti_deep_link", None) != launch_id:
        return refuse(403, "this choice does not belong to a Deep Linking launch of yours; "
                           "add the activity again from the course.")
    chosen = next((a for a in lti().assignments() if a.id == request.form.get("assignment")),
                  None)
    if chosen is None:
        return refuse(400, "pick one of the assignments listed.")
    req = FlaskRequest()
    try:
        message = Launch.from_cache(launch_id, req, ToolConf(lti().engine, lti().key),
                                    requests_session=PlatformSession(),
                                    **services(req, lti().engine))
    except LtiException:
        return refuse(410, "this choice came more than an hour after the launch; add the "
                           "activity again from the course.")
    item = (DeepLinkResource().set_url(url_for(".launch", _external=True))
            .set_title(chosen.title).set_custom_params({"assignment": chosen.id})
            .set_lineitem(LineItem().set_score_maximum(chosen.points).set_label(chosen.title)
                          .set_resource_id(chosen.id).set_tag(LINE_ITEM_TAG)))
    link = message.get_deep_link()
    claims = link.get_message_jwt([item])
    if claims.get(DL_DATA) is None:   # returned only when the request had one, never as null
        claims.pop(DL_DATA, None)
    token = link.encode_jwt(claims)
    url = (message.get_launch_data().get(DL_SETTINGS) or {})["deep_link_return_url"]
    nonce = secrets.token_urlsafe(16)
    page = (f"<!doctype html><meta charset=utf-8><title>Adding the assignment</title>"
            f'<form id=back method=post action="{escape(url)}">'
            f'<input type=hidden name=JWT value="{escape(token)}">'
            f"<noscript><button type=submit>Continue</button></noscript></form>"
            f"<script nonce={nonce}>document.getElementById('back').submit()</script>")
    # the one script the page runs, whatever policy the rest of the service sets
    return page, 200, {"Content-Type": "text/html; charset=utf-8",
                       "Content-Security-Policy": f"default-src 'none'; script-src "
                                                  f"'nonce-{nonce}'; frame-ancestors *"}


@blueprint.route("/jwks.json")
def jwks():
    """Every process's public key (see `store.tool_keys`)."""
    return store.tool_jwks(lti().engine)


@blueprint.route("/config.json")
def config():
    """The tool's registration in Canvas's JSON format (Developer Keys, "Enter URL")."""
    launch_url = url_for(".launch", _external=True)
    deep_link = {"message_type": "LtiDeepLinkingRequest", "target_link_uri": launch_url}
    return {
        "title": lti().title,
        "description": "Submit a backprop engine and get the autograder's feedback at once; "
                       "scores go to the gradebook.",
        "oidc_initiation_url": url_for(".login", _external=True),
        "target_link_uri": launch_url,
        "public_jwk_url": url_for(".jwks", _external=True),
        "redirect_uris": [launch_url],          # read by Canvas's newer registrations
        "privacy_level": "public",              # (they read it here, older ones below)
        "scopes": AGS_SCOPES + [NRPS_SCOPE],
        "extensions": [{
            "platform": "canvas.instructure.com",
            "domain": urlsplit(launch_url).hostname,
            "privacy_level": "public",
            "settings": {
                "text": lti().title,
                "placements": [
                    {"placement": "assignment_selection", "text": lti().title, **deep_link},
                    {"placement": "link_selection", "text": lti().title, **deep_link},
                ],
            },
        }],
        "custom_fields": {},
    }
