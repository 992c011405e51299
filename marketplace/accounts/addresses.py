"""The resident's address book: delivery addresses in mainland China, one of them the default.

Addresses belong to the account, not to a tenant (a resident buys on every street with the same book), so
``Address`` is outside the tenant guard like ``User``: every query here filters by ``user_id`` explicitly,
and the views only ever pass the signed-in user's id.

Province, city and district are GB/T 2260 codes checked against ``divisions``; their names are stored too,
as they were when the address was saved, so an order placed today still prints the same address after the
divisions change. Services validate everything first and write nothing when anything is wrong; they flush,
the caller commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Boolean, ForeignKey, Index, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.accounts import divisions
from marketplace.accounts.services import normalise_mobile
from marketplace.core.db import TimestampMixin
from marketplace.core.text import masked_contact
from marketplace.extensions import db

MAX_RECIPIENT = 50
MAX_STREET = 200
#: Enough for home, work, parents and a few shops; stops a script from filling the table.
MAX_ADDRESSES = 50

#: Every control character, line breaks included: an address is one line on a parcel label.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_POSTCODE = re.compile(r"\d{6}")


class Address(TimestampMixin, db.Model):
    __tablename__ = "addresses"
    __table_args__ = (
        # One default per user, enforced by the database as well as by set_default().
        Index("uq_addresses_user_id_default", "user_id", unique=True,
              sqlite_where=db.text("is_default"), postgresql_where=db.text("is_default")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(MAX_RECIPIENT))
    #: Mainland mobile number, 11 digits without +86.
    mobile: Mapped[str] = mapped_column(String(11))
    #: GB/T 2260 six-digit codes; the names beside them are a snapshot taken when the address was saved.
    province_code: Mapped[str] = mapped_column(String(6))
    province_name: Mapped[str] = mapped_column(String(50))
    city_code: Mapped[str] = mapped_column(String(6))
    city_name: Mapped[str] = mapped_column(String(50))
    #: None where the city has no districts (东莞, 济源…).
    district_code: Mapped[str | None] = mapped_column(String(6))
    district_name: Mapped[str] = mapped_column(String(50), default="")
    #: Street, building, floor and door: the part after the district.
    street: Mapped[str] = mapped_column(String(MAX_STREET))
    postcode: Mapped[str | None] = mapped_column(String(6))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def region_text(self) -> str:
        """Province, city and district as written on a label; a municipality is not named twice."""
        parts = [self.province_name]
        if self.city_name != self.province_name:
            parts.append(self.city_name)
        if self.district_name:
            parts.append(self.district_name)
        return " ".join(parts)

    @property
    def full_text(self) -> str:
        """The whole address on one line, for order snapshots and labels."""
        return f"{self.region_text} {self.street}"

    @property
    def masked_mobile(self) -> str:
        return masked_contact(self.mobile)

    def __repr__(self) -> str:
        return f"<Address {self.id} user={self.user_id}>"


class AddressError(ValueError):
    """The address was refused; ``problems`` maps form fields (or "" for the whole form) to messages."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


@dataclass(frozen=True)
class AddressInput:
    """What a resident types or picks; free text is cleaned and checked by ``validate``."""

    recipient: str = ""
    mobile: str = ""
    province_code: str = ""
    city_code: str = ""
    district_code: str = ""
    street: str = ""
    postcode: str = ""


def _plain(value: str | None, field: str, label_required: str, maximum: int, problems: dict[str, str]) -> str:
    if _CONTROL.search(value or ""):
        problems[field] = _("含有无法识别的字符，请修改后重试。")
        return ""
    text = " ".join((value or "").split())  # runs of spaces, full-width ones too, become one
    if not text:
        problems[field] = label_required
    elif len(text) > maximum:
        problems[field] = _("最多 %(max)d 个字。", max=maximum)
    return text


