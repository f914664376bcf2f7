"""Stream faults that change which frames are sent (pure: frames in, frames out).

Timing and transport faults (delays, pings, splitting, disconnects, stalls) happen while
writing, in delivery.py. Each frame keeps a note of the fault applied to it, for the journal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mockserver.replies.error_catalog import APOLOGY
from mockserver.replies.reply import ErrorBody
from mockserver.wire import sse
from mockserver.wire.faults import NO_FAULT, FaultPlan

Frame = tuple[bytes, str | None]  # the bytes, and the fault that made or changed them

STREAM_ERROR = ErrorBody(APOLOGY.message, APOLOGY.type, None, APOLOGY.code).error_object()


def _empty_delta(event: Mapping[str, Any]) -> dict[str, Any]:
    choice = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": None}
    return {**event, "choices": [choice]}


def _is_finish(event: Mapping[str, Any]) -> bool:
    return any(c.get("finish_reason") for c in event.get("choices") or ())


def _malformed(frame: bytes) -> bytes:
    """The first half of the JSON, cut mid-token, still framed as an event."""
    body = frame[len(b"data: ") : -2]
    return b"data: " + body[: max(len(body) // 2, 1)] + b"\n\n"


def apply(events: Sequence[Mapping[str, Any]], plan: FaultPlan) -> list[Frame]:
    """The frames of a stream (events then [DONE]) with the plan's structural faults applied."""
    if plan is NO_FAULT:  # every stream without a fault plan: no per-frame checks
        return [*((sse.frame(event), None) for event in events), (sse.DONE, None)]
    frames: list[Frame] = []
    for event in events:
        if plan.empty_delta_at is not None and len(frames) == plan.empty_delta_at:
            frames.append((sse.frame(_empty_delta(event)), "empty_delta"))
        frames.append((sse.frame(event), None))
        if plan.duplicate_finish and _is_finish(event):
            frames.append((sse.frame(event), "duplicate_finish"))
    if plan.malformed_at is not None and plan.malformed_at < len(frames):
        frames[plan.malformed_at] = (_malformed(frames[plan.malformed_at][0]), "malformed")
    if plan.error_at is not None:
        error = sse.frame({"error": STREAM_ERROR})
        frames = [*frames[: plan.error_at], (error, "error_event")]
    if not plan.no_done:
        frames.append((sse.DONE, None))
    if plan.crlf:
        frames = [(data.replace(b"\n", b"\r\n"), note or "crlf") for data, note in frames]
    return frames


def interleaved(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Argument fragments of parallel tool calls in turn (0, 1, 0, 1, ...) after all headers."""
    calls = [e for e in events if _tool_delta(e) is not None]
    if len({_tool_delta(e) for e in calls}) < 2:
        return events
    headers = [e for e in calls if "id" in e["choices"][0]["delta"]["tool_calls"][0]]
    lanes: dict[int, list[dict[str, Any]]] = {}
    for event in calls:
        if event not in headers:
            lanes.setdefault(_tool_delta(event) or 0, []).append(event)
    mixed: list[dict[str, Any]] = list(headers)
    while any(lanes.values()):
        for lane in lanes.values():
            if lane:
                mixed.append(lane.pop(0))
    first = events.index(calls[0])
    rest = [e for e in events if _tool_delta(e) is None]
    return rest[:first] + mixed + rest[first:]


def _tool_delta(event: Mapping[str, Any]) -> int | None:
    choices = event.get("choices") or ()
    calls = choices[0].get("delta", {}).get("tool_calls") if choices else None
    return calls[0]["index"] if calls else None
