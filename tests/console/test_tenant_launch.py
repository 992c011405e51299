"""Platform admins launch a street or market from its template, take it live once it is ready, suspend it, and
choose its operators; operators place their shops on the street or in the halls. Every action is in the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role, RoleGrant
from marketplace.core.audit import AuditEntry
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.orders.services import order_settings
from marketplace.shops import floorplans
from marketplace.shops.models import Shop
from marketplace.shops.services import uscc_check_character
from marketplace.tenancy import agreements
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant, TenantDomain
from marketplace.tenancy.settings import module_settings

#: A made-up 统一社会信用代码 whose check character (GB 32100) is right.
OPERATOR_USCC = "91410104MA47F3K5Q" + uscc_check_character("91410104MA47F3K5Q")


def _launch(**changes) -> dict:
    """What an admin types into /operator/new for a new street (the template's module settings as shown)."""
    return {"kind": "street", "slug": "dongda-street", "name_zh": "东大街", "name_en": "Dongda Street",
            "district_zh": "管城区", "district_en": "Guancheng District", "address_zh": "郑州市管城区东大街",
            "address_en": "Dongda Street, Zhengzhou", "operator_name": "郑州东大街商业管理有限公司",
            "operator_uscc": OPERATOR_USCC.lower(), "domains": "", "theme": "street", "primary_color": "#9e2a2b",
            "accent_color": "", "commission_percent": "1.50", "street_length_m": "800",
            "provider_catalog": "general", "provider_search": "embedded", "provider_payment": "offline",
            "provider_delivery": "pickup",
            "m_payment__offline__methods": "pay_at_stall", "m_payment__offline__bank_account": "",
            "m_delivery__pickup__at_shop": "y", "m_delivery__pickup__at_counter": "y",
            "m_delivery__pickup__counter_hours": "", "m_delivery__pickup__prepare_minutes": "60",
            "m_delivery__pickup__remind_after_hours": "24", "m_delivery__pickup__hold_days": "3", **changes}


def _submit_launch(browser, **changes):
    return browser.submit("/operator/new", _launch(**changes))


def _tenant(slug: str) -> Tenant | None:
    db.session.expire_all()
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug))


