"""Storefront themes: folders ``themes/<name>/`` with ``theme.toml`` (name, parent), templates and static files.

Templates are looked up by names that carry the theme (``street/home.html``, then the parent's, then
``base/…``), so Jinja's template cache can never hand one tenant's page to another. A tenant may
override single templates in ``tenants/<slug>/templates/``, looked up first as ``@<slug>/…``.
Consoles (merchant, operator) are never themed: they render from the application's own templates.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader
from werkzeug.security import safe_join

from marketplace.core.http_cache import send_versioned, version_static
from marketplace.tenancy.context import current_tenant

BASE_THEME = "base"


@dataclass(frozen=True)
class Theme:
    name: str
    parent: str | None
    path: Path
    label: str


class ThemeError(RuntimeError):
    """A theme folder that cannot be used; the message names it."""


def discover(root: Path) -> dict[str, Theme]:
    themes: dict[str, Theme] = {}
    for manifest in sorted(root.glob("*/theme.toml")):
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
        name = data.get("name", manifest.parent.name)
        if name != manifest.parent.name:
            raise ThemeError(f"{manifest}: name {name!r} must match its folder")
        parent = data.get("parent") or (None if name == BASE_THEME else BASE_THEME)
        themes[name] = Theme(name=name, parent=parent, path=manifest.parent, label=data.get("label", name))
    if BASE_THEME not in themes:
        raise ThemeError(f"no {BASE_THEME!r} theme under {root}")
    for theme in themes.values():
        chain(themes, theme.name)  # unknown parents and loops fail at start-up, not on a page
    return themes


def chain(themes: dict[str, Theme], name: str) -> list[str]:
    """The theme, its parent, …, ending with base. Unknown themes fall back to base."""
    names: list[str] = []
    current: str | None = name if name in themes else BASE_THEME
    while current is not None:
        if current in names:
            raise ThemeError(f"theme {name!r} has a parent loop: {' → '.join([*names, current])}")
        if current not in themes:
            raise ThemeError(f"theme {names[-1]!r} names unknown parent {current!r}")
        names.append(current)
        current = themes[current].parent
    return names


def init_app(app) -> None:
    settings = app.config["MARKETPLACE"]
    themes = discover(Path(settings["THEMES_PATH"]))
    loaders = {name: FileSystemLoader(theme.path / "templates") for name, theme in themes.items()}
    app.extensions["themes"] = themes
    app.extensions["theme_overrides"] = set()
    app.extensions["themed_names"] = {}
    app.jinja_loader = ChoiceLoader([FileSystemLoader(Path(app.root_path) / "templates"), PrefixLoader(loaders)])
    for folder in Path(settings["TENANTS_PATH"]).glob("*/templates"):
        if folder.is_dir():
            add_tenant_templates(app, folder.parent.name, folder)
    app.register_blueprint(_static_blueprint())
    version_static(app, "themes.static", lambda values: static_folder(values.get("theme"), values.get("filename")))
    # Inside theme templates: {% include themed("tenant/_location.html") %} follows the theme chain too.
    app.jinja_env.globals["themed"] = themed


def add_tenant_templates(app, slug: str, folder: Path) -> None:
    """Serve the templates in ``folder`` before the theme's for tenant ``slug`` (``tenants/<slug>/templates``)."""
    app.jinja_loader.loaders[-1].mapping[f"@{slug}"] = FileSystemLoader(folder)
    app.extensions["theme_overrides"].add(slug)
    app.extensions["themed_names"].clear()


def themed(template: str):
    """The template for the current tenant's theme chain.

    Which name of the chain exists is remembered: Jinja caches the templates it finds but not the names it does
    not, and a page with 24 product cards would otherwise look for each card's override on disk 24 times. In
    debug (templates reloaded from disk) it is looked up every time, so a new override file shows at once.
    """
    env = current_app.jinja_env
    names = tuple(template_chain(template))
    if env.auto_reload:
        return env.select_template(names)
    known = current_app.extensions["themed_names"]
    found = known.get(names)
    if found is None:
        found = known[names] = env.select_template(names).name
    return env.get_template(found)


def template_chain(template: str) -> list[str]:
    """Template names to try for the current tenant, most specific first."""
    tenant = current_tenant._get_current_object()
    themes = current_app.extensions["themes"]
    names = [f"{theme}/{template}" for theme in chain(themes, tenant.theme if tenant else BASE_THEME)]
    if tenant is not None and tenant.slug in current_app.extensions["theme_overrides"]:
        names.insert(0, f"@{tenant.slug}/{template}")
    return names


def render_themed(template: str, **context) -> str:
    """Render a storefront page in the current tenant's theme (base on platform pages)."""
    return render_template(themed(template), layout=themed("layout.html"), **context)


def _static_blueprint() -> Blueprint:
    blueprint = Blueprint("themes", __name__)

    @blueprint.route("/themes/<theme>/<path:filename>")
    def static(theme: str, filename: str):
        folder = static_folder(theme, filename)
        if folder is None:
            abort(404)
        return send_versioned(folder, filename, max_age=3600)

    return blueprint


def static_folder(theme: str | None, filename: str | None) -> Path | None:
    """The folder that serves ``filename`` for ``theme``: the theme's own static files, else its parent's, …"""
    themes = current_app.extensions["themes"]
    if theme not in themes or not filename:
        return None
    for name in chain(themes, theme):
        folder = themes[name].path / "static"
        path = safe_join(str(folder), filename)
        try:
            if path is not None and Path(path).is_file():
                return folder
        except OSError:  # a name longer than the file system allows: no such file
            return None
    return None
