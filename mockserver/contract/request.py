"""Reading the request: bytes -> JSON object (every malformation a 4xx), and a typed view of it.

This is the JSON boundary: `Any` stops here.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from mockserver.contract.errors import InvalidRequest, RequestTimeout, UnsupportedMediaType

MAX_DEPTH = 64
JSON_TYPES = ("application/json",)
# What clients send, as sent (the SDKs, fetch, curl): no parameters to read.
_PLAIN_JSON = frozenset({"application/json", "application/json; charset=utf-8"})
# A JSON escape of a UTF-16 surrogate: only a cheap pre-filter, confirmed on the decoded strings.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
# An integer orjson might not keep exact is a run of 19 digits: found in the body with every
# digit mapped to "0" and every other byte to " " (C speed; the regex [0-9]{19} took 12 us per KB).
_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGITS = b"0" * 19


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_body(request: web.Request, seconds: float | None = None) -> bytes:
    """The raw body of a JSON request, or UnsupportedMediaType / PayloadTooLarge (413), or
    RequestTimeout (408) when it takes longer than `seconds` to arrive."""
    if request.headers.get("Content-Type") in _PLAIN_JSON:  # skips parsing the header
        return await read_within(request, seconds)
    media = request.content_type
    if media not in JSON_TYPES and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"Unsupported Content-Type '{media or '(none)'}': send the body as JSON with "
            "'Content-Type: application/json'.",
            code="unsupported_content_type",
        )
    return await read_within(request, seconds)


async def read_within(request: web.Request, seconds: float | None) -> bytes:
    """request.read() (aiohttp enforces client_max_size, 413, there), within `seconds`."""
    if request.content.is_eof():  # it all came with the headers: nothing left to wait for
        return await request.read()
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        raise RequestTimeout(
            f"The request body did not arrive within {seconds:g} s.",
            code="request_timeout",
        ) from None


def parse_json_object(raw: bytes) -> dict[str, Any]:
    body = _fast_parse(raw)
    if body is None:
        body = _parse(raw)
    if not isinstance(body, dict):
        raise InvalidRequest(
            "The request body must be a JSON object, not "
            f"{type(body).__name__ if body is not None else 'null'}.",
            code="invalid_json",
        )
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        _check_depth(body)
    if _SURROGATE_ESCAPE.search(raw):
        _check_strings(body)
    return body


def _fast_parse(raw: bytes) -> Any:
    """orjson (~4x faster than the stdlib on a chat body) where it reads exactly what the
    stdlib reads: it turns integers past 64 bits into floats, so long digit runs go the slow
    way; anything it refuses (bad UTF-8, lone surrogates, 1e400) goes there for the error
    or the stdlib's reading. None: use _parse."""
    if _LONG_DIGITS in raw.translate(_DIGITS_ONLY):
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _parse(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            f"The request body is not valid UTF-8 (byte {exc.start}).", code="invalid_encoding"
        ) from exc
    if not text.strip():
        raise InvalidRequest(
            "The request body is empty: expected a JSON object.", code="invalid_json"
        )
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(
            f"We could not parse the JSON body of your request. ({_reason(exc)}) The OpenAI API "
            "expects a JSON payload.",
            code="invalid_json",
        ) from exc
    return body


def _reason(exc: Exception) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)


def _walk(value: Any) -> list[tuple[Any, int]]:
    """Every node (keys included) with its depth in containers, iteratively (no recursion on
    hostile input). The walk stops at the first container deeper than MAX_DEPTH; a scalar is
    not a level, so it never stops the walk (nor hides a string still to be checked)."""
    seen, stack = [], [(value, 1)]
    while stack:
        node, depth = stack.pop()
        seen.append((node, depth))
        if not isinstance(node, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children)
        if isinstance(node, dict):
            stack.extend((key, depth + 1) for key in node)
    return seen


def _deeper_than_limit(body: dict[str, Any]) -> bool:
    """Whether a container sits below MAX_DEPTH others, walked one level at a time over
    containers only: a request with a few tools passes the bracket count, and walking its
    every value and key (as _walk does for the string check) cost ten times as much."""
    level: list[Any] = [body]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, (dict, list))
        ]
        if not level:
            return False
    return True


def _check_depth(body: dict[str, Any]) -> None:
    if _deeper_than_limit(body):
        raise InvalidRequest(
            f"The JSON body is nested more than {MAX_DEPTH} levels deep.", code="invalid_json"
        )


def _check_strings(body: dict[str, Any]) -> None:
    for node, _ in _walk(body):
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidRequest(
                    "The JSON body contains a lone UTF-16 surrogate escape "
                    "(\\ud800-\\udfff), which is not valid Unicode.",
                    code="invalid_encoding",
                ) from exc


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a parts array."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and "text" in p)
    return ""


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the last user message ('' when there is none)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A schema-valid chat request, with the gateway's defaults and precedences applied."""

    body: Mapping[str, Any]
    headers: Mapping[str, str]

    @property
    def model(self) -> str:
        model: str = self.body["model"]
        return model

    @property
    def messages(self) -> Sequence[Mapping[str, Any]]:
        messages: Sequence[Mapping[str, Any]] = self.body["messages"]
        return messages

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True

    @property
    def include_usage(self) -> bool:
        # stream_options is silently ignored on non-stream requests, as the gateway does.
        return self.stream and (self.body.get("stream_options") or {}).get("include_usage") is True

    @property
    def n(self) -> int:
        # JSON Schema's "integer" also matches 2.0: the schema-valid float must become an int.
        return int(self.body.get("n") or 1)

    @property
    def stop(self) -> tuple[str, ...]:
        stop = self.body.get("stop")
        if isinstance(stop, str):
            return (stop,) if stop else ()
        return tuple(s for s in stop or () if s)

    @property
    def max_tokens(self) -> int | None:
        """max_completion_tokens wins over max_tokens, as in the gateway (GetMaxTokens)."""
        for field in ("max_completion_tokens", "max_tokens"):
            value = self.body.get(field)
            if value is not None:
                return int(value)  # 5.0 is a schema-valid integer
        return None

    @property
    def seed(self) -> float | None:
        seed = self.body.get("seed")
        if seed is None:
            return None
        try:
            return float(seed)
        except OverflowError:  # an integer beyond float range, e.g. 1 followed by 400 zeros
            return math.inf if seed > 0 else -math.inf

    @property
    def last_user_text(self) -> str:
        return last_user_text(self.messages)
