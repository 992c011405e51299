"""The declared policy (who may use each endpoint): what a plugin's endpoints need, and which entry wins. That the
running platform answers as it says is tests/reliability/test_policy.py."""

from __future__ import annotations

from flask import Blueprint

from marketplace.accounts.policy import PLATFORM_ADMIN, Audience, declare, policy_of, undeclared
from tests.fixtures.app import make_test_app


def test_a_plugins_endpoints_are_undeclared_until_it_says_who_may_use_them(tmp_path):
    app = make_test_app(tmp_path)  # its own: blueprints cannot be added to an app that has served requests
    assert undeclared(app) == []
    night_market = Blueprint("night_market", __name__, url_prefix="/t/<slug:tenant_slug>/night-market")
    night_market.add_url_rule("/", "stalls", lambda tenant_slug: "")
    night_market.add_url_rule("/book", "book", lambda tenant_slug: "", methods=["GET", "POST"])
    app.register_blueprint(night_market)
    assert undeclared(app) == ["night_market.book GET", "night_market.book POST", "night_market.stalls GET"]

    declare(app, "night_market", Audience.public)
    declare(app, "night_market.book POST", "signed_in")
    assert undeclared(app) == []
    assert policy_of(app, "night_market.stalls") == {Audience.public}
    assert policy_of(app, "night_market.book", "post") == {Audience.signed_in}  # the method's own entry wins


def test_built_in_entries_go_from_the_blueprint_to_the_endpoint_to_its_method(tmp_path):
    app = make_test_app(tmp_path)
    assert policy_of(app, "operator_tenants.shops") == {Audience.operator}  # the blueprint's
    assert policy_of(app, "operator_tenants.suspend", "POST") == PLATFORM_ADMIN  # the endpoint's
    assert policy_of(app, "operator_tenants.operators") == {Audience.operator}
    assert policy_of(app, "operator_tenants.operators", "POST") == PLATFORM_ADMIN  # granting is the admins'
    assert policy_of(app, "no_such_blueprint.page") is None
