"""Keeping the index true: changes reach it after the commit and never when rolled back, a reindex loses no
change made while it runs, the RQ path, concurrent writers, and what /healthz says about the backend."""

from __future__ import annotations

import logging
import multiprocessing
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from marketplace.catalog import services as catalog
from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.search import documents, indexing, services
from marketplace.search.backend import SearchDocument, SearchQuery, SearchUnavailable, TenantIndex
from marketplace.search.embedded import EmbeddedBackend
from marketplace.search.models import SearchJournal
from marketplace.shops.models import ShopStatus
from marketplace.tenancy.context import tenant_scope


def found(tenant, text: str = "", **kw) -> list[int]:
    with tenant_scope(tenant):
        return services.search(tenant, SearchQuery(text=text, size=100, **kw)).result.ids


def indexed(tenant) -> set[int]:
    """The ids in the tenant's index itself (after this context's committed changes are synced)."""
    indexing.run_pending()
    with tenant_scope(tenant):
        return services.backend_for(tenant).document_ids(services.index_of(tenant))


def product_input(category, title: str, sku: str, price: int = 2990, stock: int = 10, tiers=()):
    return catalog.ProductInput(category=category, title=title,
                                variants=[catalog.VariantInput(sku=sku, price=price, stock=stock, tiers=list(tiers))])


@pytest.fixture
def street(make_tenant, make_shop, make_category):
    tenant = make_tenant()
    fruit = make_shop(tenant, name_zh="老王水果店")
    phones = make_shop(tenant, name_zh="小李手机维修")
    parent = make_category(tenant, name_zh="时令水果", product_type="general.food")
    apples = make_category(tenant, name_zh="苹果", product_type="general.food", parent_id=parent.id)
    return tenant, fruit, phones, parent, apples


# -- after the commit, never before ---------------------------------------------------------------------------

def test_a_product_reaches_the_index_when_its_transaction_commits_not_before(app_ctx, street):
    tenant, fruit, _phones, _parent, apples = street
    with tenant_scope(tenant):
        product = catalog.create_product(fruit, product_input(apples, "烟台红富士苹果", "F-1"), publish=True)
        db.session.flush()
        assert product.id not in indexed(tenant)
        assert found(tenant, "富士") == []
        db.session.commit()
    assert found(tenant, "富士") == [product.id]


def test_uncommitted_writes_hold_back_syncing_until_their_transaction_ends(app_ctx, street, make_product):
    tenant, fruit, _phones, _parent, apples = street
    product = make_product(fruit, category=apples, title="烟台红富士苹果")  # committed: waiting to be synced
    with tenant_scope(tenant):
        db.session.get(Product, product.id).title = "阿克苏冰糖心"
        db.session.flush()
        assert found(tenant, "冰糖心") == [] and found(tenant, "富士") == []  # not read through this transaction
        db.session.close()  # discarded without a rollback() call, as the end of a request does
    assert found(tenant, "富士") == [product.id] and found(tenant, "冰糖心") == []


@pytest.fixture
def committed_street(app_ctx, make_tenant, make_shop, make_category):
    """A street committed for real (no test transaction around it), purged afterwards."""
    tenant = make_tenant()
    try:
        shop = make_shop(tenant, name_zh="老王水果店")
        category = make_category(tenant, name_zh="苹果", product_type="general.food")
        yield tenant, shop, category
    finally:
        purge(tenant.id)


def purge(tenant_id: int) -> None:
    """Delete every row of a tenant committed by a no_transaction test, children first, then its merchants."""
    db.session.rollback()
    with db.engine.begin() as connection:
        merchants = connection.execute(text("SELECT merchant_id FROM shops WHERE tenant_id = :t"),
                                       {"t": tenant_id}).scalars().all()
        for table in reversed(db.metadata.sorted_tables):
            if "tenant_id" in table.c and table.name != "tenants":
                connection.execute(table.delete().where(table.c.tenant_id == tenant_id))
        connection.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": tenant_id})
        for merchant in merchants:  # the platform's approval of the merchant (make_shop approves) goes with it
            for table in ("merchant_approval_events", "merchant_approvals", "merchants"):
                column = "id" if table == "merchants" else "merchant_id"
                connection.execute(text(f"DELETE FROM {table} WHERE {column} = :m"), {"m": merchant})


