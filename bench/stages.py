"""Where a request's microseconds go: each stage of the chat pipeline timed in-process.

    .venv/bin/python bench/stages.py [--iterations 3000] [--json PATH]

Each stage is the real function the handler calls, run on the benchmark request (bench.py's
PLAIN_BODY; the stream rows use its `stream: true` twin), timed over many iterations: the
median of 7 batches, in microseconds per request. What the rows do not cover is aiohttp's
side: HTTP parsing and writing, the event loop, routing, the three middlewares and the
response-prepare hook. bench.py and bench/workers.py measure the server's whole CPU time per
request over real sockets (`cpu us/req`); the bare server's figure is aiohttp's floor, and
mock - bare - (sum of stages) is the share of the middlewares, the hook and the glue.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from multidict import CIMultiDict  # noqa: E402

from bench import PLAIN_BODY, STREAM_BODY  # noqa: E402
from mockserver.app.factory import create_app  # noqa: E402
from mockserver.app.state import CONTRACT, FIXTURES, JOURNAL, SETTINGS, TEXT  # noqa: E402
from mockserver.app.tracing import new_request_id  # noqa: E402
from mockserver.contract.auth import authenticate  # noqa: E402
from mockserver.contract.request import ChatRequest, parse_json_object  # noqa: E402
from mockserver.contract.rules import RULES  # noqa: E402
from mockserver.journal.headers import ReceivedHeaders  # noqa: E402
from mockserver.journal.store import ServeEvent  # noqa: E402
from mockserver.replies.respond import respond  # noqa: E402
from mockserver.resources import bundled  # noqa: E402
from mockserver.settings import Settings  # noqa: E402
from mockserver.stubs.context import MatchContext  # noqa: E402
from mockserver.wire import json_bytes  # noqa: E402
from mockserver.wire.chunks import sse_frames  # noqa: E402
from mockserver.wire.faults import NO_FAULT, FaultLayers  # noqa: E402
from mockserver.wire.prepared import Prepared  # noqa: E402

HEADERS = CIMultiDict(
    {
        "Host": "127.0.0.1:8080",
        "Authorization": "Bearer sk-bench",
        "Content-Type": "application/json",
        "Content-Length": "0",
    }
)


def timed(fn: Callable[[], Any], iterations: int) -> float:
    """Median over 7 batches, microseconds per call."""
    fn()
    batches = []
    for _ in range(7):
        started = time.perf_counter_ns()
        for _ in range(iterations):
            fn()
        batches.append((time.perf_counter_ns() - started) / iterations / 1000)
    return statistics.median(batches)


def stage_rows(
    app: web.Application, body: dict[str, Any], iterations: int
) -> list[tuple[str, float]]:
    raw = json.dumps(body).encode()
    settings, contract = app[SETTINGS], app[CONTRACT].current
    fixtures, text, journal = app[FIXTURES], app[TEXT], app[JOURNAL]
    parsed = parse_json_object(raw)
    chat = ChatRequest(parsed, HEADERS)
    layers = FaultLayers(NO_FAULT, NO_FAULT)
    reply = respond(chat, fixtures, settings, text, layers)
    completion = reply.payload.completion  # type: ignore[union-attr]
    ctx = MatchContext(parsed, HEADERS)

    def journal_stage() -> None:
        event = ServeEvent(
            id="req_0", at=0.0, method="POST", path="/v1/chat/completions",
            headers=ReceivedHeaders(HEADERS),
        )  # fmt: skip
        event.received(raw)
        event.parsed(raw, parsed)
        event.decided(reply, chat.model, chat.stream)
        journal.record(event)

    rows = [
        ("request id", lambda: new_request_id()),
        ("auth", lambda: authenticate(HEADERS, settings.api_keys)),
        ("parse (JSON + limits)", lambda: parse_json_object(raw)),
        ("validate (schema, jsonschema-rs)", lambda: contract.is_valid(parsed)),
        ("rules (semantic)", lambda: [v for rule in RULES.values() for v in rule(parsed)]),
        ("request model", lambda: ChatRequest(parsed, HEADERS)),
        ("match (fixture select)", lambda: fixtures.select(ctx)),
        ("respond (match + generate)", lambda: respond(chat, fixtures, settings, text, layers)),
    ]
    stream = bool(body.get("stream"))
    if stream:
        rows.append(("encode (SSE frames)", lambda: sse_frames(completion, include_usage=True)))
    else:
        rows.append(("encode (JSON body)", lambda: json_bytes.dumps(completion.to_json())))
    prepared = Prepared.of(completion, stream=stream, include_usage=stream)
    assert prepared is not None
    rows.append(
        ("encode again (prepared bytes, a repeat)", lambda: prepared.encoded("chatcmpl-0", 0))
    )
    rows.append(("journal (event + record)", journal_stage))
    return [(name, timed(fn, iterations)) for name, fn in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    settings = Settings(fixture_paths=(bundled("fixtures"),), access_log=False)
    report: dict[str, Any] = {}
    for case, body in (("non-stream", PLAIN_BODY), ("stream", STREAM_BODY)):
        app = create_app(settings)
        rows = stage_rows(app, body, args.iterations)
        total = sum(us for name, us in rows if not name.startswith(("match", "encode again")))
        print(f"\n{case}: microseconds per request (median of 7 batches of {args.iterations})")
        print(f"{'stage':<40} {'us':>8}")
        for name, us in rows:
            print(f"{name:<40} {us:8.1f}")
        print(f"{'sum of stages (match counted once)':<40} {total:8.1f}")
        report[case] = {"stages_us": dict(rows), "sum_us": total}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
