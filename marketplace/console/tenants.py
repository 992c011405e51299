"""Platform admins launch tenants from a template and run them; operators place their shops; both see the audit log.

- ``/operator/new``: a new street or market, in draft, from the template of its kind (theme, modules, layout
  skeleton). Each module's provider is chosen on the form, with a settings form generated from that provider's
  own settings schema and checked by the provider family (the same checks as a ``tenant.toml``).
- ``/operator/<t>/go-live`` takes a draft live once nothing required is missing (``launch_problems``);
  ``/operator/<t>/suspend`` stops it (admins, with a reason).
- ``/operator/<t>/operators``: who runs the tenant; admins grant and revoke the operator role.
- ``/operator/<t>/shops``: each shop's place on the street or in the halls, checked against the tenant's layout.
- ``/operator/<t>/audit`` and, for admins, ``/operator/audit``: what operators and admins did.

Every change is recorded with ``marketplace.core.audit``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.accounts import services as accounts
from marketplace.accounts.authz import Permission, can, permission_required, require
from marketplace.accounts.models import Role, RoleGrant, User
from marketplace.catalog import packs
from marketplace.console.forms import ConfirmForm, OperatorGrantForm, ShopLocationForm, SuspendForm, TenantLaunchForm
from marketplace.console.order_settings import COMMISSION_BP, percent_to_bp
from marketplace.core import audit
from marketplace.core.forms import add_form_error
from marketplace.core.text import plain_text
from marketplace.core.views import page_arg
from marketplace.extensions import db
from marketplace.orders.services import order_settings
from marketplace.shops import floorplans
from marketplace.shops.floorplans import DEFAULT_STALL_M
from marketplace.shops.models import STREET_SIDES, Shop, ShopStatus
from marketplace.shops.services import normalise_identifier, uscc_problem
from marketplace.tenancy import services as tenancy
from marketplace.tenancy.context import current_tenant, tenant_scope
from marketplace.tenancy.manifests import DOMAIN
from marketplace.tenancy.models import Tenant, TenantDomain, TenantKind, TenantStatus
from marketplace.tenancy.settings import MODULE_KINDS, module_settings

blueprint = Blueprint("operator_tenants", __name__, url_prefix="/operator")

#: Slugs that would read as one of the console's own pages under /operator/ (/operator/new, /operator/audit and
#: the city statistics at /operator/reports): a tenant of that name could never reach its own console.
RESERVED_SLUGS = {"new", "audit", "reports"}
MODULE_LABELS = {"catalog": _l("商品目录"), "search": _l("搜索"), "payment": _l("付款"), "delivery": _l("配送")}
#: Options of the payment module that belong to the offline methods offered beside an online provider.
PAYMENT_OFFLINE_EXTRAS = {"offline_methods": (list, []), "bank_account": (str, "")}
MAX_STREET_M = 10_000
MAX_STALL_M = 1_000


# -- templates by kind --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KindTemplate:
    """What a new tenant of one kind starts with; the operator refines the layout in its manifest."""

    theme: str
    modules: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    def layout(self, kind: str, *, name_zh: str, name_en: str, street_length_m: int) -> dict[str, Any]:
        if kind == TenantKind.street:
            return {"street": {"zh": name_zh, "en": name_en}, "length_m": street_length_m,
                    "orientation": "north-south", "sides": ["west", "east"], "cross_streets": [], "landmarks": []}
        return {"buildings": [{"code": "A", "name": {"zh": "A 馆", "en": "Hall A"}, "floors": [
            {"level": 1, "name": {"zh": "一层", "en": "Ground floor"}, "width_m": 60, "depth_m": 40,
             "zones": [{"code": "A1", "name": {"zh": "A1 区", "en": "Zone A1"}},
                       {"code": "A2", "name": {"zh": "A2 区", "en": "Zone A2"}}],
             "stalls": _stall_grid("A1", 0) + _stall_grid("A2", 30),
             "entrances": [{"name": {"zh": "正门", "en": "Main entrance"}, "x_m": 45, "y_m": 40}]},
        ]}]}


def _stall_grid(zone: str, west_m: float) -> list[dict[str, Any]]:
    """A zone's starting stalls: two back-to-back rows of six 4 × 4 m stalls with an aisle in front of each,
    numbered A1-001… — slots the operator fills by clicking them on the floor plan, or redraws in the manifest."""
    return [{"number": f"{zone}-{row * 6 + column + 1:03d}", "zone": zone, "x_m": west_m + 3 + column * 4.5,
             "y_m": 12 + row * 4, "width_m": 4, "depth_m": 4} for row in range(2) for column in range(6)]


TEMPLATES = {
    TenantKind.street: KindTemplate("street", {"catalog": ("general", {}), "search": ("embedded", {}),
                                               "payment": ("offline", {}), "delivery": ("pickup", {})}),
    TenantKind.market: KindTemplate("market", {"catalog": ("general", {}), "search": ("embedded", {}),
                                               "payment": ("offline", {}),
                                               "delivery": ("pickup", {})}),
}


# -- providers and their settings schemas ---------------------------------------------------------------------------

def providers_of(module: str) -> list[tuple[str, str]]:
    """(name, label) of every installed provider of a module kind."""
    if module == "catalog":
        return [(pack_id, pack.label()) for pack_id, pack in sorted(packs.registry().items())]
    if module == "search":
        return [(name, name) for name in sorted(current_app.extensions["search_backends"])]
    if module == "payment":
        from marketplace.payments.providers import provider_class, provider_classes
    else:
        from marketplace.delivery.providers import provider_class, provider_classes
    return [(name, str(getattr(provider_class(name), "label", name) or name)) for name in sorted(provider_classes())]


def option_schema(module: str, provider: str) -> dict[str, tuple[type, Any]]:
    """The settings a provider takes: name → (type, default), from the provider's own schema."""
    if module == "catalog":
        return {}
    if module == "search":
        from marketplace.search.services import backend_class

        return dict(backend_class(provider).options_schema)
    if module == "payment":
        from marketplace.payments.providers import provider_class

        schema = dict(provider_class(provider).options_schema)
        return schema if provider == "offline" else {**schema, **PAYMENT_OFFLINE_EXTRAS}
    from marketplace.delivery.providers import provider_class

    return dict(provider_class(provider).options_schema)


