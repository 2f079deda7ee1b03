from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAIR = REPO / "tests" / "test_apps" / "contract_pair"


@pytest.fixture
def example_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worked example's signing key: 32+ bytes, as PyJWT wants (its warnings are errors)."""
    monkeypatch.setenv("ML_API_SECRET_KEY", "strangler-contract-tests-secret-0123456789")
    monkeypatch.chdir(REPO)
