"""Operator side of the catalog: a tenant's category tree, and the shop licences that open gated categories.

Categories come from the tenant manifest (``flask tenants sync``) and may then be edited by the tenant's
operator; both write the same rows. Licences are filed by merchants (``services.record_licence``), verified
or rejected by the operator here, and checked daily by ``expire_licences``.

Like ``catalog.services``, every function flushes and leaves the commit to its caller; all but
``expire_licences`` work on the current tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace.catalog import packs
from marketplace.catalog.models import EXCLUSIONS, Category, Product, ShopLicence
from marketplace.catalog.services import (
    CatalogError,
    record_licence,
    unpublish_gated_products,
    verify_licence,
)
from marketplace.core.enums import LabelledEnum, _l, labelled
from marketplace.extensions import db
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.tenancy.manifests import SLUG
from marketplace.tenancy.models import Tenant


def tenant_today(tenant: Tenant) -> date:
    """Today's date on the tenant's calendar: licences and quotes run out at its midnight, not UTC's."""
    return datetime.now(ZoneInfo(tenant.timezone)).date()


# -- categories -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CategoryRow:
    """A category as the tree shows it: its depth below the root and how many products it holds."""

    category: Category
    depth: int
    products: int


def category_tree() -> list[CategoryRow]:
    """The current tenant's categories, parents before their children, each level by position; two queries."""
    categories = list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))
    counts = dict(db.session.execute(
        select(Product.category_id, func.count(Product.id)).group_by(Product.category_id)).all())
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    rows: list[CategoryRow] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for category in children.get(parent_id, []):
            rows.append(CategoryRow(category, depth, counts.get(category.id, 0)))
            walk(category.id, depth + 1)

    walk(None, 0)
    return rows


def category_by_id(category_id: int) -> Category | None:
    """A category of the current tenant, or None (another tenant's is not found)."""
    return db.session.scalar(select(Category).where(Category.id == category_id))


def add_category(*, slug: str, name_zh: str, name_en: str = "", product_type: str,
                 parent_id: int | None = None, position: int | None = None, return_exclusion: str = "") -> Category:
    """A new category of the current tenant; without a position it goes after its last sibling.
    ``return_exclusion`` is "" (7-day no-reason returns apply) or a code of ``catalog.models.EXCLUSIONS``."""
    slug, name_zh, name_en = _clean_names(slug, name_zh, name_en)
    _check_slug_free(slug, None)
    _check_product_type(product_type)
    _check_return_exclusion(return_exclusion)
    parent = _parent(parent_id)
    if position is None:
        last = db.session.scalar(select(func.max(Category.position)).where(
            Category.parent_id == parent_id if parent_id else Category.parent_id.is_(None)))
        position = 0 if last is None else last + 1
    _check_position(position)
    category = Category(slug=slug, name_zh=name_zh, name_en=name_en, product_type=product_type,
                        parent_id=parent.id if parent else None, position=position, return_exclusion=return_exclusion)
    db.session.add(category)
    db.session.flush()
    return category


def edit_category(category: Category, *, slug: str, name_zh: str, name_en: str, product_type: str,
                  parent_id: int | None, position: int, return_exclusion: str | None = None) -> Category:
    """Change a category. Refused: a slug another category has, a parent inside its own branch, a new
    product type while products use the category (their attributes follow the old type), and an unknown
    return exclusion (None keeps the current one). A changed exclusion applies to orders placed from now on:
    order lines keep the one they were bought under."""
    slug, name_zh, name_en = _clean_names(slug, name_zh, name_en)
    _check_slug_free(slug, category.id)
    _check_product_type(product_type)
    if return_exclusion is not None:
        _check_return_exclusion(return_exclusion)
    _check_position(position)
    parent = _parent(parent_id)
    if parent is not None and _within_branch(parent, category):
        raise CatalogError(_("不能把分类移到它自己或它的子分类下面。"), "parent_id")
    if product_type != category.product_type:
        used = db.session.scalar(select(func.count(Product.id)).where(Product.category_id == category.id))
        if used:
            raise CatalogError(_("该分类下已有 %(n)d 件商品，不能更改商品类型；请先把这些商品移到其他分类。", n=used),
                               "product_type")
    category.slug, category.name_zh, category.name_en = slug, name_zh, name_en
    category.product_type, category.position = product_type, position
    if return_exclusion is not None:
        category.return_exclusion = return_exclusion
    category.parent_id = parent.id if parent else None
    db.session.flush()
    return category


