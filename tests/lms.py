"""An LMS for the tests: a real LTI 1.3 platform over HTTP on 127.0.0.1.

It signs launches with its own RSA key and serves its JWKS; it plays the OIDC authorization
endpoint (login initiation in, id_token form post out), the OAuth2 token endpoint (client
credentials with a JWT client assertion, checked against the JWKS the tool serves), Assignment
and Grade Services (line items and scores, recorded as received), Names and Role Provisioning
(paged memberships) and the Deep Linking return (the tool's signed response, checked and turned
into a resource link the next launches use). Every check a platform makes is made here, so
that what the tool sends is held to the specifications, not to the tool's own idea of them.

`Browser` is a requests session that follows the auto-submitting forms and keeps `Secure`
cookies on 127.0.0.1, as browsers do.
"""
from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import time
import uuid
from datetime import datetime
from html import unescape

import jwt
import requests
from flask import Flask, abort, request
from jwcrypto.jwk import JWK
from werkzeug.serving import make_server

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
LEARNER = LIS + "membership#Learner"
INSTRUCTOR = LIS + "membership#Instructor"
TEACHING_ASSISTANT = LIS + "membership/Instructor#TeachingAssistant"
ADMINISTRATOR = LIS + "institution/person#Administrator"
MENTOR = LIS + "membership#Mentor"
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEMBERS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}


