"""Shared fixtures: servers started on 127.0.0.1 by the test suite itself."""

pytest_plugins = [
    "tests.fixtures.devnode",
    "tests.fixtures.services",
    "tests.fixtures.chains",
]
