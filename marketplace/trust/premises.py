"""The network business premises certificate (网络经营场所证明, 网络交易监督管理办法 Arts. 9–10): a merchant who trades
only online and registers as an individual business needs the platform to state where that online place is.

The approved merchant's owner prints it from the console (``/merchant/<tenant>/<shop>/premises``): who trades, the
shop's address on the platform, the platform and market that host it, the date; signed with the platform's badge
key like a badge, so the registration office can check it against ``/verify/keys``.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_login import login_required

from marketplace.accounts.authz import Permission, require
from marketplace.core.db import utcnow
from marketplace.reports.identity import shop_url
from marketplace.shops import services as shops
from marketplace.shops.models import ShopStatus
from marketplace.tenancy.context import current_tenant
from marketplace.trust import badges, verification
from marketplace.trust.publishing import approved_business_address

blueprint = Blueprint("merchant_premises", __name__, url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>")

#: 2: the issuer (the organisation operating the tenant) is named and signed too.
PAYLOAD_VERSION = 2


def issuer_problem(tenant) -> str | None:
    """Why the tenant cannot issue the certificate: it must name the organisation that vouches for the address."""
    from marketplace.shops.services import uscc_problem

    if not (tenant.operator_name or "").strip() or not tenant.operator_uscc:
        return _("本市场尚未登记运营机构的名称和统一社会信用代码，暂不能出具证明，请联系市场运营方。")
    if uscc_problem(tenant.operator_uscc):
        return _("本市场登记的运营机构统一社会信用代码有误，暂不能出具证明，请联系市场运营方。")
    return None


def premises_payload(shop, shop_url: str, issued) -> dict:
    merchant, tenant = shop.merchant, shop.tenant
    return {"v": PAYLOAD_VERSION, "kind": "network-premises", "tenant": tenant.slug, "shop": shop.name_zh,
            "url": shop_url, "legal_name": merchant.legal_name,
            "registration_number": merchant.registration_number or "", "issuer": tenant.operator_name.strip(),
            "issuer_uscc": tenant.operator_uscc, "issued": badges.timestamp(issued)}


@blueprint.route("/premises")
@login_required
def premises(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(Permission.edit_shop, shop)
    if shop.status != ShopStatus.active:
        # A suspended shop is no place of business the platform can vouch for.
        return render_template("console/trust/premises.html", shop=shop, approved=False,
                               refusal=_("网店已暂停营业，恢复营业后才能出具网络经营场所证明。")), 409
    if not verification.is_approved(shop.merchant):
        return render_template("console/trust/premises.html", shop=shop, approved=False), 409
    refusal = issuer_problem(current_tenant)
    if refusal:
        return render_template("console/trust/premises.html", shop=shop, approved=False, refusal=refusal), 409
    issued = utcnow().replace(microsecond=0)
    # The signed address is the platform's, from configuration: a request's Host header is the caller's to choose.
    facts = premises_payload(shop, shop_url(current_tenant.slug, shop.slug), issued)
    payload = badges.canonical_payload(facts)
    return render_template("console/trust/premises.html", shop=shop, approved=True, facts=facts,
                           payload=payload.decode(), signature=badges.sign(payload), issued=issued,
                           address=approved_business_address(shop.merchant), tenant=current_tenant)


def register(app) -> None:
    app.register_blueprint(blueprint)