class LMS:
    def __init__(self, client_id="grader-tool", deployment_id="deployment-1", page_size=2):
        self.client_id, self.deployment_id, self.page_size = client_id, deployment_id, page_size
        self.key = JWK.generate(kty="RSA", size=2048)
        self.kid = self.key.thumbprint()
        self.tool = None
        self.hints = {}            # lti_message_hint -> what to launch
        self.tokens = {}           # access token -> granted scopes
        self.assertions = set()    # jti of client assertions seen
        self.token_requests = []
        self.lineitems = {}        # url -> line item
        self.scores = []           # (line item url, score) as received
        self.gradebook = {}        # (line item url, userId) -> latest score by timestamp
        self.members = {}          # context -> [member]
        self.links = {}            # resource link id -> {"context", "title", "custom", "lineitem"}
        self.deep_link_responses = []
        self.fail_scores = 0       # answer this many score posts with 503
        self.keyset_requests = 0
        self.pages = {}            # course pages framing a launch, by message hint
        self.app = self._app()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.issuer = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()

    def rotate_key(self):
        """A new signing key, the old one gone from the JWKS (as platforms rotate)."""
        self.key = JWK.generate(kty="RSA", size=2048)
        self.kid = self.key.thumbprint()

    # --- what the instructor types into the tool, and what the platform knows of the tool ---
    def platform(self) -> dict:
        """The arguments of `add_platform` / `grader lti add-platform` for this LMS."""
        return dict(issuer=self.issuer, client_id=self.client_id,
                    deployment_id=self.deployment_id, auth_login_url=self.url + "/auth",
                    auth_token_url=self.url + "/token", keyset_url=self.url + "/jwks")

    def register_tool(self, base: str, keyset: str | None = None):
        self.tool = {"login": base + "/lti/login", "launch": base + "/lti/launch",
                     "jwks": keyset or base + "/lti/jwks.json"}

    def enrol(self, context: str, user_id: str, name: str, roles: list[str], status="Active"):
        self.members.setdefault(context, []).append(
            {"user_id": user_id, "name": name, "roles": roles, "status": status,
             "given_name": name.split()[0], "family_name": name.split()[-1]})

    def add_link(self, link: str, context="course-1", title="Backprop", custom=None):
        self.links[link] = {"context": context, "title": title, "custom": custom or {},
                            "lineitem": None}

    # --- a launch, the way a browser makes it ------------------------------------------------
    def login_initiation(self, user: str, *, link="link-1", deep_linking=False, context=None,
                         claims=None, tamper=False, sign_with=None, name="Ada Lovelace",
                         roles=None, data="platform-data-42") -> dict:
        """What the platform sends the tool's login initiation URL for this launch; the
        id_token the auth endpoint signs is made as the arguments say (`claims` overrides;
        `data`, Deep Linking's opaque value, None for none)."""
        hint = uuid.uuid4().hex
        ctx = context or (self.links.get(link, {}).get("context", "course-1"))
        self.hints[hint] = dict(user=user, link=link, deep_linking=deep_linking, context=ctx,
                                claims=claims or {}, tamper=tamper, sign_with=sign_with,
                                name=name, roles=roles or self._roles(ctx, user),
                                data=data)
        return {"iss": self.issuer, "login_hint": user, "target_link_uri": self.tool["launch"],
                "lti_message_hint": hint, "client_id": self.client_id,
                "lti_deployment_id": self.deployment_id}

    def launch(self, browser, user: str, **how):
        """Login initiation, the auth redirect and the form post to the tool, as a browser
        makes them; the tool's answer to the post (redirects not followed)."""
        answer = browser.get(self.tool["login"], params=self.login_initiation(user, **how))
        action, fields = form(answer)
        browser.last_form = (action, fields)
        return browser.post(action, data=fields, allow_redirects=False)

    def course_page(self, user: str, **how) -> str:
        """A page of the LMS framing the tool, as a course page does: the frame starts the
        launch with an auto-submitting form; open it in a real browser."""
        params = self.login_initiation(user, **how)
        self.pages[params["lti_message_hint"]] = params
        return f"{self.url}/course/{params['lti_message_hint']}"

    def _roles(self, context, user):
        for m in self.members.get(context, []):
            if m["user_id"] == user:
                return m["roles"]
        return [LEARNER]

    # --- the platform's endpoints ------------------------------------------------------------
    def _app(self):
        app = Flask("lms")

        @app.get("/course/<hint>")
        def course(hint):
            return (f"<!doctype html><title>Backprop 101</title><h1>Backprop 101</h1>"
                    f'<iframe id=tool name=tool src="/start/{hint}" width=1100 height=800'
                    f' allow="clipboard-write"></iframe>')

        @app.get("/start/<hint>")
        def start(hint):
            params = self.pages.pop(hint)
            fields = "".join(f'<input type=hidden name="{k}" value="{v}">'
                             for k, v in params.items())
            return (f'<form method=post action="{self.tool["login"]}">{fields}</form>'
                    f"<script>document.forms[0].submit()</script>")

        @app.get("/jwks")
        def jwks():
            self.keyset_requests += 1
            public = json.loads(self.key.export_public())
            return {"keys": [dict(public, kid=self.kid, alg="RS256", use="sig")]}

        @app.route("/auth", methods=["GET", "POST"])
        def auth():
            p = request.values
            expected = {"scope": "openid", "response_type": "id_token",
                        "response_mode": "form_post", "prompt": "none",
                        "client_id": self.client_id, "redirect_uri": self.tool["launch"]}
            for k, v in expected.items():
                if p.get(k) != v:
                    abort(400, f"{k} must be {v!r}, not {p.get(k)!r}")
            message = self.hints.pop(p.get("lti_message_hint", ""), None)
            if message is None or p.get("login_hint") != message["user"] or not p.get("nonce"):
                abort(400, "unknown or reused message hint, wrong login_hint or no nonce")
            token = self._id_token(message, p["nonce"])
            return (f'<form method=post action="{p["redirect_uri"]}">'
                    f'<input type=hidden name=id_token value="{token}">'
                    f'<input type=hidden name=state value="{p.get("state", "")}"></form>'
                    f"<script>document.forms[0].submit()</script>")

        @app.post("/token")
        def token():
            p = request.form
            if p.get("grant_type") != "client_credentials" or p.get("client_assertion_type") \
                    != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return {"error": "unsupported_grant_type"}, 400
            try:
                claims = self._tool_jwt(p.get("client_assertion", ""), self.url + "/token")
            except Exception as e:
                return {"error": "invalid_client", "error_description": str(e)}, 401
            if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id \
                    or claims.get("jti") in self.assertions:
                return {"error": "invalid_client"}, 401
            self.assertions.add(claims["jti"])
            allowed = {AGS + "lineitem", AGS + "result.readonly", AGS + "score", NRPS_SCOPE}
            scopes = [s for s in p.get("scope", "").split() if s in allowed]
            access = uuid.uuid4().hex
            self.tokens[access] = set(scopes)
            self.token_requests.append(scopes)
            return {"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                    "scope": " ".join(scopes)}

        @app.route("/ags/<context>/lineitems", methods=["GET", "POST"])
        def lineitems(context):
            if request.method == "GET":
                self._grant(AGS + "lineitem", AGS + "lineitem.readonly")
                found = [li for li in self.lineitems.values() if li["_context"] == context
                         and all(li.get(k) == request.args[q] for q, k in (
                             ("resource_link_id", "resourceLinkId"),
                             ("resource_id", "resourceId"), ("tag", "tag"))
                                 if q in request.args)]
                return (json.dumps([_public(li) for li in found]), 200,
                        {"Content-Type": CONTAINER_TYPE})
            self._grant(AGS + "lineitem")
            if request.mimetype != LINEITEM_TYPE:
                abort(415)
            item = request.get_json(force=True)
            if not item.get("label") or not (item.get("scoreMaximum") or 0) > 0:
                abort(400, "a line item needs a label and a scoreMaximum above 0")
            made = self._lineitem(context, item)
            return json.dumps(_public(made)), 201, {"Content-Type": LINEITEM_TYPE}

        @app.get("/ags/<context>/lineitems/<n>")
        def lineitem(context, n):
            self._grant(AGS + "lineitem", AGS + "lineitem.readonly")
            item = self.lineitems.get(f"{self.url}/ags/{context}/lineitems/{n}") or abort(404)
            return json.dumps(_public(item)), 200, {"Content-Type": LINEITEM_TYPE}

        @app.post("/ags/<context>/lineitems/<n>/scores")
        def scores(context, n):
            self._grant(AGS + "score")
            url = f"{self.url}/ags/{context}/lineitems/{n}"
            if url not in self.lineitems:
                abort(404)
            if request.mimetype != SCORE_TYPE:
                abort(415, f"a score is {SCORE_TYPE}")
            if self.fail_scores:
                self.fail_scores -= 1
                abort(503)
            s = request.get_json(force=True)
            members = {m["user_id"] for m in self.members.get(context, [])}
            problems = [
                s.get("userId") not in members and "userId is not a member",
                s.get("activityProgress") not in ACTIVITY and "activityProgress",
                s.get("gradingProgress") not in GRADING and "gradingProgress",
                "scoreGiven" in s and not isinstance(s.get("scoreMaximum"), (int, float))
                and "scoreMaximum must come with scoreGiven",
                not _iso(s.get("timestamp")) and "timestamp is not ISO 8601"]
            if any(problems):
                abort(400, "; ".join(p for p in problems if p))
            self.scores.append((url, s))
            key = (url, s["userId"])
            old = self.gradebook.get(key)
            if old is None or _iso(old["timestamp"]) < _iso(s["timestamp"]):
                self.gradebook[key] = s   # a platform keeps the latest by timestamp
            return "", 204

        @app.get("/nrps/<context>/memberships")
        def memberships(context):
            self._grant(NRPS_SCOPE)
            if MEMBERS_TYPE not in request.headers.get("Accept", ""):
                abort(406)
            everyone = self.members.get(context, [])
            page = int(request.args.get("page", 0))
            chunk = everyone[page * self.page_size:(page + 1) * self.page_size]
            headers = {"Content-Type": MEMBERS_TYPE}
            if (page + 1) * self.page_size < len(everyone):
                headers["Link"] = (f'<{self.url}/nrps/{context}/memberships?page={page + 1}>; '
                                   f'rel="next"')
            body = {"id": request.url, "context": {"id": context, "title": context},
                    "members": chunk}
            return json.dumps(body), 200, headers

        @app.post("/deep_link_return")
        def deep_link_return():
            try:
                claims = self._tool_jwt(request.form.get("JWT", ""), self.issuer)
            except Exception as e:
                abort(400, f"the deep linking response does not verify: {e}")
            data = request.args.get("data")   # the settings' data, echoed if there was one
            checks = {"iss": self.client_id, LTI + "message_type": "LtiDeepLinkingResponse",
                      LTI + "version": "1.3.0", LTI + "deployment_id": self.deployment_id}
            for k, v in checks.items():
                if claims.get(k) != v:
                    abort(400, f"{k} must be {v!r}, not {claims.get(k)!r}")
            if (DL + "data" in claims) != bool(data) or claims.get(DL + "data", data) != data:
                abort(400, f"the data claim must be {data!r} and only when given")
            if not claims.get("nonce"):
                abort(400, "no nonce")
            self.deep_link_responses.append(claims)
            for item in claims.get(DL + "content_items", []):
                if item.get("type") != "ltiResourceLink":
                    abort(400, "only ltiResourceLink items were asked for")
                link = "link-" + uuid.uuid4().hex[:8]
                self.links[link] = {"context": "course-1", "title": item.get("title"),
                                    "custom": item.get("custom") or {}, "lineitem": None}
                if item.get("lineItem"):
                    made = self._lineitem("course-1", dict(item["lineItem"],
                                                           resourceLinkId=link))
                    self.links[link]["lineitem"] = made["id"]
            return "added"

        return app

    def _grant(self, *scopes):
        auth = request.headers.get("Authorization", "")
        granted = self.tokens.get(auth.removeprefix("Bearer "), set())
        if not auth.startswith("Bearer ") or not granted.intersection(scopes):
            abort(401)

    def _lineitem(self, context, item):
        url = f"{self.url}/ags/{context}/lineitems/{len(self.lineitems) + 1}"
        made = dict(item, id=url, _context=context)
        self.lineitems[url] = made
        return made

    def _tool_jwt(self, token: str, audience: str) -> dict:
        """A JWT the tool signed, checked against the JWKS the tool serves over HTTP."""
        kid = jwt.get_unverified_header(token).get("kid")
        keys = requests.get(self.tool["jwks"], timeout=10).json()["keys"]
        key = next(k for k in keys if k.get("kid") == kid)
        pem = JWK(**key).export_to_pem()
        return jwt.decode(token, pem, algorithms=["RS256"], audience=audience)

    def _id_token(self, m, nonce) -> str:
        now = int(time.time())
        link = self.links.get(m["link"], {"context": m["context"], "title": "Backprop",
                                          "custom": {}, "lineitem": None})
        context = m["context"]
        ags = {"scope": [AGS + "lineitem", AGS + "result.readonly", AGS + "score"],
               "lineitems": f"{self.url}/ags/{context}/lineitems"}
        claims = {
            "iss": self.issuer, "aud": self.client_id, "sub": m["user"], "iat": now,
            "exp": now + 300, "nonce": nonce, "name": m["name"],
            LTI + "version": "1.3.0", LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": self.tool["launch"], LTI + "roles": m["roles"],
            LTI + "context": {"id": context, "label": context, "title": "Backprop 101",
                              "type": [LIS + "course#CourseOffering"]},
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{self.url}/nrps/{context}/memberships",
                "service_versions": ["2.0"]},
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": ags,
        }
        if m["deep_linking"]:
            claims[LTI + "message_type"] = "LtiDeepLinkingRequest"
            data = m["data"]
            claims[DL + "deep_linking_settings"] = {
                "deep_link_return_url": self.url + "/deep_link_return"
                + (f"?data={data}" if data else ""),
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": False, "auto_create": True,
                **({"data": data} if data else {})}
        else:
            claims[LTI + "message_type"] = "LtiResourceLinkRequest"
            claims[LTI + "resource_link"] = {"id": m["link"], "title": link["title"]}
            if link["custom"]:
                claims[LTI + "custom"] = link["custom"]
            if link["lineitem"]:
                ags["lineitem"] = link["lineitem"]
        for name, value in m["claims"].items():   # None: the claim left out
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = m["sign_with"] or self.key
        kid = self.kid if m["sign_with"] is None else m["sign_with"].thumbprint()
        token = jwt.encode(claims, key.export_to_pem(private_key=True, password=None),
                           algorithm="RS256", headers={"kid": kid})
        if m["tamper"]:  # the payload changed after signing: the signature no longer holds
            head, _, sig = token.split(".")
            body = jwt.utils.base64url_encode(json.dumps(
                dict(claims, sub="someone-else")).encode()).decode()
            token = f"{head}.{body}.{sig}"
        return token