@pytest.mark.no_transaction
def test_a_rolled_back_change_never_reaches_the_index(committed_street, make_product):
    tenant, shop, category = committed_street
    product = make_product(shop, category=category, title="烟台红富士苹果", sku="F-1")
    assert found(tenant, "富士") == [product.id]
    with tenant_scope(tenant):
        db.session.get(Product, product.id).title = "阿克苏冰糖心"
        draft = catalog.create_product(shop, product_input(category, "砀山酥梨", "P-1"), publish=True)
        db.session.flush()
        draft_id = draft.id
        db.session.rollback()
    assert found(tenant, "冰糖心") == [] and found(tenant, "酥梨") == []
    assert found(tenant, "富士") == [product.id]
    assert indexed(tenant) == {product.id}
    with tenant_scope(tenant):
        assert db.session.get(Product, draft_id) is None  # really rolled back, not just unindexed


@pytest.mark.no_transaction
def test_a_change_rolled_back_to_a_savepoint_stays_out_while_the_rest_of_the_transaction_goes_in(
        committed_street, make_product):
    tenant, shop, category = committed_street
    kept = make_product(shop, category=category, title="烟台红富士苹果", sku="F-1")
    undone = make_product(shop, category=category, title="陕西嘎啦苹果", sku="G-1")
    with tenant_scope(tenant):
        db.session.get(Product, kept.id).title = "烟台红富士苹果 新果上市"
        savepoint = db.session.begin_nested()
        db.session.get(Product, undone.id).title = "砀山酥梨"
        db.session.flush()
        savepoint.rollback()
        db.session.commit()
    assert found(tenant, "新果") == [kept.id]
    assert found(tenant, "酥梨") == []
    assert found(tenant, "嘎啦") == [undone.id]


@pytest.mark.no_transaction
def test_a_commit_after_a_rolled_back_transaction_indexes_only_its_own_changes(committed_street, make_product):
    tenant, shop, category = committed_street
    product = make_product(shop, category=category, title="烟台红富士苹果", sku="F-1")
    with tenant_scope(tenant):
        db.session.get(Product, product.id).title = "阿克苏冰糖心"
        db.session.flush()
        db.session.rollback()
        db.session.get(Product, product.id).description = "<p>脆甜多汁</p>"
        db.session.commit()
    assert found(tenant, "富士") == [product.id] and found(tenant, "脆甜") == [product.id]
    assert found(tenant, "冰糖心") == []


# -- what takes a product out, and what changes its document --------------------------------------------------

def test_unpublishing_archiving_and_deleting_take_a_product_out(app_ctx, street, make_product):
    tenant, fruit, _phones, _parent, apples = street
    product = make_product(fruit, category=apples, title="烟台红富士苹果")
    other = make_product(fruit, category=apples, title="陕西嘎啦苹果")
    assert set(found(tenant, "苹果")) == {product.id, other.id}
    with tenant_scope(tenant):
        catalog.unpublish_product(product)
        db.session.commit()
        assert found(tenant, "苹果") == [other.id]
        catalog.publish_product(product)
        db.session.commit()
        assert set(found(tenant, "苹果")) == {product.id, other.id}
        catalog.unpublish_product(product, archive=True)
        db.session.commit()
        assert found(tenant, "苹果") == [other.id]
        db.session.delete(other)
        db.session.commit()
    assert found(tenant, "苹果") == [] and indexed(tenant) == set()


def test_suspending_a_shop_takes_out_all_its_products_and_reopening_brings_them_back(app_ctx, street, make_product):
    tenant, fruit, phones, _parent, apples = street
    apple = make_product(fruit, category=apples, title="烟台红富士苹果")
    pear = make_product(fruit, category=apples, title="砀山酥梨")
    screen = make_product(phones, title="苹果手机屏幕更换")
    with tenant_scope(tenant):
        fruit.status = ShopStatus.suspended
        db.session.commit()
    assert found(tenant, "苹果") == [screen.id] and indexed(tenant) == {screen.id}
    with tenant_scope(tenant):
        fruit.status = ShopStatus.active
        db.session.commit()
    assert indexed(tenant) == {apple.id, pear.id, screen.id}


