"""Schemathesis against /api/v1/openapi.json: for every operation, as every kind of caller (anonymous, a
signed-in resident, the same resident's personal token, a shop's API key, the statistics office, a tenant
operator's token), generated requests — valid ones, and ones the document forbids — never get a server error, a
status the document does not list, a content type it does not declare, a body its schema does not describe, or a
timestamp without its zone.

Hypothesis runs derandomised (a fixed seed): the same requests every run, so a failure reproduces; they are drawn
once, and every caller sends them all. Path values are real ones (the tenant, the shop, a published product and its
variant) half of the time, generated otherwise, so both the found and the not-found paths are exercised.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="needs schemathesis (pip install -r requirements-dev.txt)")

from hypothesis import HealthCheck, given, settings  # noqa: E402  (schemathesis brings hypothesis)
from hypothesis import strategies as st  # noqa: E402

from marketplace.accounts.models import Role  # noqa: E402
from marketplace.api import auth  # noqa: E402
from marketplace.api.scopes import ALL_RESIDENT_SCOPES  # noqa: E402
from marketplace.extensions import db  # noqa: E402
from marketplace.shops import applications  # noqa: E402
from marketplace.tenancy.context import tenant_scope  # noqa: E402
from tests.api.conftest import operator_token_for, token_for  # noqa: E402

#: A date and time of day with no zone after it: a moment nobody can place (the API's times all carry theirs).
BARE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@schemathesis.check
def timestamps_carry_their_zone(ctx, response, case):
    """Every timestamp an answer gives is ISO 8601 with its zone."""
    try:
        body = response.json()
    except ValueError:
        return None
    bare = [text for text in _strings(body) if BARE_TIME.fullmatch(text)]
    assert not bare, f"timestamps without a zone: {bare[:3]}"
    return None


#: Generated requests per operation and caller.
EXAMPLES = 15
PASSWORD = "correct-horse-42"
ROLES = ("anonymous", "resident", "resident-token", "merchant", "statistics", "operator")


@dataclass
class Caller:
    role: str
    headers: dict[str, str] = field(default_factory=dict)
    #: The signed-in browser (its cookie jar holds the session) for a caller that uses one.
    browser: object = None

    def call(self, case, **extra):
        return case.call(headers={**self.headers, **extra}, session=self.browser)


@dataclass
class World:
    path_values: dict[str, str]
    callers: dict[str, Caller]


@pytest.fixture
def world(client, make_tenant, make_shop, make_user, make_product) -> World:
    tenant = make_tenant(kind="market", theme="market")
    shop = make_shop(tenant, slug="suifeng", name_zh="穗丰农资")
    product = make_product(shop, title="复合肥 15-15-15", price=9800, stock=40, tiers=[(10, 9200)])
    with tenant_scope(tenant):
        variant_id = db.session.merge(product).variants[0].id
    owner = make_user(role=Role.merchant_owner, tenant=tenant, shop=shop)
    admin = make_user("admin@shangdu.example", role=Role.platform_admin)
    statistics = auth.issue_statistics_token("市统计局", admin)
    operator = make_user("operator@shangdu.example", role=Role.tenant_operator, tenant=tenant)
    operator_token = operator_token_for(operator, tenant)  # every operator scope
    with tenant_scope(tenant):  # a waiting shop application, for the operator's decisions
        application_id = applications.submit_application(tenant, owner, applications.ApplicationInput(
            kind="natural_person", legal_name="王建军", contact_name="王建军", contact_phone="13900139000",
            shop_name_zh="新摊位", slug="new-stall")).id
        db.session.commit()
    db.session.commit()
    resident = make_user("resident@shangdu.example")
    client.login(resident.login_name, PASSWORD)
    csrf = client.csrf_token("/account/")
    personal = auth.issue_personal_token(resident, "手机 App", ALL_RESIDENT_SCOPES, None)
    db.session.commit()
    return World(
        path_values={"tenant_slug": tenant.slug, "shop_slug": shop.slug, "product_id": str(product.id),
                     "variant_id": str(variant_id), "application_id": str(application_id)},
        callers={
            "anonymous": Caller("anonymous"),
            # The session is bound to the browser that signed in (strong session protection): its User-Agent too.
            "resident": Caller("resident", {"X-CSRFToken": csrf, "User-Agent": client.environ_base["HTTP_USER_AGENT"]},
                               client),
            "merchant": Caller("merchant", {"Authorization": f"Bearer {token_for(owner, shop)}"}),
            "statistics": Caller("statistics", {"Authorization": f"Bearer {statistics}"}),
            # The same resident's personal token (every resident scope): no cookie, no CSRF header.
            "resident-token": Caller("resident-token", {"Authorization": f"Bearer {personal}"}),
            "operator": Caller("operator", {"Authorization": f"Bearer {operator_token}"}),
        })


@dataclass
class Generated:
    """One operation's generated requests: (case, whether to put the world's real path values in)."""

    operation: object
    cases: list[tuple[object, bool]]


@pytest.fixture(scope="module")
def generated(app) -> list[Generated]:
    """Every operation's generated requests, drawn once for all callers.

    Derandomised hypothesis draws the same requests for the same strategies whoever sends them, so drawing them
    again for each caller (most of this module's time) would only repeat the same work: each caller sends all of
    them, and a failure is reported with the request that failed (not shrunk)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [Generated(operation, _draw(operation)) for operation in (r.ok() for r in schema.get_all_operations())]


def _draw(operation) -> list[tuple[object, bool]]:
    from schemathesis import GenerationMode

    cases = []

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)),
           real=st.booleans())
    def probe(case, real):
        cases.append((_copy(case), real))

    probe()
    return cases


