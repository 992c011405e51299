"""What an API token may do: each kind of token has a fixed set of scopes, chosen when the token is made.

A key for the till needs to set stock, not to answer complaints; a leaked key then does only the harm its scopes
allow. There are three sets, one per kind of token, and they never mix: a shop's API key (``SHOP``), a tenant
operator's token (``OPERATOR``), a resident's personal token (``RESIDENT``). Each operation names the one scope it
needs with the set's decorator (``@requires_scope``, ``@requires_operator_scope``, ``@requires_resident_scope``),
which both documents it (the operation's security requirement in the OpenAPI document) and marks the view; the
token check before the request reads the mark and refuses a token without that scope (403 ``insufficient_scope``).
An operation without a mark is refused to every token of that kind: forgetting the decorator closes the operation
rather than opening it (and ``tests/api/test_scopes.py`` names the operation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint


@dataclass(frozen=True)
class ScopeSet:
    """The scopes of one kind of token, in the order pages and documents list them, with what each allows."""

    #: The OpenAPI security scheme whose requirement names the scope.
    scheme: str
    #: The attribute the decorator leaves on a view (kept through flask-smorest's wrappers, which copy it).
    mark: str
    scopes: dict
    #: How the scheme's description in the OpenAPI document starts (the scopes follow).
    introduction: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.scopes)

    def unknown(self, scopes: Iterable[str]) -> list[str]:
        return [scope for scope in scopes if scope not in self.scopes]

    def canonical(self, scopes: Iterable[str]) -> str:
        """Known scopes as stored: space-separated, in the set's order."""
        chosen = set(scopes)
        return " ".join(scope for scope in self.scopes if scope in chosen)

    def label(self, scope: str) -> str:
        return str(self.scopes.get(scope, scope))

    def requiring(self, scope: str, *, alternatives: tuple[dict, ...] = (), **doc):
        """A decorator: the operation needs ``scope`` of this set, or one of the other security requirements in
        ``alternatives``; ``doc``: more of flask-smorest's ``doc`` arguments. Unknown scopes fail at once."""
        if scope not in self.scopes:
            raise ValueError(f"unknown {self.scheme} scope {scope!r}; known: {', '.join(self.scopes)}")

        def decorate(view):
            view = Blueprint.doc(security=[*alternatives, {self.scheme: [scope]}], **doc)(view)
            setattr(view, self.mark, scope)
            return view

        return decorate

    def scope_of(self, view) -> str | None:
        """The scope of this set a view was marked with (looked for through its wrappers), or None."""
        while view is not None:
            scope = getattr(view, self.mark, None)
            if scope is not None:
                return scope
            view = getattr(view, "__wrapped__", None)
        return None

    def description(self) -> str:
        """The security scheme's description: http bearer schemes have no flows to list scopes in."""
        return "\n".join([self.introduction, ""] + [f"- `{scope}`: {text}" for scope, text in self.scopes.items()])


def as_list(scopes: str | Iterable[str] | None) -> list[str]:
    """Scopes given as "a b" or ["a", "b"], stripped, without repeats, in the order given."""
    if scopes is None:
        return []
    if isinstance(scopes, str):
        scopes = scopes.split()
    found: list[str] = []
    for scope in scopes:
        scope = str(scope).strip()
        if scope and scope not in found:
            found.append(scope)
    return found


# -- the three sets -------------------------------------------------------------------------------------------------

SHOP = ScopeSet("bearerAuth", "required_scope", {
    "catalog:read": _l("读取本店商品（含草稿和已下架的）"),
    "catalog:write": _l("创建、修改、上架和下架商品"),
    "stock:write": _l("批量设置库存"),
    "orders:read": _l("查看本店订单、退货申请及其配送信息"),
    "orders:write": _l("处理订单（接单、备货、交付、完成、拒单等）和退货申请"),
    "shipments:write": _l("发货和记录物流轨迹"),
    "complaints:read": _l("查看本店收到的投诉"),
    "complaints:write": _l("答复投诉"),
}, ("A shop's API key (`occ_…`), created by the shop's owner in the merchant console "
    "(店铺 → API 密钥) or with `flask api issue-token --scope …`; shown once. Each key holds some of "
    "these scopes, and each operation names the one it needs in its security requirement; a key without "
    "it is refused with 403 `insufficient_scope`."))

#: A set apart from the shop scopes: an operator token is never a shop key.
OPERATOR = ScopeSet("operatorToken", "required_operator_scope", {
    "tenant:read": _l("读取本街区或市场的设置（名称、状态、品牌、时区、订单设置）"),
    "tenant:write": _l("修改本街区或市场的品牌、时区和订单设置"),
    "applications:read": _l("查看入驻申请"),
    "applications:write": _l("批准或驳回入驻申请"),
}, ("A tenant operator's token (`occo_…`), created in the operator console (街区或市场 → API 密钥) or with "
    "`flask api issue-operator-token --scope …`; shown once. It acts with its operator's rights on that one "
    "tenant and stops working when they no longer operate it. Each operation names the one scope it needs; "
    "a token without it is refused with 403 `insufficient_scope`."))

#: A set apart from the shop scopes: a personal token is never a shop key.
RESIDENT = ScopeSet("personalToken", "required_resident_scope", {
    "purchases:read": _l("查看购物车、可选的配送方式、我的订单、配送、退货和投诉"),
    "purchases:write": _l("修改购物车、结算下单、付款、取消订单、申请退货、评价和投诉"),
}, ("A resident's personal token (`occp_…`), made on the account page (我的账号 → 个人令牌, "
    "`/account/tokens`) with an expiry of 30, 90 or 365 days or none; shown once. It acts as that resident "
    "in every tenant, instead of the session cookie, and needs no X-CSRFToken. Each resident operation "
    "names the one scope it needs; a token without it is refused with 403 `insufficient_scope`."))

SCOPES, ALL_SCOPES = SHOP.scopes, SHOP.names
OPERATOR_SCOPES, ALL_OPERATOR_SCOPES = OPERATOR.scopes, OPERATOR.names
RESIDENT_SCOPES, ALL_RESIDENT_SCOPES = RESIDENT.scopes, RESIDENT.names
scope_of, operator_scope_of, resident_scope_of = SHOP.scope_of, OPERATOR.scope_of, RESIDENT.scope_of
scheme_description = SHOP.description
operator_scheme_description = OPERATOR.description
personal_scheme_description = RESIDENT.description

#: The 403 of a personal token without the operation's scope, documented by ``requires_resident_scope``.
RESIDENT_SCOPE_REFUSED = ("个人令牌没有此操作所需的权限范围（code: insufficient_scope，detail 写明所缺的权限范围，"
                          "WWW-Authenticate 头中为 scope）。")


def requires_scope(scope: str):
    """Decorate a merchant operation: only shop keys holding ``scope`` may call it. Put it where the operation's
    ``doc(security=…)`` would go; it sets the security requirement itself."""
    return SHOP.requiring(scope)


def requires_operator_scope(scope: str):
    """Decorate an operator API operation: only operator tokens holding ``scope`` may call it."""
    return OPERATOR.requiring(scope)


def requires_resident_scope(scope: str):
    """Decorate a resident operation: the signed-in session (cookie, and X-CSRFToken on writes) may call it, and so
    may a personal token holding ``scope``. Documents both as alternatives and the 403 of a token without the
    scope. A resident operation without the mark is closed to every personal token (``orders._signed_in``)."""
    refused = {"description": RESIDENT_SCOPE_REFUSED, "content": {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    return RESIDENT.requiring(scope, alternatives=({"sessionCookie": []},), responses={"403": refused})
