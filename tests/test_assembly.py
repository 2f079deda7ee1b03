"""The composition root (strangler.assembly): what it checks in the settings before it builds."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_settings_refuse_a_guard_without_metrics_and_a_bad_request_id_header(
    tmp_path: Path,
) -> None:
    from strangler.assembly import check_settings
    from strangler.errors import ConfigError
    from strangler.settings import load_settings

    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "tests.test_apps.rollout_pair:legacy"\n'
        'migrated = "tests.test_apps.rollout_pair:migrated"\n'
    )
    with pytest.raises(ConfigError, match="guard needs metrics = true"):
        check_settings(load_settings(config, guard=["GET /work"], metrics=False))
    with pytest.raises(ConfigError, match="request_id_header = 'X Request ID'"):
        check_settings(load_settings(config, request_id_header="X Request ID"))
    with pytest.raises(ConfigError, match="guard names 'GET /nowhere'"):
        check_settings(load_settings(config, guard=["GET /nowhere"]))
    check_settings(load_settings(config, guard=["*"], request_log="logs/requests.log"))
