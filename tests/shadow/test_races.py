"""Which requests served meanwhile race a shadowed request's comparison
(strangler.shadow.races, #23)."""

from __future__ import annotations

import pytest

from strangler.shadow.races import Races, Served, Window

PATH = "/articles/a/favorite"


def favorite_window(races: Races) -> Window:
    window = Window("POST", b"", b"")
    races.open(PATH, window)
    return window


def test_a_write_on_the_same_path_started_during_the_window_races_it() -> None:
    """An unshadowed POST to the same path, started while the window is open, races it."""
    races = Races()
    window = favorite_window(races)
    races.begin(PATH, Served("POST", b"", writes=True))
    assert window.raced


def test_a_write_still_being_served_when_the_window_opens_races_it() -> None:
    """A write that started before the window and is still running races it too."""
    races = Races()
    races.begin(PATH, Served("POST", b"", writes=True))
    assert favorite_window(races).raced


def test_a_write_that_ended_before_the_window_opened_does_not_race_it() -> None:
    """What a request finished writing before the sandboxed call began, both calls saw."""
    races = Races()
    served = Served("POST", b"", writes=True)
    races.begin(PATH, served)
    races.end(PATH, served)
    assert not favorite_window(races).raced


def test_a_request_on_another_path_does_not_race_it() -> None:
    """A write to another article leaves this one's comparison standing."""
    races = Races()
    window = favorite_window(races)
    races.begin("/articles/b/favorite", Served("POST", b"", writes=True))
    assert not window.raced


def test_its_own_served_call_does_not_race_it() -> None:
    """The shadowed request's own served call, noted like any other, is not a race."""
    races = Races()
    window = favorite_window(races)
    races.begin(PATH, Served("POST", b"", writes=True, body=b"", window=window))
    assert not window.raced


@pytest.mark.parametrize(
    ("other", "raced"),
    [
        (Served("GET", b"", writes=False), True),  # the same, body unread: may fill a cache
        (Served("GET", b"", writes=False, body=b"{}"), True),  # the same, body and all
        (Served("GET", b"", writes=False, body=b"[]"), False),  # another body, known
        (Served("GET", b"page=2", writes=False), False),  # another query
        (Served("HEAD", b"", writes=False), False),  # another method that does not write
        (Served("POST", b"", writes=False), False),  # declared free of side effects
        (Served("DELETE", b"", writes=True), True),  # a write, whatever its method
    ],
)
def test_a_request_that_does_not_write_races_only_the_same_request(
    other: Served, raced: bool
) -> None:
    """Served meanwhile on the same path, a request that does not write races a window only
    when it is the same request (method, query, and body where known)."""
    races = Races()
    window = Window("GET", b"", b"{}")
    races.open("/items/1", window)
    races.begin("/items/1", other)
    assert window.raced is raced


def test_nothing_is_kept_once_everything_is_answered() -> None:
    """Entries go when their requests end and their windows close: seen paths do not pile up."""
    races = Races()
    window = favorite_window(races)
    served = [Served("POST", b"", writes=True) for _ in range(3)]
    for path, one in zip((PATH, PATH, "/other"), served, strict=True):
        races.begin(path, one)
    assert len(races) == 4
    races.close(PATH, window)
    for path, one in zip((PATH, PATH, "/other"), served, strict=True):
        races.end(path, one)
    assert len(races) == 0