def module_problem(module: str, provider: str, options: dict[str, Any]) -> str | None:
    """Why the provider refuses these settings (its family's own check, as for a manifest), or None."""
    if module == "catalog":
        return None if provider in packs.registry() else _("没有安装这个商品目录包。")
    if module == "search":
        from marketplace.search.services import choice_problem

        return choice_problem(provider, options)
    if module == "payment":
        from marketplace.payments.services import choice_problem

        return choice_problem(provider, options)
    from marketplace.delivery.services import choice_problem

    return choice_problem(provider, options)  # a table of providers' options; ``provider`` is the default


def _is_word_list(kind: type, default: Any) -> bool:
    return kind is list and all(isinstance(item, str) for item in default or [])


def _shown(kind: type, default: Any) -> Any:
    """How a default reads in its form field."""
    if kind is bool:
        return bool(default)
    if default is None:
        return ""
    if _is_word_list(kind, default):
        return ", ".join(default)
    if kind in (list, dict):
        return json.dumps(default, ensure_ascii=False)
    return str(default)


_WORD_SEPARATORS = re.compile(r"[,，、;；\s]+")
_WHOLE = re.compile(r"-?\d{1,12}")


class OptionInvalid(ValueError):
    pass


def parse_option(kind: type, default: Any, raw: Any) -> Any:
    """A field's text as the value the schema asks for; ``OptionInvalid`` with a message otherwise."""
    if kind is bool:
        return bool(raw)
    text = (raw or "").strip()
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        raise OptionInvalid(_("含有无法识别的字符，请修改后重试。"))
    if kind is int:
        if not text and default is None:
            return None
        if not _WHOLE.fullmatch(text):
            raise OptionInvalid(_("请填写整数。"))
        return int(text)
    if kind is str:
        return text
    if _is_word_list(kind, default):
        return [word for word in _WORD_SEPARATORS.split(text) if word]
    if kind in (list, dict):
        try:
            value = json.loads(text or ("[]" if kind is list else "{}"))
        except ValueError:
            raise OptionInvalid(_("请填写有效的 JSON。")) from None
        if not isinstance(value, kind):
            raise OptionInvalid(_("应为 JSON 列表 [ … ]。") if kind is list else _("应为 JSON 对象 { … }。"))
        return value
    raise OptionInvalid(_("不支持的设置类型。"))


def _field_name(module: str, provider: str, option: str) -> str:
    return f"m_{module}__{provider}__{option}"


