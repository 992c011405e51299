"""Forms of the merchant console's product pages.

The product form is not fixed: its attribute fields come from the product type of the chosen category
(``product_form_class``), and the variants editor has one column per option the type names (size, colour,
specification…). The form only turns what people typed into values — yuan into fen, "10:10.50|100:9.80"
into tiers — and leaves the catalog rules (required label fields, SKU format, nutrient sums, tier order) to
``catalog.services``, whose problems ``ProductForm.show_problems`` puts next to the fields they concern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, Length, ValidationError

from marketplace.catalog.models import UNITS, ProductStatus
from marketplace.catalog.packs import Attribute, AttributeType, ProductType
from marketplace.catalog.services import ProductInput, VariantInput
from marketplace.core.i18n import localised, to_major_units
from marketplace.core.money import AmountInvalid, parse_amount
from marketplace.core.text import plain_text

#: Blank rows offered in the variants editor below the existing ones.
BLANK_ROWS = 3
#: More rows than any real product has; posted rows beyond this are not read.
MAX_VARIANT_ROWS = 100
#: The largest whole number (fen, grams, pieces) the forms accept: what every database's INTEGER holds.
MAX_WHOLE = 2_000_000_000

ATTRIBUTE_PREFIX = "attr_"
OPTION_PREFIX = "option_"
#: Fields of a variant row, in the order the services name them in problems ("variants.0.price").
ROW_FIELDS = ("sku", "price", "compare_at_price", "stock", "weight_g", "barcode", "tiers")


class InputInvalid(ValueError):
    """Something typed that cannot be read; the message is for the merchant."""


def parse_whole(text: str, *, minimum: int | None = None, signed: bool = False) -> int:
    """A whole number typed by a person ("20", "+20", "-3" where ``signed``)."""
    raw = (text or "").strip().replace("＋", "+").replace("－", "-").replace("−", "-")
    if not re.fullmatch(r"[+-]?\d{1,12}" if signed else r"\d{1,12}", raw):
        raise InputInvalid(_("请填写整数。") if not signed else _("请填写带正负号的整数，例如 +20 或 -3。"))
    number = int(raw)
    if abs(number) > MAX_WHOLE:
        raise InputInvalid(_("数值太大。"))
    if minimum is not None and number < minimum:
        raise InputInvalid(_("不能小于 %(n)d。", n=minimum))
    return number


def parse_money(text: str, currency: str) -> int:
    """Yuan typed by a person ("12.50") as fen, within what the database can hold."""
    try:
        amount = parse_amount(text, currency)
    except AmountInvalid:
        raise InputInvalid(_("请填写有效的金额，例如 12.50。")) from None
    if amount > MAX_WHOLE:
        raise InputInvalid(_("金额太大。"))
    return amount


def parse_tiers(text: str, currency: str) -> list[tuple[int, int]]:
    """Wholesale tiers written as "10:10.50|100:9.80" → [(10, 1050), (100, 980)].

    Only the notation is checked here; whether the tiers make sense (quantities rising from 2, prices
    falling) is the catalog's rule.
    """
    tiers = []
    for part in re.split(r"[|｜]", (text or "").strip()):
        part = part.strip()
        if not part:
            continue
        quantity, colon, price = part.replace("：", ":").partition(":")
        try:
            if not colon:
                raise InputInvalid("")
            tiers.append((parse_whole(quantity), parse_money(price, currency)))
        except InputInvalid:
            raise InputInvalid(_("阶梯价的写法应为“起订数量:单价”，多档用 | 隔开，例如 10:10.50|100:9.80。")) from None
    return tiers


def format_tiers(tiers, currency: str) -> str:
    return "|".join(f"{tier.min_quantity}:{to_major_units(tier.unit_price, currency)}" for tier in tiers)


def _yuan(amount: int | None, currency: str) -> str:
    return "" if amount is None else str(to_major_units(amount, currency))


# -- the product form -----------------------------------------------------------------------------------------

class VariantRowForm(Form):
    """One row of the variants editor. A row whose SKU is blank is an unused row and is not read."""

    #: The variant this row was drawn from (edit only): its stock is changed by adjustment, not by this form.
    variant_id = HiddenField()
    sku = StringField(_l("SKU"), render_kw={"autocomplete": "off"})
    price = StringField(_l("售价（元）"), render_kw={"inputmode": "decimal"})
    compare_at_price = StringField(_l("原价（元）"), render_kw={"inputmode": "decimal"})
    stock = StringField(_l("库存"), render_kw={"inputmode": "numeric"})
    weight_g = StringField(_l("重量（克）"), render_kw={"inputmode": "numeric"})
    barcode = StringField(_l("条码"), render_kw={"inputmode": "numeric"})
    tiers = StringField(_l("阶梯价"), render_kw={"placeholder": "10:10.50|100:9.80"})

    #: The row read into a VariantInput by ProductForm.validate; None for an unused or wrong row.
    parsed: VariantInput | None = None


class ProductForm(FlaskForm):
    """Title, description, unit and minimum order; attribute fields and option columns are added per type."""

    title = StringField(_l("商品名称"), validators=[plain_text])
    description = TextAreaField(_l("商品描述"), validators=[Length(max=20000, message=_l("商品描述最多 20000 个字。"))])
    unit = SelectField(_l("计量单位"), choices=[SelectChoice(value, label) for value, label in UNITS.items()], validate_choice=False)
    moq = StringField(_l("起订量"), default="1", render_kw={"inputmode": "numeric"})

    #: Set by product_form_class.
    product_type: ProductType
    variants: FieldList

    def __init__(self, *args, currency: str = "CNY", locked_stock: dict[int, int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        #: Existing variants' stock by variant id: shown, never overwritten from the form (orders take stock
        #: meanwhile; a stale number sent back would undo them). Changed through the stock adjustment instead.
        self.locked_stock = locked_stock or {}
        #: Problems about the variants as a whole ("至少需要一个规格").
        self.variant_errors: list[str] = []
        self._rows_sent: list[VariantRowForm] = []

    # -- reading -----------------------------------------------------------------------------------------

    def attribute_fields(self) -> Iterator[tuple[Attribute, Field]]:
        for attribute in self.product_type.attributes:
            yield attribute, self[ATTRIBUTE_PREFIX + attribute.name]

    def option_columns(self) -> list[tuple[str, str]]:
        """(field name in a row, column heading) for each option of the product type."""
        labels = self.product_type.option_labels
        return [(OPTION_PREFIX + name, localised(*labels.get(name, (name, name)))) for name in self.product_type.options]

    def rows(self) -> list[VariantRowForm]:
        return [entry.form for entry in self.variants.entries]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        moq = self.moq
        try:
            moq.parsed = parse_whole(moq.data, minimum=1) if (moq.data or "").strip() else 1
        except InputInvalid as error:
            moq.errors.append(str(error))
            valid = False
        for row in self.rows():
            row.parsed = None
            if (row.sku.data or "").strip():
                row.parsed = self._read_row(row)
                valid = valid and row.parsed is not None
        return valid

    def _read_row(self, row: VariantRowForm) -> VariantInput | None:
        values: dict = {}
        ok = True

        def read(field: Field, parse, default=None):
            nonlocal ok
            if not (field.data or "").strip():
                return default
            try:
                return parse(field.data)
            except InputInvalid as error:
                field.errors.append(str(error))
                ok = False
                return None

        def money(text):
            return parse_money(text, self.currency)

        values["price"] = read(row.price, money)
        if values["price"] is None and not row.price.errors:
            row.price.errors.append(_("请填写售价。"))
            ok = False
        values["compare_at_price"] = read(row.compare_at_price, money)
        variant_id = row.variant_id.data
        if variant_id and variant_id.isdigit() and int(variant_id) in self.locked_stock:
            values["stock"] = self.locked_stock[int(variant_id)]
        else:
            values["stock"] = read(row.stock, parse_whole, 0)
        values["weight_g"] = read(row.weight_g, parse_whole)
        values["tiers"] = read(row.tiers, lambda text: parse_tiers(text, self.currency), [])
        for name, _label in self.option_columns():
            if len(row[name].data or "") > 100:
                row[name].errors.append(_("最多 100 个字。"))
                ok = False
        if not ok:
            return None
        options = {name[len(OPTION_PREFIX):]: (row[name].data or "").strip() for name, _label in self.option_columns()}
        return VariantInput(sku=row.sku.data.strip(), options=options, barcode=(row.barcode.data or "").strip(),
                            **values)

    def product_input(self, category) -> ProductInput:
        """What a validated form asks the catalog to save."""
        self._rows_sent = [row for row in self.rows() if row.parsed is not None]
        attributes = {}
        for attribute, field in self.attribute_fields():
            if attribute.type == AttributeType.boolean:
                attributes[attribute.name] = bool(field.data)
            else:
                attributes[attribute.name] = (field.data or "").strip()
        return ProductInput(category=category, title=self.title.data or "", description=self.description.data or "",
                            unit=self.unit.data, moq=self.moq.parsed, attributes=attributes,
                            variants=[row.parsed for row in self._rows_sent])

    # -- the catalog's refusals ----------------------------------------------------------------------------

    def show_problems(self, problems: dict[str, str]) -> None:
        """Put each of a CatalogError's problems next to its field; the rest above the form."""
        for key, message in problems.items():
            if key == "variants":
                self.variant_errors.append(message)
                continue
            field = self._field_for(key)
            if field is None:
                self.form_errors.append(message)
            else:
                field.errors = [*field.errors, message]

    def _field_for(self, key: str) -> Field | None:
        if key in ("title", "description", "unit", "moq"):
            return self[key]
        if key.startswith("attr."):
            return self._fields.get(ATTRIBUTE_PREFIX + key[len("attr."):])
        match = re.fullmatch(r"variants\.(\d+)\.(\w+)", key)
        if match and int(match[1]) < len(self._rows_sent):
            row = self._rows_sent[int(match[1])]
            return row._fields.get(match[2])
        return None


