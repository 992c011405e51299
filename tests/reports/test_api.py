"""``/api/v1/statistics`` for the statistics office: its own token, aggregates only, small cells null."""

from __future__ import annotations

import pytest

from marketplace.api import auth, scopes
from marketplace.api.models import StatisticsToken
from marketplace.extensions import db


@pytest.fixture
def office_token(city):
    token = auth.issue_statistics_token("市统计局 电子商务处", city.users["admin"])
    db.session.commit()
    return token


def _get(client, url, token):
    return client.get(url, headers={"Authorization": f"Bearer {token}"} if token else {})


def test_the_office_reads_the_month_by_tenant_with_the_market_suppressed(client, city, office_token):
    response = _get(client, "/api/v1/statistics?period=2026-11&by=tenant", office_token)
    body = response.get_json()
    assert response.status_code == 200
    assert (body["period"], body["by"], body["currency"], body["money_unit"], body["min_cell"]) == \
        ("2026-11", "tenant", "CNY", "fen", 3)
    rows = {row["key"]: row["values"] for row in body["rows"]}
    assert rows["stat-market"]["gmv"] is None and rows["stat-market"]["buyers"] is None
    assert body["total"]["orders"] == 11
    assert len(body["series"]) == 30
    assert body["form"]["number"] == "SD-EC-01"


def test_by_category_and_by_district(client, city, office_token):
    categories = _get(client, "/api/v1/statistics?period=2026-11&by=category", office_token).get_json()
    assert "水果" in {row["label"] for row in categories["rows"]}
    districts = _get(client, "/api/v1/statistics?period=2026-Q4&by=district", office_token).get_json()
    assert {row["key"] for row in districts["rows"]} == {"二七区", "金水区", "惠济区"}
    assert districts["period_kind"] == "quarter"


def test_no_token_a_shop_token_or_a_revoked_token_is_refused(client, city, office_token):
    assert _get(client, "/api/v1/statistics?period=2026-11", None).status_code == 401
    shop_token = auth.issue_token(city.users["owner_s1"], city.shops["s1"], "ERP", scopes.ALL_SCOPES)
    db.session.commit()
    refused = _get(client, "/api/v1/statistics?period=2026-11", shop_token)
    assert refused.status_code == 401 and refused.get_json()["code"] == "token_invalid"
    row = db.session.query(StatisticsToken).one()
    row.revoked_at = row.created_at
    db.session.commit()
    assert _get(client, "/api/v1/statistics?period=2026-11", office_token).status_code == 401


def test_bad_queries_are_problems_with_a_stable_code(client, city, office_token):
    for query in ("period=2026-13", "period=x", "", "period=2026-11&by=buyer"):
        response = _get(client, f"/api/v1/statistics?{query}", office_token)
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json" and response.get_json()["code"] == "validation_failed"


def test_only_a_platform_admin_issues_a_statistics_token_and_only_its_hash_is_kept(city):
    with pytest.raises(auth.TokenError):
        auth.issue_statistics_token("市统计局", city.users["street_operator"])
    with pytest.raises(auth.TokenError):
        auth.issue_statistics_token("  ", city.users["admin"])
    token = auth.issue_statistics_token("市统计局", city.users["admin"])
    stored = db.session.query(StatisticsToken).one()
    assert token.startswith("occstat_") and stored.token_sha256 == auth.hash_token(token) and token not in str(
        vars(stored))


def test_the_operation_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/statistics"]["get"]
    assert operation["security"] == [{"statisticsBearer": []}]
    assert {"401", "404", "422"} <= set(operation["responses"])
    assert "statisticsBearer" in document["components"]["securitySchemes"]
