"""The flags file kept in the repo: seeds an empty store, and takes exports back.

    # METHOD /template: legacy | migrated | canary PERCENT
    GET /model-info: migrated
    POST /predict: canary 25

A mapping `{mode: canary, percentage: 25}` is accepted too, and is how a shadow share is written:
`{mode: legacy, shadow: 10}`, with `side_effect_free: WHY` for a method that is not safe. An
entry without `shadow` leaves the endpoint's shadow share as it is. Segments, routed first, are
a list: `{mode: canary, percentage: 10, segments: ["header:X-Tenant=acme->migrated"]}`; an
entry without `segments` keeps the endpoint's (a change to legacy drops them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from strangler.errors import ConfigError
from strangler.flags.model import AuditEntry, Flag, FlagSnapshot
from strangler.flags.service import FlagEntry, FlagService
from strangler.types import Mode

HEADER = """\
# Strangler flags: METHOD /template: legacy | migrated | canary PERCENT
# `strangler flags import FILE` loads this file; `strangler flags export FILE` rewrites it.
"""


def read_flag_file(path: Path) -> dict[str, FlagEntry]:
    """The entries of a flags file; raises ConfigError if malformed."""
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


def _entry(path: Path, key: str, value: Any) -> FlagEntry:
    if isinstance(value, dict):
        unknown = set(value) - {"mode", "percentage", "shadow", "side_effect_free", "segments"}
        if unknown:
            raise ConfigError(f"{path}: {key}: unknown field(s) {sorted(unknown)}")
        segments = value.get("segments")
        if segments is not None and not (
            isinstance(segments, list) and all(isinstance(s, str) for s in segments)
        ):
            raise ConfigError(
                f"{path}: {key}: segments are a list of 'KIND:NAME=VALUE->BACKEND' strings"
            )
        return FlagEntry(
            str(value.get("mode")),
            value.get("percentage"),
            value.get("shadow"),
            value.get("side_effect_free"),
            segments,
        )
    words = str(value).replace("%", " ").split()
    if len(words) == 1:
        return FlagEntry(words[0])
    if len(words) == 2:
        try:
            return FlagEntry(words[0], float(words[1]))
        except ValueError:
            pass
    raise ConfigError(f"{path}: {key}: {value!r} is not 'legacy', 'migrated' or 'canary PERCENT'")


def format_flag(flag: Flag) -> str:
    return f"canary {flag.percentage:g}" if flag.mode is Mode.CANARY else flag.mode.value


def _written(flag: Flag) -> str:
    if not flag.shadow and not flag.side_effect_free and not flag.segments:
        return format_flag(flag)
    fields: dict[str, Any] = {"mode": flag.mode.value}
    if flag.mode is Mode.CANARY:
        fields["percentage"] = flag.percentage
    if flag.shadow or flag.side_effect_free:
        fields["shadow"] = flag.shadow
    if flag.side_effect_free:
        fields["side_effect_free"] = flag.side_effect_free
    if flag.segments:
        fields["segments"] = [str(segment) for segment in flag.segments]
    return yaml.safe_dump(fields, default_flow_style=True, width=1000).strip()


def write_flag_file(path: Path, snapshot: FlagSnapshot) -> None:
    lines = [f"{key}: {_written(flag)}" for key, flag in sorted(snapshot.flags.items())]
    path.write_text(HEADER + "\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


def import_flags(
    service: FlagService, path: Path, *, actor: str, reason: str | None = None
) -> list[AuditEntry]:
    """Applies the file's flags that differ from the store, checking all before writing any."""
    reason = reason or f"imported from {path.name}"
    return service.apply(read_flag_file(path), actor=actor, reason=reason, source=str(path))