def _entries(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _publish_documents(tenant: Tenant) -> None:
    with tenant_scope(tenant):
        for kind in agreements.DocumentKind:
            document = agreements.save_draft(tenant, kind.value, title="协议", actor_id=None,
                                             body="# 进入和退出平台\n# 商品质量\n# 消费者权益\n# 个人信息保护")
            now = utcnow()
            agreements.publish(document, effective_at=now, now=now, actor_id=None, urgent_reason="开业前首次公示")
        db.session.commit()


# -- /operator/new --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "status"), [("resident", 403), ("owner", 403), ("operator", 403), ("admin", 200)])
def test_only_platform_admins_open_the_launch_form(world, as_role, role, status):
    assert as_role(role).get("/operator/new").status_code == status


def test_the_form_shows_every_providers_settings_generated_from_its_schema(world, as_role):
    html = as_role("admin").get("/operator/new?kind=market").get_data(as_text=True)
    # Options of the providers' own schemas, each under its provider: pickup, the local courier, Stripe, Elasticsearch.
    for name in ("m_delivery__pickup__hold_days", "m_delivery__local_courier__zones", "m_payment__stripe__capture",
                 "m_search__elasticsearch__shards", "m_payment__offline__bank_account"):
        assert f'name="{name}"' in html
    assert '<option selected value="market">' in html or 'value="market" selected' in html


def test_admin_launches_a_street_in_draft_from_the_template(world, as_role):
    admin = as_role("admin")
    response = _submit_launch(admin, domains="dongda.example.cn", m_delivery__pickup__hold_days="5")
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    assert response.headers["Location"] == "/operator/dongda-street/"

    tenant = _tenant("dongda-street")
    assert (tenant.status, tenant.kind, tenant.theme, tenant.name_zh) == ("draft", "street", "street", "东大街")
    assert tenant.address_zh == "郑州市管城区东大街" and tenant.brand == {"primary_color": "#9e2a2b"}
    assert tenant.layout["length_m"] == 800 and tenant.layout["sides"] == ["west", "east"]
    assert [d.domain for d in tenant.domains] == ["dongda.example.cn"]
    assert module_settings["delivery"].all(tenant) == {"provider": "pickup", "options": {"pickup": {"hold_days": 5}}}
    assert module_settings["payment"].all(tenant) == {"provider": "offline", "options": {}}
    assert order_settings.get(tenant, "commission_bp") == 150
    assert (tenant.operator_name, tenant.operator_uscc) == ("郑州东大街商业管理有限公司", OPERATOR_USCC)

    [entry] = _entries("tenant.created")
    assert entry.tenant_id == tenant.id and entry.actor_name == "admin@example.com"
    assert entry.details["modules"]["delivery"] == {"provider": "pickup", "settings": {"pickup": {"hold_days": 5}}}

    # The draft is visible to admins and its operators only; the tenant page links the preview.
    page = admin.get("/operator/dongda-street/").get_data(as_text=True)
    assert "预览前台" in page and "上线前还需要" in page
    assert f"运营机构：郑州东大街商业管理有限公司 · 统一社会信用代码 {OPERATOR_USCC}" in page
    assert admin.get("/t/dongda-street/").status_code == 200
    assert as_role("anonymous").get("/t/dongda-street/").status_code == 404
    assert as_role("operator").get("/t/dongda-street/").status_code == 404


def test_a_market_starts_with_the_halls_skeleton(world, as_role):
    response = _submit_launch(as_role("admin"), kind="market", slug="new-market", theme="market")
    assert response.status_code == 303
    tenant = _tenant("new-market")
    assert tenant.kind == "market" and tenant.layout["buildings"][0]["code"] == "A"
    # Numbered stalls to fill from day one: two zones of twelve, drawn as vacant on the plan.
    assert floorplans.market_layout_problems(tenant.layout) == []
    [floor] = floorplans.market_floors(tenant.layout, [])
    assert [zone.code for zone in floor.zones] == ["A1", "A2"]
    assert len(floor.stalls) == 24 and all(stall.vacant for stall in floor.stalls)
    assert floorplans.stall_overlaps(floor.stalls) == []
    assert {stall.number for stall in floor.stalls} >= {"A1-001", "A1-012", "A2-001", "A2-012"}


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"slug": "Bad Slug"}, "slug", "网址名只能用小写字母"),
    ({"slug": "tenant-a"}, "slug", "已被使用"),
    ({"slug": "new"}, "slug", "后台保留"),
    ({"slug": "reports"}, "slug", "后台保留"),  # /operator/reports is the city's statistics
    ({"slug": "audit"}, "slug", "后台保留"),
    ({"name_zh": ""}, "name_zh", "请填写中文名称"),
    ({"operator_name": " "}, "operator_name", "请填写运营机构的名称"),
    ({"operator_uscc": ""}, "operator_uscc", "请填写运营机构的统一社会信用代码"),
    ({"operator_uscc": OPERATOR_USCC[:-1] + "0"}, "operator_uscc", "校验码"),
    ({"operator_uscc": "91410104IO47F3K5Q0"}, "operator_uscc", "18 位数字或大写字母"),
    ({"primary_color": "red"}, "primary_color", "颜色格式应为"),
    ({"commission_percent": "31"}, "commission_percent", "佣金比例应为"),
    ({"street_length_m": "0"}, "street_length_m", "街道长度应为"),
    ({"domains": "not a domain"}, "domains", "不是有效的域名"),
    ({"theme": "nope"}, "theme", "已安装的主题"),
    ({"provider_delivery": "teleport"}, "provider_delivery", "已安装的服务商"),
    # Types the form itself reads, from the schema.
    ({"m_delivery__pickup__hold_days": "three"}, "m_delivery__pickup__hold_days", "请填写整数"),
    ({"provider_delivery": "local_courier", "m_delivery__local_courier__zones": "[{"},
     "m_delivery__local_courier__zones", "有效的 JSON"),
    # What only the provider knows, in its own words next to the setting it names.
    ({"m_delivery__pickup__hold_days": "90"}, "m_delivery__pickup__hold_days", "服务商不接受这些设置"),
    ({"m_delivery__pickup__counter_hours": "late"}, "m_delivery__pickup__counter_hours", "counter_hours"),
    ({"m_payment__offline__methods": "bitcoin"}, "m_payment__offline__methods", "bitcoin"),
    ({"m_delivery__pickup__at_shop": "", "m_delivery__pickup__at_counter": ""}, "m_delivery__pickup__at_shop",
     "at_shop or at_counter"),
    ({"provider_search": "elasticsearch", "m_search__elasticsearch__shards": "-"}, "m_search__elasticsearch__shards",
     "请填写整数"),
])
def test_the_launch_form_refuses_bad_input_next_to_the_field(world, as_role, changes, field, message):
    response = _submit_launch(as_role("admin"), **changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    at = html.index(f'name="{field}"')
    block = html[html.rindex('<div class="field', 0, at):html.index("</div>", at)]
    assert message in block, block
    assert _tenant("dongda-street") is None and not _entries("tenant.created")


def test_every_console_page_directly_under_operator_is_a_reserved_slug(app):
    from marketplace.console.tenants import RESERVED_SLUGS

    # /operator/<word>… of a page rather than of a tenant: a tenant by that name could not reach its console.
    words = {rule.rule.split("/")[2] for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/operator/") and rule.rule.split("/")[2] and "<" not in rule.rule.split("/")[2]}
    assert words >= {"new", "audit", "reports"}
    assert words <= RESERVED_SLUGS


def test_every_module_is_checked_even_after_a_refused_one(world, as_role):
    response = _submit_launch(as_role("admin"), m_payment__offline__methods="bitcoin",
                              m_delivery__pickup__hold_days="90")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "bitcoin" in html and "hold_days or remind_after_hours" in html


def test_a_domain_of_another_tenant_is_refused(world, as_role):
    world.a.domains.append(TenantDomain(domain="taken.example.cn"))
    db.session.commit()
    response = _submit_launch(as_role("admin"), domains="taken.example.cn")
    assert response.status_code == 400 and "已属于其他商业街或市场" in response.get_data(as_text=True)


# -- going live and suspending ----------------------------------------------------------------------------------

def _go_live(browser, slug: str):
    return browser.submit(f"/operator/{slug}/go-live", {}, page_url=f"/operator/{slug}/")


def test_a_draft_goes_live_only_once_nothing_required_is_missing(world, as_role, make_shop, make_user):
    admin = as_role("admin")
    assert _submit_launch(admin).status_code == 303
    tenant = _tenant("dongda-street")

    response = _go_live(admin, "dongda-street")
    assert response.status_code == 303
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "还不能上线：还没有营业中的店铺" in page and "还不能上线：平台服务协议尚未发布" in page
    assert _tenant("dongda-street").status == "draft" and not _entries("tenant.launched")
    # The status form asks the same.
    admin.submit("/operator/dongda-street/status", {"status": "live"}, page_url="/operator/dongda-street/")
    assert _tenant("dongda-street").status == "draft"

    make_shop(tenant, slug="first-shop")
    _publish_documents(tenant)
    assert "必需的设置都已完成" in admin.get("/operator/dongda-street/").get_data(as_text=True)
    response = _go_live(admin, "dongda-street")
    assert "已上线" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert _tenant("dongda-street").status == "live"
    [entry] = _entries("tenant.launched")
    assert entry.details == {"previous": "draft"} and entry.target_kind == "tenant"
    assert as_role("anonymous").get("/t/dongda-street/").status_code == 200


def test_operators_take_their_own_tenant_live_but_not_another(world, as_role):
    _publish_documents(world.a)
    _publish_documents(world.b)
    for tenant in (world.a, world.b):
        tenant.status = "draft"
    db.session.commit()
    operator = as_role("operator")
    assert operator.submit(f"/operator/{world.b.slug}/go-live", {}, page_url=f"/operator/{world.a.slug}/") \
        .status_code == 404
    assert _go_live(operator, world.a.slug).status_code == 303
    db.session.expire_all()
    assert (world.a.status, world.b.status) == ("live", "draft")


def test_admin_suspends_a_tenant_with_a_reason(world, as_role):
    admin = as_role("admin")
    url, page = f"/operator/{world.a.slug}/suspend", f"/operator/{world.a.slug}/"
    response = admin.submit(url, {"reason": ""}, page_url=page)
    assert "请写明暂停原因" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert _tenant(world.a.slug).status == "live"

    assert as_role("operator").submit(url, {"reason": "运营方不能暂停"}, page_url=page).status_code == 403
    assert _tenant(world.a.slug).status == "live"

    assert admin.submit(url, {"reason": "消防整改"}, page_url=page).status_code == 303
    assert _tenant(world.a.slug).status == "suspended"
    [entry] = _entries("tenant.suspended")
    assert entry.details == {"previous": "live", "reason": "消防整改"}
    assert as_role("anonymous").get(f"/t/{world.a.slug}/").status_code == 503


# -- operators ------------------------------------------------------------------------------------------------------

def test_admin_grants_and_revokes_the_operator_role(world, as_role, make_user):
    make_user("new-operator@example.com")
    admin = as_role("admin")
    url = f"/operator/{world.b.slug}/operators"
    response = admin.submit(url, {"identifier": "new-operator@example.com"})
    assert response.status_code == 303
    newcomer = as_role("anonymous")
    newcomer.login("new-operator@example.com", "correct-horse-42")
    assert newcomer.get(f"/operator/{world.b.slug}/").status_code == 200
    assert newcomer.get(f"/operator/{world.a.slug}/").status_code == 404

    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.tenant_id == world.b.id,
                                                      RoleGrant.role == Role.tenant_operator))
    # A grant of tenant B cannot be revoked through tenant A's page.
    assert admin.submit(f"/operator/{world.a.slug}/operators/{grant.id}/revoke", {}, page_url=url).status_code == 404
    assert admin.submit(f"/operator/{world.b.slug}/operators/{grant.id}/revoke", {}, page_url=url).status_code == 303
    assert newcomer.get(f"/operator/{world.b.slug}/").status_code == 404
    assert [e.details["user"] for e in _entries("tenant.operator_granted")] == ["new-operator@example.com"]
    assert [e.tenant_id for e in _entries("tenant.operator_revoked")] == [world.b.id]


