"""docs/api.md, followed to the letter against the running demo: a merchant syncs stock from a spreadsheet with the
documented script, and receives order webhooks that the documented recipe verifies.

The code is taken from the document itself (its Python blocks), not retyped here: when the document and the
platform part ways, this test says so.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.orders.live_server import PROJECT_ROOT, Browser
from tests.webhooks.conftest import Receiver

DOC = PROJECT_ROOT / "docs" / "api.md"
TENANT, SHOP = "nongzi-market", "suifeng-fertiliser"
MERCHANT = ("zhang.guoqiang@suifeng-agri.shangdu.example", "merchant-demo-2026")
RESIDENT = ("li.mingxuan@shangdu.example", "resident-demo-2026")

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def python_block(heading: str) -> str:
    """The first ```python block of the document's section ``heading``."""
    section = DOC.read_text(encoding="utf-8").split(f"## {heading}", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def api_get(site, path: str) -> dict:
    with urllib.request.urlopen(f"{site.url}/api/v1{path}", timeout=30) as answer:
        return json.load(answer)


def shop_products(site) -> list[dict]:
    """The shop's products as anyone reads them, with their variants (SKU and stock)."""
    listed = api_get(site, f"/tenants/{TENANT}/products?shop={SHOP}&limit=5")["items"]
    return [api_get(site, f"/tenants/{TENANT}/products/{item['id']}") for item in listed]


def stock_by_sku(site) -> dict[str, int]:
    return {variant["sku"]: variant["stock"] for product in shop_products(site) for variant in product["variants"]}


def run_sync(script: Path, key: str, site) -> subprocess.CompletedProcess:
    env = {"SHANGDU_API": f"{site.url}/api/v1", "SHANGDU_API_KEY": key, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, script.name], cwd=script.parent, env=env, capture_output=True, text=True,
                          timeout=120)


def write_sheet(path: Path, rows: list[tuple[str, int]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as sheet:
        writer = csv.writer(sheet)
        writer.writerow(["sku", "stock"])
        writer.writerows(rows)


def test_the_stock_sheet_script_of_the_document_sets_the_shops_stock(live_demo_site, tmp_path):
    site = live_demo_site
    issued = site.flask("api", "issue-token", "--tenant", TENANT, "--shop", SHOP, "--user", MERCHANT[0],
                        "--scope", "stock:write", "库存表同步")
    key = re.search(r"occ_[A-Za-z0-9_-]+", issued).group(0)
    script = tmp_path / "sync_stock.py"
    script.write_text(python_block("Worked example"), encoding="utf-8")
    before = stock_by_sku(site)
    first, second = sorted(before)[:2]

    write_sheet(tmp_path / "stock.csv", [(first, before[first] + 17), (second, 3)])
    done = run_sync(script, key, site)
    assert done.returncode == 0, done.stderr
    assert "updated 2 SKUs" in done.stdout
    after = stock_by_sku(site)
    assert after[first] == before[first] + 17 and after[second] == 3
    assert {sku: n for sku, n in after.items() if sku not in (first, second)} == \
        {sku: n for sku, n in before.items() if sku not in (first, second)}

    # A sheet with a SKU the shop does not have: the script stops with the API's reason, and nothing changed.
    write_sheet(tmp_path / "stock.csv", [(first, 1), ("NO-SUCH-SKU", 5)])
    refused = run_sync(script, key, site)
    assert refused.returncode == 1
    assert "items.1.sku" in refused.stderr
    assert stock_by_sku(site) == after


def test_order_webhooks_arrive_signed_and_the_documented_recipe_verifies_them(live_demo_site):
    site = live_demo_site
    namespace: dict = {}
    exec(python_block("Webhooks: the platform calls you"), namespace)  # noqa: S102 - the document's own recipe
    verify = namespace["verify"]
    receiver = Receiver()
    try:
        # The merchant subscribes a URL to order.created in the console and copies the secret shown once.
        merchant = Browser(int(site.url.rsplit(":", 1)[1]))
        merchant.login(*MERCHANT)
        page_url = f"/merchant/{TENANT}/{SHOP}/webhooks"
        form = merchant.get(page_url)
        added = merchant.post(page_url, {"csrf_token": form.csrf_token(), "url": f"{receiver.url}/hooks",
                                         "events": "order.created", "description": "ERP 订单"})
        assert added.status == 200, added.summary()
        secret = re.search(r'id="webhook-secret"[^>]*value="([^"]+)"', added.body).group(1)

        # A resident orders from the shop in the storefront.
        product = shop_products(site)[0]
        variant = next(v for v in product["variants"] if v["stock"] >= product["moq"])
        resident = Browser(merchant.port)
        resident.login(*RESIDENT)
        page = resident.get(f"/t/{TENANT}/p/{product['id']}")
        if page.status in (301, 302, 308):
            page = resident.get(page.location)
        resident.post(f"/t/{TENANT}/cart/add", {"csrf_token": page.csrf_token(), "variant_id": str(variant["id"]),
                                                "quantity": str(product["moq"])})
        checkout = f"/t/{TENANT}/checkout"
        review = resident.get(checkout)
        placed = resident.post(checkout, review.form_fields(checkout))
        assert placed.status in (302, 303), placed.summary()

        # The deliveries go out (cron runs this every minute) and arrive signed.
        site.flask("webhooks", "deliver")
        [delivery] = receiver.requests
        body = json.loads(delivery["body"])
        assert delivery["path"] == "/hooks" and body["type"] == "order.created"
        assert [line["sku"] for line in body["data"]["lines"]] == [variant["sku"]]
        signature = delivery["headers"]["Shangdu-Signature"]
        assert verify(secret, signature, delivery["body"])
        assert not verify(secret, signature, delivery["body"].replace(b'"order.created"', b'"order.paid"'))
        assert not verify("whsec_someone-else", signature, delivery["body"])
    finally:
        receiver.close()
