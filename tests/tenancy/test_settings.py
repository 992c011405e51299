"""Per-tenant module settings: declared with a type and a default, stored one row per tenant and name."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.models import TenantSetting
from marketplace.tenancy.settings import GROUPS, MODULE_KINDS, Setting, SettingError, SettingsGroup, module_settings


@pytest.fixture
def group():
    declared = SettingsGroup("test-reviews", enabled=Setting(bool, False), per_page=Setting(int, 20),
                             tags=Setting(list, ["new", "popular"]), labels=Setting(dict, {"zh": "评价"}))
    yield declared
    GROUPS.pop("test-reviews", None)


def test_default_is_returned_until_set(group, make_tenant):
    tenant = make_tenant()
    assert group.get(tenant, "per_page") == 20
    assert group.get(tenant, "enabled") is False
    assert group.all(tenant) == {"enabled": False, "per_page": 20, "tags": ["new", "popular"],
                                 "labels": {"zh": "评价"}}
    with tenant_scope(tenant):
        assert db.session.scalar(select(func.count()).select_from(TenantSetting)) == 0  # nothing stored


def test_changing_a_returned_default_does_not_change_the_default(group, make_tenant):
    tenant = make_tenant()
    group.get(tenant, "tags").append("mine")
    group.get(tenant, "labels")["zh"] = "改了"
    group.all(tenant)["tags"].clear()
    assert group.get(tenant, "tags") == ["new", "popular"]
    assert group.get(tenant, "labels") == {"zh": "评价"}
    assert group.get(make_tenant(), "tags") == ["new", "popular"]


def test_set_then_get_round_trips(group, make_tenant):
    tenant = make_tenant()
    assert group.set(tenant, "per_page", 50) is True
    assert group.set(tenant, "tags", ["organic"]) is True
    assert group.set(tenant, "labels", {"zh": "买家评价", "en": "Reviews"}) is True
    db.session.commit()
    db.session.expire_all()
    assert group.get(tenant, "per_page") == 50
    assert group.get(tenant, "tags") == ["organic"]
    assert group.all(tenant)["labels"] == {"zh": "买家评价", "en": "Reviews"}
    assert group.all(tenant)["enabled"] is False  # still the default


def test_setting_the_same_value_again_reports_no_change(group, make_tenant):
    tenant = make_tenant()
    assert group.set(tenant, "per_page", 30) is True
    assert group.set(tenant, "per_page", 30) is False
    assert group.set(tenant, "per_page", 40) is True
    assert group.get(tenant, "per_page") == 40
    with tenant_scope(tenant):
        assert db.session.scalar(select(func.count()).select_from(TenantSetting)) == 1  # updated in place


@pytest.mark.parametrize(("name", "value"), [
    ("per_page", "50"),
    ("per_page", 2.5),
    ("per_page", True),  # a bool is an int to Python, not to a setting
    ("enabled", "yes"),
    ("tags", "organic"),
    ("labels", ["zh", "评价"]),
])
def test_wrong_type_is_refused(group, make_tenant, name, value):
    tenant = make_tenant()
    with pytest.raises(SettingError, match=f"test-reviews.{name} must be"):
        group.set(tenant, name, value)
    assert group.get(tenant, name) == group.declared[name].default


def test_unknown_name_is_refused(group, make_tenant):
    tenant = make_tenant()
    with pytest.raises(SettingError, match="has no setting 'colour'"):
        group.set(tenant, "colour", "red")
    with pytest.raises(SettingError, match="known: enabled, per_page, tags, labels"):
        group.get(tenant, "colour")


def test_values_are_per_tenant(group, make_tenant):
    a, b = make_tenant(), make_tenant()
    group.set(a, "per_page", 99)
    group.set(a, "enabled", True)
    assert group.get(b, "per_page") == 20
    assert group.get(b, "enabled") is False
    group.set(b, "per_page", 10)
    assert (group.get(a, "per_page"), group.get(b, "per_page")) == (99, 10)
    with tenant_scope(b):
        assert db.session.scalars(select(TenantSetting.value)).all() == [10]


def test_same_name_in_two_modules_is_two_settings(make_tenant):
    tenant = make_tenant()
    module_settings["search"].set(tenant, "provider", "elasticsearch")
    assert module_settings["search"].get(tenant, "provider") == "elasticsearch"
    assert module_settings["payment"].get(tenant, "provider") == "offline"


def test_every_module_kind_has_a_provider_default(make_tenant):
    tenant = make_tenant()
    assert set(module_settings) == set(MODULE_KINDS)
    assert {kind: module_settings[kind].get(tenant, "provider") for kind in MODULE_KINDS} == {
        "catalog": "general", "search": "embedded", "payment": "offline", "delivery": "pickup"}


def test_one_row_per_tenant_module_and_name_is_enforced_by_the_database(group, make_tenant):
    a, b = make_tenant(), make_tenant()
    group.set(a, "per_page", 30)
    db.session.commit()
    with tenant_scope(a), pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(TenantSetting(module="test-reviews", name="per_page", value=40))
    # The same name in another tenant, or another module, is a different row.
    with tenant_scope(b):
        db.session.add(TenantSetting(module="test-reviews", name="per_page", value=40))
        db.session.flush()
    with tenant_scope(a):
        db.session.add(TenantSetting(module="other-module", name="per_page", value=40))
        db.session.flush()
    assert group.get(a, "per_page") == 30 and group.get(b, "per_page") == 40
    with all_tenants():
        assert db.session.scalar(select(func.count()).select_from(TenantSetting)) == 3