def launch_form(kind: str) -> TenantLaunchForm:
    """The launch form with, per module, a provider choice and each provider's settings fields (generated from
    its schema; only the chosen provider's are read). ``kind`` picks the template the fields start from."""
    template = TEMPLATES.get(kind) or TEMPLATES[TenantKind.street]

    class LaunchForm(TenantLaunchForm):
        # Who runs the tenant: a platform operator must be a registered organisation (ECL Art. 9(2); PC-21).
        operator_name = StringField(_l("运营机构名称"), validators=[
            DataRequired(_l("请填写运营机构的名称（与营业执照一致）。")), Length(max=200), plain_text])
        operator_uscc = StringField(_l("运营机构统一社会信用代码"), validators=[
            DataRequired(_l("请填写运营机构的统一社会信用代码。")), Length(max=40)])

    option_fields: dict[str, dict[str, dict[str, str]]] = {}
    for module in MODULE_KINDS:
        chosen, template_options = template.modules[module]
        setattr(LaunchForm, f"provider_{module}", SelectField(
            MODULE_LABELS[module], choices=[SelectChoice(n, label) for n, label in providers_of(module)],
            default=chosen, validate_choice=False))
        option_fields[module] = {}
        for provider, _label in providers_of(module):
            option_fields[module][provider] = {}
            for option, (kind_, default) in option_schema(module, provider).items():
                start = template_options.get(option, default) if provider == chosen else default
                name = _field_name(module, provider, option)
                if kind_ is bool:
                    setattr(LaunchForm, name, BooleanField(option, default=bool(start)))
                elif kind_ in (list, dict) and not _is_word_list(kind_, default):
                    setattr(LaunchForm, name, TextAreaField(option, default=_shown(kind_, start),
                                                            validators=[Length(max=20_000)]))
                else:
                    setattr(LaunchForm, name, StringField(option, default=_shown(kind_, start),
                                                          validators=[Length(max=2_000)]))
                option_fields[module][provider][option] = name
    form = LaunchForm(kind=kind if kind in TEMPLATES else TenantKind.street, theme=template.theme)
    form.theme.choices = [SelectChoice(name, name) for name in sorted(current_app.extensions["themes"])]
    form.option_fields = option_fields
    return form


def _chosen_modules(form) -> dict[str, tuple[str, dict[str, Any]]] | None:
    """Each module's provider and the settings that differ from the provider's defaults, with errors put on the
    form's fields; None when any is refused."""
    chosen: dict[str, tuple[str, dict[str, Any]]] = {}
    ok = True
    for module in MODULE_KINDS:
        provider_field = form[f"provider_{module}"]
        provider = provider_field.data
        if provider not in form.option_fields[module]:
            provider_field.errors.append(_("请选择已安装的服务商。"))
            ok = False
            continue
        schema = option_schema(module, provider)
        options: dict[str, Any] = {}
        readable = True
        for option, name in form.option_fields[module][provider].items():
            kind_, default = schema[option]
            try:
                value = parse_option(kind_, default, form[name].data)
            except OptionInvalid as error:
                form[name].errors.append(str(error))
                readable = False
                continue
            if value != default and value is not None:
                options[option] = value
        if not readable:  # the provider is asked only about values the form could read
            ok = False
            continue
        settings = {provider: options} if module == "delivery" else options
        problem = module_problem(module, provider, settings)
        if problem:
            # Put the provider's own words next to each setting they name, else next to the provider choice.
            named = [o for o in schema if re.search(rf"\b{re.escape(o)}\b", problem)]
            message = _("服务商不接受这些设置：%(problem)s", problem=problem)
            for target in [form[form.option_fields[module][provider][o]] for o in named] or [provider_field]:
                target.errors.append(message)
            ok = False
            continue
        chosen[module] = (provider, settings)
    return chosen if ok else None


def _domains(form) -> list[str] | None:
    names = sorted({d.lower() for d in _WORD_SEPARATORS.split(form.domains.data or "") if d})
    wrong = [d for d in names if not DOMAIN.fullmatch(d)]
    if wrong:
        form.domains.errors.append(_("不是有效的域名：%(names)s（例如 shop.example.cn）。", names="、".join(wrong)))
        return None
    taken = db.session.scalars(select(TenantDomain.domain).where(TenantDomain.domain.in_(names))).all()
    if taken:
        form.domains.errors.append(_("这些域名已属于其他商业街或市场：%(names)s。", names="、".join(taken)))
        return None
    return names


