"""Who may use each endpoint, proved on the running platform: every (endpoint, method) of the URL map — so a new
route is in the matrix without anyone listing it — asked by every kind of caller, each answer classified as allowed
or refused and compared with the declared policy (``marketplace/accounts/policy.py``). An endpoint the policy does
not cover fails the first test, by name.

The callers are eight browsers (anonymous, and seven signed-in accounts from a resident to a platform admin) and, on
the API, five bearer tokens. A request is refused when it is sent to the login page or answered 401, 403 or 404;
anything else is allowed: the page, a form's 400, a state's 409, a schema's 422. The URLs name real things of the
street (the shop is shop-0, every resident's thing is the matrix's resident's), so an admitted caller never meets a
404. Unsafe requests carry a valid CSRF token but a body, or name an object in a state, that the view refuses after
its checks, so nothing changes; they carry no Idempotency-Key, as the API keeps every keyed answer (a row) and
refuses a write without a key only after its checks. Five buttons have nothing to refuse (delete a picture or an
address, revoke an operator, run the conformance checks, unpublish a draft): each admitted caller spends a decoy of
its own there, and no other row may change.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import select

from marketplace.accounts import services as accounts
from marketplace.accounts.addresses import AddressInput, add_address, address_of
from marketplace.accounts.models import Role, User
from marketplace.accounts.policy import Audience, policy_of, undeclared
from marketplace.api.auth import (
    hash_token,
    issue_operator_token,
    issue_personal_token,
    issue_statistics_token,
    issue_token,
    revoke_operator_token,
    revoke_personal_token,
    revoke_token,
)
from marketplace.api.models import ApiToken, OperatorToken, PersonalToken
from marketplace.api.scopes import ALL_OPERATOR_SCOPES, ALL_RESIDENT_SCOPES, ALL_SCOPES
from marketplace.catalog import services as catalog
from marketplace.catalog.admin import tenant_today
from marketplace.catalog.models import Category, Variant
from marketplace.core.db import utcnow
from marketplace.delivery import freight
from marketplace.delivery import services as delivery
from marketplace.delivery.models import Shipment
from marketplace.extensions import db
from marketplace.media.images import original_key
from marketplace.orders import returns
from marketplace.orders.models import Order
from marketplace.payments import settlement
from marketplace.payments.models import Payment
from marketplace.search import placements
from marketplace.shops import applications as shop_applications
from marketplace.shops.models import Shop
from marketplace.spec import reports, statement
from marketplace.spec.runner import run as run_conformance
from marketplace.tenancy import agreements
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.tenancy.settings import module_settings
from marketplace.trust import badges, complaints, ip_notices, onboarding, public_records, reviews
from marketplace.webhooks import services as webhooks
from tests.fixtures.factories import create_merchant, create_shop
from tests.media.samples import encode, picture
from tests.orders.live_server import Browser
from tests.reliability.conftest import SLUG

pytestmark = pytest.mark.no_transaction  # the server commits: each case's rows must be there for it

A = Audience
PASSWORD = "correct-horse-42"
#: A second live tenant, run by ``other_operator``; its folder in tenants/ has the logo tenant.brand_file serves.
OTHER_SLUG = "dehua-street"
SESSIONS = ("resident", "merchant_staff", "merchant_owner", "other_owner", "tenant_operator", "other_operator",
            "platform_admin")
TOKENS = ("personal_token", "shop_key", "other_shop_key", "operator_token", "statistics_token")
BROWSERS = ("anonymous", *SESSIONS)
CALLERS = (*BROWSERS, *TOKENS)  # the tokens are sent to the API only
#: The audiences each caller belongs to on the matrix's URLs, which name shop-0 of reliable-street and the
#: resident's own things: other_owner keeps shop-1, other_operator runs dehua-street, other_shop_key is shop-1's.
MEMBERSHIP: dict[str, set[Audience]] = {
    "anonymous": set(),
    "resident": {A.signed_in, A.own},
    "merchant_staff": {A.signed_in, A.merchant},
    "merchant_owner": {A.signed_in, A.merchant, A.merchant_owner},
    "other_owner": {A.signed_in},
    "tenant_operator": {A.signed_in, A.operator},
    "other_operator": {A.signed_in},
    "platform_admin": {A.signed_in, A.merchant, A.merchant_owner, A.operator, A.platform_admin},
    "personal_token": {A.personal_token},
    "shop_key": {A.shop_key},
    "other_shop_key": set(),
    "operator_token": {A.operator_token},
    "statistics_token": {A.statistics_token},
}
#: On a URL naming no shop (no tenant) any shop's people (any tenant's operators) belong to the audience.
ANY_SHOP = {"other_owner": {A.merchant, A.merchant_owner}}
ANY_TENANT = {"other_operator": {A.operator}}

#: URL values that depend on the endpoint: its blueprint's or its own, over the world's (by argument name).
URL_VALUES: dict[str, dict[str, object]] = {
    # a shop's console and API name its orders by order number; the buyer's pages by the checkout's number
    "merchant_orders": {"number": "order_number", "action": "=confirm_payment"},  # the order is completed
    "merchant_delivery": {"number": "order_number"}, "api_shop_orders": {"number": "order_number"},
    "api_shop_delivery": {"number": "order_number"},
    "freight_quotes": {"quote_id": "freight_quote_id"}, "merchant_freight_quotes": {"quote_id": "freight_quote_id"},
    "operator_onboarding": {"application_id": "verification_id", "decision": "=more"},
    "operator_api_keys": {"key_id": "operator_key_id"},
    "operator_webhooks": {"endpoint_id": "tenant_hook_id", "delivery_id": "tenant_delivery_id"},
    "tracking": {"token": "tracking_token"}, "api_tracking": {"token": "tracking_token"},
    "agreements": {"kind": "=rules", "extension": "=txt"},
    "merchant_returns": {"action": "=approve"},  # the return was rejected
    "complaints": {"action": "=accept"},  # the complaint is closed
    "operator_badges": {"action": "=suspend"},  # with a reason too long for the form
    "operator_statements": {"fmt": "=csv"}, "merchant_statements": {"fmt": "=csv"},
    "operator_complaints": {"fmt": "=csv"},
    "accounts.reset_password": {"token": "=not-a-reset-token"},
    "static": {"filename": "=console.css"}, "themes.static": {"theme": "=base", "filename": "=site.css"},
    "tenant.brand_file": {"tenant_slug": f"={OTHER_SLUG}", "filename": "=logo.svg"},
    "payment_notifications.notification": {"provider": "=stripe"},
    # a draft without variants: publishing it is refused
    "merchant_products.publish": {"product_id": "draft_id"}, "api_merchant.publish_product": {"product_id": "draft_id"},
    "api_merchant.unpublish_product": {"product_id": "draft_id"},
    "operator_tenants.revoke_operator": {"grant_id": "decoy_grant_id"},
    "account_addresses.delete": {"address_id": "decoy_address_id"},
    "merchant_products.delete_image": {"product_id": "decoy_product_id"},
}
#: Query strings some requests carry.
QUERIES: dict[str, dict[str, str]] = {"operator_city_reports.submit": {"period": "not-a-period"}}
#: What unsafe requests to HTML endpoints carry besides the CSRF token (nothing, by default).
FORMS: dict[str, dict[str, object]] = {
    "cart.add": {"variant_id": "variant_id", "quantity": "=many"},
    "cart.update": {"variant_id": "variant_id", "quantity": "=many"},
    "cart.request_return": {"order": "order_number"},  # and no quantities: nothing to return
    "merchant_products.stock": {"variant_id": "variant_id", "delta": "=not-a-number"},
    "merchant_products.image_alt": {"alt_zh": "=" + "长" * 300},
    "operator_badges.change_status": {"reason": "=" + "长" * 2000},
    "operator_badges.reject": {"reason": "=" + "长" * 2000},
    "merchant_delivery.delivery_settings": {"providers": "=no-such-provider"},
    "operator_tenants.shop_location": {"map_x": "=not-a-number"},
    "operator_catalog.edit_category": {"name_zh": "="},
    "merchant_products.edit": {"title": "="},
    "reviews.review_form": {"product": "=9"},
    "accounts.account": {"display_name": "="},
}
#: The JSON body of unsafe API requests ({} by default: the schema or the object's state refuses it).
BODIES: dict[str, dict] = {
    "api_resident.put_cart_line": {"quantity": -1},
    # valid for the schema (checked before the order is looked up), refused once it is found
    "api_resident.request_my_return": {"lines": {"999999": 1}},  # no such line in the order
    "api_resident_trust.file_complaint": {"category": "quality", "description": "受潮", "claim": "refund"},  # collected:
    # no address to write to
    "api_resident_trust.review_line": {"ratings": {"product": 5, "described": 5, "service": 5, "delivery": 5}},  # again
    "api_merchant.update_product": {"title": ""},
    "api_operator.update_settings": {"timezone": "Mars/Olympus_Mons"},
}
#: The buttons with nothing to refuse, and the tables they change: the row count moves by this much per admitted
#: caller, each of which spends a decoy of its own (URL_VALUES, PER_CALLER) or adds rows. No other row may change.
CONSUMED: dict[str, dict[str, int]] = {
    "account_addresses.delete": {"addresses": -1},
    "merchant_products.delete_image": {"product_images": -1},  # the decoy product's: the rest move up
    "api_merchant.unpublish_product": {},  # the draft stays a draft, in a new version
    "operator_tenants.revoke_operator": {"role_grants": -1, "audit_entries": 1},
    "operator_conformance.run_now": {"conformance_runs": 1, "audit_entries": 1},
}
PER_CALLER = {"merchant_products.delete_image": "image_id"}
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class World:
    values: dict[str, object]  # by name: URL values, and what forms refer to
    logins: dict[str, str]  # session caller → its login
    tokens: dict[str, str]  # token caller → its bearer token
    decoy_images: dict[str, int]  # browser caller → a picture of shop-0's decoy product, to delete
    decoys: set[tuple[str, int]]  # (table, id) of the rows the CONSUMED requests may change


@dataclass(frozen=True)
class Probe:
    endpoint: str
    method: str
    api: bool
    admits: frozenset[str]  # the callers the policy admits
    paths: dict[str, str]  # caller → path
    form: dict[str, str] = field(default_factory=dict)
    body: dict | None = None


@dataclass
class Caller:
    name: str
    cookie: str
    csrf: str
    bearer: str | None = None


# -- the street the matrix runs against -------------------------------------------------------------------------------

def _user(login: str, name: str, role: Role | None = None, **where) -> User:
    user = accounts.register_user(login, PASSWORD, name)
    db.session.flush()
    if role is not None:
        accounts.grant_role(user, role, **where)
    return user


def _revoked(model, token: str, revoke) -> int:
    row = db.session.scalar(select(model).where(model.token_sha256 == hash_token(token)))
    revoke(row)
    return row.id


def build_world(platform) -> World:
    """Everything the URLs name, in the state that makes each of its buttons refuse an admitted caller: a completed
    order with a rejected return, a closed complaint and a review; a declined quote and freight quote; a decided
    shop application and verification application; an ended placement; disabled webhooks; revoked keys; a
    taken-down product under an IP notice; an expired licence; a signed conformance statement."""
    variant_id = platform.product("权限矩阵 龙井 100g", stock=50)
    target_id = platform.product("权限矩阵 被投诉的茶", stock=5)
    world = World({"tenant_slug": SLUG, "tenant": SLUG, "shop_slug": "shop-0", "variant_id": variant_id,
                   "target_id": target_id, "category_slug": "goods", "category_id": platform.category_id}, {}, {}, {},
                  set())
    with platform.app.app_context():
        people = _people(platform, world)
    world.values["number"], world.values["order_number"] = _completed_order(platform, world.tokens, variant_id)
    with platform.app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        with tenant_scope(tenant):
            shop = db.session.get(Shop, platform.shops[0][0])
            _after_sale(tenant, world, people)
            _catalogue(platform, tenant, shop, world, people)
            _street(tenant, shop, world, people)
            db.session.commit()
    return world


def _people(platform, world: World) -> dict[str, int]:
    """The callers' accounts (shop-0's and shop-1's owners are the street's), a second live tenant for
    other_operator, the tokens, revoked keys, and the resident's addresses. Returns the ids by caller."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
    other = Tenant(slug=OTHER_SLUG, kind="street", status="live", name_zh="德化街", name_en="Dehua Street",
                   district_zh="二七区", district_en="Erqi District", theme="base", brand={}, layout={})
    db.session.add(other)
    db.session.flush()
    with tenant_scope(tenant):
        shop0, shop1 = (db.session.get(Shop, platform.shops[n][0]) for n in (0, 1))
        people = {
            "resident": _user("policy-resident@reliable.example", "矩阵居民"),
            "merchant_staff": _user("policy-staff@reliable.example", "矩阵店员", Role.merchant_staff, shop=shop0),
            "merchant_owner": accounts.find_user("merchant0@reliable.example"),
            "other_owner": accounts.find_user("merchant1@reliable.example"),
            "tenant_operator": _user("policy-operator@reliable.example", "矩阵运营", Role.tenant_operator,
                                     tenant=tenant),
            "other_operator": _user("policy-other-operator@reliable.example", "德化运营", Role.tenant_operator,
                                    tenant=other),
            "platform_admin": _user("policy-admin@reliable.example", "矩阵管理员", Role.platform_admin),
        }
        resident, owner, operator = people["resident"], people["merchant_owner"], people["tenant_operator"]
        world.tokens.update(
            personal_token=issue_personal_token(resident, "权限矩阵", ALL_RESIDENT_SCOPES, None),
            shop_key=issue_token(owner, shop0, "权限矩阵", ALL_SCOPES),
            other_shop_key=issue_token(people["other_owner"], shop1, "权限矩阵", ALL_SCOPES),
            operator_token=issue_operator_token(operator, tenant, "权限矩阵", ALL_OPERATOR_SCOPES),
            statistics_token=issue_statistics_token("权限矩阵 统计局", people["platform_admin"]))
        world.values.update(
            key_id=_revoked(ApiToken, issue_token(owner, shop0, "已吊销", ALL_SCOPES), revoke_token),
            operator_key_id=_revoked(OperatorToken, issue_operator_token(
                operator, tenant, "已吊销", ALL_OPERATOR_SCOPES), revoke_operator_token),
            token_id=_revoked(PersonalToken, issue_personal_token(resident, "已吊销", ALL_RESIDENT_SCOPES, None),
                              revoke_personal_token),
            decoy_grant_id=_user("policy-decoy-operator@reliable.example", "待撤销的运营", Role.tenant_operator,
                                 tenant=tenant).grants[0].id)
        # the first address is the default: making it the default again changes nothing
        world.values["address_id"], world.values["decoy_address_id"] = (add_address(resident.id, AddressInput(
            "王建军", "13800138001", "410000", "410100", "410105", street)).id for street in ("经三路 1 号", "经三路 2 号"))
        world.decoys |= {("role_grants", world.values["decoy_grant_id"]),
                         ("addresses", world.values["decoy_address_id"])}
        world.logins.update({name: user.email for name, user in people.items()})
        db.session.commit()
        return {name: user.id for name, user in people.items()}


