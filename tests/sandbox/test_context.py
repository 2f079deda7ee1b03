"""The Sandbox: carried by a context variable into the app's code, its held parts released once."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from strangler.sandbox.context import OutboundCall, Sandbox, active, current


def test_active_only_inside_a_sandbox() -> None:
    """`active()` is true inside a sandbox and false before and after it."""
    assert not active()
    with Sandbox(label="t") as box:
        assert active()
        assert current() is box
    assert not active()
    assert current() is None


def test_a_copied_context_carries_the_sandbox_into_a_thread() -> None:
    """A thread run in a copy of the context (as the WSGI bridge runs legacy) sees the sandbox;
    a plain thread does not."""
    seen: dict[str, bool] = {}
    with Sandbox():
        context = contextvars.copy_context()
        carried = threading.Thread(target=context.run, args=(lambda: seen.update(copied=active()),))
        plain = threading.Thread(target=lambda: seen.update(plain=active()))
        carried.start(), plain.start()
        carried.join(), plain.join()
    assert seen == {"copied": True, "plain": False}


def test_concurrent_tasks_do_not_see_each_others_sandbox() -> None:
    """Two requests served at once: only the sandboxed one's code sees a sandbox."""

    async def main() -> tuple[bool, bool]:
        started = asyncio.Event()
        release = asyncio.Event()

        async def sandboxed() -> bool:
            with Sandbox():
                started.set()
                await release.wait()
                return active()

        async def served() -> bool:
            await started.wait()
            inside = active()
            release.set()
            return inside

        return tuple(await asyncio.gather(sandboxed(), served()))  # type: ignore[return-value]

    assert asyncio.run(main()) == (True, False)


def test_held_parts_are_opened_once_and_released_newest_first() -> None:
    """A part is opened on first use, shared by later uses, and released when the sandbox
    closes, newest first; a failing release does not keep the others open."""
    events: list[str] = []

    def release(name: str) -> None:
        events.append(f"release {name}")
        if name == "b":
            raise OSError("cannot roll back b")

    with Sandbox() as box:
        assert box.hold("a", lambda: "a", release) == "a"
        assert box.hold("b", lambda: "b", release) == "b"
        assert box.hold("a", lambda: "other", release) == "a"
    assert events == ["release b", "release a"]
    with pytest.raises(RuntimeError, match="closed"):
        box.hold("c", lambda: "c", release)


def test_recorded_calls_are_shown_as_text() -> None:
    """An outbound call recorded in a sandbox is shown with its method, URL and body as text."""
    with Sandbox() as box:
        box.record(OutboundCall("POST", "http://mail.invalid/send", b'{"to": "ada"}'))
    assert [call.view() for call in box.calls] == [
        {"method": "POST", "url": "http://mail.invalid/send", "body": '{"to": "ada"}'}
    ]