@pytest.mark.parametrize(("identifier", "message"), [
    ("nobody@example.com", "没有这个账号"),
    ("operator@example.com", "已经是运营方"),
    ("not an account", "请输入有效的邮箱地址或中国大陆手机号"),
    ("", "请填写邮箱或手机号"),
])
def test_granting_explains_what_is_wrong(world, as_role, identifier, message):
    response = as_role("admin").submit(f"/operator/{world.a.slug}/operators", {"identifier": identifier})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert not _entries("tenant.operator_granted")


def test_operators_see_their_colleagues_but_do_not_grant(world, as_role, make_user):
    make_user("someone@example.com")
    operator = as_role("operator")
    page = operator.get(f"/operator/{world.a.slug}/operators")
    assert page.status_code == 200 and "operator@example.com" in page.get_data(as_text=True)
    assert "授予运营方权限" not in page.get_data(as_text=True)
    assert operator.post(f"/operator/{world.a.slug}/operators", data={
        "csrf_token": operator.csrf_token(f"/operator/{world.a.slug}/"), "identifier": "someone@example.com"}
    ).status_code == 403
    assert operator.get(f"/operator/{world.b.slug}/operators").status_code == 404


# -- shop locations -------------------------------------------------------------------------------------------------

def _location(browser, tenant: Tenant, shop: Shop, **form):
    return browser.submit(f"/operator/{tenant.slug}/shops/{shop.id}/location", form)


