"""Events read back from the flag store (strangler.rollout.events) and told once in the fleet
by the clerk (strangler.rollout.clerk): flag changes, guard actions, rollout steps (#25)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from strangler.assembly import create_gateway
from strangler.gateway.dispatch import Gateway
from strangler.rollout import clerk as clerk_module
from strangler.rollout.clerk import Clerk
from strangler.rollout.conductor import GUARD_ACTOR
from strangler.rollout.events import EventCounter, EventFollower
from strangler.rollout.plan import Criteria
from strangler.rollout.service import ROLLOUT_ACTOR
from tests.support.waiting import wait_until
from tests.test_apps import rollout_pair

ENDPOINT = "GET /work"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gateway = create_gateway(rollout_pair.legacy, rollout_pair.migrated, "memory:")
    yield gateway  # no request: its threads are not started, the test drives the clerk
    gateway.close()


class Told:
    """A notifier that keeps what it is told."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.ids: list[str] = []

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def send(self, event: object) -> None:
        self.events.append(f"{event.kind} {event.endpoint}")  # type: ignore[attr-defined]
        self.ids.append(event.id)  # type: ignore[attr-defined]


def test_the_first_look_tells_nothing_of_the_past(gateway: Gateway) -> None:
    """A follower starts at the ends of the audit trail and the rollouts' records."""
    service = gateway.runtime.service
    service.set(ENDPOINT, "canary", 5, actor="ann", reason="before")
    follower = EventFollower(service.store)
    assert follower.poll() == []
    service.set(ENDPOINT, "legacy", actor="ann", reason="after")
    [event] = follower.poll()
    assert (event.kind, event.actor) == ("flag_changed", "ann")
    assert event.text == "GET /work: ann set canary 5% -> legacy: after"
    assert follower.poll() == []


def test_guard_actions_and_rollout_steps_are_told_but_a_rollouts_own_moves_once(
    gateway: Gateway,
) -> None:
    """The guard's change is guard_fired; a rollout's start is told by its own event, not again
    as the flag change it made; an operator's pause is told as paused."""
    service, rollouts = gateway.runtime.service, gateway.runtime.rollouts
    follower = EventFollower(service.store)
    follower.poll()
    service.set(ENDPOINT, "migrated", actor="ann", reason="ported")
    service.set(ENDPOINT, "legacy", actor=GUARD_ACTOR, reason="5xx rate 40% over 60s")
    rollouts.start(ENDPOINT, (10, 100), 60.0, 20, Criteria(), actor="bob", reason="again")
    rollouts.pause(ENDPOINT, actor="bob", reason="lunch")
    told = follower.poll()
    assert [e.kind for e in told] == ["flag_changed", "guard_fired", "started", "paused"]
    assert told[3].actor == "bob"
    assert "rollout paused: by bob: lunch" in told[3].text
    assert all(e.actor != ROLLOUT_ACTOR or e.kind != "flag_changed" for e in told)


def test_a_started_event_names_the_operator_who_started_the_rollout(gateway: Gateway) -> None:
    """A rollout's started event (webhooks' `actor`) is its starter's, not the conductor's
    (#25: a rollout started from the CLI was told as by 'strangler rollout')."""
    follower = EventFollower(gateway.runtime.service.store)
    follower.poll()
    gateway.runtime.rollouts.start(
        ENDPOINT, (10, 100), 60.0, 20, Criteria(), actor="admin (as ann@laptop)", reason="go"
    )
    [started] = follower.poll()
    assert (started.kind, started.actor) == ("started", "admin (as ann@laptop)")


def test_a_clerk_taking_over_goes_on_from_the_cursor_without_repeats(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second worker's clerk that takes the lease over tells only what came after what the
    first told, each event once, with the same ids."""
    monkeypatch.setattr(clerk_module, "LEASE", 0.05)
    service = gateway.runtime.service
    first_told, second_told = Told(), Told()
    first = Clerk(service, "w1", notifier=first_told)  # type: ignore[arg-type]
    second = Clerk(service, "w2", notifier=second_told)  # type: ignore[arg-type]
    first.tick()  # takes its place
    service.set(ENDPOINT, "canary", 5, actor="ann", reason="one")
    first.tick()
    second.tick()  # the lease is the first's: tells nothing
    assert (len(first_told.ids), second_told.ids) == (1, [])
    service.set(ENDPOINT, "canary", 10, actor="ann", reason="two")
    wait_until(lambda: second.tick() or second.follower is not None, what="the lease taken over")
    assert second_told.events == ["flag_changed GET /work"]
    assert second_told.ids[0] not in first_told.ids


def test_the_counter_counts_rollout_events_and_guard_actions_by_kind(gateway: Gateway) -> None:
    """`strangler_rollout_events_total` counts each kind per endpoint; plain flag changes not."""
    service = gateway.runtime.service
    counter = EventCounter()
    clerk = Clerk(service, "w1", counter=counter)
    clerk.tick()
    service.set(ENDPOINT, "migrated", actor="ann", reason="ported")
    service.set(ENDPOINT, "legacy", actor=GUARD_ACTOR, reason="failing")
    clerk.tick()
    value = counter.registry.get_sample_value
    labels = {"endpoint": ENDPOINT, "kind": "guard_fired"}
    assert value("strangler_rollout_events_total", labels) == 1
    assert value("strangler_rollout_events_total", {**labels, "kind": "flag_changed"}) is None
