"""stubs/render_guard.py: a render past its limit is stopped, however the watchdog slept.

A watchdog that does not wake spins the test forever: the timeout mark turns that into a failure.
"""

from __future__ import annotations

import math
import sys
import threading
import time

import pytest

from mockserver.stubs import render_guard
from mockserver.stubs.render_guard import RenderTimeout, within_limit

pytestmark = pytest.mark.timeout(10)


def spin() -> None:
    while True:  # pure Python: the async exception lands between two bytecodes
        pass


def stopped_after(seconds: float) -> float:
    started = time.monotonic()
    with pytest.raises(RenderTimeout):
        within_limit(spin, seconds)
    return time.monotonic() - started


def test_a_runaway_render_is_stopped_at_its_limit() -> None:
    assert 0.2 <= stopped_after(0.2) < 1.0


def test_a_shorter_limit_wakes_a_watchdog_set_for_a_longer_one() -> None:
    within_limit(lambda: None, 5.0)  # the watchdog now sleeps until about 5 s from now
    assert stopped_after(0.2) < 1.0, "it must not wait for the 5 s deadline first"


def test_renders_in_quick_succession_do_not_stop_each_other() -> None:
    for _ in range(200):
        assert within_limit(lambda: 42, 0.05) == 42
    time.sleep(0.1)  # past every deadline set above: none of them may fire now
    assert within_limit(lambda: "done", 1.0) == "done"


def test_the_watchdog_sleeps_without_a_timeout_while_nothing_renders() -> None:
    """It polled every 50 ms before, taking the GIL from the event loop each time."""
    within_limit(lambda: None, 0.05)
    time.sleep(0.2)  # its last deadline has passed
    assert render_guard._WATCHDOG._sleeping_until == math.inf
    watchdog = next(t for t in threading.enumerate() if t.name == "template-watchdog")
    frame = sys._current_frames()[watchdog.ident]  # type: ignore[index]
    assert frame.f_code.co_name == "wait", "blocked on its condition, not in a sleep loop"
