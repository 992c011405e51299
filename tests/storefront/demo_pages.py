"""Every kind of page a resident sees, fetched once from the demo city, for the checks that must hold on all of
them (size budget, no CDN, accessibility basics).

The demo is loaded into a site of its own (a fresh SQLite database in a temporary instance folder), because the
pages depend on one another: the cart is filled before the checkout, the order placed before its confirmation,
its tracking page and the account's orders. Loading it once keeps the checks to a few seconds; the tests using it
are marked ``no_transaction`` so the suite's per-test transaction never points the shared session elsewhere.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from marketplace.catalog.models import PriceTier, Product, Variant
from marketplace.delivery.models import Shipment
from marketplace.extensions import db
from marketplace.orders.models import OrderGroup
from marketplace.shops.models import Shop
from marketplace.tenancy.context import all_tenants, tenant_scope
from marketplace.trust.badges import issue_badge
from tests.demo.test_demo import DEMO_TENANTS
from tests.demo.test_order_journey import _hidden, _something_to_buy
from tests.fixtures.app import make_test_app, migrate_to_head
from tests.fixtures.web import RequestClient

TENANTS_PATH = Path(__file__).resolve().parents[2] / "tenants"
STREET, MARKET = "dehua-street", "nongzi-market"
RESIDENT = ("li.mingxuan@shangdu.example", "resident-demo-2026")
#: Shops the resident buys from: a cart across three shops, as residents fill it.
CART_SHOPS = ("xianguofang", "songming-tea", "taxia-books")


def market_floors() -> list[tuple[str, str]]:
    """(market slug, floor key such as ``A-1``) for every floor in the demo markets' manifests."""
    floors = []
    for slug, (_name, kind) in sorted(DEMO_TENANTS.items()):
        if kind != "market":
            continue
        manifest = tomllib.loads((TENANTS_PATH / slug / "tenant.toml").read_text(encoding="utf-8"))
        for building in manifest["layout"]["buildings"]:
            floors += [(slug, f"{building['code']}-{floor['level']}") for floor in building["floors"]]
    return floors


#: Page names: the tests are parametrised by them, ``build_demo_site`` visits each.
PAGE_NAMES = [
    "portal", "city search", "street home",
    *(f"market home {slug} floor {key}" for slug, key in market_floors()),
    "street shop", "market stall", "street category", "market category", "retail product", "wholesale product",
    "search with facets", "cart", "checkout", "order confirmation", "account orders", "portal signed in", "shop application", "login", "signup",
    "tracking", "badge verify",
]


@dataclass
class Page:
    name: str
    url: str
    status: int
    html: str
    #: Text only the page of this kind shows: proves the walk reached the page it meant to.
    shows: str


@dataclass
class DemoSite:
    app: object
    guest: RequestClient
    pages: dict[str, Page] = field(default_factory=dict, repr=False)
    _assets: dict[str, tuple[int, bytes]] = field(default_factory=dict, repr=False)

    def page(self, name: str) -> Page:
        """The page called ``name``, checked to be there and to be the kind of page it is named after."""
        page = self.pages[name]
        assert page.status == 200, f"{name}: GET {page.url} answered {page.status}"
        assert page.shows in page.html, f"{name}: {page.url} does not show {page.shows!r}"
        return page

    def new_client(self) -> RequestClient:
        """Another visitor, with cookies of its own (the walk's visitors keep theirs)."""
        return _client(self.app)

    def asset(self, url: str) -> tuple[int, bytes]:
        """(status, body) of a same-site stylesheet or script, fetched once."""
        if url not in self._assets:
            with self.guest.get(url) as response:
                self._assets[url] = (response.status_code, response.get_data())
        return self._assets[url]


