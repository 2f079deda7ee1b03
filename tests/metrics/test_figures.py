"""Request figures: Tally arithmetic, quantiles, the heartbeat encoding and step windows."""

from __future__ import annotations

import bisect
import json

import pytest

from strangler.metrics.figures import BUCKETS, Tally, decode, encode, window

OVERFLOW = len(BUCKETS)  # index of the bucket past every bound


def requests(n: int, at: float, errors: int = 0) -> Tally:
    """`n` requests in the latency bucket holding `at` seconds, `errors` of them 5xx."""
    counts = [0] * (len(BUCKETS) + 1)
    counts[bisect.bisect_left(BUCKETS, at)] = n  # buckets are `le`: the first bound >= at
    return Tally(n, errors, n * at, tuple(counts))


def same(a: Tally, b: Tally) -> bool:
    """Equal counts, and seconds equal but for float rounding."""
    counts_equal = (a.requests, a.errors, a.buckets) == (b.requests, b.errors, b.buckets)
    return counts_equal and a.seconds == pytest.approx(b.seconds)


# --- the helper itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latency", "index"),
    [(0.0001, 0), (0.0005, 0), (0.002, 2), (0.0025, 2), (0.2, 8), (10.0, 13), (20.0, OVERFLOW)],
)
def test_helper_puts_requests_in_the_bucket_holding_the_latency(latency: float, index: int) -> None:
    """The helper files a latency under the first bound at or above it, past all: overflow."""
    assert requests(7, at=latency).buckets[index] == 7
    assert sum(requests(7, at=latency).buckets) == 7


# --- arithmetic ---------------------------------------------------------------------------------


def test_add_sums_every_field() -> None:
    """Adding tallies adds requests, errors, seconds and each bucket."""
    total = requests(100, at=0.002, errors=3) + requests(10, at=0.2, errors=1)
    assert total.requests == 110
    assert total.errors == 4
    assert total.seconds == pytest.approx(0.2 + 2.0)
    assert total.buckets[2] == 100
    assert total.buckets[8] == 10
    assert sum(total.buckets) == 110


def test_add_refuses_buckets_of_another_length() -> None:
    """Tallies with different bucket layouts cannot be added silently."""
    with pytest.raises(ValueError, match="zip"):
        _ = Tally() + Tally(1, 0, 0.1, (1, 0))


def test_since_subtracts_the_earlier_totals() -> None:
    """Totals that only grew: the difference of every field."""
    earlier = requests(100, at=0.002, errors=3)
    later = earlier + requests(50, at=0.002, errors=2) + requests(5, at=0.2)
    counted = later.since(earlier)
    assert counted.requests == 55
    assert counted.errors == 2
    assert counted.seconds == pytest.approx(0.1 + 1.0)
    assert counted.buckets[2] == 50
    assert counted.buckets[8] == 5
    assert sum(counted.buckets) == 55


def test_since_with_fewer_requests_counts_nothing() -> None:
    """Requests that went down: `earlier` was read fresher (a worker id is one process, so it
    cannot be a restart); it counts as nothing, never as less."""
    earlier = requests(100, at=0.002, errors=3)
    now = requests(40, at=0.002, errors=1)
    assert now.since(earlier) == Tally()


def test_since_clamps_each_field_at_zero() -> None:
    """More requests in all, but fewer in one bucket: that bucket counts zero, the rest count."""
    earlier = requests(10, at=0.002)
    now = requests(5, at=0.002) + requests(20, at=0.05, errors=2)
    assert now.requests > earlier.requests
    counted = now.since(earlier)
    assert (counted.requests, counted.errors) == (15, 2)
    assert counted.buckets == requests(20, at=0.05).buckets


def test_since_never_gives_negative_seconds() -> None:
    """Seconds that went down by rounding (same counts) count as none, not negative."""
    earlier = Tally(10, 0, 1.0, requests(10, at=0.1).buckets)
    now = Tally(10, 0, 0.999999, requests(10, at=0.1).buckets)
    assert now.since(earlier).seconds == 0.0


def test_since_of_itself_is_empty() -> None:
    """Nothing new since the same totals: an empty tally."""
    totals = requests(100, at=0.002, errors=3)
    assert totals.since(totals) == Tally()


def test_since_with_fewer_errors_is_never_negative() -> None:
    """Errors that went down count as none, never as a negative that hides others' errors."""
    earlier = requests(10, at=0.002, errors=5)
    now = requests(20, at=0.002, errors=0)
    counted = now.since(earlier)
    assert (counted.requests, counted.errors) == (10, 0)


