"""``flask demo`` fills the demo shops with a realistic catalog: 300+ published products with pictures,
complete regulated labels, wholesale tiers in both markets — and a second run changes nothing."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

import pytest
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace.catalog import packs
from marketplace.catalog.models import PriceTier, Product, ProductImage, ShopLicence, Variant
from marketplace.catalog.pricing import price_shop_lines
from marketplace.extensions import db
from marketplace.media.images import find_original
from marketplace.media.storage import DERIVED_EXTENSIONS, DERIVED_WIDTHS, derived_key, get_storage
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import Tenant
from tests.demo.test_demo import DEMO_TENANTS, row_counts, run_demo

MARKETS = ("nongzi-market", "apparel-market")


@pytest.fixture
def demo_catalog(app, monkeypatch):
    """The demo with its catalog and pictures, whatever the suite's settings (small pictures: same pipeline)."""
    settings = app.config["MARKETPLACE"]
    monkeypatch.setitem(settings, "DEMO_CATALOG", True)
    monkeypatch.setitem(settings, "DEMO_IMAGES", True)
    monkeypatch.setitem(settings, "DEMO_IMAGE_SIZE", 96)
    return run_demo(app)


def products_with_everything() -> list[Product]:
    with all_tenants():
        return list(db.session.scalars(
            select(Product).options(selectinload(Product.images), selectinload(Product.shop),
                                    selectinload(Product.variants).selectinload(Variant.tiers))))


def tenant_of(product: Product) -> str:
    return product.shop.tenant.slug


