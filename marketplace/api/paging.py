"""Cursor pagination, the same for every list of the API: ``?limit=`` and ``?cursor=`` in, ``items`` and
``next_cursor`` out, and a ``Link: <…>; rel="next"`` header while there is more.

A database list is paged by its sort key (keyset pagination): the cursor carries the sort key of the last item
sent, and the next page is "the rows after that key", so page 500 costs what page 1 costs and an item added or
removed meanwhile never shifts the rest (no item twice, none skipped). Search results are ranked by the search
backend, which pages by offset; their cursor carries the offset.

A cursor is base64url JSON — opaque to clients, but not a secret: it holds only the sort values of an item the
client has already seen, and a forged one merely starts the list elsewhere. Anything that is not a cursor this
list could have written (another sort's, another list's, edited, truncated) is refused with 400 ``invalid_cursor``.

The pieces: ``PageArgs`` (the query parameters, a schema to inherit from), ``Period`` (``since``/``until``),
``page_schema`` (the answer's schema), ``Ordering`` + ``keyset_page`` (one page of a select), ``offset_page``
(one page of ranked results), and ``responds`` (documents the 200 with its ``Link`` header and the 400, and adds
the header).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import request
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema
from sqlalchemy import and_, func, or_, select

from marketplace.extensions import db

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
#: Longer than any cursor this module writes (a few sort values); anything longer is not one of ours.
MAX_CURSOR = 512
#: Integer sort keys are ``Integer`` columns (ids, prices in fen): PostgreSQL's int4 bounds them.
INT_BOUND = 2_147_483_647
#: The deepest offset a search cursor may carry (search backends stop answering long before).
MAX_OFFSET = 1_000_000
#: The parameters of page-numbered paging, which this API no longer has: refused, so that an old client asking
#: for "page 2" is told so instead of being sent the first page again (and looping forever).
RETIRED = ("page", "page_size", "per_page")

LINK_HEADER = {"Link": {"description": 'RFC 8288: `<URL of the next page>; rel="next"`, only while there is a next '
                                      "page (the same URL as this request's, with cursor=next_cursor).",
                        "schema": {"type": "string"}}}
INVALID_CURSOR = "cursor 不是这个列表给出的 next_cursor（被改动、截断或来自另一个列表或排序）（code: invalid_cursor）。"


class InvalidCursor(Exception):
    """A cursor this list did not write; answered 400 ``invalid_cursor`` (``views.answer_with_problems``)."""


# -- the request ----------------------------------------------------------------------------------------------------

class PageArgs(Schema):
    """``limit`` and ``cursor``: inherit from this in a list's query schema."""

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(
        min=1, max=MAX_LIMIT, error=_l("应在 {min} 到 {max} 之间。")),
        metadata={"description": f"How many items per page, 1–{MAX_LIMIT}."})
    cursor = fields.String(metadata={
        "description": "Where to go on: the next_cursor of the previous page, as it came. Absent: the first page."})

    @pre_load
    def _no_page_numbers(self, data, **kwargs):
        retired = [name for name in RETIRED if name in data]
        if retired:
            message = str(_l("本接口按 cursor 翻页：请改用 limit 和上一页回答中的 next_cursor。"))
            raise ValidationError({name: [message] for name in retired})
        return data


