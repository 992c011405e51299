"""Wholesale pricing, minimums, publishing gates, stock and quotes: the rules the cart will rely on."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Product, ProductStatus, QuoteStatus, Variant
from marketplace.catalog.pricing import price_shop_lines, unit_price
from marketplace.core.money import AmountInvalid, parse_amount
from marketplace.extensions import db
from marketplace.tenancy.context import tenant_scope
from tests.catalog.test_packs import COMPOUND, PESTICIDE


@pytest.fixture
def market(make_tenant, make_shop):
    tenant = make_tenant(kind="market", theme="market")
    return tenant, make_shop(tenant, building="A", floor=1, zone="A1", stall="A1-003")


@pytest.mark.parametrize(("text", "fen"), [("12.50", 1250), ("12.5", 1250), ("¥1,200", 120000), ("0", 0),
                                           ("9.8元", 980)])
def test_amounts_in_yuan_become_fen(text, fen):
    assert parse_amount(text) == fen


@pytest.mark.parametrize("text", ["12.345", "-1", "abc", "NaN", "1e30", ""])
def test_bad_amounts_are_refused(text):
    with pytest.raises(AmountInvalid):
        parse_amount(text)


def test_tier_prices_apply_from_their_quantity(market, make_product):
    tenant, shop = market
    product = make_product(shop, price=1200, stock=500, tiers=[(10, 1050), (100, 980)])
    with tenant_scope(tenant):
        variant = product.variants[0]
        assert [unit_price(variant, q)[0] for q in (1, 9, 10, 99, 100, 250)] == [1200, 1200, 1050, 1050, 980, 980]
        priced = price_shop_lines(shop, [(variant, 200)])
        assert priced.ok and priced.total == 200 * 980 and priced.lines[0].price_source == "tier:100"


def test_minimum_order_quantity_and_stock_are_enforced(market, make_product):
    tenant, shop = market
    product = make_product(shop, price=5000, stock=30, moq=10)
    with tenant_scope(tenant):
        variant = product.variants[0]
        codes = lambda q: [p.code for p in price_shop_lines(shop, [(variant, q)]).problems]  # noqa: E731
        assert codes(5) == ["below_moq"] and codes(10) == [] and codes(31) == ["not_enough_stock"]
        message = price_shop_lines(shop, [(variant, 5)]).problems[0].message
        assert "10 件起订" in message


def test_the_shops_mixed_batch_minimum_counts_across_its_goods(market, make_product):
    tenant, shop = market
    with tenant_scope(tenant):
        shop.mixed_batch_min_amount, shop.mixed_batch_min_quantity = 50000, 20
        db.session.commit()
    a = make_product(shop, price=1000, stock=100)
    b = make_product(shop, price=2000, stock=100)
    with tenant_scope(tenant):
        low = price_shop_lines(shop, [(a.variants[0], 5), (b.variants[0], 5)])
        assert {p.code for p in low.problems} == {"below_batch_amount", "below_batch_quantity"}
        assert "还差" in low.problems[0].message
        enough = price_shop_lines(shop, [(a.variants[0], 10), (b.variants[0], 20)])
        assert enough.ok and enough.total == 10 * 1000 + 20 * 2000


def test_tiers_must_fall_as_quantities_rise(market, make_product):
    _tenant, shop = market
    with pytest.raises(catalog.CatalogError) as error:
        make_product(shop, price=1200, tiers=[(10, 1250)])
    assert "买得越多单价应越低" in error.value.problems["variants.0.tiers"]
    with pytest.raises(catalog.CatalogError):
        make_product(shop, price=1200, tiers=[(1, 1100)])


def test_a_fertiliser_with_a_wrong_total_is_not_saved(market, make_product, make_category):
    tenant, shop = market
    fertiliser = make_category(tenant, product_type="agri_inputs.fertiliser")
    with pytest.raises(catalog.CatalogError) as error:
        make_product(shop, category=fertiliser, attributes={**COMPOUND, "total_nutrient_pct": "50"})
    assert "总养分应等于" in error.value.problems["attr.total_nutrient_pct"]
    with tenant_scope(tenant):
        assert db.session.scalar(select(func.count(Product.id))) == 0


def test_pesticides_need_a_verified_licence_on_file(market, make_product, make_category, make_user):
    tenant, shop = market
    pesticide = make_category(tenant, product_type="agri_inputs.pesticide")
    product = make_product(shop, category=pesticide, attributes=PESTICIDE, publish=False)
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    with tenant_scope(tenant):
        with pytest.raises(catalog.CatalogError) as error:
            catalog.publish_product(product)
        assert "农药经营许可证" in error.value.problems["licence"]
        licence = catalog.record_licence(shop, "pesticide_business", "农药经营许可证（豫）41010220001", None)
        with pytest.raises(catalog.CatalogError):  # filed, not yet verified
            catalog.publish_product(product)
        catalog.verify_licence(licence, operator)
        catalog.publish_product(product)
        assert product.status == ProductStatus.active
        licence.expires_on = date.today() - timedelta(days=1)  # the licence lapses
        assert catalog.unpublish_gated_products(shop, "pesticide_business") == 1
        db.session.expire_all()
        assert db.session.get(Product, product.id).status == ProductStatus.draft


def test_sku_is_unique_per_shop_but_not_across_shops(market, make_product, make_shop):
    tenant, shop = market
    make_product(shop, sku="FERT-001")
    with pytest.raises(catalog.CatalogError, match="FERT-001"):
        make_product(shop, sku="FERT-001")
    make_product(make_shop(tenant), sku="FERT-001")


def test_stock_is_taken_in_one_conditional_update_and_never_goes_negative(market, make_product):
    tenant, shop = market
    product = make_product(shop, stock=5)
    with tenant_scope(tenant):
        variant = product.variants[0]
        assert catalog.adjust_stock(variant, -3) == 2
        with pytest.raises(catalog.CatalogError, match="库存不足"):
            catalog.adjust_stock(variant, -3)
        assert catalog.adjust_stock(variant, 10) == 12
        assert db.session.scalar(select(Variant.stock).where(Variant.id == variant.id)) == 12


def test_descriptions_are_sanitised(market, make_product):
    tenant, shop = market
    product = make_product(shop)
    with tenant_scope(tenant):
        product.description = '<p>好肥<img src=x onerror="alert(1)"><script>alert(2)</script></p>'
        assert "onerror" not in product.description and "<script" not in product.description


def test_a_quote_answered_and_accepted_sets_the_price(market, make_product, make_user):
    tenant, shop = market
    with tenant_scope(tenant):
        shop.accepts_quotes = True
        db.session.commit()
    product = make_product(shop, price=1200, stock=1000, moq=10)
    buyer = make_user()
    with tenant_scope(tenant):
        variant = product.variants[0]
        quote = catalog.request_quote(buyer, variant, 500, target_unit_price=900, message="要 500 袋")
        catalog.answer_quote(quote, 950, date.today() + timedelta(days=7), reply="可以")
        catalog.accept_quote(quote, buyer)
        assert quote.status == QuoteStatus.accepted
        priced = price_shop_lines(shop, [(variant, 500)], quotes={variant.id: quote})
        assert priced.ok and priced.lines[0].unit_price == 950 and priced.lines[0].price_source == "quote"
        assert price_shop_lines(shop, [(variant, 100)], quotes={variant.id: quote}).lines[0].unit_price == 1200


def test_an_expired_quote_cannot_be_accepted(market, make_product, make_user):
    tenant, shop = market
    with tenant_scope(tenant):
        shop.accepts_quotes = True
        db.session.commit()
    product = make_product(shop)
    buyer, other = make_user(), make_user()
    with tenant_scope(tenant):
        quote = catalog.request_quote(buyer, product.variants[0], 50)
        catalog.answer_quote(quote, 1000, date.today())
        with pytest.raises(catalog.CatalogError, match="只能接受自己的询价"):
            catalog.accept_quote(quote, other)
        with pytest.raises(catalog.CatalogError, match="已过期"):
            catalog.accept_quote(quote, buyer, today=date.today() + timedelta(days=1))
        assert quote.status == QuoteStatus.expired


def test_the_minimum_counts_all_variants_of_a_product_together(market, make_product):
    tenant, shop = market
    from marketplace.catalog import services as catalog_services

    product = make_product(shop, moq=100, variants=[
        catalog_services.VariantInput(sku="TEE-S", price=800, stock=500, options={"size": "S"}),
        catalog_services.VariantInput(sku="TEE-M", price=800, stock=500, options={"size": "M"}),
    ])
    with tenant_scope(tenant):
        small, medium = product.variants
        assert price_shop_lines(shop, [(small, 50), (medium, 50)]).ok
        short = price_shop_lines(shop, [(small, 40), (medium, 50)])
        assert [p.code for p in short.problems] == ["below_moq"]


def test_a_variant_with_an_open_quote_cannot_be_deleted(market, make_product, make_user):
    tenant, shop = market
    with tenant_scope(tenant):
        shop.accepts_quotes = True
        db.session.commit()
    product = make_product(shop, sku="KEEP-1")
    with tenant_scope(tenant):
        catalog.request_quote(make_user(), product.variants[0], 20)
        with pytest.raises(catalog.CatalogError, match="未结束的询价"):
            catalog.update_product(product, catalog.ProductInput(
                category=product.category, title=product.title,
                variants=[catalog.VariantInput(sku="NEW-1", price=100, stock=1)]))


def test_a_variant_whose_quote_priced_an_order_cannot_be_deleted(market, make_product, make_user):
    """The quote is part of the order's record (kept three years): removing the SKU would delete it along."""
    from marketplace.catalog.models import Quote
    from marketplace.orders import services as orders
    from marketplace.orders.models import OrderLine

    tenant, shop = market
    with tenant_scope(tenant):
        shop.accepts_quotes = True
        db.session.commit()
    product = make_product(shop, sku="SOLD-BY-QUOTE", stock=50)
    buyer = make_user()
    with tenant_scope(tenant):
        quote = catalog.request_quote(buyer, product.variants[0], 20)
        catalog.answer_quote(quote, 900, date.today() + timedelta(days=7))
        catalog.accept_quote(quote, buyer)
        cart = orders.cart_for(tenant, user_id=buyer.id, create=True)
        orders.quote_line(cart, quote, date.today())
        group = orders.place_order(tenant, buyer.id, cart, "priced-by-quote")
        db.session.commit()
        assert quote.status == QuoteStatus.ordered
        with pytest.raises(catalog.CatalogError, match="报价已用于订单"):
            catalog.update_product(product, catalog.ProductInput(
                category=product.category, title=product.title,
                variants=[catalog.VariantInput(sku="NEW-1", price=100, stock=1)]))
        db.session.rollback()
        assert db.session.get(Quote, quote.id) is not None
        line = db.session.scalar(select(OrderLine).where(OrderLine.order_id == group.orders[0].id))
        assert (line.quote_id, line.price_source) == (quote.id, "quote")


