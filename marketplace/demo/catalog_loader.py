"""The demo catalog: a few hundred products with pictures for the demo shops (data in ``catalog_data``).

Idempotent: products are looked up by SKU in their shop, and only those with none of their SKUs there are
created, through the catalog services, then published. A second run creates nothing and changes nothing.
Shops whose categories are gated (pesticide, seed) get their licence filed and verified by the tenant's
demo operator first, as it would happen in the console. A shop's wholesale settings (mixed-batch minimums,
quotes) are set only when it gets its first products, so later edits in the console stay.

Pictures are the slow part: each is drawn, cleaned and stored by the image pipeline, which also makes its
resized copies (about 0.1 s a picture, mostly WEBP encoding). They are all made before any product row is
written, on a few threads — Pillow lets go of the GIL while it encodes and resizes — and remembered for
the life of the application, so loading the demo again in the same process (the test suite) reuses the
stored files.

Knobs (settings, or ``MARKETPLACE_*`` environment variables): DEMO_CATALOG loads the catalog at all (on,
except in the testing environment, where many tests load the demo and only the catalog's own tests need
it: they turn it on), DEMO_IMAGES (on) draws pictures, DEMO_IMAGE_SIZE (480) is their side in pixels.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import select

from marketplace.accounts.models import Role, RoleGrant, User
from marketplace.catalog import packs
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Category, Product, ProductImage, ShopLicence, Variant
from marketplace.demo import images
from marketplace.demo.catalog_data import SHOPS, DemoProduct, DemoShop
from marketplace.extensions import db
from marketplace.media.images import StoredImage, ingest_image, make_derivatives
from marketplace.media.storage import get_storage
from marketplace.shops.models import Shop
from marketplace.shops.services import shop_by_slug
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant

log = logging.getLogger(__name__)

#: Bump when the drawings change, so pictures remembered by a running app are drawn again.
DRAWING_VERSION = "1"
#: Side of the demo pictures: large enough for a product page, small enough to make 500 of them quickly.
DEFAULT_IMAGE_SIZE = 480
_MEMO = "marketplace.demo.pictures"  # app.extensions key: recipe digest -> StoredImage


@dataclass(frozen=True)
class Picture:
    """How to draw one picture of a product; the same recipe always gives the same picture."""

    sku: str  # the product's
    kind: str  # "card" or "label"
    args: tuple
    kwargs: tuple[tuple[str, object], ...]
    alt: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(repr((DRAWING_VERSION, self.kind, self.args, self.kwargs)).encode()).hexdigest()

    def draw(self) -> bytes:
        draw = images.product_card if self.kind == "card" else images.label_card
        return draw(*self.args, **dict(self.kwargs))


@dataclass
class ShopPlan:
    tenant: Tenant
    shop: Shop
    demo: DemoShop
    missing: list[DemoProduct]
    #: The shop had no products at all: its wholesale settings are applied too (later edits stay).
    first_time: bool
    categories: dict[str, Category]  # the tenant's, by slug

    def product_type(self, product: DemoProduct) -> packs.ProductType:
        return packs.product_type(self.categories[product.category].product_type)


@dataclass
class CatalogPlan:
    """What a load would do: the missing products per shop and the pictures still to draw."""

    shops: list[ShopPlan] = field(default_factory=list)
    pictures: list[Picture] = field(default_factory=list)
    #: Pictures not made yet in this application (the rest are reused).
    to_draw: list[Picture] = field(default_factory=list)

    @property
    def products(self) -> int:
        return sum(len(plan.missing) for plan in self.shops)

    @property
    def steps(self) -> int:
        """Units of work for a progress bar: one per picture to draw, one per product to create."""
        return len(self.to_draw) + self.products


def demo_setting(name: str, default, kind: type):
    """A demo knob from the settings (``MARKETPLACE_DEMO_*``), or ``default`` when it is not set."""
    value = current_app.config["MARKETPLACE"].get(name)
    if value is None:
        return default
    if kind is int and not 64 <= value <= 2000:
        raise ValueError(f"MARKETPLACE_{name} must be between 64 and 2000 (pixels), not {value}")
    return value


def plan_demo_catalog(*, with_images: bool | None = None, image_size: int | None = None) -> CatalogPlan:
    """Find the demo products that are missing (none when DEMO_CATALOG is off). Reads only."""
    plan = CatalogPlan()
    if not demo_setting("DEMO_CATALOG", current_app.config["MARKETPLACE"]["ENV"] != "testing", bool):
        return plan
    tenants = {t.slug: t for t in db.session.scalars(select(Tenant).where(Tenant.slug.in_({s.tenant for s in SHOPS})))}
    categories: dict[str, dict[str, Category]] = {}
    for demo in SHOPS:
        tenant = tenants.get(demo.tenant)
        if tenant is None:
            continue
        with tenant_scope(tenant):
            shop = shop_by_slug(demo.slug)
            if shop is None:
                continue
            # The shop's SKUs in one query (what ``catalog.variant_by_sku`` answers one at a time): this runs
            # on every `make run`, where it must be quick. A product with any of its SKUs there is left alone,
            # whatever the merchant has done to it since.
            known = set(db.session.scalars(select(Variant.sku).where(Variant.shop_id == shop.id)))
            missing = [product for product in demo.products if not any(v.sku in known for v in product.variants)]
            if not missing:
                continue
            if tenant.slug not in categories:
                categories[tenant.slug] = {c.slug: c for c in db.session.scalars(select(Category))}
            gone = [product for product in missing if product.category not in categories[tenant.slug]]
            for product in gone:  # an operator removed the category in the console
                log.warning("demo: no category %s in %s for %s", product.category, tenant.slug, product.sku)
            missing = [product for product in missing if product not in gone]
            if not missing:
                continue
            first_time = catalog.count_products(shop) == 0
            plan.shops.append(ShopPlan(tenant, shop, demo, missing, first_time, categories[tenant.slug]))
    if plan.shops and (demo_setting("DEMO_IMAGES", True, bool) if with_images is None else with_images):
        size = image_size or demo_setting("DEMO_IMAGE_SIZE", DEFAULT_IMAGE_SIZE, int)
        plan.pictures = [picture for shop_plan in plan.shops for picture in _pictures(shop_plan, size)]
        memo, storage = _memo(), get_storage()
        plan.to_draw = [p for p in plan.pictures if p.digest not in memo or not storage.exists(memo[p.digest].key)]
    return plan


def load_demo_catalog(plan: CatalogPlan | None = None, *, workers: int | None = None,
                      progress: Callable[[int], None] | None = None) -> int:
    """Create the missing demo products (``plan``, else planned now) with their pictures, published.

    Returns how many products were created. ``progress(n)`` is told of each step done (see
    ``CatalogPlan.steps``). Tenants and shops must exist already (``load_demo``). Flushes.
    """
    plan = plan if plan is not None else plan_demo_catalog()
    if not plan.products:
        return 0
    stored = _make_pictures(plan.to_draw, workers, progress)
    pictures: dict[str, list[tuple[StoredImage, str]]] = {}
    for picture in plan.pictures:
        pictures.setdefault(picture.sku, []).append((stored[picture.digest], picture.alt))
    created = 0
    for shop_plan in plan.shops:
        with tenant_scope(shop_plan.tenant):
            if shop_plan.first_time:
                _apply_wholesale_settings(shop_plan.shop, shop_plan.demo)
            for demo in shop_plan.missing:
                product_type = shop_plan.product_type(demo)
                if product_type.licence is not None:
                    _ensure_licence(shop_plan, product_type)
                product = catalog.create_product(shop_plan.shop, _product_input(demo, shop_plan.categories))
                for position, (picture, alt) in enumerate(pictures.get(demo.sku, [])):
                    _attach_picture(product, picture, alt, position)
                catalog.publish_product(product)
                created += 1
                if progress:
                    progress(1)
    db.session.flush()
    return created


def _product_input(demo: DemoProduct, categories: dict[str, Category]) -> catalog.ProductInput:
    variants = [catalog.VariantInput(sku=v.sku, price=v.price, stock=v.stock, options=dict(v.options),
                                     compare_at_price=v.compare_at_price, weight_g=v.weight_g, tiers=list(v.tiers))
                for v in demo.variants]
    return catalog.ProductInput(category=categories[demo.category], title=demo.title, variants=variants,
                                description=demo.description, unit=demo.unit, moq=demo.moq,
                                attributes=dict(demo.attributes))


# -- shops: wholesale settings and licences -------------------------------------------------------------------

def _apply_wholesale_settings(shop: Shop, demo: DemoShop) -> None:
    if demo.mixed_batch_min_amount is not None:
        shop.mixed_batch_min_amount = demo.mixed_batch_min_amount
    if demo.mixed_batch_min_quantity is not None:
        shop.mixed_batch_min_quantity = demo.mixed_batch_min_quantity
    if demo.accepts_quotes:
        shop.accepts_quotes = True


def _ensure_licence(shop_plan: ShopPlan, product_type: packs.ProductType) -> None:
    """File the shop's licence and have the tenant's operator verify it, unless a valid one is on file."""
    shop, demo = shop_plan.shop, shop_plan.demo
    if catalog.missing_licence(shop, product_type) is None:
        return
    if demo.licence is None or demo.licence[0] != product_type.licence.kind:
        raise RuntimeError(f"demo shop {demo.slug} sells {product_type.id} without a {product_type.licence.kind}")
    kind, number = demo.licence
    licence = db.session.scalar(select(ShopLicence).where(ShopLicence.shop_id == shop.id, ShopLicence.kind == kind))
    if licence is None or licence.number != number or not licence.is_valid(date.today()):
        today = date.today()
        licence = catalog.record_licence(shop, kind, number, date(today.year + 3, today.month, min(today.day, 28)))
    catalog.verify_licence(licence, _verifier(shop_plan.tenant))


def _verifier(tenant: Tenant) -> User:
    """The tenant's operator (the demo has one per tenant), else a platform admin."""
    for role, tenant_id in ((Role.tenant_operator, tenant.id), (Role.platform_admin, None)):
        user = db.session.scalar(select(User).join(RoleGrant, RoleGrant.user_id == User.id)
                                 .where(RoleGrant.role == role, RoleGrant.tenant_id == tenant_id)
                                 .order_by(RoleGrant.id).limit(1))
        if user is not None:
            return user
    raise RuntimeError(f"nobody to verify the demo licences of {tenant.slug}: run load_demo first")