def _after_sale(tenant, world: World, people: dict[str, int]) -> None:
    """The completed order's return (rejected), complaint (answered and accepted) and review."""
    order = db.session.scalar(select(Order).where(Order.number == world.values["order_number"]))
    line = order.lines[0]
    request = returns.request_return(tenant, order, {line.id: 1}, buyer_id=people["resident"])
    returns.reject(request, actor_id=people["merchant_owner"], reason="已拆封，不符合退货条件")
    complaint = complaints.file_complaint(tenant, order, buyer_id=people["resident"], category="quality",
                                          description="茶叶受潮")
    complaints.answer(complaint, actor_id=people["merchant_owner"], text="已补发一盒")
    complaints.accept(complaint, actor_id=people["resident"])
    review = reviews.create_review(tenant, line, people["resident"], ratings={
        "product": 5, "described": 5, "service": 5, "delivery": 5})
    world.values.update(
        line_id=line.id, return_id=request.id, complaint_number=complaint.number, review_id=review.id,
        payment_id=db.session.scalar(select(Payment.id).where(Payment.group_id == order.group_id)),
        tracking_token=db.session.scalar(select(Shipment.tracking_token).where(Shipment.order_id == order.id)))


def _catalogue(platform, tenant, shop, world: World, people: dict[str, int]) -> None:
    """The product's picture, a draft with nothing to sell, a decoy product with a picture per caller, an expired
    licence, a declined quote and freight quote, the shop's badge, and a shop that is not verified."""
    values = world.values
    product = db.session.get(Variant, values["variant_id"]).product
    image = catalog.add_image(product, encode(picture(), "PNG"))
    draft, decoy = (catalog.create_product(shop, catalog.ProductInput(
        category=db.session.get(Category, platform.category_id), title=title, variants=[
            catalog.VariantInput(sku=f"P-{uuid.uuid4().hex[:10]}", price=100, stock=0)]))
        for title in ("权限矩阵 草稿", "权限矩阵 诱饵"))
    db.session.delete(draft.variants[0])  # nothing to sell: publishing it is refused
    world.decoy_images.update({caller: catalog.add_image(decoy, encode(picture(40 + n, 30), "PNG")).id
                               for n, caller in enumerate(BROWSERS)})
    world.decoys |= {("products", draft.id), ("products", decoy.id),
                     *(("product_images", image_id) for image_id in world.decoy_images.values())}
    licence = catalog.record_licence(shop, "pesticide_business", "农药经营许可证 矩阵-1",
                                     date.today() + timedelta(days=30))
    licence.expires_on = date.today() - timedelta(days=1)  # expired: verifying it is refused
    shop.accepts_quotes = True
    db.session.flush()
    quote = catalog.request_quote(db.session.get(User, people["resident"]), product.variants[0], 10)
    catalog.decline_quote(quote)
    module_settings["delivery"].set(tenant, "options", {"pickup": {}, "freight": {}})
    shop.delivery = {"providers": ["pickup", "freight"]}
    home = delivery.address_value(address_of(people["resident"], values["address_id"]))
    freight_quote = freight.request_quote(tenant, shop, people["resident"], home, 1000, 0, "一箱茶叶")
    freight.decline(freight_quote, people["resident"])
    values.update(product_id=product.id, product_slug=product.slug, image_id=image.id,
                  key=original_key(image.sha256, "png"), draft_id=draft.id, decoy_product_id=decoy.id,
                  licence_id=licence.id, quote_id=quote.id, freight_quote_id=freight_quote.id,
                  serial=badges.issue_badge(shop, actor_id=people["tenant_operator"]).serial,
                  merchant_id=_pending_shop(tenant, values, people["tenant_operator"]))


