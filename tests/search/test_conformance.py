"""The conformance kit against every backend: ``embedded`` always, ``elasticsearch`` when ELASTICSEARCH_URL is set."""

from tests.search.conformance import BackendConformance


class TestBackend(BackendConformance):
    """Runs once per ``backend`` fixture parameter (tests/search/conftest.py)."""
