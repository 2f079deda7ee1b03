"""Replaying a case on both sides: captures, repeats, resets, cookies, mixed orders, the ledger."""

from __future__ import annotations

import dataclasses
import json

import httpx

from strangler.comparison.cases import Case, Request, Step
from strangler.comparison.compare import Answer
from strangler.comparison.ledger import Entry, Ledger
from strangler.contracts.runner import prime, run_case
from strangler.sandbox.context import Sandbox, current
from strangler.types import Backend


class FakeSide:
    """A Target whose answers come from a function; counts requests since the last reset."""

    def __init__(
        self, backend: Backend, answer: object, *, can_reset: bool = True, sandboxed: bool = False
    ) -> None:
        self.backend = backend
        self._answer = answer
        self._can_reset = can_reset
        self.sandboxed = sandboxed
        self.sandboxes: list[Sandbox | None] = []  # the sandbox each request ran in
        self.sent: list[Request] = []
        self.cookies: list[dict[str, str]] = []  # the jar as each request found it
        self.count = 0

    @property
    def can_reset(self) -> bool:
        return self._can_reset

    async def reset(self) -> None:
        self.count = 0

    async def send(self, request: Request, cookies: httpx.Cookies) -> Answer:
        self.sent.append(request)
        self.sandboxes.append(current())
        self.cookies.append(dict(cookies))
        self.count += 1
        body = self._answer(request, self.count)  # type: ignore[operator]
        headers = [("content-type", "application/json")]
        if request.path == "/login":  # a session cookie, as a login sets it
            headers.append(("set-cookie", f"session={self.backend.value}; Path=/"))
        cookies.set("session", self.backend.value, domain="")
        return Answer(200, tuple(headers), json.dumps(body).encode())


def counter(request: Request, count: int) -> object:
    return {"token": "t-123", "count": count, "path": request.path}


LOGIN = Step(Request("POST", "/login"), capture={"token": "$.token"})


async def test_captures_are_substituted_in_later_steps() -> None:
    """A value captured from one answer is sent in the next request, on each side."""
    legacy, migrated = FakeSide(Backend.LEGACY, counter), FakeSide(Backend.MIGRATED, counter)
    case = Case("c", (LOGIN, Step(Request("GET", "/items/${token}", {"X": "Bearer ${token}"}))))
    result = await run_case(case, legacy, migrated, Ledger())
    assert not result.failed
    assert legacy.sent[1].path == "/items/t-123"
    assert migrated.sent[1].headers == {"X": "Bearer t-123"}


async def test_each_side_starts_from_fresh_state() -> None:
    """The reset runs before each side, so counters (caches) line up."""
    legacy, migrated = FakeSide(Backend.LEGACY, counter), FakeSide(Backend.MIGRATED, counter)
    case = Case("c", (Step(Request("GET", "/n"), repeat=3),), stateful=True)
    result = await run_case(case, legacy, migrated, Ledger())
    assert result.differences == []
    assert len(migrated.sent) == 3


async def test_differences_name_the_step_and_the_ledger_declares_them() -> None:
    """A difference names its step; one the ledger covers is declared and does not fail."""

    def off_by_one(request: Request, count: int) -> object:
        return {"token": "t-123", "count": count + 1, "path": request.path}

    case = Case("c", (LOGIN, Step(Request("GET", "/n"), repeat=2)))
    legacy, migrated = FakeSide(Backend.LEGACY, counter), FakeSide(Backend.MIGRATED, off_by_one)
    result = await run_case(case, legacy, migrated, Ledger())
    assert [(d.step, d.where, d.legacy, d.migrated) for d in result.differences][-1] == (
        "step 2 #2",
        "$.count",
        3,
        4,
    )
    assert result.failed
    ledger = Ledger([Entry(why="known", case="c", where="$.count")])
    declared = await run_case(case, legacy, migrated, ledger)
    assert not declared.failed
    assert len(declared.declared) == 3


async def test_a_capture_that_finds_nothing_fails_the_case() -> None:
    """A capture path that names nothing is an error, not a silent empty string."""
    side = FakeSide(Backend.LEGACY, lambda r, n: {})
    other = FakeSide(Backend.MIGRATED, lambda r, n: {})
    case = Case("c", (LOGIN, Step(Request("GET", "/x/${token}"))))
    result = await run_case(case, side, other, Ledger())
    assert result.failed
    assert any("capture 'token' found nothing at $.token" in e for e in result.errors)


async def test_stateful_cases_run_where_state_cannot_be_reset() -> None:
    """Without a reset hook (a live gateway) a stateful case still runs and is compared."""
    legacy = FakeSide(Backend.LEGACY, counter, can_reset=False)
    migrated = FakeSide(Backend.MIGRATED, counter, can_reset=False)
    case = Case("c", (Step(Request("GET", "/n")),), stateful=True)
    result = await run_case(case, legacy, migrated, Ledger())
    assert result.skipped is None
    assert (len(legacy.sent), len(migrated.sent), result.compared) == (1, 1, 1)


