"""Tenants as code: ``tenants/<slug>/tenant.toml`` manifests, validated and applied idempotently.

``sync_manifest`` creates the tenant when it is new, updates what differs, and reports each change,
so running it twice reports nothing the second time. Tenants created from the CLI or console that have
no manifest are left alone.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel.numbers import get_currency_name
from flask import has_app_context
from sqlalchemy import select

from marketplace.catalog.models import EXCLUSIONS, Category
from marketplace.core.config import is_time_zone
from marketplace.extensions import db
from marketplace.shops.services import normalise_identifier, uscc_problem
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant, TenantDomain, TenantKind, TenantStatus
from marketplace.tenancy.settings import MODULE_KINDS, module_settings

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class ManifestError(ValueError):
    """A manifest that cannot be applied; lists every problem found, with the file it is in."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}:\n  - " + "\n  - ".join(problems))


@dataclass
class CategorySpec:
    slug: str
    name_zh: str
    name_en: str
    product_type: str
    position: int
    children: list[CategorySpec] = field(default_factory=list)
    #: Why its goods are outside 7-day no-reason returns (``catalog.models.EXCLUSIONS``); None: not set by the
    #: manifest, so the operator's choice in the console stands.
    return_exclusion: str | None = None


@dataclass
class Manifest:
    path: Path
    slug: str
    kind: str
    status: str | None
    theme: str
    timezone: str
    currency: str
    domains: list[str]
    names: dict[str, str]
    district: dict[str, str]
    address: dict[str, str]
    brand: dict[str, str]
    modules: dict[str, dict[str, Any]]
    layout: dict[str, Any]
    categories: list[CategorySpec]
    #: ``[operator]``: name and uscc of the organisation that runs the tenant; None: not in the manifest, so what
    #: the console recorded stands.
    operator: dict[str, str] | None = None


def _text_pair(data: dict, key: str, problems: list[str], *, required: bool) -> dict[str, str]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        problems.append(f"[{key}] must be a table with zh and en")
        return {"zh": "", "en": ""}
    pair = {lang: str(value.get(lang, "")).strip() for lang in ("zh", "en")}
    if required and not (pair["zh"] and pair["en"]):
        problems.append(f"[{key}] needs both zh and en")
    return pair


def _operator(data: dict, problems: list[str]) -> dict[str, str] | None:
    """The ``[operator]`` table: a legal name and a valid 统一社会信用代码 (ECL Art. 9(2)), or None when absent."""
    if "operator" not in data:
        return None
    table = data["operator"]
    if not isinstance(table, dict):
        problems.append("[operator] must be a table with name and uscc")
        return None
    unknown = set(table) - {"name", "uscc"}
    if unknown:
        problems.append(f"[operator] has unknown keys: {', '.join(sorted(unknown))}")
    name = str(table.get("name", "")).strip()
    if not name or len(name) > 200:
        problems.append("operator.name must be the organisation's registered name (1 to 200 characters)")
    uscc = normalise_identifier(str(table.get("uscc", "")))
    problem = uscc_problem(uscc)
    if problem:
        problems.append(f"operator.uscc {uscc!r} is not a valid unified social credit code (GB 32100): {problem}")
    return {"name": name, "uscc": uscc}


def _categories(items: Any, where: str, problems: list[str], seen: set[str]) -> list[CategorySpec]:
    if not isinstance(items, list):
        problems.append(f"{where} must be an array of tables")
        return []
    specs = []
    for position, item in enumerate(items):
        label = f"{where}[{position}]"
        if not isinstance(item, dict):
            problems.append(f"{label} must be a table")
            continue
        slug = str(item.get("slug", ""))
        if not SLUG.fullmatch(slug):
            problems.append(f"{label}: slug {slug!r} must be lowercase letters, digits and hyphens")
        elif slug in seen:
            problems.append(f"{label}: category slug {slug!r} appears twice")
        seen.add(slug)
        name = _text_pair(item, "name", problems, required=True)
        children = _categories(item.get("children", []), f"{label}.children", problems, seen)
        exclusion = item.get("return_exclusion")
        if exclusion is not None and exclusion not in ("", *EXCLUSIONS):
            problems.append(f"{label}: return_exclusion {exclusion!r} must be one of {', '.join(EXCLUSIONS)} or \"\"")
        specs.append(CategorySpec(slug, name["zh"], name["en"], str(item.get("product_type", "")), position,
                                  children, exclusion if isinstance(exclusion, str) else None))
    return specs