class PageParts(HTMLParser):
    """What the checks need from a page: its stylesheets and scripts, every address a browser would fetch without
    a click, the landmarks and headings, the tab order's first stop, form controls and their labels, pictures."""

    FOCUSABLE = {"a", "button", "input", "select", "textarea", "summary", "iframe"}
    CONTROLS = {"input", "select", "textarea"}
    UNLABELLED_INPUTS = {"hidden", "submit", "button", "reset", "image"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.html_lang: str | None = None
        self.main_ids: list[str] = []  # the id of each <main>
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []
        self.fetched: list[str] = []  # every address loaded with the page: scripts, links, pictures, CSS url()
        self.tags: dict[str, int] = {}
        self.ids: list[str] = []
        self.first_focusable: tuple[str, dict] | None = None
        self.controls: list[tuple[str, dict, list[str] | None]] = []  # (tag, attributes, text of a wrapping label)
        self.label_targets: set[str] = set()
        self.images: list[dict] = []
        self._open_labels: list[list[str]] = []  # the text of each <label> open here, innermost last
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if "style" in attributes:
            self.fetched += css_urls(attributes["style"])
        if tag == "html":
            self.html_lang = attributes.get("lang")
        elif tag == "main":
            self.main_ids.append(attributes.get("id", ""))
        elif tag == "link":
            self.fetched.append(attributes.get("href", ""))
            if "stylesheet" in attributes.get("rel", "").lower().split():
                self.stylesheets.append(attributes.get("href", ""))
        elif tag == "script" and "src" in attributes:
            self.scripts.append(attributes["src"])
            self.fetched.append(attributes["src"])
        elif tag in ("img", "source"):
            if tag == "img":
                self.images.append(attributes)
            self.fetched += [attributes[name] for name in ("src",) if name in attributes]
            self.fetched += [part.split()[0] for part in attributes.get("srcset", "").split(",") if part.strip()]
        elif tag == "style":
            self._in_style = True
        elif tag == "label":
            self._open_labels.append([])
            if attributes.get("for"):
                self.label_targets.add(attributes["for"])
        input_type = attributes.get("type", "text").lower()
        if tag in self.CONTROLS and not (tag == "input" and input_type in self.UNLABELLED_INPUTS):
            self.controls.append((tag, attributes, self._open_labels[-1] if self._open_labels else None))
        if self.first_focusable is None and self._focusable(tag, attributes):
            self.first_focusable = (tag, attributes)

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        elif tag == "label" and self._open_labels:
            self._open_labels.pop()

    def handle_data(self, data):
        if self._in_style:
            self.fetched += css_urls(data)
        for label in self._open_labels:
            label.append(data)

    def _focusable(self, tag: str, attributes: dict) -> bool:
        if "disabled" in attributes or attributes.get("tabindex", "").startswith("-"):
            return False
        if "tabindex" in attributes:
            return True
        if tag == "a":
            return "href" in attributes
        if tag == "input":
            return attributes.get("type", "text").lower() != "hidden"
        return tag in self.FOCUSABLE

    def unlabelled_controls(self) -> list[str]:
        """Controls with no accessible name from a label (explicit or wrapping) or from ARIA, as short tags."""
        missing = []
        for tag, attributes, wrapping_label in self.controls:
            if "".join(wrapping_label or []).strip() or attributes.get("aria-label", "").strip():
                continue
            named_by = attributes.get("aria-labelledby", "").split()
            if named_by and all(ref in self.ids for ref in named_by):
                continue
            if attributes.get("id") and attributes["id"] in self.label_targets:
                continue
            shown = " ".join(f'{name}="{attributes[name]}"' for name in ("type", "name", "id") if name in attributes)
            missing.append(f"<{tag} {shown}>")
        return missing


_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.IGNORECASE)


def css_urls(css: str) -> list[str]:
    """The addresses in ``url(…)`` and ``@import "…"`` of a stylesheet or style attribute."""
    return [match.group(2) or match.group(4) or "" for match in _CSS_URL.finditer(css)]


def parse(html: str) -> PageParts:
    parts = PageParts()
    parts.feed(html)
    parts.close()
    return parts


def is_outside(url: str) -> bool:
    """An address another site would serve: with a host (``https://cdn…``, ``//cdn…``) or a scheme other than
    ``data:``. Same-site paths and inline ``data:`` pictures are fine."""
    parts = urlsplit(url.strip())
    return bool(parts.netloc) or parts.scheme not in ("", "data")


def _client(app) -> RequestClient:
    app.test_client_class = RequestClient
    return app.test_client()


