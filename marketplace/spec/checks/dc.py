"""数字证书 — Digital certificates and signatures: the platform's own signed records verify and are kept."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from marketplace.core.config import ConfigError
from marketplace.extensions import db
from marketplace.spec.model import CheckContext, Finding, check, failed, passed
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


@check("DC-6")
def compromise_can_be_handled(ctx: CheckContext) -> Finding:
    endpoints = {rule.endpoint for rule in current_app.url_map.iter_rules()}
    missing = [name for name in ("accounts.reset_request", "accounts.reset_password", "operator_badges.change_status")
               if name not in endpoints]
    if missing:
        return failed(_("用户或运营方无法在密码或标识失密时及时处置。"), evidence=missing)
    return passed(_("用户可以重设密码；运营方可立即暂停或撤销电子标识。"))
