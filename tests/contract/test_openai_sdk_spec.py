"""serve --spec: the official openai SDK finds accepted exactly what the given document says.

Two documents are built from the bundled files: a second version of the spec as an API-doc
export (a property added, one made required, an enum narrowed) and an OpenAPI 3.1 document
(mockserver's own export) with JSON Schema 2020-12 keywords planted. Each request is sent to a
server on the bundled contract too, so every assertion shows a difference the document made.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from mockserver.contract.spec.document import DRAFT2020
from tests.spec_documents import (
    ADDED,
    NARROWED,
    REQUIRED,
    openapi_31,
    second_version_export,
    write_json,
)
from tests.support import MakeClient

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello."}]


Sdk = Callable[..., Awaitable[AsyncOpenAI]]


@pytest.fixture
async def sdk(make_client: MakeClient) -> AsyncIterator[Sdk]:
    """`await sdk(spec)`: an SDK client of a server on that document (None: the bundled one)."""
    opened: list[AsyncOpenAI] = []

    async def factory(spec: Path | None = None) -> AsyncOpenAI:
        client = await make_client(spec=spec)
        url = str(client.make_url("/v1"))
        opened.append(AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=0))
        return opened[-1]

    yield factory
    for client in opened:
        await client.close()


async def refused(client: AsyncOpenAI, **fields: Any) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **fields)
    assert caught.value.status_code == 400
    return caught.value


async def accepted(client: AsyncOpenAI, **fields: Any) -> None:
    completion = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **fields)
    assert completion.choices[0].message.content


@pytest.fixture
def second_version(tmp_path: Path) -> Path:
    path = tmp_path / "chat-v2.md"
    path.write_text(second_version_export(), encoding="utf-8")
    return path


async def test_a_newly_required_field_is_required(sdk: Sdk, second_version: Path) -> None:
    bundled, v2 = await sdk(), await sdk(second_version)
    await accepted(bundled)
    error = await refused(v2)
    assert error.param == REQUIRED
    assert error.code == "missing_required_parameter"
    assert f"Missing required parameter: '{REQUIRED}'." in error.message
    await accepted(v2, user="user-1")


async def test_a_narrowed_enum_refuses_the_removed_value(sdk: Sdk, second_version: Path) -> None:
    bundled, v2 = await sdk(), await sdk(second_version)
    parent, field, removed = NARROWED
    options: Any = {field: removed}
    await accepted(bundled, web_search_options=options)
    error = await refused(v2, user="u", web_search_options=options)
    assert error.param == f"{parent}.{field}"
    assert error.code == "invalid_value"
    await accepted(v2, user="u", web_search_options={field: "low"})


async def test_an_added_property_is_checked_as_documented(sdk: Sdk, second_version: Path) -> None:
    bundled, v2 = await sdk(), await sdk(second_version)
    too_long = {ADDED: "x" * 65}
    await accepted(bundled, extra_body=too_long)  # unknown to the bundled spec: passes as is
    error = await refused(v2, user="u", extra_body=too_long)
    assert error.param == ADDED
    await accepted(v2, user="u", extra_body={ADDED: "x" * 64})


async def test_openapi_31_is_validated_as_json_schema_2020_12(sdk: Sdk, tmp_path: Path) -> None:
    document = openapi_31(user={"type": ["string", "null"]})
    request = document["components"]["schemas"]["ChatCompletionRequest"]
    # A 2020-12 keyword draft-07 does not know: read as draft-07 it would be ignored.
    request["dependentRequired"] = {"stream_options": ["stream"]}
    assert document["jsonSchemaDialect"] == DRAFT2020
    bundled = await sdk()
    v31 = await sdk(write_json(tmp_path / "chat.openapi.json", document))

    await refused(bundled, extra_body={"user": None})
    await accepted(v31, extra_body={"user": None})

    usage: Any = {"include_usage": True}
    await accepted(bundled, stream_options=usage)
    error = await refused(v31, stream_options=usage)
    assert "stream" in error.message
    stream = await v31.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options=usage
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].usage is not None


async def test_openapi_30_nullable_becomes_draft7_null(sdk: Sdk, tmp_path: Path) -> None:
    document = openapi_31(user={"type": "string", "nullable": True, "maxLength": 8})
    document["openapi"] = "3.0.3"
    del document["jsonSchemaDialect"]
    v30 = await sdk(write_json(tmp_path / "chat.openapi.json", document))
    await accepted(v30, extra_body={"user": None})
    await accepted(v30, user="12345678")
    error = await refused(v30, user="123456789")
    assert error.param == "user"
