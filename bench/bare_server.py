"""The baseline for bench.py: a bare aiohttp app that answers POST /v1/chat/completions with a
fixed reply, doing no parsing, validation or generation.

It reads the request body (any real server must) and answers with prepared bytes: one
chat.completion JSON body, or an SSE stream written the way the mock writes an unpaced stream
(every frame through `data: [DONE]` and the end of the body in one `write_eof()`; with
--frame-writes, one `write()` per frame, as the mock writes a paced stream). bench.py
captures the mock's own reply to the benchmark request and passes it with --reply, so both
servers put the same number of bytes and frames on the wire; without --reply a built-in reply
of the same shape is served. It prints `BARESERVER_READY {"url": ..., "port": ...}` once
listening, like the mock.

    python bench/bare_server.py --port 0 [--reply reply.json] [--loop uvloop] [--workers N]
                                [--frame-writes]

reply.json: {"kind": "json", "body": "<the JSON body>"} or {"kind": "sse", "frames": [...]}, each
frame a complete `data: ...\\n\\n` event, the last one `data: [DONE]\\n\\n`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
from pathlib import Path
from typing import Any

from aiohttp import web

STREAM_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
# The mock adds these three headers to every reply; fixed values of the same length here, so the
# baseline's replies are the same size on the wire.
TRACE_HEADERS = {
    "x-request-id": "req_" + "0" * 32,
    "openai-processing-ms": "1",
    "openai-version": "2020-10-01",
}

_CONTENT = (
    "Good question. Build former assume young national age amount whom former.\n\n"
    "1. **Total east**: Everybody with image water surface fine require score.\n"
    "2. **Money detail**: Month attorney end nothing suffer pick bad environment throughout.\n\n"
    "Treatment total nor trip foreign cell article peace cup middle."
)
_USAGE: dict[str, Any] = {
    "prompt_tokens": 17,
    "completion_tokens": 94,
    "total_tokens": 111,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}
_ENVELOPE: dict[str, Any] = {
    "id": "chatcmpl-" + "B" * 29,
    "created": 1_715_367_049,
    "model": "gpt-4o",
    "system_fingerprint": "fp_a2a69af70d",
    "service_tier": "default",
}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def default_json_body() -> bytes:
    """A realistic chat.completion body (about 1 KB), for running this server on its own."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": _CONTENT,
        "refusal": None,
        "annotations": [],
    }
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
    body = {"object": "chat.completion", **_ENVELOPE, "choices": [choice], "usage": _USAGE}
    return _dumps(body).encode()


def default_sse_frames() -> list[bytes]:
    """The same reply as a stream: role delta, 3-word content pieces, finish, usage, [DONE]."""
    envelope = {"object": "chat.completion.chunk", **_ENVELOPE, "usage": None}
    words = _CONTENT.split(" ")
    pieces = [" ".join(words[i : i + 3]) for i in range(0, len(words), 3)]
    deltas: list[tuple[dict[str, Any], str | None]] = [
        ({"role": "assistant", "content": "", "refusal": None}, None),
        *(({"content": piece}, None) for piece in pieces),
        ({}, "stop"),
    ]
    events = [
        {
            **envelope,
            "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": f}],
        }
        for d, f in deltas
    ]
    events.append({**envelope, "choices": [], "usage": _USAGE})
    return [f"data: {_dumps(e)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]


def load_reply(path: Path | None) -> tuple[bytes | None, list[bytes] | None]:
    """(json body, None) or (None, sse frames) from a reply file; both defaults without one."""
    if path is None:
        return default_json_body(), default_sse_frames()
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc["kind"] == "json":
        return str(doc["body"]).encode(), None
    return None, [str(frame).encode() for frame in doc["frames"]]


def make_app(
    json_body: bytes | None, sse_frames: list[bytes] | None, frame_writes: bool = False
) -> web.Application:
    async def chat(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        # Without a reply file both kinds are available; a cheap look at the raw body picks one
        # (compact JSON only). With a reply file only one kind exists and nothing is looked at.
        if sse_frames is not None and (json_body is None or b'"stream":true' in raw):
            response = web.StreamResponse(headers={**STREAM_HEADERS, **TRACE_HEADERS})
            await response.prepare(request)
            if not frame_writes:
                await response.write_eof(b"".join(sse_frames))
                return response
            for frame in sse_frames:
                await response.write(frame)
            await response.write_eof()
            return response
        assert json_body is not None
        return web.Response(body=json_body, content_type="application/json", headers=TRACE_HEADERS)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/__admin/health", health)
    return app


async def serve(
    host: str, port: int, reply: Path | None, *, announce: bool = True, frame_writes: bool = False
) -> None:
    json_body, sse_frames = load_reply(reply)
    app = make_app(json_body, sse_frames, frame_writes)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_port=True)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    url = f"http://{bound_host}:{bound_port}"
    if announce:
        print("BARESERVER_READY " + json.dumps({"url": url, "port": bound_port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--reply", type=Path, default=None, help="reply file captured by bench.py")
    parser.add_argument(
        "--loop", choices=["asyncio", "uvloop"], default="asyncio", help="the event loop"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (SO_REUSEPORT), as `mockserver serve --workers N`",
    )
    parser.add_argument(
        "--frame-writes",
        action="store_true",
        help="a write() per SSE frame (how the mock writes a paced stream)",
    )
    args = parser.parse_args()
    port = args.port
    if args.workers > 1:  # the port first (so --port 0 is one port for all), then the forks
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            probe.bind((args.host, port))
            port = probe.getsockname()[1]
            children = [os.fork() for _ in range(args.workers - 1)]
            if 0 in children:  # a child: serve quietly until SIGTERM
                quiet = serve(
                    args.host, port, args.reply, announce=False, frame_writes=args.frame_writes
                )
                run(quiet, args.loop)
                os._exit(0)
        try:
            run(serve(args.host, port, args.reply, frame_writes=args.frame_writes), args.loop)
        finally:
            for pid in children:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
        return
    run(serve(args.host, port, args.reply, frame_writes=args.frame_writes), args.loop)


def run(main: Any, loop: str) -> None:
    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main)
    else:
        asyncio.run(main)


if __name__ == "__main__":
    main()
