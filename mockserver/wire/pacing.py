"""`--pace realistic`: replies take the time the real model would, as their usage block says.

The timings come from the reply's own `usage.latency_checkpoint` (drawn, seeded, from the
model's latency profile), so what a client measures and what the usage block reports agree:
a stream waits `user_visible_ttft_ms` before the first token, then `service_tbt_ms` per token;
a JSON reply arrives after `total_duration_ms`. Explicit faults (header, fixture, --fault)
override the pace key by key. `instant` (the default: CI, the pytest plugin) sends at once.
"""

from __future__ import annotations

from typing import Literal

from mockserver.replies.completion import Completion
from mockserver.wire.chunks import TOKENS_PER_CHUNK
from mockserver.wire.faults import FaultPlan

Pace = Literal["instant", "realistic"]
PACES: tuple[Pace, ...] = ("instant", "realistic")


def paced(plan: FaultPlan, completion: Completion, *, stream: bool) -> FaultPlan:
    """`plan` over the realistic timing of `completion` (the plan wins where it says something)."""
    timings = completion.usage.latency_checkpoint
    if not timings:
        return plan
    if stream:
        tbt = timings["service_tbt_ms"]
        pace = FaultPlan(
            ttft_ms=timings["user_visible_ttft_ms"],
            chunk_ms=tbt * TOKENS_PER_CHUNK,  # a content chunk carries a few tokens
            jitter_ms=tbt,
        )
    else:
        total = timings["total_duration_ms"]
        pace = FaultPlan(delay_ms=(total, total))
    return pace.merged(plan)
