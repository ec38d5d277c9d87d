"""Root conftest: every test in the workspace gets the shared harness fixtures."""

pytest_plugins = ["tests.harness.fixtures"]
