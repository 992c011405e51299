"""Configuration: one default for every setting, overlaid by ``MARKETPLACE_*`` environment variables.

Every setting has an embedded default so that ``make run`` needs nothing else; secrets are the
exception and only get a default in development, where a random key is generated once and kept
under ``instance/``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import argon2
from babel.numbers import get_currency_name

log = logging.getLogger(__name__)

PREFIX = "MARKETPLACE_"
ENVIRONMENTS = ("development", "testing", "production")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Locales with a complete catalogue (zh_CN is the source language).
LOCALES = ("zh_CN", "en")


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


@dataclass(frozen=True)
class Setting:
    default: object
    kind: type = str
    help: str = ""


#: Every setting the platform reads, by name without the prefix.
SETTINGS: dict[str, Setting] = {
    "ENV": Setting("development", help="development | testing | production"),
    "SECRET_KEY": Setting(None, help="signs sessions and tokens; required in production"),
    "INSTANCE_PATH": Setting(str(PROJECT_ROOT / "instance"), help="writable folder for the embedded database, media and mail"),
    "DATABASE_URL": Setting(None, help="SQLAlchemy URL; default: SQLite (WAL) under the instance folder"),
    "REDIS_URL": Setting(None, help="redis://… when Redis is used; reported by /healthz"),
    "CACHE_KEY_PREFIX": Setting(None, help="keys of the shared cache start with this; default: one per database URL"),
    "PAGE_CACHE_TTL_S": Setting(30, int, help="storefront pages for anonymous visitors are kept this long at most (0: off)"),
    "PROXY_FIX_X_FOR": Setting(0, int, help="reverse proxies in front (nginx: 1): trust their X-Forwarded-For/-Proto"),
    "API_RATE_LIMIT": Setting("600 per minute", help="requests an API key or signed-in user may make (Flask-Limiter notation)"),
    "API_RATE_LIMIT_ANONYMOUS": Setting("120 per minute", help="API requests one address may make without credentials"),
    "WEBHOOKS_ALLOW_LOOPBACK": Setting(False, bool, help="let webhooks go to 127.0.0.1 (development and tests only)"),
    "PLATFORM_DOMAIN": Setting("localhost", help="tenants are also served at <slug>.<PLATFORM_DOMAIN>"),
    "TENANTS_PATH": Setting(str(PROJECT_ROOT / "tenants"), help="folder of tenants/<slug>/tenant.toml manifests"),
    "THEMES_PATH": Setting(str(PROJECT_ROOT / "themes"), help="folder of storefront themes"),
    "DEFAULT_LOCALE": Setting("zh_CN"),
    "DEFAULT_TIMEZONE": Setting("Asia/Shanghai"),
    "DEFAULT_CURRENCY": Setting("CNY"),
    "MAIL_SENDER": Setting("log", help="log (writes mail to the log and instance/mail/)"),
    "MAIL_FROM": Setting("noreply@shangdu.example"),
    "SMS_SENDER": Setting("log", help="log (writes SMS to the log and instance/sms/)"),
    "SQLITE_BUSY_TIMEOUT_MS": Setting(30000, int, help="how long SQLite waits for a lock before giving up"),
    "LOGIN_MAX_FAILURES": Setting(10, int, help="failed logins allowed per account in the window"),
    "LOGIN_FAILURE_WINDOW_S": Setting(900, int, help="window for LOGIN_MAX_FAILURES, in seconds"),
    "PASSWORD_RESET_MAX_AGE_S": Setting(3600, int),
    "SESSION_COOKIE_SECURE": Setting(None, bool, help="default: on in production"),
    "DEMO_CATALOG": Setting(None, bool, help="load the demo catalogue in `flask demo`; default on, off when ENV=testing"),
    "DEMO_IMAGES": Setting(True, bool, help="draw product pictures for the demo catalogue"),
    "DEMO_IMAGE_SIZE": Setting(480, int, help="side of demo product pictures, in pixels (64–2000)"),
    "ARGON2_PROFILE": Setting("RFC_9106_LOW_MEMORY", help="argon2 parameters; tests use a cheaper profile"),
    "MEDIA_ROOT": Setting(None, help="folder for uploaded images; default: media/ under the instance folder"),
    "MEDIA_MAX_UPLOAD_BYTES": Setting(10 * 1024 * 1024, int, help="largest image upload accepted, in bytes"),
    "MEDIA_MAX_PIXELS": Setting(40_000_000, int, help="largest image accepted, in pixels (width × height)"),
    "SEARCH_PATH": Setting(None, help="folder for the embedded search indexes; default: search/ under the instance folder"),
    "SEARCH_STATS_FLUSH_S": Setting(10, int, help="searches are counted in each worker and written together this often (0: after each request)"),
    "SEARCH_INDEXING": Setting("auto", help="auto (an RQ job when Redis is configured, else inline) | inline | queue"),
    "ELASTICSEARCH_URL": Setting(None, help="http://… of the Elasticsearch cluster for tenants that choose it"),
    "ELASTICSEARCH_INDEX_PREFIX": Setting("shangdu", help="Elasticsearch index names start with this"),
    "STRIPE_SECRET_KEY": Setting(None, help="sk_… of the platform's Stripe account; needed by tenants that choose stripe"),
    "STRIPE_PUBLISHABLE_KEY": Setting(None, help="pk_… given to Stripe.js in the checkout page"),
    "STRIPE_WEBHOOK_SECRET": Setting(None, help="whsec_… of the webhook endpoint /payments/notifications/stripe"),
    "STRIPE_API_BASE": Setting(None, help="default: Stripe's own API; tests point it at a local emulator"),
    "STRIPE_JS_URL": Setting("https://js.stripe.com/v3/", help="Stripe.js, loaded from Stripe's own host"),
    "BADGE_SIGNING_KEY": Setting(None, help="base64 of the raw 32-byte Ed25519 key that signs merchant badges; "
                                            "required in production (development keeps one in the instance folder)"),
}


def _parse(name: str, raw: str, kind: type) -> object:
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{PREFIX}{name} must be true or false, not {raw!r}")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{PREFIX}{name} must be a whole number, not {raw!r}") from None
    return raw


def load_settings(environ: dict[str, str] | None = None, overrides: dict[str, object] | None = None) -> dict:
    """Resolve every setting: defaults, then the environment, then explicit overrides (tests).

    Raises ``ConfigError`` with a message naming the variable when a value is unusable.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name, setting in SETTINGS.items():
        raw = environ.get(PREFIX + name)
        values[name] = setting.default if raw is None else _parse(name, raw, setting.kind)
    for key in environ:
        if key.startswith(PREFIX) and key[len(PREFIX):] not in SETTINGS and not key.startswith(PREFIX + "TEST_"):
            log.warning("Ignoring unknown setting %s (known: %s)", key, ", ".join(sorted(SETTINGS)))
    values.update(overrides or {})
    _validate(values)
    return values


