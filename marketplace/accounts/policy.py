"""Who may use each endpoint, declared in one place: read by operators and plugin authors, and proved against the
running platform by ``tests/reliability/test_policy.py`` (every endpoint × every kind of caller).

The views enforce it (``authz.require``, ``login_required``, the API's token checks); this table says what they
enforce, so that a change to either shows up as a mismatch. A blueprint's policy covers its endpoints; an endpoint
may say otherwise, and ``"endpoint METHOD"`` overrides the endpoint for one method. An endpoint that no entry
covers fails the test: adding a view means adding a line here (or, in a plugin, a ``declare`` call).

An entry is one or more audiences; any of them may use the endpoint. Platform admins pass every merchant and
operator check (``authz.can``), so ``merchant``, ``merchant_owner`` and ``operator`` admit them too.
"""

from __future__ import annotations

from enum import StrEnum


class Audience(StrEnum):
    public = "public"  # anyone, signed in or not
    signed_in = "signed_in"  # any signed-in account (every account is a resident)
    own = "own"  # the signed-in account the URL's order, complaint, quote, address, token or notice belongs to
    merchant = "merchant"  # an owner or staff member of the URL's shop (of any shop where the URL names none)
    merchant_owner = "merchant_owner"  # an owner of the URL's shop
    operator = "operator"  # an operator of the URL's tenant (of any tenant where the URL names none)
    platform_admin = "platform_admin"
    shop_key = "shop_key"  # an API key of the URL's shop, with the operation's scope
    operator_token = "operator_token"  # an operator token of the URL's tenant, with the operation's scope
    personal_token = "personal_token"  # a resident's personal token, for their own things, with the scope
    statistics_token = "statistics_token"  # the statistics office's token


Policy = frozenset[Audience]
A = Audience
PUBLIC: Policy = frozenset({A.public})
SIGNED_IN: Policy = frozenset({A.signed_in})
OWN: Policy = frozenset({A.own})
MERCHANT: Policy = frozenset({A.merchant})
MERCHANT_OWNER: Policy = frozenset({A.merchant_owner})
OPERATOR: Policy = frozenset({A.operator})
PLATFORM_ADMIN: Policy = frozenset({A.platform_admin})
#: The resident API answers the web's session (writes with its CSRF token) and the resident's personal tokens.
RESIDENT_API: Policy = frozenset({A.signed_in, A.personal_token})
OWN_API: Policy = frozenset({A.own, A.personal_token})

#: Blueprint → who may use its endpoints.
BLUEPRINTS: dict[str, Policy] = {
    # the city and each tenant's storefront
    "storefront": PUBLIC, "tenant": PUBLIC, "catalog": PUBLIC, "search": PUBLIC, "city_search": PUBLIC,
    "sanctions": PUBLIC, "shop_licence": PUBLIC, "tracking": PUBLIC, "agreements": PUBLIC, "badges": PUBLIC,
    "conformance": PUBLIC, "themes": PUBLIC, "media": PUBLIC, "core": PUBLIC, "language": PUBLIC,
    "payment_notifications": PUBLIC,  # signed by the provider, checked in the view
    "cart": OWN, "complaints": OWN, "reviews": OWN,
    "quotes": SIGNED_IN, "freight_quotes": SIGNED_IN, "ip_notices": SIGNED_IN, "shop_applications": SIGNED_IN,
    # the resident's account
    "accounts": SIGNED_IN, "account_addresses": OWN, "account_complaints": SIGNED_IN, "account_quotes": OWN,
    "account_tokens": OWN,
    # the merchant console: a shop's owners and staff; what binds the shop (keys, hooks, money, papers) its owners
    "merchant": MERCHANT, "merchant_complaints": MERCHANT, "merchant_credit": MERCHANT,
    "merchant_delivery": MERCHANT, "merchant_freight_quotes": MERCHANT, "merchant_imports": MERCHANT,
    "merchant_ip_notices": MERCHANT, "merchant_ledger": MERCHANT, "merchant_orders": MERCHANT,
    "merchant_payments": MERCHANT, "merchant_pesticide_ledger": MERCHANT, "merchant_products": MERCHANT,
    "merchant_quotes": MERCHANT, "merchant_reports": MERCHANT, "merchant_returns": MERCHANT,
    "merchant_reviews": MERCHANT,
    "merchant_api_keys": MERCHANT_OWNER, "merchant_closing": MERCHANT_OWNER, "merchant_documents": MERCHANT_OWNER,
    "merchant_licences": MERCHANT_OWNER, "merchant_onboarding": MERCHANT_OWNER, "merchant_premises": MERCHANT_OWNER,
    "merchant_statements": MERCHANT_OWNER, "merchant_webhooks": MERCHANT_OWNER,
    # the operator console: the tenant's operators
    "operator": OPERATOR, "operator_accounts": OPERATOR, "operator_api_keys": OPERATOR, "operator_badges": OPERATOR,
    "operator_catalog": OPERATOR, "operator_complaints": OPERATOR, "operator_conformance": OPERATOR,
    "operator_delivery": OPERATOR, "operator_documents": OPERATOR, "operator_enforcement": OPERATOR,
    "operator_ip_notices": OPERATOR, "operator_onboarding": OPERATOR, "operator_order_settings": OPERATOR,
    "operator_orders": OPERATOR, "operator_payments": OPERATOR, "operator_placements": OPERATOR,
    "operator_public_records": OPERATOR, "operator_reports": OPERATOR, "operator_reviews": OPERATOR,
    "operator_search": OPERATOR, "operator_shop_applications": OPERATOR, "operator_statements": OPERATOR,
    "operator_tenants": OPERATOR, "operator_webhooks": OPERATOR,
    "operator_city_reports": PLATFORM_ADMIN,
    # the JSON API
    "api_docs": PUBLIC, "api-docs": PUBLIC, "api_tenants": PUBLIC, "api_catalog": PUBLIC, "api_reviews": PUBLIC,
    "api_badges": PUBLIC, "api_tracking": PUBLIC,  # the tracking token in the URL is the credential
    "api_resident": RESIDENT_API, "api_resident_delivery": RESIDENT_API, "api_resident_trust": RESIDENT_API,
    "api_merchant": frozenset({A.shop_key}), "api_shop_orders": frozenset({A.shop_key}),
    "api_shop_delivery": frozenset({A.shop_key}), "api_shop_returns": frozenset({A.shop_key}),
    "api_shop_complaints": frozenset({A.shop_key}),
    "api_operator": frozenset({A.operator_token}),
    "api_statistics": frozenset({A.statistics_token}),
}