def _public(item):
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _iso(text):
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def form(response) -> tuple[str, dict]:
    """The action and fields of the auto-submitting form in a page."""
    response.raise_for_status()
    html = response.text
    action = re.search(r'<form[^>]*action="([^"]*)"', html)
    if action is None:
        raise AssertionError(f"no form in {response.url}: {html[:500]}")
    fields = dict((unescape(n), unescape(v)) for n, v in re.findall(
        r'<input[^>]*name="?([\w-]+)"?[^>]*value="([^"]*)"', html))
    return unescape(action.group(1)), fields


class _LocalIsSecure(http.cookiejar.DefaultCookiePolicy):
    """Browsers send `Secure` cookies to http://127.0.0.1 and localhost; so does `Browser`."""

    def return_ok_secure(self, cookie, request):
        host = requests.utils.urlparse(request.get_full_url()).hostname
        return host in ("127.0.0.1", "localhost") or super().return_ok_secure(cookie, request)


class Browser(requests.Session):
    def __init__(self):
        super().__init__()
        self.cookies.set_policy(_LocalIsSecure())
        self.last_form = None

    # requests copies the jar into one with the default policy, for a request and for each
    # redirect it follows; the Cookie header is asked of ours instead
    def prepare_request(self, request):
        return self._cookie_header(super().prepare_request(request))

    def rebuild_auth(self, prepared, response):
        super().rebuild_auth(prepared, response)
        self._cookie_header(prepared)

    def _cookie_header(self, prepared):
        prepared.headers.pop("Cookie", None)
        header = requests.cookies.get_cookie_header(self.cookies, prepared)
        if header:
            prepared.headers["Cookie"] = header
        return prepared

    def submit(self, response, **changes):
        """Submit the form of a page, as its script would; `changes` to the fields."""
        action, fields = form(response)
        return self.post(requests.compat.urljoin(response.url, action),
                         data={**fields, **changes}, allow_redirects=False)
