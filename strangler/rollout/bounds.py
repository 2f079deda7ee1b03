"""Confidence bounds on a rate that stay valid however often they are looked at.

The judge looks at a step every second. A fixed-sample interval (Wald's, Wilson's) looked at
that often is wrong far more often than its level says: sooner or later chance takes it past
any threshold. These bounds are a *confidence sequence* instead: with probability at least
1 - alpha they hold at every look at once, so a rollback decided on them is a false alarm at
most alpha of the time however long the step runs (Robbins 1970; Howard et al. 2021; the
anytime-valid canary tests of Lindon et al., KDD 2022, are built the same way).

The sequence is the beta-binomial mixture: a rate p is kept while the likelihood of what was
seen under p is not 1/alpha times below its average under a Beta(PRIOR) prior on p,

    k log p + (n - k) log(1 - p)  >=  log B(k + a, n - k + b) - log B(a, b) + log(alpha)

(Ville's inequality on the mixture martingale). The set is an interval; its ends are found by
bisection. `k` may be fractional (requests counted from a latency histogram's interpolation).

A difference of two independent rates is bounded by the two rates' bounds at alpha / 2 each.
"""

from __future__ import annotations

import dataclasses
import math

# Beta(a, b): most of its weight on rates under 10 %, where 5xx and mismatch rates live, so
# the bounds tighten fast there; any rate can still be reached, only more slowly.
PRIOR = (0.5, 10.0)
ITERATIONS = 20  # bisection steps: the ends to within 1e-6 (0.0001 pt)


@dataclasses.dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def __sub__(self, other: Interval) -> Interval:
        """The interval of the difference of two rates (each bound at its own level)."""
        return Interval(self.low - other.high, self.high - other.low)


def rate_interval(k: float, n: float, alpha: float) -> Interval:
    """Where the rate of `k` events in `n` trials lies, at every look, with probability
    1 - alpha. No trials: anywhere in [0, 1]."""
    if n <= 0:
        return Interval(0.0, 1.0)
    k = min(max(k, 0.0), n)
    a, b = PRIOR
    level = _log_beta(k + a, n - k + b) - _log_beta(a, b) + math.log(alpha)
    peak = k / n
    low = 0.0 if _log_likelihood(k, n, 0.0) >= level else _edge(k, n, level, 0.0, peak)
    high = 1.0 if _log_likelihood(k, n, 1.0) >= level else _edge(k, n, level, 1.0, peak)
    return Interval(low, high)


def _edge(k: float, n: float, level: float, outside: float, inside: float) -> float:
    """Where the likelihood crosses `level` between `outside` (below it) and `inside` (the
    peak, above it): the likelihood is concave in log, so there is one crossing."""
    for _ in range(ITERATIONS):
        middle = (outside + inside) / 2
        if k * math.log(middle) + (n - k) * math.log1p(-middle) >= level:
            inside = middle
        else:
            outside = middle
    return inside


def _log_likelihood(k: float, n: float, p: float) -> float:
    if p <= 0.0:
        return 0.0 if k == 0 else -math.inf
    if p >= 1.0:
        return 0.0 if k == n else -math.inf
    return k * math.log(p) + (n - k) * math.log1p(-p)


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