def _street(tenant, shop, world: World, people: dict[str, int]) -> None:
    """A rejected shop application, an ended placement, a public record, published rules, an IP notice whose
    product is taken down, disabled webhooks with a delivery each, a closed statement, a signed conformance
    statement."""
    values, operator = world.values, people["tenant_operator"]
    application = shop_applications.submit_application(tenant, db.session.get(User, people["resident"]),
                                                        shop_applications.ApplicationInput(
        kind="natural_person", legal_name="王建军", contact_name="王建军", contact_phone="13900139000",
        shop_name_zh="矩阵新摊位", slug="policy-join"))
    shop_applications.reject_application(application, "位置已满", db.session.get(User, operator))
    placement = placements.create(tenant, product_id=values["product_id"], keywords="权限矩阵", category_id=None,
                                  first_day=tenant_today(tenant), last_day=tenant_today(tenant), fee=0,
                                  actor_id=operator)
    placements.end(placement, operator)
    record = public_records.record(tenant, shop.merchant, public_records.RecordInput(
        "administrative_penalty", "金水区市场监管局", "金罚〔2020〕1号", date(2020, 1, 1)),
        actor=db.session.get(User, people["platform_admin"]))
    rules = agreements.save_draft(tenant, "rules", title="可靠街交易规则", body="## 基本规则", actor_id=operator)
    agreements.publish(rules, effective_at=utcnow(), actor_id=operator, urgent_reason="首次公示")
    target = db.session.get(Variant, values["target_id"]).product
    notice = ip_notices.file_notice(tenant, target, ip_notices.NoticeInput(
        right_kind="trademark", right_number="第 1 号", holder_name="矩阵品牌", description="仿冒我方商标",
        contact="13900139000", warned=True), holder_id=people["resident"],
        photos=ip_notices.ingest_evidence([encode(picture(), "PNG")]))
    ip_notices.take_down(notice, actor_id=operator)
    hooks = [webhooks.subscribe(tenant, owner, f"https://93.184.216.34/{name}", ["order.created"], actor_id=operator)
             for owner, name in ((shop, "shop-0"), (None, "street"))]
    sent = {d.endpoint_id: d.id for d in webhooks.emit("order.created", tenant_id=tenant.id, shop_id=shop.id,
                                                       data={"number": "policy"})}
    for hook in hooks:
        webhooks.disable(hook)
    statement_row = next(s for s in settlement.close_statements(tenant, now=utcnow() + timedelta(days=40))
                         if s.shop_id == shop.id)
    # an earlier run's signed statement (of no requirements: the public page only shows it)
    statement.issue(tenant, reports.save(tenant, run_conformance(tenant, only=set()), actor_id=operator))
    values.update(application_id=application.id, placement_id=placement.id, record_id=record.id,
                  document_id=rules.id, version=rules.version, notice_number=notice.number,
                  endpoint_id=hooks[0].id, delivery_id=sent[hooks[0].id], tenant_hook_id=hooks[1].id,
                  tenant_delivery_id=sent[hooks[1].id], statement_id=statement_row.id)