def test_a_licence_lapse_takes_gated_products_out(app_ctx, street, make_product, make_category, make_user):
    from marketplace.accounts.models import Role
    from tests.search.conformance import pesticide

    tenant, fruit, _phones, _parent, _apples = street
    operator = make_user(role=Role.tenant_operator, tenant=tenant)
    with tenant_scope(tenant):
        licence = catalog.record_licence(fruit, "pesticide_business", "许可证 1", None)
        catalog.verify_licence(licence, operator)
        db.session.commit()
    category = make_category(tenant, product_type="agri_inputs.pesticide")
    product = make_product(fruit, category=category, title="10%吡虫啉可湿性粉剂",
                           attributes=pesticide("insecticide", "吡虫啉", "10", "WP", "low_toxic"))
    assert found(tenant, "吡虫啉") == [product.id]
    with tenant_scope(tenant):
        assert catalog.unpublish_gated_products(fruit, "pesticide_business") == 1  # bulk SQL, noted by touch()
        db.session.commit()
    assert found(tenant, "吡虫啉") == []


def test_renaming_a_shop_updates_its_products_and_its_suggestion(app_ctx, street, make_product):
    tenant, fruit, _phones, _parent, apples = street
    product = make_product(fruit, category=apples, title="烟台红富士苹果")
    assert found(tenant, "老王") == [product.id]
    with tenant_scope(tenant):
        fruit.name_zh = "老李鲜果铺"
        db.session.commit()
        assert found(tenant, "老李") == [product.id] and found(tenant, "老王") == []
        assert [(s.kind, s.text) for s in services.suggest(tenant, "老李")] == [("shop", "老李鲜果铺")]
        assert services.suggest(tenant, "老王") == []


def test_renaming_a_category_updates_the_products_below_it(app_ctx, street, make_product):
    tenant, fruit, _phones, parent, apples = street
    product = make_product(fruit, category=apples, title="烟台红富士 5斤装")
    assert found(tenant, "时令") == [product.id]
    with tenant_scope(tenant):
        parent.name_zh = "应季鲜果"
        apples.name_zh = "苹果梨"
        db.session.commit()
        assert found(tenant, "应季") == [product.id] and found(tenant, "时令") == []
        assert ("category", "苹果梨") in {(s.kind, s.text) for s in services.suggest(tenant, "苹果梨")}


def test_moving_a_product_to_another_category_moves_it_between_filters(app_ctx, street, make_product,
                                                                       make_category):
    tenant, fruit, _phones, parent, apples = street
    pears = make_category(tenant, name_zh="梨", product_type="general.food", parent_id=parent.id)
    product = make_product(fruit, category=apples, title="砀山酥梨", sku="P-1")
    with tenant_scope(tenant):
        catalog.update_product(product, product_input(pears, "砀山酥梨", "P-1"))
        db.session.commit()
    assert found(tenant, category_id=pears.id) == [product.id]
    assert found(tenant, category_id=apples.id) == []
    assert found(tenant, category_id=parent.id) == [product.id]


def test_stock_changes_update_in_stock(app_ctx, street, make_product):
    tenant, fruit, _phones, _parent, apples = street
    product = make_product(fruit, category=apples, title="烟台红富士苹果", stock=1)
    assert found(tenant, "苹果", in_stock=True) == [product.id]
    with tenant_scope(tenant):
        variant = product.variants[0]
        assert catalog.adjust_stock(variant, -1) == 0
        db.session.commit()
        assert found(tenant, "苹果", in_stock=True) == [] and found(tenant, "苹果") == [product.id]
        catalog.adjust_stock(variant, 3)
        db.session.commit()
    assert found(tenant, "苹果", in_stock=True) == [product.id]


def test_price_and_tier_changes_update_the_price_filter(app_ctx, street, make_product):
    tenant, fruit, _phones, _parent, apples = street
    product = make_product(fruit, category=apples, title="烟台红富士苹果", price=2990, sku="F-1")
    assert found(tenant, price_max=2000) == []
    with tenant_scope(tenant):
        catalog.update_product(product, product_input(apples, "烟台红富士苹果", "F-1", price=2990, tiers=[(10, 1990)]))
        db.session.commit()
    assert found(tenant, price_max=2000) == [product.id]  # the tier price is the lowest anyone can get


# -- reindexing -----------------------------------------------------------------------------------------------

def answers(tenant) -> list:
    out = []
    with tenant_scope(tenant):
        for text in ("", "苹果", "pg", "老王", "fushi", "屏幕"):
            for sort in ("relevance", "price_asc", "newest"):
                result = services.search(tenant, SearchQuery(text=text, sort=sort, size=50)).result
                out.append((text, sort, result.ids, result.total,
                            {name: [(v.value, v.count) for v in values] for name, values in result.facets.items()}))
        out.append([(s.kind, s.ref) for s in services.suggest(tenant, "pg")])
    return out