def _clean_names(slug: str, name_zh: str, name_en: str) -> tuple[str, str, str]:
    slug, name_zh, name_en = (slug or "").strip(), (name_zh or "").strip(), (name_en or "").strip()
    if not SLUG.fullmatch(slug):
        raise CatalogError(_("分类代码只能用小写字母、数字和连字符，且不以连字符开头或结尾。"), "slug")
    if not name_zh:
        raise CatalogError(_("请填写分类中文名称。"), "name_zh")
    if len(name_zh) > 100 or len(name_en) > 100:
        raise CatalogError(_("分类名称最多 100 个字。"), "name_zh" if len(name_zh) > 100 else "name_en")
    return slug, name_zh, name_en


def _check_slug_free(slug: str, own_id: int | None) -> None:
    query = select(Category.id).where(Category.slug == slug)
    if own_id is not None:
        query = query.where(Category.id != own_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise CatalogError(_("分类代码“%(slug)s”已被使用。", slug=slug), "slug")


def _check_product_type(type_id: str) -> None:
    if packs.product_type(type_id or "") is None:
        raise CatalogError(_("请选择已安装的商品类型。"), "product_type")


def _check_return_exclusion(code: str) -> None:
    if code != "" and code not in EXCLUSIONS:
        raise CatalogError(_("请从列表中选择七日无理由退货的适用情况。"), "return_exclusion")


def _check_position(position: int) -> None:
    if not isinstance(position, int) or not 0 <= position <= 9999:
        raise CatalogError(_("排序应为 0 到 9999 之间的整数。"), "position")


def _parent(parent_id: int | None) -> Category | None:
    if not parent_id:
        return None
    parent = category_by_id(parent_id)
    if parent is None:
        raise CatalogError(_("找不到所选的上级分类。"), "parent_id")
    return parent


def _within_branch(candidate: Category, category: Category) -> bool:
    """Whether ``candidate`` is ``category`` or one of its descendants (walking up from the candidate)."""
    parents = dict(db.session.execute(select(Category.id, Category.parent_id)).all())
    seen: set[int] = set()
    current: int | None = candidate.id
    while current is not None and current not in seen:  # ``seen``: a loop already in the data must not hang us
        if current == category.id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


# -- licences ---------------------------------------------------------------------------------------------------

@labelled({"pending": _l("待核验"), "verified": _l("已核验"), "expired": _l("已过期")})
class LicenceStatus(LabelledEnum):
    pending = "pending"
    verified = "verified"
    expired = "expired"


def licence_status(licence: ShopLicence, today: date) -> LicenceStatus:
    if licence.expires_on is not None and licence.expires_on < today:
        return LicenceStatus.expired
    return LicenceStatus.verified if licence.verified_at is not None else LicenceStatus.pending


def licence_kinds() -> list[packs.Licence]:
    """The licences the installed packs ask for, once each, in pack order."""
    kinds: dict[str, packs.Licence] = {}
    for product_type in packs.all_product_types():
        if product_type.licence is not None:
            kinds.setdefault(product_type.licence.kind, product_type.licence)
    return list(kinds.values())


def licence_label(kind: str) -> str:
    return next((licence.label() for licence in licence_kinds() if licence.kind == kind), kind)


def shop_licences(shop: Shop) -> list[ShopLicence]:
    return list(db.session.scalars(select(ShopLicence).where(ShopLicence.shop_id == shop.id)
                                   .order_by(ShopLicence.kind)))


def tenant_licences() -> list[tuple[ShopLicence, Shop]]:
    """Every licence filed in the current tenant with its shop: unverified first, then oldest first."""
    licences = list(db.session.scalars(
        select(ShopLicence).order_by(ShopLicence.verified_at.is_not(None), ShopLicence.created_at, ShopLicence.id)))
    shops = {shop.id: shop for shop in db.session.scalars(
        select(Shop).where(Shop.id.in_({licence.shop_id for licence in licences})))} if licences else {}
    return [(licence, shops[licence.shop_id]) for licence in licences]


def licence_by_id(licence_id: int) -> ShopLicence | None:
    return db.session.scalar(select(ShopLicence).where(ShopLicence.id == licence_id))


def file_licence(shop: Shop, kind: str, number: str, expires_on: date | None,
                 today: date) -> tuple[ShopLicence, int]:
    """The merchant files (or changes) a licence; returns it and how many products went offline.

    A changed number or expiry needs verifying again, and until then the shop holds no verified licence of
    that kind, so its products that need one are taken offline like any others without it.
    """
    if kind not in {licence.kind for licence in licence_kinds()}:
        raise CatalogError(_("请选择许可证类型。"), "kind")
    if expires_on is not None and expires_on < today:
        raise CatalogError(_("有效期已过，不能提交过期的许可证。"), "expires_on")
    licence = record_licence(shop, kind, number, expires_on)
    offline = unpublish_gated_products(shop, kind) if licence.verified_at is None else 0
    return licence, offline


def verify_unless_expired(licence: ShopLicence, operator, today: date) -> int | None:
    """The operator confirms a licence. One already past its expiry date is not verified: the shop's products
    that need it go offline instead, and their number is returned (None when the licence was verified)."""
    if licence_status(licence, today) == LicenceStatus.expired:
        return unpublish_gated_products(_shop_of(licence), licence.kind)
    verify_licence(licence, operator)
    return None


def reject_licence(licence: ShopLicence) -> int:
    """The operator refuses a licence: it is removed (the merchant may file it again) and the shop's products
    that needed it go offline. Returns how many did."""
    shop, kind = _shop_of(licence), licence.kind
    db.session.delete(licence)
    db.session.flush()
    return unpublish_gated_products(shop, kind)


def _shop_of(licence: ShopLicence) -> Shop:
    return db.session.scalar(select(Shop).where(Shop.id == licence.shop_id))


@dataclass(frozen=True)
class ExpiredLicence:
    tenant_slug: str
    shop_slug: str
    kind: str
    expired_on: date
    products_offline: int


def expire_licences(today: date | None = None) -> list[ExpiredLicence]:
    """The daily check, across every tenant: a shop whose licence has run out loses the products that need it.

    ``today`` defaults to each tenant's own calendar date. Safe to run again: products already offline are
    not counted twice. Flushes; the caller commits (a scheduler, or a test).
    """
    with all_tenants():  # a platform-wide job: it visits every tenant, then works inside each one
        rows = db.session.execute(
            select(ShopLicence.id, ShopLicence.expires_on, Tenant)
            .join(Tenant, Tenant.id == ShopLicence.tenant_id)
            .where(ShopLicence.expires_on.is_not(None))
            .order_by(Tenant.id, ShopLicence.id)
        ).all()
    expired: list[ExpiredLicence] = []
    for licence_id, expires_on, tenant in rows:
        if expires_on >= (today or tenant_today(tenant)):
            continue
        with tenant_scope(tenant):
            licence = licence_by_id(licence_id)
            shop = _shop_of(licence)
            offline = unpublish_gated_products(shop, licence.kind)
            expired.append(ExpiredLicence(tenant.slug, shop.slug, licence.kind, expires_on, offline))
    db.session.flush()
    return expired
