"""A pesticide seller downloads its sales ledger from the merchant console (农药管理条例 Art. 27)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from marketplace.accounts.models import Role
from marketplace.core.db import utcnow
from tests.fixtures.factories import PASSWORD
from tests.spec.test_pd import agri_market, buy  # noqa: F401 (the fixture)


@pytest.fixture
def owner_client(client, agri_market, make_user):  # noqa: F811
    _tenant, shop, _products = agri_market
    make_user("owner@agri.example", role=Role.merchant_owner, shop=shop)
    client.login("owner@agri.example", PASSWORD)
    return client


def _url(agri_market, suffix: str = "") -> str:  # noqa: F811
    tenant, shop, _products = agri_market
    return f"/merchant/{tenant.slug}/{shop.slug}/pesticide-ledger{suffix}"


def _table(response) -> list[list[str]]:
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_the_owner_downloads_the_last_two_years_of_pesticide_sales(owner_client, agri_market, make_user):  # noqa: F811
    tenant, _shop, products = agri_market
    order = buy(tenant, make_user, {products["pesticide"]: 3, products["fertiliser"]: 1}, "console-ledger")

    page = owner_client.get(_url(agri_market))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "农药销售台账" in text and "1 条销售记录" in text and "pesticide-ledger.csv" in text

    download = owner_client.get(_url(agri_market, ".csv"))
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    table = _table(download)
    assert table[0][-1] == "购买人"
    assert [row[1:] for row in table[1:]] == [
        [order.number, "10%吡虫啉可湿性粉剂", "100 g", "3 袋", "鲁丰农化有限公司", "李大田"]]


def test_a_chosen_period_holds_only_its_sales(owner_client, agri_market, make_user):  # noqa: F811
    tenant, _shop, products = agri_market
    buy(tenant, make_user, {products["pesticide"]: 1}, "console-ledger-2")
    today = utcnow().date()
    before = {"from": (today - timedelta(days=40)).isoformat(), "to": (today - timedelta(days=10)).isoformat()}
    assert len(_table(owner_client.get(_url(agri_market, ".csv"), query_string=before))) == 1  # the header only
    around = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    assert len(_table(owner_client.get(_url(agri_market, ".csv"), query_string=around))) == 2


@pytest.mark.parametrize(("query", "message"), [
    ({"from": "2026-13-01", "to": "2026-12-31"}, "日期格式不正确"),
    ({"from": "２０２６-01-01", "to": "2026-12-31"}, "日期格式不正确"),  # full-width digits
    ({"from": "2026-01-01"}, "日期格式不正确"),
    ({"from": "0001-01-01", "to": "0001-12-31"}, "2000 年至 2100 年"),
    ({"from": "2026-01-01", "to": "9999-12-31"}, "2000 年至 2100 年"),
    ({"from": "2026-12-01", "to": "2026-01-01"}, "不能早于"),
    ({"from": "2020-01-01", "to": "2026-12-31"}, "最多导出三年"),
])
def test_a_period_that_cannot_be_read_is_explained_not_downloaded(owner_client, agri_market, query, message):  # noqa: F811
    for suffix in ("", ".csv"):
        response = owner_client.get(_url(agri_market, suffix), query_string=query)
        assert response.status_code == 400
        assert response.mimetype == "text/html" and message in response.get_data(as_text=True)


def test_only_the_shops_own_people_download_it(client, agri_market, make_user, make_shop):  # noqa: F811
    tenant, _shop, _products = agri_market
    assert client.get(_url(agri_market, ".csv")).status_code == 302  # to the sign-in page
    other = make_shop(tenant, name_zh="别家农资")
    make_user("other@agri.example", role=Role.merchant_owner, shop=other)
    client.login("other@agri.example", PASSWORD)
    assert client.get(_url(agri_market, ".csv")).status_code == 403
    assert client.get(_url(agri_market)).status_code == 403
