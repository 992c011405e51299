pytest_plugins = ["tests.fixtures.app", "tests.fixtures.factories", "tests.fixtures.web", "tests.fixtures.live"]
