"""No one of tenant A reaches tenant B's things, on the running platform: every route and API path that names
something by an id (or a slug, a number, a token) is asked for B's thing as every role of A would ask — through A's
``/t/<slug>/`` and console paths, on A's own host name, on A's host with B's path, and, by A's people and keys, at
B's own URL — and each answer must be 404, with none of B's identifiers anywhere in its body (but those the request
itself carried: the "not found" page repeats the address it was asked for, and on B's URL may name B).

Tenant B is the policy matrix's street (``test_policy.build_world``: an order bought, handed over and complained
about, a review, a return, quotes, licences, statements, webhooks…). Tenant A is dehua-street, with a shop of its
own, its staff, owner and operator, their API keys, and the two people who are at home in every tenant: the resident
who owns B's order (one account works city-wide) and a platform admin. So a 404 can only come from the tenant (or
shop) the URL names, never from a missing right: a caller is asked only where the policy admits it on A's URL
(and at B's URL, only where it would not admit it there).
"""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from marketplace.accounts import services as accounts
from marketplace.accounts.models import Role
from marketplace.accounts.policy import Audience, policy_of
from marketplace.api.auth import issue_operator_token, issue_token
from marketplace.api.scopes import ALL_OPERATOR_SCOPES, ALL_SCOPES
from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.shops.models import Merchant, Shop
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant
from tests.fixtures.factories import create_merchant, create_shop
from tests.orders.live_server import Browser
from tests.reliability.conftest import PLATFORM_DOMAIN, SLUG
from tests.reliability.test_policy import (
    FORMS,
    OTHER_SLUG,
    PASSWORD,
    QUERIES,
    UNSAFE,
    URL_VALUES,
    World,
    admitted,
    build_world,
)

pytestmark = pytest.mark.no_transaction

A = Audience
SHOP_A = "dehua-0"
#: Tenant A's callers and the audiences each belongs to on A's URLs (of A's shop).
MEMBERSHIP: dict[str, set[Audience]] = {
    "resident": {A.signed_in, A.own},
    "staff_a": {A.signed_in, A.merchant},
    "owner_a": {A.signed_in, A.merchant, A.merchant_owner},
    "operator_a": {A.signed_in, A.operator},
    "platform_admin": {A.signed_in, A.merchant, A.merchant_owner, A.operator, A.platform_admin},
    "personal_token": {A.personal_token},
    "shop_key_a": {A.shop_key},
    "operator_token_a": {A.operator_token},
}
#: A's people and keys on B's URLs: strangers there.
STRANGERS: dict[str, set[Audience]] = {"staff_a": {A.signed_in}, "owner_a": {A.signed_in},
                                       "operator_a": {A.signed_in}, "shop_key_a": set(), "operator_token_a": set()}
SESSIONS = ("resident", "staff_a", "owner_a", "operator_a", "platform_admin")
#: URL arguments that choose the tenant rather than a thing in it.
NOT_IDS = {"tenant_slug", "tenant"}
#: Bodies the API's schema accepts (a schema's 422 comes before the lookup and would hide it); {} elsewhere.
BODIES: dict[str, dict] = {
    "api_resident.put_cart_line": {"quantity": 1},
    "api_resident.request_my_return": {"lines": {"1": 1}},
    "api_shop_orders.transition_order": {"action": "complete"},
    "api_shop_delivery.record_tracking_event": {"status": "in_transit"},
    "api_shop_delivery.ship": {"carrier": "顺丰速运", "tracking_number": "SF1234567890"},
    "api_resident_trust.review_line": {"ratings": {"product": 5, "described": 5, "service": 5, "delivery": 5}},
    "api_resident_trust.file_complaint": {"category": "quality", "description": "受潮", "claim": "refund"},
    "api_shop_complaints.answer_complaint": {"answer": "已补发一盒"},
    "api_shop_returns.decide_return": {"action": "refund"},
    "api_operator.reject_application": {"reason": "越界"},
}


@dataclass(frozen=True)
class Ask:
    endpoint: str
    method: str
    way: str  # "prefix" (/t/A/… or A's console path), "host" (A's host name), "host+B" (A's host, B's path)
    host: str | None
    path: str
    api: bool
    form: dict
    body: dict | None


