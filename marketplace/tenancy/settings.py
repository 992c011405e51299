"""Per-tenant settings: declared once per module with a type and a default, stored one row each.

    search_settings = SettingsGroup("search", provider=Setting(str, "embedded"), options=Setting(dict, {}))
    search_settings.get(tenant, "provider")          # "embedded" until set
    search_settings.set(tenant, "provider", "elasticsearch")
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.tenancy.cache import stored_settings
from marketplace.tenancy.context import tenant_scope
from marketplace.tenancy.models import Tenant, TenantSetting


class SettingError(ValueError):
    """A setting name or value that the module did not declare."""


@dataclass(frozen=True)
class Setting:
    type: type
    default: Any
    help: str = ""

    def check(self, module: str, name: str, value: Any) -> Any:
        if self.type is int and isinstance(value, bool):
            raise SettingError(f"{module}.{name} must be a whole number")
        if not isinstance(value, self.type):
            raise SettingError(f"{module}.{name} must be {self.type.__name__}, not {type(value).__name__}")
        return value


#: Every declared group by module name, so the manifest sync and the console can list them.
GROUPS: dict[str, SettingsGroup] = {}


class SettingsGroup:
    def __init__(self, module: str, **declared: Setting):
        self.module = module
        self.declared = declared
        GROUPS[module] = self

    def _setting(self, name: str) -> Setting:
        try:
            return self.declared[name]
        except KeyError:
            raise SettingError(f"{self.module} has no setting {name!r} (known: {', '.join(self.declared)})") from None

    def get(self, tenant: Tenant, name: str) -> Any:
        """The stored value, or the declared default (a copy, so callers may change it)."""
        setting = self._setting(name)
        stored = stored_settings(tenant, self.module)
        return stored[name] if name in stored else copy.deepcopy(setting.default)

    def all(self, tenant: Tenant) -> dict[str, Any]:
        stored = stored_settings(tenant, self.module)
        return {name: stored[name] if name in stored else copy.deepcopy(s.default) for name, s in self.declared.items()}

    def set(self, tenant: Tenant, name: str, value: Any) -> bool:
        """Store a value; returns whether it changed. Flushes, the caller commits."""
        value = self._setting(name).check(self.module, name, value)
        with tenant_scope(tenant):
            row = db.session.scalar(
                select(TenantSetting).where(TenantSetting.module == self.module, TenantSetting.name == name)
            )
            if row is None:
                db.session.add(TenantSetting(tenant_id=tenant.id, module=self.module, name=name, value=value))
            elif row.value == value:
                return False
            else:
                row.value = value
            db.session.flush()
        return True


#: The provider each module kind uses in a tenant, with that provider's own settings. The provider
#: families check the provider ids and validate ``options`` against their settings schemas.
MODULE_KINDS = ("catalog", "search", "payment", "delivery")
MODULE_DEFAULTS = {"catalog": "general", "search": "embedded", "payment": "offline", "delivery": "pickup"}
module_settings = {
    kind: SettingsGroup(kind, provider=Setting(str, MODULE_DEFAULTS[kind]), options=Setting(dict, {}))
    for kind in MODULE_KINDS
}
