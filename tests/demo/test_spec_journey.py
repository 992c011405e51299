"""Issue 9's "done means", on the demo: a platform admin launches a new market from the template in the console
and configures its providers, runs the conformance check and reads which requirements still fail and why; the three
demo tenants pass every "must" (`flask spec check` exits 0); the statistics page draws its charts and the XLSX
return opens with its sheets."""

from __future__ import annotations

import html
import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.tenancy.models import Tenant, TenantStatus
from tests.console.test_tenant_launch import _launch
from tests.demo.test_order_journey import _text

ADMIN = ("admin@shangdu.example", "admin-demo-2026")


def test_an_admin_launches_a_market_and_reads_what_it_still_lacks(demo_city, make_client):
    admin = make_client()
    admin.login(*ADMIN)
    assert "search" in _text(admin.get("/operator/new?kind=market"))  # each module's providers, with settings
    form = _launch(kind="market", slug="erqi-fruit-market", name_zh="二七水果批发市场", name_en="Erqi Fruit Market",
                   theme="market", provider_delivery="pickup", m_delivery__pickup__hold_days="5")
    response = admin.submit("/operator/new", form)
    assert response.status_code == 303, _text(response)
    db.session.expire_all()
    market = db.session.scalar(select(Tenant).where(Tenant.slug == "erqi-fruit-market"))
    assert market.status == TenantStatus.draft and market.kind == "market"

    page = "/operator/erqi-fruit-market/conformance"
    assert admin.submit(f"{page}/run", {}, page_url=page).status_code in (302, 303)
    report = html.unescape(_text(admin.get(page)))
    # A market launched a moment ago has no service agreement or trading rules yet: PC-1 fails, and says why.
    assert "PC-1" in report and "未通过" in report
    assert re.search(r"PC-1.{0,400}(服务协议|交易规则)", report, re.S)
    assert "/conformance/statement" not in report and "不能签发符合性声明" in report  # none while a must fails

    # Going live is refused with the same reasons.
    live = admin.submit("/operator/erqi-fruit-market/go-live", {}, page_url="/operator/erqi-fruit-market/",
                        follow_redirects=True)
    assert "还不能上线" in html.unescape(_text(live))


def test_the_demo_tenants_pass_every_must(demo_city, app):
    result = app.test_cli_runner().invoke(args=["spec", "check"])
    assert result.exit_code == 0, result.output
    for slug in ("dehua-street", "nongzi-market", "apparel-market"):
        summary = re.search(rf"-- {slug}: (.*)", result.output).group(1)
        assert "error 0" in summary and summary.endswith("failing musts: none"), summary


def test_the_statistics_page_draws_charts_and_the_return_opens_in_a_spreadsheet(demo_city, make_client):
    operator = make_client()
    operator.login("operator@nongzi-market.shangdu.example", "operator-demo-2026")
    page = _text(operator.get("/operator/nongzi-market/reports?period=2026-11"))
    assert "<svg" in page
    admin = make_client()
    admin.login(*ADMIN)
    city = _text(admin.get("/operator/reports?period=2026-11"))
    assert city.count("<svg") >= 2
    download = admin.get("/operator/reports?period=2026-11&format=xlsx")
    assert download.status_code == 200
    workbook = load_workbook(io.BytesIO(download.data))
    assert {"总表", "按日", "指标解释"} <= set(workbook.sheetnames)
