"""The resident-facing pages: what they show, and that their query count does not grow with the data."""

import pytest
from flask import abort

from tests.fixtures.app import make_test_app, migrate_to_head


def test_shop_page_shows_location_phone_and_hours(client, make_tenant, make_shop):
    tenant = make_tenant(name_zh="德化步行街")
    make_shop(tenant, slug="defu", name_zh="德福烩面馆", street_number="27", street_side="west", phone="0371-66231027",
              opening_hours={"mon": "10:00-21:30", "tue": "closed"})
    html = client.get(f"/t/{tenant.slug}/s/defu/").get_data(as_text=True)
    assert "德福烩面馆" in html and "27 号（西侧）" in html and 'href="tel:0371-66231027"' in html
    assert "10:00-21:30" in html and "休息" in html


def test_market_stalls_show_building_floor_zone_and_stall(client, make_tenant, make_shop):
    market = make_tenant(kind="market", theme="market")
    make_shop(market, slug="suifeng", name_zh="穗丰复合肥批发", building="A", floor=1, zone="A1", stall="A1-003")
    html = client.get(f"/t/{market.slug}/s/suifeng/").get_data(as_text=True)
    assert "A 座 1 层 · A1 区 · A1-003 号摊位" in html


def test_a_suspended_shop_is_not_shown(client, make_tenant, make_shop):
    tenant = make_tenant()
    make_shop(tenant, slug="closed-down", name_zh="已暂停的店", status="suspended")
    assert client.get(f"/t/{tenant.slug}/s/closed-down/").status_code == 404
    assert "已暂停的店" not in client.get(f"/t/{tenant.slug}/").get_data(as_text=True)


@pytest.mark.parametrize("page", ["portal", "tenant_home"])
def test_hot_pages_use_a_fixed_number_of_queries(client, make_tenant, make_shop, count_queries, page):
    """N+1 guard: ten times the shops and tenants must not mean more queries."""

    def load(tenant):
        url = "/" if page == "portal" else f"/t/{tenant.slug}/"
        with count_queries() as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    from marketplace.catalog.models import Category
    from marketplace.extensions import db
    from marketplace.tenancy.context import tenant_scope

    def shop_with_its_own_category(tenant, n):
        with tenant_scope(tenant):
            category = Category(slug=f"category-{n}", name_zh=f"分类{n}")
            db.session.add(category)
            db.session.commit()
        make_shop(tenant, category_id=category.id, street_side="west" if n % 2 else "east")

    tenant = make_tenant()
    shop_with_its_own_category(tenant, 0)
    load(tenant)  # the first look-up fills the shared cache (tenant, settings): measure with it warm
    small = load(tenant)
    for n in range(1, 11):
        make_shop(make_tenant())
        shop_with_its_own_category(tenant, n)
    assert load(tenant) == small
    assert small <= 4


@pytest.mark.no_transaction
def test_a_server_error_gets_the_themed_page_or_problem_json_never_a_traceback(tmp_path):
    app = make_test_app(tmp_path)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # behave as in production

    @app.route("/t/<tenant_slug>/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    @app.route("/api/v1/boom")
    def api_boom():
        raise RuntimeError("secret internal detail")

    @app.route("/t/<tenant_slug>/refused")
    def refused():
        from sqlalchemy.exc import DataError

        raise DataError("INSERT …", {}, ValueError("A string literal cannot contain NUL (0x00) characters."))

    @app.route("/forbidden")
    def forbidden():
        abort(403)

    migrate_to_head(app)
    from marketplace.extensions import db
    from marketplace.tenancy.models import Tenant

    with app.app_context():
        db.session.add(Tenant(slug="dehua", kind="street", status="live", theme="street", name_zh="德化步行街",
                              name_en="Dehua", brand={}, layout={}))
        db.session.commit()
    client = app.test_client()
    page = client.get("/t/dehua/boom")
    html = page.get_data(as_text=True)
    assert page.status_code == 500 and "服务器出了点问题" in html and "德化步行街" in html
    assert "secret internal detail" not in html and "Traceback" not in html
    api = client.get("/api/v1/boom")
    assert api.status_code == 500 and api.mimetype == "application/problem+json"
    assert api.get_json()["code"] == "server_error" and "secret" not in api.get_data(as_text=True)
    bad_data = client.get("/t/dehua/refused")
    assert bad_data.status_code == 400 and "无法保存的字符或数值" in bad_data.get_data(as_text=True)
    denied = client.get("/forbidden")
    assert denied.status_code == 403 and "您没有访问此页面的权限" in denied.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def test_the_tenant_logo_is_served_and_shown(client, app, make_tenant):
    from pathlib import Path

    slug = "dehua-street"  # a shipped manifest with a logo in tenants/dehua-street/static/
    assert (Path(app.config["MARKETPLACE"]["TENANTS_PATH"]) / slug / "static" / "logo.svg").is_file()
    make_tenant(slug=slug, brand={"logo": "logo.svg"})
    home = client.get(f"/t/{slug}/").get_data(as_text=True)
    assert f'src="/t/{slug}/brand/logo.svg?v=' in home
    assert f'src="/t/{slug}/brand/logo.svg?v=' in client.get("/").get_data(as_text=True)
    with client.get(f"/t/{slug}/brand/logo.svg") as logo:
        assert logo.status_code == 200 and logo.mimetype == "image/svg+xml" and b"<svg" in logo.data
        assert "default-src 'none'" in logo.headers["Content-Security-Policy"]
    with client.get(f"/t/{slug}/brand/../tenant.toml") as escape:
        assert escape.status_code == 404


def test_shop_descriptions_are_sanitised_whoever_writes_them(make_tenant, make_shop):
    shop = make_shop(make_tenant(), description_zh='<p onclick="steal()">新鲜<script>alert(1)</script>水果</p>',
                     description_en='<a href="javascript:alert(1)">fresh</a><iframe src="x"></iframe>')
    assert shop.description_zh == "<p>新鲜水果</p>"
    assert "javascript" not in shop.description_en and "iframe" not in shop.description_en
