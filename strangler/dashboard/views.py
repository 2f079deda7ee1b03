"""What the dashboard's pages show, made from the figures (no I/O): the overview's order, each
backend's small time series, a rollout's criteria against their max, the mismatches grouped by
the field that differed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from markupsafe import Markup, escape

from strangler.dashboard.series import RECENT, WINDOW, Judged, Rate, Samples
from strangler.dashboard.svg import Line, chart
from strangler.metrics.figures import millis, percent
from strangler.report.progress import EndpointProgress
from strangler.rollout.plan import Rollout

BACKENDS = ("legacy", "migrated")
KINDS = (("2xx", "#167a36"), ("4xx", "#c77700"), ("5xx", "#b3261e"))
CHANGED_LATELY = 3600.0  # seconds: a flag changed this recently puts its endpoint first


def in_motion(row: EndpointProgress, rollouts: dict[str, Rollout], changed: set[str]) -> str:
    """Why the endpoint is shown first (rolling out, canary, shadowed, changed lately), or ""."""
    rollout = rollouts.get(row.endpoint)
    if rollout is not None and rollout.state.active:
        return f"rollout {rollout.state.value.replace('_', ' ')}"
    if row.routing.startswith("canary"):
        return "canary"
    if row.shadow[0] or "shadow" in row.routing:
        return "shadowed"
    return "changed lately" if row.endpoint in changed else ""


def ordered(
    rows: Iterable[EndpointProgress], rollouts: dict[str, Rollout], changed: set[str]
) -> list[tuple[EndpointProgress, str]]:
    """Endpoints in motion first (rollouts, canaries, shadowed, changed lately: in that order),
    then the rest; each kind by name."""
    rank = {"canary": 1, "shadowed": 2, "changed lately": 3, "": 4}
    found = [(row, in_motion(row, rollouts, changed)) for row in rows]
    return sorted(found, key=lambda pair: (rank.get(pair[1], 0), pair[0].endpoint))


@dataclasses.dataclass(frozen=True)
class Recent:
    """One backend's figures over the last RECENT seconds, as the overview shows them."""

    rate: Rate | None

    @property
    def per_second(self) -> str:
        return "-" if self.rate is None else f"{self.rate.per_second:.1f}"

    def share(self, kind: str) -> str:
        if self.rate is None or not self.rate.tally.requests:
            return "-"
        t = self.rate.tally
        return percent((t.client_errors if kind == "4xx" else t.errors) / t.requests)

    @property
    def p99(self) -> str:
        if self.rate is None:
            return "-"
        return millis(self.rate.p99) if self.rate.p99 is not None else "no traffic"


def recent(samples: Samples, key: str, now: float) -> dict[str, Recent]:
    return {backend: Recent(samples.recent(key, backend, now)) for backend in BACKENDS}


def traffic_chart(samples: Samples, key: str, now: float, *, width: int = 140) -> Markup:
    """Requests a second on each backend (legacy grey, migrated blue) over the window."""
    lines = [
        Line(color, [(r.end, r.per_second) for r in samples.rates(key, backend)], backend)
        for backend, color in (("legacy", "#8a90a0"), ("migrated", "#2f5bd3"))
    ]
    title = f"{key}: requests a second, legacy (grey) and migrated (blue), last {_window()}"
    return chart(lines, start=samples.first(now), end=now, title=title, width=width, height=32)


def backend_charts(samples: Samples, key: str, now: float) -> dict[str, tuple[Markup, Markup]]:
    """backend -> (its 2xx/4xx/5xx answers a second, its p99) over the window."""
    found = {}
    for backend in BACKENDS:
        rates = samples.rates(key, backend)
        lines = [
            Line(color, [(r.end, r.share_per_second(kind)) for r in rates], kind)
            for kind, color in KINDS
        ]
        answers = chart(
            lines,
            start=samples.first(now),
            end=now,
            title=f"{backend}: 2xx (green), 4xx (orange), 5xx (red) a second",
            shown=lambda v: f"{v:.3g}/s",
        )
        p99 = [(r.end, r.p99 * 1000 if r.p99 is not None else None) for r in rates]
        latency = chart(
            [Line("#2f5bd3", p99, "p99")],
            start=samples.first(now),
            end=now,
            title=f"{backend}: p99 latency (ms); gaps: no traffic",
            shown=lambda v: f"{v:.3g} ms",
        )
        found[backend] = (answers, latency)
    return found


