"""A stand-in for the real gateway: a small aiohttp app, independent of mockserver's code.

It answers like the gateway the spec documents: the spec's example response bytes as sent
(pretty-printed, CRLF line ends), streams with pauses between events, and the failures a real
gateway has: a 429 with retry-after, a connection reset mid-stream, a reverse proxy's HTML 502,
a hang. What it does is chosen by the last user message:

    weather (with tools offered) -> a get_weather tool call; after the tool result, an answer
    slow   -> a stream that pauses 1.2 s after its first event; reset -> two events, a reset
    busy   -> 429 retry-after: 1 (the first `busy` times)   html  -> nginx's 502 page
    hang   -> nothing for 30 s                              leak  -> the Authorization it got,
    anything else -> the spec's example reply (plain), or it in pieces (stream)   in the content

POST /__gateway/mode sets `drift` (added_field | no_usage | changed_type | no_done |
repeat_role) and `busy`; `drop` in the message closes the connection without an answer.
GET /__gateway/seen lists what each request carried (its Authorization, body) and the most
requests it had in flight at once.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web

EXAMPLE = (Path(__file__).parent / "example_response.json").read_bytes()
HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
    "</body>\r\n</html>\r\n"
)
SLOW_GAP_S = 1.2
CALL_ID = "call_gw0000000000000000000001"
STATE: web.AppKey[dict[str, Any]] = web.AppKey("state")


def usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
        "latency_checkpoint": {
            "engine_tbt_ms": 30,
            "engine_ttft_ms": 100,
            "engine_ttlt_ms": 400,
            "pre_inference_ms": 50,
            "service_tbt_ms": 30,
            "service_ttft_ms": 300,
            "service_ttlt_ms": 600,
            "total_duration_ms": 650,
            "user_visible_ttft_ms": 350,
        },
    }


def message(content: str | None, calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "role": "assistant",
        "content": content,
        "refusal": None,
        "annotations": [],
    }
    if calls:
        body["tool_calls"] = calls
    return body


def completion(model: str, msg: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-gw00000000000000000000000001",
        "object": "chat.completion",
        "created": 1779870897,
        "model": model,
        "choices": [{"index": 0, "message": msg, "logprobs": None, "finish_reason": finish}],
        "usage": usage(23, 12),
        "system_fingerprint": "fp_af7f7349a4",
        "service_tier": "default",
    }


def answer_for(body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(message, finish_reason) for a request."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    tools = [t["function"]["name"] for t in body.get("tools") or []]
    users = [m for m in messages if m.get("role") == "user"]
    text = str(users[-1].get("content")) if users else ""
    if last.get("role") == "tool":
        return message(f"Paris: {last.get('content')}. Enjoy {{{{ the }}}} sun."), "stop"
    if "weather" in text and "get_weather" in tools:
        call = {
            "id": CALL_ID,
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
        return message(None, [call]), "tool_calls"
    reply = json.loads(EXAMPLE)["choices"][0]["message"]
    return reply, "stop"


def chunk_events(body: dict[str, Any], drift: str | None) -> list[dict[str, Any]]:
    """The chunks of a streamed answer, as OpenAI frames them."""
    model = body.get("model", "gpt-4o")
    msg, finish = answer_for(body)
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    envelope: dict[str, Any] = {
        "id": "chatcmpl-gw00000000000000000000000002",
        "object": "chat.completion.chunk",
        "created": "1779870897" if drift == "changed_type" else 1779870897,
        "model": model,
        "system_fingerprint": "fp_af7f7349a4",
        "service_tier": "default",
    }
    if drift == "added_field":
        envelope["gateway_region"] = "cn-north-1"
    if include_usage:
        envelope["usage"] = None
    deltas: list[tuple[dict[str, Any], str | None]] = [
        (
            {
                "role": "assistant",
                "content": "" if msg["content"] is not None else None,
                "refusal": None,
            },
            None,
        )
    ]
    content = msg["content"] or ""
    for start in range(0, len(content), 40):
        deltas.append(({"content": content[start : start + 40]}, None))
    for index, call in enumerate(msg.get("tool_calls") or ()):
        head = {**call, "index": index, "function": {**call["function"], "arguments": ""}}
        deltas.append(({"tool_calls": [head]}, None))
        arguments = call["function"]["arguments"]
        for start in range(0, len(arguments), 8):
            piece = {"index": index, "function": {"arguments": arguments[start : start + 8]}}
            deltas.append(({"tool_calls": [piece]}, None))
    deltas.append(({}, finish))
    chunks = [
        {**envelope, "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": f}]}
        for d, f in deltas
    ]
    if drift == "repeat_role":  # every delta says who speaks
        for chunk in chunks:
            chunk["choices"][0]["delta"] = {"role": "assistant", **chunk["choices"][0]["delta"]}
    if include_usage and drift != "no_usage":
        chunks.append({**envelope, "choices": [], "usage": usage(23, 12)})
    return chunks


async def stream(request: web.Request, body: dict[str, Any], text: str) -> web.StreamResponse:
    state = request.app[STATE]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "x-request-id": "req_gateway_stream",
            "x-ratelimit-remaining-requests": "99",
        }
    )
    await response.prepare(request)
    events = chunk_events(body, state["drift"])
    for index, chunk in enumerate(events):
        if index:  # "slow": the gateway thinks for a while after the first event
            await asyncio.sleep(SLOW_GAP_S if "slow" in text and index == 1 else 0.005)
        if "reset" in text and index == 2:
            assert request.transport is not None
            request.transport.abort()  # a crashed gateway: no terminating chunk
            return response
        await response.write(b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n")
    if state["drift"] != "no_done":
        await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def chat(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state["in_flight"] += 1
    state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
    try:
        return await answer(request)
    finally:
        state["in_flight"] -= 1


async def answer(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    body = await request.json()
    state["seen"].append({"authorization": request.headers.get("Authorization"), "body": body})
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    text = str(users[-1].get("content")) if users else ""
    if "busy" in text and state["busy"] > 0:
        state["busy"] -= 1
        error = {
            "message": "Rate limit reached for requests.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
        return web.json_response(
            {"error": error},
            status=429,
            headers={
                "retry-after": "1",
                "x-ratelimit-remaining-requests": "0",
                "x-request-id": "req_gateway_429",
            },
        )
    if "drop" in text:  # a gateway that dies before answering
        assert request.transport is not None
        request.transport.abort()
        return web.Response()
    if "html" in text:
        return web.Response(status=502, text=HTML_502, content_type="text/html")
    if "hang" in text:  # until the client gives up (then this request is no longer in flight)
        for _ in range(300):
            await asyncio.sleep(0.1)
            if request.transport is None or request.transport.is_closing():
                raise ConnectionResetError("the client gave up")
    if "leak" in text:
        leaked = f"You sent {request.headers.get('Authorization')}."
        data = completion(body["model"], message(leaked), "stop")
        return web.json_response(data)
    if body.get("stream"):
        return await stream(request, body, text)
    msg, finish = answer_for(body)
    if msg == json.loads(EXAMPLE)["choices"][0]["message"] and not state["drift"]:
        raw = EXAMPLE  # the spec's bytes as the gateway sent them
    else:
        data = completion(body.get("model", "gpt-4o"), msg, finish)
        if state["drift"] == "added_field":
            data["gateway_region"] = "cn-north-1"
        if state["drift"] == "changed_type":
            data["created"] = str(data["created"])
        raw = json.dumps(data, ensure_ascii=False).encode()
    return web.Response(
        body=raw,
        content_type="application/json",
        headers={"x-request-id": "req_gateway_plain", "x-ratelimit-remaining-requests": "98"},
    )


async def set_mode(request: web.Request) -> web.Response:
    """A fresh start for the next test: once the last test's requests are over (up to 5 s)."""
    state = request.app[STATE]
    mode = await request.json()
    for _ in range(50):
        if not state["in_flight"]:
            break
        await asyncio.sleep(0.1)
    state["drift"] = mode.get("drift")
    state["busy"] = int(mode.get("busy", 0))
    state["seen"].clear()
    state["max_in_flight"] = 0
    return web.json_response({"ok": True})


async def seen(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({"requests": state["seen"], "max_in_flight": state["max_in_flight"]})


def create_gateway() -> web.Application:
    app = web.Application()
    app[STATE] = {"drift": None, "busy": 0, "seen": [], "in_flight": 0, "max_in_flight": 0}
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/__gateway/mode", set_mode)
    app.router.add_get("/__gateway/seen", seen)
    return app