@pytest.mark.parametrize(
    ("tally", "rate"),
    [
        (Tally(), None),
        (requests(100, at=0.002, errors=3), 0.03),
        (requests(8, at=0.002, errors=8), 1.0),
        (requests(8, at=0.002), 0.0),
    ],
)
def test_error_rate(tally: Tally, rate: float | None) -> None:
    """The share of 5xx answers; None without requests."""
    assert tally.error_rate == rate


# --- quantiles ----------------------------------------------------------------------------------


def test_quantile_of_an_empty_tally_is_none() -> None:
    """No requests, no latency figure."""
    assert Tally().quantile(0.99) is None


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # 100 requests in (1 ms, 2.5 ms]: 1 ms + 1.5 ms * q
        (0.5, 0.00175),
        (0.99, 0.002485),
        (1.0, 0.0025),
    ],
)
def test_quantile_interpolates_within_one_bucket(q: float, expected: float) -> None:
    """Linear interpolation between the bucket's lower and upper bound."""
    assert requests(100, at=0.002).quantile(q) == pytest.approx(expected)


def test_quantile_in_the_first_bucket_starts_from_zero() -> None:
    """The first bucket's lower bound is 0."""
    assert requests(10, at=0.0001).quantile(0.5) == pytest.approx(0.00025)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.5, 0.001 + 0.0015 * 50 / 90),  # rank 50 of the 90 in (1 ms, 2.5 ms]
        (0.9, 0.0025),  # rank 90: exactly the top of the first non-empty bucket
        (0.95, 0.1 + 0.15 * 5 / 10),  # rank 95: 5 of the 10 in (100 ms, 250 ms]
        (0.99, 0.235),  # rank 99: 9 of those 10
    ],
)
def test_quantile_across_buckets(q: float, expected: float) -> None:
    """90 requests at 2 ms and 10 at 200 ms: the rank picks the bucket, empty ones skipped."""
    tally = requests(90, at=0.002) + requests(10, at=0.2)
    assert tally.quantile(q) == pytest.approx(expected)


@pytest.mark.parametrize("q", [0.01, 0.5, 0.99, 1.0])
def test_quantile_with_all_requests_in_overflow_is_the_last_bound(q: float) -> None:
    """Past the last bound nothing is known but that bound."""
    assert requests(10, at=20.0).quantile(q) == BUCKETS[-1]


def test_quantile_landing_in_overflow_is_the_last_bound() -> None:
    """98 fast and 2 past 10 s: p99 falls in overflow (10 s), p98 does not."""
    tally = requests(98, at=0.002) + requests(2, at=20.0)
    assert tally.quantile(0.99) == BUCKETS[-1]
    assert tally.quantile(0.98) == pytest.approx(0.0025)


# --- serialisation ------------------------------------------------------------------------------


def test_list_round_trip() -> None:
    """to_list/from_list give back the same tally."""
    tally = requests(100, at=0.002, errors=3) + requests(4, at=20.0, errors=4)
    data = tally.to_list()
    assert data == [104, 7, 80.2, list(tally.buckets)]
    assert Tally.from_list(json.loads(json.dumps(data))) == tally


def test_to_list_rounds_seconds_to_microseconds() -> None:
    """Seconds are kept to 6 decimals."""
    assert Tally(1, 0, 0.12345678, requests(1, at=0.2).buckets).to_list()[2] == 0.123457


def test_from_list_refuses_another_bucket_count() -> None:
    """A tally with the wrong number of buckets is refused, naming both counts."""
    with pytest.raises(ValueError, match=f"3 latency buckets, not {len(BUCKETS) + 1}"):
        Tally.from_list([1, 0, 0.1, [1, 0, 0]])


def test_encode_decode_round_trip() -> None:
    """A worker's totals decode to what was encoded."""
    totals = {
        "POST /predict": {
            "legacy": requests(200, at=0.002, errors=1),
            "migrated": requests(20, at=0.2, errors=2),
        },
        "GET /health": {"legacy": requests(5, at=0.0001)},
    }
    assert decode(encode(totals)) == totals
    assert decode(encode({})) == {}


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "",
        "[]",
        "null",
        "42",
        '"text"',
        '{"k": []}',
        '{"k": {"m": 5}}',
        '{"k": {"m": [1, 2]}}',
        '{"k": {"m": [1, 0, 0.1, [1, 0]]}}',
        '{"k": {"m": [1, 0, 0.1, null]}}',
        '{"k": {"m": ["x", 0, 0.1, ' + json.dumps([0] * (len(BUCKETS) + 1)) + "]}}",
        '{"k": {"m": [1, 0, 0.1, ' + json.dumps(["x"] * (len(BUCKETS) + 1)) + "]}}",
    ],
)
def test_decode_refuses_garbage_with_value_error(payload: str) -> None:
    """Anything but request totals raises ValueError (the fleet reader skips that worker)."""
    with pytest.raises(ValueError, match="not request totals"):
        decode(payload)


