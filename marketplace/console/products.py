"""Merchant console: a shop's products — list, create and edit, variants, tiers, images, stock, publishing.

Every page loads the shop of the current tenant by slug (404 when this tenant has none), checks the user's
right on it, then loads the product among that shop's own (404 for another shop's or tenant's product).

Who may: managing products is the daily work of a shop, which owners share with their staff, so these
pages ask for ``Permission.view_shop`` (held by both). The owner-only ``edit_shop`` stays what it is: the
right to change the shop's public profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import SelectChoice

from marketplace.accounts.authz import Permission, require
from marketplace.catalog import packs
from marketplace.catalog import services as catalog
from marketplace.catalog.models import Category, Product, ProductStatus
from marketplace.console.product_forms import (
    CategoryChoiceForm,
    ImageOrderForm,
    ImageUploadForm,
    ProductFilterForm,
    StockForm,
    UnpublishForm,
    product_form,
)
from marketplace.extensions import db
from marketplace.media.images import ImageRejected
from marketplace.shops import services as shops
from marketplace.tenancy.context import current_tenant

blueprint = Blueprint("merchant_products", __name__, url_prefix="/merchant/<slug:tenant_slug>/<slug:shop_slug>/products")

#: Owners and staff alike (see the module docstring).
MANAGE_PRODUCTS = Permission.view_shop
#: The product type of a category that names none.
DEFAULT_PRODUCT_TYPE = "general.goods"


# -- loading --------------------------------------------------------------------------------------------------

def _shop(shop_slug: str):
    shop = shops.shop_by_slug(shop_slug)
    if shop is None:
        abort(404)
    require(MANAGE_PRODUCTS, shop)
    return shop


def _product(shop, product_id: int) -> Product:
    product = catalog.product_of_shop(shop, product_id)
    if product is None:
        abort(404)
    return product


def _categories() -> list[Category]:
    """The current tenant's categories (the guard adds the tenant), in tree order: parents before children."""
    rows = list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))
    children: dict[int | None, list[Category]] = {}
    for category in rows:
        children.setdefault(category.parent_id, []).append(category)
    ordered: list[Category] = []

    def walk(parent_id):
        for category in children.get(parent_id, []):
            ordered.append(category)
            walk(category.id)

    walk(None)
    known = {category.id for category in rows}
    ordered += [c for c in rows if c not in ordered and c.parent_id not in known]  # parent out of reach
    return ordered


def _category_label(category: Category, by_id: dict[int, Category]) -> str:
    """"Fertiliser / Compound (肥料)": the path from the root, and the product type the category uses."""
    names, seen, node = [], set(), category
    while node is not None and node.id not in seen:
        seen.add(node.id)
        names.append(node.name())
        node = by_id.get(node.parent_id)
    product_type = packs.product_type(category.product_type or DEFAULT_PRODUCT_TYPE)
    type_label = product_type.label() if product_type else _("未安装的商品类型")
    return _("%(path)s（%(type)s）", path=" / ".join(reversed(names)), type=type_label)


def _category_choices(categories: list[Category]) -> list[SelectChoice]:
    by_id = {category.id: category for category in categories}
    return [SelectChoice(str(category.id), _category_label(category, by_id)) for category in categories]


def _product_type(category: Category) -> packs.ProductType | None:
    return packs.product_type(category.product_type or DEFAULT_PRODUCT_TYPE)


def _editable_type(category: Category) -> packs.ProductType:
    """The category's product type; when its pack is no longer installed, a stand-in with no attributes, so
    the page still opens (stock, images, unpublishing) and saving is refused by the catalog with the reason."""
    return _product_type(category) or packs.ProductType(
        id=category.product_type, label_zh=category.product_type, label_en=category.product_type, attributes=())


def _currency() -> str:
    return current_tenant.currency or "CNY"


def _back_to(shop, product, anchor: str = ""):
    return redirect(url_for(".edit", shop_slug=shop.slug, product_id=product.id) + anchor, 303)


# -- list -----------------------------------------------------------------------------------------------------

@dataclass
class ListRow:
    product: Product
    thumbnail: str | None  # the first image's SHA-256
    min_price: int | None
    max_price: int | None
    stock: int
    low_stock: bool


def _list_row(product: Product) -> ListRow:
    prices = [variant.price for variant in product.variants]
    return ListRow(
        product=product,
        thumbnail=product.images[0].sha256 if product.images else None,
        min_price=min(prices, default=None),
        max_price=max(prices, default=None),
        stock=sum(variant.stock for variant in product.variants),
        low_stock=any(variant.stock <= catalog.LOW_STOCK for variant in product.variants),
    )