# -- pictures -------------------------------------------------------------------------------------------------

def _pictures(shop_plan: ShopPlan, size: int) -> list[Picture]:
    """Each missing product's main picture, and its label for the products that carry one."""
    badge = shop_plan.shop.name_zh.split("·")[0][:8]
    pictures = []
    for demo in shop_plan.missing:
        hue = shop_plan.demo.hue if demo.hue is None else demo.hue
        pictures.append(Picture(demo.sku, "card", (demo.sku, demo.shape, demo.short),
                                (("badge", badge), ("caption", demo.caption), ("hue", hue), ("size", size)),
                                demo.title))
        if demo.label:
            facts = _label_facts(demo, shop_plan.product_type(demo))
            pictures.append(Picture(demo.sku, "label", (demo.sku, demo.shape, demo.title, facts),
                                    (("hue", hue), ("size", size)), f"{demo.title} 标签"))
    return pictures


def _label_facts(demo: DemoProduct, product_type: packs.ProductType) -> tuple[tuple[str, str], ...]:
    """The product's attributes as its label prints them, (label, value with unit), in the type's order."""
    values, _problems = product_type.clean(dict(demo.attributes), title=demo.title)
    facts = []
    for attribute in product_type.attributes:
        if attribute.name not in values:
            continue
        value = values[attribute.name]
        if attribute.type == packs.AttributeType.boolean:
            text = "是" if value else "否"  # drawn into the picture: not translated
        else:
            text = attribute.display(value, "zh_CN").replace("\n", "；")
        facts.append((attribute.label("zh_CN"), text))
    return tuple(facts)


