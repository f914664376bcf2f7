"""A Completion as the chunks of a stream, in the order OpenAI sends them.

Per choice: a role delta, reasoning pieces, content pieces (a few tokens each), tool calls (a
header delta with id, type and name, then argument fragments), and an empty delta carrying the
finish_reason. With n > 1 the choices are interleaved one per chunk, first appearance in index
order. With include_usage every chunk has `usage: null` and one last chunk has `choices: []`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from mockserver.replies import tokens
from mockserver.replies.completion import Choice, Completion
from mockserver.replies.logprobs import content_json
from mockserver.wire import sse

TOKENS_PER_CHUNK = 3
# (delta, finish_reason) or (delta, finish_reason, logprobs of the delta's content tokens)
Delta = tuple[dict[str, Any], str | None] | tuple[dict[str, Any], str | None, dict[str, Any]]


def _pieces(text: str) -> Iterator[str]:
    parts = tokens.split(text)
    for start in range(0, len(parts), TOKENS_PER_CHUNK):
        yield "".join(parts[start : start + TOKENS_PER_CHUNK])


def _content(choice: Choice) -> Iterator[Delta]:
    """The content pieces, each with the logprobs of its tokens when they were asked for."""
    entries = choice.logprobs
    for i, piece in enumerate(_pieces(choice.content or "")):
        if entries is None:
            yield {"content": piece}, None
        else:
            mine = entries[i * TOKENS_PER_CHUNK : (i + 1) * TOKENS_PER_CHUNK]
            yield {"content": piece}, None, content_json(mine)


def choice_deltas(choice: Choice) -> Iterator[Delta]:
    """(delta, finish_reason) pairs of one choice; finish_reason is set on the last only."""
    opening = "" if choice.content is not None else None
    yield {"role": "assistant", "content": opening, "refusal": None}, None
    for piece in _pieces(choice.reasoning_content or ""):
        yield {"reasoning_content": piece}, None
    yield from _content(choice)
    for index, call in enumerate(choice.tool_calls):
        header = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        yield {"tool_calls": [header]}, None
        for piece in _pieces(call.arguments):
            yield {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, None
    if choice.function_call is not None:
        yield {"function_call": {"name": choice.function_call.name, "arguments": ""}}, None
        for piece in _pieces(choice.function_call.arguments):
            yield {"function_call": {"arguments": piece}}, None
    if choice.annotations:
        yield {"annotations": list(choice.annotations)}, None
    yield {}, choice.finish_reason


def _interleaved(completion: Completion) -> Iterator[tuple[int, Delta]]:
    lanes = [(c.index, choice_deltas(c)) for c in completion.choices]
    while lanes:
        for lane in list(lanes):
            delta = next(lane[1], None)
            if delta is None:
                lanes.remove(lane)
            else:
                yield lane[0], delta


def _envelope(completion: Completion, include_usage: bool) -> dict[str, Any]:
    """The fields every chunk of the stream repeats, in the order they are sent."""
    envelope: dict[str, Any] = {
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
        "system_fingerprint": completion.system_fingerprint,
        "service_tier": completion.service_tier,
    }
    if include_usage:
        envelope["usage"] = None
    return envelope


def _choices(completion: Completion) -> Iterator[dict[str, Any]]:
    """Each chunk's one choice, in stream order."""
    for index, (delta, finish_reason, *logprobs) in _interleaved(completion):
        yield {
            "index": index,
            "delta": delta,
            "logprobs": logprobs[0] if logprobs else None,
            "finish_reason": finish_reason,
        }


def chunks(completion: Completion, *, include_usage: bool) -> Iterator[dict[str, Any]]:
    envelope = _envelope(completion, include_usage)
    for choice in _choices(completion):
        yield {**envelope, "choices": [choice]}
    if include_usage:
        yield {**envelope, "choices": [], "usage": completion.usage.to_json()}


def sse_frames(completion: Completion, *, include_usage: bool) -> list[bytes]:
    """The SSE frames of `chunks()`, byte for byte, then [DONE]: the stream of a reply with no
    fault to apply. The envelope is encoded once, not once per chunk (a 40-chunk reply spent
    most of its encoding on the same six fields)."""
    envelope = _envelope(completion, include_usage)
    try:
        head = b"data: " + orjson.dumps(envelope)[:-1] + b',"choices":['
    except TypeError:  # json_bytes' stdlib way (ASCII-escaped) for every frame, as chunks() has
        return [*map(sse.frame, chunks(completion, include_usage=include_usage)), sse.DONE]
    sent = []
    for choice in _choices(completion):
        try:
            sent.append(head + orjson.dumps(choice) + b"]}\n\n")
        except TypeError:  # the whole chunk the stdlib way: its envelope is escaped there too
            sent.append(sse.frame({**envelope, "choices": [choice]}))
    if include_usage:
        sent.append(sse.frame({**envelope, "choices": [], "usage": completion.usage.to_json()}))
    sent.append(sse.DONE)
    return sent