def launch_tenant(form) -> Tenant | None:
    """Create the tenant the form describes, in draft; None (with errors on the form) when anything is refused."""
    ok = form.validate()
    slug = (form.slug.data or "").strip().lower()
    if not form.slug.errors:
        if slug in RESERVED_SLUGS:
            form.slug.errors.append(_("这个网址名是后台保留的，请换一个。"))
        elif tenancy.tenant_by_slug(slug) is not None:
            form.slug.errors.append(_("网址名 %(slug)s 已被使用。", slug=slug))
    if form.kind.data not in TEMPLATES:
        form.kind.errors.append(_("请选择商业街或专业市场。"))
    if form.theme.data not in current_app.extensions["themes"]:
        form.theme.errors.append(_("请选择已安装的主题。"))
    commission_bp = percent_to_bp(form.commission_percent.data)
    if commission_bp is None or not COMMISSION_BP[0] <= commission_bp <= COMMISSION_BP[1]:
        form.commission_percent.errors.append(_("佣金比例应为 0.00 到 30.00 之间的百分数，最多两位小数，例如 1.50。"))
    length_text = (form.street_length_m.data or "").strip()
    street_length = int(length_text) if length_text.isascii() and length_text.isdigit() and len(length_text) < 7 else 0
    if form.kind.data == TenantKind.street and not 1 <= street_length <= MAX_STREET_M:
        form.street_length_m.errors.append(_("街道长度应为 1 到 10000 之间的整数（米）。"))
    operator_uscc = normalise_identifier(form.operator_uscc.data)
    if not form.operator_uscc.errors and (problem := uscc_problem(operator_uscc)):
        form.operator_uscc.errors.append(problem)
    modules = _chosen_modules(form)
    domains = _domains(form)
    if not ok or modules is None or domains is None or any(f.errors for f in form):
        return None
    kind = form.kind.data
    try:
        tenant = tenancy.create_tenant(slug, kind, form.name_zh.data, form.name_en.data, theme=form.theme.data,
                                       district_zh=(form.district_zh.data or "").strip(),
                                       district_en=(form.district_en.data or "").strip())
    except tenancy.TenantError:  # taken since the check above
        form.slug.errors.append(_("网址名 %(slug)s 已被使用。", slug=slug))
        return None
    tenant.address_zh = (form.address_zh.data or "").strip()
    tenant.address_en = (form.address_en.data or "").strip()
    tenant.operator_name = form.operator_name.data.strip()
    tenant.operator_uscc = operator_uscc
    tenant.brand = {key: form[key].data.lower() for key in ("primary_color", "accent_color") if form[key].data}
    tenant.layout = TEMPLATES[kind].layout(kind, name_zh=tenant.name_zh, name_en=tenant.name_en,
                                          street_length_m=street_length)
    tenant.domains = [TenantDomain(domain=d) for d in domains]
    for module, (provider, settings) in modules.items():
        module_settings[module].set(tenant, "provider", provider)
        module_settings[module].set(tenant, "options", settings)
    order_settings.set(tenant, "commission_bp", commission_bp)
    db.session.flush()
    audit.record("tenant.created", target=tenant, slug=slug, kind=kind, theme=tenant.theme, domains=domains,
                 operator_name=tenant.operator_name, operator_uscc=operator_uscc,
                 commission_bp=commission_bp, modules={m: {"provider": p, "settings": s} for m, (p, s) in modules.items()})
    return tenant


# -- going live -----------------------------------------------------------------------------------------------------

def launch_problems(tenant: Tenant) -> list[str]:
    """What stops the tenant from going live: each a sentence for the operator. Empty: it may go live."""
    problems = []
    with tenant_scope(tenant):
        active_shops = db.session.scalar(select(func.count()).select_from(Shop).where(
            Shop.status == ShopStatus.active)) or 0
    if not active_shops:
        problems.append(_("还没有营业中的店铺：至少要有一家店铺才能上线。"))
    for module in MODULE_KINDS:
        choice = module_settings[module].all(tenant)
        problem = module_problem(module, choice["provider"], choice["options"])
        if problem:
            problems.append(_("%(module)s模块的设置有误：%(problem)s", module=MODULE_LABELS[module], problem=problem))
    problems.extend(_agreement_problems(tenant))
    return problems


def _agreement_problems(tenant: Tenant) -> list[str]:
    """The service agreement and trading rules must be published before residents see the tenant (ECL Art. 33)."""
    from marketplace.tenancy import agreements

    with tenant_scope(tenant):
        missing = [agreements.DocumentKind.__labels__[kind.value] for kind in agreements.DocumentKind
                   if not agreements.published(kind.value)]
    return [_("%(document)s尚未发布。", document=label) for label in missing]


