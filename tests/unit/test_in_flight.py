"""InFlight: the count graceful shutdown waits on, and its waiters (made only when one waits)."""

from __future__ import annotations

import asyncio

from mockserver.app.tracing import InFlight


async def test_idle_returns_at_once_with_nothing_in_flight() -> None:
    await asyncio.wait_for(InFlight().idle(), timeout=1)


async def test_idle_waits_for_the_last_request_to_leave() -> None:
    in_flight = InFlight()
    in_flight.enter()
    in_flight.enter()
    waiters = [asyncio.ensure_future(in_flight.idle()) for _ in range(2)]
    await asyncio.sleep(0)
    in_flight.leave()
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters), "one request is still in flight"
    in_flight.leave()
    await asyncio.wait_for(asyncio.gather(*waiters), timeout=1)
    assert in_flight.count == 0


async def test_a_waiter_that_gave_up_does_not_break_the_others() -> None:
    """Shutdown waits with a timeout (serving._first_of cancels what did not finish)."""
    in_flight = InFlight()
    in_flight.enter()
    gave_up = asyncio.ensure_future(in_flight.idle())
    waiting = asyncio.ensure_future(in_flight.idle())
    await asyncio.sleep(0)
    gave_up.cancel()
    await asyncio.sleep(0)
    in_flight.leave()
    await asyncio.wait_for(waiting, timeout=1)
    assert gave_up.cancelled()
    in_flight.enter()  # a later wait starts afresh
    later = asyncio.ensure_future(in_flight.idle())
    await asyncio.sleep(0)
    assert not later.done()
    in_flight.leave()
    await asyncio.wait_for(later, timeout=1)
