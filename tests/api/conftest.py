"""A merchant with an API token, and helpers for reading problem JSON."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from marketplace.accounts.models import Role, User
from marketplace.api.auth import issue_operator_token, issue_token
from marketplace.api.scopes import ALL_OPERATOR_SCOPES, ALL_SCOPES
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant


@dataclass
class Merchant:
    tenant: Tenant
    shop: Shop
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The token, and a fresh Idempotency-Key each time (as a client sends with each new write; reads ignore
        it): a test that retries reuses the dict it got."""
        return {"Authorization": f"Bearer {self.token}", "Idempotency-Key": str(uuid.uuid4())}

    @property
    def base(self) -> str:
        return f"/api/v1/tenants/{self.tenant.slug}/shops/{self.shop.slug}"


def token_for(user, shop, name: str = "ERP 库存同步", scopes=ALL_SCOPES) -> str:
    """A token of ``user`` on ``shop`` (with every scope unless told), committed."""
    with tenant_scope(db.session.get(Tenant, shop.tenant_id)):
        token = issue_token(user, shop, name, scopes)
        db.session.commit()
    return token


@pytest.fixture
def merchant(make_tenant, make_shop, make_user) -> Merchant:
    tenant = make_tenant(kind="market", theme="market")
    shop = make_shop(tenant, slug="suifeng", name_zh="穗丰农资")
    user = make_user(role=Role.merchant_owner, tenant=tenant, shop=shop)
    return Merchant(tenant, shop, user, token_for(user, shop))


def assert_problem(response, status: int, code: str) -> dict:
    """The response is problem JSON with this status and code; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/problem+json", response.mimetype
    body = response.get_json()
    assert body["status"] == status and body["code"] == code, body
    assert body["type"] and body["title"]
    return body


def operator_token_for(user, tenant, name: str = "招商系统", scopes=None) -> str:
    """An operator token of ``user`` on ``tenant`` (with every operator scope unless told), committed."""
    token = issue_operator_token(user, tenant, name, ALL_OPERATOR_SCOPES if scopes is None else scopes)
    db.session.commit()
    return token
