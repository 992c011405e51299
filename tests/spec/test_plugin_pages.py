"""EB-8 and CH-5 concern pages the platform does not serve (live or social selling, online dispute resolution):
they do not apply until an installation adds such pages, and then fail until someone decides how those pages meet
the requirement (the check says what it has not verified)."""

from __future__ import annotations

from flask import Blueprint

from marketplace.core.db import utcnow
from marketplace.spec.model import CheckContext, Status, requirements
from marketplace.spec.runner import decide
from marketplace.tenancy.models import Tenant
from tests.fixtures.app import make_test_app

PAGES = {"EB-8": "/t/<slug:tenant_slug>/live-stream/<int:room>", "CH-5": "/t/<slug:tenant_slug>/disputes/"}


def _decided(app, requirement_id: str):
    with app.test_request_context():
        context = CheckContext(tenant=Tenant(slug="plugin-street", kind="street"), now=utcnow())
        return decide(requirements()[requirement_id], context)


def test_pages_added_by_a_plugin_make_the_requirements_apply_and_fail(tmp_path):
    plain = make_test_app(tmp_path / "plain")
    extended = make_test_app(tmp_path / "extended")
    plugin = Blueprint("plugin_pages", __name__)
    for requirement_id, path in PAGES.items():
        plugin.add_url_rule(path, requirement_id.lower().replace("-", "_"), lambda **_kw: "")
    extended.register_blueprint(plugin)
    for requirement_id in PAGES:
        assert _decided(plain, requirement_id).status == Status.not_applicable
        finding = _decided(extended, requirement_id)
        assert finding.status == Status.failed and ("尚未检查" in finding.detail or "没有检查" in finding.detail)