def _pending_shop(tenant, values: dict, operator_id: int) -> int:
    """A shop whose merchant was never verified (no badge, no renewal), with a decided verification application
    that has no ID number on file (nothing to reveal). Returns the merchant's id."""
    shop = create_shop(tenant, slug="shop-pending", name_zh="待审商店", approved=False,
                       merchant=create_merchant(legal_name="待审商户（个体工商户）"))
    application = onboarding.submit_application(shop, onboarding.ApplicationInput(
        kind="natural_person", legal_name="王建军", resident_id="11010519491231002X", id_consent=True,
        contact_name="王建军", contact_phone="13900139000", business_address="可靠街 9 号",
        exemption="small_sporadic"), actor_id=None)
    application.resident_id_token = ""
    onboarding.reject_application(application, "材料不全", actor_id=operator_id, tenant=tenant)
    values.update(shop_id=shop.id, verification_id=application.id)  # no badge for its shop: not verified
    return shop.merchant_id


def _completed_order(platform, tokens: dict[str, str], variant_id: int) -> tuple[str, str]:
    """The resident's order at shop-0, bought and handed over through the API as apps and counters do it."""

    def api(method: str, path: str, token: str, body: dict | None = None) -> dict:
        answer = platform.call(method, path, token, body, key=uuid.uuid4().hex if method != "GET" else None)
        assert answer.status < 300, f"{method} {path}: {answer.status} {answer.text[:500]}"
        return answer.body

    resident, shop = tokens["personal_token"], tokens["shop_key"]
    api("PUT", f"/cart/lines/{variant_id}", resident, {"quantity": 1})
    placed = api("POST", "/checkout", resident, {"confirm_exclusions": True})
    group, order = placed["number"], placed["orders"][0]["number"]
    code = api("GET", f"/orders/{group}/orders/{order}/shipment", resident)["pickup_code"]
    for move in ({"action": "confirm_payment"}, {"action": "accept"}, {"action": "prepared"},
                 {"action": "picked_up", "code": code}, {"action": "complete"}):
        api("POST", f"/shops/shop-0/orders/{order}/transitions", shop, move)
    return group, order