def load_manifest(path: Path, known_themes: set[str] | None = None) -> Manifest:
    """Read and validate one manifest; raises ManifestError listing every problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(path, [f"cannot be read as TOML: {exc}"]) from None
    problems: list[str] = []
    slug = str(data.get("slug", ""))
    if not SLUG.fullmatch(slug):
        problems.append(f"slug {slug!r} must be lowercase letters, digits and hyphens (at most 63)")
    elif slug != path.parent.name:
        problems.append(f"slug {slug!r} must match its folder name {path.parent.name!r}")
    kind = data.get("kind")
    if kind not in TenantKind.values():
        problems.append(f"kind must be one of {', '.join(TenantKind.values())}, not {kind!r}")
    status = data.get("status")
    if status is not None and status not in TenantStatus.values():
        problems.append(f"status must be one of {', '.join(TenantStatus.values())}, not {status!r}")
    theme = str(data.get("theme", "base"))
    if known_themes is not None and theme not in known_themes:
        problems.append(f"theme {theme!r} is not installed (installed: {', '.join(sorted(known_themes))})")
    timezone = str(data.get("timezone", "Asia/Shanghai"))
    if not is_time_zone(timezone):
        problems.append(f"timezone {timezone!r} is unknown (e.g. Asia/Shanghai)")
    currency = str(data.get("currency", "CNY"))
    if not re.fullmatch(r"[A-Z]{3}", currency) or get_currency_name(currency, locale="en") == currency:
        problems.append(f"currency {currency!r} is not an ISO 4217 code")
    domains = data.get("domains", [])
    if not isinstance(domains, list) or not all(isinstance(d, str) and DOMAIN.fullmatch(d.lower()) for d in domains):
        problems.append("domains must be a list of host names such as shop.example.cn")
        domains = []
    brand = data.get("brand", {})
    if not isinstance(brand, dict):
        problems.append("[brand] must be a table")
        brand = {}
    for key in ("primary_color", "accent_color"):
        if key in brand and not COLOUR.fullmatch(str(brand[key])):
            problems.append(f"brand.{key} must be a colour like #9e2a2b")
    unknown_brand = set(brand) - {"primary_color", "accent_color", "logo"}
    if unknown_brand:
        problems.append(f"[brand] has unknown keys: {', '.join(sorted(unknown_brand))}")
    if "logo" in brand:
        logo = str(brand["logo"])
        static = path.parent / "static"
        if not re.fullmatch(r"[\w.-]+\.(svg|png|jpg|jpeg|webp)", logo) or not (static / logo).is_file():
            problems.append(f"brand.logo {logo!r} must name an image file in {static}")
    modules: dict[str, dict[str, Any]] = {}
    for module_kind, spec in (data.get("modules") or {}).items():
        if module_kind not in MODULE_KINDS:
            problems.append(f"[modules.{module_kind}] is not a module kind ({', '.join(MODULE_KINDS)})")
            continue
        if not isinstance(spec, dict) or not isinstance(spec.get("provider"), str):
            problems.append(f"[modules.{module_kind}] needs provider = \"…\"")
            continue
        options = spec.get("settings", {})
        if not isinstance(options, dict):
            problems.append(f"[modules.{module_kind}.settings] must be a table")
            continue
        if module_kind == "search" and has_app_context():
            from marketplace.search.services import choice_problem

            problem = choice_problem(spec["provider"], options)
            if problem:
                problems.append(f"[modules.search] {problem}")
                continue
        if module_kind == "payment" and has_app_context():
            from marketplace.payments.services import choice_problem as payment_problem

            problem = payment_problem(spec["provider"], options)
            if problem:
                problems.append(f"[modules.payment] {problem}")
                continue
        if module_kind == "delivery" and has_app_context():
            from marketplace.delivery.services import choice_problem as delivery_problem

            problem = delivery_problem(spec["provider"], options)
            if problem:
                problems.append(f"[modules.delivery] {problem}")
                continue
        modules[module_kind] = {"provider": spec["provider"], "options": options}
    layout = data.get("layout", {})
    if not isinstance(layout, dict):
        problems.append("[layout] must be a table")
        layout = {}
    else:
        from marketplace.shops.maps import layout_problems

        problems.extend(layout_problems(str(kind), layout))
    names = _text_pair(data, "name", problems, required=True)
    district = _text_pair(data, "district", problems, required=False)
    address = _text_pair(data, "address", problems, required=False)
    categories = _categories(data.get("categories", []), "categories", problems, set())
    operator = _operator(data, problems)
    if problems:
        raise ManifestError(path, problems)
    return Manifest(path=path, slug=slug, kind=kind, status=status, theme=theme, timezone=timezone,
                    currency=currency, domains=sorted({d.lower() for d in domains}), names=names,
                    district=district, address=address, brand={k: str(v) for k, v in brand.items()},
                    modules=modules, layout=layout, categories=categories, operator=operator)


def discover_manifests(root: Path) -> list[Path]:
    return sorted(root.glob("*/tenant.toml"))


def sync_folder(root: Path, themes: set[str], *, only_missing: bool = False) -> list[tuple[Tenant, str, list[str]]]:
    """Apply every manifest under ``root``: (tenant, "created" | "updated" | "unchanged", changed fields) each.

    Every manifest is validated first; if any has a problem, ``ManifestError`` lists them all and nothing is
    applied. With ``only_missing`` (the demo), tenants that exist already are left as the console set them.
    Flushes; the caller commits.
    """
    loaded, problems = [], []
    for path in discover_manifests(root):
        try:
            loaded.append(load_manifest(path, themes))
        except ManifestError as error:
            problems.append(str(error))
    if problems:
        raise ManifestError(root, ["invalid manifests, nothing applied:", *problems])
    outcome = []
    for manifest in loaded:
        existing = db.session.scalar(select(Tenant).where(Tenant.slug == manifest.slug))
        if only_missing and existing is not None:
            outcome.append((existing, "unchanged", []))
        else:
            outcome.append(sync_manifest(manifest))
    return outcome


def _assign(obj, values: dict[str, Any], changes: list[str], label: str) -> None:
    for attr, value in values.items():
        if getattr(obj, attr) != value:
            setattr(obj, attr, value)
            changes.append(f"{label}{attr}")


def sync_manifest(manifest: Manifest) -> tuple[Tenant, str, list[str]]:
    """Apply a manifest. Returns (tenant, "created" | "updated" | "unchanged", changed fields). Flushes."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == manifest.slug))
    created = tenant is None
    if created:
        tenant = Tenant(slug=manifest.slug, kind=manifest.kind, status=manifest.status or TenantStatus.draft,
                        name_zh=manifest.names["zh"], name_en=manifest.names["en"], brand={}, layout={})
        db.session.add(tenant)
        db.session.flush()
    changes: list[str] = []
    values = {
        "kind": manifest.kind,
        "name_zh": manifest.names["zh"], "name_en": manifest.names["en"],
        "district_zh": manifest.district["zh"], "district_en": manifest.district["en"],
        "address_zh": manifest.address["zh"], "address_en": manifest.address["en"],
        "theme": manifest.theme, "timezone": manifest.timezone, "currency": manifest.currency,
        "brand": manifest.brand, "layout": manifest.layout,
    }
    if manifest.status is not None:
        values["status"] = manifest.status
    if manifest.operator is not None:
        values["operator_name"] = manifest.operator["name"]
        values["operator_uscc"] = manifest.operator["uscc"]
    _assign(tenant, values, changes, "")

    current_domains = {d.domain for d in tenant.domains}
    if current_domains != set(manifest.domains):
        taken = db.session.scalars(select(TenantDomain).where(
            TenantDomain.domain.in_(manifest.domains), TenantDomain.tenant_id != tenant.id
        )).all()
        if taken:
            raise ManifestError(manifest.path, [f"domain {d.domain} already belongs to another tenant" for d in taken])
        tenant.domains = [d for d in tenant.domains if d.domain in manifest.domains] + [
            TenantDomain(domain=d) for d in manifest.domains if d not in current_domains
        ]
        changes.append("domains")

    for module_kind, spec in manifest.modules.items():
        group = module_settings[module_kind]
        if group.set(tenant, "provider", spec["provider"]):
            changes.append(f"modules.{module_kind}.provider")
        if group.set(tenant, "options", spec["options"]):
            changes.append(f"modules.{module_kind}.settings")

    with tenant_scope(tenant):
        _sync_categories(manifest.categories, None, changes)
    db.session.flush()
    return tenant, "created" if created else ("updated" if changes else "unchanged"), changes


def _sync_categories(specs: list[CategorySpec], parent: Category | None, changes: list[str]) -> None:
    for spec in specs:
        category = db.session.scalar(select(Category).where(Category.slug == spec.slug))
        if category is None:
            category = Category(slug=spec.slug)
            db.session.add(category)
            changes.append(f"categories.{spec.slug}")
            label = None
        else:
            label = f"categories.{spec.slug}."
        values = {"name_zh": spec.name_zh, "name_en": spec.name_en, "product_type": spec.product_type,
                  "position": spec.position, "parent_id": parent.id if parent else None}
        if spec.return_exclusion is not None:
            values["return_exclusion"] = spec.return_exclusion
        if label is None:
            for attr, value in values.items():
                setattr(category, attr, value)
        else:
            _assign(category, values, changes, label)
        db.session.flush()
        _sync_categories(spec.children, category, changes)
