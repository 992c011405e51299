"""Ids of one tenant's rows under another tenant's URL are never found — for every route that takes an id.

The shop-level routes are in ``test_cross_tenant.ROUTES``; this file covers the routes that name a product,
image, category, licence or quote by id, and the API. A platform admin (who may see every shop) makes each
request, so a 404 here can only come from tenant isolation, not from missing rights. Every route with
``<tenant_slug>`` must be in one of the two tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from marketplace.accounts.addresses import AddressInput, add_address
from marketplace.accounts.models import Role
from marketplace.api.auth import hash_token, issue_operator_token, issue_personal_token, issue_token
from marketplace.api.models import ApiToken, OperatorToken
from marketplace.api.scopes import ALL_OPERATOR_SCOPES, ALL_RESIDENT_SCOPES, ALL_SCOPES
from marketplace.catalog import services as catalog
from marketplace.catalog.admin import tenant_today
from marketplace.core.db import utcnow
from marketplace.delivery import freight, pickup
from marketplace.delivery import services as delivery
from marketplace.delivery.models import Shipment
from marketplace.extensions import db
from marketplace.orders import returns
from marketplace.orders import services as orders
from marketplace.payments import services as payments
from marketplace.payments import settlement
from marketplace.payments.providers import Choice
from marketplace.search import placements as search_placements
from marketplace.shops import applications as shop_applications
from marketplace.tenancy import agreements
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.settings import module_settings
from marketplace.trust import badges as trust_badges
from marketplace.trust import complaints as trust_complaints
from marketplace.trust import ip_notices as trust_ip_notices
from marketplace.trust import onboarding as trust_onboarding
from marketplace.trust import public_records as trust_public_records
from marketplace.trust import reviews as trust_reviews
from marketplace.trust import verification as trust_verification
from marketplace.webhooks import services as webhooks
from tests.media.samples import encode, picture
from tests.tenancy.test_cross_tenant import NOT_TENANT_PAGES, ROUTES

PASSWORD = "correct-horse-42"


@dataclass(frozen=True)
class IdRoute:
    url: str  # {tenant}, {shop} and {product}, {image}, {category}, {category_slug}, {licence}, {quote}, {statement},
    # {payment}, {tracking} (a shipment's tracking token), {pickup_code}, {freight_shop} (a shop offering freight),
    # {freight_address} (an address of the admin), {freight_quote} (the admin's freight quote from that shop),
    # {shop_application} (a resident's application to open a shop in A), {api_key} (the id of an API key of A's stall),
    # {operator_key} (the id of an operator API key of A)
    method: str = "GET"
    form: dict | None = None
    api: bool = False  # bearer token instead of the admin's session
    operator: bool = False  # with api: the admin's operator token of tenant B instead of B's shop key


#: (endpoint, method) → how to request it with tenant A's ids.
ID_ROUTES: dict[tuple[str, str], IdRoute] = {
    ("catalog.product", "GET"): IdRoute("/t/{tenant}/p/{product}"),
    ("catalog.category", "GET"): IdRoute("/t/{tenant}/c/{category_slug}"),
    ("search.results", "GET"): IdRoute("/t/{tenant}/search?q=x&category={category}"),
    ("search.suggest", "GET"): IdRoute("/t/{tenant}/search/suggest?q=x"),
    ("quotes.request_quote", "GET"): IdRoute("/t/{tenant}/p/{product}/quote"),
    ("quotes.request_quote", "POST"): IdRoute("/t/{tenant}/p/{product}/quote", "POST", {"quantity": "5"}),
    ("cart.view", "GET"): IdRoute("/t/{tenant}/cart"),
    ("cart.add", "POST"): IdRoute("/t/{tenant}/cart/add", "POST", {"variant_id": "{variant}", "quantity": "1"}),
    ("cart.update", "POST"): IdRoute("/t/{tenant}/cart/update", "POST", {"variant_id": "{variant}", "quantity": "2"}),
    ("cart.checkout", "GET"): IdRoute("/t/{tenant}/checkout"),
    ("cart.checkout", "POST"): IdRoute("/t/{tenant}/checkout", "POST", {"payment": "offline"}),
    ("cart.confirmation", "GET"): IdRoute("/t/{tenant}/orders/{order_group}"),
    ("cart.receipt", "GET"): IdRoute("/t/{tenant}/orders/{order_group}/receipt"),
    ("cart.pay", "GET"): IdRoute("/t/{tenant}/orders/{order_group}/pay"),
    ("cart.paid", "GET"): IdRoute("/t/{tenant}/orders/{order_group}/paid"),
    ("cart.retry_payment", "POST"): IdRoute("/t/{tenant}/orders/{order_group}/pay/retry", "POST",
                                            {"payment": "offline:pay_at_stall"}),
    ("api_resident.retry_my_payment", "POST"): IdRoute("/api/v1/tenants/{tenant}/orders/{order_group}/payments",
                                                       "POST", {}, api=True),
    ("cart.cancel", "POST"): IdRoute("/t/{tenant}/orders/{order_group}/{order}/cancel", "POST", {"reason": "越界"}),
    ("merchant_orders.detail", "GET"): IdRoute("/merchant/{tenant}/{shop}/orders/{order}"),
    ("merchant_orders.act", "POST"): IdRoute("/merchant/{tenant}/{shop}/orders/{order}/confirm_payment", "POST"),
    ("merchant_returns.index", "GET"): IdRoute("/merchant/{tenant}/{shop}/returns"),
    ("merchant_returns.detail", "GET"): IdRoute("/merchant/{tenant}/{shop}/returns/{return}"),
    ("merchant_returns.act", "POST"): IdRoute("/merchant/{tenant}/{shop}/returns/{return}/refund", "POST"),
    ("merchant_ledger.ledger", "GET"): IdRoute("/merchant/{tenant}/{shop}/ledger?from=2026-01-01&to=2026-01-31"),
    ("merchant_ledger.ledger_csv", "GET"): IdRoute("/merchant/{tenant}/{shop}/ledger.csv"),
    ("api_resident.get_cart", "GET"): IdRoute("/api/v1/tenants/{tenant}/cart"),
    ("api_resident.put_cart_line", "PUT"): IdRoute("/api/v1/tenants/{tenant}/cart/lines/{variant}", "PUT",
                                                   {"quantity": 1}, api=True),
    ("api_resident.checkout", "POST"): IdRoute("/api/v1/tenants/{tenant}/checkout", "POST", {}, api=True),
    ("api_resident.list_my_orders", "GET"): IdRoute("/api/v1/tenants/{tenant}/orders"),
    ("api_resident.get_my_order", "GET"): IdRoute("/api/v1/tenants/{tenant}/orders/{order_group}"),
    ("api_shop_orders.list_shop_orders", "GET"): IdRoute("/api/v1/tenants/{tenant}/shops/{shop}/orders", api=True),
    ("api_shop_orders.transition_order", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/shops/{shop}/orders/{order}/transitions", "POST", {"action": "complete"}, api=True),
    ("api_resident.cancel_my_order", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/orders/{order_group}/orders/{order}/cancel", "POST", {}, api=True),
    ("api_resident.request_my_return", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/orders/{order_group}/orders/{order}/returns", "POST", {"lines": {"1": 1}}, api=True),
    ("api_resident.list_my_returns", "GET"): IdRoute("/api/v1/tenants/{tenant}/returns"),
    ("api_resident.list_my_payments", "GET"): IdRoute("/api/v1/tenants/{tenant}/orders/{order_group}/payments"),
    ("api_shop_returns.list_shop_returns", "GET"): IdRoute("/api/v1/tenants/{tenant}/shops/{shop}/returns", api=True),
    ("api_shop_returns.get_shop_return", "GET"): IdRoute("/api/v1/tenants/{tenant}/shops/{shop}/returns/{return}",
                                                         api=True),
    ("api_shop_returns.decide_return", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/shops/{shop}/returns/{return}/decisions", "POST", {"action": "refund"}, api=True),
    ("api_tenants.get_tenant", "GET"): IdRoute("/api/v1/tenants/{tenant}"),
    ("cart.request_return", "POST"): IdRoute("/t/{tenant}/orders/{order_group}/returns", "POST",
                                             {"order": "{order}", "qty_{order_line}": "1"}),
    ("merchant_products.index", "GET"): IdRoute("/merchant/{tenant}/{shop}/products/"),
    ("merchant_products.create", "GET"): IdRoute("/merchant/{tenant}/{shop}/products/new?category={category}"),
    ("merchant_products.create", "POST"): IdRoute("/merchant/{tenant}/{shop}/products/new?category={category}",
                                                  "POST", {"title": "越界商品"}),
    ("merchant_products.edit", "GET"): IdRoute("/merchant/{tenant}/{shop}/products/{product}/edit"),
    ("merchant_products.edit", "POST"): IdRoute("/merchant/{tenant}/{shop}/products/{product}/edit", "POST",
                                                {"title": "越界改名"}),
    ("merchant_products.publish", "POST"): IdRoute("/merchant/{tenant}/{shop}/products/{product}/publish", "POST"),
    ("merchant_products.unpublish", "POST"): IdRoute("/merchant/{tenant}/{shop}/products/{product}/unpublish",
                                                     "POST", {"action": "draft"}),
    ("merchant_products.stock", "POST"): IdRoute("/merchant/{tenant}/{shop}/products/{product}/stock", "POST",
                                                 {"variant_id": "{variant}", "delta": "+5"}),
    ("merchant_products.upload_images", "POST"): IdRoute("/merchant/{tenant}/{shop}/products/{product}/images",
                                                         "POST"),
    ("merchant_products.order_images", "POST"): IdRoute(
        "/merchant/{tenant}/{shop}/products/{product}/images/order", "POST", {"order": "{image}"}),
    ("merchant_products.image_alt", "POST"): IdRoute(
        "/merchant/{tenant}/{shop}/products/{product}/images/{image}/alt", "POST", {"alt_zh": "越界"}),
    ("merchant_products.delete_image", "POST"): IdRoute(
        "/merchant/{tenant}/{shop}/products/{product}/images/{image}/delete", "POST"),
    ("merchant_imports.upload", "GET"): IdRoute("/merchant/{tenant}/{shop}/import/"),
    ("merchant_imports.upload", "POST"): IdRoute("/merchant/{tenant}/{shop}/import/", "POST"),
    ("merchant_imports.export_csv", "GET"): IdRoute("/merchant/{tenant}/{shop}/import/export.csv"),
    ("merchant_imports.export_xlsx", "GET"): IdRoute("/merchant/{tenant}/{shop}/import/export.xlsx"),
    ("merchant_imports.template", "GET"): IdRoute("/merchant/{tenant}/{shop}/import/template"),
    ("merchant_licences.licences", "GET"): IdRoute("/merchant/{tenant}/{shop}/licences"),
    ("merchant_licences.licences", "POST"): IdRoute("/merchant/{tenant}/{shop}/licences", "POST",
                                                    {"kind": "pesticide_business", "number": "X-1"}),
    ("merchant_quotes.inbox", "GET"): IdRoute("/merchant/{tenant}/{shop}/quotes"),
    ("merchant_quotes.answer", "POST"): IdRoute("/merchant/{tenant}/{shop}/quotes/{quote}/answer", "POST",
                                                {"unit_price": "9.00", "valid_until": "2099-01-01"}),
    ("merchant_quotes.decline", "POST"): IdRoute("/merchant/{tenant}/{shop}/quotes/{quote}/decline", "POST"),
    ("operator_catalog.categories", "GET"): IdRoute("/operator/{tenant}/categories"),
    ("operator_catalog.categories", "POST"): IdRoute("/operator/{tenant}/categories", "POST",
                                                     {"slug": "cross", "name_zh": "越界", "name_en": "Cross"}),
    ("operator_catalog.edit_category", "GET"): IdRoute("/operator/{tenant}/categories/{category}"),
    ("operator_catalog.edit_category", "POST"): IdRoute("/operator/{tenant}/categories/{category}", "POST",
                                                        {"name_zh": "越界改名"}),
    ("operator_catalog.licences", "GET"): IdRoute("/operator/{tenant}/licences"),
    ("operator_catalog.verify_licence", "POST"): IdRoute("/operator/{tenant}/licences/{licence}/verify", "POST"),
    ("operator_catalog.reject_licence", "POST"): IdRoute("/operator/{tenant}/licences/{licence}/reject", "POST",
                                                         {"reason": "越界"}),
    ("api_catalog.list_shops", "GET"): IdRoute("/api/v1/tenants/{tenant}/shops"),
    ("api_catalog.get_shop", "GET"): IdRoute("/api/v1/tenants/{tenant}/shops/{shop}"),
    ("api_catalog.list_categories", "GET"): IdRoute("/api/v1/tenants/{tenant}/categories"),
    ("api_catalog.list_products", "GET"): IdRoute("/api/v1/tenants/{tenant}/products"),
    ("api_catalog.get_product", "GET"): IdRoute("/api/v1/tenants/{tenant}/products/{product}"),
    ("api_catalog.search_products", "GET"): IdRoute("/api/v1/tenants/{tenant}/search?q=x&category={category_slug}"),
    ("api_catalog.search_suggestions", "GET"): IdRoute("/api/v1/tenants/{tenant}/search/suggest?q=x"),
    ("api_merchant.create_product", "POST"): IdRoute("/api/v1/tenants/{tenant}/shops/{shop}/products", "POST",
                                                     {}, api=True),
    ("api_merchant.get_own_product", "GET"): IdRoute("/api/v1/tenants/{tenant}/shops/{shop}/products/{product}",
                                                     api=True),
    ("api_merchant.update_product", "PATCH"): IdRoute(
        "/api/v1/tenants/{tenant}/shops/{shop}/products/{product}", "PATCH", {"title": "越界"}, api=True),
    ("api_merchant.publish_product", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/shops/{shop}/products/{product}/publish", "POST", {}, api=True),
    ("api_merchant.unpublish_product", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/shops/{shop}/products/{product}/unpublish", "POST", {}, api=True),
    ("api_merchant.set_stock", "POST"): IdRoute("/api/v1/tenants/{tenant}/shops/{shop}/variants/stock", "POST",
                                                {"items": [{"sku": "A-1", "adjust": 1}]}, api=True),
    ("merchant_statements.detail", "GET"): IdRoute("/merchant/{tenant}/{shop}/statements/{statement}"),
    ("merchant_statements.download", "GET"): IdRoute("/merchant/{tenant}/{shop}/statements/{statement}.xlsx"),
    ("operator_statements.operator_detail", "GET"): IdRoute("/operator/{tenant}/statements/{statement}"),
    ("operator_statements.operator_download", "GET"): IdRoute("/operator/{tenant}/statements/{statement}.csv"),
    ("operator_payments.confirm_transfer", "POST"): IdRoute("/operator/{tenant}/payments/{payment}/confirm-transfer",
                                                            "POST"),
    ("operator_statements.record_payout", "POST"): IdRoute("/operator/{tenant}/statements/{statement}/payout",
                                                           "POST", {"reference": "越界", "paid_on": "2026-01-01"}),
    ("tracking.track", "GET"): IdRoute("/t/{tenant}/track/{tracking}"),
    ("merchant_delivery.ship", "POST"): IdRoute("/merchant/{tenant}/{shop}/orders/{order}/shipment/ship", "POST",
                                                {"carrier": "顺丰速运", "tracking_number": "SF1234567890"}),
    ("merchant_delivery.record_event", "POST"): IdRoute("/merchant/{tenant}/{shop}/orders/{order}/shipment/events",
                                                        "POST", {"status": "in_transit"}),
    ("merchant_delivery.shop_counter", "POST"): IdRoute("/merchant/{tenant}/{shop}/pickup", "POST",
                                                        {"code": "{pickup_code}"}),
    ("operator_delivery.counter", "POST"): IdRoute("/operator/{tenant}/pickup", "POST", {"code": "{pickup_code}"}),
    ("api_resident_delivery.quote_cart", "GET"): IdRoute("/api/v1/tenants/{tenant}/cart/delivery-options"),
    ("api_resident_delivery.get_my_shipment", "GET"): IdRoute(
        "/api/v1/tenants/{tenant}/orders/{order_group}/orders/{order}/shipment"),
    ("api_shop_delivery.get_shop_shipment", "GET"): IdRoute(
        "/api/v1/tenants/{tenant}/shops/{shop}/orders/{order}/shipment", api=True),
    ("api_shop_delivery.record_tracking_event", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/shops/{shop}/orders/{order}/shipment/events", "POST", {"status": "in_transit"},
        api=True),
    ("api_shop_delivery.ship", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/shops/{shop}/orders/{order}/shipment/ship", "POST",
        {"carrier": "中通快递", "tracking_number": "ZT1234"}, api=True),
    ("api_tracking.track", "GET"): IdRoute("/api/v1/tenants/{tenant}/tracking/{tracking}"),
    ("freight_quotes.request_quote", "GET"): IdRoute("/t/{tenant}/s/{freight_shop}/freight-quote"),
    ("freight_quotes.request_quote", "POST"): IdRoute("/t/{tenant}/s/{freight_shop}/freight-quote", "POST",
                                                      {"address": "{freight_address}", "weight": "10"}),
    ("freight_quotes.mine", "GET"): IdRoute("/t/{tenant}/freight-quotes"),
    ("freight_quotes.accept", "POST"): IdRoute("/t/{tenant}/freight-quotes/{freight_quote}/accept", "POST"),
    ("freight_quotes.decline", "POST"): IdRoute("/t/{tenant}/freight-quotes/{freight_quote}/decline", "POST"),
    ("merchant_freight_quotes.detail", "GET"): IdRoute("/merchant/{tenant}/{shop}/freight-quotes/{freight_quote}"),
    ("merchant_freight_quotes.detail", "POST"): IdRoute("/merchant/{tenant}/{shop}/freight-quotes/{freight_quote}",
                                                        "POST", {"fee": "1.00", "valid_days": "7"}),
    ("merchant_freight_quotes.withdraw", "POST"): IdRoute(
        "/merchant/{tenant}/{shop}/freight-quotes/{freight_quote}/withdraw", "POST"),
    ("merchant_delivery.delivery_settings", "GET"): IdRoute("/merchant/{tenant}/{shop}/delivery-settings"),
    ("merchant_delivery.delivery_settings", "POST"): IdRoute("/merchant/{tenant}/{shop}/delivery-settings", "POST",
                                                             {"providers": "pickup"}),
    ("complaints.new", "GET"): IdRoute("/t/{tenant}/orders/{order_group}/{order}/complaint"),
    ("complaints.new", "POST"): IdRoute("/t/{tenant}/orders/{order_group}/{order}/complaint", "POST",
                                        {"category": "quality", "description": "越界投诉"}),
    ("complaints.detail", "GET"): IdRoute("/t/{tenant}/complaints/{complaint}"),
    ("complaints.act", "POST"): IdRoute("/t/{tenant}/complaints/{complaint}/accept", "POST"),
    ("merchant_complaints.merchant_detail", "GET"): IdRoute("/merchant/{tenant}/{shop}/complaints/{complaint}"),
    ("merchant_complaints.merchant_answer", "POST"): IdRoute("/merchant/{tenant}/{shop}/complaints/{complaint}/answer",
                                                             "POST", {"answer": "越界答复"}),
    ("operator_complaints.operator_detail", "GET"): IdRoute("/operator/{tenant}/complaints/{complaint}"),
    ("operator_complaints.operator_decide", "POST"): IdRoute("/operator/{tenant}/complaints/{complaint}/decide", "POST",
                                                             {"outcome": "upheld"}),
    ("operator_complaints.export", "GET"): IdRoute("/operator/{tenant}/complaints/export.csv"),
    ("operator_badges.approve", "POST"): IdRoute("/operator/{tenant}/merchants/{merchant}/approve", "POST"),
    ("operator_badges.reject", "POST"): IdRoute("/operator/{tenant}/merchants/{merchant}/reject", "POST",
                                                {"reason": "越界"}),
    ("operator_badges.issue", "POST"): IdRoute("/operator/{tenant}/shops/{shop_id}/badge", "POST"),
    ("operator_badges.change_status", "POST"): IdRoute("/operator/{tenant}/badges/{badge}/suspend", "POST",
                                                       {"reason": "越界"}),
    ("operator_badges.card", "GET"): IdRoute("/operator/{tenant}/badges/{badge}/card"),
    ("reviews.review_form", "GET"): IdRoute("/t/{tenant}/orders/{order_group}/{order}/lines/{order_line}/review"),
    ("reviews.review_form", "POST"): IdRoute(
        "/t/{tenant}/orders/{order_group}/{order}/lines/{order_line}/review", "POST",
        {"product": "5", "described": "5", "service": "5", "delivery": "5", "text": "越界评价"}),
    ("merchant_reviews.reply", "POST"): IdRoute("/merchant/{tenant}/{shop}/reviews/{review}/reply", "POST",
                                                {"reply": "越界回复"}),
    ("operator_reviews.hide", "POST"): IdRoute("/operator/{tenant}/reviews/{review}/hide", "POST", {"reason": "ads"}),
    # The trust API: A's shop (by slug), product, order line and complaint under B.
    ("api_reviews.list_shop_reviews", "GET"): IdRoute("/api/v1/tenants/{tenant}/shops/{freight_shop}/reviews"),
    ("api_reviews.list_product_reviews", "GET"): IdRoute("/api/v1/tenants/{tenant}/products/{product}/reviews"),
    ("api_resident_trust.review_line", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/orders/{order_group}/orders/{order}/lines/{order_line}/review", "POST",
        {"ratings": {"product": 5, "described": 5, "service": 5, "delivery": 5}, "text": "越界评价"}, api=True),
    ("api_resident_trust.file_complaint", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/orders/{order_group}/orders/{order}/complaint", "POST",
        {"category": "quality", "description": "越界投诉", "claim": "refund", "complainant_address": "越界地址"}, api=True),
    ("api_resident_trust.list_my_complaints", "GET"): IdRoute("/api/v1/tenants/{tenant}/complaints"),
    ("api_resident_trust.get_my_complaint", "GET"): IdRoute("/api/v1/tenants/{tenant}/complaints/{complaint}"),
    ("api_resident_trust.accept_answer", "POST"): IdRoute("/api/v1/tenants/{tenant}/complaints/{complaint}/accept",
                                                          "POST", {}, api=True),
    ("api_resident_trust.escalate_complaint", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/complaints/{complaint}/escalate", "POST", {"reason": "越界"}, api=True),
    ("api_shop_complaints.list_shop_complaints", "GET"): IdRoute("/api/v1/tenants/{tenant}/shops/{shop}/complaints",
                                                                 api=True),
    ("api_shop_complaints.answer_complaint", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/shops/{shop}/complaints/{complaint}/answer", "POST", {"answer": "越界答复"}, api=True),
    # Onboarding (trust): the merchant's application form, and the operator's decisions on A's application.
    ("merchant_onboarding.application", "POST"): IdRoute("/merchant/{tenant}/{shop}/verification", "POST",
                                                         {"kind": "natural_person"}),
    ("operator_onboarding.approve", "POST"): IdRoute("/operator/{tenant}/applications/{application}/approve", "POST"),
    ("operator_onboarding.decide", "POST"): IdRoute("/operator/{tenant}/applications/{application}/more", "POST",
                                                    {"note": "越界"}),
    ("operator_onboarding.reveal", "POST"): IdRoute("/operator/{tenant}/applications/{application}/reveal", "POST"),
    # Paid placements (search): selling A's product from B's console, and ending A's placement there.
    ("operator_placements.placements_page", "POST"): IdRoute("/operator/{tenant}/placements", "POST", {
        "product_id": "{product}", "keywords": "越界", "first_day": "{today}", "last_day": "{today}", "fee": "1"}),
    ("operator_placements.end_placement", "POST"): IdRoute("/operator/{tenant}/placements/{placement}/end", "POST"),
    # Operator console (tenant launch): A's shop placed, A's operator revoked, from B's console.
    ("operator_tenants.shop_location", "GET"): IdRoute("/operator/{tenant}/shops/{shop_id}/location"),
    ("operator_tenants.shop_location", "POST"): IdRoute("/operator/{tenant}/shops/{shop_id}/location", "POST", {
        "building": "A", "floor": "1", "zone": "", "stall": "越界", "map_x": "1", "map_y": "1"}),
    ("operator_tenants.revoke_operator", "POST"): IdRoute("/operator/{tenant}/operators/{grant}/revoke", "POST"),
    ("operator_tenants.go_live", "POST"): IdRoute("/operator/{tenant}/go-live", "POST"),
    ("operator_tenants.suspend", "POST"): IdRoute("/operator/{tenant}/suspend", "POST", {"reason": "越界"}),
    ("operator_tenants.operators", "POST"): IdRoute("/operator/{tenant}/operators", "POST",
                                                    {"identifier": "buyer@shangdu.example"}),
    # Agreement and rules (tenancy.agreement_views): A's published rules version and A's draft, under B.
    ("agreements.version_page", "GET"): IdRoute("/t/{tenant}/rules/v{document_version}"),
    ("agreements.download", "GET"): IdRoute("/t/{tenant}/rules/v{document_version}.txt"),
    ("operator_documents.documents", "POST"): IdRoute("/operator/{tenant}/documents", "POST", {
        "kind": "rules", "title": "越界", "body": "## 越界"}),
    ("operator_documents.consult", "POST"): IdRoute("/operator/{tenant}/documents/{draft_document}/consult", "POST"),
    ("operator_documents.publish", "POST"): IdRoute("/operator/{tenant}/documents/{draft_document}/publish", "POST",
                                                    {"effective_on": "2099-01-01", "urgent_reason": "越界"}),
    ("agreements.comment", "POST"): IdRoute("/t/{tenant}/documents/{draft_document}/comments", "POST",
                                            {"comment": "越界意见"}),
    ("merchant_documents.leave", "POST"): IdRoute("/merchant/{tenant}/{shop}/rule-changes/{draft_document}/leave",
                                                  "POST"),
    # Conformance (spec.views): running and signing act on the tenant in the URL only.
    ("operator_conformance.run_now", "POST"): IdRoute("/operator/{tenant}/conformance/run", "POST"),
    ("operator_conformance.issue_statement", "POST"): IdRoute("/operator/{tenant}/conformance/statement", "POST"),
    # Intellectual-property notices (trust): a notice against A's product, and the admin's notice on A's product.
    ("ip_notices.start", "GET"): IdRoute("/t/{tenant}/ip-notices/new?product=/t/tenant-a/p/{product}"),
    ("ip_notices.new", "GET"): IdRoute("/t/{tenant}/ip-notices/new/{product}"),
    ("ip_notices.new", "POST"): IdRoute("/t/{tenant}/ip-notices/new/{product}", "POST", {
        "right_kind": "trademark", "right_number": "越界", "holder_name": "越界", "description": "越界",
        "contact": "越界", "warned": "1"}),
    ("ip_notices.detail", "GET"): IdRoute("/t/{tenant}/ip-notices/{ip_notice}"),
    ("ip_notices.report_action", "POST"): IdRoute("/t/{tenant}/ip-notices/{ip_notice}/action", "POST",
                                                  {"reference": "越界"}),
    ("merchant_ip_notices.merchant_detail", "GET"): IdRoute("/merchant/{tenant}/{shop}/ip-notices/{ip_notice}"),
    ("merchant_ip_notices.merchant_counter", "POST"): IdRoute("/merchant/{tenant}/{shop}/ip-notices/{ip_notice}/counter",
                                                              "POST", {"statement": "越界"}),
    ("operator_ip_notices.operator_detail", "GET"): IdRoute("/operator/{tenant}/ip-notices/{ip_notice}"),
    ("operator_ip_notices.operator_review", "POST"): IdRoute("/operator/{tenant}/ip-notices/{ip_notice}/review",
                                                             "POST", {"decision": "take_down"}),
    ("operator_ip_notices.operator_end_measure", "POST"): IdRoute("/operator/{tenant}/ip-notices/{ip_notice}/end",
                                                                  "POST", {"reason": "越界"}),
    # Enforcement (trust.enforcement_views): A's product taken down, A's shop sanctioned or closed, from B's console.
    ("operator_enforcement.take_down", "POST"): IdRoute("/operator/{tenant}/takedowns", "POST", {
        "product_id": "{product}", "reason": "counterfeit"}),
    ("operator_enforcement.impose", "POST"): IdRoute("/operator/{tenant}/sanctions", "POST", {
        "shop_id": "{shop_id}", "measure": "warning", "violation": "越界", "until": "2099-01-01"}),
    ("operator_enforcement.announce_closing", "POST"): IdRoute("/operator/{tenant}/closing-notices", "POST", {
        "shop_id": "{shop_id}", "last_day": "2099-01-01"}),
    ("operator_enforcement.announce_tenant_closing", "POST"): IdRoute("/operator/{tenant}/closing-notices/tenant",
                                                                      "POST", {"last_day": "2099-01-01",
                                                                               "note": "越界"}),
    ("operator_enforcement.takedowns_report", "GET"): IdRoute("/operator/{tenant}/takedowns.csv?period=2026-11"),
    ("operator_enforcement.mark_reported", "POST"): IdRoute("/operator/{tenant}/takedowns/reported", "POST",
                                                            {"period": "2026-11"}),
    ("operator_enforcement.release_takedown", "POST"): IdRoute("/operator/{tenant}/takedowns/release", "POST",
                                                               {"takedown_id": "1", "reason": "越界"}),
    ("merchant_closing.closing", "POST"): IdRoute("/merchant/{tenant}/{shop}/closing", "POST",
                                                  {"last_day": "2099-01-01"}),
    # Public regulatory records (trust.public_record_views): one for A's merchant entered, or A's record removed,
    # from B's console.
    ("operator_public_records.records", "POST"): IdRoute("/operator/{tenant}/public-records", "POST", {
        "merchant_id": "{merchant}", "kind": "administrative_penalty", "authority": "越界", "document_number": "越界",
        "decided_on": "2020-01-01"}),
    ("operator_public_records.remove", "POST"): IdRoute("/operator/{tenant}/public-records/{public_record}/remove",
                                                        "POST", {"removed_on": "2020-01-02"}),
    # Assisted password reset (console.account_help): B's form with the mobile of A's merchant.
    ("operator_accounts.assisted_reset", "POST"): IdRoute("/operator/{tenant}/accounts/reset", "POST", {
        "mobile": "{merchant_mobile}", "identity_checked": "y"}),
    # Shop applications (shops.views): the resident's join form, and the operator's decisions on A's application.
    ("shop_applications.join", "GET"): IdRoute("/t/{tenant}/join"),
    ("shop_applications.join", "POST"): IdRoute("/t/{tenant}/join", "POST", {
        "kind": "natural_person", "legal_name": "越界", "contact_name": "越界", "contact_phone": "13900139000",
        "shop_name_zh": "越界", "slug": "a-join", "category_id": "{category}"}),
    ("shop_applications.withdraw", "POST"): IdRoute("/t/{tenant}/join/withdraw", "POST"),
    ("operator_shop_applications.detail", "GET"): IdRoute("/operator/{tenant}/shop-applications/{shop_application}"),
    ("operator_shop_applications.approve", "POST"): IdRoute(
        "/operator/{tenant}/shop-applications/{shop_application}/approve", "POST"),
    ("operator_shop_applications.reject", "POST"): IdRoute(
        "/operator/{tenant}/shop-applications/{shop_application}/reject", "POST", {"reason": "越界"}),
    # Webhooks (console.webhooks): A's endpoints and deliveries ({shop_webhook} of A's stall, {tenant_webhook} of A
    # itself, each with a delivery) under B's URLs; adding one from B's forms subscribes B's stall or B.
    ("merchant_webhooks.index", "POST"): IdRoute("/merchant/{tenant}/{shop}/webhooks", "POST", {
        "url": "https://93.184.216.34/hook", "events": "order.created"}),
    ("merchant_webhooks.deliveries", "GET"): IdRoute("/merchant/{tenant}/{shop}/webhooks/{shop_webhook}"),
    ("merchant_webhooks.disable", "POST"): IdRoute("/merchant/{tenant}/{shop}/webhooks/{shop_webhook}/disable",
                                                   "POST"),
    ("merchant_webhooks.replay", "POST"): IdRoute(
        "/merchant/{tenant}/{shop}/webhooks/{shop_webhook}/deliveries/{shop_webhook_delivery}/replay", "POST"),
    ("operator_webhooks.index", "POST"): IdRoute("/operator/{tenant}/webhooks", "POST", {
        "url": "https://93.184.216.34/hook", "events": "order.created"}),
    ("operator_webhooks.deliveries", "GET"): IdRoute("/operator/{tenant}/webhooks/{tenant_webhook}"),
    ("operator_webhooks.disable", "POST"): IdRoute("/operator/{tenant}/webhooks/{tenant_webhook}/disable", "POST"),
    ("operator_webhooks.replay", "POST"): IdRoute(
        "/operator/{tenant}/webhooks/{tenant_webhook}/deliveries/{tenant_webhook_delivery}/replay", "POST"),
    # A shop's API keys (console.api_keys): creating one for B's stall, revoking A's key through B's URL.
    ("merchant_api_keys.index", "POST"): IdRoute("/merchant/{tenant}/{shop}/api-keys", "POST", {
        "name": "越界", "scopes": "orders:read"}),
    ("merchant_api_keys.revoke", "POST"): IdRoute("/merchant/{tenant}/{shop}/api-keys/{api_key}/revoke", "POST"),
    # The tenant's operator keys (console.api_keys): creating one for B, revoking A's through B's URL.
    ("operator_api_keys.index", "POST"): IdRoute("/operator/{tenant}/api-keys", "POST", {
        "name": "越界", "scopes": "tenant:read"}),
    ("operator_api_keys.revoke", "POST"): IdRoute("/operator/{tenant}/api-keys/{operator_key}/revoke", "POST"),
    # The operator API (api.operator) with B's operator token: A's application under B's URL.
    ("api_operator.get_settings", "GET"): IdRoute("/api/v1/tenants/{tenant}/operator/settings", api=True,
                                                  operator=True),
    ("api_operator.update_settings", "PATCH"): IdRoute("/api/v1/tenants/{tenant}/operator/settings", "PATCH",
                                                       {"timezone": "Asia/Shanghai"}, api=True, operator=True),
    ("api_operator.list_applications", "GET"): IdRoute("/api/v1/tenants/{tenant}/operator/applications", api=True,
                                                       operator=True),
    ("api_operator.get_application", "GET"): IdRoute(
        "/api/v1/tenants/{tenant}/operator/applications/{shop_application}", api=True, operator=True),
    ("api_operator.approve_application", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/operator/applications/{shop_application}/approve", "POST", api=True, operator=True),
    ("api_operator.reject_application", "POST"): IdRoute(
        "/api/v1/tenants/{tenant}/operator/applications/{shop_application}/reject", "POST", {"reason": "越界"},
        api=True, operator=True),
}

#: Routes whose crossing needs only the tenant in the URL (lists, forms): B's own page answers, never A's rows.
TENANT_WIDE = {("api_resident.get_cart", "GET"), ("api_resident_delivery.quote_cart", "GET"), ("api_resident.checkout", "POST"),
               ("api_resident.list_my_orders", "GET"), ("api_resident.list_my_returns", "GET"),
               ("api_shop_returns.list_shop_returns", "GET"), ("api_tenants.get_tenant", "GET"),
               ("api_shop_orders.list_shop_orders", "GET"),
               ("merchant_returns.index", "GET"), ("merchant_ledger.ledger", "GET"),
               ("merchant_ledger.ledger_csv", "GET"), ("cart.view", "GET"), ("cart.checkout", "GET"), ("cart.checkout", "POST"),
               ("merchant_products.index", "GET"), ("merchant_imports.upload", "GET"),
               ("merchant_imports.upload", "POST"), ("merchant_imports.export_csv", "GET"),
               ("merchant_imports.export_xlsx", "GET"), ("merchant_imports.template", "GET"),
               ("merchant_licences.licences", "GET"), ("merchant_licences.licences", "POST"),
               ("merchant_delivery.delivery_settings", "GET"), ("merchant_delivery.delivery_settings", "POST"),
               ("merchant_quotes.inbox", "GET"), ("freight_quotes.mine", "GET"), ("operator_catalog.categories", "GET"),
               ("operator_catalog.categories", "POST"), ("operator_catalog.licences", "GET"),
               ("api_catalog.list_shops", "GET"), ("api_catalog.list_categories", "GET"),
               ("api_catalog.list_products", "GET"), ("api_merchant.create_product", "POST"),
               ("api_merchant.set_stock", "POST"), ("api_catalog.get_shop", "GET"),
               # Search: A's category id under B finds none of A's goods — the page ignores it, the API refuses it (4xx).
               ("search.results", "GET"), ("search.suggest", "GET"), ("api_catalog.search_products", "GET"),
               ("api_catalog.search_suggestions", "GET"),
               # A's pickup code at B's counters is an unknown code (400, a message): tests/delivery/test_pages.py.
               ("merchant_delivery.shop_counter", "POST"), ("operator_delivery.counter", "POST")}
#: Complaints: B's export lists B's complaints only (tests/trust/test_complaints.py reads its rows).
TENANT_WIDE |= {("operator_complaints.export", "GET")}
#: The trust API's lists of my complaints and of the shop's: B's own, never A's rows.
TENANT_WIDE |= {("api_resident_trust.list_my_complaints", "GET"), ("api_shop_complaints.list_shop_complaints", "GET")}
#: IP notices: B's "which product" form answers A's product as not in this market (a 400 message), never leads to it.
TENANT_WIDE |= {("ip_notices.start", "GET")}
#: Onboarding: B's shop's own application form (a bad form is a 400 message there), never A's application.
TENANT_WIDE |= {("merchant_onboarding.application", "POST")}
#: Placements: B's form refuses A's product as "not in this market" (a 400 message), never places it.
TENANT_WIDE |= {("operator_placements.placements_page", "POST")}
#: Taking live, suspending and granting act on the tenant in the URL only (tests/console/test_tenant_launch.py).
TENANT_WIDE |= {("operator_tenants.go_live", "POST"), ("operator_tenants.suspend", "POST"),
                ("operator_tenants.operators", "POST")}

#: Drafting a document, running the checks and signing a statement act on B's own documents and runs only
#: (tests/spec/test_agreements.py and tests/spec/test_reports.py).
TENANT_WIDE |= {("operator_documents.documents", "POST"), ("operator_conformance.run_now", "POST"),
                ("operator_conformance.issue_statement", "POST")}
#: Enforcement: B's forms refuse A's product or shop as "not in this market" (a message), never act on it
#: (tests/trust/test_enforcement.py); the report and the closing form act on B's own rows and shop only.
TENANT_WIDE |= {("operator_enforcement.take_down", "POST"), ("operator_enforcement.impose", "POST"),
                ("operator_enforcement.announce_closing", "POST"), ("operator_enforcement.takedowns_report", "GET"),
                ("operator_enforcement.announce_tenant_closing", "POST"),
                ("merchant_closing.closing", "POST")}
#: Marking a month reported stamps B's own takedowns; B's release form answers A's takedown as not in this
#: market (a message), never releases it (tests/trust/test_enforcement.py).
TENANT_WIDE |= {("operator_enforcement.mark_reported", "POST"), ("operator_enforcement.release_takedown", "POST")}
#: Public records: B's form answers A's merchant as not trading in this market (a 400 field error), never records it
#: (tests/trust/test_public_records.py).
TENANT_WIDE |= {("operator_public_records.records", "POST")}
#: Assisted reset: B's operator gets the same "no merchant of this market" message for A's merchant, never a link;
#: admins may help any account from any tenant's page (tests/console/test_assisted_reset.py).
TENANT_WIDE |= {("operator_accounts.assisted_reset", "POST")}
#: Joining: B's own form (A's category id is refused there with a 400 message) and the signed-in resident's own
#: application in B; never A's application (tests/shops/test_applications.py).
TENANT_WIDE |= {("shop_applications.join", "GET"), ("shop_applications.join", "POST"),
                ("shop_applications.withdraw", "POST")}
#: Webhooks: B's forms subscribe B's own stall or B itself (tests/webhooks/test_console.py).
TENANT_WIDE |= {("merchant_webhooks.index", "POST"), ("operator_webhooks.index", "POST")}
#: API keys: the form creates a key for B's own stall only (tests/console/test_api_keys.py).
TENANT_WIDE |= {("merchant_api_keys.index", "POST")}
#: Operator keys: the form creates a key for B only; the operator API's settings and list are B's own (B's token).
TENANT_WIDE |= {("operator_api_keys.index", "POST"), ("api_operator.get_settings", "GET"),
                ("api_operator.update_settings", "PATCH"), ("api_operator.list_applications", "GET")}


def test_every_tenant_route_is_in_one_of_the_tables(app):
    in_map = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if "tenant_slug" in rule.arguments and rule.endpoint not in NOT_TENANT_PAGES
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    missing = in_map - ROUTES.keys() - ID_ROUTES.keys()
    assert not missing, f"add these tenant routes to ID_ROUTES in {__file__}: {sorted(missing)}"
    assert not (ROUTES.keys() | ID_ROUTES.keys()) - in_map, "the tables list routes that no longer exist"


@dataclass
class World:
    ids: dict  # placeholder → value, for tenant A's rows under tenant B's slugs
    token: str
    operator_token: str = ""  # the admin's operator token of tenant B
    personal_token: str = ""  # the admin's personal token (the resident API: every tenant)


@pytest.fixture(scope="module")
def world(module_transaction, make_tenant, make_shop, make_user, make_category, make_product) -> World:
    """Built once for the module: each test's requests act inside its own savepoint, rolled back after it."""
    with module_transaction.building():
        return _build_world(make_tenant, make_shop, make_user, make_category, make_product)


