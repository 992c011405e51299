"""What a shop's API key may do: a fixed set of scopes, chosen when the key is created.

A key for the till needs to set stock, not to answer complaints; a leaked key then does only the harm its scopes
allow. Each merchant operation names the one scope it needs with ``@requires_scope``, which both documents it
(the operation's security requirement in the OpenAPI document) and marks the view; the token check before every
merchant request (``views._authenticate``) reads the mark and refuses a key without that scope (403
``insufficient_scope``). A bearer operation without a mark is refused to every key: forgetting the decorator closes
the operation rather than opening it (and ``tests/api/test_scopes.py`` names the operation).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

#: Every scope, in the order pages and documents list them, with what it allows.
SCOPES = {
    "catalog:read": _l("读取本店商品（含草稿和已下架的）"),
    "catalog:write": _l("创建、修改、上架和下架商品"),
    "stock:write": _l("批量设置库存"),
    "orders:read": _l("查看本店订单及其配送信息"),
    "orders:write": _l("处理订单（接单、备货、交付、完成、拒单等）"),
    "shipments:write": _l("发货和记录物流轨迹"),
    "complaints:read": _l("查看本店收到的投诉"),
    "complaints:write": _l("答复投诉"),
}
ALL_SCOPES: tuple[str, ...] = tuple(SCOPES)

#: The attribute ``requires_scope`` leaves on a view (kept through flask-smorest's wrappers, which copy it).
_MARK = "required_scope"


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


def unknown(scopes: Iterable[str]) -> list[str]:
    return [scope for scope in scopes if scope not in SCOPES]


def canonical(scopes: Iterable[str]) -> str:
    """Known scopes as stored: space-separated, in the order of SCOPES."""
    chosen = set(scopes)
    return " ".join(scope for scope in ALL_SCOPES if scope in chosen)


def label(scope: str) -> str:
    return str(SCOPES.get(scope, scope))


def requires_scope(scope: str):
    """Decorate a bearer-token operation: only keys holding ``scope`` may call it. Put it where the operation's
    ``doc(security=…)`` would go; it sets the security requirement itself."""
    if scope not in SCOPES:
        raise ValueError(f"unknown API scope {scope!r}; known: {', '.join(ALL_SCOPES)}")

    def decorate(view):
        view = Blueprint.doc(security=[{"bearerAuth": [scope]}])(view)
        setattr(view, _MARK, scope)
        return view

    return decorate


def scope_of(view) -> str | None:
    """The scope a view was marked with (looked for through its wrappers), or None."""
    while view is not None:
        scope = getattr(view, _MARK, None)
        if scope is not None:
            return scope
        view = getattr(view, "__wrapped__", None)
    return None


def scheme_description() -> str:
    """The bearerAuth security scheme's description: http bearer schemes have no flows to list scopes in."""
    lines = ["A shop's API key (`occ_…`), created by the shop's owner in the merchant console "
             "(店铺 → API 密钥) or with `flask api issue-token --scope …`; shown once. Each key holds some of "
             "these scopes, and each operation names the one it needs in its security requirement; a key without "
             "it is refused with 403 `insufficient_scope`.", ""]
    lines += [f"- `{scope}`: {text}" for scope, text in SCOPES.items()]
    return "\n".join(lines)
