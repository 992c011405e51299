"""The search service around the backends: typing suggestions, queries with nothing to search, the query log,
saving while Redis is down, and the embedded backend's open connections."""

from __future__ import annotations

import contextlib
import time

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from marketplace.extensions import db
from marketplace.media import jobs
from marketplace.search import indexing, services
from marketplace.search.backend import SearchQuery, TenantIndex
from marketplace.search.embedded import MAX_OPEN_PER_THREAD, EmbeddedBackend
from marketplace.search.models import SearchQueryStat
from marketplace.shops.models import ShopStatus
from marketplace.tenancy.context import tenant_scope


@pytest.fixture
def shop_street(app_ctx, make_tenant, make_shop, make_category, make_product):
    tenant = make_tenant()
    shop = make_shop(tenant, name_zh="安踏专卖店", name_en="Anta")
    goods = make_category(tenant, name_zh="运动鞋", product_type="general.goods")
    products = {
        "apples": make_product(shop, category=goods, title="Organic Fuji apples"),
        "shoes": make_product(shop, category=goods, title="Anta running shoes 跑鞋"),
    }
    return tenant, shop, products


def suggested(tenant, text: str) -> list[str]:
    with tenant_scope(tenant):
        return [s.text for s in services.suggest(tenant, text)]


@pytest.mark.parametrize("typed", ["appl", "apple", "apples", "run", "running", "shoes"])
def test_a_whole_english_word_still_suggests(shop_street, typed):
    tenant, _shop, products = shop_street
    assert any(t in suggested(tenant, typed) for t in (products["apples"].title, products["shoes"].title))


def test_a_stop_word_being_typed_is_the_start_of_a_name(shop_street):
    tenant, _shop, products = shop_street
    assert products["shoes"].title in suggested(tenant, "an")  # "an" may be the start of "anta"


def test_a_suspended_shop_is_not_suggested(shop_street):
    tenant, shop, _products = shop_street
    assert "安踏专卖店" in suggested(tenant, "安踏")
    with tenant_scope(tenant):
        shop.status = ShopStatus.suspended
        db.session.commit()
    assert "安踏专卖店" not in suggested(tenant, "安踏")


@pytest.mark.parametrize("text", ["!!!", "😀", "的", "the"])
def test_a_query_without_words_finds_nothing_and_is_not_logged(shop_street, text):
    tenant, _shop, _products = shop_street
    with tenant_scope(tenant):
        outcome = services.search(tenant, SearchQuery(text=text), record=True)
        assert outcome.result.total == 0
        assert db.session.scalars(select(SearchQueryStat)).all() == []


@pytest.mark.parametrize("text", ["138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "410105.1990.0307",
                                  "a@b.cn"])
def test_what_looks_like_a_phone_id_or_email_is_not_logged(text):
    assert not services.loggable(text)


def test_a_query_that_folds_longer_than_the_log_column_is_logged_cut(shop_street):
    """NFKC turns ﷺ into 18 letters: the log keeps 100 characters of the folded text, and the search answers."""
    tenant, _shop, _products = shop_street
    with tenant_scope(tenant):
        outcome = services.search(tenant, SearchQuery(text="跑鞋 " + "ﷺ" * 99), record=True)
        assert outcome.result.total == 1  # the Arabic letters are not searchable words; 跑鞋 still is
        logged = db.session.scalars(select(SearchQueryStat.query)).all()
    assert len(logged) == 1 and len(logged[0]) <= 100 and logged[0].startswith("跑鞋")


def test_saving_still_works_when_redis_is_down_and_the_change_is_indexed_here(app, shop_street, make_product,
                                                                             monkeypatch, caplog):
    """…and the log says why once, with the traceback, then a line per failure: not a traceback per request."""
    tenant, shop, _products = shop_street
    monkeypatch.setitem(app.config["MARKETPLACE"], "SEARCH_INDEXING", "auto")
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(jobs.queue_failures, "last_traceback", float("-inf"))
    app.extensions.pop("marketplace.jobs.redis", None)
    product = make_product(shop, title="李宁羽毛球拍")  # commits: the queue is unreachable
    racket = make_product(shop, title="尤尼克斯羽毛球拍")
    with tenant_scope(tenant):
        assert sorted(services.search(tenant, SearchQuery(text="羽毛球拍")).result.ids) == [product.id, racket.id]
    failures = [r for r in caplog.records if r.getMessage().startswith("could not queue a search index update")]
    assert len(failures) >= 2 and [r.exc_info is not None for r in failures] == [True] + [False] * (len(failures) - 1)
    assert all("still unreachable" in r.getMessage() and "Connection refused" in r.getMessage() for r in failures[1:])


def test_a_thread_keeps_a_bounded_number_of_index_files_open(tmp_path, search_analyser):
    backend = EmbeddedBackend({"INSTANCE_PATH": str(tmp_path), "SEARCH_PATH": None}, {})
    try:
        for n in range(MAX_OPEN_PER_THREAD + 5):
            backend.search(TenantIndex(n + 1, f"street-{n}"), SearchQuery())
            backend.index(TenantIndex(n + 1, f"street-{n}"), [])
            backend._connect(TenantIndex(n + 1, f"street-{n}"), create=True)
        assert len(backend._connections()) == MAX_OPEN_PER_THREAD
    finally:
        backend.close()


@pytest.mark.parametrize("typed", ["apples and", "organic apples and"])
def test_a_stop_word_after_other_words_does_not_empty_the_suggestions(shop_street, typed):
    tenant, _shop, products = shop_street
    assert products["apples"].title in suggested(tenant, typed)