def take_live(tenant: Tenant) -> list[str]:
    """Take a draft (or suspended, for admins) tenant live, or say why not. Flushes."""
    problems = launch_problems(tenant)
    if problems:
        return problems
    before = tenant.status
    tenant.status = TenantStatus.live
    audit.record("tenant.launched", target=tenant, previous=before)
    db.session.flush()
    return []


# -- views: launch --------------------------------------------------------------------------------------------------

@blueprint.route("/new", methods=["GET", "POST"])
@login_required
@permission_required(Permission.manage_platform)
def new_tenant():
    kind = request.form.get("kind") or request.args.get("kind") or TenantKind.street
    form = launch_form(kind)
    if request.method == "POST":
        tenant = launch_tenant(form)
        if tenant is not None:
            db.session.commit()
            flash(_("已创建 %(name)s（筹备中）。请预览前台，准备好后上线。", name=tenant.name_zh), "success")
            return redirect(url_for("operator.tenant", tenant_slug=tenant.slug)), 303
        db.session.rollback()
    status = 400 if any(f.errors for f in form) else 200
    return render_template("console/tenants/new.html", form=form, kinds=TenantKind, module_labels=MODULE_LABELS,
                           providers={m: providers_of(m) for m in MODULE_KINDS}), status


@blueprint.route("/<slug:tenant_slug>/go-live", methods=["POST"])
@login_required
def go_live():
    require(Permission.operate_tenant, current_tenant)
    tenant = current_tenant._get_current_object()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if tenant.status == TenantStatus.live:
        flash(_("已经在运营中。"), "info")
    elif tenant.status == TenantStatus.suspended and not can(current_user, Permission.manage_platform):
        flash(_("暂停或恢复一个市场需要平台管理员操作。"), "error")
    else:
        problems = take_live(tenant)
        if problems:
            db.session.rollback()
            for problem in problems:
                flash(_("还不能上线：%(reason)s", reason=problem), "error")
        else:
            db.session.commit()
            flash(_("已上线，居民现在可以看到它。"), "success")
    return redirect(url_for("operator.tenant")), 303


@blueprint.route("/<slug:tenant_slug>/suspend", methods=["POST"])
@login_required
def suspend():
    require(Permission.manage_platform)
    tenant = current_tenant._get_current_object()
    form = SuspendForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0] if form.errors else _("请写明暂停原因。"), "error")
    elif tenant.status == TenantStatus.suspended:
        flash(_("已经暂停。"), "info")
    else:
        previous = tenant.status
        tenant.status = TenantStatus.suspended
        audit.record("tenant.suspended", target=tenant, previous=previous, reason=form.reason.data.strip())
        db.session.commit()
        flash(_("已暂停运营。"), "success")
    return redirect(url_for("operator.tenant")), 303


# -- views: operators -----------------------------------------------------------------------------------------------

def _operator_grants(tenant: Tenant) -> list[RoleGrant]:
    return list(db.session.scalars(
        select(RoleGrant).join(User).where(RoleGrant.role == Role.tenant_operator, RoleGrant.tenant_id == tenant.id)
        .order_by(User.email, User.mobile)
    ))


@blueprint.route("/<slug:tenant_slug>/operators", methods=["GET", "POST"])
@login_required
def operators():
    tenant = current_tenant._get_current_object()
    if request.method == "POST":
        require(Permission.manage_platform)
    else:
        require(Permission.operate_tenant, tenant)
    form = OperatorGrantForm()
    if form.validate_on_submit():
        try:
            user = accounts.find_user(form.identifier.data)
        except accounts.AccountError as error:
            add_form_error(form, str(error), "identifier")
        else:
            if user is None:
                add_form_error(form, _("没有这个账号：请对方先用这个邮箱或手机号注册。"), "identifier")
            elif any(g.user_id == user.id for g in _operator_grants(tenant)):
                add_form_error(form, _("%(name)s 已经是运营方。", name=user.login_name), "identifier")
            else:
                accounts.grant_role(user, Role.tenant_operator, tenant=tenant)
                audit.record("tenant.operator_granted", target=("user", user.id), user=user.login_name)
                db.session.commit()
                flash(_("已授予 %(name)s 运营方权限。", name=user.login_name), "success")
                return redirect(url_for(".operators")), 303
    status = 400 if form.errors else 200
    return render_template("console/tenants/operators.html", tenant=tenant, grants=_operator_grants(tenant),
                           form=form, may_manage=can(current_user, Permission.manage_platform)), status


