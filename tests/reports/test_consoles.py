"""The statistics pages: each person sees the figures of what they run, drawn as SVG, and downloads them."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.fixtures.factories import PASSWORD


def _login(client, user):
    client.login(user.email, PASSWORD)
    return client


def test_the_platform_admin_sees_the_city_by_tenant_with_charts_and_no_script(client, city):
    page = _login(client, city.users["admin"]).get("/operator/reports?period=2026-11")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "统计街" in html and "统计巷" in html and "统计市场" in html
    assert html.count("<svg") >= 4 and "<script" not in html
    assert "—" in html  # the one-shop market is suppressed


def test_a_tenant_operator_may_not_open_the_city_figures(client, city):
    assert _login(client, city.users["street_operator"]).get("/operator/reports").status_code == 403


def test_the_operator_of_a_street_sees_its_own_figures_and_is_refused_the_market(client, city):
    _login(client, city.users["street_operator"])
    own = client.get("/operator/stat-street/reports?period=2026-11")
    assert own.status_code == 200 and "水果" in own.get_data(as_text=True)
    other = client.get("/operator/stat-market/reports?period=2026-11")
    assert other.status_code == 404 and "种子" not in other.get_data(as_text=True)


def test_a_merchant_sees_its_own_shop_unsuppressed(client, city):
    _login(client, city.users["owner_s1"])
    page = client.get("/merchant/stat-street/s1/reports?period=2026-11")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    total = city.orders["nov-s1-1"].total + city.orders["nov-s1-4"].total
    assert f"¥{total / 100:,.2f}" in html
    assert client.get("/merchant/stat-street/s2/reports").status_code == 403
    assert client.get("/merchant/stat-market/s1/reports").status_code == 404  # no s1 in the market


def test_a_bad_period_is_a_message_not_an_error(client, city):
    _login(client, city.users["admin"])
    for bad in ("2026-13", "november", "2026-02-30", "1900", "2026-11&format=pdf"):
        page = client.get(f"/operator/reports?period={bad}")
        assert page.status_code == 400, bad
        assert "统计期" in page.get_data(as_text=True) or "格式" in page.get_data(as_text=True)


def test_the_xlsx_download_has_a_sheet_per_breakdown_and_the_definitions(client, city):
    _login(client, city.users["admin"])
    response = client.get("/operator/reports?period=2026-11&format=xlsx")
    assert response.status_code == 200
    assert "statistics-city-2026-11.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["总表", "按日", "按租户", "按区域", "按商品类目", "按交易类型", "指标解释"]
    summary = {row[0]: row[1] for row in book["总表"].iter_rows(values_only=True) if row and row[0]}
    assert summary["表号"] == "SD-EC-01" and summary["统计期"] == "2026-11"
    tenants = {row[0]: row[1] for row in book["按租户"].iter_rows(min_row=2, values_only=True)}
    assert tenants["统计市场"] == "—"
    definitions = [row[0] for row in book["指标解释"].iter_rows(values_only=True)]
    assert "实物商品网上零售额" in definitions


def test_the_csv_download_is_the_same_return_in_sections(client, city):
    _login(client, city.users["street_operator"])
    response = client.get("/operator/stat-street/reports?period=2026-11&format=csv")
    text = response.data.decode("utf-8-sig")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "# 总表" in text and "# 按商品类目" in text and "# 指标解释" in text


def test_submitting_a_month_archives_it_and_a_second_submission_is_a_new_version(client, city):
    from marketplace.reports import archive

    _login(client, city.users["admin"])
    page = "/operator/reports?period=2026-11"
    first = client.submit("/operator/reports/submit?period=2026-11", {"note": ""}, page_url=page)
    second = client.submit("/operator/reports/submit?period=2026-11", {"note": "更正"}, page_url=page)
    assert first.status_code == second.status_code == 303
    saved = archive.submitted("2026-11")
    assert [(r.version, r.note) for r in saved] == [(1, ""), (2, "更正")]
    assert saved[0].form["number"] == "SD-EC-01"
    assert saved[0].figures["tenant"]["total"]["orders"] == 11
    assert "第 2 版" in client.get(page).get_data(as_text=True)


def test_a_month_submitted_by_someone_else_at_the_same_moment_is_a_message_not_an_error(client, city):
    from marketplace.core.db import utcnow
    from marketplace.reports import archive
    from marketplace.reports.models import StatisticsReturn
    from tests.fixtures.races import row_lands_after

    _login(client, city.users["admin"])
    page = "/operator/reports?period=2026-11"
    stop = row_lands_after("max(statistics_returns.version)", StatisticsReturn.__table__, dict(
        kind="statistics", period="2026-11", version=1, form={}, figures={}, submitted_at=utcnow(), note="同事报送"))
    try:
        response = client.submit("/operator/reports/submit?period=2026-11", {"note": ""}, page_url=page,
                                 follow_redirects=True)
    finally:
        stop()
    assert response.status_code == 200
    assert "2026-11 的第 1 版刚刚由他人报送" in response.get_data(as_text=True)
    assert archive.submitted("2026-11") == []  # nothing half-written is left behind


def test_submitting_a_month_is_in_the_platform_audit_log(client, city):
    from marketplace.core.audit import AuditEntry
    from marketplace.extensions import db

    admin = city.users["admin"]
    _login(client, admin)
    client.submit("/operator/reports/submit?period=2026-11", {"note": "首次"},
                  page_url="/operator/reports?period=2026-11")
    db.session.expire_all()
    entry = db.session.query(AuditEntry).filter_by(action="statistics.return_submitted").one()
    assert (entry.actor_id, entry.tenant_id, entry.target_kind) == (admin.id, None, "statisticsreturn")
    assert entry.details == {"period": "2026-11", "version": 1, "note": "首次"}
    assert "报送统计月报" in client.get("/operator/audit").get_data(as_text=True)