def _validate(values: dict) -> None:
    env = values["ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigError(f"{PREFIX}ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    if not values["SECRET_KEY"]:
        if env == "production":
            raise ConfigError(
                f"{PREFIX}SECRET_KEY is not set. In production the platform needs a secret key to sign sessions "
                f"and tokens: generate one with `python -c 'import secrets; print(secrets.token_hex(32))'` "
                f"and set {PREFIX}SECRET_KEY in the environment."
            )
        values["SECRET_KEY"] = _development_secret(Path(values["INSTANCE_PATH"]))
    elif env == "production" and len(str(values["SECRET_KEY"])) < 32:
        raise ConfigError(f"{PREFIX}SECRET_KEY is too short: use at least 32 random characters in production.")
    if values["SESSION_COOKIE_SECURE"] is None:
        values["SESSION_COOKIE_SECURE"] = env == "production"
    if values["MAIL_SENDER"] not in ("log",):
        raise ConfigError(f"{PREFIX}MAIL_SENDER {values['MAIL_SENDER']!r} is unknown (known: log)")
    if values["SMS_SENDER"] not in ("log",):
        raise ConfigError(f"{PREFIX}SMS_SENDER {values['SMS_SENDER']!r} is unknown (known: log)")
    if values["DEFAULT_LOCALE"] not in LOCALES:
        raise ConfigError(f"{PREFIX}DEFAULT_LOCALE must be one of {', '.join(LOCALES)}, not {values['DEFAULT_LOCALE']!r}")
    if not is_time_zone(values["DEFAULT_TIMEZONE"]):
        raise ConfigError(f"{PREFIX}DEFAULT_TIMEZONE {values['DEFAULT_TIMEZONE']!r} is not a time zone "
                          f"(e.g. Asia/Shanghai)")
    if not isinstance(getattr(argon2.profiles, values["ARGON2_PROFILE"], None), argon2.Parameters):
        raise ConfigError(f"{PREFIX}ARGON2_PROFILE {values['ARGON2_PROFILE']!r} is not an argon2 profile "
                          f"(e.g. RFC_9106_LOW_MEMORY)")
    if values["SEARCH_INDEXING"] not in ("auto", "inline", "queue"):
        raise ConfigError(f"{PREFIX}SEARCH_INDEXING must be auto, inline or queue, not {values['SEARCH_INDEXING']!r}")
    if values["SEARCH_INDEXING"] == "queue" and not values["REDIS_URL"]:
        raise ConfigError(f"{PREFIX}SEARCH_INDEXING=queue needs {PREFIX}REDIS_URL: the jobs go on an RQ queue")
    if env == "production" and (values["STRIPE_SECRET_KEY"] or values["STRIPE_WEBHOOK_SECRET"]):
        # Half a Stripe set-up takes money it cannot confirm (no webhook secret) or verifies webhooks for
        # payments it cannot make: refuse to start rather than fail at the first checkout.
        missing = [f"{PREFIX}{name}" for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PUBLISHABLE_KEY")
                   if not values[name]]
        if missing:
            raise ConfigError(f"Stripe is half configured: set {' and '.join(missing)} as well (or none of the "
                              f"Stripe keys, for offline payments only).")
    if values["BADGE_SIGNING_KEY"] and not _is_raw_ed25519_key(values["BADGE_SIGNING_KEY"]):
        raise ConfigError(f"{PREFIX}BADGE_SIGNING_KEY must be the base64 of a raw 32-byte Ed25519 private key "
                          f"(e.g. `python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'`)")
    if get_currency_name(values["DEFAULT_CURRENCY"], locale="en") == values["DEFAULT_CURRENCY"]:
        raise ConfigError(f"{PREFIX}DEFAULT_CURRENCY {values['DEFAULT_CURRENCY']!r} is not an ISO 4217 code")


def _is_raw_ed25519_key(text: str) -> bool:
    try:
        return len(base64.b64decode(str(text).strip(), validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone such as Asia/Shanghai (not a region folder like "Asia")."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the tz database
        return False
    return True


def _development_secret(instance_path: Path) -> str:
    """A random key kept under instance/ so development sessions survive restarts."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def flask_config(values: dict) -> dict:
    """Map platform settings onto the keys Flask and its extensions read."""
    instance = Path(values["INSTANCE_PATH"])
    database_url = values["DATABASE_URL"] or f"sqlite:///{instance / 'marketplace.sqlite3'}"
    return {
        "MARKETPLACE": values,
        "SECRET_KEY": values["SECRET_KEY"],
        "TESTING": values["ENV"] == "testing",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True} if not database_url.startswith("sqlite") else {},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": values["SESSION_COOKIE_SECURE"],
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": values["SESSION_COOKIE_SECURE"],
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead, so a slow form is not refused
        "BABEL_DEFAULT_LOCALE": values["DEFAULT_LOCALE"],
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "marketplace" / "translations"),
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,  # a ZIP of a spreadsheet and its pictures; forms cap less
    }