@blueprint.route("/<slug:tenant_slug>/operators/<int:grant_id>/revoke", methods=["POST"])
@login_required
def revoke_operator(grant_id: int):
    require(Permission.manage_platform)
    tenant = current_tenant._get_current_object()
    grant = db.session.get(RoleGrant, grant_id)
    if grant is None or grant.tenant_id != tenant.id or grant.role != Role.tenant_operator:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    login = grant.user.login_name
    audit.record("tenant.operator_revoked", target=("user", grant.user_id), user=login)
    db.session.delete(grant)
    db.session.commit()
    flash(_("已撤销 %(name)s 的运营方权限。", name=login), "success")
    return redirect(url_for(".operators")), 303


# -- views: shop locations ------------------------------------------------------------------------------------------

@blueprint.route("/<slug:tenant_slug>/shops")
@login_required
def shops():
    require(Permission.operate_tenant, current_tenant)
    from marketplace.shops import services as shop_services

    return render_template("console/tenants/shops.html", tenant=current_tenant._get_current_object(),
                           shops=shop_services.shops_of_current_tenant(include_suspended=True, with_merchants=True))


def _floors(layout: dict) -> dict[str, dict[int, dict]]:
    """Building code → floor level → the floor's layout, from a market's ``[layout] buildings``."""
    found: dict[str, dict[int, dict]] = {}
    for building in layout.get("buildings") or []:
        if isinstance(building, dict) and building.get("code"):
            found[str(building["code"])] = {int(f["level"]): f for f in building.get("floors") or []
                                            if isinstance(f, dict) and isinstance(f.get("level"), int)}
    return found


def _metres(form_field, *, required: bool, high: float | None, positive: bool = False) -> float | None:
    text = (form_field.data or "").strip()
    if not text:
        if required:
            form_field.errors.append(_("请填写米数。"))
        return None
    try:
        value = float(text)
    except ValueError:
        form_field.errors.append(_("请填写数字（米），例如 12.5。"))
        return None
    limit = high if high is not None else MAX_STALL_M * 10
    if value != value or value < 0 or (positive and value == 0) or value > limit:  # NaN fails the first test
        form_field.errors.append(_("应在 0 到 %(high)s 米之间。", high=f"{limit:g}"))
        return None
    return round(value, 2)


def _street_location(form, tenant: Tenant, shop: Shop) -> dict[str, Any] | None:
    from marketplace.shops.maps import frontage, overlapping

    layout = tenant.layout or {}
    length = layout.get("length_m") if isinstance(layout.get("length_m"), int | float) else None
    number = (form.street_number.data or "").strip()
    if not number:
        form.street_number.errors.append(_("请填写门牌号。"))
    if form.street_side.data not in [choice.value for choice in form.street_side.choices]:
        form.street_side.errors.append(_("请选择街道的一侧。"))
    values = {"street_number": number, "street_side": form.street_side.data,
              "map_x": _metres(form.map_x, required=True, high=length),
              "map_width": _metres(form.map_width, required=False, high=MAX_STALL_M, positive=True)}
    if values["map_x"] is not None and not form.street_side.errors:
        # Two frontages cannot share a stretch of the same side: the map would draw one over the other.
        others = db.session.scalars(select(Shop).where(Shop.street_side == values["street_side"],
                                                       Shop.map_x.is_not(None), Shop.id != shop.id))
        for other in overlapping(others, values["street_side"], values["map_x"], values["map_width"]):
            start, end = frontage(other)
            form.map_x.errors.append(_("门面与%(name)s（%(number)s 号，%(start)s–%(end)s 米）重叠。",
                                       name=other.name(), number=other.street_number or "—",
                                       start=f"{start:g}", end=f"{end:g}"))
    return None if any(f.errors for f in form) else values


