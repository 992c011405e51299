"""The shared cache of tenants, custom domains and settings: fewer queries, never a stale or foreign answer."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import redis
from sqlalchemy import update

from marketplace.core import cache as shared_cache
from marketplace.core.db import writing
from marketplace.extensions import cache, db
from marketplace.tenancy.cache import tenant_key
from marketplace.tenancy.context import current_tenant
from marketplace.tenancy.models import Tenant, TenantDomain, TenantStatus
from marketplace.tenancy.settings import module_settings
from tests.fixtures.app import configured_database_url, make_test_app
from tests.fixtures.web import RequestClient

TENANT_SELECT = re.compile(r"\bFROM tenants\b(?! JOIN)", re.IGNORECASE)


def _tenant_selects(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT") and TENANT_SELECT.search(s)]


@pytest.fixture(scope="module")
def other_worker(app):
    """A second application on the same database and cache, as another gunicorn worker would be."""
    return make_test_app(Path(app.instance_path), configured_database_url() or app.config["SQLALCHEMY_DATABASE_URI"],
                         REDIS_URL=app.config["MARKETPLACE"]["REDIS_URL"])


def _client(application, **kwargs):
    application.test_client_class = RequestClient
    return application.test_client(**kwargs)


def test_second_request_resolves_the_tenant_without_a_query(client, make_tenant, make_shop, count_queries):
    tenant = make_tenant(name_zh="德化步行街")
    make_shop(tenant, slug="fresh-fruit")
    assert client.get(f"/t/{tenant.slug}/").status_code == 200
    with count_queries() as statements:
        home = client.get(f"/t/{tenant.slug}/")
        shop = client.get(f"/t/{tenant.slug}/s/fresh-fruit/")
    assert home.status_code == 200 and "德化步行街" in home.get_data(as_text=True)
    assert shop.status_code == 200
    assert _tenant_selects(statements) == []


def test_a_custom_domain_is_looked_up_once(client, make_tenant, count_queries):
    tenant = make_tenant(name_zh="中原农资批发市场")
    db.session.add(TenantDomain(tenant_id=tenant.id, domain="nongzi.example.cn"))
    db.session.commit()
    assert "中原农资批发市场" in client.get("/", base_url="http://nongzi.example.cn").get_data(as_text=True)
    with count_queries() as statements:
        again = client.get("/", base_url="http://nongzi.example.cn")
    assert "中原农资批发市场" in again.get_data(as_text=True)
    assert not [s for s in statements if "tenant_domains" in s]
    assert _tenant_selects(statements) == []


def test_lazy_relationships_of_a_cached_tenant_still_load(app, client, make_tenant):
    tenant = make_tenant()
    db.session.add(TenantDomain(tenant_id=tenant.id, domain="lazy.example.cn"))
    db.session.commit()
    client.get(f"/t/{tenant.slug}/")  # now cached
    with app.test_request_context(f"/t/{tenant.slug}/"):
        app.preprocess_request()
        assert current_tenant.slug == tenant.slug and current_tenant.is_live
        assert [d.domain for d in current_tenant.domains] == ["lazy.example.cn"]


@pytest.mark.parametrize("status, expected", [(TenantStatus.suspended, 503), (TenantStatus.draft, 404)])
def test_closing_a_tenant_takes_effect_at_once_in_every_worker(client, other_worker, make_tenant, status, expected):
    tenant = make_tenant(name_zh="即将关闭的街")
    elsewhere = _client(other_worker)
    assert client.get(f"/t/{tenant.slug}/").status_code == 200
    assert elsewhere.get(f"/t/{tenant.slug}/").status_code == 200
    tenant.status = status
    db.session.commit()
    assert client.get(f"/t/{tenant.slug}/").status_code == expected
    assert elsewhere.get(f"/t/{tenant.slug}/").status_code == expected


def test_name_and_theme_changes_show_at_once_in_every_worker(client, other_worker, make_tenant):
    tenant = make_tenant(name_zh="旧名字街", theme="base")
    elsewhere = _client(other_worker)
    for browser in (client, elsewhere):
        assert "旧名字街" in browser.get(f"/t/{tenant.slug}/").get_data(as_text=True)
    tenant.name_zh = "新名字街"
    tenant.theme = "street"
    db.session.commit()
    for browser in (client, elsewhere):
        html = browser.get(f"/t/{tenant.slug}/").get_data(as_text=True)
        assert "新名字街" in html and "旧名字街" not in html
        assert "/themes/street/theme.css" in html


def test_a_bulk_update_of_tenants_takes_effect_at_once(client, make_tenant):
    tenant = make_tenant()
    assert client.get(f"/t/{tenant.slug}/").status_code == 200
    db.session.execute(update(Tenant).where(Tenant.id == tenant.id).values(status=TenantStatus.suspended))
    db.session.commit()
    assert client.get(f"/t/{tenant.slug}/").status_code == 503


def test_adding_and_removing_a_domain_takes_effect_at_once_in_every_worker(client, other_worker, make_tenant):
    tenant = make_tenant(name_zh="德化步行街", slug="dehua")
    make_tenant(name_zh="另一条街")
    elsewhere = _client(other_worker)
    for browser in (client, elsewhere):  # unknown hosts are cached too: the portal
        assert "另一条街" in browser.get("/", base_url="http://dehua.example.cn").get_data(as_text=True)
    tenant.domains.append(TenantDomain(domain="dehua.example.cn"))
    db.session.commit()
    for browser in (client, elsewhere):
        html = browser.get("/", base_url="http://dehua.example.cn").get_data(as_text=True)
        assert "德化步行街" in html and "另一条街" not in html
    tenant.domains.clear()
    db.session.commit()
    for browser in (client, elsewhere):
        assert "另一条街" in browser.get("/", base_url="http://dehua.example.cn").get_data(as_text=True)


def test_a_renamed_tenant_keeps_its_domain(client, make_tenant):
    tenant = make_tenant(name_zh="改名的街", slug="old-name")
    tenant.domains.append(TenantDomain(domain="renamed.example.cn"))
    db.session.commit()
    assert "改名的街" in client.get("/", base_url="http://renamed.example.cn").get_data(as_text=True)
    tenant.slug = "new-name"
    db.session.commit()
    assert client.get("/t/old-name/").status_code == 404
    assert "改名的街" in client.get("/", base_url="http://renamed.example.cn").get_data(as_text=True)


def test_a_setting_change_is_read_at_once_in_every_worker(app, other_worker, make_tenant):
    tenant = make_tenant()
    payment = module_settings["payment"]
    with other_worker.app_context():
        assert payment.get(tenant, "provider") == "offline"  # now cached
    assert payment.get(tenant, "provider") == "offline"
    payment.set(tenant, "provider", "stripe")
    assert payment.get(tenant, "provider") == "stripe"  # the writer reads its own write before the commit
    with other_worker.app_context():
        assert payment.get(tenant, "provider") == "offline"  # not committed yet
    db.session.commit()
    with other_worker.app_context():
        assert payment.get(tenant, "provider") == "stripe"
        assert payment.all(tenant) == {"provider": "stripe", "options": {}}


def test_a_rolled_back_setting_is_never_cached(make_tenant):
    tenant = make_tenant()
    search = module_settings["search"]
    assert search.get(tenant, "provider") == "embedded"
    search.set(tenant, "provider", "elasticsearch")
    assert search.get(tenant, "provider") == "elasticsearch"
    db.session.rollback()
    assert search.get(tenant, "provider") == "embedded"


def test_a_request_reads_settings_once_and_again_after_changing_them(app, make_tenant, count_queries):
    """A checkout asks for the payment settings a dozen times, reading past the shared cache (it writes): one
    query in the request; a change it makes is read back at once, and a rolled-back one is forgotten."""
    tenant = make_tenant()
    search = module_settings["search"]
    with app.test_request_context(f"/t/{tenant.slug}/checkout", method="POST"), writing():
        with count_queries() as statements:
            for _ in range(5):
                assert search.get(tenant, "provider") == "embedded"
        assert len([s for s in statements if "tenant_settings" in s]) == 1
        search.set(tenant, "provider", "elasticsearch")
        assert search.get(tenant, "provider") == "elasticsearch"
        db.session.rollback()
        assert search.get(tenant, "provider") == "embedded"
        search.set(tenant, "provider", "elasticsearch")
        db.session.commit()
        assert search.get(tenant, "provider") == "elasticsearch"


def test_two_tenants_never_see_each_others_cached_values(client, make_tenant):
    a = make_tenant(name_zh="甲街", theme="street")
    b = make_tenant(name_zh="乙市场", kind="market", theme="market")
    delivery = module_settings["delivery"]
    delivery.set(a, "options", {"fee": 5})
    db.session.commit()
    for _ in range(2):  # cold, then from the cache
        assert delivery.get(a, "options") == {"fee": 5}
        assert delivery.get(b, "options") == {}
        html_a = client.get(f"/t/{a.slug}/").get_data(as_text=True)
        html_b = client.get(f"/t/{b.slug}/").get_data(as_text=True)
        assert "甲街" in html_a and "乙市场" not in html_a and "/themes/street/" in html_a
        assert "乙市场" in html_b and "甲街" not in html_b and "/themes/market/" in html_b


def test_a_value_loaded_before_a_change_is_not_cached_after_it(app_ctx):
    key = tenant_key("racing-street")

    def load_then_see_a_commit():
        shared_cache.invalidate([key])  # another worker commits a change while this one reads the old row
        return "old"

    assert shared_cache.read_through(key, load_then_see_a_commit) == "old"
    assert shared_cache.read_through(key, lambda: "new") == "new"
    assert shared_cache.read_through(key, lambda: "newer") == "new"  # cached once nothing interferes


@pytest.mark.redis
def test_with_redis_configured_the_cache_lives_in_redis(app, client, make_tenant):
    tenant = make_tenant()
    client.get(f"/t/{tenant.slug}/")
    with app.app_context():
        assert type(cache.cache).__name__ == "RedisCache"
        prefix = cache.cache.key_prefix
    stored = redis.Redis.from_url(os.environ["MARKETPLACE_TEST_REDIS_URL"]).exists(prefix + tenant_key(tenant.slug))
    assert stored == 1


def test_pages_work_while_redis_is_unreachable(app, make_tenant):
    unreachable = make_test_app(Path(app.instance_path) / "no-redis",
                                configured_database_url() or app.config["SQLALCHEMY_DATABASE_URI"],
                                REDIS_URL="redis://127.0.0.1:9/0")
    tenant = make_tenant(name_zh="没有缓存也照常的街")
    browser = _client(unreachable)
    for _ in range(2):
        response = browser.get(f"/t/{tenant.slug}/")
        assert response.status_code == 200 and "没有缓存也照常的街" in response.get_data(as_text=True)
    tenant.status = TenantStatus.suspended
    db.session.commit()
    assert browser.get(f"/t/{tenant.slug}/").status_code == 503
    with unreachable.app_context():
        assert module_settings["payment"].get(tenant, "provider") == "offline"


def test_an_entry_written_by_another_release_does_not_break_pages(client, make_tenant):
    """During a rolling deploy both releases share the cache: a column one of them does not know is left out."""
    tenant = make_tenant(name_zh="滚动发布街")
    assert client.get(f"/t/{tenant.slug}/").status_code == 200
    entry = shared_cache.get(tenant_key(tenant.slug))
    entry["found"]["column_added_by_the_next_release"] = 1
    shared_cache.put(tenant_key(tenant.slug), entry, 60)
    again = client.get(f"/t/{tenant.slug}/")
    assert again.status_code == 200 and "滚动发布街" in again.get_data(as_text=True)
