"""The network business premises certificate: an approved merchant's owner prints where the shop trades online,
signed by the platform; nobody else gets it, and an unapproved merchant is told to apply first."""

from __future__ import annotations

import base64
import html
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from marketplace.accounts.models import Role
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from marketplace.trust import badges
from tests.fixtures.factories import PASSWORD

PAGE = "/merchant/review-street/fruit/premises"
OPERATOR, OPERATOR_USCC = "郑州德化街商业管理有限公司", "91410103MA46E5P2WA"


@pytest.fixture
def market(market):
    """The shared street, run by a recorded organisation: the certificate's issuer."""
    tenant = market[0]
    with tenant_scope(tenant):
        tenant.operator_name, tenant.operator_uscc = OPERATOR, OPERATOR_USCC
        db.session.commit()
    return market


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_owner_prints_a_signed_certificate_naming_the_shops_address(market, client, make_user):
    _tenant, shop, *_ = market
    make_user("owner@shangdu.example", role=Role.merchant_owner, shop=shop)
    client.login("owner@shangdu.example", PASSWORD)
    page = _page(client.get(PAGE))
    assert "网络经营场所证明" in page and "鲜果坊" in page and shop.merchant.legal_name in page
    assert '<code class="premises-url">https://review-street.shangdu.test/s/fruit/</code>' in page
    payload = re.search(r'<pre class="payload">(.*?)</pre>', page, re.S).group(1)
    signature = re.search(r'<pre class="signature">(.*?)</pre>', page, re.S).group(1)
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(badges.public_key_raw_b64()))
    key.verify(base64.b64decode(signature), payload.encode())
    facts = json.loads(payload)
    assert facts["kind"] == "network-premises" and facts["url"] == "https://review-street.shangdu.test/s/fruit/"
    assert (facts["issuer"], facts["issuer_uscc"]) == (OPERATOR, OPERATOR_USCC) and OPERATOR in page


def test_a_market_without_a_recorded_operator_issues_no_certificate(market, client, make_user):
    tenant, shop, *_ = market
    make_user("owner@shangdu.example", role=Role.merchant_owner, shop=shop)
    with tenant_scope(tenant):
        tenant.operator_uscc = ""
        db.session.commit()
    client.login("owner@shangdu.example", PASSWORD)
    response = client.get(PAGE)
    assert response.status_code == 409 and "尚未登记运营机构" in _page(response)
    assert 'class="signature"' not in _page(response)


def test_a_forged_host_header_does_not_change_the_signed_address(market, make_client, make_user):
    _tenant, shop, *_ = market
    make_user("owner@shangdu.example", role=Role.merchant_owner, shop=shop)
    for host in ("evil.example", "review-street.evil.example"):
        browser = make_client()  # signed in on the forged host, so its cookie goes with the request there
        login = f"http://{host}/account/login"
        browser.post(login, data={"csrf_token": browser.csrf_token(login), "identifier": "owner@shangdu.example",
                                  "password": PASSWORD})
        response = browser.get(f"http://{host}{PAGE}")
        assert response.status_code == 200, response.status_code
        page = _page(response)
        facts = json.loads(re.search(r'<pre class="payload">(.*?)</pre>', page, re.S).group(1))
        assert facts["url"] == "https://review-street.shangdu.test/s/fruit/" and "evil" not in page


def test_a_suspended_shop_gets_no_certificate(market, client, make_user):
    _tenant, shop, *_ = market
    make_user("owner@shangdu.example", role=Role.merchant_owner, shop=shop)
    with tenant_scope(shop.tenant):
        shop.status = "suspended"
        db.session.commit()
    client.login("owner@shangdu.example", PASSWORD)
    response = client.get(PAGE)
    assert response.status_code == 409 and "网店已暂停营业" in _page(response)
    assert "premises-url" not in _page(response) and 'class="signature"' not in _page(response)


def test_an_unapproved_merchant_is_told_to_apply_and_strangers_are_refused(app_ctx, client, make_client, make_tenant,
                                                                            make_shop, make_user):
    tenant = make_tenant(slug="review-street")
    shop = make_shop(tenant, slug="fruit", name_zh="鲜果坊", approved=False)
    other = make_shop(tenant, slug="tea", name_zh="茶庄")
    make_user("owner@shangdu.example", role=Role.merchant_owner, shop=shop)
    make_user("tea@shangdu.example", role=Role.merchant_owner, shop=other)
    client.login("owner@shangdu.example", PASSWORD)
    response = client.get(PAGE)
    assert response.status_code == 409 and "通过平台认证后才能出具" in _page(response)
    assert "premises-url" not in _page(response)
    neighbour = make_client()
    neighbour.login("tea@shangdu.example", PASSWORD)
    assert neighbour.get(PAGE).status_code == 403