@blueprint.route("/")
@login_required
def index(shop_slug: str):
    shop = _shop(shop_slug)
    filters = ProductFilterForm(request.args)
    filters.category.choices = [SelectChoice("", _("全部分类")), *_category_choices(_categories())]
    status = 200
    if filters.validate():
        products = catalog.shop_products(shop, status=filters.status.data or None,
                                         category_id=int(filters.category.data) if filters.category.data else None,
                                         low_stock=filters.low_stock.data)
    else:
        products, status = [], 400
    return render_template("console/products/index.html", shop=shop, filters=filters,
                           rows=[_list_row(product) for product in products], low_stock=catalog.LOW_STOCK,
                           statuses=ProductStatus), status


# -- create and edit ------------------------------------------------------------------------------------------

@blueprint.route("/new", methods=["GET", "POST"])
@login_required
def create(shop_slug: str):
    shop = _shop(shop_slug)
    categories = _categories()
    chosen = request.args.get("category", "")
    if not chosen:
        return _choose_category(shop, categories)
    category = next((c for c in categories if str(c.id) == chosen), None)
    if category is None:
        abort(404)
    product_type = _product_type(category)
    if product_type is None:
        return _choose_category(shop, categories, chosen, _("分类“%(category)s”使用的商品类型 %(type)s 未安装，请联系运营方。",
                                                           category=category.name(), type=category.product_type))
    form = product_form(product_type, currency=_currency())
    if form.validate_on_submit():
        try:
            product = catalog.create_product(shop, form.product_input(category))
        except IntegrityError:  # another request took the SKU since the form was checked
            db.session.rollback()
            form.show_problems({"variants": _("SKU 已被本店其他商品使用，请换一个。")})
        except catalog.CatalogError as error:
            db.session.rollback()
            form.show_problems(error.problems)
        else:
            db.session.commit()
            flash(_("商品已保存为草稿。补全信息后即可发布。"), "success")
            return _back_to(shop, product)
    return render_template("console/products/new.html", shop=shop, form=form, category=category,
                           product_type=product_type), 400 if request.method == "POST" else 200


def _choose_category(shop, categories, chosen: str = "", error: str | None = None):
    form = CategoryChoiceForm(data={"category": chosen})
    form.category.choices = _category_choices(categories)
    if error:
        form.category.errors = [error]
    return render_template("console/products/choose_category.html", shop=shop, form=form), 400 if error else 200


@blueprint.route("/<int:product_id>/edit", methods=["GET", "POST"])
@login_required
def edit(shop_slug: str, product_id: int):
    shop = _shop(shop_slug)
    product = _product(shop, product_id)
    product_type = _editable_type(product.category)
    form = product_form(product_type, currency=_currency(), product=product)
    if form.validate_on_submit():
        try:
            catalog.update_product(product, form.product_input(product.category))
        except IntegrityError:  # another request took the SKU since the form was checked
            db.session.rollback()
            form.show_problems({"variants": _("SKU 已被本店其他商品使用，请换一个。")})
        except catalog.CatalogError as error:
            db.session.rollback()
            form.show_problems(error.problems)
        else:
            db.session.commit()
            flash(_("商品已保存。"), "success")
            return _back_to(shop, product)
    return _edit_page(shop, product, form=form, status=400 if request.method == "POST" else 200)


def _edit_page(shop, product: Product, *, form=None, stock_form: StockForm | None = None,
               image_form: ImageUploadForm | None = None, image_error: str | None = None, status: int = 200):
    """The edit page with all its parts; a refused part's form comes back with its errors."""
    if form is None:
        form = product_form(_editable_type(product.category), currency=_currency(), product=product, fresh=True)
    images = sorted(product.images, key=lambda image: image.position)
    ids = [image.id for image in images]
    moves = []
    for index, image in enumerate(images):
        up = down = None
        if index > 0:
            up = ids[:index - 1] + [ids[index], ids[index - 1]] + ids[index + 1:]
        if index < len(ids) - 1:
            down = ids[:index] + [ids[index + 1], ids[index]] + ids[index + 2:]
        moves.append((image, _join(up), _join(down)))
    return render_template(
        "console/products/edit.html", shop=shop, product=product, form=form, product_type=form.product_type,
        stock_form=stock_form, image_form=image_form or ImageUploadForm(formdata=None), image_error=image_error,
        images=moves, statuses=ProductStatus, low_stock=catalog.LOW_STOCK,
    ), status


def _join(ids: list[int] | None) -> str | None:
    return ",".join(map(str, ids)) if ids else None


# -- publishing -----------------------------------------------------------------------------------------------

@blueprint.route("/<int:product_id>/publish", methods=["POST"])
@login_required
def publish(shop_slug: str, product_id: int):
    shop = _shop(shop_slug)
    product = _product(shop, product_id)
    try:  # the form is only a button; CSRF is checked for every POST before the view runs
        catalog.publish_product(product)
    except catalog.CatalogError as error:
        db.session.rollback()
        flash(_("商品未能发布，请先处理以下问题："), "error")
        for message in error.problems.values():
            flash(message, "error")
    else:
        db.session.commit()
        flash(_("商品已发布，顾客现在可以看到它。"), "success")
    return _back_to(shop, product)