def test_flask_search_reindex_shows_progress_and_answers_as_incremental_indexing_did(app, app_ctx, street,
                                                                                     make_product):
    tenant, fruit, phones, _parent, apples = street
    make_product(fruit, category=apples, title="烟台红富士苹果", price=2990)
    make_product(fruit, category=apples, title="陕西嘎啦苹果", price=1990, stock=0)
    make_product(phones, title="iPhone 13 屏幕更换", price=45000)
    incremental = answers(tenant)

    result = app.test_cli_runner().invoke(args=["search", "reindex", "--tenant", tenant.slug])

    assert result.exit_code == 0, result.output
    assert f"{tenant.slug} (embedded)" in result.output  # the progress bar's label
    assert f"{tenant.slug}：已索引 3 件商品。" in result.output
    assert "共 1 个市场或街区，3 件商品" in result.output
    assert answers(tenant) == incremental


def test_a_reindex_repairs_a_lost_index(app, app_ctx, street, make_product):
    tenant, fruit, _phones, _parent, apples = street
    product = make_product(fruit, category=apples, title="烟台红富士苹果")
    assert indexed(tenant) == {product.id}
    with tenant_scope(tenant):
        services.backend_for(tenant).drop(services.index_of(tenant))
    assert found(tenant, "苹果") == []
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert found(tenant, "苹果") == [product.id]


def test_a_second_reindex_of_the_same_tenant_is_refused_while_the_first_runs(app, app_ctx, street, make_product):
    """Two at once would clear each other's journal; the second is told to wait, and changes nothing."""
    import fcntl

    tenant, fruit, _phones, _parent, apples = street
    product = make_product(fruit, category=apples, title="烟台红富士苹果")
    lock = Path(app.instance_path) / "search" / "locks" / f"reindex-{tenant.id}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as held:  # what the first reindex holds while it runs
        fcntl.flock(held, fcntl.LOCK_EX)
        result = app.test_cli_runner().invoke(args=["search", "reindex", "--tenant", tenant.slug])
    assert result.exit_code != 0
    assert f"{tenant.slug} 正在由另一个进程重建索引" in result.output
    assert app.test_cli_runner().invoke(args=["search", "reindex", "--tenant", tenant.slug]).exit_code == 0
    assert found(tenant, "苹果") == [product.id]


def test_reindexing_an_unknown_tenant_says_so(app):
    result = app.test_cli_runner().invoke(args=["search", "reindex", "--tenant", "no-such-street"])
    assert result.exit_code != 0 and "没有代码为 no-such-street 的市场或街区" in result.output


def test_a_product_changed_while_a_reindex_runs_is_current_afterwards(app_ctx, street, make_product):
    """Another worker commits a change after the reindex read the product and before it switches indexes."""
    tenant, fruit, _phones, _parent, apples = street
    product = make_product(fruit, category=apples, title="烟台红富士苹果")
    changed = []

    def meanwhile(_count):  # called by the reindex after it read (and analysed) a batch of products
        with tenant_scope(tenant):
            db.session.get(Product, product.id).title = "阿克苏冰糖心苹果"
            db.session.commit()
        indexing.run_pending()  # that worker's end of request: written to the live index, noted in the journal
        changed.append(db.session.scalars(select(SearchJournal.product_id)).all())

    with tenant_scope(tenant):
        assert indexing.reindex(tenant, progress=meanwhile) == 1
        assert changed == [[0, product.id]]  # the run's marker, then the product synced during it
        assert db.session.scalar(select(func.count(SearchJournal.id))) == 0
    assert found(tenant, "冰糖心") == [product.id]
    assert found(tenant, "富士") == []


# -- the RQ path ----------------------------------------------------------------------------------------------

