"""Giving back the memory a burst freed (strangler.serving.memory), with a given gauge and trim,
and with glibc's own (#22)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from strangler.serving.memory import MemoryTrimmer, glibc_trim, resident

MIB = 2**20


class Heap:
    """A resident-memory reading that a trim brings down to what is in use."""

    def __init__(self, in_use: int) -> None:
        self.in_use = in_use
        self.rss = in_use
        self.trims = 0

    def trim(self) -> None:
        self.trims += 1
        self.rss = self.in_use


def test_memory_grown_past_the_level_is_trimmed_back() -> None:
    """A worker whose memory grew by more than the bound since its last level trims."""
    heap = Heap(180 * MIB)
    trimmer = MemoryTrimmer(grown=64 * MIB, trim=heap.trim, measure=lambda: heap.rss)
    heap.rss = 350 * MIB  # a burst, answered: freed, not given back
    trimmer.look()
    assert heap.trims == 1
    assert heap.rss == trimmer.level == 180 * MIB


def test_small_growth_is_left_alone() -> None:
    """Growth under the bound costs no trim."""
    heap = Heap(180 * MIB)
    trimmer = MemoryTrimmer(grown=64 * MIB, trim=heap.trim, measure=lambda: heap.rss)
    heap.rss = 230 * MIB
    trimmer.look()
    assert heap.trims == 0


def test_memory_really_in_use_is_trimmed_once_and_becomes_the_level() -> None:
    """A worker that holds what it grew by trims once, then takes that as its level."""
    heap = Heap(180 * MIB)
    trimmer = MemoryTrimmer(grown=64 * MIB, trim=heap.trim, measure=lambda: heap.rss)
    heap.in_use = heap.rss = 400 * MIB
    for _ in range(5):
        trimmer.look()
    assert heap.trims == 1
    assert trimmer.level == 400 * MIB


def test_a_burst_that_ends_after_a_trim_is_trimmed_again() -> None:
    """Memory that went down by more than the bound since the last trim is trimmed too: a trim
    during a burst, then the burst's end, whose freed memory glibc keeps (#22)."""
    heap = Heap(180 * MIB)
    trimmer = MemoryTrimmer(grown=64 * MIB, trim=heap.trim, measure=lambda: heap.rss)
    heap.in_use = heap.rss = 700 * MIB  # mid-burst: all of it in use
    trimmer.look()
    heap.in_use, heap.rss = 180 * MIB, 450 * MIB  # the burst is over: freed, partly kept
    trimmer.look()
    assert heap.trims == 2
    assert heap.rss == trimmer.level == 180 * MIB


# Four threads allocate 400 MB in 64 KiB pieces (as bodies arrive in chunks), each piece followed
# by a small object that stays (as a connection's state does); the pieces are freed, and the
# resident memory is printed before and after one look of a trimmer.
FREED = """
import threading
from strangler.serving.memory import MemoryTrimmer, resident
trimmer = MemoryTrimmer(grown=64 * 2**20)
pieces, kept = [], []
def allocate():
    for _ in range(1600):
        pieces.append(bytearray(65536))
        kept.append(bytearray(1024))
threads = [threading.Thread(target=allocate) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
pieces.clear()
before = resident()
trimmer.look()
print(before >> 20, resident() >> 20, trimmer.trims)
"""


@pytest.mark.skipif(glibc_trim() is None or resident() is None, reason="needs glibc and /proc")
def test_glibc_gives_back_what_threads_freed() -> None:
    """Memory freed by threads stays resident until a look trims it, then most of it is gone."""
    done = subprocess.run(
        [sys.executable, "-c", FREED], capture_output=True, text=True, timeout=60, check=True
    )
    before, after, trims = (int(n) for n in done.stdout.split())
    assert trims == 1
    assert before - after > 200, done.stdout