@blueprint.route("/<int:product_id>/unpublish", methods=["POST"])
@login_required
def unpublish(shop_slug: str, product_id: int):
    shop = _shop(shop_slug)
    product = _product(shop, product_id)
    form = UnpublishForm()
    if not form.validate_on_submit():
        abort(400)
    archive = form.action.data == "archive"
    catalog.unpublish_product(product, archive=archive)
    db.session.commit()
    flash(_("商品已下架归档。") if archive else _("商品已撤回为草稿，顾客看不到它了。"), "success")
    return _back_to(shop, product)


# -- stock ----------------------------------------------------------------------------------------------------

@blueprint.route("/<int:product_id>/stock", methods=["POST"])
@login_required
def stock(shop_slug: str, product_id: int):
    shop = _shop(shop_slug)
    product = _product(shop, product_id)
    form = StockForm()
    variant = next((v for v in product.variants if str(v.id) == (form.variant_id.data or "")), None)
    if variant is None:
        abort(404)
    if form.validate_on_submit():
        try:
            now = catalog.adjust_stock(variant, form.delta.parsed)
        except catalog.CatalogError as error:
            db.session.rollback()
            form.delta.errors = [*form.delta.errors, str(error)]
        else:
            db.session.commit()
            flash(_("%(sku)s 的库存已调整为 %(n)d。", sku=variant.sku, n=now), "success")
            return _back_to(shop, product, "#stock")
    return _edit_page(shop, product, stock_form=form, status=400)


# -- images ---------------------------------------------------------------------------------------------------

@blueprint.route("/<int:product_id>/images", methods=["POST"])
@login_required
def upload_images(shop_slug: str, product_id: int):
    shop = _shop(shop_slug)
    product = _product(shop, product_id)
    form = ImageUploadForm()
    error = None
    if form.validate_on_submit():
        files = [upload for upload in form.images.data or [] if upload and upload.filename]
        if not files:
            error = _("请选择要上传的图片。")
        for upload in files:
            try:
                catalog.add_image(product, upload.read(), alt_zh=(form.alt.data or "").strip())
            except ImageRejected as rejected:
                error = _("%(file)s：%(reason)s", file=upload.filename, reason=rejected.message)
            except catalog.CatalogError as refused:
                error = str(refused)
            if error:  # all or nothing: the files before this one are not kept either
                db.session.rollback()
                break
        if error is None:
            db.session.commit()
            flash(_("已上传 %(n)d 张图片。", n=len(files)), "success")
            return _back_to(shop, product, "#product-images")
    return _edit_page(shop, product, image_form=form, image_error=error, status=400)


@blueprint.route("/<int:product_id>/images/order", methods=["POST"])
@login_required
def order_images(shop_slug: str, product_id: int):
    shop = _shop(shop_slug)
    product = _product(shop, product_id)
    form = ImageOrderForm()
    error = None
    if not form.validate_on_submit():
        error = next(iter(form.order.errors), _("图片顺序无效，请刷新页面后重试。"))
    else:
        try:
            catalog.reorder_images(product, form.order.parsed)
        except catalog.CatalogError as refused:
            db.session.rollback()
            error = str(refused)
    if error:
        return _edit_page(shop, product, image_error=error, status=400)
    db.session.commit()
    flash(_("图片顺序已保存。"), "success")
    return _back_to(shop, product, "#product-images")


def _image(product: Product, image_id: int):
    """One of the product's images; another product's image is not found."""
    image = next((image for image in product.images if image.id == image_id), None)
    if image is None:
        abort(404)
    return image


@blueprint.route("/<int:product_id>/images/<int:image_id>/alt", methods=["POST"])
@login_required
def image_alt(shop_slug: str, product_id: int, image_id: int):
    """The text screen readers and slow connections show for a picture, in Chinese and English."""
    shop = _shop(shop_slug)
    product = _product(shop, product_id)
    image = _image(product, image_id)
    try:
        catalog.set_image_alt(image, request.form.get("alt_zh", ""), request.form.get("alt_en", ""))
    except catalog.CatalogError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("图片说明已保存。"), "success")
    return _back_to(shop, product, "#product-images")


@blueprint.route("/<int:product_id>/images/<int:image_id>/delete", methods=["POST"])
@login_required
def delete_image(shop_slug: str, product_id: int, image_id: int):
    shop = _shop(shop_slug)
    product = _product(shop, product_id)
    try:
        catalog.remove_image(product, _image(product, image_id).id)
    except catalog.CatalogError:  # deleted meanwhile, by someone else's click
        abort(404)
    db.session.commit()
    flash(_("图片已删除。"), "success")
    return _back_to(shop, product, "#product-images")