def _attribute_field(attribute: Attribute) -> Field:
    label = attribute.label()
    description = localised(attribute.help_zh, attribute.help_en)
    match attribute.type:
        case AttributeType.enum:
            choices = [SelectChoice("", _("— 请选择 —"))] + [SelectChoice(c.value, c.label()) for c in attribute.choices]
            # The pack refuses an unknown value with its own message; WTForms' would not name the field.
            return SelectField(label, choices=choices, validate_choice=False, description=description)
        case AttributeType.boolean:
            return BooleanField(label, description=description)
        case AttributeType.date:
            return StringField(label, description=description, render_kw={"type": "date"})
        case AttributeType.integer:
            return StringField(label, description=description, render_kw={"inputmode": "numeric"})
        case AttributeType.decimal:
            return StringField(label, description=description, render_kw={"inputmode": "decimal"})
        case AttributeType.identifier:
            return StringField(label, description=description, validators=[plain_text],
                               render_kw={"placeholder": attribute.example} if attribute.example else None)
    return StringField(label, description=description, validators=[plain_text])


def product_form_class(product_type: ProductType, rows: int) -> type[ProductForm]:
    """A ProductForm for one product type, with ``rows`` rows in the variants editor at least.

    Built per request: labels are in the request's language, and a pack installed later needs no restart
    of anything here.
    """
    row_fields = {
        OPTION_PREFIX + name: StringField(localised(*product_type.option_labels.get(name, (name, name))))
        for name in product_type.options
    }
    row_class = type("VariantRow", (VariantRowForm,), row_fields)
    fields: dict = {ATTRIBUTE_PREFIX + a.name: _attribute_field(a) for a in product_type.attributes}
    fields["variants"] = FieldList(FormField(row_class), min_entries=min(rows, MAX_VARIANT_ROWS),
                                   max_entries=MAX_VARIANT_ROWS)
    fields["product_type"] = product_type
    return type("ProductTypeForm", (ProductForm,), fields)