def _shop(tenant: Tenant, shop_id: int) -> Shop:
    db.session.expire_all()
    with tenant_scope(tenant):
        return db.session.get(Shop, shop_id)


def test_operator_places_a_street_shop_within_the_street(world, as_role):
    world.a.layout = {"street": {"zh": "测试街"}, "length_m": 520, "sides": ["west", "east"]}
    db.session.commit()
    operator = as_role("operator")
    assert operator.get(f"/operator/{world.a.slug}/shops").status_code == 200
    response = _location(operator, world.a, world.x, street_number="88", street_side="east", map_x="600")
    assert response.status_code == 400 and "应在 0 到 520 米之间" in response.get_data(as_text=True)
    response = _location(operator, world.a, world.x, street_number="", street_side="north", map_x="12")
    assert response.status_code == 400 and "请填写门牌号" in response.get_data(as_text=True)
    assert "请选择街道的一侧" in response.get_data(as_text=True)

    response = _location(operator, world.a, world.x, street_number="88", street_side="east", map_x="120.5",
                         map_width="6")
    assert response.status_code == 303
    shop = _shop(world.a, world.x.id)
    assert (shop.street_number, shop.street_side, shop.map_x, shop.map_width) == ("88", "east", 120.5, 6.0)
    [entry] = _entries("shop.location_changed")
    assert entry.tenant_id == world.a.id and entry.details["changes"]["map_x"] == [None, 120.5]
    # The location page draws the street with this shop's frontage marked, where the form put it.
    page = operator.get(f"/operator/{world.a.slug}/shops/{world.x.id}/location").get_data(as_text=True)
    assert 'class="street-map' in page and page.count('highlight') >= 1 and ">88<" in page


