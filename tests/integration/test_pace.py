"""--pace realistic (issue #12.6): streams wait the model's time to first token and flow at its
tokens per second, exactly as the reply's usage.latency_checkpoint reports; instant stays the
default. Lower bounds are exact (the server cannot be early); upper bounds leave room for a
loaded machine."""

from __future__ import annotations

import itertools
import json
import time
from random import Random
from typing import Any

import openai
from aiohttp.test_utils import TestClient

from mockserver.replies.completion import latency_checkpoint
from mockserver.wire.chunks import TOKENS_PER_CHUNK
from tests.cli_support import Server
from tests.conftest import AUTH
from tests.support import MakeClient

Client = TestClient[Any, Any]
BODY = {
    "model": "gpt-4o-mini",
    "stream": True,
    "stream_options": {"include_usage": True},
    "max_tokens": 30,
    "seed": 5,
    "messages": [{"role": "user", "content": "介绍一下你自己"}],
}


async def streamed(client: Client, body: dict[str, Any], **headers: str) -> list[dict[str, Any]]:
    response = await client.post("/v1/chat/completions", json=body, headers={**AUTH, **headers})
    assert response.status == 200
    text = await response.text()
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


async def last_entry(client: Client) -> dict[str, Any]:
    [summary] = (await (await client.get("/__admin/requests?limit=1")).json())["requests"]
    entry: dict[str, Any] = await (await client.get(f"/__admin/requests/{summary['id']}")).json()
    return entry


async def test_realistic_stream_follows_its_latency_checkpoint(make_client: MakeClient) -> None:
    client = await make_client(pace="realistic")
    chunks = await streamed(client, BODY)
    timings = chunks[-1]["usage"]["latency_checkpoint"]
    ttft, tbt = timings["user_visible_ttft_ms"], timings["service_tbt_ms"]
    entry = await last_entry(client)
    assert entry["fault"] is None, "the pace is no fault"
    at = [frame["at_ms"] for frame in entry["frames"]]
    assert at[1] - at[0] >= ttft - 1, (at[:3], ttft)
    assert at[1] - at[0] < ttft + 1500
    gaps = [b - a for a, b in itertools.pairwise(at[1:-1])]  # between content chunks
    mean = sum(gaps) / len(gaps)
    assert mean >= TOKENS_PER_CHUNK * tbt * 0.8, (mean, tbt)  # jitter is +- one tbt
    assert mean < TOKENS_PER_CHUNK * tbt + 300


async def test_realistic_json_reply_takes_the_whole_duration(make_client: MakeClient) -> None:
    client = await make_client(pace="realistic")
    started = time.monotonic()
    response = await client.post(
        "/v1/chat/completions", json={**BODY, "stream": False}, headers=AUTH
    )
    reply = await response.json()
    elapsed_ms = (time.monotonic() - started) * 1000
    total = reply["usage"]["latency_checkpoint"]["total_duration_ms"]
    assert total <= elapsed_ms < total + 1500


async def test_explicit_timing_faults_override_the_pace(make_client: MakeClient) -> None:
    client = await make_client(pace="realistic")
    await streamed(client, BODY, **{"X-Mock-Fault": "ttft_ms=1, chunk_ms=1, jitter_ms=0"})
    at = [frame["at_ms"] for frame in (await last_entry(client))["frames"]]
    assert at[-1] - at[0] < 1000, "1 ms gaps, not the model's"


async def test_instant_is_the_default(make_client: MakeClient) -> None:
    client = await make_client()
    chunks = await streamed(client, {**BODY, "model": "deepseek-reasoner"})
    ttft = chunks[-1]["usage"]["latency_checkpoint"]["user_visible_ttft_ms"]
    at = [frame["at_ms"] for frame in (await last_entry(client))["frames"]]
    assert at[-1] - at[0] < ttft, "no waiting for the model's first token"


def test_the_same_seed_gives_the_same_pace_and_models_differ() -> None:
    def timings(model: str, seed: int) -> dict[str, int]:
        return latency_checkpoint(Random(seed), 100, model)

    assert timings("gpt-4o", 1) == timings("gpt-4o", 1)
    mini = [timings("gpt-4o-mini", s)["service_tbt_ms"] for s in range(50)]
    deepseek = [timings("deepseek-chat", s)["service_tbt_ms"] for s in range(50)]
    assert max(mini) < min(deepseek), "a mini model streams faster than DeepSeek"
    o3 = [timings("o3-mini", s)["user_visible_ttft_ms"] for s in range(50)]
    gpt = [timings("gpt-4o", s)["user_visible_ttft_ms"] for s in range(50)]
    assert min(o3) > max(gpt), "an o-series model thinks before its first token"


def test_serve_pace_realistic_with_the_openai_sdk() -> None:
    server = Server("--port", "0", "--pace", "realistic", env={"MOCKSERVER_SEED": "3"})
    try:
        assert any("pace       realistic" in line for line in server.stdout.lines)
        with openai.OpenAI(base_url=f"{server.ready['url']}/v1", api_key="sk-mock") as client:
            started = time.monotonic()
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            first = None
            usage = None
            for chunk in stream:
                if first is None and chunk.choices and chunk.choices[0].delta.content:
                    first = (time.monotonic() - started) * 1000
                usage = chunk.usage or usage
        assert first is not None
        assert usage is not None
        extra = usage.model_extra or {}
        reported = extra["latency_checkpoint"]["user_visible_ttft_ms"]
        assert first >= reported
    finally:
        server.close()