def product_form(product_type: ProductType, *, currency: str, product=None, fresh: bool = False) -> ProductForm:
    """The form for a new product of this type, or for editing ``product``.

    On a POST the form reads what was sent; ``fresh`` draws it from the product alone (for a page that
    answers another form's POST, such as a refused stock adjustment).
    """
    existing = list(product.variants) if product is not None else []
    form_class = product_form_class(product_type, len(existing) + BLANK_ROWS)
    locked = {variant.id: variant.stock for variant in existing}
    if product is None:
        return form_class(currency=currency, unit="piece")
    data = {"title": product.title, "description": product.description, "unit": product.unit,
            "moq": str(product.moq), "variants": [_row_data(v, currency) for v in existing]}
    for attribute in product_type.attributes:
        value = (product.attributes or {}).get(attribute.name)
        if attribute.type == AttributeType.boolean:
            data[ATTRIBUTE_PREFIX + attribute.name] = bool(value)
        else:
            data[ATTRIBUTE_PREFIX + attribute.name] = "" if value is None else str(value)
    if fresh:
        return form_class(formdata=None, currency=currency, locked_stock=locked, data=data)
    return form_class(currency=currency, locked_stock=locked, data=data)


def _row_data(variant, currency: str) -> dict:
    row = {"variant_id": str(variant.id), "sku": variant.sku, "price": _yuan(variant.price, currency),
           "compare_at_price": _yuan(variant.compare_at_price, currency), "stock": str(variant.stock),
           "weight_g": "" if variant.weight_g is None else str(variant.weight_g), "barcode": variant.barcode,
           "tiers": format_tiers(variant.tiers, currency)}
    row.update({OPTION_PREFIX + name: value for name, value in (variant.options or {}).items()})
    return row


