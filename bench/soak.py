"""Soak: mixed traffic against a real server process for N minutes, its RSS sampled.

Not a test (pytest does not collect bench/). It answers: once the journal is full, does the
server's memory stay flat? Traffic mixes plain and streamed replies (n up to 16), tool calls,
structured output, large bodies (summarized by the journal), invalid requests, generation
bombs (400s) and admin queries (list, count with a regex, unmatched). RSS is read from
/proc/PID/status every few seconds; warm-up ends when the journal is full (its entry limit or
90% of its byte bound) and the reply cache too (--warmup-requests, past its 2048 entries), and
growth is measured from there.

    .venv/bin/python bench/soak.py --minutes 10 --json bench/results/soak.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench import mock_command, running

AUTH = {"Authorization": "Bearer sk-soak"}
MB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", text)
    assert match is not None
    return int(match.group(1)) * 1024


def chat(rng: random.Random, i: int) -> dict[str, Any]:
    """One request of the mix (the index keeps bodies distinct: no reply-cache shortcut)."""
    body: dict[str, Any] = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": f"Question {i}: tell me about the weather."}],
    }
    kind = rng.choices(
        ["plain", "stream", "n-stream", "tools", "structured", "big", "invalid", "bomb"],
        weights=[30, 25, 8, 12, 10, 3, 8, 1],
    )[0]
    if kind == "stream":
        body["stream"] = True
    elif kind == "n-stream":
        body.update(stream=True, n=16)
    elif kind == "tools":
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                        "required": ["city"],
                    },
                },
            }
        ]
    elif kind == "structured":
        schema = {
            "type": "object",
            "properties": {"title": {"type": "string"}, "tags": {"type": "array"}},
            "required": ["title", "tags"],
        }
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": schema},
        }
    elif kind == "big":
        body["messages"][0]["content"] += " " + "x" * 1_000_000
    elif kind == "invalid":
        body["temperature"] = 9
    elif kind == "bomb":
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": {"anyOf": [{"$ref": "#"}, {"$ref": "#"}]}},
        }
    return body


async def worker(
    session: aiohttp.ClientSession,
    url: str,
    stop_at: float,
    counts: Counter[str],
    seed: int,
) -> None:
    rng = random.Random(seed)
    i = seed * 10_000_000
    while time.monotonic() < stop_at:
        i += 1
        roll = rng.random()
        try:
            if roll < 0.01:
                query = {"last_user": {"regex": "^(a+)+$"}}
                async with session.post(f"{url}/__admin/requests/count", json=query) as r:
                    await r.read()
                    counts[f"admin {r.status}"] += 1
            elif roll < 0.015:
                async with session.get(f"{url}/__admin/requests/unmatched?limit=20") as r:
                    await r.read()
                    counts[f"admin {r.status}"] += 1
            elif roll < 0.02:
                async with session.get(f"{url}/__admin/requests?limit=50") as r:
                    await r.read()
                    counts[f"admin {r.status}"] += 1
            else:
                body = chat(rng, i)
                async with session.post(f"{url}/v1/chat/completions", json=body) as r:
                    await r.read()
                    counts[str(r.status)] += 1
        except aiohttp.ClientError as exc:
            counts[f"client error {type(exc).__name__}"] += 1


async def health(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(f"{url}/__admin/health") as r:
        data: dict[str, Any] = await r.json()
        return data


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    limits = [
        f"--journal-limit={args.journal_limit}",
        f"--journal-max-bytes={args.journal_max_bytes}",
    ]
    with (
        tempfile.TemporaryDirectory() as folder,
        running("mock", mock_command(limits), Path(folder), None) as server,
    ):
        proc, url = server.process, server.url
        samples: list[dict[str, Any]] = []
        counts: Counter[str] = Counter()
        start_rss = rss_bytes(proc.pid)
        began = time.monotonic()
        stop_at = began + args.minutes * 60
        warm: dict[str, Any] | None = None
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(headers=AUTH, connector=connector) as session:
            workers = [
                asyncio.create_task(worker(session, url, stop_at, counts, seed))
                for seed in range(args.concurrency)
            ]
            while time.monotonic() < stop_at:
                await asyncio.sleep(args.sample_s)
                state = await health(session, url)
                sample = {
                    "t_s": round(time.monotonic() - began, 1),
                    "rss_mb": round(rss_bytes(proc.pid) / MB, 1),
                    "journal_entries": state["requests"],
                    "journal_mb": round(state["journal_bytes"] / MB, 1),
                    "requests": sum(counts.values()),
                }
                samples.append(sample)
                print(json.dumps(sample), flush=True)
                full = (
                    state["requests"] >= args.journal_limit
                    or state["journal_bytes"] >= 0.9 * args.journal_max_bytes
                ) and sample["requests"] >= args.warmup_requests
                if warm is None and full:
                    warm = sample
            await asyncio.gather(*workers)
        end = samples[-1]
        warm = warm or samples[0]
        growth = (end["rss_mb"] - warm["rss_mb"]) / warm["rss_mb"] * 100
        return {
            "minutes": args.minutes,
            "concurrency": args.concurrency,
            "journal_limit": args.journal_limit,
            "journal_max_mb": round(args.journal_max_bytes / MB, 1),
            "rss_start_mb": round(start_rss / MB, 1),
            "rss_warm_mb": warm["rss_mb"],
            "warm_at_s": warm["t_s"],
            "rss_end_mb": end["rss_mb"],
            "rss_max_mb": max(s["rss_mb"] for s in samples),
            "growth_after_warmup_pct": round(growth, 1),
            "requests": sum(counts.values()),
            "by_status": dict(counts),
            "samples": samples,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--journal-limit", type=int, default=10_000)
    parser.add_argument("--journal-max-bytes", type=int, default=128 * MB)
    parser.add_argument("--sample-s", type=float, default=5)
    parser.add_argument(
        "--warmup-requests",
        type=int,
        default=2500,
        help="requests before warm-up can end: the reply cache holds 2048 replies",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    if not Path("/proc/self/status").exists():
        raise SystemExit("soak.py reads RSS from /proc: Linux only")
    result = asyncio.run(soak(args))
    summary = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(summary, indent=2))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    os._exit(0)


if __name__ == "__main__":
    main()
