"""flask-login on a FastAPI port: `current_user`, `login_user` and `logout_user`.

flask-login keeps the user's id in Flask's session (`_user_id`, with `_fresh` and `_id`, a hash
of the client's address and User-Agent); with LegacySessionMiddleware installed these helpers
read and write the very same keys, so a user logged in on either backend is logged in on both.
The user loader is yours, as `@login_manager.user_loader` was: it takes the id (a string) and
returns the user or None.

Session protection "basic" (flask-login's default) is kept: a session used from another address
or browser is marked not fresh. Remember-me cookies and request loaders are not covered.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import sha512
from typing import Any

from starlette.requests import Request
from werkzeug.exceptions import Unauthorized

from strangler.compat.requests import legacy_header
from strangler.compat.session import legacy_session

UserLoader = Callable[[str], Any]


def session_identifier(request: Request) -> str:
    """flask-login's `_create_identifier()`: sha512 of "address|user agent", as it formats them
    (bytes reprs included: `b'127.0.0.1'|b'curl/8'`)."""
    forwarded = legacy_header(request, "x-forwarded-for")
    address: bytes | None = None
    if forwarded is not None:
        address = forwarded.encode().split(b",")[0].strip()
    elif request.client is not None:
        address = request.client.host.encode().strip()
    agent = legacy_header(request, "user-agent")
    agent_bytes = agent.encode() if agent is not None else None
    base = f"{address!r}|{agent_bytes!r}"  # str() of bytes and None, as flask-login formats
    return sha512(base.encode("utf8")).hexdigest()


def current_user(loader: UserLoader) -> Callable[[Request], Any]:
    """A dependency answering flask-login's `current_user`: the loaded user, or None when
    nobody is logged in (flask-login's anonymous user)."""

    def dependency(request: Request) -> Any:
        session = legacy_session(request)
        # flask-login's "basic" protection: a session seen from elsewhere is no longer fresh.
        moved = session and session.get("_id") != session_identifier(request)
        if moved and session.get("_fresh") is not False:
            session["_fresh"] = False
        user_id = session.get("_user_id")
        return loader(user_id) if user_id is not None else None

    return dependency


def login_required(loader: UserLoader) -> Callable[[Request], Any]:
    """A dependency answering the user, or flask-login's `unauthorized()` without a
    login_view: Werkzeug's 401 (rendered by install_legacy_errors)."""
    load = current_user(loader)

    def dependency(request: Request) -> Any:
        user = load(request)
        if user is None:
            raise Unauthorized()
        return user

    return dependency


def login_user(request: Request, user_id: str, *, fresh: bool = True) -> None:
    """flask-login's `login_user(user)` for the user whose `get_id()` is `user_id`."""
    session = legacy_session(request)
    session["_user_id"] = user_id
    session["_fresh"] = fresh
    session["_id"] = session_identifier(request)


def logout_user(request: Request) -> None:
    """flask-login's `logout_user()`: forgets the user, keeps the rest of the session."""
    session = legacy_session(request)
    for key in ("_user_id", "_fresh", "_id"):
        session.pop(key, None)
