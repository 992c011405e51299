"""The tenant guard fails closed: a forgotten tenant filter is an error, never another tenant's rows."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, inspect, select, update

from marketplace.catalog.models import Category
from marketplace.extensions import db
from marketplace.shops.models import Merchant, Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.guard import TenantMismatch, TenantRequired
from marketplace.tenancy.models import Tenant, TenantDomain, TenantScoped, TenantSetting

#: Models with a tenant_id column that are deliberately outside the guard, and why.
UNGUARDED_WITH_TENANT_ID = {
    "RoleGrant",  # authorisation reads a user's grants across tenants; every query filters by user explicitly
    "TenantDomain",  # looked up by host name before any tenant is known
    "ApiToken",  # looked up by token hash; every query names tenant_id and shop_id explicitly
    "OperatorToken",  # looked up by token hash; then refused unless its tenant_id is the request's tenant
    "IdempotencyRecord",  # belongs to its caller, found by (caller, key); tenant_id only records where it was used
    "PaymentEvent",  # a provider notification is recorded before anyone knows whose payment it names
    "AuditEntry",  # platform-wide: an admin's action may name no tenant; pages filter by tenant_id explicitly
}


def _fresh():
    """Forget every loaded shop, merchant and category, so the next read must go to the database (and through
    the guard) rather than the identity map. Tenants stay: tests still need them for ``tenant_scope``."""
    for obj in list(db.session):
        if not isinstance(obj, Tenant):
            db.session.expunge(obj)


def _slugs(rows) -> set[str]:
    return {row.slug for row in rows}


# -- no current tenant: every read and write of a tenant-owned table raises --------------------------------

NO_TENANT_STATEMENTS = {
    "select": lambda: select(Shop),
    "select column": lambda: select(Shop.slug),
    "count": lambda: select(func.count(Shop.id)),
    "join": lambda: select(Tenant).join(Shop, Shop.tenant_id == Tenant.id),
    "outer join": lambda: select(Tenant).outerjoin(Shop, Shop.tenant_id == Tenant.id),
    "subquery in where": lambda: select(Tenant).where(Tenant.id.in_(select(Shop.tenant_id))),
    "subquery in from": lambda: select(Tenant).join(
        (sub := select(Shop.tenant_id, func.count().label("n")).group_by(Shop.tenant_id).subquery()),
        sub.c.tenant_id == Tenant.id),
    "exists": lambda: select(Merchant).where(select(Shop.id).where(Shop.merchant_id == Merchant.id).exists()),
    "update": lambda: update(Shop).values(name_zh="改名"),
    "delete": lambda: delete(Shop).where(Shop.slug == "a-shop"),
    "category": lambda: select(Category),
    "tenant setting": lambda: select(TenantSetting),
}


@pytest.mark.parametrize("build", NO_TENANT_STATEMENTS.values(), ids=NO_TENANT_STATEMENTS.keys())
def test_tenant_owned_statements_without_a_tenant_raise(two_tenants, build):
    _fresh()
    with pytest.raises(TenantRequired):
        db.session.execute(build())


def test_no_tenant_update_and_delete_change_nothing(two_tenants):
    a_shop_id = two_tenants.a_shop.id
    _fresh()
    with pytest.raises(TenantRequired):
        db.session.execute(update(Shop).values(name_zh="改名"))
    with pytest.raises(TenantRequired):
        db.session.execute(delete(Shop))
    with all_tenants():
        assert db.session.get(Shop, a_shop_id).name_zh == "甲街鲜果坊"
        assert db.session.scalar(select(func.count(Shop.id))) == 3


def test_get_by_id_without_a_tenant_raises(two_tenants):
    shop_id = two_tenants.a_shop.id
    _fresh()
    with pytest.raises(TenantRequired):
        db.session.get(Shop, shop_id)


def test_get_by_id_in_a_new_app_context_raises(app, two_tenants):
    shop_id = two_tenants.a_shop.id
    with app.app_context(), pytest.raises(TenantRequired):  # a new context: its own session and no tenant
        db.session.get(Shop, shop_id)


def test_lazy_loading_a_merchants_shops_without_a_tenant_raises(two_tenants):
    merchant_id = two_tenants.merchant.id
    _fresh()
    merchant = db.session.get(Merchant, merchant_id)  # merchants are platform-wide: allowed
    with pytest.raises(TenantRequired):
        _ = merchant.shops


def test_lazy_loading_a_shops_category_without_a_tenant_raises(two_tenants):
    with tenant_scope(two_tenants.a):
        category = Category(slug="fruit", name_zh="水果")
        db.session.add(category)
        db.session.flush()
        two_tenants.a_shop.category_id = category.id
        db.session.flush()
        shop_id = two_tenants.a_shop.id
    _fresh()
    with all_tenants():
        shop = db.session.scalars(select(Shop).where(Shop.id == shop_id).execution_options(all_tenants=True)).one()
    with pytest.raises(TenantRequired):
        _ = shop.category


def test_new_row_without_a_tenant_raises(two_tenants):
    db.session.add(Category(slug="orphan", name_zh="无主"))
    with pytest.raises(TenantRequired):
        db.session.flush()


# -- tenant A current: only A's rows ----------------------------------------------------------------------

def test_select_returns_only_the_current_tenants_rows(two_tenants):
    _fresh()
    with tenant_scope(two_tenants.a):
        assert _slugs(db.session.scalars(select(Shop))) == {"a-shop", "a-other"}
        assert db.session.scalar(select(func.count(Shop.id))) == 2
        assert db.session.scalar(select(func.count()).select_from(Shop)) == 2
    with tenant_scope(two_tenants.b):
        assert _slugs(db.session.scalars(select(Shop))) == {"b-shop"}
        assert db.session.scalar(select(func.count(Shop.id))) == 1


def test_joins_and_subqueries_see_only_the_current_tenants_rows(two_tenants):
    _fresh()
    with tenant_scope(two_tenants.a):
        # From the merchant's side: the merchant trades in both tenants, but A sees only A's shop.
        joined = db.session.scalars(
            select(Shop.slug).join(Merchant, Shop.merchant_id == Merchant.id)
            .where(Merchant.legal_name == "两地商户")
        ).all()
        assert joined == ["a-shop"]
        tenants_with_shops = db.session.scalars(
            select(Tenant.slug).join(Shop, Shop.tenant_id == Tenant.id).distinct()
        ).all()
        assert tenants_with_shops == [two_tenants.a.slug]
        counts = dict(db.session.execute(
            select(Merchant.legal_name, func.count(Shop.id)).join(Shop, Shop.merchant_id == Merchant.id)
            .group_by(Merchant.legal_name)
        ).all())
        assert counts["两地商户"] == 1
        in_subquery = db.session.scalars(
            select(Merchant.legal_name).where(Merchant.id.in_(select(Shop.merchant_id)))
        ).all()
        assert "两地商户" in in_subquery
        sub = select(Shop.tenant_id, func.count().label("n")).group_by(Shop.tenant_id).subquery()
        assert db.session.execute(select(sub.c.tenant_id, sub.c.n)).all() == [(two_tenants.a.id, 2)]


def test_lazy_loaded_relationship_shows_only_the_current_tenants_shops(two_tenants):
    merchant_id = two_tenants.merchant.id
    _fresh()
    with tenant_scope(two_tenants.a):
        assert _slugs(db.session.get(Merchant, merchant_id).shops) == {"a-shop"}
    _fresh()
    with tenant_scope(two_tenants.b):
        assert _slugs(db.session.get(Merchant, merchant_id).shops) == {"b-shop"}


def test_get_by_id_of_another_tenants_row_is_none(two_tenants):
    a_id, b_id = two_tenants.a_shop.id, two_tenants.b_shop.id
    _fresh()
    with tenant_scope(two_tenants.a):
        assert db.session.get(Shop, b_id) is None
        assert db.session.get(Shop, a_id).slug == "a-shop"


def test_update_changes_only_the_current_tenants_rows(two_tenants):
    with tenant_scope(two_tenants.a):
        result = db.session.execute(update(Shop).values(phone="0371-60000000"))
        assert result.rowcount == 2
    db.session.expire_all()
    with all_tenants():
        phones = {shop.slug: shop.phone for shop in db.session.scalars(select(Shop))}
    assert phones == {"a-shop": "0371-60000000", "a-other": "0371-60000000", "b-shop": ""}


def test_delete_removes_only_the_current_tenants_rows(two_tenants):
    with tenant_scope(two_tenants.b):
        db.session.execute(delete(Shop).where(Shop.slug.in_(["a-shop", "a-other", "b-shop"])))
    db.session.expire_all()
    with all_tenants():
        assert _slugs(db.session.scalars(select(Shop))) == {"a-shop", "a-other"}


def test_categories_and_settings_are_filtered_too(two_tenants):
    for tenant, slug in ((two_tenants.a, "fruit"), (two_tenants.b, "fabric")):
        with tenant_scope(tenant):
            db.session.add(Category(slug=slug, name_zh=slug))
            db.session.add(TenantSetting(module="search", name="provider", value=slug))
            db.session.flush()
    _fresh()
    with tenant_scope(two_tenants.a):
        assert _slugs(db.session.scalars(select(Category))) == {"fruit"}
        assert db.session.scalars(select(TenantSetting.value)).all() == ["fruit"]


# -- writes under tenant A --------------------------------------------------------------------------------

def test_adding_a_row_of_another_tenant_raises(two_tenants):
    with tenant_scope(two_tenants.a):
        db.session.add(Shop(tenant_id=two_tenants.b.id, merchant_id=two_tenants.merchant.id, slug="sneaky",
                            name_zh="越界店"))
        with pytest.raises(TenantMismatch):
            db.session.flush()


def test_adding_a_row_whose_tenant_relationship_is_another_tenant_raises(two_tenants):
    with tenant_scope(two_tenants.a):
        db.session.add(Shop(tenant=two_tenants.b, merchant_id=two_tenants.merchant.id, slug="sneaky",
                            name_zh="越界店"))
        with pytest.raises(TenantMismatch):
            db.session.flush()


def test_a_new_row_without_tenant_gets_the_current_tenant(two_tenants):
    with tenant_scope(two_tenants.a):
        shop = Shop(merchant_id=two_tenants.merchant.id, slug="new-shop", name_zh="新店")
        category = Category(slug="new-cat", name_zh="新类")
        db.session.add_all([shop, category])
        db.session.flush()
        assert shop.tenant_id == category.tenant_id == two_tenants.a.id
    _fresh()
    with tenant_scope(two_tenants.a):
        assert "new-shop" in _slugs(db.session.scalars(select(Shop)))
    with tenant_scope(two_tenants.b):
        assert "new-shop" not in _slugs(db.session.scalars(select(Shop)))


def test_moving_a_loaded_shop_to_another_tenant_raises(two_tenants):
    with tenant_scope(two_tenants.a):
        shop = db.session.scalars(select(Shop).where(Shop.slug == "a-shop")).one()
        shop.tenant_id = two_tenants.b.id
        with pytest.raises(TenantMismatch):
            db.session.flush()


def test_moving_an_expired_shop_to_another_tenant_raises(two_tenants):
    """After a commit every attribute is expired; assigning tenant_id then must still be caught."""
    shop = two_tenants.a_shop
    db.session.expire(shop)
    with tenant_scope(two_tenants.a):
        shop.tenant_id = two_tenants.b.id
        with pytest.raises(TenantMismatch):
            db.session.flush()


def test_moving_a_shop_through_its_tenant_relationship_raises(two_tenants):
    with tenant_scope(two_tenants.a):
        shop = db.session.scalars(select(Shop).where(Shop.slug == "a-shop")).one()
        shop.tenant = two_tenants.b
        with pytest.raises(TenantMismatch):
            db.session.flush()


def test_moving_is_refused_even_when_opted_out(two_tenants):
    with all_tenants():
        shop = db.session.scalars(select(Shop).where(Shop.slug == "b-shop")).one()
        shop.tenant_id = two_tenants.a.id
        with pytest.raises(TenantMismatch):
            db.session.flush()


def test_editing_a_shop_within_its_tenant_is_allowed(two_tenants):
    with tenant_scope(two_tenants.a):
        shop = db.session.scalars(select(Shop).where(Shop.slug == "a-shop")).one()
        shop.name_zh = "甲街鲜果坊（新）"
        db.session.flush()
    _fresh()
    with tenant_scope(two_tenants.a):
        assert db.session.scalars(select(Shop.name_zh).where(Shop.slug == "a-shop")).one() == "甲街鲜果坊（新）"


# -- visible opt-outs -------------------------------------------------------------------------------------

def test_all_tenants_block_sees_every_tenant(two_tenants):
    _fresh()
    with all_tenants():
        assert _slugs(db.session.scalars(select(Shop))) == {"a-shop", "a-other", "b-shop"}
    with pytest.raises(TenantRequired):  # the opt-out ends with its block
        db.session.execute(select(Shop))


def test_all_tenants_block_inside_a_tenant_scope_sees_every_tenant(two_tenants):
    _fresh()
    with tenant_scope(two_tenants.a), all_tenants():
        assert db.session.scalar(select(func.count(Shop.id))) == 3


def test_all_tenants_execution_option_sees_every_tenant(two_tenants):
    _fresh()
    statement = select(Shop).execution_options(all_tenants=True)
    assert _slugs(db.session.scalars(statement)) == {"a-shop", "a-other", "b-shop"}
    with tenant_scope(two_tenants.a):
        assert _slugs(db.session.scalars(statement)) == {"a-shop", "a-other", "b-shop"}
        assert _slugs(db.session.scalars(select(Shop))) == {"a-shop", "a-other"}  # only that statement


# -- every tenant-owned model is guarded ------------------------------------------------------------------

def _models_with_tenant_id():
    return [mapper.class_ for mapper in db.Model.registry.mappers if "tenant_id" in mapper.columns]


def test_every_model_with_a_tenant_id_is_tenant_scoped():
    models = _models_with_tenant_id()
    assert {m.__name__ for m in models} >= {"Shop", "Category", "TenantSetting", "RoleGrant", "TenantDomain"}
    unguarded = {m.__name__ for m in models if not issubclass(m, TenantScoped)}
    assert unguarded == UNGUARDED_WITH_TENANT_ID, (
        "a model with tenant_id must mix in TenantScoped (or be documented in UNGUARDED_WITH_TENANT_ID)"
    )
    assert not issubclass(TenantDomain, TenantScoped)


def test_every_tenant_scoped_table_has_an_indexed_not_null_tenant_id():
    """Checked against the migrated database, not only the models."""
    schema = inspect(db.session.connection())
    scoped = [m for m in _models_with_tenant_id() if issubclass(m, TenantScoped)]
    assert {m.__tablename__ for m in scoped} >= {"shops", "categories", "tenant_settings"}
    for model in scoped:
        table = model.__tablename__
        columns = {c["name"]: c for c in schema.get_columns(table)}
        assert columns["tenant_id"]["nullable"] is False, f"{table}.tenant_id must be NOT NULL"
        leading = [i["column_names"][0] for i in schema.get_indexes(table)]
        leading += [u["column_names"][0] for u in schema.get_unique_constraints(table)]
        assert "tenant_id" in leading, f"{table}.tenant_id must lead an index"
        foreign = [fk for fk in schema.get_foreign_keys(table) if fk["constrained_columns"] == ["tenant_id"]]
        assert foreign and foreign[0]["referred_table"] == "tenants"


# -- writes of rows that belong to no current tenant, or to another one -----------------------------------

def test_creating_a_row_for_a_named_tenant_with_no_current_tenant_raises(two_tenants):
    db.session.add(Shop(tenant_id=two_tenants.b.id, merchant_id=two_tenants.merchant.id, slug="stray",
                        name_zh="无主之店", opening_hours={}))
    with pytest.raises(TenantRequired):
        db.session.flush()


def test_changing_another_tenants_row_loaded_earlier_raises(two_tenants):
    with all_tenants():
        b_shop = db.session.scalars(select(Shop).where(Shop.slug == "b-shop")).one()
    with tenant_scope(two_tenants.a):
        b_shop.name_zh = "被改了"
        with pytest.raises(TenantMismatch):
            db.session.flush()
    db.session.rollback()


def test_deleting_another_tenants_row_raises(two_tenants):
    with all_tenants():
        b_shop = db.session.scalars(select(Shop).where(Shop.slug == "b-shop")).one()
    with tenant_scope(two_tenants.a):
        db.session.delete(b_shop)
        with pytest.raises(TenantMismatch):
            db.session.flush()
    db.session.rollback()


def test_changing_a_row_with_no_current_tenant_raises(two_tenants):
    with all_tenants():
        shop = db.session.scalars(select(Shop).where(Shop.slug == "a-shop")).one()
    shop.name_zh = "无人授权的修改"
    with pytest.raises(TenantRequired):
        db.session.flush()
    db.session.rollback()


def test_bulk_insert_statements_must_name_the_current_tenant_in_every_row(two_tenants):
    from sqlalchemy import insert

    def row(tenant, slug):
        return {"tenant_id": tenant.id, "merchant_id": two_tenants.merchant.id, "slug": slug, "name_zh": slug,
                "opening_hours": {}, "status": "active"}

    with pytest.raises(TenantRequired):
        db.session.execute(insert(Shop), [row(two_tenants.a, "bulk-1")])
    with tenant_scope(two_tenants.a):
        with pytest.raises(TenantMismatch):
            db.session.execute(insert(Shop), [row(two_tenants.a, "bulk-2"), row(two_tenants.b, "bulk-3")])
        with pytest.raises(TenantMismatch):
            db.session.execute(insert(Shop).values(**row(two_tenants.b, "bulk-4")))
        db.session.execute(insert(Shop), [row(two_tenants.a, "bulk-5"), row(two_tenants.a, "bulk-6")])
        assert {"bulk-5", "bulk-6"} <= set(db.session.scalars(select(Shop.slug)))
