"""What proxying costs (issue #10): a benchmark, not a test.

Starts bench/bare_server.py as the "gateway" and the mock in front of it
(`serve --upstream ... --proxy-all`), then alternates, for a plain and a streamed request:
the same load straight to the gateway, through the mock, and to a mock without upstream
(generated replies: what the mock costs on its own). Reported per case: requests per second
and median latency (time to the first event for streams) of each, and the two mocks' figures
as ratios of the direct ones measured in the same round (median over rounds).

    .venv/bin/python bench/upstream.py [--requests 2000] [--concurrency 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import bare_command, mock_command, running

BODY: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}
AUTH = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}


async def one(session: aiohttp.ClientSession, url: str, stream: bool) -> float:
    """Seconds to the reply (plain) or to its first event (stream); the reply is read whole."""
    started = time.perf_counter()
    body = {**BODY, "stream": True} if stream else BODY
    data = json.dumps(body, separators=(",", ":"))  # bare_server looks for '"stream":true'
    async with session.post(f"{url}/v1/chat/completions", data=data, headers=AUTH) as reply:
        assert reply.status == 200, reply.status
        if stream:
            await reply.content.readuntil(b"\n\n")
            first = time.perf_counter() - started
            rest = await reply.read()
            assert rest.endswith(b"data: [DONE]\n\n")
            return first
        await reply.read()
        return time.perf_counter() - started


async def load(url: str, stream: bool, requests: int, concurrency: int) -> tuple[float, float]:
    """(requests per second, median latency in ms) of `requests` sent `concurrency` at a time."""
    latencies: list[float] = []
    queue = iter(range(requests))

    async def worker(session: aiohttp.ClientSession) -> None:
        for _ in queue:
            latencies.append(await one(session, url, stream))

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return requests / elapsed, statistics.median(latencies) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        running("gateway", bare_command(None), Path(folder), None) as gateway,
        running(
            "via mock",
            mock_command(["--proxy-all", "--upstream", f"{gateway.url}/v1"]),
            Path(folder),
            None,
        ) as mock,
        running("mock alone", mock_command(["--fixtures", "bench"]), Path(folder), None) as alone,
    ):
        gateway_url, mock_url, alone_url = gateway.url, mock.url, alone.url
        for stream in (False, True):
            for url in (gateway_url, mock_url, alone_url):
                await load(url, stream, 200, args.concurrency)  # warm-up
            ratios: list[tuple[float, float, float, float]] = []
            name = "stream (first event)" if stream else "plain"
            for _ in range(args.rounds):
                direct = await load(gateway_url, stream, args.requests, args.concurrency)
                proxied = await load(mock_url, stream, args.requests, args.concurrency)
                generated = await load(alone_url, stream, args.requests, args.concurrency)
                print(
                    f"{name}: direct {direct[0]:.0f} req/s p50 {direct[1]:.2f} ms; "
                    f"via mock {proxied[0]:.0f} req/s p50 {proxied[1]:.2f} ms; "
                    f"mock alone {generated[0]:.0f} req/s p50 {generated[1]:.2f} ms"
                )
                ratios.append(
                    (
                        proxied[0] / direct[0],
                        proxied[1] / direct[1],
                        generated[0] / direct[0],
                        generated[1] / direct[1],
                    )
                )
            median = [statistics.median(r[i] for r in ratios) for i in range(4)]
            print(
                f"{name}: via mock / direct: throughput x{median[0]:.2f}, latency x{median[1]:.2f}"
                f"; mock alone / direct: throughput x{median[2]:.2f}, latency x{median[3]:.2f}"
            )


if __name__ == "__main__":
    asyncio.run(main())
