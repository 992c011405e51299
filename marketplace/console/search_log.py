"""Operator console: what residents search for in the tenant, and what they searched for in vain.

The log holds query texts and daily counts only (no user, no address; queries that look like a phone number
or e-mail are never stored), so operators can see what to ask merchants to list without seeing who asked.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from marketplace.accounts.authz import Permission, require
from marketplace.search import services
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("operator_search", __name__, url_prefix="/operator/<slug:tenant_slug>")

REPORT_DAYS = 30


@blueprint.route("/search")
@login_required
def search_log():
    require(Permission.operate_tenant, current_tenant)
    top, zero = services.query_report(current_tenant._get_current_object(), days=REPORT_DAYS)
    return render_template("console/operator/search_log.html", top=top, zero=zero, days=REPORT_DAYS)