# -- the smaller forms ----------------------------------------------------------------------------------------

class ProductFilterForm(Form):
    """The list's filters, read from the query string (a GET form: nothing to protect with CSRF)."""

    status = SelectField(_l("状态"), choices=[SelectChoice("", _l("全部状态")), *(SelectChoice(v, label) for v, label in ProductStatus.__labels__.items())], default="",
                         validate_choice=False,
                         validators=[AnyOf(["", *ProductStatus.values()], message=_l("请选择有效的状态。"))])
    category = SelectField(_l("分类"), default="", validate_choice=False)
    low_stock = BooleanField(_l("只看库存紧张"))

    def validate_category(self, field) -> None:
        if field.data and field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("请选择有效的分类。"))


class CategoryChoiceForm(Form):
    """Step one of a new product: which category (and so which product type) it belongs to."""

    category = SelectField(_l("分类"), validate_choice=False)


class UnpublishForm(FlaskForm):
    #: "draft" takes the product back to the drafts; "archive" takes it off sale for good.
    action = HiddenField(validators=[AnyOf(["draft", "archive"])])


class StockForm(FlaskForm):
    variant_id = HiddenField()
    delta = StringField(_l("增减数量"), render_kw={"placeholder": "+20 / -3", "inputmode": "numeric"})

    def validate_delta(self, field) -> None:
        try:
            field.parsed = parse_whole(field.data, signed=True)
        except InputInvalid as error:
            raise ValidationError(str(error)) from None
        if field.parsed == 0:
            raise ValidationError(_("增减数量不能为 0。"))


class ImageUploadForm(FlaskForm):
    images = MultipleFileField(_l("选择图片（JPEG、PNG 或 WEBP，可多选）"), render_kw={"accept": "image/jpeg,image/png,image/webp"})
    alt = StringField(_l("图片说明（供读屏软件朗读，选填）"), validators=[Length(max=200, message=_l("最多 200 个字。")),
                                                               plain_text])


class ImageOrderForm(FlaskForm):
    #: Image ids in their new order, e.g. "12,10,11" (the ↑/↓ buttons each send one).
    order = HiddenField()

    def validate_order(self, field) -> None:
        parts = [part.strip() for part in (field.data or "").split(",") if part.strip()]
        if not parts or not all(part.isdigit() and len(part) < 12 for part in parts):
            raise ValidationError(_("图片顺序无效，请刷新页面后重试。"))
        field.parsed = [int(part) for part in parts]
