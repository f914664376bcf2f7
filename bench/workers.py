"""The workers run: 1 and 2 processes of the mock against a bare aiohttp with as many processes,
in one run, plus the event-loop baseline (bare aiohttp on asyncio and on uvloop).

    .venv/bin/python bench/workers.py [--duration 5] [--rounds 2] [--case non-stream|stream]

Servers (all started once, measured one at a time, in the same order every round):

    bare asyncio x1   bench/bare_server.py                      (the stack's limit)
    bare uvloop x1    bench/bare_server.py --loop uvloop        (the stack's limit on uvloop)
    mock x1           mockserver serve                          (asyncio, state in memory)
    mock uvloop x1    mockserver serve --loop uvloop
    bare asyncio x2   bench/bare_server.py --workers 2
    mock x2           mockserver serve --workers 2 --state redis://...  (a redis-server of its own)

The load generator's share of the 2 cores: nothing is pinned here (2 workers need both cores),
so wrk (one thread) runs beside the servers and its CPU use is measured and reported for every
run, as is the servers' (every process of the tree) and Redis's. The 1 -> 2 scaling can then
reach at most (2 - wrk's cores - Redis's cores) / (server cores at x1), and the report gives the
ratio mock/bare at equal process counts, which the shared cores affect alike.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import (
    PLAIN_BODY,
    STREAM_BODY,
    BenchError,
    Case,
    LoadSettings,
    Server,
    bare_command,
    capture,
    cpu_seconds,
    drive,
    log,
    mock_command,
    running,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.redis_server import RedisServer


def tree(pid: int) -> list[int]:
    """The process and all its descendants (the workers of a supervisor)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found += tree(int(child))
    return found


def tree_cpu(pid: int) -> float:
    return sum(cpu_seconds(p) or 0.0 for p in tree(pid))


def measure(
    server: Server, settings: LoadSettings, case: Case, files: Path, redis_pid: int | None
) -> dict[str, Any]:
    before = tree_cpu(server.process.pid)
    redis_before = cpu_seconds(redis_pid) if redis_pid else None
    load, loadgen_cpu = drive(settings, server.url, case, files, settings.duration_s)
    after = tree_cpu(server.process.pid)
    redis_after = cpu_seconds(redis_pid) if redis_pid else None
    if load.non200 or load.incomplete or sum(load.socket_errors.values()):
        raise BenchError(f"{server.name}: bad replies {load}")
    wall = load.duration_s or 1e-9
    return {
        "rps": load.requests / wall,
        "p50_ms": load.p50_ms,
        "p99_ms": load.p99_ms,
        "server_cores": (after - before) / wall,
        "loadgen_cores": loadgen_cpu / wall,
        "redis_cores": (
            (redis_after - redis_before) / wall
            if redis_after is not None and redis_before is not None
            else 0.0
        ),
        "cpu_us_per_request": (after - before) / load.requests * 1e6 if load.requests else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--case", choices=["non-stream", "stream"], default="non-stream")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("redis-server") is None:
        print("needs wrk and redis-server (apt-get install wrk redis-server)", file=sys.stderr)
        return 2
    stream = args.case == "stream"
    case = Case(args.case, (), STREAM_BODY if stream else PLAIN_BODY, stream)
    body = json.dumps(case.body, separators=(",", ":")).encode()
    settings = LoadSettings("wrk", args.concurrency, args.duration, 0, 1, None)
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="mockserver-workers-") as tmp:
        work = Path(tmp)
        (work / "redis").mkdir()
        redis = RedisServer(work / "redis")
        try:
            with running("mock x1", mock_command([]), work, None) as mock1:
                reply, _ = capture(mock1.url, body, stream)
                reply_file = work / "reply.json"
                reply_file.write_text(json.dumps(reply, ensure_ascii=False))
                bare = bare_command(reply_file)
                mock2_args = ["--workers", "2", "--state", redis.url]
                with (
                    running("bare asyncio x1", bare, work, None) as b1,
                    running("bare uvloop x1", [*bare, "--loop", "uvloop"], work, None) as b1u,
                    running(
                        "mock uvloop x1", mock_command(["--loop", "uvloop"]), work, None
                    ) as m1u,
                    running("bare asyncio x2", [*bare, "--workers", "2"], work, None) as b2,
                    running("mock x2", mock_command(mock2_args), work, None) as mock2,
                ):
                    order = [b1, mock1, b1u, m1u, b2, mock2]
                    if args.warmup:
                        for server in order:
                            drive(settings, server.url, case, work, args.warmup)
                    assert redis.proc is not None
                    for round_no in range(1, args.rounds + 1):
                        for server in order:
                            redis_pid = redis.proc.pid if server is mock2 else None
                            run = measure(server, settings, case, work, redis_pid)
                            results.setdefault(server.name, []).append(run)
                            log(
                                f"round {round_no} {server.name}: {run['rps']:,.0f} req/s, "
                                f"server {run['server_cores']:.2f} cores, wrk "
                                f"{run['loadgen_cores']:.2f}, redis {run['redis_cores']:.2f}"
                            )
        finally:
            redis.kill()
    summary = {
        name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for name, runs in results.items()
    }
    print(f"\nworkers run, {args.case}: medians of {args.rounds} rounds of {args.duration} s")
    columns = ("req/s", 8), ("p50 ms", 7), ("p99 ms", 7), ("cores", 6), ("wrk", 5), ("redis", 6)
    print(f"{'server':<16} " + " ".join(f"{n:>{w}}" for n, w in columns) + f" {'cpu us/req':>10}")
    for name, s in summary.items():
        print(
            f"{name:<16} {s['rps']:8,.0f} {s['p50_ms']:7.1f} {s['p99_ms']:7.1f} "
            f"{s['server_cores']:6.2f} {s['loadgen_cores']:5.2f} {s['redis_cores']:6.2f} "
            f"{s['cpu_us_per_request']:10.0f}"
        )
    rps = {name: s["rps"] for name, s in summary.items()}
    cpu = {name: s["cpu_us_per_request"] for name, s in summary.items()}
    ratios = {
        "req/s mock / bare (x1, asyncio)": rps["mock x1"] / rps["bare asyncio x1"],
        "req/s mock / bare (x1, uvloop)": rps["mock uvloop x1"] / rps["bare uvloop x1"],
        "req/s mock / bare (x2)": rps["mock x2"] / rps["bare asyncio x2"],
        "req/s scaling 1 -> 2, bare": rps["bare asyncio x2"] / rps["bare asyncio x1"],
        "req/s scaling 1 -> 2, mock": rps["mock x2"] / rps["mock x1"],
        "cpu/req mock / bare (x1, asyncio)": cpu["mock x1"] / cpu["bare asyncio x1"],
        "cpu/req mock / bare (x1, uvloop)": cpu["mock uvloop x1"] / cpu["bare uvloop x1"],
        "cpu/req mock / bare (x2)": cpu["mock x2"] / cpu["bare asyncio x2"],
        "cpu/req mock uvloop / mock asyncio": cpu["mock uvloop x1"] / cpu["mock x1"],
        "p99 mock uvloop / mock asyncio": (
            summary["mock uvloop x1"]["p99_ms"] / summary["mock x1"]["p99_ms"]
        ),
    }
    print()
    for name, value in ratios.items():
        print(f"{name:<34} {value:5.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        document = {"runs": results, "summary": summary, "ratios": ratios}
        args.json.write_text(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except (BenchError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