def build_demo_site(instance: Path) -> DemoSite:
    """Load the demo (catalogue and small pictures) into a new site and walk every page kind in ``PAGE_NAMES``."""
    app = make_test_app(instance, DEMO_CATALOG=True, DEMO_IMAGES=True, DEMO_IMAGE_SIZE=64)
    migrate_to_head(app)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        retail = _something_to_buy(CART_SHOPS[0]).product_id
        wholesale = _tiered_product(MARKET)
        serial = _badge_serial(MARKET)
    site = DemoSite(app=app, guest=_client(app))

    def visit(name: str, url: str, shows: str, client: RequestClient | None = None) -> None:
        response = (client or site.guest).get(url, follow_redirects=True)
        site.pages[name] = Page(name, url, response.status_code, response.get_data(as_text=True), shows)

    visit("portal", "/", "德化步行街")
    visit("city search", "/search?q=苹果", "全城搜索")
    visit("street home", f"/t/{STREET}/", "德化步行街")
    for slug, key in market_floors():
        visit(f"market home {slug} floor {key}", f"/t/{slug}/?floor={key}",
              f'href="/t/{slug}/?floor={key}#plan" aria-current="page"')
    visit("street shop", f"/t/{STREET}/s/{CART_SHOPS[0]}/", 'class="product-grid')
    visit("market stall", f"/t/{MARKET}/s/suifeng-fertiliser/", 'class="shop-floor-where"')
    visit("street category", f"/t/{STREET}/c/fruit", 'class="product-grid')
    visit("market category", f"/t/{MARKET}/c/fertiliser", 'class="product-grid')
    visit("retail product", f"/t/{STREET}/p/{retail}", 'class="price')
    visit("wholesale product", f"/t/{MARKET}/p/{wholesale}", '<table class="tiers')
    visit("search with facets", f"/t/{MARKET}/search?q=复合肥", 'class="facet-group')
    visit("login", "/account/login", 'name="password"')
    visit("signup", "/account/signup", 'name="password"')
    visit("badge verify", f"/verify/{serial}", serial)

    resident = _client(app)
    resident.login(*RESIDENT)
    with app.app_context():
        items = [_something_to_buy(slug) for slug in CART_SHOPS]
    for item in items:
        response = resident.submit(f"/t/{STREET}/cart/add", {"variant_id": str(item.variant_id), "quantity": "1"},
                                   page_url=f"/t/{STREET}/p/{item.product_id}")
        assert response.status_code == 303, f"adding {item.title} to the cart answered {response.status_code}"
    visit("cart", f"/t/{STREET}/cart", 'class="cart-line', resident)
    visit("checkout", f"/t/{STREET}/checkout", 'name="idempotency_key"', resident)
    order_page = _place_order(resident, site.pages["checkout"].html)
    visit("order confirmation", order_page, "下单成功", resident)
    with app.app_context(), all_tenants():
        group = db.session.scalar(select(OrderGroup).order_by(OrderGroup.id.desc()))
        token = db.session.scalar(select(Shipment.tracking_token).where(Shipment.order_id == group.orders[0].id))
        number = group.number
    visit("account orders", "/account/orders", number, resident)
    visit("portal signed in", "/", 'class="my-recent', resident)  # her waiting pickup and recent order
    visit("shop application", f"/t/{STREET}/join", 'name="shop_name_zh"', resident)
    visit("tracking", f"/t/{STREET}/track/{token}", "配送进度")
    unmatched = set(site.pages) ^ set(PAGE_NAMES)
    assert not unmatched, f"walked but not in PAGE_NAMES, or the other way round: {unmatched}"
    return site


def _place_order(resident: RequestClient, review: str) -> str:
    """Submit the checkout with each shop's first delivery option, paying at the stall: the order page's address."""
    form = {"idempotency_key": _hidden(review, "idempotency_key"), "fingerprint": _hidden(review, "fingerprint"),
            "payment": "offline:pay_at_stall", "invoice": "", "confirm_exclusions": "y"}
    for shop_id in dict.fromkeys(re.findall(r'name="delivery_(\d+)"', review)):
        form[f"delivery_{shop_id}"] = re.search(rf'name="delivery_{shop_id}" value="([^"]+)"', review).group(1)
    response = resident.submit(f"/t/{STREET}/checkout", form, page_url=f"/t/{STREET}/checkout")
    assert response.status_code == 303, f"placing the order answered {response.status_code}"
    return response.headers["Location"]


def _tiered_product(tenant_slug: str) -> int:
    """A published product of the tenant with wholesale tier prices (the page shows the tier table)."""
    with all_tenants():
        return db.session.scalar(
            select(Product.id).join(Variant, Variant.product_id == Product.id)
            .join(PriceTier, PriceTier.variant_id == Variant.id).join(Shop, Product.shop_id == Shop.id)
            .where(Product.status == "active", Shop.tenant.has(slug=tenant_slug)).order_by(Product.id).limit(1))


def _badge_serial(tenant_slug: str) -> str:
    """A badge issued to the tenant's first shop (its demo merchant is approved), as an operator would."""
    with all_tenants():
        shop = db.session.scalar(select(Shop).where(Shop.tenant.has(slug=tenant_slug)).order_by(Shop.id).limit(1))
    with tenant_scope(shop.tenant):
        serial = issue_badge(shop, actor_id=None).serial
        db.session.commit()
    return serial