async def test_each_play_of_sandboxed_sides_runs_in_a_sandbox_of_its_own() -> None:
    """Sandboxed sides (#23): every step of a play runs in one sandbox, and each play (legacy,
    migrated, each mixed order) in a new one, closed when the play ends."""
    legacy = FakeSide(Backend.LEGACY, counter, sandboxed=True)
    migrated = FakeSide(Backend.MIGRATED, counter, sandboxed=True)
    case = Case("c", (LOGIN, Step(Request("GET", "/me"))), mixed=2)
    await run_case(case, legacy, migrated, Ledger())
    boxes = legacy.sandboxes + migrated.sandboxes
    assert all(box is not None and box.closed for box in boxes)
    assert len({id(box) for box in boxes}) == 4  # legacy, migrated, 2 mixed orders
    assert legacy.sandboxes[0] is legacy.sandboxes[1]  # both steps of the legacy play
    assert current() is None


async def test_sides_that_are_not_sandboxed_play_outside_any_sandbox() -> None:
    """Without a registered database the plays run as before, in no sandbox."""
    legacy, migrated = FakeSide(Backend.LEGACY, counter), FakeSide(Backend.MIGRATED, counter)
    await run_case(Case("c", (LOGIN,)), legacy, migrated, Ledger())
    assert legacy.sandboxes == migrated.sandboxes == [None]


async def test_every_play_starts_with_an_empty_cookie_jar() -> None:
    """Cookies carry from step to step within a play, never from one play or case to the next."""
    legacy, migrated = FakeSide(Backend.LEGACY, counter), FakeSide(Backend.MIGRATED, counter)
    case = Case("c", (LOGIN, Step(Request("GET", "/me"))))
    for _ in range(2):
        await run_case(case, legacy, migrated, Ledger())
    assert [jar.get("session") for jar in legacy.cookies] == [None, "legacy", None, "legacy"]
    assert [jar.get("session") for jar in migrated.cookies] == [None, "migrated"] * 2


async def test_a_mixed_case_is_played_across_backends_and_compared_to_legacy() -> None:
    """Each switch point in both directions, cookies and captures carried across backends."""

    def same(request: Request, count: int) -> object:
        return {"token": "t-123", "path": request.path}

    legacy, migrated = FakeSide(Backend.LEGACY, same), FakeSide(Backend.MIGRATED, same)
    steps = (LOGIN, Step(Request("GET", "/a/${token}")), Step(Request("GET", "/b")))
    result = await run_case(Case("c", steps, mixed=8), legacy, migrated, Ledger())
    orders = {d.step.split("]")[0] for d in result.differences}
    assert result.compared == 3 * 7  # all-migrated, 4 switches and 2 others, against all-legacy
    assert orders == set()  # the fake answers alike wherever a step goes
    # The second step on migrated after a login on legacy carries legacy's cookie and token.
    assert {"session": "legacy"} in migrated.cookies
    assert any(r.path == "/a/t-123" for r in migrated.sent)


async def test_a_pinned_step_goes_to_its_backend_in_every_play() -> None:
    """`backend: legacy` keeps a step on legacy, even in the all-migrated play."""
    legacy, migrated = FakeSide(Backend.LEGACY, counter), FakeSide(Backend.MIGRATED, counter)
    pinned = Step(Request("POST", "/login"), capture={"token": "$.token"}, backend=Backend.LEGACY)
    await run_case(Case("c", (pinned, Step(Request("GET", "/x")))), legacy, migrated, Ledger())
    assert [r.path for r in legacy.sent] == ["/login", "/x", "/login"]
    assert [r.path for r in migrated.sent] == ["/x"]


async def test_a_mixed_case_names_the_order_that_differs() -> None:
    """A backend that forgets the other's session differs only in mixed orders, and says which."""

    def forgets_legacy_sessions(request: Request, count: int) -> object:
        return {"token": "t-123", "count": count, "path": request.path}

    class OwnSessions(FakeSide):
        async def send(self, request: Request, cookies: httpx.Cookies) -> Answer:
            foreign = cookies.get("session") == "legacy"
            answer = await super().send(request, cookies)
            if foreign and request.path == "/me":
                return Answer(401, answer.headers, b'{"error": "log in"}')
            return answer

    legacy = FakeSide(Backend.LEGACY, counter)
    migrated = OwnSessions(Backend.MIGRATED, forgets_legacy_sessions)
    case = Case("c", (LOGIN, Step(Request("GET", "/me"))), mixed=4)
    result = await run_case(case, legacy, migrated, Ledger())
    assert result.failed
    assert {d.step for d in result.undeclared if d.where == "status"} == {
        "[legacy→migrated] step 2"
    }


