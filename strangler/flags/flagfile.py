"""The flags file kept in the repo: seeds an empty store, and takes exports back.

    # METHOD /template: legacy | migrated | canary PERCENT
    GET /model-info: migrated
    POST /predict: canary 25

A mapping `{mode: canary, percentage: 25}` is accepted too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from strangler.errors import ConfigError
from strangler.flags.model import AuditEntry, Flag, FlagSnapshot
from strangler.flags.service import FlagService
from strangler.types import Mode

HEADER = """\
# Strangler flags: METHOD /template: legacy | migrated | canary PERCENT
# `strangler flags import FILE` loads this file; `strangler flags export FILE` rewrites it.
"""


def read_flag_file(path: Path) -> dict[str, tuple[str, float | None]]:
    """The entries of a flags file as (mode, percentage); raises ConfigError if malformed."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the flags file {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected 'METHOD /path: mode' lines, found {type(data).__name__}"
        )
    return {str(key): _entry(path, str(key), value) for key, value in data.items()}


def _entry(path: Path, key: str, value: Any) -> tuple[str, float | None]:
    if isinstance(value, dict):
        return str(value.get("mode")), value.get("percentage")
    words = str(value).replace("%", " ").split()
    if len(words) == 1:
        return words[0], None
    if len(words) == 2:
        try:
            return words[0], float(words[1])
        except ValueError:
            pass
    raise ConfigError(f"{path}: {key}: {value!r} is not 'legacy', 'migrated' or 'canary PERCENT'")


def format_flag(flag: Flag) -> str:
    return f"canary {flag.percentage:g}" if flag.mode is Mode.CANARY else flag.mode.value


def write_flag_file(path: Path, snapshot: FlagSnapshot) -> None:
    lines = [f"{key}: {format_flag(flag)}" for key, flag in sorted(snapshot.flags.items())]
    path.write_text(HEADER + "\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


def import_flags(
    service: FlagService, path: Path, *, actor: str, reason: str | None = None
) -> list[AuditEntry]:
    """Applies the file's flags that differ from the store, checking all before writing any."""
    reason = reason or f"imported from {path.name}"
    return service.apply(read_flag_file(path), actor=actor, reason=reason, source=str(path))
