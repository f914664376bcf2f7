"""Shared test fixtures: an in-process server on a real socket, schema validators, SSE parsing."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from mockserver.app.factory import create_app
from mockserver.contract.schemas import response_validator
from mockserver.settings import Settings

AUTH = {"Authorization": "Bearer sk-test"}
ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
def settings() -> Settings:
    return Settings(access_log=False)


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, settings: Settings
) -> TestClient[web.Request, web.Application]:
    """The app on a real 127.0.0.1 socket, through aiohttp's test server."""
    return await aiohttp_client(create_app(settings))


@pytest.fixture
def make_client(aiohttp_client: ClientFactory) -> Callable[..., Awaitable[TestClient[Any, Any]]]:
    """Build a client for a server with non-default settings: `await make_client(seed=1)`."""

    async def factory(**overrides: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(Settings(access_log=False, **overrides)))

    return factory


@pytest.fixture(scope="session")
def completion_schema() -> jsonschema.Draft7Validator:
    return response_validator("response")


@pytest.fixture(scope="session")
def chunk_schema() -> jsonschema.Draft7Validator:
    return response_validator("chunk")


def sse_events(raw: bytes) -> list[str]:
    """The `data:` payloads of an SSE body, checking the framing clients rely on."""
    text = raw.decode("utf-8")
    assert text.endswith("\n\n"), "the last event needs its blank line"
    events = []
    for block in text.split("\n\n")[:-1]:
        assert block.startswith("data: "), f"unexpected SSE block {block!r}"
        assert "\n" not in block, "one line per event: no event:, id: or multi-line data"
        events.append(block[len("data: ") :])
    return events


def sse_chunks(raw: bytes) -> list[dict[str, Any]]:
    """The JSON chunks of a stream that must end with exactly one `data: [DONE]`."""
    events = sse_events(raw)
    assert events[-1] == "[DONE]"
    assert "[DONE]" not in events[:-1]
    return [json.loads(e) for e in events[:-1]]