def _build_world(make_tenant, make_shop, make_user, make_category, make_product) -> World:
    a = make_tenant(slug="tenant-a", kind="market", theme="market")
    b = make_tenant(slug="tenant-b", kind="market", theme="market")
    a_shop = make_shop(a, slug="a-stall", accepts_quotes=True)
    b_shop = make_shop(b, slug="b-stall", accepts_quotes=True)
    admin = make_user("admin@shangdu.example", role=Role.platform_admin)
    buyer = make_user("buyer@shangdu.example")
    a_operator = make_user("operator-a@shangdu.example", role=Role.tenant_operator, tenant=a)
    category = make_category(a, slug="a-fertiliser", product_type="general.goods")
    make_category(b, slug="b-goods", product_type="general.goods")
    product = make_product(a_shop, category=category, sku="A-1", price=1000, stock=50)
    with tenant_scope(a):
        image = catalog.add_image(product, encode(picture(), "PNG"))
        licence = catalog.record_licence(a_shop, "pesticide_business", "许可证 A-1", date.today() + timedelta(days=90))
        quote = catalog.request_quote(buyer, product.variants[0], 10)
        db.session.commit()
        cart = orders.cart_for(a, user_id=admin.id, create=True)
        orders.set_line(cart, product.variants[0].id, 1)
        group = orders.place_order(a, admin.id, cart, "cross-tenant")
        order = group.orders[0]
        for step in ("paid", "accepted", "ready_for_pickup", "picked_up"):
            orders.transition(order, step)
        request = returns.request_return(a, order, {order.lines[0].id: 1}, buyer_id=admin.id)
        returns.approve(request, actor_id=admin.id, return_address="A 市场 1 号")
        db.session.commit()
        # A statement of A's stall: its month closed (a "now" past the month's end), the next one open.
        statement = settlement.close_statements(a, now=utcnow() + timedelta(days=40))[0]
        # A bank transfer of A waiting for the operator (a second, unpaid checkout).
        orders.set_line(cart, product.variants[0].id, 1)
        unpaid = orders.place_order(a, admin.id, cart, "cross-tenant-transfer")
        transfer = payments.create_payment(unpaid, Choice("offline", "bank_transfer", "银行转账"))
        db.session.commit()
        shipment = db.session.scalar(select(Shipment).where(Shipment.order_id == order.id))
        # A's stall also carries wholesale loads: the admin asked it for a freight quote.
        module_settings["delivery"].set(a, "options", {"pickup": {}, "freight": {}})
        a_shop.delivery = {"providers": ["pickup", "freight"]}
        home = add_address(admin.id, AddressInput("王建军", "13800138001", "410000", "411700", "411721", "农资站"))
        freight_quote = freight.request_quote(a, a_shop, admin.id, delivery.address_value(home), 1000, 0, "越界")
        db.session.commit()
        ids = {"shop": "b-stall", "product": product.id, "variant": product.variants[0].id, "image": image.id,
               "category": category.id, "category_slug": "a-fertiliser", "licence": licence.id, "quote": quote.id,
               "order_group": group.number, "order": order.number, "order_line": order.lines[0].id,
               "return": request.id, "statement": statement.id, "payment": transfer.id,
               "tracking": shipment.tracking_token, "pickup_code": pickup.code_for(shipment),
               "freight_shop": "a-stall", "freight_address": home.id, "freight_quote": freight_quote.id}
    with tenant_scope(a):  # the admin's complaint about A's order (trust)
        ids["complaint"] = trust_complaints.file_complaint(a, order, buyer_id=admin.id, category="quality",
                                                           description="质量问题").number
        db.session.commit()
    with tenant_scope(a):  # A's merchant approved and its stall's badge issued (trust: badges)
        a_shop.merchant.registration_number = "91110108551385082Q"
        trust_verification.approve(a_shop.merchant, actor_id=admin.id, tenant=a)
        ids.update(merchant=a_shop.merchant_id, shop_id=a_shop.id,
                   badge=trust_badges.issue_badge(a_shop, actor_id=admin.id).serial)
        db.session.commit()
    with tenant_scope(a):  # a completed order of A's stall, reviewed by the admin (trust: reviews)
        orders.set_line(cart, product.variants[0].id, 1)
        reviewed = orders.place_order(a, admin.id, cart, "cross-tenant-review").orders[0]
        for step in ("paid", "accepted", "ready_for_pickup", "picked_up", "completed"):
            orders.transition(reviewed, step)
        ids["review"] = trust_reviews.create_review(a, reviewed.lines[0], admin.id, ratings={
            "product": 5, "described": 5, "service": 5, "delivery": 5}).id
        db.session.commit()
    with tenant_scope(b):
        token = issue_token(admin, b_shop, "cross-tenant test", ALL_SCOPES)
        db.session.commit()
    with tenant_scope(b):
        operator_token = issue_operator_token(admin, b, "cross-tenant test", ALL_OPERATOR_SCOPES)
        db.session.commit()
    with tenant_scope(a):  # an operator key of A (console: operator API keys)
        a_operator_key = issue_operator_token(admin, a, "A 的招商系统", ALL_OPERATOR_SCOPES)
        ids["operator_key"] = db.session.scalar(select(OperatorToken.id).where(
            OperatorToken.token_sha256 == hash_token(a_operator_key)))
        db.session.commit()
    with tenant_scope(a):  # an API key of A's stall (console: API keys)
        a_key = issue_token(admin, a_shop, "A 的 ERP", ALL_SCOPES)
        ids["api_key"] = db.session.scalar(select(ApiToken.id).where(ApiToken.token_sha256 == hash_token(a_key)))
        db.session.commit()
    with tenant_scope(a):  # A's stall applied for verification as a natural person (trust: onboarding)
        ids["application"] = trust_onboarding.submit_application(a_shop, trust_onboarding.ApplicationInput(
            kind="natural_person", legal_name="王建军", resident_id="11010519491231002X", id_consent=True,
            contact_name="王建军", contact_phone="13900139000", business_address="A 市场 1 号",
            exemption="small_sporadic"), actor_id=admin.id).id
        db.session.commit()
    with tenant_scope(a):  # a paid placement of A's product, running today (search: placements)
        today = tenant_today(a)
        ids["placement"] = search_placements.create(a, product_id=product.id, keywords="越界", category_id=None,
                                                    first_day=today, last_day=today, fee=0, actor_id=admin.id).id
        ids["today"] = today.isoformat()
        db.session.commit()
    ids["grant"] = a_operator.grants[0].id
    ids["merchant_mobile"] = make_user("13903710901", role=Role.merchant_owner, shop=a_shop).mobile
    with tenant_scope(a):  # A's published trading rules (v1) and a draft of its agreement
        rules = agreements.save_draft(a, "rules", title="甲规则", body="## 基本规则", actor_id=admin.id)
        agreements.publish(rules, effective_at=utcnow(), actor_id=admin.id, urgent_reason="首次公示")
        ids["document_version"] = rules.version
        ids["draft_document"] = agreements.save_draft(a, "agreement", title="甲协议", body="## 总则",
                                                      actor_id=admin.id).id
        db.session.commit()
    with tenant_scope(a):  # the admin's intellectual-property notice against A's product, under review (trust)
        ids["ip_notice"] = trust_ip_notices.file_notice(a, product, trust_ip_notices.NoticeInput(
            right_kind="trademark", right_number="第 1 号", holder_name="甲品牌", description="越界", contact="越界",
            warned=True), holder_id=admin.id, photos=trust_ip_notices.ingest_evidence([encode(picture(), "PNG")])).number
        db.session.commit()
    with tenant_scope(a):  # a public regulatory record of A's merchant, in force (trust: public records)
        ids["public_record"] = trust_public_records.record(a, a_shop.merchant, trust_public_records.RecordInput(
            "administrative_penalty", "甲区市场监管局", "甲罚〔2020〕1号", date(2020, 1, 1)), actor=admin).id
        db.session.commit()
    with tenant_scope(a):  # a resident asks to open a stall in A (shops: 入驻申请)
        ids["shop_application"] = shop_applications.submit_application(a, buyer, shop_applications.ApplicationInput(
            kind="natural_person", legal_name="王建军", contact_name="王建军", contact_phone="13900139000",
            shop_name_zh="甲市场新摊位", slug="a-join")).id
        db.session.commit()
    with tenant_scope(a):  # A's stall's webhook endpoint and A's tenant-wide one, each with a delivery (webhooks)
        shop_hook = webhooks.subscribe(a, a_shop, "https://93.184.216.34/a-stall", ["order.created"], actor_id=admin.id)
        tenant_hook = webhooks.subscribe(a, None, "https://93.184.216.34/a", ["order.created"], actor_id=admin.id)
        made = {d.endpoint_id: d.id for d in webhooks.emit("order.created", tenant_id=a.id, shop_id=a_shop.id,
                                                           data={"number": "A-1"})}
        ids.update(shop_webhook=shop_hook.id, shop_webhook_delivery=made[shop_hook.id], tenant_webhook=tenant_hook.id,
                   tenant_webhook_delivery=made[tenant_hook.id])
        db.session.commit()
    personal_token = issue_personal_token(admin, "cross-tenant test", ALL_RESIDENT_SCOPES, None)
    db.session.commit()
    return World(ids=ids, token=token, operator_token=operator_token, personal_token=personal_token)


