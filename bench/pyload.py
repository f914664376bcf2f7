"""The fallback load generator of bench.py when `wrk` is not installed: aiohttp, in its own process.

It keeps `--concurrency` requests in flight (one worker per connection, each sending its next
request as soon as the previous reply has been read to the end) until `--duration` seconds have
passed or `--requests` replies have come back, whichever is first, then prints one line
`PYLOAD_JSON {...}` with the same fields bench.py reads from wrk.

    python bench/pyload.py --url URL --body-file body.json [--stream] [--concurrency 64]
        [--duration 5] [--requests N] [--header 'Name: value' ...]

Only loopback URLs are accepted: it is a benchmark client, never pointed at another machine.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

DONE = b"data: [DONE]\n\n"


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"pyload: refusing non-loopback target {host!r}")


async def run(args: argparse.Namespace, body: bytes) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    for header in args.header:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    counters = {"sent": 0, "incomplete": 0, "bytes": 0}
    max_requests: int = args.requests or 1 << 62
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    connector = aiohttp.TCPConnector(limit=args.concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        deadline = start + args.duration

        async def worker() -> None:
            while time.perf_counter() < deadline and counters["sent"] < max_requests:
                counters["sent"] += 1
                data = body
                if args.unique:
                    data = body.replace(args.unique.encode(), str(counters["sent"]).encode())
                sent_at = time.perf_counter()
                try:
                    async with session.post(args.url, data=data, headers=headers) as response:
                        payload = await response.read()
                        status = response.status
                except TimeoutError:
                    errors["timeout"] += 1
                    continue
                except aiohttp.ClientConnectorError:
                    errors["connect"] += 1
                    continue
                except aiohttp.ClientError:
                    errors["read"] += 1
                    continue
                latencies.append(time.perf_counter() - sent_at)
                statuses[status] = statuses.get(status, 0) + 1
                counters["bytes"] += len(payload)
                if args.stream and not payload.endswith(DONE):
                    counters["incomplete"] += 1

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies),
        "duration_s": elapsed,
        "bytes": counters["bytes"],
        "non200": sum(n for status, n in statuses.items() if status != 200),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "incomplete": counters["incomplete"],
        "errors": errors,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "mean_ms": (sum(latencies) / len(latencies) * 1000) if latencies else 0.0,
        "max_ms": (latencies[-1] * 1000) if latencies else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="bench.py's aiohttp load generator")
    parser.add_argument("--url", required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--stream", action="store_true", help="expect SSE replies ending in [DONE]")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--requests", type=int, default=0, help="stop after N replies (0: none)")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument(
        "--unique", default=None, help="a marker in the body replaced by a counter per request"
    )
    args = parser.parse_args()
    check_loopback(args.url)
    result = asyncio.run(run(args, Path(args.body_file).read_bytes()))
    print("PYLOAD_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
