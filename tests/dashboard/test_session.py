"""Dashboard sessions (strangler.dashboard.session): a signed cookie for a credential, a while."""

from __future__ import annotations

import pytest


def test_sessions_refuse_garbage_and_allow_dotted_names() -> None:
    """A cookie names a dotted credential; garbage, tampered and rotated ones are refused."""
    from strangler.credentials import Credentials
    from strangler.dashboard import session

    credentials = Credentials.parse("ann.smith:write:dotted-name-token", None, dev_mode=False)
    ann = credentials.match("dotted-name-token")
    assert ann is not None
    cookie = session.issue(credentials, ann)
    found = session.read(credentials, cookie)
    assert found is not None
    assert found.credential.name == "ann.smith"
    assert "dotted-name-token" not in cookie
    payload, _, signature = cookie.rpartition(".")
    tampered = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature
    for garbage in ("a.b.c.d.\xe9", "a.b.c.d", "", cookie + "x", tampered, "\udcff"):
        assert session.read(credentials, garbage) is None
    rotated = Credentials.parse("ann.smith:write:a-new-token", None, dev_mode=False)
    assert session.read(rotated, cookie) is None  # a rotated token ends its sessions


def test_a_session_ends_after_its_lifetime(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cookie is accepted until LIFETIME seconds after it was issued, and refused after."""
    import time

    from strangler.credentials import Credentials
    from strangler.dashboard import session

    credentials = Credentials.parse("ann:write:ann-secret-token", None, dev_mode=False)
    ann = credentials.match("ann-secret-token")
    assert ann is not None
    issued = time.time()
    monkeypatch.setattr(time, "time", lambda: issued)  # itsdangerous reads time.time()
    cookie = session.issue(credentials, ann)
    monkeypatch.setattr(time, "time", lambda: issued + session.LIFETIME - 1)
    assert session.read(credentials, cookie) is not None
    monkeypatch.setattr(time, "time", lambda: issued + session.LIFETIME + 2)
    assert session.read(credentials, cookie) is None


def test_a_session_holds_a_signed_credential_of_this_gateway_only() -> None:
    """A cookie signed by another gateway's credentials, or for a removed credential, is refused."""
    from strangler.credentials import Credentials
    from strangler.dashboard import session

    ours = Credentials.parse("ann:write:t1,cy:read:t2", None, dev_mode=False)
    theirs = Credentials.parse("ann:write:t9", None, dev_mode=False)
    ann = theirs.match("t9")
    assert ann is not None
    assert session.read(ours, session.issue(theirs, ann)) is None
    cy = ours.match("t2")
    assert cy is not None
    cookie = session.issue(ours, cy)
    found = session.read(ours, cookie)
    assert found is not None
    assert found.credential.name == "cy"
    again = session.read(ours, session.issue(ours, cy))
    assert again is not None
    assert again.csrf != found.csrf  # each session its own CSRF token