@pytest.mark.redis
def test_with_redis_a_change_is_queued_and_a_worker_indexes_it(app, app_ctx, street, make_product, monkeypatch):
    import redis
    from rq import Queue, SimpleWorker

    from marketplace.media import jobs

    tenant, fruit, _phones, _parent, apples = street
    assert indexed(tenant) == set()  # the street's own commits synced inline, before Redis is configured
    url = os.environ["MARKETPLACE_TEST_REDIS_URL"]
    monkeypatch.setitem(app.config["MARKETPLACE"], "SEARCH_INDEXING", "auto")
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", url)
    connection = redis.Redis.from_url(url)
    queue = Queue(jobs.QUEUE_NAME, connection=connection)
    queue.empty()
    try:
        product = make_product(fruit, category=apples, title="烟台红富士苹果")
        assert len(queue.job_ids) >= 1
        assert found(tenant, "富士") == []  # queued, not yet run

        SimpleWorker([queue], connection=connection).work(burst=True)

        assert found(tenant, "富士") == [product.id]
        assert all(queue.fetch_job(i) is None or queue.fetch_job(i).is_finished for i in queue.job_ids)
    finally:
        queue.empty()
        connection.close()


def test_queue_mode_without_redis_indexes_inline_and_commits_still_work(app, app_ctx, street, make_product,
                                                                         monkeypatch):
    tenant, fruit, _phones, _parent, apples = street
    monkeypatch.setitem(app.config["MARKETPLACE"], "SEARCH_INDEXING", "queue")
    monkeypatch.setitem(app.config["MARKETPLACE"], "REDIS_URL", None)
    product = make_product(fruit, category=apples, title="烟台红富士苹果")
    assert found(tenant, "富士") == [product.id]


# -- concurrent writers ---------------------------------------------------------------------------------------

def synthetic(analyser, ident: int, word: str) -> SearchDocument:
    title = f"{word}红富士苹果 {ident}号"
    fields = {"title": " ".join(analyser.words(title)), "grams": " ".join(analyser.grams(title)),
              "pinyin": " ".join(analyser.pinyin(title))}
    return SearchDocument(id=ident, shop_id=1, category_id=1, category_ids=[1], product_type="general.food",
                          title=title, fields=fields, facets={"origin": [word]}, price_min=ident, price_max=ident,
                          in_stock=True, published_at=float(ident))


def write_until_reindexed(root: str, tenant: TenantIndex, batches, started, reindexed, errors) -> None:
    """A gunicorn worker's share: index its documents again and again until the reindex has switched, then
    once more (as the journal catch-up would)."""
    try:
        backend = EmbeddedBackend({"INSTANCE_PATH": root, "SEARCH_PATH": None}, {})
        rounds = 0
        while not reindexed.is_set() and rounds < 500:
            for batch in batches:
                backend.index(tenant, batch)
            rounds += 1
            started.set()
        for batch in batches:
            backend.index(tenant, batch)
        backend.close()
    except BaseException as exc:  # reported to the test, which fails with it
        errors.put(repr(exc))
        raise


def test_two_processes_and_a_reindex_leave_every_document_exactly_once(tmp_path, search_analyser):
    tenant = TenantIndex(id=1, slug="busy-street")
    first = [synthetic(search_analyser, i, "甲") for i in range(1, 121)]
    second = [synthetic(search_analyser, i, "乙") for i in range(1001, 1121)]
    earlier = [synthetic(search_analyser, i, "丙") for i in range(2001, 2041)]
    backend = EmbeddedBackend({"INSTANCE_PATH": str(tmp_path), "SEARCH_PATH": None}, {})
    backend.index(tenant, earlier)
    context = multiprocessing.get_context("fork")
    errors, reindexed = context.Queue(), context.Event()
    started = [context.Event(), context.Event()]
    workers = [context.Process(target=write_until_reindexed, args=(
        str(tmp_path), tenant, [docs[i:i + 10] for i in range(0, len(docs), 10)], flag, reindexed, errors))
        for docs, flag in ((first, started[0]), (second, started[1]))]
    for worker in workers:
        worker.start()
    try:
        assert all(flag.wait(30) for flag in started)
        assert backend.reindex(tenant, iter(earlier)) == len(earlier)  # the database as the reindex read it
    finally:
        reindexed.set()
        for worker in workers:
            worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0], [errors.get() for _ in range(errors.qsize())]

    backend.close()
    backend = EmbeddedBackend({"INSTANCE_PATH": str(tmp_path), "SEARCH_PATH": None}, {})  # as a new worker sees it
    every = {d.id for d in first + second + earlier}
    result = backend.search(tenant, SearchQuery(size=1000))
    assert sorted(result.ids) == sorted(every) and result.total == len(every)
    apples = backend.search(tenant, SearchQuery(terms=search_analyser.terms("苹果"), size=1000))
    assert sorted(apples.ids) == sorted(every)  # the text index agrees with the documents
    assert {v.value: v.count for v in result.facets["attr.origin"]} == {"甲": 120, "乙": 120, "丙": 40}
    backend.close()