def _fill(template, values: dict):
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


#: The resident API's blueprints: a bearer call there carries a personal token, not a shop's key.
RESIDENT_API = ("api_resident.", "api_resident_delivery.", "api_resident_trust.")


def _token(world, endpoint: str, route: IdRoute) -> str:
    if route.operator:
        return world.operator_token
    return world.personal_token if endpoint.startswith(RESIDENT_API) else world.token


def _send(client, route: IdRoute, url: str, form, token: str, page_url: str):
    if route.api:
        headers = {"Authorization": f"Bearer {token}"}
        return client.open(url, method=route.method, json=form, headers=headers)
    if route.method == "GET":
        return client.get(url)
    return client.submit(url, form or {}, page_url=page_url)


CROSSING = sorted(set(ID_ROUTES) - TENANT_WIDE)


@pytest.mark.parametrize(("endpoint", "method"), CROSSING, ids=[f"{e}-{m}" for e, m in CROSSING])
def test_tenant_as_ids_under_tenant_b_are_not_found(client, world, endpoint, method):
    route = ID_ROUTES[(endpoint, method)]
    client.login("admin@shangdu.example", PASSWORD)
    url = _fill(route.url, {"tenant": "tenant-b", **world.ids})
    response = _send(client, route, url, _fill(route.form, world.ids), _token(world, endpoint, route),
                     "/operator/tenant-b/")
    assert response.status_code == 404, f"{method} {url} answered {response.status_code}"


@pytest.mark.parametrize(("endpoint", "method"), sorted(ID_ROUTES), ids=[f"{e}-{m}" for e, m in sorted(ID_ROUTES)])
def test_no_crossing_request_is_a_server_error(client, world, endpoint, method):
    route = ID_ROUTES[(endpoint, method)]
    client.login("admin@shangdu.example", PASSWORD)
    for tenant in ("tenant-b", "tenant-a"):
        url = _fill(route.url, {"tenant": tenant, **world.ids})
        response = _send(client, route, url, _fill(route.form, world.ids), _token(world, endpoint, route),
                         f"/operator/{tenant}/")
        assert response.status_code < 500, f"{method} {url} answered {response.status_code}"