def test_demo_catalog_is_realistic_complete_and_loaded_once(app, client, demo_catalog):
    """One test, because loading the demo takes seconds: what is loaded, what a resident sees, and the re-run."""
    products = products_with_everything()
    active = [p for p in products if p.status == "active"]

    # 300+ published products, spread over every tenant and every demo shop; the summary says how many.
    assert len(active) == len(products) >= 300
    assert f"{len(products)} products" in demo_catalog
    per_tenant = Counter(tenant_of(p) for p in active)
    assert set(per_tenant) == set(DEMO_TENANTS) and min(per_tenant.values()) >= 90, per_tenant
    with all_tenants():
        shops = db.session.scalars(select(Shop)).all()
    per_shop = Counter(p.shop_id for p in active)
    assert all(per_shop[shop.id] >= 5 for shop in shops), {s.slug: per_shop[s.id] for s in shops}

    # Every product has its own picture, stored with the resized copies pages link to.
    storage = get_storage()
    assert all(p.images for p in products), [p.title for p in products if not p.images]
    first_pictures = {p.images[0].sha256 for p in products}
    assert len(first_pictures) == len(products), "each product's main picture is its own"
    for image in (image for p in products for image in p.images):
        assert find_original(image.sha256, storage), image.alt_zh
        for width in DERIVED_WIDTHS:
            for ext in DERIVED_EXTENSIONS:
                assert storage.exists(derived_key(image.sha256, width, ext)), (image.alt_zh, width, ext)
    labelled = [p for p in products if len(p.images) == 2]
    assert labelled and all(p.product_type.startswith("agri_inputs.") for p in labelled)

    # Every product passes its product type's publishing check: labels complete, formats right, nutrients add up.
    for product in products:
        product_type = packs.product_type(product.product_type)
        _values, problems = product_type.clean(product.attributes, title=product.title, require_complete=True)
        assert not problems, (product.title, problems)
    fertilisers = [p for p in products if p.product_type == "agri_inputs.fertiliser"]
    assert len(fertilisers) >= 50
    for product in fertilisers:
        parts = [Decimal(product.attributes.get(k, "0")) for k in ("n_pct", "p2o5_pct", "k2o_pct")]
        if any(parts):
            assert Decimal(product.attributes["total_nutrient_pct"]) == sum(parts), product.title
    kinds = Counter(p.attributes["fertiliser_kind"] for p in fertilisers)
    assert {"compound", "nitrogen", "organic", "water_soluble"} <= set(kinds), kinds
    urea = next(p for p in fertilisers if "尿素" in p.title and p.attributes["fertiliser_kind"] == "nitrogen")
    assert urea.attributes["n_pct"] == "46" and urea.attributes["total_nutrient_pct"] == "46"
    pesticides = [p for p in products if p.product_type == "agri_inputs.pesticide"]
    assert len(pesticides) >= 20
    assert {p.attributes["toxicity"] for p in pesticides} <= {"low_toxic", "slightly_toxic"}
    assert all(re.fullmatch(r"PD\d{8}", p.attributes["registration_no"]) for p in pesticides)
    seeds = [p for p in products if p.product_type == "agri_inputs.seed"]
    assert {p.attributes["crop"] for p in seeds} >= {"小麦", "玉米", "大白菜"}

    # Pesticides and seeds are live because their shops hold licences verified by the market's operator.
    with all_tenants():
        licences = db.session.scalars(select(ShopLicence)).all()
    assert {lic.kind for lic in licences} == {"pesticide_business", "seed_business"}
    assert all(lic.verified_at and lic.verified_by_id for lic in licences)

    # Both markets sell wholesale: falling tier prices, minimum quantities, mixed batches and quotes.
    for slug in MARKETS:
        in_market = [p for p in active if tenant_of(p) == slug]
        tiered = [v for p in in_market for v in p.variants if v.tiers]
        assert len(tiered) >= 50, slug
        for variant in tiered:
            prices = [variant.price] + [t.unit_price for t in variant.tiers]
            assert prices == sorted(prices, reverse=True) and len(set(prices)) == len(prices), variant.sku
        assert any(p.moq > 1 for p in in_market), slug
        market_shops = [s for s in shops if s.tenant.slug == slug]
        assert any(s.accepts_quotes for s in market_shops), slug
        assert any(s.mixed_batch_min_amount or s.mixed_batch_min_quantity for s in market_shops), slug
    street_tiers = [v for p in active if tenant_of(p) == "dehua-street" for v in p.variants if v.tiers]
    assert not street_tiers, "street shops sell retail"

    # The one pricing function honours the demo's tiers: 100 bags of 15-15-15 cost less each than one.
    bags = next(p for p in fertilisers if p.title == "硫酸钾型复合肥 15-15-15")
    fifty_kg = next(v for v in bags.variants if v.options == {"spec": "50kg/袋"})
    with tenant_scope(bags.shop.tenant):
        one = price_shop_lines(bags.shop, [(fifty_kg, 1)]).lines[0]
        hundred = price_shop_lines(bags.shop, [(fifty_kg, 100)]).lines[0]
    assert hundred.unit_price < one.unit_price == fifty_kg.price and hundred.price_source == "tier:100"

    check_a_resident_sees_the_label_and_the_picture(client)

    # A second run (every `make run`) creates nothing and changes nothing, not even what was edited since.
    market = bags.shop.tenant
    with tenant_scope(market):
        bags.shop.accepts_quotes = False
        bags.status = "archived"
        db.session.commit()
    before = row_counts()
    again = run_demo(app)
    assert "nothing changed" in again and "products" not in again.split("Demo logins", 1)[0]
    assert row_counts() == before
    db.session.expire_all()
    with tenant_scope(market):
        assert bags.status == "archived" and bags.shop.accepts_quotes is False


def check_a_resident_sees_the_label_and_the_picture(client):
    with all_tenants():
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == "nongzi-market")).one()
        product = db.session.scalars(select(Product).where(Product.tenant_id == tenant.id,
                                                           Product.title == "硫酸钾型复合肥 15-15-15")).one()
        sha256 = db.session.scalars(select(ProductImage.sha256).where(ProductImage.product_id == product.id)
                                    .order_by(ProductImage.position)).first()
        tiers = db.session.scalar(select(func.count(PriceTier.id)).join(Variant)
                                  .where(Variant.product_id == product.id))
    assert tiers
    page = client.get(f"/t/nongzi-market/p/{product.id}", follow_redirects=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert str(escape(product.title)) in html
    for text in ("总养分", "45%", "GB/T15063-2020", "河南沃原化肥有限公司"):
        assert text in html, text
    picture = re.search(rf'src="(/media/[^"]*{sha256}[^"]*)"', html)
    assert picture, "the product's picture is on its page"
    served = client.get(picture.group(1))
    served.close()
    assert served.status_code == 200 and served.mimetype.startswith("image/")