# -- health and outages ---------------------------------------------------------------------------------------

def test_healthz_reports_the_search_backend(client):
    search = client.get("/healthz").get_json()["checks"]["search"]
    assert search == {"ok": True, "detail": "embedded (sqlite fts5)"}


@pytest.fixture
def broken_search(app, tmp_path, monkeypatch):
    """The embedded backend's folder cannot be created: a file stands where it should be."""
    blocker = tmp_path / "search-is-a-file"
    blocker.write_text("")
    monkeypatch.setitem(app.config["MARKETPLACE"], "SEARCH_PATH", str(blocker))
    app.extensions["search_instances"].clear()  # built again from the settings above
    return blocker


def test_healthz_answers_503_naming_the_search_failure(client, broken_search):
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["search"]["ok"] is False and checks["search"]["detail"].startswith("embedded:")
    assert checks["database"]["ok"] is True


def test_with_the_backend_down_changes_are_saved_and_searching_says_unavailable(app, app_ctx, street, make_product,
                                                                                broken_search, caplog):
    tenant, fruit, _phones, _parent, apples = street
    with caplog.at_level(logging.ERROR, logger="marketplace.search.indexing"):
        product = make_product(fruit, category=apples, title="烟台红富士苹果")
        indexing.run_pending()
    assert "search index update failed" in caplog.text
    with tenant_scope(tenant):
        assert db.session.get(Product, product.id).title == "烟台红富士苹果"  # the change itself is saved
        with pytest.raises(SearchUnavailable):
            services.search(tenant, SearchQuery(text="苹果"))
        with pytest.raises(SearchUnavailable):
            services.suggest(tenant, "苹果")
    broken_search.unlink()  # the disk is back: a reindex repairs what was missed
    result = app.test_cli_runner().invoke(args=["search", "reindex", "--tenant", tenant.slug])
    assert result.exit_code == 0, result.output
    assert found(tenant, "苹果") == [product.id]


def test_a_reindex_while_the_backend_is_down_fails_with_a_message(app, app_ctx, street, broken_search):
    tenant = street[0]
    result = app.test_cli_runner().invoke(args=["search", "reindex", "--tenant", tenant.slug])
    assert result.exit_code != 0
    assert f"{tenant.slug} 的搜索服务不可用" in result.output


def test_documents_leave_out_what_residents_cannot_buy(app_ctx, street, make_product, search_analyser):
    tenant, fruit, _phones, _parent, apples = street
    on_sale = make_product(fruit, category=apples, title="烟台红富士苹果")
    draft = make_product(fruit, category=apples, title="陕西嘎啦苹果", publish=False)
    with tenant_scope(tenant):
        docs, gone = documents.for_ids(search_analyser, [on_sale.id, draft.id, 999_999])
        assert [d.id for d in docs] == [on_sale.id] and gone == {draft.id, 999_999}
        assert [d.id for d in documents.all_documents(search_analyser)] == [on_sale.id]


def test_in_stock_means_the_minimum_order_can_be_bought(app_ctx, street, make_product):
    tenant, fruit, _phones, _parent, apples = street
    boxes = make_product(fruit, category=apples, title="红富士苹果 整箱批发", stock=5, moq=10)
    single = make_product(fruit, category=apples, title="红富士苹果 散装", stock=5, moq=1)
    assert found(tenant, "苹果", in_stock=True) == [single.id]
    assert set(found(tenant, "苹果")) == {boxes.id, single.id}


def test_several_commits_in_one_request_end_with_the_last(app_ctx, street, make_product):
    """Two edits of one product in one request are synced together: the index holds the second."""
    tenant, fruit, _phones, _parent, apples = street
    product = make_product(fruit, category=apples, title="烟台红富士苹果", sku="F-1")
    with tenant_scope(tenant):
        for title in ("阿克苏冰糖心", "陕西嘎啦苹果"):
            catalog.update_product(product, product_input(apples, title, "F-1"))
            db.session.commit()
    assert found(tenant, "嘎啦") == [product.id] and found(tenant, "冰糖心") == []