# -- the matrix -------------------------------------------------------------------------------------------------------

def admitted(policy: frozenset[Audience], caller: str, rule,
             membership: dict[str, set[Audience]] = MEMBERSHIP) -> bool:
    """Whether ``caller`` belongs to one of the policy's audiences on ``rule``'s URL (by ``membership``)."""
    belongs = {A.public} | membership[caller]
    if "shop_slug" not in rule.arguments:
        belongs |= ANY_SHOP.get(caller, set())
    if "tenant_slug" not in rule.arguments:
        belongs |= ANY_TENANT.get(caller, set())
    return bool(policy & belongs)


def _resolve(spec: dict[str, object], world: World) -> dict[str, object]:
    """``"=text"`` is the text itself; any other string names a value of the world."""
    return {name: value[1:] if isinstance(value, str) and value.startswith("=") else world.values[value]
            for name, value in spec.items()}


def probes(app, world: World) -> list[Probe]:
    """One request per (endpoint, method) of the URL map, with its URL values, form or body, and who may send it."""
    adapter = app.url_map.bind("127.0.0.1")
    found: dict[tuple[str, str], Probe] = {}
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        overrides = {**URL_VALUES.get(blueprint, {}), **URL_VALUES.get(rule.endpoint, {})}
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) in found:
                continue  # another rule of the same endpoint (a product's URL with and without its slug)
            policy = policy_of(app, rule.endpoint, method) or frozenset()  # none: the first test names it
            api = rule.rule.startswith("/api/")
            values = {name: world.values[name] for name in rule.arguments if name in world.values}
            values |= _resolve({k: v for k, v in overrides.items() if k in rule.arguments}, world)
            values |= QUERIES.get(rule.endpoint, {})
            paths = {}
            for caller in CALLERS if api else BROWSERS:
                if rule.endpoint in PER_CALLER:
                    values[PER_CALLER[rule.endpoint]] = world.decoy_images[caller]
                paths[caller] = adapter.build(rule.endpoint, values, method=method)
            found[(rule.endpoint, method)] = Probe(
                rule.endpoint, method, api, frozenset(c for c in paths if admitted(policy, c, rule)), paths,
                {k: str(v) for k, v in _resolve(FORMS.get(rule.endpoint, {}), world).items()},
                BODIES.get(rule.endpoint, {}) if method in UNSAFE else None)
    return sorted(found.values(), key=lambda p: (p.endpoint, p.method))


