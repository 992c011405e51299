"""``flask reports export | submit`` and ``flask api token-statistics``."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from marketplace.api.models import StatisticsToken
from marketplace.extensions import db
from marketplace.reports.models import FrozenReturn, StatisticsReturn


def test_export_writes_a_tenants_xlsx_and_the_citys_csv(app, city, tmp_path):
    runner = app.test_cli_runner()
    target = tmp_path / "street.xlsx"
    result = runner.invoke(args=["reports", "export", "--period", "2026-11", "--format", "xlsx",
                                 "--tenant", "stat-street", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert load_workbook(io.BytesIO(target.read_bytes())).sheetnames == ["总表", "按日", "按商品类目", "指标解释"]
    result = runner.invoke(args=["reports", "export", "--period", "2026-11", "--format", "csv", "--output", "-"])
    assert result.exit_code == 0 and "# 按租户" in result.stdout


def test_export_refuses_a_bad_period_or_tenant_with_a_message(app, city):
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["reports", "export", "--period", "2026-13", "--output", "-"])
    assert bad.exit_code == 2 and "2026-13" in bad.output
    unknown = runner.invoke(args=["reports", "export", "--period", "2026-11", "--tenant", "nowhere", "--output", "-"])
    assert unknown.exit_code == 2 and "nowhere" in unknown.output


def test_submit_archives_an_ended_month_only(app, city):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["reports", "submit", "--period", "2026-10"]).exit_code == 0
    running = runner.invoke(args=["reports", "submit", "--period", "2099-01"])
    assert running.exit_code == 1 and "尚未结束" in running.output
    assert [r.period for r in db.session.query(StatisticsReturn)] == ["2026-10"]
    archived = db.session.query(StatisticsReturn).one()
    archived.note = "改一改"  # a submitted return is never edited: a correction is a new version
    with pytest.raises(FrozenReturn):
        db.session.flush()
    db.session.rollback()


def test_a_platform_admin_issues_the_office_a_token_once(app, city):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api", "token-statistics", "--admin", city.users["admin"].email, "市统计局"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("occstat_")
    assert db.session.query(StatisticsToken).one().name == "市统计局"
    refused = runner.invoke(args=["api", "token-statistics", "--admin", city.users["street_operator"].email, "x"])
    assert refused.exit_code == 1 and "平台管理员" in refused.output


def test_the_identity_report_lists_every_active_shop_and_is_archived_once_the_half_is_over(app, city, tmp_path):
    runner = app.test_cli_runner()
    target = tmp_path / "identity.xlsx"
    result = runner.invoke(args=["reports", "identity", "--half", "2026-H1", "--output", str(target), "--submit"])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(io.BytesIO(target.read_bytes())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("租户", "网店名称", "网店网址", "经营者名称")
    assert {row[1] for row in rows[1:]} >= {"店s1", "店l1", "店m1"}
    assert "https://stat-street.shangdu.test/s/s1/" in {row[2] for row in rows[1:]}
    saved = db.session.query(StatisticsReturn).filter_by(kind="merchant_identity").one()
    assert (saved.period, saved.version, saved.form["number"]) == ("2026-H1", 1, "SD-ID-01")
    early = runner.invoke(args=["reports", "identity", "--half", "2099-H1", "--output", str(target), "--submit"])
    assert early.exit_code == 1 and "尚未结束" in early.output
    bad = runner.invoke(args=["reports", "identity", "--half", "2026-H3"])
    assert bad.exit_code == 2