def test_a_market_stall_follows_the_halls_layout(world, as_role, make_shop, make_user):
    world.b.layout = {"buildings": [{"code": "A", "floors": [
        {"level": 1, "width_m": 60, "depth_m": 40, "zones": [{"code": "A1"}, {"code": "A2"}]}]}]}
    other = make_shop(world.b, slug="neighbour", building="A", floor=1, zone="A1", stall="101")
    make_user("market-operator@example.com", role=Role.tenant_operator, tenant=world.b)
    browser = as_role("anonymous")
    browser.login("market-operator@example.com", "correct-horse-42")
    good = {"building": "A", "floor": "1", "zone": "A2", "stall": "102", "map_x": "10", "map_y": "5"}
    for changes, message in [({"floor": "3"}, "A 馆没有这一层"), ({"zone": "B9"}, "这一层的区域有：A1、A2"),
                             ({"stall": "101"}, "这个摊位已有其他店铺"), ({"map_y": "41"}, "应在 0 到 40 米之间"),
                             ({"map_x": "abc"}, "请填写数字"), ({"building": "Z"}, "请选择本市场布局中的楼馆")]:
        response = _location(browser, world.b, world.z, **{**good, **changes})
        assert response.status_code == 400 and message in response.get_data(as_text=True), changes
    assert _location(browser, world.b, world.z, **good).status_code == 303
    shop = _shop(world.b, world.z.id)
    assert (shop.building, shop.floor, shop.zone, shop.stall, shop.map_x, shop.map_y) == ("A", 1, "A2", "102", 10, 5)
    assert _shop(world.b, other.id).stall == "101"


def test_a_shop_of_another_tenant_is_not_found(world, as_role):
    admin = as_role("admin")
    assert admin.get(f"/operator/{world.a.slug}/shops/{world.z.id}/location").status_code == 404
    assert admin.get(f"/operator/{world.b.slug}/shops/{world.z.id}/location").status_code == 200
    operator = as_role("operator")
    assert operator.get(f"/operator/{world.b.slug}/shops/{world.z.id}/location").status_code == 404
    assert operator.get(f"/operator/{world.b.slug}/shops").status_code == 404


def test_the_tenant_page_links_every_operator_page(world, as_role):
    html = as_role("operator").get(f"/operator/{world.a.slug}/").get_data(as_text=True)
    for path in ("merchants", "complaints", "orders", "payments", "pickup", "search", "placements", "shops",
                 "operators", "audit", "statements", "categories"):
        assert f'href="/operator/{world.a.slug}/{path}"' in html, path
    assert "暂停运营" not in html  # admins only


def test_documents_still_in_force_later_count_as_published(world, as_role):
    """A first agreement published with the usual notice (in force in 7 days) already lets the tenant launch."""
    with tenant_scope(world.a):
        for kind in agreements.DocumentKind:
            document = agreements.save_draft(world.a, kind.value, title="协议", body="正文", actor_id=None)
            agreements.publish(document, effective_at=utcnow() + timedelta(days=8), actor_id=None,
                               urgent_reason="首次公示")
        db.session.commit()
    from marketplace.console.tenants import launch_problems

    assert launch_problems(world.a) == []