def sign_in(port: int, world: World) -> dict[str, Caller]:
    """Each caller's browser: a session (signed in for the session callers) with its CSRF token; token callers send
    their bearer token from an anonymous session, as an app would."""
    callers = {}
    for name in CALLERS:
        browser = Browser(port)
        if name in world.logins:
            browser.login(world.logins[name], PASSWORD)
        token = browser.get("/account/" if name in world.logins else "/account/login").csrf_token()
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        callers[name] = Caller(name, cookie, token, world.tokens.get(name))
    return callers


def send(port: int, probe: Probe, caller: Caller) -> tuple[int, str]:
    """The probe as ``caller`` sends it; returns the status and where it redirects to."""
    headers = {"User-Agent": "race-test", "Accept-Language": "zh-CN,zh;q=0.9", "Cookie": caller.cookie}
    if caller.bearer:
        headers["Authorization"] = f"Bearer {caller.bearer}"
    body = None
    if probe.api:
        headers["Accept"] = "application/json"
    if probe.method in UNSAFE:
        headers["X-CSRFToken"] = caller.csrf
        if probe.api:
            headers["Content-Type"] = "application/json"  # no Idempotency-Key: see the module's docstring
            body = json.dumps(probe.body).encode()
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode({"csrf_token": caller.csrf, **probe.form}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(probe.method, probe.paths[caller.name], body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location", "")
    finally:
        connection.close()


def table_rows(app) -> dict[str, dict[object, tuple]]:
    """Every row of every table by its key, but for when a token was last used (using one changes nothing)."""
    rows = {}
    with app.app_context(), all_tenants():
        for table in db.metadata.sorted_tables:
            key = [column.name for column in table.primary_key.columns]
            found = db.session.execute(select(*(column for column in table.columns if column.name != "last_used_at")))
            rows[table.name] = {row._mapping[key[0]] if len(key) == 1 else tuple(row._mapping[k] for k in key):
                                tuple(map(repr, row)) for row in found}
        db.session.rollback()
    return rows


def refused(status: int, location: str) -> bool:
    """Sent to sign in, or told no: unauthenticated, forbidden, or not found (as a tenant one does not operate is)."""
    return status in (401, 403, 404) or (status in (301, 302, 303, 307) and urlsplit(location).path == "/account/login")


def still_signed_in(port: int, callers: dict[str, Caller]) -> list[str]:
    """The session callers no longer signed in (signing out is a change too); none, after the matrix."""
    signed_out = []
    for name in SESSIONS:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request("GET", "/account/", headers={"Cookie": callers[name].cookie, "User-Agent": "race-test"})
            if connection.getresponse().status != 200:
                signed_out.append(name)
        finally:
            connection.close()
    return signed_out


# -- the cases --------------------------------------------------------------------------------------------------------

def test_every_endpoint_declares_who_may_use_it(platform):
    missing = undeclared(platform.app)
    assert not missing, ("endpoints without a policy (add them to marketplace/accounts/policy.py, or declare them "
                         f"with policy.declare in the plugin's setup): {missing}")


def test_every_caller_is_answered_as_the_policy_says(platform):
    started = time.monotonic()
    world = build_world(platform)
    matrix = probes(platform.app, world)
    port = platform.server.port
    callers = sign_in(port, world)
    seeded = time.monotonic()
    before = table_rows(platform.app)

    cells = [(probe, caller) for probe in matrix for caller in probe.paths]
    with ThreadPoolExecutor(8) as pool:  # gunicorn's sync workers close each connection: parallel, not kept alive
        answers = list(pool.map(lambda cell: send(port, cell[0], callers[cell[1]]), cells))
    elapsed = time.monotonic() - seeded

    mismatches, errors = [], []
    for (probe, caller), (status, location) in zip(cells, answers, strict=True):
        if status >= 500:
            errors.append(f"{probe.method} {probe.paths[caller]} as {caller}: {status}")
        elif refused(status, location) == (caller in probe.admits):
            verdict = "refused" if caller in probe.admits else "allowed"
            mismatches.append(f"{probe.endpoint:45} {probe.method:6} {caller:17} {verdict:8} {status} {location}")
    print(f"\n[{platform.database}] {len({p.endpoint for p in matrix})} endpoints ({len(matrix)} with their methods) × "
          f"{len(BROWSERS)} callers, the API also × {len(TOKENS)} tokens: {len(cells)} requests in {elapsed:.1f} s "
          f"(the street seeded in {seeded - started:.1f} s); {len(cells) - len(mismatches) - len(errors)} answered as "
          f"the policy says ({sum(len(p.admits) for p in matrix)} allowed, the rest refused), "
          f"{len(mismatches)} not, {len(errors)} errors")
    assert not errors, "\n".join(errors)
    assert not mismatches, (f"{len(mismatches)} answers differ from the policy (endpoint, method, caller, answered as, "
                            "status, location):\n" + "\n".join(mismatches))

    after = table_rows(platform.app)
    expected = Counter({table: len(rows) for table, rows in before.items()})
    for probe in matrix:
        for table, change in CONSUMED.get(probe.endpoint, {}).items():
            expected[table] += change * len(probe.admits)
    growing = {table for changes in CONSUMED.values() for table, change in changes.items() if change > 0}
    changed = sorted(f"{table} {key}: {before[table].get(key)} → {after[table].get(key)}" for table in after
                     for key in before[table].keys() | after[table].keys()
                     if before[table].get(key) != after[table].get(key) and (table, key) not in world.decoys
                     and not (table in growing and key not in before[table]))
    assert changed == [], "rows changed:\n" + "\n".join(changed)
    counts = {table: (len(before[table]), len(after[table]), expected[table]) for table in after
              if len(after[table]) != expected[table]}
    assert counts == {}, f"rows (before, after, expected): {counts}"
    assert still_signed_in(port, callers) == []
    platform.check()
