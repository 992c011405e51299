"""What a requirement is, what a check answers, and the catalogue loaded from ``data/*.toml``."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from marketplace.tenancy.models import Tenant

#: The version of the specification data; a conformance statement names the version it was checked against.
SPEC_VERSION = "2026.11"
DATA = Path(__file__).parent / "data"

#: Part prefix → (zh, en), in the order the specification lists them.
PARTS: dict[str, tuple[str, str]] = {
    "PC": ("平台建设规范", "Platform construction"),
    "IA": ("身份认证规范", "Identity authentication"),
    "OT": ("在线交易规范", "Online transaction"),
    "LD": ("物流配送规范", "Logistics and delivery"),
    "EB": ("网络经营者电子标识", "Electronic badges"),
    "CE": ("网络经营者信用评价", "Credit evaluation"),
    "CH": ("投诉受理", "Complaint handling"),
    "SR": ("电子商务统计报表制度", "Statistics reporting"),
    "DC": ("数字证书", "Digital certificates and e-signatures"),
    "PD": ("农资产品信息描述", "Product description for agricultural inputs"),
}
_ID = re.compile(r"(?P<part>[A-Z]{2})-(?P<number>[1-9][0-9]{0,2})")
#: S: the law says so; S2: a secondary source says so; I: our design choice implementing a rule; U: unconfirmed.
PROVENANCES = ("S", "S2", "I", "U")


class Severity(StrEnum):
    must = "must"  # a legal duty: a failure fails the tenant's conformance
    should = "should"  # good practice or a secondary source: reported, does not fail
    may = "may"  # informative


class Status(StrEnum):
    passed = "passed"
    failed = "failed"
    not_applicable = "not_applicable"  # the tenant does not do what the requirement is about (no express, say)
    not_checkable = "not_checkable"  # no software check decides it; the requirement says why
    error = "error"  # the check itself broke, or none is registered: counts as failed


@dataclass(frozen=True)
class Requirement:
    id: str
    zh: str
    en: str
    source: str
    provenance: str
    severity: Severity
    #: Why no software check decides this requirement (empty when a check does).
    not_checkable: str = ""
    #: How the check decides it, in a sentence (shown in reports and docs/spec/).
    how: str = ""
    #: Tenant kinds it applies to.
    kinds: tuple[str, ...] = ("street", "market")

    @property
    def part(self) -> str:
        return self.id[:2]

    @property
    def number(self) -> int:
        return int(self.id[3:])


@dataclass
class Finding:
    status: Status
    #: Plain words: what was looked at, and what is wrong when it failed.
    detail: str = ""
    #: A few offending records (ids, numbers, slugs), at most ``EVIDENCE`` of them.
    evidence: list[str] = field(default_factory=list)


EVIDENCE = 10


def passed(detail: str = "") -> Finding:
    return Finding(Status.passed, detail)


def failed(detail: str, evidence=()) -> Finding:
    return Finding(Status.failed, detail, [str(e) for e in list(evidence)[:EVIDENCE]])


def not_applicable(detail: str) -> Finding:
    return Finding(Status.not_applicable, detail)


@dataclass(frozen=True)
class CheckContext:
    """What a check gets: the tenant (already the current tenant: queries are scoped to it) and the time."""

    tenant: Tenant
    now: datetime


Check = Callable[[CheckContext], Finding]
_CHECKS: dict[str, Check] = {}


def check(requirement_id: str) -> Callable[[Check], Check]:
    """Register the function that decides ``requirement_id`` (one per requirement)."""
    def register(function: Check) -> Check:
        if requirement_id in _CHECKS:
            raise ValueError(f"{requirement_id} has two checks: {_CHECKS[requirement_id].__name__} and "
                             f"{function.__name__}")
        _CHECKS[requirement_id] = function
        return function
    return register


def registered_checks() -> dict[str, Check]:
    from marketplace.spec import checks

    checks.load_all()
    return dict(_CHECKS)


class CatalogueError(ValueError):
    """The specification data is malformed (a startup-time programming error, named precisely)."""


@cache
def requirements() -> dict[str, Requirement]:
    """Every requirement of ``data/*.toml``, in specification order (part, then number)."""
    found: dict[str, Requirement] = {}
    for path in sorted(DATA.glob("*.toml")):
        with path.open("rb") as handle:
            entries = tomllib.load(handle).get("requirement", [])
        for entry in entries:
            requirement = _requirement(path.name, entry)
            if requirement.id in found:
                raise CatalogueError(f"{path.name}: {requirement.id} appears twice")
            found[requirement.id] = requirement
    order = list(PARTS)
    return dict(sorted(found.items(), key=lambda item: (order.index(item[1].part), item[1].number)))


def _requirement(file: str, entry: dict) -> Requirement:
    ident = entry.get("id", "")
    match = _ID.fullmatch(ident)
    if match is None or match["part"] not in PARTS:
        raise CatalogueError(f"{file}: bad requirement id {ident!r}")
    missing = [key for key in ("zh", "en", "source", "provenance", "severity") if not entry.get(key)]
    if missing:
        raise CatalogueError(f"{file}: {ident} lacks {', '.join(missing)}")
    unknown = set(entry) - {"id", "zh", "en", "source", "provenance", "severity", "not_checkable", "how", "kinds"}
    if unknown:
        raise CatalogueError(f"{file}: {ident} has unknown keys {', '.join(sorted(unknown))}")
    if not set(entry["provenance"].split("+")) <= set(PROVENANCES):
        raise CatalogueError(f"{file}: {ident} has provenance {entry['provenance']!r}")
    try:
        severity = Severity(entry["severity"])
    except ValueError:
        raise CatalogueError(f"{file}: {ident} has severity {entry['severity']!r}") from None
    kinds = tuple(entry.get("kinds", ("street", "market")))
    if not kinds or not set(kinds) <= {"street", "market"}:
        raise CatalogueError(f"{file}: {ident} has kinds {kinds!r}")
    return Requirement(id=ident, zh=entry["zh"], en=entry["en"], source=entry["source"],
                       provenance=entry["provenance"], severity=severity, not_checkable=entry.get("not_checkable", ""),
                       how=entry.get("how", ""), kinds=kinds)
