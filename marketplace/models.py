"""Every model of every domain, imported in one place for migrations and the tenant guard."""

from marketplace.accounts.addresses import Address  # noqa: F401
from marketplace.accounts.closure import AccountClosure, HeldOrder  # noqa: F401
from marketplace.accounts.models import LoginAttempt, RoleGrant, User
from marketplace.api.idempotency import IdempotencyRecord  # noqa: F401
from marketplace.api.models import ApiToken  # noqa: F401
from marketplace.catalog.models import Category, PriceTier, Product, ProductImage, Quote, ShopLicence, Variant
from marketplace.core.audit import AuditEntry  # noqa: F401
from marketplace.delivery.models import DeliverySlot, FreightQuote, Shipment, ShipmentEvent  # noqa: F401
from marketplace.orders.models import Cart, CartLine, Order, OrderEvent, OrderGroup, OrderLine
from marketplace.orders.returns import Refund, ReturnLine, ReturnRequest  # noqa: F401
from marketplace.orders.seals import OrderSeal  # noqa: F401
from marketplace.payments.models import Payment, PaymentEvent  # noqa: F401
from marketplace.payments.settlement import SettlementStatement  # noqa: F401
from marketplace.search.models import SearchJournal, SearchQueryStat
from marketplace.search.placements import Placement, PlacementEvent  # noqa: F401
from marketplace.shops.applications import ShopApplication  # noqa: F401
from marketplace.shops.models import Merchant, Shop
from marketplace.spec.reports import ConformanceRun  # noqa: F401
from marketplace.tenancy.agreements import DocumentComment, RuleChangeExit, TenantDocument  # noqa: F401
from marketplace.tenancy.models import Tenant, TenantDomain, TenantSetting
from marketplace.trust.badges import Badge  # noqa: F401
from marketplace.trust.checkpoints import ReviewCheckpoint  # noqa: F401
from marketplace.trust.complaints import Complaint, ComplaintEvent  # noqa: F401
from marketplace.trust.credit import ShopCredit  # noqa: F401
from marketplace.trust.enforcement import ClosingNotice, Sanction, TakedownRecord  # noqa: F401
from marketplace.trust.ip_notices import IpNotice, IpNoticeEvent  # noqa: F401
from marketplace.trust.onboarding import OnboardingApplication, OnboardingEvent  # noqa: F401
from marketplace.trust.public_records import PublicRecord  # noqa: F401
from marketplace.trust.reviews import Review, ReviewLog  # noqa: F401
from marketplace.trust.verification import ApprovalEvent, MerchantApproval  # noqa: F401

__all__ = ["Category", "PriceTier", "Product", "ProductImage", "Quote", "ShopLicence", "Variant", "LoginAttempt", "Merchant", "RoleGrant",
           "Cart", "CartLine", "Order", "OrderEvent", "OrderGroup", "OrderLine", "SearchJournal", "SearchQueryStat", "Shop", "Tenant", "TenantDomain", "TenantSetting",
           "User"]
from marketplace.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint  # noqa: F401
