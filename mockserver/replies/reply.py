"""Reply: what the respond stage decided to send, before any bytes are written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.replies.completion import Completion
from mockserver.wire.faults import FaultPlan


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """Exactly one of completion, raw_body (with has_raw_body) or raw_events is the payload."""

    completion: Completion | None = None
    raw_body: Any = None
    has_raw_body: bool = False
    raw_events: tuple[str, ...] | None = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    fixture: str | None = None  # None: generated
    warnings: tuple[str, ...] = ()
    fault: FaultPlan | None = None  # the fixture's `fault:` block
