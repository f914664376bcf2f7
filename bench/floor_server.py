"""The mock's scaffolding with nothing to do: `mockserver serve` whose chat route answers with the
fixed reply bare_server.py serves, the way bare_server.py does (bench/instructions.py --floor).

What this costs per request is what the mock pays before it does any work of its own (no auth,
no repeat lookup, no reply to build): the connection guard, routing, the request scope (id,
trace and CORS headers, in-flight count, errors in OpenAI's shape) and, unless --no-journal,
the request's journal entry. Measured beside bare aiohttp it is the floor of the mock's cost on
this stack: no change to the chat path can take a request below it.

    python bench/floor_server.py --reply reply.json [--no-journal] [serve options...]

An ablation, for measuring only: it replaces a function of the running mock (its chat handler,
and the scope's journal entry with --no-journal) before the app is made.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler
from bare_server import STREAM_HEADERS, load_reply

import mockserver.app.routes.chat as chat
import mockserver.app.scope as scope
from mockserver.app.stamp import prepare
from mockserver.cli.console import run


def fixed(json_body: bytes | None, sse_frames: list[bytes] | None) -> Handler:
    """bare_server.py's handler, its reply stamped by the mock's scope instead of fixed."""

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        if sse_frames is not None:
            response = web.StreamResponse(headers=STREAM_HEADERS)
            await prepare(request, response)
            await response.write_eof(b"".join(sse_frames))
            return response
        return web.Response(body=json_body, content_type="application/json")

    return handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--reply", type=Path, required=True, help="reply file (bench.py)")
    parser.add_argument("--no-journal", action="store_true", help="no journal entries either")
    args, serve_args = parser.parse_known_args()
    json_body, sse_frames = load_reply(args.reply)
    chat.chat_completions = lambda app: fixed(json_body, sse_frames)
    if args.no_journal:
        scope._opened = lambda request, request_id, started: None
    run(["serve", *serve_args])


if __name__ == "__main__":
    main()
