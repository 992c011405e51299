"""The operator makes a one-time reset link for a merchant who signs in with a mobile only and cannot get the mail."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.core.audit import AuditEntry
from marketplace.extensions import db
from tests.fixtures.factories import PASSWORD

PAGE = "/operator/tenant-a/accounts/reset"
NEW_PASSWORD = "new-battery-staple-7"
NOT_HERE = "本市场的商户中没有使用这个手机号的账号。"
_LINK = re.compile(r'value="https?://[^/"]+(/account/reset/[^"]+)"')


@pytest.fixture
def desk(world, make_user):
    """Phone-only accounts: the owner of shop X (tenant A), the owner of shop Z (tenant B), a resident."""
    return {
        "owner": make_user("13903710001", role=Role.merchant_owner, shop=world.x, name="张店主"),
        "owner_z": make_user("13903710002", role=Role.merchant_owner, shop=world.z),
        "resident": make_user("13903710003"),
    }


def ask(browser, mobile: str, *, checked: bool = True, note: str = "居民身份证", page_url: str = PAGE):
    return browser.submit(PAGE, {"mobile": mobile, "note": note, **({"identity_checked": "y"} if checked else {})},
                          page_url=page_url)


def link_in(response) -> str | None:
    match = _LINK.search(response.get_data(as_text=True))
    return match.group(1) if match else None


def reset_links_audited() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "account.reset_link")))


def test_the_operator_helps_a_phone_only_owner_back_in(world, desk, as_role, make_client):
    operator = as_role("operator")
    form = operator.get(PAGE)
    assert form.status_code == 200
    box = re.search(r'<input[^>]*name="identity_checked"[^>]*>', form.get_data(as_text=True)).group(0)
    assert 'type="checkbox"' in box and not re.search(r"\schecked[\s>=]", box)  # unticked until the operator ticks it

    response = ask(operator, "139 0371 0001")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    html = response.get_data(as_text=True)
    assert "张店主" in html and "139****0001" in html and "鲜果坊" in html and "60 分钟内有效" in html
    path = link_in(response)
    assert path is not None
    assert link_in(operator.get(PAGE)) is None  # shown once: the page does not show it again

    owner = make_client()
    assert owner.get(path).status_code == 200
    done = owner.submit(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/account/login"
    db.session.expire_all()
    owner.login("13903710001", NEW_PASSWORD)
    assert owner.get("/merchant/tenant-a/same-slug/").status_code == 200

    again = make_client().get(path)  # the link is spent
    assert again.status_code == 302 and again.headers["Location"] == "/account/reset"


def test_the_link_is_recorded_in_the_audit_log_without_the_token(world, desk, as_role):
    operator = as_role("operator")
    path = link_in(ask(operator, "13903710001", note="居民身份证，本人到场"))
    token = path.rsplit("/", 1)[1]
    [entry] = reset_links_audited()
    assert entry.actor_id == world.users["operator"].id and entry.tenant_id == world.a.id
    assert (entry.target_kind, entry.target_id) == ("user", str(desk["owner"].id))
    assert entry.details == {"account": "139****0001", "shops": ["same-slug"], "identity_checked": True,
                             "note": "居民身份证，本人到场", "valid_minutes": 60}
    assert token not in json.dumps(entry.details, ensure_ascii=False)
    audit_page = operator.get("/operator/tenant-a/audit").get_data(as_text=True)
    assert "协助重设密码" in audit_page and token not in audit_page


def test_the_identity_box_must_be_ticked(world, desk, as_role):
    response = ask(as_role("operator"), "13903710001", checked=False)
    assert response.status_code == 400
    assert "请先当面核验本人有效身份证件，并勾选确认。" in response.get_data(as_text=True)
    assert link_in(response) is None
    assert reset_links_audited() == []


@pytest.mark.parametrize("who", ["resident", "owner_z", "unknown"])
def test_only_this_markets_merchants_can_be_helped_and_all_others_read_the_same(world, desk, as_role, who):
    mobile = {"resident": "13903710003", "owner_z": "13903710002", "unknown": "13903710099"}[who]
    response = ask(as_role("operator"), mobile)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert NOT_HERE in html and link_in(response) is None
    assert reset_links_audited() == []


def test_an_account_with_roles_beyond_this_market_needs_a_platform_admin(world, desk, as_role, make_user):
    from marketplace.accounts import services as accounts

    accounts.grant_role(desk["owner"], Role.merchant_owner, shop=world.z)  # also runs a shop in tenant B
    db.session.commit()
    refused = ask(as_role("operator"), "13903710001")
    assert refused.status_code == 400
    assert "这个账号还有本市场商户以外的权限，请联系平台管理员协助重设。" in refused.get_data(as_text=True)
    assert link_in(refused) is None

    assert link_in(ask(as_role("admin"), "13903710001")) is not None


def test_a_platform_admin_may_help_any_account_on_the_same_page(world, desk, as_role):
    admin = as_role("admin")
    assert "可以为任何有效账号生成链接" in admin.get(PAGE).get_data(as_text=True)
    assert link_in(ask(admin, "13903710003")) is not None
    unknown = ask(admin, "13903710099")
    assert unknown.status_code == 400 and "没有使用这个手机号的有效账号。" in unknown.get_data(as_text=True)
    assert len(reset_links_audited()) == 1


def test_a_bad_number_is_a_field_error(world, desk, as_role):
    response = ask(as_role("operator"), "12345")
    assert response.status_code == 400
    assert "请输入有效的中国大陆手机号" in response.get_data(as_text=True)


def test_another_tenants_operator_gets_404(world, desk, as_role, make_user):
    make_user("operator-b@example.com", role=Role.tenant_operator, tenant=world.b)
    browser = as_role("anonymous")
    browser.login("operator-b@example.com", PASSWORD)
    assert browser.get(PAGE).status_code == 404
    crossed = ask(browser, "13903710001", page_url="/operator/tenant-b/accounts/reset")
    assert crossed.status_code == 404 and link_in(crossed) is None
    assert browser.get("/operator/tenant-b/accounts/reset").status_code == 200
    assert reset_links_audited() == []


@pytest.mark.parametrize("role", ["owner", "resident"])
def test_merchants_and_residents_cannot_open_it(world, desk, as_role, role):
    assert as_role(role).get(PAGE).status_code == 404


def test_the_tenant_page_links_it(world, as_role):
    assert f'href="{PAGE}"' in as_role("operator").get("/operator/tenant-a/").get_data(as_text=True)
