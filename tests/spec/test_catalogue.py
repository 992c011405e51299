"""The specification data is whole: every requirement is decided by a check or says why none can decide it, and
every check belongs to a requirement."""

from __future__ import annotations

import pytest

from marketplace.spec.model import PARTS, CatalogueError, Severity, _requirement, registered_checks, requirements


def test_every_requirement_has_a_check_or_a_reason_and_every_check_a_requirement():
    catalogue = requirements()
    checks = registered_checks()
    undecided = [r.id for r in catalogue.values() if not r.not_checkable and r.id not in checks]
    assert undecided == []
    assert sorted(set(checks) - set(catalogue)) == []
    both = [r.id for r in catalogue.values() if r.not_checkable and r.id in checks]
    assert both == []


def test_requirements_come_in_specification_order():
    ids = list(requirements())
    order = list(PARTS)
    assert ids == sorted(ids, key=lambda i: (order.index(i[:2]), int(i[3:])))


@pytest.mark.parametrize("entry, problem", [
    ({"id": "XX-1"}, "bad requirement id"),
    ({"id": "PC-01"}, "bad requirement id"),
    ({"id": "PC-1", "zh": "甲", "en": "a", "source": "ECL", "provenance": "S"}, "lacks severity"),
    ({"id": "PC-1", "zh": "甲", "en": "a", "source": "ECL", "provenance": "X", "severity": "must"}, "provenance"),
    ({"id": "PC-1", "zh": "甲", "en": "a", "source": "ECL", "provenance": "S", "severity": "always"}, "severity"),
    ({"id": "PC-1", "zh": "甲", "en": "a", "source": "ECL", "provenance": "S", "severity": "must", "colour": 1},
     "unknown keys colour"),
])
def test_malformed_entries_are_named(entry, problem):
    with pytest.raises(CatalogueError, match=problem):
        _requirement("pc.toml", entry)


def test_a_well_formed_entry_loads():
    requirement = _requirement("pc.toml", {"id": "PC-12", "zh": "甲", "en": "a", "source": "ECL Art. 35",
                                           "provenance": "S+I", "severity": "must", "kinds": ["market"]})
    assert (requirement.part, requirement.number, requirement.severity) == ("PC", 12, Severity.must)
    assert requirement.kinds == ("market",)
