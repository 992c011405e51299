"""Readiness checks reported by ``/healthz``: each answers (ok, detail)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import text

from marketplace.extensions import db


def check_database() -> tuple[bool, str]:
    try:
        db.session.execute(text("SELECT 1"))
        return True, db.engine.dialect.name
    except Exception as exc:  # reported, not raised: this is what the check is for
        db.session.rollback()
        return False, type(exc).__name__


def check_search() -> tuple[bool, str]:
    """Every search backend a live tenant uses (the embedded one needs SQLite's FTS5)."""
    from marketplace.search import services

    return services.health()


def check_redis() -> tuple[bool, str] | None:
    url = current_app.config["MARKETPLACE"]["REDIS_URL"]
    if not url:
        return None
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        return True, "redis"
    except redis.RedisError as exc:
        return False, type(exc).__name__


CHECKS = {"database": check_database, "search": check_search, "redis": check_redis}


def report() -> tuple[bool, dict]:
    results = {}
    for name, check in CHECKS.items():
        outcome = check()
        if outcome is not None:
            ok, detail = outcome
            results[name] = {"ok": ok, "detail": detail}
    return all(r["ok"] for r in results.values()), results
