"""The work budget of one generated reply: values built, characters produced and time spent.

Per-keyword bounds (minItems, minLength, ...) do not bound a whole value: `minItems: 1000` three
levels deep is 10^9 values, and `{"anyOf": [{"$ref": "#"}, {"$ref": "#"}]}` doubles at every
level. One Budget is shared by every value of a reply (all its choices, tool calls and
structured content), and the generator spends from it as it goes, so a request that asks for
too much stops within MAX_SECONDS, whatever its shape, and gets a 400 naming the schema.

Time is this thread's CPU time, not the wall clock: the budget measures the request's own work,
so a machine busy with other processes (a loaded CI runner) does not turn an ordinary schema
into a 400. Generation runs synchronously on the event loop's thread, so nothing else is
counted in it.
"""

from __future__ import annotations

import time

from mockserver.replies.schema_values.limits import MAX_CHARS, MAX_NODES, MAX_SECONDS


class OverBudget(Exception):
    """Generation stopped: the reply would cost more than its budget (`what` says which)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Budget:
    """Spent by the generator as it builds; raises OverBudget at the first limit crossed."""

    __slots__ = ("_chars", "_deadline", "_nodes", "seconds")

    def __init__(
        self, nodes: int = MAX_NODES, chars: int = MAX_CHARS, seconds: float = MAX_SECONDS
    ) -> None:
        self._nodes = nodes
        self._chars = chars
        self.seconds = seconds
        # Set at the first look at the clock: a reply of plain text never spends from its
        # budget, and reading the thread's CPU clock is a system call (~10 us measured here).
        self._deadline: float | None = None

    def node(self) -> None:
        """One more value drawn, subschema checked or candidate tried (and a look at the clock,
        ~0.2 us against the microseconds a node costs)."""
        self._nodes -= 1
        if self._nodes < 0:
            raise OverBudget(f"more than {MAX_NODES} values to build")
        self.clock()

    def chars(self, count: int) -> None:
        """`count` more characters of strings in the reply."""
        self._chars -= count
        if self._chars < 0:
            raise OverBudget(f"more than {MAX_CHARS} characters of strings")
        self.clock()

    def clock(self) -> None:
        now = time.thread_time()
        if self._deadline is None:
            self._deadline = now + self.seconds
        elif now > self._deadline:
            raise OverBudget(f"more than {self.seconds:g} s of CPU time")