def _tenant_a(platform, world: World) -> tuple[dict[str, str], dict[str, str]]:
    """dehua-street's shop, its staff and owner and their key, its operator's key. Returns the logins and the tokens
    by caller."""
    with platform.app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == OTHER_SLUG))
        operator = accounts.find_user(world.logins["other_operator"])
        with tenant_scope(tenant):
            owner = accounts.register_user("dehua-owner@reliable.example", PASSWORD, "德化店主")
            staff = accounts.register_user("dehua-staff@reliable.example", PASSWORD, "德化店员")
            shop = create_shop(tenant, slug=SHOP_A, name_zh="德化商店",
                               merchant=create_merchant(legal_name="德化商户（个体工商户）"),
                               grants=[(owner, Role.merchant_owner), (staff, Role.merchant_staff)])
            tokens = {"shop_key_a": issue_token(owner, shop, "跨租户矩阵", ALL_SCOPES),
                      "operator_token_a": issue_operator_token(operator, tenant, "跨租户矩阵", ALL_OPERATOR_SCOPES),
                      "personal_token": world.tokens["personal_token"]}
            db.session.commit()
    logins = {"resident": world.logins["resident"], "staff_a": "dehua-staff@reliable.example",
              "owner_a": "dehua-owner@reliable.example", "operator_a": world.logins["other_operator"],
              "platform_admin": world.logins["platform_admin"]}
    return logins, tokens


def public_names(platform, slug: str) -> tuple[str, str]:
    """The tenant's names (Chinese, English), as its pages show them."""
    with platform.app.app_context():
        return tuple(db.session.execute(select(Tenant.name_zh, Tenant.name_en).where(Tenant.slug == slug)).one())


def identifiers_of_b(platform, world: World) -> set[str]:
    """What names B or its things and could not turn up on A's pages by chance: numbers, tokens, titles, names."""
    values = world.values
    found = {SLUG, values["order_number"], values["number"], values["tracking_token"], values["complaint_number"],
             values["notice_number"], values["serial"], values["product_slug"]}
    with platform.app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == SLUG))
        found |= {tenant.name_zh, tenant.name_en}
        with tenant_scope(tenant):
            found |= set(db.session.scalars(select(Product.title)))
            found |= set(db.session.scalars(select(Shop.name_zh)))
            found |= set(db.session.scalars(select(Merchant.legal_name).join(Shop)))
        db.session.rollback()
    return {text for text in found if text}


def asks(app, world: World) -> tuple[list[tuple[Ask, str]], set[str]]:
    """(request, caller) for every (endpoint, method) whose URL names a thing of B's by more than its tenant, each
    caller of A the policy admits on A's URL; and the endpoints asked."""
    adapter = app.url_map.bind("127.0.0.1")
    host_a = f"{OTHER_SLUG}.{PLATFORM_DOMAIN}"
    cells, seen = [], set()
    for rule in app.url_map.iter_rules():
        if "tenant_slug" not in rule.arguments:
            continue  # not a tenant's: an account's own things, media by content hash, badges by serial
        blueprint = rule.endpoint.rpartition(".")[0]
        overrides = {**URL_VALUES.get(blueprint, {}), **URL_VALUES.get(rule.endpoint, {})}
        literal = {name for name, value in overrides.items() if isinstance(value, str) and value.startswith("=")}
        ids = set(rule.arguments) - NOT_IDS - literal
        if not ids:
            continue
        values = {name: world.values[name] for name in rule.arguments if name in world.values}
        values |= {name: world.values[value] if name not in literal else value[1:]
                   for name, value in overrides.items() if name in rule.arguments}
        values |= QUERIES.get(rule.endpoint, {})
        values["tenant_slug"] = OTHER_SLUG
        if "shop_slug" in ids and ids != {"shop_slug"}:
            values["shop_slug"] = SHOP_A  # A's own shop: the other ids are B's, and must not be found in it
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (rule.endpoint, method) in seen:
                continue
            seen.add((rule.endpoint, method))
            policy = policy_of(app, rule.endpoint, method) or frozenset()
            api = rule.rule.startswith("/api/")
            path = adapter.build(rule.endpoint, values, method=method)
            form = {k: str(world.values[v] if not v.startswith("=") else v[1:])
                    for k, v in FORMS.get(rule.endpoint, {}).items()} if method in UNSAFE else {}
            body = BODIES.get(rule.endpoint, {}) if method in UNSAFE else None
            ways = [Ask(rule.endpoint, method, "prefix", None, path, api, form, body)]
            if path.startswith(f"/t/{OTHER_SLUG}/"):  # a storefront page: A's host serves it without the prefix
                ways.append(Ask(rule.endpoint, method, "host", host_a, path[len(f"/t/{OTHER_SLUG}"):], api, form,
                                body))
                ways.append(Ask(rule.endpoint, method, "host+B", host_a, f"/t/{SLUG}" + path[len(f"/t/{OTHER_SLUG}"):],
                                api, form, body))
            callers = [c for c in MEMBERSHIP if (c in SESSIONS) != api and admitted(policy, c, rule, MEMBERSHIP)]
            if api:  # the API also takes a session's cookie (as the web pages' own scripts do)
                callers += [c for c in SESSIONS if admitted(policy, c, rule, MEMBERSHIP)]
            cells += [(ask, caller) for ask in ways for caller in callers]
            # B's own URL, asked by A's people and keys that may use the endpoint in A but not in B
            b_values = values | {"tenant_slug": SLUG} | ({"shop_slug": "shop-0"} if "shop_slug" in ids else {})
            own = adapter.build(rule.endpoint, b_values, method=method)
            strangers = [c for c in STRANGERS if c in callers and not admitted(policy, c, rule, STRANGERS)]
            cells += [(Ask(rule.endpoint, method, "B", None, own, api, form, body), c) for c in strangers]
    return cells, {endpoint for endpoint, _ in seen}


