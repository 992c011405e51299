"""Catalog packs: the product types a tenant can sell, with typed attributes and the rules that gate them.

A pack is the catalog module kind. It declares product types; each type lists typed attributes (text,
integer or decimal with a unit, enum, boolean, date, identifier with a format check), says which are
required and which are search facets, labels them in zh and en, and may add cross-field rules (a
fertiliser's total nutrient must equal N + P₂O₅ + K₂O) and a licence the shop needs before it may publish.

Built-in packs are listed by dotted path; third-party packs register through the ``marketplace.catalog_packs``
entry point, each naming a ``CatalogPack`` instance.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib.metadata import entry_points

from flask_babel import gettext as _

from marketplace.core.i18n import localised

log = logging.getLogger(__name__)

BUILT_IN_PACKS = (
    "marketplace.catalog.builtin_packs.general:PACK",
    "marketplace.catalog.builtin_packs.agri_inputs:PACK",
    "marketplace.catalog.builtin_packs.apparel:PACK",
)


class AttributeType(StrEnum):
    text = "text"
    integer = "integer"
    decimal = "decimal"
    enum = "enum"
    boolean = "boolean"
    date = "date"
    identifier = "identifier"


class AttributeInvalid(ValueError):
    """A value an attribute refuses; the message is for the merchant."""


@dataclass(frozen=True)
class Choice:
    value: str
    label_zh: str
    label_en: str

    def label(self, locale=None) -> str:
        return localised(self.label_zh, self.label_en, locale)


@dataclass(frozen=True)
class Attribute:
    """One typed field of a product type. Values are stored as JSON: str, int, str(decimal), bool, ISO date."""

    name: str
    type: AttributeType
    label_zh: str
    label_en: str
    required: bool = False
    facet: bool = False
    unit: str = ""  # shown after numbers: "%", "kg", "g/L"…
    choices: tuple[Choice, ...] = ()
    pattern: str = ""  # identifiers: a regular expression the whole value must match
    example: str = ""  # identifiers: shown in the message when the format is wrong
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    max_length: int = 500
    help_zh: str = ""
    help_en: str = ""

    def label(self, locale=None) -> str:
        return localised(self.label_zh, self.label_en, locale)

    def choice_label(self, value, locale=None) -> str:
        for choice in self.choices:
            if choice.value == value:
                return choice.label(locale)
        return str(value)

    def parse(self, raw):
        """The clean value for ``raw`` (a string from a form or spreadsheet, or an already typed value).

        Returns None for an empty value. Raises AttributeInvalid with a message naming the attribute.
        """
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        text = raw.strip() if isinstance(raw, str) else raw
        match self.type:
            case AttributeType.text:
                value = str(text)
                if len(value) > self.max_length:
                    raise AttributeInvalid(_("%(label)s 最多 %(n)d 个字。", label=self.label(), n=self.max_length))
                return value
            case AttributeType.integer | AttributeType.decimal:
                return self._number(text)
            case AttributeType.enum:
                value = str(text)
                for choice in self.choices:
                    if value in (choice.value, choice.label_zh, choice.label_en):
                        return choice.value
                raise AttributeInvalid(_("%(label)s 只能是：%(choices)s。", label=self.label(),
                                         choices="、".join(c.label() for c in self.choices)))
            case AttributeType.boolean:
                if isinstance(text, bool):
                    return text
                lowered = str(text).lower()
                if lowered in ("1", "true", "yes", "y", "是", "有"):
                    return True
                if lowered in ("0", "false", "no", "n", "否", "无"):
                    return False
                raise AttributeInvalid(_("%(label)s 请填写“是”或“否”。", label=self.label()))
            case AttributeType.date:
                if isinstance(text, date):
                    return text.isoformat()
                value = str(text).replace("/", "-").replace(".", "-")
                try:
                    return date.fromisoformat(value).isoformat()
                except ValueError:
                    raise AttributeInvalid(_("%(label)s 的日期格式应为 2026-03-15。", label=self.label())) from None
            case AttributeType.identifier:
                value = re.sub(r"\s+", "", str(text)).upper() if self.pattern.isascii() else str(text).strip()
                if self.pattern and not re.fullmatch(self.pattern, value):
                    raise AttributeInvalid(_("%(label)s 格式不正确（例如 %(example)s）。", label=self.label(),
                                             example=self.example or "—"))
                return value
        raise AttributeInvalid(self.name)  # unreachable: every type is handled above

    def _number(self, text):
        raw = str(text).strip().rstrip("%").replace(",", "").strip()
        if self.unit and raw.endswith(self.unit):
            raw = raw[: -len(self.unit)].strip()
        try:
            number = Decimal(raw)
        except InvalidOperation:
            raise AttributeInvalid(_("%(label)s 应为数字。", label=self.label())) from None
        if not number.is_finite() or abs(number.adjusted()) > 12:  # "1e2000000" would take ages to print
            raise AttributeInvalid(_("%(label)s 应为数字。", label=self.label()))
        if self.type == AttributeType.integer and number != number.to_integral_value():
            raise AttributeInvalid(_("%(label)s 应为整数。", label=self.label()))
        if self.minimum is not None and number < self.minimum:
            raise AttributeInvalid(_("%(label)s 不能小于 %(n)s。", label=self.label(), n=self.minimum))
        if self.maximum is not None and number > self.maximum:
            raise AttributeInvalid(_("%(label)s 不能大于 %(n)s。", label=self.label(), n=self.maximum))
        if self.type == AttributeType.integer:
            return int(number)
        return format(number.normalize(), "f")  # "40", "4.5" — never "4E+1"

    def display(self, value, locale=None) -> str:
        """A stored value as people read it, with its unit or choice label."""
        if value is None or value == "":
            return ""
        if self.type == AttributeType.enum:
            return self.choice_label(value, locale)
        if self.type == AttributeType.boolean:
            return _("是") if value else _("否")
        if self.unit:
            return f"{value}{self.unit}" if self.unit in ("%", "‰") else f"{value} {self.unit}"
        return str(value)


#: A rule over several attributes and the title: returns {attribute name, "title" or "": message} it refuses.
Rule = Callable[[dict, str], dict[str, str]]


@dataclass(frozen=True)
class Licence:
    """A licence a shop must hold, verified, to publish products of a type."""

    kind: str
    label_zh: str
    label_en: str

    def label(self, locale=None) -> str:
        return localised(self.label_zh, self.label_en, locale)


@dataclass(frozen=True)
class ProductType:
    id: str  # "<pack>.<type>", e.g. "agri_inputs.fertiliser"
    label_zh: str
    label_en: str
    attributes: tuple[Attribute, ...]
    rules: tuple[Rule, ...] = ()
    licence: Licence | None = None
    #: Option names its variants differ by, e.g. ("size", "colour"); labels in option_labels.
    options: tuple[str, ...] = ()
    option_labels: dict[str, tuple[str, str]] = field(default_factory=dict)

    def label(self, locale=None) -> str:
        return localised(self.label_zh, self.label_en, locale)

    def attribute(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)

    @property
    def facets(self) -> tuple[Attribute, ...]:
        return tuple(a for a in self.attributes if a.facet)

    def clean(self, raw: dict, *, title: str = "", require_complete: bool = False) -> tuple[dict, dict[str, str]]:
        """Typed values for ``raw`` and the problems found, by attribute name ("" for the product as a whole).

        Unknown names are refused. Required attributes are enforced when ``require_complete`` (publishing);
        a draft may be saved half-filled.
        """
        values: dict = {}
        problems: dict[str, str] = {}
        for name in raw:
            if self.attribute(name) is None:
                problems[name] = _("“%(type)s”没有“%(name)s”这一属性。", type=self.label(), name=name)
        for attribute in self.attributes:
            try:
                value = attribute.parse(raw.get(attribute.name))
            except AttributeInvalid as error:
                problems[attribute.name] = str(error)
                continue
            if value is None:
                if require_complete and attribute.required:
                    problems[attribute.name] = _("请填写%(label)s。", label=attribute.label())
                continue
            values[attribute.name] = value
        if not problems:
            for rule in self.rules:
                problems.update(rule(values, title))
        return values, problems


@dataclass(frozen=True)
class CatalogPack:
    id: str
    label_zh: str
    label_en: str
    product_types: tuple[ProductType, ...]
    #: Words of the trade that search must keep whole (active ingredients, garment names): they extend
    #: the Chinese word segmenter's dictionary, so 高效氯氰菊酯 is found as itself and by 氯氰菊酯.
    search_words: tuple[str, ...] = ()

    def label(self, locale=None) -> str:
        return localised(self.label_zh, self.label_en, locale)


class PackError(RuntimeError):
    """A catalog pack that cannot be loaded or that clashes with another."""


def load_packs() -> dict[str, CatalogPack]:
    """Built-in packs, then third-party ones from the entry point; a broken pack stops start-up by name."""
    packs: dict[str, CatalogPack] = {}
    sources = [(path, lambda p=path: _import(p)) for path in BUILT_IN_PACKS]
    sources += [(f"{e.name} ({e.value})", e.load) for e in entry_points(group="marketplace.catalog_packs")]
    for name, load in sources:
        try:
            pack = load()
        except Exception as exc:
            raise PackError(f"catalog pack {name} failed to load: {exc}") from exc
        if not isinstance(pack, CatalogPack):
            raise PackError(f"catalog pack {name} is not a CatalogPack")
        if pack.id in packs:
            raise PackError(f"catalog pack id {pack.id!r} is used twice ({name})")
        for product_type in pack.product_types:
            if not product_type.id.startswith(pack.id + "."):
                raise PackError(f"product type {product_type.id!r} must start with its pack id {pack.id!r}")
        packs[pack.id] = pack
    return packs


def _import(path: str):
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def registry():
    """The packs of the running app (loaded once per app, at start-up)."""
    from flask import current_app

    return current_app.extensions["catalog_packs"]


def product_type(type_id: str) -> ProductType | None:
    pack_id = type_id.split(".", 1)[0]
    pack = registry().get(pack_id)
    return next((t for t in pack.product_types if t.id == type_id), None) if pack else None


def all_product_types() -> list[ProductType]:
    return [t for pack in registry().values() for t in pack.product_types]
