"""Themes: each tenant renders in its own theme, names carry the theme, and consoles are never themed."""

from pathlib import Path

import pytest

from marketplace.accounts.models import Role
from marketplace.core.themes import ThemeError, chain, discover


def test_each_tenant_renders_in_its_theme_and_the_cache_never_mixes_them(client, make_tenant, make_shop):
    street = make_tenant(theme="street", kind="street")
    market = make_tenant(theme="market", kind="market")
    plain = make_tenant(theme="base")
    make_shop(street, street_number="58", street_side="east", map_x=10)
    make_shop(market, building="A", floor=1, zone="A1", stall="A1-001")
    make_shop(plain, street_number="3", street_side="west")
    for _ in range(2):  # a second round is served from Jinja's template cache
        street_html = client.get(f"/t/{street.slug}/").get_data(as_text=True)
        market_html = client.get(f"/t/{market.slug}/").get_data(as_text=True)
        plain_html = client.get(f"/t/{plain.slug}/").get_data(as_text=True)
        assert "street-filters" in street_html and "stall-table" not in street_html
        assert "stall-table" in market_html and "street-filters" not in market_html
        assert "street-filters" not in plain_html and "stall-table" not in plain_html
        assert "/themes/street/theme.css" in street_html and "/themes/market/theme.css" in market_html


def test_tenant_brand_colours_reach_the_page(client, make_tenant):
    tenant = make_tenant(brand={"primary_color": "#2d6a4f"})
    assert "--brand: #2d6a4f" in client.get(f"/t/{tenant.slug}/").get_data(as_text=True)


def _fetch(client, url):
    with client.get(url) as response:
        return response.status_code, response.data


def test_theme_static_files_fall_back_to_the_parent_theme(client):
    assert _fetch(client, "/themes/street/theme.css")[0] == 200
    status, body = _fetch(client, "/themes/street/site.css")  # only the base theme has it
    assert status == 200 and b"--brand" in body
    assert _fetch(client, "/themes/street/nothing.css")[0] == 404
    assert _fetch(client, "/themes/no-such-theme/site.css")[0] == 404
    assert _fetch(client, "/themes/street/../../marketplace/__init__.py")[0] == 404


def test_error_pages_are_themed(client, make_tenant):
    tenant = make_tenant(theme="market", kind="market", name_zh="中原农资批发市场")
    response = client.get(f"/t/{tenant.slug}/s/no-such-shop/")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "找不到您要的页面" in html and "中原农资批发市场" in html and "/themes/market/theme.css" in html


def test_consoles_are_never_themed(client, make_tenant, make_shop, make_user):
    tenant = make_tenant(theme="street")
    shop = make_shop(tenant)
    owner = make_user(role=Role.merchant_owner, shop=shop)
    client.login(owner.email, "correct-horse-42")
    html = client.get(f"/merchant/{tenant.slug}/{shop.slug}/").get_data(as_text=True)
    assert "console.css" in html and "/themes/" not in html


def _write_theme(root: Path, name: str, parent: str | None = None):
    (root / name / "templates").mkdir(parents=True)
    (root / name / "theme.toml").write_text(f'name = "{name}"\n' + (f'parent = "{parent}"\n' if parent else ""))


def test_theme_chains_end_at_base_and_bad_parents_fail_at_start(tmp_path):
    _write_theme(tmp_path, "base")
    _write_theme(tmp_path, "street", "base")
    _write_theme(tmp_path, "night-market", "street")
    themes = discover(tmp_path)
    assert chain(themes, "night-market") == ["night-market", "street", "base"]
    assert chain(themes, "unknown") == ["base"]
    _write_theme(tmp_path, "orphan", "missing")
    with pytest.raises(ThemeError, match="unknown parent"):
        discover(tmp_path)


@pytest.mark.no_transaction
def test_a_tenant_can_override_one_template(tmp_path):
    from marketplace.extensions import db
    from marketplace.tenancy.models import Tenant
    from tests.fixtures.app import make_test_app, migrate_to_head

    tenants = tmp_path / "tenants"
    (tenants / "special" / "templates" / "tenant").mkdir(parents=True)
    (tenants / "special" / "templates" / "tenant" / "home.html").write_text(
        '{% extends "street/tenant/home.html" %}{% block shop_list %}<p id="special">特别的首页</p>{% endblock %}')
    app = make_test_app(tmp_path / "instance", TENANTS_PATH=str(tenants))
    migrate_to_head(app)
    with app.app_context():
        for slug in ("special", "ordinary"):
            db.session.add(Tenant(slug=slug, kind="street", status="live", theme="street", name_zh=slug,
                                  name_en=slug, brand={}, layout={}))
        db.session.commit()
    client = app.test_client()
    assert "特别的首页" in client.get("/t/special/").get_data(as_text=True)
    assert "特别的首页" not in client.get("/t/ordinary/").get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()