@pytest.mark.parametrize("text", ["复合肥 15-15-15 40kg", "17-17-17 25kg", "15-15-15 1000", "iPhone 13 屏幕"])
def test_grades_and_quantities_are_logged(text):
    assert services.loggable(text)


def test_emptied_categories_do_not_crowd_out_what_is_on_sale(app_ctx, make_tenant, make_shop, make_category,
                                                             make_product):
    """Names of categories that no longer sell anything stay in an index until a reindex: they are skipped,
    and the goods on sale still fill the list."""
    from marketplace.catalog import services as catalog

    tenant = make_tenant()
    shop = make_shop(tenant, name_zh="老王水果店")
    for n in range(8):
        gone = make_product(shop, category=make_category(tenant, name_zh=f"苹果礼盒{n}", product_type="general.food"),
                            title=f"礼盒 {n}")
        indexing.run_pending()  # indexed (so its category is offered) before it goes off sale
        with tenant_scope(tenant):
            catalog.unpublish_product(gone)
            db.session.commit()
    fruit = make_category(tenant, name_zh="水果", product_type="general.food")
    live = make_product(shop, category=fruit, title="红富士苹果 一号")
    assert live.title in suggested(tenant, "苹果")
    assert not any(text.startswith("苹果礼盒") for text in suggested(tenant, "苹果"))


def test_a_search_never_throws_away_the_callers_uncommitted_stock_change(shop_street):
    """A bulk stock update waits in the caller's transaction: logging the search must not roll it back."""
    from marketplace.catalog import services as catalog
    from marketplace.catalog.models import Variant

    tenant, _shop, products = shop_street
    with tenant_scope(tenant):
        variant = db.session.scalar(select(Variant).where(Variant.product_id == products["shoes"].id))
        before = variant.stock
        catalog.adjust_stock(variant, -4)
        services.search(tenant, SearchQuery(text="跑鞋"), record=True)
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(Variant, variant.id).stock == before - 4


def logged_counts(tenant) -> dict[str, tuple[int, int]]:
    with tenant_scope(tenant):
        return {row.query: (row.searches, row.zero_results) for row in db.session.scalars(select(SearchQueryStat))}


def test_searches_are_counted_in_the_worker_and_written_together_when_due(app, client, shop_street, monkeypatch):
    """In production a search page does not wait for a write of its own: the counts are kept and written every
    SEARCH_STATS_FLUSH_S seconds, all at once, and none is lost on the way."""
    tenant, _shop, _products = shop_street
    monkeypatch.setitem(app.config["MARKETPLACE"], "SEARCH_STATS_FLUSH_S", 1)
    for text in ("跑鞋", "跑鞋", "羽毛球"):
        assert client.get(f"/t/{tenant.slug}/search", query_string={"q": text}).status_code == 200
    assert logged_counts(tenant) == {}  # not yet due
    time.sleep(1.1)
    client.get(f"/t/{tenant.slug}/search", query_string={"q": "跑鞋"})
    assert logged_counts(tenant) == {"跑鞋": (3, 0), "羽毛球": (1, 1)}


@contextlib.contextmanager
def query_log_refused():
    """The database refusing every write of the query log (a failover, a full disk)."""

    def refuse(_connection, _cursor, statement, parameters, _context, _many):
        if "search_query_stats" in statement:
            raise OperationalError(statement, parameters, Exception("the database went away"))

    event.listen(db.engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", refuse)


def test_counts_a_failed_write_could_not_save_are_written_the_next_time(app, client, shop_street, monkeypatch):
    """The database refusing the write (a failover, a full disk) delays the counts; it does not lose them."""
    tenant, _shop, _products = shop_street
    monkeypatch.setitem(app.config["MARKETPLACE"], "SEARCH_STATS_FLUSH_S", 3600)
    counts = app.extensions["search_query_counts"]
    client.get(f"/t/{tenant.slug}/search", query_string={"q": "跑鞋"})
    with query_log_refused():
        counts.flush()
    assert logged_counts(tenant) == {}
    client.get(f"/t/{tenant.slug}/search", query_string={"q": "跑鞋"})  # counted meanwhile
    counts.flush()
    assert logged_counts(tenant) == {"跑鞋": (2, 0)}


def test_a_long_outage_keeps_a_bounded_number_of_counts_the_most_searched(app, shop_street, monkeypatch, caplog):
    """Each failed write keeps its counts for the next: an outage of hours must not grow the worker without bound."""
    tenant, _shop, _products = shop_street
    monkeypatch.setattr(services, "MAX_PENDING_QUERIES", 3)
    counts = app.extensions["search_query_counts"]
    for text, searches in (("跑鞋", 3), ("羽毛球", 2), ("网球", 1), ("乒乓球", 4), ("篮球", 1)):
        for _ in range(searches):
            counts.add(tenant.id, tenant.timezone, text, 1, None)
    with query_log_refused():
        counts.flush()
    dropped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("dropped the counts")]
    assert dropped == ["dropped the counts of 2 queries (2 searches) waiting for the database: at most 3 are kept"]
    counts.flush()
    assert logged_counts(tenant) == {"乒乓球": (4, 0), "跑鞋": (3, 0), "羽毛球": (2, 0)}


def test_counts_kept_in_the_worker_are_written_when_it_stops(app, client, shop_street, monkeypatch):
    tenant, _shop, _products = shop_street
    monkeypatch.setitem(app.config["MARKETPLACE"], "SEARCH_STATS_FLUSH_S", 3600)
    client.get(f"/t/{tenant.slug}/search", query_string={"q": "跑鞋"})
    assert logged_counts(tenant) == {}
    app.extensions["search_query_counts"]._flush_at_exit()  # what the worker's exit runs (atexit)
    assert logged_counts(tenant) == {"跑鞋": (1, 0)}
