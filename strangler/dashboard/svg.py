"""Small time series as inline SVG, drawn on the server (no script, no build step): lines that
break where there was no traffic, a shaded band (a criterion's bounds) and a dashed max."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

# (time, value); a value of None is a gap (no traffic, not judged)
Points = Sequence[tuple[float, float | None]]


@dataclasses.dataclass(frozen=True)
class Line:
    color: str
    points: Points
    name: str = ""


def chart(
    lines: Sequence[Line],
    *,
    start: float,
    end: float,
    limit: float | None = None,
    band: Sequence[tuple[float, float, float]] = (),
    floor: float = 0.0,
    title: str = "",
    shown: Callable[[float], str] = lambda v: f"{v:.3g}",
    empty: str = "no traffic",
    width: int = 240,
    height: int = 48,
) -> Markup:
    """A chart of `lines` from `start` to `end` (seconds); `limit` a dashed red line, `band`
    (time, low, high) shaded; the y axis from `floor` to the largest figure, labelled."""
    values = [v for line in lines for _, v in line.points if v is not None]
    values += [h for _, _, h in band] + ([limit * 1.25] if limit is not None else [])
    top = max([*values, floor + 1e-9])
    low = min([floor, *values]) if band else floor
    span_t = max(end - start, 1e-9)

    def x(t: float) -> float:
        return round((t - start) / span_t * width, 1)

    def y(v: float) -> float:
        v = min(max(v, low), top)
        return round(height - (v - low) / (top - low) * (height - 4) - 2, 1)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img"><title>{escape(title)}</title>',
        f'<rect width="{width}" height="{height}" fill="#fff" stroke="#e3e6ee"/>',
    ]
    if band:
        edge = [f"{x(t)},{y(h)}" for t, _, h in band] + [
            f"{x(t)},{y(lo)}" for t, lo, _ in band[::-1]
        ]
        parts.append(
            f'<polygon class="band" points="{" ".join(edge)}" fill="#cfd6ff" opacity=".6"/>'
        )
    if limit is not None:
        parts.append(
            f'<line class="limit" x1="0" x2="{width}" y1="{y(limit)}" y2="{y(limit)}"'
            ' stroke="#b3261e" stroke-dasharray="4 3"/>'
        )
    drawn = False
    for line in lines:
        for run in _runs(line.points):
            drawn = True
            if len(run) == 1:
                t, v = run[0]
                parts.append(f'<circle cx="{x(t)}" cy="{y(v)}" r="1.5" fill="{line.color}"/>')
                continue
            points = " ".join(f"{x(t)},{y(v)}" for t, v in run)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{line.color}"'
                ' stroke-width="1.5"/>'
            )
    if not drawn:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2 + 4}" text-anchor="middle"'
            f' fill="#8a90a0" font-size="11">{escape(empty)}</text>'
        )
    parts.append(f'<text x="3" y="11" fill="#5a6070" font-size="10">{escape(shown(top))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _runs(points: Points) -> list[list[tuple[float, float]]]:
    """The points split where a value is None."""
    runs: list[list[tuple[float, float]]] = [[]]
    for t, v in points:
        if v is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((t, v))
    return [run for run in runs if run]