def _in_utc_range(moment: datetime) -> None:
    """A moment the database can hold: one that is still a date once turned into UTC (0001-01-01T00:00+14:00
    is not)."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ValidationError(str(_l("时间超出了可用的范围。"))) from None


class Period(Schema):
    """``since`` and ``until``: a time range, ISO 8601 with its zone; inherit from this beside ``PageArgs``."""

    since = fields.AwareDateTime(validate=_in_utc_range, metadata={"description": "Only those made at or after this time (ISO 8601 with "
                                                          "zone, e.g. 2026-12-01T00:00:00+08:00)."})
    until = fields.AwareDateTime(validate=_in_utc_range,
                                 metadata={"description": "Only those made before this time (exclusive)."})

    @validates_schema
    def _in_order(self, data, **kwargs):
        if "since" in data and "until" in data and data["until"] <= data["since"]:
            raise ValidationError(str(_l("应晚于 since。")), "until")


def within(query, column, since: datetime | None = None, until: datetime | None = None):
    """``query`` limited to rows whose ``column`` lies in [since, until)."""
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column < until)
    return query


# -- the answer -----------------------------------------------------------------------------------------------------

def page_schema(name: str, item: type[Schema], *, description: str = "", **extra: fields.Field) -> type[Schema]:
    """The schema of one page of ``item``s: ``items``, ``next_cursor`` and the ``extra`` fields (``total``…)."""
    attrs = {
        "items": fields.List(fields.Nested(item), metadata={"description": description} if description else {}),
        "next_cursor": fields.String(allow_none=True, metadata={
            "description": "Pass as ?cursor= for the next page (keeping the other parameters); null on the last "
                           "page."}),
        **extra,
        "__doc__": "One page of a list; ask for the next with cursor=next_cursor.",
    }
    return type(name, (Schema,), attrs)


def total_field(description: str = "Items matching the filters, on all pages.") -> fields.Integer:
    return fields.Integer(metadata={"description": description})


def _next_link(cursor: str) -> str:
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "cursor"]
    return f"<{request.base_url}?{urlencode([*args, ('cursor', cursor)])}>; rel=\"next\""


def responds(blueprint, schema: type[Schema], *, description: str | None = None):
    """Decorate a list operation in place of ``blueprint.response(200, schema)``: documents the answer with its
    ``Link`` header and the 400 of a bad cursor, and sends the header whenever the view's answer has a
    ``next_cursor``."""
    from marketplace.api.schemas import Problem  # (the schemas module builds its pages with this module)

    def decorate(view):
        @functools.wraps(view)
        def linked(*args, **kwargs):
            body = view(*args, **kwargs)
            cursor = body.get("next_cursor") if isinstance(body, dict) else None
            return (body, {"Link": _next_link(cursor)}) if cursor else body

        documented = blueprint.response(200, schema, description=description, headers=LINK_HEADER)(linked)
        return blueprint.alt_response(400, schema=Problem, description=INVALID_CURSOR,
                                      content_type="application/problem+json")(documented)

    return decorate


# -- cursors --------------------------------------------------------------------------------------------------------

def _encode(order: str, values: Sequence[Any]) -> str:
    raw = json.dumps({"o": order, "k": [v.isoformat() if isinstance(v, datetime) else v for v in values]},
                     separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, order: str, kinds: Sequence[type]) -> list[Any]:
    """The values a cursor of ``order`` carries, each of its kind; InvalidCursor for anything else."""
    try:
        if len(cursor) > MAX_CURSOR or not cursor.isascii():
            raise ValueError
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        if not isinstance(data, dict) or set(data) != {"o", "k"} or data["o"] != order:
            raise ValueError
        raw = data["k"]
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError
        return [_value(value, kind) for value, kind in zip(raw, kinds, strict=True)]
    except (ValueError, TypeError, OverflowError, UnicodeError, binascii.Error, RecursionError):
        raise InvalidCursor(cursor) from None


def _value(value: Any, kind: type) -> Any:
    if kind is int:
        if type(value) is not int or not -INT_BOUND <= value <= INT_BOUND:
            raise ValueError
        return value
    if kind is float:
        if type(value) not in (int, float) or not math.isfinite(value) or abs(value) > 1e15:
            raise ValueError
        return float(value)
    if kind is datetime:
        if not isinstance(value, str) or len(value) > 40:
            raise ValueError
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(UTC)  # OverflowError at the calendar's ends: not a cursor we made
    if not isinstance(value, str) or len(value) > 200:
        raise ValueError
    return value


# -- keyset pages ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    """One sort key: a column (or SQL expression) and its direction; the last key must make the order total
    (an id)."""

    column: Any
    descending: bool = True

    @property
    def kind(self) -> type:
        sql_type = self.column.type
        sql_type = getattr(sql_type, "impl_instance", sql_type)  # a TypeDecorator (UTCDateTime): what it stores
        try:
            python_type = sql_type.python_type
        except NotImplementedError:
            return int
        return python_type if python_type in (int, float, datetime) else str

    def after(self, value):
        return self.column < value if self.descending else self.column > value

    @property
    def ordered(self):
        return self.column.desc() if self.descending else self.column.asc()


@dataclass(frozen=True)
class Ordering:
    """A list's order: a name (written into its cursors, so that a cursor of one order is refused by another) and
    its keys, most significant first."""

    name: str
    keys: tuple[Key, ...]

    def after(self, values: Sequence[Any]):
        """Rows strictly after the row with these key values: (k1 after v1) or (k1 = v1 and k2 after v2) or …"""
        alternatives = []
        for index, key in enumerate(self.keys):
            equal = [self.keys[i].column == values[i] for i in range(index)]
            alternatives.append(and_(*equal, key.after(values[index])))
        return or_(*alternatives)


def keyset_page(query, ordering: Ordering, *, limit: int, cursor: str | None = None, total: bool = False) -> dict:
    """One page of ``query`` (a select of one entity, not yet ordered) in ``ordering``, after ``cursor``:
    ``{"items": [...], "next_cursor": str | None}``, with ``total`` (the rows of ``query`` on all pages, one more
    query) when asked. Reads ``limit + 1`` rows to know whether there is more."""
    after = _decode(cursor, ordering.name, [key.kind for key in ordering.keys]) if cursor is not None else None
    counted = {"total": db.session.scalar(select(func.count()).select_from(query.subquery()))} if total else {}
    if after is not None:
        query = query.where(ordering.after(after))
    columns = [key.column for key in ordering.keys]
    rows = db.session.execute(query.add_columns(*columns).order_by(*(key.ordered for key in ordering.keys))
                              .limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [row[0] for row in rows]
    next_cursor = _encode(ordering.name, list(rows[-1][1:])) if more and rows else None
    return {"items": items, "next_cursor": next_cursor, **counted}


def offset_of(cursor: str | None, name: str) -> int:
    """The offset a ranked list's cursor carries (0 without one)."""
    if cursor is None:
        return 0
    offset = _decode(cursor, name, [int])[0]
    if not 0 < offset <= MAX_OFFSET:
        raise InvalidCursor(cursor)
    return offset


def next_offset_cursor(name: str, offset: int, sent: int, total: int) -> str | None:
    """The cursor after ``sent`` results from ``offset``, or None when they were the last."""
    following = offset + sent
    if sent == 0 or following >= total or following > MAX_OFFSET:
        return None
    return _encode(name, [following])
