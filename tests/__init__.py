"""comptoir's tests."""

import pytest

# Shared contract suites live in plain modules: let pytest explain their failed asserts.
pytest.register_assert_rewrite("tests.store_contract", "tests.mailer_contract")