@pytest.mark.parametrize("count", ["Infinity", "1e999"])
def test_decode_refuses_infinite_counts_with_value_error(count: str) -> None:
    """A non-finite count is garbage like any other: ValueError."""
    buckets = json.dumps([0] * (len(BUCKETS) + 1))
    with pytest.raises(ValueError, match="not request totals"):
        decode('{"k": {"m": [' + count + ", 0, 0.1, " + buckets + "]}}")


# --- windows ------------------------------------------------------------------------------------


def test_window_sums_every_workers_deltas() -> None:
    """Each worker's growth since the step began, summed per backend."""
    start = {
        "w1": {"legacy": requests(100, at=0.002), "migrated": requests(10, at=0.002)},
        "w2": {"legacy": requests(50, at=0.002, errors=1)},
    }
    now = {
        "w1": {
            "legacy": start["w1"]["legacy"] + requests(30, at=0.002, errors=1),
            "migrated": start["w1"]["migrated"] + requests(5, at=0.2, errors=2),
        },
        "w2": {"legacy": start["w2"]["legacy"] + requests(20, at=0.05)},
    }
    summed = window(now, start)
    assert same(summed["legacy"], requests(30, at=0.002, errors=1) + requests(20, at=0.05))
    assert summed["migrated"].requests == 5
    assert summed["migrated"].errors == 2
    assert summed["migrated"].buckets == requests(5, at=0.2).buckets
    assert set(summed) == {"legacy", "migrated"}


def test_window_counts_a_new_worker_from_zero() -> None:
    """A worker absent at the start counts all its totals."""
    start = {"w1": {"legacy": requests(100, at=0.002)}}
    now = {
        "w1": {"legacy": requests(110, at=0.002)},
        "w2": {"legacy": requests(7, at=0.2, errors=1)},
    }
    summed = window(now, start)
    assert same(summed["legacy"], requests(10, at=0.002) + requests(7, at=0.2, errors=1))


def test_window_counts_a_new_backend_of_a_known_worker_from_zero() -> None:
    """A backend the worker had not counted at the start counts all its totals."""
    start = {"w1": {"legacy": requests(100, at=0.002)}}
    now = {"w1": {"legacy": requests(100, at=0.002), "migrated": requests(3, at=0.2)}}
    summed = window(now, start)
    assert summed["migrated"] == requests(3, at=0.2)
    assert summed["legacy"] == Tally()


def test_window_leaves_out_a_gone_worker() -> None:
    """A worker only in the start contributes nothing (not a negative delta)."""
    start = {
        "w1": {"legacy": requests(100, at=0.002)},
        "gone": {"legacy": requests(500, at=0.002), "migrated": requests(50, at=0.2)},
    }
    now = {"w1": {"legacy": requests(120, at=0.002)}}
    summed = window(now, start)
    assert set(summed) == {"legacy"}
    assert same(summed["legacy"], requests(20, at=0.002))


def test_window_never_counts_a_stale_read_below_zero() -> None:
    """A worker whose totals read lower than its baseline (a stale heartbeat against a live
    baseline) adds nothing; the others count as usual."""
    start = {
        "w1": {"legacy": requests(100, at=0.002)},
        "w2": {"legacy": requests(1000, at=0.002, errors=9)},
    }
    now = {
        "w1": {"legacy": requests(110, at=0.002)},
        "w2": {"legacy": requests(40, at=0.002, errors=2)},
    }
    summed = window(now, start)
    assert same(summed["legacy"], requests(10, at=0.002))


def test_window_of_nothing_is_empty() -> None:
    """No workers now: no backends in the window."""
    assert window({}, {"w1": {"legacy": requests(1, at=0.002)}}) == {}


def test_4xx_answers_are_kept_through_the_heartbeat_and_an_older_workers_totals_read() -> None:
    """A tally's 4xx count survives encode/decode, adds and subtracts; a worker's totals in the
    older four-figure form read as no 4xx (#25: the dashboard's 2xx/4xx/5xx rates)."""
    tally = Tally(10, 1, 0.5, (0,) * (len(BUCKETS) + 1), 3)
    assert decode(encode({"GET /x": {"legacy": tally}}))["GET /x"]["legacy"] == tally
    assert (tally + tally).client_errors == 6
    assert (tally + tally).since(tally).client_errors == 3
    assert Tally.from_list([10, 1, 0.5, [0] * (len(BUCKETS) + 1)]).client_errors == 0
