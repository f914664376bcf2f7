"""The reply as plain data (Completion, Choice, ToolCall, Usage) and its chat.completion JSON.

Scripted and generated replies both end here; chunks.py turns the same object into a stream, so
a streamed and a plain reply to one request carry the same content and usage.
"""

from __future__ import annotations

import binascii
import dataclasses
import functools
import hashlib
import os
import random
import string
import time
from dataclasses import dataclass, field
from random import Random
from typing import Any

from mockserver.replies import tokens
from mockserver.replies.latency import latency_profile
from mockserver.replies.logprobs import TokenLogprob, content_json

_ALPHABET = string.ascii_letters + string.digits


# base64's two symbols as letters, made once (b64encode's altchars made this table per call)
_LETTERS_ONLY = bytes.maketrans(b"+/", b"xZ")
_IDS = random.Random(os.urandom(16))  # ids must be unique, not secret: a fast generator


def new_id(prefix: str, length: int = 29) -> str:
    """An id shaped like OpenAI's (`chatcmpl-` + 29 alphanumerics, `call_` + 24)."""
    # base64 of random bytes with its two symbols mapped to letters: all in C, under 1 us.
    raw = binascii.b2a_base64(_IDS.randbytes(length), newline=False).translate(_LETTERS_ONLY)
    return prefix + raw[:length].decode()


@functools.lru_cache(maxsize=256)  # model names come from clients: bounded
def fingerprint(model: str) -> str:
    """A stable `system_fingerprint` per model, as one deployment would report."""
    return "fp_" + hashlib.sha256(model.encode()).hexdigest()[:10]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # a JSON object as a string, exactly as OpenAI sends it
    scripted_id: bool = False  # the fixture wrote the id: keep it, even when replaying

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    index: int
    content: str | None
    finish_reason: str
    reasoning_content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    function_call: ToolCall | None = None  # legacy `functions` API: name and arguments only
    annotations: tuple[dict[str, Any], ...] = ()
    # logprobs: true was asked for: an entry per content token (none for a reply without text)
    logprobs: tuple[TokenLogprob, ...] | None = None

    @property
    def calls(self) -> tuple[ToolCall, ...]:
        """What carries arguments: the tool calls, or the legacy function call."""
        return (*self.tool_calls, *((self.function_call,) if self.function_call else ()))

    def logprobs_json(self) -> dict[str, Any] | None:
        return None if self.logprobs is None else content_json(self.logprobs)

    def message_json(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": self.content,
            "refusal": None,
            "annotations": list(self.annotations),
        }
        if self.reasoning_content is not None:
            message["reasoning_content"] = self.reasoning_content
        if self.tool_calls:
            message["tool_calls"] = [call.to_json() for call in self.tool_calls]
        if self.function_call is not None:
            call = self.function_call
            message["function_call"] = {"name": call.name, "arguments": call.arguments}
        return message


def completion_tokens(choice: Choice) -> tuple[int, int]:
    """(all completion tokens, of which reasoning) of one choice, by the token rule: its
    content, its reasoning and each call's arguments."""
    reasoning = tokens.count(choice.reasoning_content or "")
    total = reasoning + tokens.count(choice.content or "")
    return total + sum(tokens.count(c.arguments) for c in choice.calls), reasoning


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    latency_checkpoint: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": self.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
            "latency_checkpoint": self.latency_checkpoint,
        }


def latency_checkpoint(rng: Random, completion_tokens: int, model: str = "") -> dict[str, int]:
    """Plausible gateway timings for `model` (keys sorted, all ints) consistent with the token
    count. `--pace realistic` streams at exactly these timings."""
    profile = latency_profile(model)
    pre = rng.randint(20, 90)
    engine_ttft = rng.randint(*profile.ttft_ms)
    tbt = rng.randint(*profile.tbt_ms)
    engine_ttlt = engine_ttft + tbt * max(completion_tokens - 1, 0)
    overhead = rng.randint(120, 260)
    return {
        "engine_tbt_ms": tbt,
        "engine_ttft_ms": engine_ttft,
        "engine_ttlt_ms": engine_ttlt,
        "pre_inference_ms": pre,
        "service_tbt_ms": tbt,
        "service_ttft_ms": engine_ttft + overhead,
        "service_ttlt_ms": engine_ttlt + overhead,
        "total_duration_ms": engine_ttlt + pre + overhead // 2,
        "user_visible_ttft_ms": engine_ttft + pre + overhead // 2,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Completion:
    model: str
    choices: tuple[Choice, ...]
    usage: Usage
    id: str = field(default_factory=lambda: new_id("chatcmpl-"))
    created: int = field(default_factory=lambda: int(time.time()))
    service_tier: str = "default"

    @property
    def system_fingerprint(self) -> str:
        return fingerprint(self.model)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": c.index,
                    "message": c.message_json(),
                    "logprobs": c.logprobs_json(),
                    "finish_reason": c.finish_reason,
                }
                for c in self.choices
            ],
            "usage": self.usage.to_json(),
            "system_fingerprint": self.system_fingerprint,
            "service_tier": self.service_tier,
        }


REPLAY_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z: the `created` of every replayed reply


def replayable(completion: Completion, seed: int) -> Completion:
    """The reply with ids and `created` drawn from `seed`, so that a request sent with
    `X-Mock-Fault: seed=N` gives the same bytes every time (a failing CI run replayed)."""
    rng = random.Random(f"replay:{seed}")

    def draw(length: int) -> str:
        return "".join(rng.choices(_ALPHABET, k=length))

    choices = tuple(
        dataclasses.replace(
            c,
            tool_calls=tuple(
                t if t.scripted_id else dataclasses.replace(t, id="call_" + draw(24))
                for t in c.tool_calls
            ),
        )
        for c in completion.choices
    )
    return dataclasses.replace(
        completion, id="chatcmpl-" + draw(29), created=REPLAY_EPOCH, choices=choices
    )
