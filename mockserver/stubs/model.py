"""A loaded fixture: its compiled match block, its compiled replies, where it came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.stubs.conditions import MatchBlock
from mockserver.stubs.steps import Step
from mockserver.wire.faults import FaultPlan


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a fixture file, with file:line and the path inside the fixture."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '/'}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


class FixtureLoadError(Exception):
    """Fixtures that cannot be served, with every problem found (not just the first)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True, kw_only=True)
class Fixture:
    name: str
    priority: int = 0
    times: int | None = None
    match: MatchBlock
    replies: tuple[Step, ...]  # one per step of the scenario (one for a plain reply)
    after_last: str = "repeat"  # for a sequence: repeat | cycle | error
    fault: FaultPlan | None = None  # faults and delays for every reply of this fixture
    source: str = "<runtime>"
    spec: Mapping[str, Any] = field(default_factory=dict)  # as written, for the admin API

    @property
    def is_sequence(self) -> bool:
        return "sequence" in (self.spec.get("reply") or {})

    @property
    def answers_alike(self) -> bool:
        """Every use gets the same step and none is refused: one reply, no `times`, no error
        after it. How many uses came before does not matter, only that they are counted."""
        return self.times is None and len(self.replies) == 1 and self.after_last != "error"

    @property
    def models(self) -> tuple[str, ...]:
        """Model names the fixture matches exactly (they join GET /v1/models)."""
        return tuple(value for kind, value in self.match.keys if kind == "model")
