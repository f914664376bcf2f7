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
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello."}]}


def start_mock(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    out = workdir / "mock.out"
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--quiet"],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for line in out.read_text("utf-8", "replace").splitlines():
            if line.startswith("MOCKSERVER_READY "):
                url: str = json.loads(line.removeprefix("MOCKSERVER_READY "))["url"]
                return process, url
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"the mock did not start:\n{out.read_text('utf-8', 'replace')}")


async def load(url: str, body_file: Path, duration: int) -> float:
    command = [
        sys.executable,
        str(ROOT / "bench" / "pyload.py"),
        "--url",
        f"{url}/v1/chat/completions",
        "--body-file",
        str(body_file),
        "--concurrency",
        "32",
        "--duration",
        str(duration),
        "--header",
        "Authorization: Bearer sk-bench",
    ]
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    stdout, _ = await process.communicate()
    for line in stdout.decode().splitlines():
        if line.startswith("PYLOAD_JSON "):
            result = json.loads(line.removeprefix("PYLOAD_JSON "))
            return float(result["requests"]) / float(result["duration_s"])
    raise SystemExit(f"pyload printed no result:\n{stdout.decode()}")


async def reader(session: aiohttp.ClientSession, url: str, seen: list[int], index: int) -> None:
    async with session.get(f"{url}/__admin/events") as feed:
        async for line in feed.content:
            if line.startswith(b"event: request"):
                seen[index] += 1


async def round_with_readers(url: str, body_file: Path, duration: int, readers: int) -> float:
    seen = [0] * readers
    async with aiohttp.ClientSession() as session:
        await session.delete(f"{url}/__admin/requests")
        tasks = [asyncio.create_task(reader(session, url, seen, i)) for i in range(readers)]
        await asyncio.sleep(0.3)  # the feeds are open before the load starts
        rate = await load(url, body_file, duration)
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
    with tempfile.TemporaryDirectory() as folder:
        body_file = Path(folder) / "body.json"
        body_file.write_text(json.dumps(BODY))
        process, url = start_mock(Path(folder))
        try:
            await load(url, body_file, 1)  # warm-up
            ratios = []
            for round_no in range(1, args.rounds + 1):
                without = await round_with_readers(url, body_file, args.duration, 0)
                with_readers = await round_with_readers(url, body_file, args.duration, args.readers)
                ratios.append(with_readers / without)
                print(
                    f"round {round_no}: {without:.0f} req/s without readers, "
                    f"{with_readers:.0f} with {args.readers}: ratio {ratios[-1]:.2f}"
                )
            median = statistics.median(ratios)
            print(f"median ratio (with {args.readers} readers / none): {median:.2f}")
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