def _sessions(port: int, logins: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each session caller's cookie and CSRF token."""
    found = {}
    for name, login in logins.items():
        browser = Browser(port)
        browser.login(login, PASSWORD)
        token = browser.get("/account/").csrf_token()
        found[name] = ("; ".join(f"{k}={v}" for k, v in browser.cookies.items()), token)
    return found


def send(port: int, ask: Ask, caller: str, sessions: dict, tokens: dict) -> tuple[int, str]:
    headers = {"User-Agent": "race-test", "Accept-Language": "zh-CN,zh;q=0.9"}
    if ask.host:
        headers["Host"] = ask.host
    csrf = ""
    if caller in sessions:
        headers["Cookie"], csrf = sessions[caller]
    else:
        headers["Authorization"] = f"Bearer {tokens[caller]}"
    body = None
    if ask.api:
        headers["Accept"] = "application/json"
    if ask.method in UNSAFE:
        headers["X-CSRFToken"] = csrf
        if ask.api:
            headers["Content-Type"] = "application/json"
            body = json.dumps(ask.body).encode()
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode({"csrf_token": csrf, **ask.form}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(ask.method, ask.path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def test_no_role_of_one_tenant_finds_anything_of_another(platform):
    started = time.monotonic()
    world = build_world(platform)
    logins, tokens = _tenant_a(platform, world)
    cells, endpoints = asks(platform.app, world)
    sessions = _sessions(platform.server.port, logins)
    names = {slug: public_names(platform, slug) for slug in (OTHER_SLUG, SLUG)}
    for slug, (name, _english) in names.items():  # each host name serves its own tenant's home
        status, text = send(platform.server.port, Ask("tenant.home", "GET", "host", f"{slug}.{PLATFORM_DOMAIN}", "/",
                                                      False, {}, None), "resident", sessions, tokens)
        assert status == 200 and name in text.partition("</title>")[0], (slug, status, text[:300])
    secrets = identifiers_of_b(platform, world)
    seeded = time.monotonic()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda cell: send(platform.server.port, cell[0], cell[1], sessions, tokens), cells))
    elapsed = time.monotonic() - seeded

    wrong, leaks = [], []
    for (ask, caller), (status, text) in zip(cells, answers, strict=True):
        where = f"{ask.method:5} {ask.way:6} {ask.host or '':24} {ask.path} as {caller}"
        if status != 404:
            wrong.append(f"{where}: {status} {text[:160]!r}")
        asked = f"{ask.path} {ask.form} {json.dumps(ask.body, ensure_ascii=False)}"
        if ask.way == "B":  # the request named B: its not-found page may carry B's public name
            asked += " " + " ".join(names[SLUG])
        shown = sorted(secret for secret in secrets if secret in text and secret not in asked)
        if shown:
            leaks.append(f"{where}: shows {shown}")
    ways = {way: sum(1 for ask, _ in cells if ask.way == way) for way in ("prefix", "host", "host+B", "B")}
    print(f"\n[{platform.database}] {len(endpoints)} endpoints naming a thing × the callers of tenant A the policy "
          f"admits: {len(cells)} requests ({ways}) in {elapsed:.1f} s (seeded in {seeded - started:.1f} s); "
          f"{len(cells) - len(wrong)} answered 404, {len(wrong)} not; {len(leaks)} bodies with B's identifiers "
          f"({len(secrets)} looked for)")
    assert not wrong, f"{len(wrong)} answers were not 404:\n" + "\n".join(wrong)
    assert not leaks, "\n".join(leaks)
    platform.check()