def validate(data: AddressInput) -> dict:
    """Clean and check an address; return the column values, or raise AddressError with every problem."""
    problems: dict[str, str] = {}
    recipient = _plain(data.recipient, "recipient", _("请填写收货人。"), MAX_RECIPIENT, problems)
    mobile = None
    if not (data.mobile or "").strip():
        problems["mobile"] = _("请填写手机号。")
    elif len(data.mobile) > 30 or (mobile := normalise_mobile(data.mobile)) is None:
        problems["mobile"] = _("请填写 11 位中国大陆手机号，例如 138 0013 8000。")
    codes = {name: (getattr(data, name) or "").strip() for name in ("province_code", "city_code", "district_code")}
    problems.update(divisions.resolve(codes["province_code"], codes["city_code"], codes["district_code"]))
    street = _plain(data.street, "street", _("请填写详细地址。"), MAX_STREET, problems)
    postcode = (data.postcode or "").strip()
    if postcode and not _POSTCODE.fullmatch(postcode):
        problems["postcode"] = _("邮政编码是 6 位数字，可不填。")
    if problems:
        raise AddressError(problems)
    province = divisions.get(codes["province_code"])
    city = divisions.get(codes["city_code"])
    district = divisions.get(codes["district_code"]) if city.children else None
    return {
        "recipient": recipient, "mobile": mobile, "street": street, "postcode": postcode or None,
        "province_code": province.code, "province_name": province.name,
        "city_code": city.code, "city_name": city.name,
        "district_code": district.code if district else None, "district_name": district.name if district else "",
    }


# -- queries ---------------------------------------------------------------------------------------------------

def addresses_of(user_id: int) -> list[Address]:
    """The user's addresses, the default first, then the most recently added."""
    return list(db.session.scalars(
        select(Address).where(Address.user_id == user_id).order_by(Address.is_default.desc(), Address.id.desc())))


def address_of(user_id: int, address_id: int) -> Address | None:
    """One of the user's addresses; None for an unknown id or another user's address."""
    return db.session.scalar(select(Address).where(Address.id == address_id, Address.user_id == user_id))


def default_address(user_id: int) -> Address | None:
    """The address checkout proposes first: the default one (every non-empty book has one)."""
    return db.session.scalar(select(Address).where(Address.user_id == user_id, Address.is_default.is_(True)))


# -- changes ---------------------------------------------------------------------------------------------------

def add_address(user_id: int, data: AddressInput, *, make_default: bool = False) -> Address:
    """Add an address to the user's book; the first one becomes the default. Raises AddressError."""
    values = validate(data)
    count = db.session.scalar(select(func.count()).select_from(Address).where(Address.user_id == user_id))
    if count >= MAX_ADDRESSES:
        raise AddressError({"": _("最多保存 %(max)d 个地址，请先删除不用的地址。", max=MAX_ADDRESSES)})
    address = Address(user_id=user_id, is_default=False, **values)
    db.session.add(address)
    db.session.flush()
    if make_default or count == 0:
        set_default(address)
    return address


def update_address(address: Address, data: AddressInput, *, make_default: bool = False) -> Address:
    """Replace an address's fields (all checked before anything changes). Raises AddressError."""
    values = validate(data)
    for name, value in values.items():
        setattr(address, name, value)
    db.session.flush()
    if make_default:
        set_default(address)
    return address


def set_default(address: Address) -> None:
    """Make this the user's one default address."""
    # Clear the old default first: the unique index allows one default per user at every moment.
    db.session.execute(update(Address).where(Address.user_id == address.user_id, Address.id != address.id,
                                             Address.is_default.is_(True)).values(is_default=False)
                       .execution_options(synchronize_session="fetch"))
    address.is_default = True
    db.session.flush()


def delete_address(address: Address) -> None:
    """Remove an address; when it was the default, the most recently added other one takes its place."""
    user_id, was_default = address.user_id, address.is_default
    db.session.delete(address)
    db.session.flush()
    if was_default:
        successor = db.session.scalar(
            select(Address).where(Address.user_id == user_id).order_by(Address.id.desc()).limit(1))
        if successor is not None:
            set_default(successor)