def _market_location(form, tenant: Tenant, shop: Shop) -> dict[str, Any] | None:
    floors = _floors(tenant.layout or {})
    building = form.building.data
    if building not in floors:
        form.building.errors.append(_("请选择本市场布局中的楼馆。"))
        return None
    floor_text = (form.floor.data or "").strip()
    level = int(floor_text) if re.fullmatch(r"-?\d{1,3}", floor_text) else None
    plan = floors[building].get(level) if level is not None else None
    if plan is None:
        form.floor.errors.append(_("%(building)s 馆没有这一层（有：%(levels)s）。", building=building,
                                   levels="、".join(str(lvl) for lvl in sorted(floors[building])) or "—"))
        return None
    zone = (form.zone.data or "").strip()
    zones = [str(z.get("code")) for z in plan.get("zones") or [] if isinstance(z, dict)]
    if zones and zone not in zones:
        form.zone.errors.append(_("这一层的区域有：%(zones)s。", zones="、".join(zones)))
    stall = (form.stall.data or "").strip()
    if not stall:
        form.stall.errors.append(_("请填写摊位号。"))
    elif db.session.scalar(select(Shop.id).where(Shop.building == building, Shop.floor == level, Shop.stall == stall,
                                                 Shop.id != shop.id).limit(1)) is not None:
        form.stall.errors.append(_("这个摊位已有其他店铺。"))
    width = plan.get("width_m") if isinstance(plan.get("width_m"), int | float) else None
    depth = plan.get("depth_m") if isinstance(plan.get("depth_m"), int | float) else None
    values = {"building": building, "floor": level, "zone": zone, "stall": stall,
              "map_x": _metres(form.map_x, required=True, high=width),
              "map_y": _metres(form.map_y, required=True, high=depth),
              "map_width": _metres(form.map_width, required=False, high=MAX_STALL_M, positive=True),
              "map_depth": _metres(form.map_depth, required=False, high=MAX_STALL_M, positive=True)}
    if any(f.errors for f in form):
        return None
    if values["map_x"] + (values["map_width"] or DEFAULT_STALL_M) > (width or float("inf")) or \
            values["map_y"] + (values["map_depth"] or DEFAULT_STALL_M) > (depth or float("inf")):
        form.map_x.errors.append(_("摊位超出了这一层的范围（%(width)s × %(depth)s 米）。", width=f"{width:g}",
                                   depth=f"{depth:g}"))
        return None
    overlapping = _overlapping_stalls(tenant, shop, values)
    if overlapping:
        form.map_x.errors.append(_("这个位置与摊位 %(stalls)s 重叠，请换一个位置或调整宽度、进深。",
                                   stalls="、".join(overlapping)))
        return None
    return values


def _overlapping_stalls(tenant: Tenant, shop: Shop, values: dict[str, Any]) -> list[str]:
    """Stall numbers on the same floor that the placement in ``values`` would overlap (declared slots included;
    a declared slot of the same number is where the shop goes, so it is drawn there instead)."""
    others = list(db.session.scalars(select(Shop).where(Shop.building == values["building"],
                                                         Shop.floor == values["floor"], Shop.id != shop.id)))
    placed = Shop(building=values["building"], floor=values["floor"], zone=values["zone"], stall=values["stall"],
                  map_x=values["map_x"], map_y=values["map_y"], map_width=values["map_width"],
                  map_depth=values["map_depth"])
    floors = floorplans.market_floors(tenant.layout, [*others, placed])
    floor = next(f for f in floors if f.building == values["building"] and f.level == values["floor"])
    return sorted({(b if a.shop is placed else a).number or "?" for a, b in floorplans.stall_overlaps(floor.stalls)
                   if placed in (a.shop, b.shop)}, key=floorplans.normalise_stall)


