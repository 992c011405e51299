"""数字证书 — Digital certificates and signatures: the platform's own signed records verify and are kept, and users
can act at once when a password or a badge may be compromised."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from marketplace.accounts.models import Role, RoleGrant, User
from marketplace.accounts.services import MERCHANT_ROLES
from marketplace.core.config import ConfigError
from marketplace.core.text import masked_contact
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.spec.model import EVIDENCE, CheckContext, Finding, check, failed, passed
from marketplace.spec.reports import ConformanceRun
from marketplace.trust import badges
from marketplace.trust.badges import Badge

#: Signatures verified per kind of record: the newest ones (verifying is a public-key operation per row).
SAMPLE = 200


@check("DC-1")
def signatures_verify(ctx: CheckContext) -> Finding:
    try:
        key = badges.public_key()
    except ConfigError as error:
        return failed(_("没有平台签名密钥，无法验证签名：%(why)s", why=str(error)))
    broken = [f"badge {serial}" for serial, payload, signature in db.session.execute(
        select(Badge.serial, Badge.payload, Badge.signature).order_by(Badge.id.desc()).limit(SAMPLE))
        if not badges.signature_valid(payload.encode("utf-8"), signature, key)]
    broken += [f"conformance run {run_id}" for run_id, payload, signature in db.session.execute(
        select(ConformanceRun.id, ConformanceRun.statement_payload, ConformanceRun.statement_signature).where(
            ConformanceRun.statement_signature != "").order_by(ConformanceRun.id.desc()).limit(SAMPLE))
        if not badges.signature_valid(payload.encode("utf-8"), signature, key)]
    if broken:
        return failed(_("%(n)d 个已签名记录与其签名不符：签署后被改动过。", n=len(broken)), evidence=broken)
    return passed(_("最近的电子标识和符合性声明的签名均与所签内容一致（Ed25519，私钥只由平台持有）。"))


@check("DC-4")
def signed_bytes_kept(ctx: CheckContext) -> Finding:
    try:
        badges.public_key()
    except ConfigError as error:
        return failed(_("平台公钥未公布：%(why)s", why=str(error)))
    emptied = list(db.session.scalars(select(Badge.serial).where(
        or_(func.length(Badge.payload) == 0, func.length(Badge.signature) == 0)).limit(10)))
    emptied += [f"conformance run {run_id}" for run_id in db.session.scalars(select(ConformanceRun.id).where(
        ConformanceRun.statement_signature != "", func.length(ConformanceRun.statement_payload) == 0).limit(10))]
    if emptied:
        return failed(_("这些已签名记录没有保存所签内容或签名，无法再验证。"), evidence=emptied)
    return passed(_("公钥在 /verify/keys 公布；每个电子标识和符合性声明都保存所签内容和签名，且不会被删除。"))


#: What a user who fears their password is known needs: change it signed in, reset it by mail, or — without an email —
#: get a reset link from the market's operator; and the operator's way to suspend a badge at once.
DC6_ENDPOINTS = ("accounts.change_password", "accounts.reset_request", "accounts.reset_password",
                 "operator_accounts.assisted_reset", "operator_badges.change_status")


@check("DC-6")
def compromise_can_be_handled(ctx: CheckContext) -> Finding:
    endpoints = {rule.endpoint for rule in current_app.url_map.iter_rules()}
    missing = [name for name in DC6_ENDPOINTS if name not in endpoints]
    if missing:
        return failed(_("用户或运营方无法在密码或标识失密时及时处置。"), evidence=missing)
    stranded = _merchants_without_help(ctx.tenant)
    if stranded:
        return failed(_("这些商户账号没有邮箱，无法通过邮件重设密码，而本商业街/市场没有可以协助重设的运营方。"),
                      evidence=stranded)
    return passed(_("用户可以修改密码、通过邮件重设密码，只绑定手机号的商户可由运营方当面核验后协助重设；"
                    "运营方可立即暂停或撤销电子标识。"))


def _merchants_without_help(tenant) -> list[str]:
    """"shop-slug:139****0111" for each active merchant account of the tenant that has no email (so no reset
    mail), when the tenant has no active operator to make them a link; empty when someone can help."""
    has_operator = db.session.scalar(select(RoleGrant.id).join(User, RoleGrant.user_id == User.id).where(
        RoleGrant.tenant_id == tenant.id, RoleGrant.role == Role.tenant_operator, User.active.is_(True)).limit(1))
    if has_operator is not None:
        return []
    rows = db.session.execute(
        select(Shop.slug, User.mobile).join(RoleGrant, RoleGrant.shop_id == Shop.id)
        .join(User, RoleGrant.user_id == User.id)
        .where(RoleGrant.tenant_id == tenant.id, RoleGrant.role.in_(MERCHANT_ROLES),
               User.active.is_(True), User.email.is_(None))
        .order_by(Shop.slug, User.mobile).limit(EVIDENCE))
    return [f"{slug}:{masked_contact(mobile)}" for slug, mobile in rows]
