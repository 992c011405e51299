"""``flask spec check`` and ``flask spec docs``."""

from __future__ import annotations

import json

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.spec import docs
from marketplace.spec.reports import ConformanceRun
from marketplace.tenancy.context import tenant_scope


def test_committed_docs_match_the_data():
    for name, text in docs.files().items():
        path = docs.DOCS / name
        assert path.exists(), f"docs/spec/{name} is missing: run `flask spec docs`"
        assert path.read_text(encoding="utf-8") == text, f"docs/spec/{name} is stale: run `flask spec docs`"


def test_docs_name_every_requirement_with_its_reason_or_method():
    english = docs.render("en")
    assert "### PC-1" in english and "### DC-7" in english
    assert "Not checkable by software" in english and "How it is checked" in english
    assert "### PC-2" in docs.render("zh") and "电子商务法" not in docs.render_index()


def test_check_text_prints_each_requirement_and_exits_1_on_a_failing_must(app, make_tenant):
    tenant = make_tenant(slug="cli-street")  # no agreement published: PC-1 fails
    result = app.test_cli_runner().invoke(args=["spec", "check", "--tenant", "cli-street"])
    assert result.exit_code == 1
    assert any(line.startswith("PC-1 ") and "failed" in line for line in result.output.splitlines())
    assert "-- cli-street:" in result.output and "PC-1" in result.output.splitlines()[-1]
    assert tenant.slug in result.output


def test_check_json_and_save(app, make_tenant):
    tenant = make_tenant(slug="cli-json")
    result = app.test_cli_runner().invoke(args=["spec", "check", "--tenant", "cli-json", "--format", "json",
                                                "--save"])
    data = json.loads(result.output)
    assert data[0]["tenant"] == "cli-json" and data[0]["conforms"] is False and "PC-1" in data[0]["must_failures"]
    assert {row["id"] for row in data[0]["results"]} >= {"PC-1", "DC-1"}
    with tenant_scope(tenant):
        stored = db.session.scalars(select(ConformanceRun)).all()
    assert len(stored) == 1 and stored[0].must_failures == len(data[0]["must_failures"])


def test_check_html_is_a_standalone_page(app, make_tenant):
    make_tenant(slug="cli-html")
    result = app.test_cli_runner().invoke(args=["spec", "check", "--tenant", "cli-html", "--format", "html"])
    assert result.output.startswith("<!doctype html>") and "PC-1" in result.output and "<link" not in result.output


def test_unknown_tenant_is_a_usage_error(app):
    result = app.test_cli_runner().invoke(args=["spec", "check", "--tenant", "no-such-place"])
    assert result.exit_code == 2 and "no-such-place" in result.output
