"""pylti1p3 on our storage: platforms from the database, OIDC values in the shared cache.

pylti1p3 does the protocol; what it leaves to the tool, or does in a way a service with
several processes cannot use, is here:
- `ToolConf` reads the platform and its deployments from the database on every launch;
- `CacheStorage` keeps states, nonces and launches in `lti_cache`, not in one process's memory
  or in a cookie, and takes a nonce by deleting it: a replayed launch is refused everywhere;
- `Launch` checks the audience (pylti1p3 turns PyJWT's check off and reads `aud[0]` only),
  requires `exp` and `iat` (with a few seconds for clocks that differ), takes the nonce only
  once the signature holds (a forged token cannot burn a real one), and remembers a platform's
  keys for a while, asking again at once for a key it has not seen (a rotation).
"""
from __future__ import annotations

import jwt
from pylti1p3.contrib.flask import FlaskCookieService, FlaskMessageLaunch, FlaskSessionService
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy.engine import Engine

from . import store
from .keys import ToolKey

LAUNCH_SECONDS = 3600         # a launch's claims stay usable this long (Deep Linking's return)
KEYSET_SECONDS = 600          # a platform's public keys are asked for again after this long
CLOCK_SKEW = 10               # seconds a platform's clock may be ahead or behind ours


class ToolConf(ToolConfAbstract):
    def __init__(self, engine: Engine, key: ToolKey):
        self.engine, self.key = engine, key

    # one issuer may hold many client ids (Canvas: one per developer key)
    def check_iss_has_one_client(self, iss):
        return False

    def check_iss_has_many_clients(self, iss):
        return True

    def find_registration_by_issuer(self, iss, *args, **kwargs):
        return self.registration(store.find_platform(self.engine, iss, None))

    def find_registration_by_params(self, iss, client_id, *args, **kwargs):
        return self.registration(store.find_platform(self.engine, iss, client_id))

    def find_deployment(self, iss, deployment_id):
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        platform = store.find_platform(self.engine, iss, client_id)
        if platform and store.has_deployment(self.engine, platform.id, deployment_id):
            return Deployment().set_deployment_id(deployment_id)
        return None

    def registration(self, platform: store.Platform | None) -> Registration | None:
        if platform is None:
            return None
        return (Registration().set_issuer(platform.issuer).set_client_id(platform.client_id)
                .set_auth_login_url(platform.auth_login_url)
                .set_auth_token_url(platform.auth_token_url)
                .set_key_set_url(platform.keyset_url)
                .set_tool_private_key(self.key.private_pem)
                .set_tool_public_key(self.key.public_pem))


class CacheStorage(LaunchDataStorage):
    """pylti1p3's launch data storage on `lti_cache`; needs no cookie of its own."""
    _session_cookie_name = ""

    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine

    def can_set_keys_expiration(self):
        return True

    def get_value(self, key):
        return store.cache_get(self.engine, self._prepare_key(key))

    def set_value(self, key, value, exp=None):
        store.cache_set(self.engine, self._prepare_key(key), value, exp or LAUNCH_SECONDS)

    def check_value(self, key):
        return self.get_value(key) is not None

    def take(self, key) -> bool:
        return store.cache_take(self.engine, self._prepare_key(key))


class SessionService(FlaskSessionService):
    def check_nonce(self, nonce):
        return self.data_storage.take(self._get_key("nonce", nonce))


class CookieService(FlaskCookieService):
    """The OIDC state cookie, sent back by the platform's cross-site form post: it must be
    `SameSite=None`, hence `Secure` (browsers hold 127.0.0.1 and localhost secure), and
    `Partitioned` (CHIPS): a browser that blocks third-party cookies still keeps it for the
    LMS's frame the launch happens in."""

    def update_response(self, response):
        for key, data in self._cookie_data_to_set.items():
            response.set_cookie(key, data["value"], max_age=data["exp"], path="/",
                                secure=True, httponly=True, samesite="None",
                                partitioned=True)


def services(request, engine):
    storage = CacheStorage(engine)
    session = SessionService(request)
    session.set_data_storage(storage)
    session.set_launch_data_lifetime(LAUNCH_SECONDS)
    return dict(session_service=session, cookie_service=CookieService(request),
                launch_data_storage=storage)


class Launch(FlaskMessageLaunch):
    def __init__(self, request, tool_config, engine=None, **kwargs):
        super().__init__(request, tool_config, **kwargs)
        if engine is not None:   # None: a launch restored from the cache, checked already
            self.set_public_key_caching(CacheStorage(engine), KEYSET_SECONDS)

    def get_public_key(self):
        try:
            return super().get_public_key()
        except LtiException:
            if self._public_key_cache_data_storage is None:
                raise
            # a key the remembered set lacks: the platform may have rotated its keys
            self._public_key_cache_data_storage = None
            self._registration.set_key_set(None)
            return super().get_public_key()

    def validate_jwt_signature(self):
        public_key, alg = self.get_public_key()
        try:
            jwt.decode(self._get_id_token(), public_key, algorithms=[alg], leeway=CLOCK_SKEW,
                       options={"verify_aud": False, "require": ["exp", "iat"]})
        except jwt.InvalidTokenError as e:
            raise LtiException(f"Can't decode id_token: {e}") from e
        return self

    def get_client_id(self):
        body = self._get_jwt_body()
        aud = body.get("aud")
        if isinstance(aud, list):
            # several audiences: the one meant is `azp` (OpenID Connect Core 3.1.3.7)
            return body.get("azp") if len(aud) > 1 else (aud[0] if aud else None)
        return aud

    def validate_audience(self):
        body = self._get_jwt_body()
        aud = body.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        client_id = self._registration.get_client_id()
        if client_id not in auds:
            raise LtiException("The token's audience is not this tool")
        if len(auds) > 1 and body.get("azp") != client_id:
            raise LtiException("The token has several audiences and no azp naming this tool")
        return self

    def validate(self):
        if self._restored:
            raise LtiException("Can't validate restored launch")
        self._validated = True
        try:
            return (self.validate_state().validate_jwt_format().validate_registration()
                    .validate_audience().validate_jwt_signature().validate_deployment()
                    .validate_nonce().validate_message().save_launch_data())
        except Exception:
            self._validated = False
            raise