def test_the_daily_command_takes_gated_products_offline_when_a_licence_runs_out(app, market, make_product,
                                                                                make_category, make_user):
    tenant, shop = market
    pesticide = make_category(tenant, product_type="agri_inputs.pesticide")
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    with tenant_scope(tenant):
        licence = catalog.record_licence(shop, "pesticide_business", "许可证 1", date.today() + timedelta(days=30))
        catalog.verify_licence(licence, operator)
        db.session.commit()
    product = make_product(shop, category=pesticide, attributes=PESTICIDE)
    with tenant_scope(tenant):
        assert product.status == ProductStatus.active
        licence.expires_on = date.today() - timedelta(days=2)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["catalog", "expire-licences"])
    assert result.exit_code == 0, result.output
    assert "1 products taken offline" in result.output
    db.session.expire_all()
    with tenant_scope(tenant):
        assert db.session.get(Product, product.id).status == ProductStatus.draft


def test_a_quote_below_the_minimum_order_is_refused_by_the_service(market, make_product, make_user):
    tenant, shop = market
    with tenant_scope(tenant):
        shop.accepts_quotes = True
        db.session.commit()
    product = make_product(shop, moq=50, unit="bag")
    with tenant_scope(tenant), pytest.raises(catalog.CatalogError, match="50 袋起订"):
        catalog.request_quote(make_user(), product.variants[0], 10)