@dataclasses.dataclass(frozen=True)
class Criterion:
    name: str
    health: str
    text: str
    plot: Markup


def criteria(judged: Sequence[Judged], now: float) -> list[Criterion]:
    """Each criterion of the rollout's latest findings, plotted against its max over the
    window (the figure in blue, its bounds shaded, the max dashed; a step change restarts the
    figures, which are the step's own)."""
    if not judged:
        return []
    found = []
    start = max(now - WINDOW, judged[0].at)
    for latest in judged[-1].findings:
        points: list[tuple[float, float | None]] = []
        band: list[tuple[float, float, float]] = []
        step = None
        for sample in judged:
            finding = next((f for f in sample.findings if f.name == latest.name), None)
            value = finding.value if finding is not None else None
            if sample.step != step:
                points.append((sample.at, None))  # a new step: a new line
                step = sample.step
            points.append((sample.at, value))
            if finding is not None and finding.low is not None and finding.high is not None:
                band.append((sample.at, finding.low, finding.high))
        unit = latest.unit
        plot = chart(
            [Line("#2f5bd3", points, latest.name)],
            start=start,
            end=now,
            limit=latest.limit,
            band=band,
            floor=0.0,
            title=f"{latest.name} over time against its max ({latest.limit}{unit})",
            shown=_in(unit),
            empty="not judged yet",
            width=360,
            height=70,
        )
        found.append(Criterion(latest.name, latest.health.value, latest.text, plot))
    return found


def _in(unit: str) -> Callable[[float], str]:
    def shown(value: float) -> str:
        return f"{value:.3g}{unit}"

    return shown


def _window() -> str:
    return f"{WINDOW / 60:g} min"


WINDOW_TEXT = _window()
RECENT_TEXT = f"{RECENT:g} s"


# --- mismatches -------------------------------------------------------------------------------


def kind_of(where: str) -> str:
    """status, header, cookie or body: what a difference's place says it is."""
    if where == "status":
        return "status"
    prefix = where.split(":", 1)[0]
    if ":" in where and prefix.isalpha():
        return prefix
    return "body"


@dataclasses.dataclass
class Group:
    """The mismatches of one endpoint that differed at one place."""

    kind: str
    where: str
    mismatches: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def grouped(mismatches: Iterable[dict[str, Any]]) -> list[Group]:
    """The mismatches grouped by each place they differed at (one that differed at two places
    is in both), the largest group first."""
    groups: dict[str, Group] = {}
    for mismatch in mismatches:
        for where in dict.fromkeys(str(d.get("where", "")) for d in mismatch["differences"]):
            group = groups.setdefault(where, Group(kind_of(where), where))
            group.mismatches.append(mismatch)
    order = {"status": 0, "header": 1, "body": 2}
    return sorted(
        groups.values(), key=lambda g: (order.get(g.kind, 3), -len(g.mismatches), g.where)
    )


def highlighted(answer: Any, where: str) -> Markup:
    """An answer as indented JSON, the lines of the field at `where` marked."""
    text = json.dumps(answer, indent=1)
    name = _field(where)
    lines = []
    for line in text.splitlines():
        shown = escape(line)
        key = line.strip().split('":', 1)[0].lstrip('"').lower() if '":' in line else None
        if name is not None and key == name:
            shown = Markup('<mark class="field">') + shown + Markup("</mark>")
        lines.append(shown)
    return Markup("\n").join(lines)


def _field(where: str) -> str | None:
    """The JSON key a place names: status, a header's name, a body path's last key."""
    if where == "status":
        return "status"
    if kind_of(where) != "body":
        return where.split(":", 1)[1].lower()
    last = where.replace("[", ".").rstrip("]").rsplit(".", 1)[-1].strip("'\"]")
    return last.lower() if last and last not in ("$", "body") else None
