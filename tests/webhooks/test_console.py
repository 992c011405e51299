"""Webhook subscriptions in the merchant and operator consoles: adding one shows its secret once; private targets
are refused with a form error; disabling; each endpoint's deliveries with their attempts; replaying; and who may
see which endpoint (another shop's or the other console's is a 404, staff get 403)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.console.webhooks import VERIFY_SNIPPET
from marketplace.core.audit import AuditEntry
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from marketplace.webhooks import services as webhooks
from marketplace.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.fixtures.factories import PASSWORD

#: A public address, never contacted by these tests (subscribing checks the address, it does not connect).
PUBLIC_URL = "https://93.184.216.34/hooks/orders"


@dataclass
class Street:
    tenant: Tenant
    other: Tenant
    fruit: Shop
    tea: Shop

    def shop_url(self, shop: Shop | None = None, rest: str = "") -> str:
        return f"/merchant/{self.tenant.slug}/{(shop or self.fruit).slug}/webhooks{rest}"

    def operator_url(self, rest: str = "") -> str:
        return f"/operator/{self.tenant.slug}/webhooks{rest}"


@pytest.fixture
def street(make_tenant, make_shop, make_user) -> Street:
    tenant, other = make_tenant(slug="dehua", name_zh="德化街"), make_tenant(slug="yinji", name_zh="银基商贸城")
    fruit, tea = make_shop(tenant, slug="fruit", name_zh="老王水果店"), make_shop(tenant, slug="tea", name_zh="李记茶叶")
    make_user("owner@shangdu.example", role=Role.merchant_owner, shop=fruit)
    make_user("staff@shangdu.example", role=Role.merchant_staff, shop=fruit)
    make_user("tea@shangdu.example", role=Role.merchant_owner, shop=tea)
    make_user("operator@shangdu.example", role=Role.tenant_operator, tenant=tenant)
    make_user("other-operator@shangdu.example", role=Role.tenant_operator, tenant=other)
    return Street(tenant, other, fruit, tea)


@pytest.fixture
def as_user(make_client):
    def factory(login: str):
        browser = make_client()
        browser.login(login, PASSWORD)
        return browser

    return factory


def _add(browser, url: str, target: str, events=("order.created",), description: str = ""):
    return browser.submit(url, {"url": target, "events": list(events), "description": description})


def _secret_on(page: str) -> str:
    return re.search(r'id="webhook-secret"[^>]*value="([^"]+)"', page).group(1)


def _endpoints(tenant) -> list[WebhookEndpoint]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def _deliveries(tenant) -> list[WebhookDelivery]:
    db.session.expire_all()
    with tenant_scope(tenant):
        return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _emit(tenant, shop, event: str = "order.created", number: str = "202612010001"):
    with tenant_scope(tenant):
        made = webhooks.emit(event, tenant_id=tenant.id, shop_id=shop.id if shop else None, data={"number": number})
        db.session.commit()
        return made


def _subscribed(street: Street, shop, url: str = PUBLIC_URL, events=("order.created",)) -> WebhookEndpoint:
    with tenant_scope(street.tenant):
        endpoint = webhooks.subscribe(street.tenant, shop, url, events, actor_id=None)
        db.session.commit()
        return endpoint


# -- adding ------------------------------------------------------------------------------------------------------

def test_owner_adds_an_endpoint_and_sees_its_secret_only_once(street, as_user):
    owner = as_user("owner@shangdu.example")
    shop_page = owner.get(f"/merchant/{street.tenant.slug}/fruit/").get_data(as_text=True)
    assert f'href="{street.shop_url()}"' in shop_page and "消息推送（Webhooks）" in shop_page

    form = owner.get(street.shop_url()).get_data(as_text=True)
    for event in webhooks.EVENTS:
        assert f'name="events" value="{event}"' in form
    response = _add(owner, street.shop_url(), PUBLIC_URL, events=("order.created", "order.paid"),
                    description="ERP 订单同步")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    [endpoint] = _endpoints(street.tenant)
    assert endpoint.shop_id == street.fruit.id and endpoint.url == PUBLIC_URL and endpoint.active
    assert endpoint.events == ["order.created", "order.paid"] and endpoint.description == "ERP 订单同步"
    assert _secret_on(page) == endpoint.secret and endpoint.secret.startswith("whsec_")
    assert "离开此页后将无法再次查看" in page and "Shangdu-Signature" in page and "hmac.compare_digest" in page

    # Never again: not on the list, the deliveries page, the shop page, nor the operator's pages or the audit log.
    for browser, url in ((owner, street.shop_url()), (owner, street.shop_url(rest=f"/{endpoint.id}")),
                         (owner, f"/merchant/{street.tenant.slug}/fruit/"),
                         (as_user("operator@shangdu.example"), street.operator_url()),
                         (as_user("operator@shangdu.example"), f"/operator/{street.tenant.slug}/audit")):
        shown = browser.get(url)
        assert shown.status_code == 200, url
        assert endpoint.secret not in shown.get_data(as_text=True), url
    listed = owner.get(street.shop_url()).get_data(as_text=True)
    assert PUBLIC_URL in listed and "ERP 订单同步" in listed and "启用中" in listed
    [entry] = _audit("webhook.created")
    assert entry.tenant_id == street.tenant.id and entry.target_id == str(endpoint.id)
    assert entry.details["url"] == PUBLIC_URL and endpoint.secret not in entry.details_text
    # The tea shop's owner and the operator do not see the fruit shop's endpoint in their lists.
    assert PUBLIC_URL not in as_user("tea@shangdu.example").get(street.shop_url(street.tea)).get_data(as_text=True)
    assert PUBLIC_URL not in as_user("operator@shangdu.example").get(street.operator_url()).get_data(as_text=True)


@pytest.mark.parametrize("target, events, message", [
    ("http://10.0.0.1/hook", ("order.created",), "不是公网地址"),
    ("http://169.254.169.254/latest/meta-data/", ("order.created",), "不是公网地址"),
    ("http://127.0.0.1:8080/hook", ("order.created",), "不是公网地址"),
    ("ftp://93.184.216.34/hook", ("order.created",), "须以 http:// 或 https:// 开头"),
    ("", ("order.created",), "请填写推送地址"),
    (PUBLIC_URL, (), "请选择要接收的事件。"),
    (PUBLIC_URL, ("order.created", "orders.everything"), "请选择要接收的事件。"),
])
def test_a_refused_subscription_is_a_form_error_and_stores_nothing(street, as_user, target, events, message):
    owner = as_user("owner@shangdu.example")
    response = _add(owner, street.shop_url(), target, events=events)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'role="alert"' in page
    assert _endpoints(street.tenant) == [] and _audit("webhook.created") == []
    assert f'value="{html.escape(target)}"' in page or not target  # what was typed is kept for correcting


# -- disabling ---------------------------------------------------------------------------------------------------

def test_owner_disables_an_endpoint_and_it_hears_nothing_more(street, as_user):
    endpoint = _subscribed(street, street.fruit)
    owner = as_user("owner@shangdu.example")
    response = owner.submit(street.shop_url(rest=f"/{endpoint.id}/disable"), {}, page_url=street.shop_url())
    assert response.status_code == 303 and response.headers["Location"] == street.shop_url()
    page = owner.get(street.shop_url()).get_data(as_text=True)
    assert "已停用推送到" in page and "停用 " + PUBLIC_URL not in page  # no button for a disabled endpoint
    [endpoint] = _endpoints(street.tenant)
    assert not endpoint.active
    assert _emit(street.tenant, street.fruit) == []
    [entry] = _audit("webhook.disabled")
    assert entry.target_id == str(endpoint.id)
    # Disabling again changes nothing and records nothing more.
    assert owner.submit(street.shop_url(rest=f"/{endpoint.id}/disable"), {},
                        page_url=street.shop_url()).status_code == 303
    assert len(_audit("webhook.disabled")) == 1


# -- deliveries and replays --------------------------------------------------------------------------------------

def test_deliveries_are_listed_with_their_attempts_and_the_shown_recipe_verifies_them(loopback, receiver, street,
                                                                                      as_user):
    owner = as_user("owner@shangdu.example")
    created = _add(owner, street.shop_url(), receiver.url + "/hook").get_data(as_text=True)
    secret = _secret_on(created)
    [endpoint] = _endpoints(street.tenant)
    receiver.answers = [(500, {})]  # then 200
    [delivery] = _emit(street.tenant, street.fruit, number="202612010007")
    _emit(street.tenant, street.tea)  # the tea shop's event is not the fruit shop's business
    now = utcnow()
    assert webhooks.deliver_due(now) == 1

    page = owner.get(street.shop_url(rest=f"/{endpoint.id}")).get_data(as_text=True)
    assert "order.created" in page and delivery.event_id in page
    assert "失败，将重试" in page and "HTTP 500" in page and "接收方回答了 HTTP 500。" in page
    assert "<details>" in page and "1 次尝试" in page
    listed = owner.get(street.shop_url()).get_data(as_text=True)
    assert "失败，将重试 1" in listed  # the list counts recent deliveries by status

    webhooks.deliver_due(now + timedelta(seconds=61))
    page = owner.get(street.shop_url(rest=f"/{endpoint.id}")).get_data(as_text=True)
    assert "已送达" in page and "2 次尝试" in page and page.count('class="webhook-attempt"') == 2
    assert "已送达 1" in owner.get(street.shop_url()).get_data(as_text=True)

    # The Python recipe on the "added" page (docs/api.md's) accepts what the receiver got, not with another secret.
    recipe = html.unescape(re.search(r'<pre class="verify-snippet"><code>(.*?)</code></pre>', created, re.S).group(1))
    scope: dict = {}
    exec(recipe, scope)  # noqa: S102 - the page's own sample code, run as a receiver would
    sent = receiver.requests[-1]
    assert json.loads(sent["body"])["data"]["number"] == "202612010007"
    assert scope["verify"](secret, sent["headers"]["Shangdu-Signature"], sent["body"])
    assert not scope["verify"]("whsec_someone-else", sent["headers"]["Shangdu-Signature"], sent["body"])
    assert VERIFY_SNIPPET.strip() in (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")


def test_a_replay_queues_the_same_event_again(loopback, receiver, street, as_user):
    endpoint = _subscribed(street, street.fruit, receiver.url + "/hook")
    [first] = _emit(street.tenant, street.fruit)
    webhooks.deliver_due()
    owner = as_user("owner@shangdu.example")
    page_url = street.shop_url(rest=f"/{endpoint.id}")
    response = owner.submit(street.shop_url(rest=f"/{endpoint.id}/deliveries/{first.id}/replay"), {},
                            page_url=page_url)
    assert response.status_code == 303 and response.headers["Location"] == page_url
    assert "已排队重新发送" in owner.get(page_url).get_data(as_text=True)
    first, again = _deliveries(street.tenant)
    assert again.status == "pending" and again.replay_of_id == first.id and again.event_id == first.event_id
    assert again.body == first.body and again.endpoint_id == endpoint.id
    [entry] = _audit("webhook.replayed")
    assert entry.details["delivery"] == first.id and entry.details["new_delivery"] == again.id
    webhooks.deliver_due()
    assert len(receiver.requests) == 2 and receiver.requests[0]["body"] == receiver.requests[1]["body"]


def test_a_disabled_endpoint_is_not_replayed(street, as_user):
    endpoint = _subscribed(street, street.fruit)
    [delivery] = _emit(street.tenant, street.fruit)
    with tenant_scope(street.tenant):
        webhooks.disable(db.session.get(WebhookEndpoint, endpoint.id))
        db.session.commit()
    owner = as_user("owner@shangdu.example")
    page_url = street.shop_url(rest=f"/{endpoint.id}")
    assert "重新发送 " + delivery.event_id not in owner.get(page_url).get_data(as_text=True)
    response = owner.submit(street.shop_url(rest=f"/{endpoint.id}/deliveries/{delivery.id}/replay"), {},
                            page_url=page_url)
    assert response.status_code == 303
    assert "订阅已停用，不能重新发送。" in owner.get(page_url).get_data(as_text=True)
    assert len(_deliveries(street.tenant)) == 1


# -- the operator console ----------------------------------------------------------------------------------------

def test_operator_adds_a_tenant_wide_endpoint_that_hears_every_shop(street, as_user):
    operator = as_user("operator@shangdu.example")
    tenant_page = operator.get(f"/operator/{street.tenant.slug}/").get_data(as_text=True)
    assert f'href="{street.operator_url()}"' in tenant_page
    shop_endpoint = _subscribed(street, street.tea, "https://93.184.216.35/tea")
    response = _add(operator, street.operator_url(), PUBLIC_URL, events=("order.created", "order.cancelled"))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    endpoint = next(e for e in _endpoints(street.tenant) if e.shop_id is None)
    assert _secret_on(response.get_data(as_text=True)) == endpoint.secret
    listed = operator.get(street.operator_url()).get_data(as_text=True)
    assert PUBLIC_URL in listed and "93.184.216.35" not in listed and endpoint.secret not in listed

    _emit(street.tenant, street.fruit)
    _emit(street.tenant, street.tea)
    ours = [d for d in _deliveries(street.tenant) if d.endpoint_id == endpoint.id]
    assert len(ours) == 2
    page = operator.get(street.operator_url(f"/{endpoint.id}")).get_data(as_text=True)
    assert all(d.event_id in page for d in ours)
    # The shop's endpoint is not the operator console's; the operator's is not a shop's.
    assert operator.get(street.operator_url(f"/{shop_endpoint.id}")).status_code == 404
    tea = as_user("tea@shangdu.example")
    assert tea.get(street.shop_url(street.tea, f"/{endpoint.id}")).status_code == 404
    response = operator.submit(street.operator_url(f"/{endpoint.id}/deliveries/{ours[0].id}/replay"), {},
                               page_url=street.operator_url(f"/{endpoint.id}"))
    assert response.status_code == 303 and len(_deliveries(street.tenant)) == 4
    response = operator.submit(street.operator_url(f"/{endpoint.id}/disable"), {}, page_url=street.operator_url())
    assert response.status_code == 303 and response.headers["Location"] == street.operator_url()
    assert {e.action for e in _audit("webhook.created") + _audit("webhook.replayed") + _audit("webhook.disabled")
            if e.target_id == str(endpoint.id)} == {"webhook.created", "webhook.replayed", "webhook.disabled"}


def test_an_operator_of_another_tenant_and_merchants_get_404_on_the_operator_pages(street, as_user):
    endpoint = _subscribed(street, None)
    [delivery] = _emit(street.tenant, street.fruit)
    for login in ("other-operator@shangdu.example", "owner@shangdu.example", "staff@shangdu.example"):
        browser = as_user(login)
        before = _state(street)
        for method, rest in (("GET", ""), ("GET", f"/{endpoint.id}"), ("POST", ""), ("POST", f"/{endpoint.id}/disable"),
                             ("POST", f"/{endpoint.id}/deliveries/{delivery.id}/replay")):
            response = _request(browser, method, street.operator_url(rest))
            assert response.status_code == 404, (login, method, rest)
        assert _state(street) == before


# -- who may see which endpoint ----------------------------------------------------------------------------------

def _request(browser, method: str, url: str):
    if method == "GET":
        return browser.get(url)
    token = browser.csrf_token("/account/")
    return browser.post(url, data={"csrf_token": token, "url": PUBLIC_URL, "events": ["order.created"]})


def _state(street) -> tuple:
    db.session.expire_all()
    with all_tenants():
        endpoints = db.session.execute(select(WebhookEndpoint.id, WebhookEndpoint.disabled_at)).all()
        deliveries = db.session.scalar(select(func.count(WebhookDelivery.id)))
    return sorted(endpoints), deliveries, len(_audit("webhook.created") + _audit("webhook.disabled")
                                             + _audit("webhook.replayed"))


def _routes(street, shop, endpoint, delivery) -> list[tuple[str, str]]:
    base = street.shop_url(shop)
    return [("GET", f"{base}/{endpoint.id}"), ("POST", f"{base}/{endpoint.id}/disable"),
            ("POST", f"{base}/{endpoint.id}/deliveries/{delivery.id}/replay")]


def test_another_shops_endpoint_or_delivery_is_not_found(street, as_user):
    fruits = _subscribed(street, street.fruit)
    teas = _subscribed(street, street.tea)
    operators = _subscribed(street, None)
    deliveries = {d.endpoint_id: d for d in _emit(street.tenant, street.tea)}
    fruit_delivery = next(d for d in _emit(street.tenant, street.fruit) if d.endpoint_id == fruits.id)
    owner = as_user("owner@shangdu.example")
    before = _state(street)
    # The tea shop's and the operator's endpoints under the fruit shop's URL.
    for endpoint in (teas, operators):
        for method, url in _routes(street, street.fruit, endpoint, deliveries[endpoint.id]):
            assert _request(owner, method, url).status_code == 404, (method, url)
    # The fruit shop's endpoint with another endpoint's delivery.
    replay = street.shop_url(rest=f"/{fruits.id}/deliveries/{deliveries[teas.id].id}/replay")
    assert _request(owner, "POST", replay).status_code == 404
    # The tea shop's own URLs are not the fruit shop owner's to open.
    for method, url in _routes(street, street.tea, teas, deliveries[teas.id]):
        assert _request(owner, method, url).status_code == 403, (method, url)
    assert _state(street) == before
    assert owner.get(street.shop_url(rest=f"/{fruits.id}")).status_code == 200
    assert fruit_delivery.event_id in owner.get(street.shop_url(rest=f"/{fruits.id}")).get_data(as_text=True)


def test_another_tenants_endpoint_is_not_found(street, as_user, make_shop, make_user):
    same_slug = make_shop(street.other, slug="fruit", name_zh="银基水果")
    with tenant_scope(street.other):
        theirs = webhooks.subscribe(street.other, same_slug, PUBLIC_URL, ["order.created"], actor_id=None)
        db.session.commit()
    [delivery] = _emit(street.other, same_slug)
    owner = as_user("owner@shangdu.example")
    before = _state(street)
    for method, url in _routes(street, street.fruit, theirs, delivery):
        assert _request(owner, method, url).status_code == 404, (method, url)
    assert _state(street) == before


def test_staff_may_not_open_the_webhook_pages(street, as_user):
    endpoint = _subscribed(street, street.fruit)
    [delivery] = _emit(street.tenant, street.fruit)
    staff = as_user("staff@shangdu.example")
    shop_page = staff.get(f"/merchant/{street.tenant.slug}/fruit/").get_data(as_text=True)
    assert street.shop_url() not in shop_page
    before = _state(street)
    for method, url in [("GET", street.shop_url()), ("POST", street.shop_url()),
                        *_routes(street, street.fruit, endpoint, delivery)]:
        assert _request(staff, method, url).status_code == 403, (method, url)
    assert _state(street) == before


def test_the_pages_use_a_fixed_number_of_queries(street, as_user, count_queries):
    endpoint = _subscribed(street, street.fruit)
    owner = as_user("owner@shangdu.example")
    deliveries_page, list_page = street.shop_url(rest=f"/{endpoint.id}"), street.shop_url()

    def load(url: str) -> int:
        with count_queries() as queries:
            assert owner.get(url).status_code == 200
        return len(queries)

    for n in range(3):
        _emit(street.tenant, street.fruit, number=f"2026120100{n:02d}")
    load(deliveries_page)  # the tenant is now in the shared cache, as on every request after a worker's first
    few = load(deliveries_page)
    for n in range(55):
        _emit(street.tenant, street.fruit, number=f"2026120199{n:02d}")
    with tenant_scope(street.tenant):  # each has been tried once
        for delivery in db.session.scalars(select(WebhookDelivery)):
            delivery.tries.append(WebhookAttempt(tenant_id=street.tenant.id, status_code=503, error="维护中"))
            delivery.attempts, delivery.status = 1, "failed"
        db.session.commit()
    assert load(deliveries_page) == few
    page = owner.get(deliveries_page).get_data(as_text=True)
    assert page.count('class="webhook-delivery ') == 50

    # The list, too, counts every endpoint's deliveries at once.
    one = load(list_page)
    for n in range(4):
        _subscribed(street, street.fruit, f"https://93.184.216.{n + 40}/hook")
        _emit(street.tenant, street.fruit, number=f"20261202000{n}")
    assert load(list_page) == one
    assert owner.get(list_page).get_data(as_text=True).count('class="webhook-endpoint"') == 5
