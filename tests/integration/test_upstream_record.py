"""serve --record: proxied exchanges become fixture files that replay the same messages."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from aiohttp.test_utils import TestClient
from click.testing import CliRunner
from openai import AsyncOpenAI
from openai.types.chat import (
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionToolParam,
)

from mockserver.cli.main import main
from mockserver.contract.schemas import load_schema
from mockserver.upstream.config import Upstream
from tests.gateway.app import CALL_ID, SLOW_GAP_S
from tests.integration.conftest import Gateway
from tests.support import CHAT, MakeClient

CLIENT_KEY = "sk-client-0123456789abcdefXYZ"
UPSTREAM_KEY = "sk-upstream-9876543210fedcbaQRS"
WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
QUESTION: list[ChatCompletionMessageParam] = [{"role": "user", "content": "weather in Paris?"}]
TOOL_TURN: list[ChatCompletionMessageParam] = [
    *QUESTION,
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": CALL_ID,
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": CALL_ID, "content": "18°C, sunny"},
]


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def sdk_for(client: TestClient[Any, Any], key: str = CLIENT_KEY) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=str(client.make_url("/v1")), api_key=key, max_retries=0)


async def recorder(
    make_client: MakeClient, gateway: Gateway, folder: Path, **upstream: Any
) -> TestClient[Any, Any]:
    return await make_client(upstream=Upstream.at(gateway.url, **upstream), record_dir=folder)


async def plain(sdk: AsyncOpenAI, messages: list[ChatCompletionMessageParam], **kw: Any) -> Any:
    reply = await sdk.chat.completions.create(model="gpt-4o", messages=messages, **kw)
    return reply.choices[0].message


async def streamed(
    sdk: AsyncOpenAI, messages: list[ChatCompletionMessageParam], **kw: Any
) -> ChatCompletionMessage:
    """The message the SDK puts together from a stream (its own accumulator)."""
    async with sdk.chat.completions.stream(model="gpt-4o", messages=messages, **kw) as stream:
        final = await stream.get_final_completion()
    message = final.choices[0].message
    return ChatCompletionMessage.model_validate(message.model_dump(exclude={"parsed"}))


async def conversation(sdk: AsyncOpenAI) -> list[ChatCompletionMessage]:
    """Plain and streamed requests, tool calls included; the messages in order."""
    return [
        await plain(sdk, user("What is HTTP?")),
        await plain(sdk, QUESTION, tools=[WEATHER]),
        await plain(sdk, TOOL_TURN, tools=[WEATHER]),
        await streamed(sdk, QUESTION, tools=[WEATHER], stream_options={"include_usage": True}),
        await streamed(sdk, user("Tell me about HTTP")),
    ]


def said(message: ChatCompletionMessage) -> tuple[Any, ...]:
    calls = [
        (c.id, c.function.name, c.function.arguments)
        for c in message.tool_calls or ()
        if isinstance(c, ChatCompletionMessageFunctionToolCall)
    ]
    return message.role, message.content, calls


def recorded(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


async def test_record_then_replay_gives_equal_messages(
    make_client: MakeClient, gateway: Gateway, tmp_path: Path
) -> None:
    folder = tmp_path / "recorded"
    proxy = await recorder(make_client, gateway, folder)
    async with sdk_for(proxy) as sdk:
        live = await conversation(sdk)
    assert said(live[1])[2] == [(CALL_ID, "get_weather", '{"city": "Paris"}')]
    assert said(live[3])[2] == said(live[1])[2]
    assert "{{ the }}" in (live[2].content or "")
    assert len(recorded(folder)) == 4, "the streamed weather question joined its plain twin"
    assert len(gateway.seen()) == 5

    replay = await make_client(fixture_paths=(folder,), strict_fixtures=True)
    async with sdk_for(replay) as sdk:
        again = await conversation(sdk)
        assert again == live
        # Each recording answers the other mode too, saying the same (the SDK itself leaves
        # `annotations` unset on a streamed message, so the objects differ there).
        assert said(await streamed(sdk, user("What is HTTP?"))) == said(live[0])
        assert said(await plain(sdk, user("Tell me about HTTP"))) == said(live[4])
        assert said(await streamed(sdk, TOOL_TURN, tools=[WEATHER])) == said(live[2])
    assert len(gateway.seen()) == 5, "the replay never reached the gateway"


async def test_recorded_files_pass_check_and_the_schema(
    make_client: MakeClient, gateway: Gateway, tmp_path: Path
) -> None:
    folder = tmp_path / "recorded"
    proxy = await recorder(make_client, gateway, folder)
    async with sdk_for(proxy) as sdk:
        await conversation(sdk)
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 0, result.output
    assert "5 fixture(s) in 4 file(s), no problems" not in result.output
    assert "4 fixture(s) in 4 file(s), no problems" in result.output
    validator = jsonschema.Draft7Validator(load_schema("fixture.schema.json"))
    for path in recorded(folder):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert list(validator.iter_errors(data)) == [], path
    assert not [p for p in folder.iterdir() if p.suffix != ".yaml"], "no temporary files left"

    (weather,) = [
        yaml.safe_load(p.read_text())[0]
        for p in recorded(folder)
        if "tools" in p.read_text() and "role: tool" not in p.read_text()
    ]
    assert weather["match"] == {
        "model": "gpt-4o",
        "last_user": {"equals": "weather in Paris?"},
        "tools": ["get_weather"],
    }
    assert weather["request"]["tools"] == [WEATHER], "verify can send it again"
    reply = weather["reply"]
    assert reply["tool_calls"] == [
        {"id": CALL_ID, "name": "get_weather", "arguments": '{"city": "Paris"}'}
    ]
    assert reply["finish_reason"] == "tool_calls"
    assert reply["usage"] == {
        "prompt_tokens": 23,
        "completion_tokens": 12,
        "reasoning_tokens": 0,
        "cached_tokens": 0,
    }
    times = [frame["at_ms"] for frame in reply["frames"]]
    assert times == sorted(times)
    assert json.loads(reply["frames"][-1]["data"])["choices"] == [], "the usage chunk"


async def test_same_request_twice_is_recorded_once(
    make_client: MakeClient, gateway: Gateway, tmp_path: Path
) -> None:
    folder = tmp_path / "recorded"
    proxy = await recorder(make_client, gateway, folder)
    async with sdk_for(proxy) as sdk:
        await plain(sdk, user("What is HTTP?"))
        (path,) = recorded(folder)
        first = path.read_bytes()
        await plain(sdk, user("What is HTTP?"))
        await plain(sdk, user("What is HTTP?"))
    assert recorded(folder) == [path]
    assert path.read_bytes() == first
    assert len(gateway.seen()) == 3, "still proxied: only the file is not written again"


async def test_no_key_reaches_a_file_or_the_journal(
    make_client: MakeClient, gateway: Gateway, tmp_path: Path
) -> None:
    folder = tmp_path / "recorded"
    journal_file = tmp_path / "journal.jsonl"
    proxy = await make_client(
        upstream=Upstream.at(gateway.url, key=UPSTREAM_KEY),
        record_dir=folder,
        journal_file=journal_file,
    )
    async with sdk_for(proxy) as sdk:
        leaked = await plain(sdk, user(f"leak {CLIENT_KEY} and sk-other-abcdefghijklmnop"))
        await streamed(sdk, user("hi"))
    assert UPSTREAM_KEY in (leaked.content or ""), "the gateway did echo its key"
    journal = (await (await proxy.get("/__admin/requests")).text()) + journal_file.read_text()
    files = "".join(p.read_text(encoding="utf-8") for p in recorded(folder))
    assert len(recorded(folder)) == 2
    for secret in (CLIENT_KEY, UPSTREAM_KEY, "sk-other-abcdefghijklmnop"):
        assert secret not in files
    for secret in (UPSTREAM_KEY,):  # the client's own body stays as it sent it in the journal
        assert secret not in journal
    assert "[REDACTED]" in files


async def test_recorded_pacing_is_replayed_and_can_be_overridden(
    make_client: MakeClient, gateway: Gateway, tmp_path: Path
) -> None:
    folder = tmp_path / "recorded"
    proxy = await recorder(make_client, gateway, folder)
    async with sdk_for(proxy) as sdk:
        await streamed(sdk, user("slow and steady"))

    async def gap_s(client: TestClient[Any, Any]) -> float:
        body = {"model": "gpt-4o", "messages": user("slow and steady"), "stream": True}
        response = await client.post(CHAT, json=body, headers={"Authorization": "Bearer sk-x"})
        await response.content.readuntil(b"\n\n")
        first = time.perf_counter()
        await response.read()
        return time.perf_counter() - first

    paced = await make_client(fixture_paths=(folder,), replay_pacing=0.5)
    assert await gap_s(paced) >= SLOW_GAP_S * 0.5 * 0.8
    unpaced = await make_client(fixture_paths=(folder,), replay_pacing=0.0)
    assert await gap_s(unpaced) < SLOW_GAP_S * 0.5


@pytest.mark.parametrize("bad", ["model,nonsense", ""])
def test_record_match_fields_are_checked(bad: str) -> None:
    result = CliRunner().invoke(
        main,
        ["serve", "--upstream", "http://127.0.0.1:9/v1", "--record", "x", "--record-match", bad],
    )
    assert result.exit_code == 2
    assert "--record-match" in result.output
