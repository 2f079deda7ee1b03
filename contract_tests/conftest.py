"""pytest collects this folder's YAML corpus: one test per case, one per fuzzed endpoint."""

from __future__ import annotations

import os

from app.contracts.pytest_plugin import (
    pytest_collect_file,
    pytest_runtest_teardown,
    pytest_unconfigure,
)

__all__ = ["pytest_collect_file", "pytest_runtest_teardown", "pytest_unconfigure"]

# The worked example signs tokens with this key when none is set. 32+ bytes: PyJWT warns about
# shorter HS256 keys, and warnings are errors in this suite.
os.environ.setdefault("ML_API_SECRET_KEY", "strangler-contract-tests-secret-0123456789")
