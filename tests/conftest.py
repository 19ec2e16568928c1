"""Test configuration: fixtures live in ``fixtures/`` and load as plugins."""

pytest_plugins = [
    "fixtures.hermetic",
    "fixtures.services",
    "fixtures.corpora",
    "fixtures.server",
    "fixtures.doubles",
    "fixtures.real_claude",
]
