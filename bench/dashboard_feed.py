"""What open dashboards cost the request path: throughput with N live feeds against none.

One mock process; rounds alternate between no reader and N readers of GET /__admin/events (each
reading and counting `request` events as a dashboard tab would). The load is bench/pyload.py
(plain replies). The figure is a ratio, req/s with readers over req/s without, median of the
rounds, measured in the same run; and whether every reader saw every request.

    .venv/bin/python bench/dashboard_feed.py [--readers 4] [--rounds 3] [--duration 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

import aiohttp

from bench import Case, LoadSettings, drive, mock_command, running

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello."}]}
CASE = Case("plain", (), BODY, stream=False)
LOAD = LoadSettings("python", concurrency=32, duration_s=0, requests=0, wrk_threads=1, cpus=None)


async def load(url: str, files: Path, duration: int) -> float:
    """req/s of bench.py's pyload run (in a thread: the readers keep reading meanwhile)."""
    done, _ = await asyncio.to_thread(drive, LOAD, url, CASE, files, duration)
    return done.requests / done.duration_s


async def reader(session: aiohttp.ClientSession, url: str, seen: list[int], index: int) -> None:
    async with session.get(f"{url}/__admin/events") as feed:
        async for line in feed.content:
            if line.startswith(b"event: request"):
                seen[index] += 1


async def round_with_readers(url: str, files: Path, duration: int, readers: int) -> float:
    seen = [0] * readers
    async with aiohttp.ClientSession() as session:
        await session.delete(f"{url}/__admin/requests")
        tasks = [asyncio.create_task(reader(session, url, seen, i)) for i in range(readers)]
        await asyncio.sleep(0.3)  # the feeds are open before the load starts
        rate = await load(url, files, duration)
        await asyncio.sleep(0.5)  # the last notices arrive
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        journal = await (await session.get(f"{url}/__admin/health")).json()
    if readers and min(seen) < journal["requests"]:
        print(f"  note: readers saw {seen} of {journal['requests']} requests (dropped as slow)")
    return rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=4)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        running("mock", mock_command([]), Path(folder), None) as mock,
    ):
        files, url = Path(folder), mock.url
        await load(url, files, 1)  # warm-up
        ratios = []
        for round_no in range(1, args.rounds + 1):
            without = await round_with_readers(url, files, args.duration, 0)
            with_readers = await round_with_readers(url, files, args.duration, args.readers)
            ratios.append(with_readers / without)
            print(
                f"round {round_no}: {without:.0f} req/s without readers, "
                f"{with_readers:.0f} with {args.readers}: ratio {ratios[-1]:.2f}"
            )
        median = statistics.median(ratios)
        print(f"median ratio (with {args.readers} readers / none): {median:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
