"""Fixtures for program-aided math tests: the search tests' sandboxes and run helper."""

from tests.search.conftest import docker_sandbox, local_sandbox  # noqa: F401 - fixtures
