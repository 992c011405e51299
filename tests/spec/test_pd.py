"""PD — agricultural-input listings carry what the product's legal label carries.

An agricultural-inputs market with a pesticide, a fertiliser and a seed on sale, each with a complete label
and a label photo: every PD requirement passes. Each failing case breaks one thing about that market the way
real data gets broken (an old listing, an import that skipped a column, a licence that lapsed) and shows the
requirement fail, naming the listing.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm.attributes import flag_modified

from marketplace.accounts.models import Role
from marketplace.catalog import services as catalog
from marketplace.catalog.models import ProductImage, ProductStatus, ShopLicence
from marketplace.extensions import db
from marketplace.orders import pesticide_ledger
from marketplace.orders import services as orders
from marketplace.orders.models import OrderStatus
from marketplace.spec.model import Status, requirements
from marketplace.spec.runner import run
from marketplace.tenancy.context import tenant_scope
from tests.orders.test_place_order import fill
from tests.orders.test_returns import record

PESTICIDE = {
    "pesticide_category": "insecticide", "registration_no": "PD20080005",
    "production_licence_no": "农药生许（鲁）0123", "active_ingredient": "吡虫啉", "active_content_pct": "10",
    "formulation": "WP", "toxicity": "low_toxic", "use_scope": "小麦 蚜虫", "dosage": "每亩 10–20 克，兑水喷雾",
    "restricted_use": False, "pre_harvest_interval_days": 14, "quality_standard_no": "GB/T 28141-2011",
    "net_content": "100 g", "manufacturer": "鲁丰农化有限公司", "manufacturer_address": "山东省济南市历城区工业路 1 号",
    "production_date": "2026-09-01", "batch_no": "LF260901", "shelf_life_months": 24,
    "precautions": "施药时穿戴防护用品，避免在开花植物花期使用。", "first_aid": "误服立即携标签就医。",
    "storage_transport": "阴凉干燥处保存，远离食品和饲料。", "registrant": "鲁丰农化有限公司 0531-88880000",
}
FERTILISER = {
    "fertiliser_kind": "compound", "n_pct": "15", "p2o5_pct": "15", "k2o_pct": "15", "total_nutrient_pct": "45",
    "registration_no": "农肥（2023）准字1234号", "executive_standard": "GB/T 15063-2020", "net_content": "40 kg",
    "manufacturer": "中原丰收肥业有限公司", "manufacturer_address": "河南省郑州市中牟县农资路 8 号",
    "production_date": "2026-09-12", "batch_no": "ZY260912", "shelf_life_months": 36,
    "usage": "作底肥每亩 40–50 公斤。", "precautions": "避免与种子直接接触。", "storage": "阴凉干燥处存放，防潮。",
}
SEED = {
    "crop": "小麦", "variety_name": "百农207", "seed_class": "conventional", "approval_no": "国审麦20160003",
    "producer": "河南禾岭种业有限公司", "producer_licence_no": "B（豫）农种许字（2019）第0126号",
    "producer_address": "河南省新乡市红旗区种业路 6 号", "quarantine_cert_no": "豫检2026-0318", "purity_pct": "99",
    "germination_pct": "85", "moisture_pct": "13", "cleanliness_pct": "99", "suitable_region": "黄淮冬麦区南片，10 月上中旬播种",
    "gmo": False, "net_content": "25 kg", "production_date": "2026-08-20", "batch_no": "HL260820",
    "test_date": "2026-08-25", "warranty_months": 12,
}
TITLES = {"pesticide": "10%吡虫啉可湿性粉剂", "fertiliser": "硫酸钾型复合肥 15-15-15", "seed": "百农207 小麦种子"}


@pytest.fixture
def agri_market(app_ctx, make_tenant, make_shop, make_category, make_product, make_user):
    """A market with one shop selling a pesticide, a fertiliser and a seed, each fully labelled and pictured."""
    tenant = make_tenant(kind="market", slug="agri-market")
    shop = make_shop(tenant, name_zh="惠农农资")
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    with tenant_scope(tenant):
        for kind, number in (("pesticide_business", "农药经许（豫）41010220001"),
                             ("seed_business", "B（豫）农种许字（2019）第0126号")):
            catalog.verify_licence(catalog.record_licence(shop, kind, number, None), operator)
        db.session.commit()
    products = {}
    for kind, attributes in (("pesticide", PESTICIDE), ("fertiliser", FERTILISER), ("seed", SEED)):
        category = make_category(tenant, product_type=f"agri_inputs.{kind}")
        products[kind] = make_product(shop, category=category, title=TITLES[kind], attributes=attributes,
                                      unit="bag", sku=f"AGRI-{kind.upper()}")
    with tenant_scope(tenant):
        for product in products.values():
            db.session.add(ProductImage(product_id=product.id, sha256="0" * 64, width=800, height=800,
                                        alt_zh=f"{product.title} 标签"))
        db.session.commit()
    return tenant, shop, products


def decided(tenant, requirement_id: str, now: datetime | None = None):
    return run(tenant, now=now, only={requirement_id}).results[0].finding


def change(tenant, product, *, drop=(), title: str | None = None, **values):
    """Rewrite a listing the way old or imported data can be (no publishing checks on the way)."""
    with tenant_scope(tenant):
        attributes = {k: v for k, v in product.attributes.items() if k not in drop}
        attributes.update(values)
        product.attributes = attributes
        flag_modified(product, "attributes")
        if title is not None:
            product.title = title
        db.session.commit()


ALL_PD = [r for r in requirements() if r.startswith("PD-")]


def test_the_catalogue_has_the_seventeen_pd_requirements():
    assert [f"PD-{n}" for n in range(1, 18)] == ALL_PD


@pytest.mark.parametrize("requirement_id", ALL_PD)
def test_a_fully_labelled_agri_market_passes(agri_market, requirement_id):
    tenant, _shop, _products = agri_market
    finding = decided(tenant, requirement_id)
    assert finding.status == Status.passed, finding.detail


@pytest.mark.parametrize("requirement_id", ALL_PD)
def test_a_tenant_selling_no_agricultural_inputs_is_not_concerned(app_ctx, make_tenant, make_shop, make_product,
                                                                   requirement_id):
    tenant = make_tenant()
    make_product(make_shop(tenant), title="红富士苹果")
    finding = decided(tenant, requirement_id)
    assert finding.status == Status.not_applicable
    assert "不适用" in finding.detail


def test_a_draft_agri_input_does_not_make_the_requirements_apply(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["seed"], drop=("batch_no",))
    with tenant_scope(tenant):
        catalog.unpublish_product(products["seed"])
        db.session.commit()
    assert decided(tenant, "PD-17").status == Status.not_applicable


# -- 10.1 every agricultural input ------------------------------------------------------------------------

def test_pd1_a_pesticide_without_its_makers_address_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["pesticide"], drop=("manufacturer_address",))
    finding = decided(tenant, "PD-1")
    assert finding.status == Status.failed
    assert "生产企业地址" in finding.detail
    assert finding.evidence == [f"{products['pesticide'].id} {TITLES['pesticide']}（生产企业地址）"]


def test_pd1_a_seed_without_a_production_date_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["seed"], drop=("production_date",))
    assert decided(tenant, "PD-1").status == Status.failed


def test_pd2_a_listing_without_a_label_photo_fails(agri_market):
    tenant, _shop, products = agri_market
    with tenant_scope(tenant):
        products["fertiliser"].images[0].alt_zh = "复合肥包装正面"
        db.session.commit()
    finding = decided(tenant, "PD-2")
    assert finding.status == Status.failed
    assert finding.evidence == [f"{products['fertiliser'].id} {TITLES['fertiliser']}"]


# -- 10.2 pesticides --------------------------------------------------------------------------------------

def test_pd3_a_pesticide_without_precautions_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["pesticide"], drop=("precautions", "dosage"))
    finding = decided(tenant, "PD-3")
    assert finding.status == Status.failed
    assert "用药量及使用方法" in finding.detail and "使用技术要求和注意事项" in finding.detail


def test_pd3_a_pesticide_type_with_nowhere_to_write_the_precautions_fails(agri_market, app, monkeypatch):
    """A platform still running an older agricultural-inputs pack: merchants cannot fill in what it lacks."""
    from dataclasses import replace

    from marketplace.catalog.builtin_packs import agri_inputs

    tenant, _shop, _products = agri_market
    older = replace(agri_inputs.PESTICIDE, attributes=tuple(
        a for a in agri_inputs.PESTICIDE.attributes if a.name != "precautions"))
    pack = replace(agri_inputs.PACK, product_types=tuple(
        older if t.id == older.id else t for t in agri_inputs.PACK.product_types))
    monkeypatch.setitem(app.extensions["catalog_packs"], "agri_inputs", pack)
    finding = decided(tenant, "PD-3")
    assert finding.status == Status.failed
    assert finding.evidence == ["农药：precautions"]


def test_pd4_a_pesticide_without_first_aid_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["pesticide"], drop=("first_aid",))
    finding = decided(tenant, "PD-4")
    assert finding.status == Status.failed
    assert "中毒急救措施" in finding.detail


def test_pd5_a_pesticide_outside_the_categories_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["pesticide"], pesticide_category="acaricide")
    assert decided(tenant, "PD-5").status == Status.failed


def test_pd5_the_bands_and_grades_of_the_pack_are_those_of_the_label_measures(app_ctx):
    from marketplace.catalog import packs
    from marketplace.spec.checks.pd import CATEGORY_BANDS, TOXICITY_GRADES

    pesticide = packs.product_type("agri_inputs.pesticide")
    bands = {c.value: c.label_zh for c in pesticide.attribute("pesticide_category").choices}
    assert all(colour in bands[value] for value, colour in CATEGORY_BANDS.items())
    assert {c.value: c.label_zh for c in pesticide.attribute("toxicity").choices} == TOXICITY_GRADES


@pytest.mark.parametrize("number", ["LS20080005", "WL20110012", "PD85101-2", None])
def test_pd6_an_old_or_missing_registration_number_fails(agri_market, number):
    tenant, _shop, products = agri_market
    if number is None:
        change(tenant, products["pesticide"], drop=("registration_no",))
    else:
        change(tenant, products["pesticide"], registration_no=number)
    finding = decided(tenant, "PD-6")
    assert finding.status == Status.failed
    assert finding.evidence == [f"{products['pesticide'].id} {number or '—'}"]


def test_pd6_a_public_health_registration_passes(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["pesticide"], registration_no="WP20120045")
    assert decided(tenant, "PD-6").status == Status.passed


def test_pd7_a_pesticide_in_a_shop_whose_licence_expired_fails(agri_market):
    tenant, shop, _products = agri_market
    with tenant_scope(tenant):
        licence = db.session.query(ShopLicence).filter_by(shop_id=shop.id, kind="pesticide_business").one()
        licence.expires_on = date(2026, 12, 31)
        db.session.commit()
    # The licence runs out at midnight on the tenant's calendar: 16:00 UTC is midnight in Zhengzhou.
    assert decided(tenant, "PD-7", now=datetime(2026, 12, 31, 15, 59, tzinfo=UTC)).status == Status.passed
    finding = decided(tenant, "PD-7", now=datetime(2026, 12, 31, 16, 1, tzinfo=UTC))
    assert finding.status == Status.failed
    assert "农药经营许可证" in finding.detail


def test_pd7_a_pesticide_without_its_production_licence_number_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["pesticide"], drop=("production_licence_no",))
    assert decided(tenant, "PD-7").status == Status.failed


def buy(tenant, make_user, lines: dict, key: str):
    buyer = make_user(name="李大田")
    cart = fill(tenant, buyer, lines)
    with tenant_scope(tenant):
        order = orders.place_order(tenant, buyer.id, cart, key).orders[0]
        record(order, OrderStatus.paid, order.created_at)
        db.session.commit()
    return order


def test_pd8_the_pesticide_ledger_lists_every_sale_with_its_facts(agri_market, make_user):
    tenant, shop, products = agri_market
    order = buy(tenant, make_user, {products["pesticide"]: 3, products["fertiliser"]: 1}, "ledger-1")
    with tenant_scope(tenant):
        rows = pesticide_ledger.ledger_rows(shop.id, order.created_at - timedelta(days=1),
                                            order.created_at + timedelta(days=1), tenant.timezone)
        table = list(csv.reader(io.StringIO(pesticide_ledger.ledger_csv(rows).decode("utf-8-sig"))))
    assert table[0] == ["销售日期", "订单号", "农药名称", "规格", "数量", "生产企业", "购买人"]
    assert len(table) == 2  # the fertiliser is not in a pesticide ledger
    assert table[1][1:] == [order.number, TITLES["pesticide"], "100 g", "3 袋", "鲁丰农化有限公司", "李大田"]
    finding = decided(tenant, "PD-8")
    assert finding.status == Status.passed
    assert "1 条" in finding.detail


def test_pd8_a_pesticide_sale_that_kept_no_maker_fails(agri_market, make_user):
    tenant, _shop, products = agri_market
    order = buy(tenant, make_user, {products["pesticide"]: 1}, "ledger-2")
    with tenant_scope(tenant):
        line = order.lines[0]
        line.attributes = {k: v for k, v in line.attributes.items() if k != "manufacturer"}
        db.session.commit()
    finding = decided(tenant, "PD-8")
    assert finding.status == Status.failed
    assert finding.evidence == [order.number]


def _ledger_buyers(tenant, shop, order) -> list[str]:
    with tenant_scope(tenant):
        rows = pesticide_ledger.ledger_rows(shop.id, order.created_at - timedelta(days=1),
                                            order.created_at + timedelta(days=1), tenant.timezone)
    return [row.buyer for row in rows]


def test_pd8_a_buyer_who_closed_the_account_is_named_from_the_legal_hold(agri_market, make_user):
    from sqlalchemy import update

    from marketplace.accounts import closure
    from marketplace.accounts.models import User
    from tests.fixtures.factories import PASSWORD

    tenant, shop, products = agri_market
    order = buy(tenant, make_user, {products["pesticide"]: 2}, "ledger-closed")
    with tenant_scope(tenant):
        record(order, OrderStatus.completed, order.created_at + timedelta(hours=1))
        db.session.commit()
    buyer = db.session.get(User, order.buyer_id)
    email = buyer.email
    assert _ledger_buyers(tenant, shop, order) == ["李大田"]
    closure.close_account(buyer, PASSWORD)
    db.session.commit()
    assert _ledger_buyers(tenant, shop, order) == [f"李大田 {email}"]  # the account itself names nobody now
    assert decided(tenant, "PD-8").status == Status.passed

    with tenant_scope(tenant):  # a hold cleared too early (a purge run with a wrong date)
        db.session.execute(update(closure.HeldOrder).where(closure.HeldOrder.order_id == order.id)
                           .values(buyer_name="", buyer_contact=""))
        db.session.commit()
    finding = decided(tenant, "PD-8")
    assert finding.status == Status.failed
    assert finding.evidence == [order.number] and "购买人" in finding.detail


def test_pd8_fails_when_merchants_cannot_download_the_ledger(agri_market, app, monkeypatch):
    tenant, _shop, _products = agri_market
    assert decided(tenant, "PD-8").status == Status.passed
    monkeypatch.delitem(app.view_functions, pesticide_ledger.EXPORT_ENDPOINT)  # a deployment without the page
    finding = decided(tenant, "PD-8")
    assert finding.status == Status.failed and "导出" in finding.detail


def test_pd9_a_restricted_pesticide_on_sale_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["pesticide"], restricted_use=True)
    assert decided(tenant, "PD-9").status == Status.failed
    change(tenant, products["pesticide"], restricted_use=False, toxicity="highly_toxic")
    assert decided(tenant, "PD-9").status == Status.failed


# -- 10.3 fertilisers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("values", "title"), [
    ({"total_nutrient_pct": "48"}, None),  # 15 + 15 + 15 is 45
    ({"k2o_pct": "3", "total_nutrient_pct": "33"}, None),  # a compound nutrient under 4 %
    ({}, "高效复合肥王 15-15-15"),
])
def test_pd10_a_fertiliser_breaking_the_label_standard_fails(agri_market, values, title):
    tenant, _shop, products = agri_market
    change(tenant, products["fertiliser"], title=title, **values)
    finding = decided(tenant, "PD-10")
    assert finding.status == Status.failed
    assert finding.evidence == [f"{products['fertiliser'].id} {title or TITLES['fertiliser']}"]


def test_pd10_a_total_within_the_tolerance_passes(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["fertiliser"], total_nutrient_pct="45.1")
    assert decided(tenant, "PD-10").status == Status.passed


def test_pd11_a_fertiliser_without_storage_advice_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["fertiliser"], drop=("storage", "batch_no"))
    finding = decided(tenant, "PD-11")
    assert finding.status == Status.failed
    assert "贮存要求" in finding.detail and "产品批号" in finding.detail


def test_pd12_a_malformed_fertiliser_registration_fails_and_none_at_all_passes(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["fertiliser"], registration_no="准字1234")
    assert decided(tenant, "PD-12").status == Status.failed
    change(tenant, products["fertiliser"], drop=("registration_no",))  # not every kind must be registered
    assert decided(tenant, "PD-12").status == Status.passed


# -- 10.4 seeds ---------------------------------------------------------------------------------------------

def test_pd13_a_seed_without_a_quarantine_number_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["seed"], drop=("quarantine_cert_no",))
    finding = decided(tenant, "PD-13")
    assert finding.status == Status.failed
    assert "检疫证明编号" in finding.detail


def test_pd13_a_gm_seed_must_state_its_safety_measures(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["seed"], gmo=True)
    finding = decided(tenant, "PD-13")
    assert finding.status == Status.failed
    assert "转基因安全控制措施" in finding.detail
    change(tenant, products["seed"], gmo_safety_notice="种植时与常规品种隔离 300 米以上。")
    assert decided(tenant, "PD-13").status == Status.passed


def test_pd13_the_seed_pack_refuses_a_gm_seed_without_safety_measures(app_ctx):
    from marketplace.catalog import packs

    seed = packs.product_type("agri_inputs.seed")
    _values, problems = seed.clean({**SEED, "gmo": "是"}, title=TITLES["seed"], require_complete=True)
    assert problems == {"gmo_safety_notice": "转基因种子须注明安全控制措施。"}


def test_pd14_a_maize_seed_with_only_a_registration_number_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["seed"], crop="玉米", approval_no="GPD玉米（2021）410087")
    assert decided(tenant, "PD-14").status == Status.failed
    change(tenant, products["seed"], crop="花生")  # peanuts are registered, not approved
    assert decided(tenant, "PD-14").status == Status.passed


def test_pd15_one_approval_number_under_two_variety_names_fails(agri_market, make_product):
    tenant, shop, products = agri_market
    with tenant_scope(tenant):
        category = products["seed"].category
    make_product(shop, category=category, title="百农二〇七 小麦种子", sku="AGRI-SEED-2",
                 attributes={**SEED, "variety_name": "百农二〇七"})
    finding = decided(tenant, "PD-15")
    assert finding.status == Status.failed
    assert "国审麦20160003" in finding.evidence


def test_pd15_a_title_that_hides_the_variety_name_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["seed"], title="高产小麦种子")
    assert decided(tenant, "PD-15").status == Status.failed


def test_pd16_a_seed_without_a_test_date_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["seed"], drop=("test_date",))
    finding = decided(tenant, "PD-16")
    assert finding.status == Status.failed
    assert "检测日期" in finding.detail


def test_pd17_a_seed_on_sale_without_a_batch_fails(agri_market):
    tenant, _shop, products = agri_market
    change(tenant, products["seed"], drop=("batch_no",))
    assert decided(tenant, "PD-17").status == Status.failed


def test_pd17_a_seed_sale_that_kept_no_batch_fails(agri_market, make_user):
    tenant, _shop, products = agri_market
    order = buy(tenant, make_user, {products["seed"]: 2}, "seed-1")
    assert decided(tenant, "PD-17").status == Status.passed  # the line kept the batch of the listing
    with tenant_scope(tenant):
        line = order.lines[0]
        line.attributes = {k: v for k, v in line.attributes.items() if k != "batch_no"}
        db.session.commit()
    finding = decided(tenant, "PD-17")
    assert finding.status == Status.failed
    assert order.number in finding.evidence


def test_every_pd_check_reads_only(agri_market):
    tenant, _shop, products = agri_market
    run(tenant, only=set(ALL_PD))
    assert not db.session.dirty and not db.session.new
    assert products["seed"].status == ProductStatus.active
