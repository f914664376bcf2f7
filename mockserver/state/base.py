"""The interface every state backend implements, and the error when the store is away."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from mockserver.contract.errors import MockError

if TYPE_CHECKING:
    from mockserver.journal.store import ServeEvent
    from mockserver.stubs.model import Fixture
    from mockserver.wire.faults import FaultPlan

T = TypeVar("T")
RETRY_AFTER_S = 1


class StateUnavailable(MockError):
    """The shared store cannot be reached: a 503 the SDKs retry, never a hung request."""

    default_status = 503

    def __init__(self, why: str) -> None:
        super().__init__(
            f"The mock server's shared state is unavailable ({why}); retry shortly.",
            code="state_unavailable",
            headers={"retry-after": str(RETRY_AFTER_S), "retry-after-ms": "1000"},
        )


class SharedState(Protocol):
    """What every worker must see alike: journal, scenario counters, run-time fixture changes,
    rate-limit budgets, chaos draws. Every method either completes promptly or raises
    StateUnavailable."""

    backend: str  # "memory" | "redis"

    async def start(self) -> None:
        """Connect and catch up with changes made before this worker started."""

    async def close(self) -> None: ...

    async def health(self) -> dict[str, Any]:
        """{"status": "ok" | "degraded", ...} for /__admin/health."""

    # --- the journal
    async def record(self, event: ServeEvent) -> None: ...

    async def events(self) -> Sequence[ServeEvent]:
        """Newest first."""

    async def event(self, event_id: str) -> ServeEvent | None: ...

    async def journal_usage(self) -> tuple[int, int]:
        """(entries, bytes) of the journal: of all workers' one in Redis."""
        ...

    async def clear_journal(self) -> None: ...

    # --- one chat request
    async def charge(self, key: str, tokens: int) -> dict[str, str]:
        """Rate-limit budget of `key`: the x-ratelimit headers, or a 429 MockError."""

    async def chaos(self) -> FaultPlan:
        """The next chaos draw of the run (draw k is the same whichever worker makes it)."""

    async def respond(self, answer: Callable[[], T]) -> T:
        """Run `answer` (which selects a fixture and takes a step of its scenario) against
        current fixtures and counters, so that each step and each of `times` is used once
        across all workers."""

    # --- fixtures changed at run time (admin API)
    async def fresh(self) -> None:
        """Apply fixture changes other workers made, before reading the fixture set."""

    async def add_fixtures(self, fixtures: Sequence[Fixture]) -> None: ...

    async def replace_fixture(self, fixture: Fixture) -> None: ...

    async def remove_fixture(self, name: str) -> None: ...

    async def set_enabled(self, name: str, enabled: bool) -> None:
        """A disabled fixture stays listed but answers nothing (on every worker)."""

    async def calls(self) -> dict[str, int]:
        """Uses of each fixture so far."""

    async def reset_counters(self, name: str | None = None) -> None: ...

    async def reset_all(self) -> None:
        """Journal cleared, run-time fixtures dropped, scenarios restarted."""

    async def reload_files(self, fixtures: Sequence[Fixture], *, spec: bool = False) -> None:
        """New file fixtures (every worker reloads its files); counters start over. With
        `spec`, the --spec document was read again too, and every worker reads it."""
