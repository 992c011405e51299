"""Rate limits on /api/: per API key, per signed-in user, else per client address (behind a proxy, set
``MARKETPLACE_PROXY_FIX_X_FOR`` so that the address is the client's, not the proxy's).

Flask-Limiter counts in Redis when ``MARKETPLACE_REDIS_URL`` is set (every web process shares the count) and in
memory otherwise; if Redis stops answering, each process counts in memory until it is back, so a Redis outage
never turns into refused requests. Past the limit the API answers ``429`` problem JSON (code
``too_many_requests``) with ``Retry-After`` and the ``X-RateLimit-*`` headers. The limits are settings
(``MARKETPLACE_API_RATE_LIMIT`` for keys and signed-in users, ``MARKETPLACE_API_RATE_LIMIT_ANONYMOUS`` per
address), in Flask-Limiter's notation ("300 per minute", "20/second;1000/hour"). Counted in memory, each web
process keeps its own count (four gunicorn workers allow four times the limit): set Redis for a shared one.
"""

from __future__ import annotations

import logging

from apispec import BasePlugin
from flask import current_app, g, request
from flask_limiter import Limiter
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from marketplace.api import auth
from marketplace.api.models import ApiToken, OperatorToken, PersonalToken, StatisticsToken
from marketplace.extensions import db

log = logging.getLogger(__name__)

#: Documented on every operation of the OpenAPI document.
RATE_LIMITED = "请求太频繁（code: too_many_requests）：按 Retry-After 头给出的秒数等待后再试。"


#: Which table holds a token, by the prefix each kind starts with.
_KINDS = ((auth.PERSONAL_PREFIX, PersonalToken), (auth.OPERATOR_PREFIX, OperatorToken),
          (auth.STATISTICS_PREFIX, StatisticsToken), (auth.TOKEN_PREFIX, ApiToken))


def _token_key(token: str) -> str | None:
    """Whose allowance a live token the platform issued uses, else None. A made-up token counts as no token:
    otherwise each random string would get an allowance of its own, and the address limit none. A resident's
    personal tokens share the resident's one allowance (as many tokens as they like, but not as many requests)."""
    model = next((model for prefix, model in _KINDS if token.startswith(prefix)), None)
    if model is None:
        return None
    digest = auth.hash_token(token)
    try:
        row = db.session.scalar(select(model).where(model.token_sha256 == digest, model.revoked_at.is_(None)))
    except SQLAlchemyError as exc:
        # Flask-Limiter swallows its key function's errors: a connection cut here would leave the request's
        # session on a dead transaction, and the request's next query would fail with a bare 500. Rolled back,
        # the request goes on with a fresh connection (or answers 503 if the database is really gone), counted
        # by address this once.
        db.session.rollback()
        log.warning("rate limit: could not look the token up (%s); counting by address", exc.orig)
        return None
    if row is None:
        return None
    if isinstance(row, PersonalToken):
        return None if row.is_expired() else f"user:{row.user_id}"
    return "key:" + digest[:32]


def rate_key() -> str:
    """Whose requests are counted together: an API key, a signed-in user, or else an address."""
    if "api_rate_key" not in g:
        token = auth.bearer_token(request.headers.get("Authorization"))
        known = _token_key(token) if token else None
        if known:
            g.api_rate_key = known
        elif current_user.is_authenticated:
            g.api_rate_key = f"user:{current_user.id}"
        else:
            g.api_rate_key = "ip:" + (request.remote_addr or "unknown")
    return g.api_rate_key


def _limit() -> str:
    settings = current_app.config["MARKETPLACE"]
    return settings["API_RATE_LIMIT_ANONYMOUS"] if rate_key().startswith("ip:") else settings["API_RATE_LIMIT"]


def _not_api() -> bool:
    return not request.path.startswith("/api/")


limiter = Limiter(key_func=rate_key, default_limits=[_limit], default_limits_exempt_when=_not_api,
                  headers_enabled=True, in_memory_fallback_enabled=True, swallow_errors=True,
                  strategy="moving-window")


def register(app) -> None:
    settings = app.config["MARKETPLACE"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "marketplace-api")
    limiter.init_app(app)


class RateLimitDocs(BasePlugin):
    """An apispec plugin: every operation may answer 429, with Retry-After."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if method in ("get", "put", "post", "patch", "delete"):
                operation.setdefault("responses", {}).setdefault("429", {
                    "description": RATE_LIMITED,
                    "headers": {"Retry-After": {"description": "等待的秒数", "schema": {"type": "integer"}}},
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