def test_a_secure_cookie_comes_back_over_plain_http() -> None:
    """In process the gateway is on http: a login's Secure session cookie must still be sent
    back, or every logged-in step would compare two logged-out answers."""
    from strangler.contracts.runner import scenario_cookies

    jar = scenario_cookies()
    login = httpx.Request("POST", "http://testserver/login")
    jar.extract_cookies(
        httpx.Response(303, headers=[("set-cookie", "session=s1; Secure; HttpOnly")], request=login)
    )
    me = httpx.Request("GET", "http://testserver/me")
    jar.set_cookie_header(me)
    assert me.headers["cookie"] == "session=s1"


async def test_a_response_cut_off_on_one_side_only_is_a_difference() -> None:
    """Migrated breaking off its answer (an exception mid-stream) differs, even where the status
    and the bytes so far match; an exception answered with a whole 500 page is only named."""

    class Raising(FakeSide):
        def __init__(self, *args: object, broken: bool) -> None:
            super().__init__(*args)  # type: ignore[arg-type]
            self.broken = broken

        async def send(self, request: Request, cookies: httpx.Cookies) -> Answer:
            answer = await super().send(request, cookies)
            return Answer(
                answer.status, answer.headers, answer.body, "ValueError: boom", self.broken
            )

    case = Case("c", (Step(Request("GET", "/n")),))
    legacy = FakeSide(Backend.LEGACY, counter)
    cut = await run_case(case, legacy, Raising(Backend.MIGRATED, counter, broken=True), Ledger())
    assert [(d.where, d.legacy, d.migrated) for d in cut.differences] == [
        ("response", "complete", "cut off")
    ]
    assert cut.raised == ["the request on migrated raised ValueError: boom"]
    whole = await run_case(case, legacy, Raising(Backend.MIGRATED, counter, broken=False), Ledger())
    assert (whole.differences, whole.raised) == (
        [],
        ["the request on migrated raised ValueError: boom"],
    )


def test_a_captured_location_is_followed_as_a_local_path() -> None:
    """A redirect's absolute Location becomes a path on the gateway, query kept."""
    from strangler.contracts.runner import local_path

    assert local_path("http://localhost:5000/auth/login?next=%2F") == "/auth/login?next=%2F"
    assert local_path("/me") == "/me"
    assert local_path("me") == "/me"


async def test_setup_steps_run_in_every_play_and_are_not_compared() -> None:
    """A login pinned to legacy runs before each play and feeds its token to the next step, but
    its answers (a fresh token each time) are not compared, and the result says so (#24)."""
    tokens = iter(range(1, 100))

    def fresh_tokens(request: Request, count: int) -> object:
        return {"token": f"tok-{next(tokens)}"} if request.path == "/login" else {"ok": True}

    legacy = FakeSide(Backend.LEGACY, fresh_tokens)
    migrated = FakeSide(Backend.MIGRATED, fresh_tokens)
    pinned = dataclasses.replace(LOGIN, backend=Backend.LEGACY, name="login")
    case = Case("c", (pinned, Step(Request("GET", "/x/${token}"))))
    result = await run_case(case, legacy, migrated, Ledger())
    assert result.differences == []
    assert (result.compared, result.uncompared) == (1, ["step 1 (login)"])
    assert [r.path for r in legacy.sent] == ["/login", "/x/tok-1", "/login"]
    assert [r.path for r in migrated.sent] == ["/x/tok-2"]  # the second login's token


async def test_a_primed_play_starts_from_the_setups_captures_and_cookies() -> None:
    """A `once` setup pinned to legacy is played once for both sides; every later play starts
    with its captured token and its cookies, and no play logs in again."""
    legacy, migrated = FakeSide(Backend.LEGACY, counter), FakeSide(Backend.MIGRATED, counter)
    setup = Case("setup", (dataclasses.replace(LOGIN, backend=Backend.LEGACY),))
    primed = await prime(setup, legacy, migrated)
    case = Case("c", (Step(Request("GET", "/me/${token}")),))
    for _ in range(3):
        result = await run_case(case, legacy, migrated, Ledger(), primed=primed)
        assert not result.failed
    assert [r.path for r in legacy.sent] == ["/login", *["/me/t-123"] * 3]
    assert [r.path for r in migrated.sent] == ["/me/t-123"] * 3
    assert all(jar == {"session": "legacy"} for jar in migrated.cookies)


async def test_an_unpinned_once_setup_is_played_on_each_side() -> None:
    """A setup that is not pinned is played once on legacy and once on migrated, and each side's
    plays start from their own."""
    legacy, migrated = FakeSide(Backend.LEGACY, counter), FakeSide(Backend.MIGRATED, counter)
    primed = await prime(Case("setup", (LOGIN,)), legacy, migrated)
    await run_case(
        Case("c", (Step(Request("GET", "/me")),)), legacy, migrated, Ledger(), primed=primed
    )
    assert [r.path for r in legacy.sent] == ["/login", "/me"]
    assert [r.path for r in migrated.sent] == ["/login", "/me"]
    assert migrated.cookies[-1] == {"session": "migrated"}