def _copy(case):
    """A case of its own to change (its path values), sharing the operation it belongs to."""
    fresh, memo = object.__new__(type(case)), {id(case.operation): case.operation}
    for name in type(case).__slots__:  # past Case.__setattr__, which expects a complete case
        object.__setattr__(fresh, name, copy.deepcopy(getattr(case, name), memo))
    return fresh


def _failures(generated: list[Generated], world: World, caller: Caller) -> list[str]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
              timestamps_carry_their_zone]
    failures: list[str] = []
    for operation in generated:
        for drawn, real in operation.cases:
            case = _copy(drawn)
            for name, value in world.path_values.items():
                if case.path_parameters and name in case.path_parameters and (real or name == "tenant_slug"):
                    case.path_parameters[name] = value
            try:
                response = caller.call(case)
                case.validate_response(response, checks=checks)
            except Exception as error:  # noqa: BLE001 - every operation's first failure, then one assertion
                failures.append(f"{caller.role} {operation.operation.method.upper()} {operation.operation.path}:\n"
                                f"{str(error)[:1500]}")
                break
    return failures


#: A request only that caller may make: proof that its credentials reach the API as the fuzzing sends them.
SIGNED_IN = {"resident": ("/api/v1/tenants/{tenant_slug}/cart", {}),
             "resident-token": ("/api/v1/tenants/{tenant_slug}/cart", {}),
             "merchant": ("/api/v1/tenants/{tenant_slug}/shops/{shop_slug}/orders", {}),
             "statistics": ("/api/v1/statistics", {"period": "2026-11"}),
             "operator": ("/api/v1/tenants/{tenant_slug}/operator/settings", {})}


@pytest.mark.parametrize("role", ROLES)
def test_generated_requests_never_break_the_api(app, generated, world, role):
    caller = world.callers[role]
    if role in SIGNED_IN:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        path, query = SIGNED_IN[role]
        case = schema[path]["GET"].Case(
            path_parameters={k: v for k, v in world.path_values.items() if "{" + k + "}" in path}, query=query)
        assert caller.call(case).status_code == 200, role
        assert case.call().status_code == 401, f"{path} answers without credentials"
    failures = _failures(generated, world, caller)
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