@blueprint.route("/<slug:tenant_slug>/shops/<int:shop_id>/location", methods=["GET", "POST"])
@login_required
def shop_location(shop_id: int):
    tenant = current_tenant._get_current_object()
    require(Permission.operate_tenant, tenant)
    shop = db.session.get(Shop, shop_id)  # the tenant guard keeps other tenants' shops out
    if shop is None or shop.tenant_id != tenant.id:
        abort(404)
    street = tenant.kind == TenantKind.street
    form = ShopLocationForm(obj=shop) if request.method == "GET" else ShopLocationForm()
    if request.method == "GET":
        for name in ("floor", "map_x", "map_y", "map_width", "map_depth"):
            value = getattr(shop, name)
            form[name].data = "" if value is None else f"{value:g}"
    plan = None if street else _placing_plan(tenant, shop, form)
    sides = (tenant.layout or {}).get("sides") or list(STREET_SIDES)
    form.street_side.choices = [SelectChoice(s, STREET_SIDES.get(s, s)) for s in sides if isinstance(s, str)]
    form.building.choices = [SelectChoice(code, code) for code in _floors(tenant.layout or {})]
    if request.method == "POST" and form.validate_on_submit():
        values = _street_location(form, tenant, shop) if street else _market_location(form, tenant, shop)
        if values is not None:
            before = {name: getattr(shop, name) for name in values}
            for name, value in values.items():
                setattr(shop, name, value)
            changed = {name: [before[name], value] for name, value in values.items() if before[name] != value}
            if changed:
                audit.record("shop.location_changed", target=shop, shop=shop.slug, changes=changed)
            db.session.commit()
            flash(_("店铺位置已保存。"), "success")
            return redirect(url_for(".shops")), 303
    status = 400 if request.method == "POST" else 200
    if street:
        from marketplace.shops.maps import street_map
        from marketplace.shops.services import shops_of_current_tenant

        drawn = street_map(tenant, shops_of_current_tenant(include_suspended=True), highlight=shop,
                           id_prefix="placing-map")
    else:
        drawn = None
    return render_template("console/tenants/location.html", tenant=tenant, shop=shop, form=form,
                           street=street, floors=_floors(tenant.layout or {}), plan=plan, street_drawn=drawn), status


@dataclass
class PlacingPlan:
    """One floor of the market drawn on the shop's location page: free stalls link back to the page with the
    slot filled in, so the operator places a shop by clicking a stall (no JavaScript needed)."""

    building: str
    level: int
    svg: Any
    choices: list[tuple[str, int, str, str]]  # building, level, label, URL: the other floors to show


def _placing_plan(tenant: Tenant, shop: Shop, form) -> PlacingPlan | None:
    """The floor to draw — ``?plan=A:1``, else the shop's floor, else the first one — and, when a free stall was
    clicked (``?stall=``), the form filled in with that slot (building, floor, zone, number, position, size)."""
    all_shops = list(db.session.scalars(select(Shop).where(Shop.floor.is_not(None))
                                        .options(selectinload(Shop.category))))  # each stall's title names it
    floors = [f for f in floorplans.market_floors(tenant.layout, all_shops) if f.drawable]
    if not floors:
        return None
    wanted = request.args.get("plan", "")
    chosen = next((f for f in floors if f"{f.building}:{f.level}" == wanted), None) or next(
        (f for f in floors if (f.building, f.level) == (shop.building, shop.floor)), floors[0])
    clicked = request.args.get("stall", "")
    if request.method == "GET" and clicked:
        slot = next((s for s in chosen.stalls if s.vacant and s.number == clicked and s.rect is not None), None)
        if slot is not None:
            form.building.data, form.floor.data = chosen.building, str(chosen.level)
            form.zone.data, form.stall.data = slot.zone, slot.number
            for name, value in (("map_x", slot.rect.x), ("map_y", slot.rect.y), ("map_width", slot.rect.w),
                                ("map_depth", slot.rect.d)):
                form[name].data = f"{value:g}"

    def here(floor, stall) -> str:
        return url_for(".shop_location", shop_id=shop.id, plan=f"{floor.building}:{floor.level}", stall=stall.number)

    shown = (form.building.data, (form.floor.data or "").strip()) == (chosen.building, str(chosen.level))
    svg = floorplans.draw_floor(chosen, highlight=form.stall.data if shown else None,
                                link=lambda other: url_for(".shop_location", shop_id=other.id),
                                vacant_link=here)
    choices = [(f.building, f.level, f"{f.building_name} · {f.name}",
                url_for(".shop_location", shop_id=shop.id, plan=f"{f.building}:{f.level}")) for f in floors]
    return PlacingPlan(chosen.building, chosen.level, svg, choices)


# -- views: audit log -----------------------------------------------------------------------------------------------

def _audit_page(tenant: Tenant | None):
    action = request.args.get("action", "")
    known = audit.actions_in_use(tenant)
    page = audit.entries(tenant=tenant, action=action if action in known else None, page=page_arg())
    html = render_template("console/tenants/audit.html", tenant=tenant, page=page, actions=known, action=action,
                           labels=audit.ACTION_LABELS)
    return (html, 404) if page.out_of_range else html


@blueprint.route("/audit")
@login_required
@permission_required(Permission.manage_platform)
def platform_audit():
    return _audit_page(None)


@blueprint.route("/<slug:tenant_slug>/audit")
@login_required
def tenant_audit():
    require(Permission.operate_tenant, current_tenant)
    return _audit_page(current_tenant._get_current_object())