#: Endpoint (or "endpoint METHOD") → who may use it, where it differs from its blueprint.
ENDPOINTS: dict[str, Policy] = {
    "static": PUBLIC,
    # signing in, signing up and resetting a password come before having an account; anyone may sign out
    "accounts.login": PUBLIC, "accounts.signup": PUBLIC, "accounts.reset_request": PUBLIC,
    "accounts.reset_password": PUBLIC, "accounts.logout": PUBLIC,
    "account_addresses.index": SIGNED_IN, "account_addresses.new": SIGNED_IN,
    "account_addresses.division_children": PUBLIC,
    "account_quotes.quotes": SIGNED_IN, "account_tokens.index": SIGNED_IN,
    # the cart is a visitor's (a cookie) until checkout; the orders it becomes are the buyer's
    "cart.view": PUBLIC, "cart.add": PUBLIC, "cart.update": PUBLIC, "cart.checkout": SIGNED_IN,
    "agreements.comment": SIGNED_IN,  # anyone signed in may comment on a version open for consultation
    "ip_notices.public": PUBLIC, "ip_notices.detail": OWN, "ip_notices.report_action": OWN,  # the right holder's
    "freight_quotes.accept": OWN, "freight_quotes.decline": OWN,
    "merchant.shop_profile": MERCHANT_OWNER, "merchant_delivery.delivery_settings": MERCHANT_OWNER,
    # platform-wide: launching and suspending tenants, granting operators, the platform's own audit log
    "operator_tenants.new_tenant": PLATFORM_ADMIN, "operator_tenants.platform_audit": PLATFORM_ADMIN,
    "operator_tenants.suspend": PLATFORM_ADMIN, "operator_tenants.revoke_operator": PLATFORM_ADMIN,
    "operator_tenants.operators POST": PLATFORM_ADMIN,
    "api_resident.get_my_order": OWN_API, "api_resident.list_my_payments": OWN_API,
    "api_resident.retry_my_payment": OWN_API, "api_resident.cancel_my_order": OWN_API,
    "api_resident.request_my_return": OWN_API, "api_resident_delivery.get_my_shipment": OWN_API,
    "api_resident_trust.get_my_complaint": OWN_API, "api_resident_trust.accept_answer": OWN_API,
    "api_resident_trust.escalate_complaint": OWN_API, "api_resident_trust.file_complaint": OWN_API,
    "api_resident_trust.review_line": OWN_API,
}

_EXTENSION = "access_policy"


def declare(app, name: str, *audiences: Audience) -> None:
    """Declare who may use ``name`` (a blueprint, an endpoint, or "endpoint METHOD") of ``app``: a plugin calls
    this from its ``setup(app)`` for every blueprint it registers."""
    if not audiences:
        raise ValueError(f"no audience declared for {name!r}")
    app.extensions.setdefault(_EXTENSION, {})[name] = frozenset(Audience(a) for a in audiences)


def policy_of(app, endpoint: str, method: str = "GET") -> Policy | None:
    """Who may use ``endpoint`` with ``method``: the most specific entry ("endpoint METHOD", the endpoint, its
    blueprint), a plugin's declaration before the built-in one at each level; None when nothing covers it."""
    declared = app.extensions.get(_EXTENSION, {})
    blueprint = endpoint.rpartition(".")[0]
    for key in (f"{endpoint} {method.upper()}", endpoint, blueprint):
        for table in (declared, ENDPOINTS, BLUEPRINTS):
            if key and key in table:
                return table[key]
    return None


def undeclared(app) -> list[str]:
    """Every "endpoint METHOD" of ``app``'s URL map that no entry covers (HEAD and OPTIONS follow GET)."""
    return sorted({f"{rule.endpoint} {method}" for rule in app.url_map.iter_rules()
                   for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
                   if policy_of(app, rule.endpoint, method) is None})
