"""Online Commercial Capital (网上商都): a multi-tenant marketplace for a city's streets and markets.

``create_app`` assembles the platform in named steps. Nothing here queries the database: gunicorn
forks workers after import, and a connection opened now would be shared by all of them.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from pathlib import Path

from marketplace.core.app import MarketplaceFlask
from marketplace.core.config import flask_config, load_settings
from marketplace.core.db import end_session_safely

log = logging.getLogger(__name__)

#: Domain packages with pages (``views.register(app)``) and with CLI commands (``cli.register(app)``).
WEB_DOMAINS = ("core", "accounts", "storefront", "console", "shops", "media", "api", "payments", "delivery", "trust",
               "spec", "reports")
CLI_DOMAINS = ("tenancy", "accounts", "demo", "api", "catalog", "search", "orders", "payments", "delivery", "trust", "spec",
               "reports", "webhooks")


def create_app(config: dict | None = None) -> MarketplaceFlask:
    """Build the platform. ``config`` overrides settings by name (``{"ENV": "testing", …}``)."""
    settings = load_settings(overrides=config)
    app = MarketplaceFlask(__name__, instance_path=str(Path(settings["INSTANCE_PATH"]).resolve()))
    app.config.update(flask_config(settings))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)  # the embedded database, media and mail live here
    _init_extensions(app)
    _init_tenancy(app)
    _init_domains(app)
    _init_plugins(app)
    _init_themes(app)
    _init_cli(app)
    # Registered last, so that it runs first (teardowns run last first): before any other teardown touches a
    # connection the database may have cut.
    app.teardown_appcontext(end_session_safely)
    return app


def _init_extensions(app: MarketplaceFlask) -> None:
    # Importing the models registers them with the metadata that migrations and the guard read.
    from marketplace import models  # noqa: F401
    from marketplace.core import cache as shared_cache
    from marketplace.core import i18n
    from marketplace.core.db import configure_sqlite
    from marketplace.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    login_manager.init_app(app)
    shared_cache.init_app(app)
    with app.app_context():  # creating the engine does not connect
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                configure_sqlite(engine, app.config["MARKETPLACE"]["SQLITE_BUSY_TIMEOUT_MS"])


def _init_tenancy(app: MarketplaceFlask) -> None:
    from marketplace.search import indexing
    from marketplace.tenancy import cache, guard, hosts, views

    guard.install()
    cache.install()
    indexing.install()
    views.install_resolution(app)
    app.wsgi_app = hosts.TenantHostMiddleware(app, app.wsgi_app)
    proxies = app.config["MARKETPLACE"].get("PROXY_FIX_X_FOR") or 0
    if proxies:  # behind that many reverse proxies: the client's address and scheme from their headers
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)


def _init_domains(app: MarketplaceFlask) -> None:
    for name in WEB_DOMAINS:
        importlib.import_module(f"marketplace.{name}.views").register(app)


def _init_plugins(app: MarketplaceFlask) -> None:
    """Third-party packages extend the platform at its edges through the ``marketplace.plugins`` entry point.

    Each entry point names a callable ``setup(app)`` that may register blueprints, CLI commands and
    template hooks. A plugin that fails to load stops start-up with its name, rather than half-working.
    """
    from marketplace.catalog.packs import load_packs
    from marketplace.search import services as search

    app.extensions["catalog_packs"] = load_packs()
    search.init_app(app)
    for entry in entry_points(group="marketplace.plugins"):
        try:
            entry.load()(app)
        except Exception as exc:
            raise RuntimeError(f"plugin {entry.name!r} ({entry.value}) failed to load: {exc}") from exc
        log.info("loaded plugin %s", entry.name)


def _init_themes(app: MarketplaceFlask) -> None:
    from marketplace.core import themes

    themes.init_app(app)


def _init_cli(app: MarketplaceFlask) -> None:
    for name in CLI_DOMAINS:
        importlib.import_module(f"marketplace.{name}.cli").register(app)