def _memo() -> dict[str, StoredImage]:
    return current_app.extensions.setdefault(_MEMO, {})


def _make_pictures(todo: list[Picture], workers: int | None,
                   progress: Callable[[int], None] | None) -> dict[str, StoredImage]:
    """Draw and store the pictures not made yet (threads); returns every remembered picture by recipe."""
    memo = _memo()
    if not todo:
        return memo
    app = current_app._get_current_object()

    def make(picture: Picture) -> tuple[str, StoredImage]:
        with app.app_context():
            stored = ingest_image(picture.draw())
            make_derivatives(stored.sha256)  # now, not queued: the demo must show pictures with no worker running
            return picture.digest, stored

    started = time.perf_counter()
    unique = list({picture.digest: picture for picture in todo}.values())
    # More threads than cores: besides encoding (which runs without the GIL) much of the time is the
    # storage syncing each new file to disk.
    with ThreadPoolExecutor(max_workers=workers or min(8, 2 * (os.cpu_count() or 1)),
                            thread_name_prefix="demo-pictures") as pool:
        for digest, stored in pool.map(make, unique):
            memo[digest] = stored
            if progress:
                progress(1)
    log.info("demo: %d product pictures made in %.1f s", len(unique), time.perf_counter() - started)
    return memo


def _attach_picture(product: Product, stored: StoredImage, alt_zh: str, position: int) -> ProductImage:
    """Give the product a picture that is stored already: what ``catalog.add_image`` does after storing."""
    image = ProductImage(product_id=product.id, sha256=stored.sha256, width=stored.width, height=stored.height,
                         alt_zh=alt_zh[:200], position=position)
    db.session.add(image)
    return image
