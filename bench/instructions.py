"""Instructions per request, mock and bare aiohttp, counted by valgrind's callgrind.

req/s on these shared 2-core machines moves 10-20% between two runs minutes apart; an
instruction count does not (the same binary and inputs give the same count, whatever the
other tenants do). So this is the figure to compare two trees of the mock by, and the ratio
bare/mock here is the throughput ratio the mock would have if every instruction cost the same;
bench.py's real ratio is lower, because the mock's instructions are costlier on average (more
code and data per request: cache misses, branch mispredictions) and its replies are slower to
come, so fewer requests share an event-loop turn.

For each case: the mock and a bare aiohttp serving the mock's reply to the case's body (as in
bench.py) are started under `valgrind --tool=callgrind --instr-atstart=no`, warmed up with
instrumentation off, then loaded with wrk (--concurrency connections) for --seconds with it on.
Instructions of the whole server process, divided by the replies wrk counted.

    apt-get install -y valgrind wrk
    .venv/bin/python bench/instructions.py [--case non-stream] [--seconds 10] [--concurrency 16]
                                           [--floor]

--floor adds two servers: the mock's scaffolding answering the bare server's fixed reply, with
and without journal entries (bench/floor_server.py). No change to the chat path can take the
mock below the first; the gap between the two is what journaling every request costs.

About a minute per case and server: the servers run ~50x slower under valgrind.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import (
    BENCH_DIR,
    CASES,
    BenchError,
    Case,
    LoadSettings,
    bare_command,
    capture,
    drive,
    log,
    mock_command,
    running,
)

START_TIMEOUT_S = 180.0  # the mock's start-up under valgrind
TOTALS = re.compile(r"^([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", re.MULTILINE)


def callgrind(command: list[str], out: Path) -> list[str]:
    return [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        *command,
    ]


def instructions_per_request(
    name: str, command: list[str], case: Case, settings: LoadSettings, workdir: Path
) -> tuple[float, int]:
    out = workdir / f"{name}.callgrind"
    with running(name, callgrind(command, out), workdir, None, START_TIMEOUT_S) as server:
        drive(settings, server.url, case, workdir, 2)  # warm, uninstrumented
        pid = str(server.process.pid)
        subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
        load, _ = drive(settings, server.url, case, workdir, settings.duration_s)
        subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
    if load.non200 or load.incomplete:
        raise BenchError(f"{name}: {load.non200} non-200 and {load.incomplete} incomplete replies")
    dumps = sorted(workdir.glob(f"{name}.callgrind*"), key=lambda p: p.stat().st_size)
    annotated = subprocess.run(
        ["callgrind_annotate", str(dumps[-1])], check=True, capture_output=True, text=True
    ).stdout
    found = TOTALS.search(annotated)
    if found is None or not load.requests:
        raise BenchError(f"{name}: no instruction total or no replies")
    return int(found.group(1).replace(",", "")) / load.requests, load.requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = [case.name for case in CASES]
    parser.add_argument("--case", action="append", choices=names, help="repeatable; default all")
    parser.add_argument("--seconds", type=int, default=10, help="instrumented load per server")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also the mock's scaffolding answering bare's fixed reply, with and without its "
        "journal (bench/floor_server.py): the floor no chat-path change can go below",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate", "wrk"):
        if shutil.which(tool) is None:
            print(f"bench/instructions.py needs {tool} (apt-get install valgrind wrk)")
            return 2
    settings = LoadSettings("wrk", args.concurrency, args.seconds, 0, 1, None)
    results = []
    with tempfile.TemporaryDirectory(prefix="mockserver-instructions-") as tmp:
        for case in [c for c in CASES if c.name in (args.case or names)]:
            workdir = Path(tmp) / re.sub(r"[^a-z0-9]+", "-", case.name)
            workdir.mkdir()
            body = json.dumps(case.body, separators=(",", ":")).encode()
            with running("capture", mock_command(()), workdir, None) as mock:
                reply, _ = capture(mock.url, body, case.stream)
            reply_file = workdir / "reply.json"
            reply_file.write_text(json.dumps(reply, ensure_ascii=False))
            servers = [("bare", bare_command(reply_file)), ("mock", mock_command(()))]
            if args.floor:
                floor = [sys.executable, str(BENCH_DIR / "floor_server.py"), "--reply"]
                floor += [str(reply_file), "--port", "0", "--quiet"]
                servers += [
                    ("mock scaffolding", floor),
                    ("... no journal", [*floor, "--no-journal"]),
                ]
            figures = {}
            for name, command in servers:
                log(f"[{case.name}] {name} under callgrind")
                tag = re.sub(r"[^a-z]+", "-", name)
                per, count = instructions_per_request(tag, command, case, settings, workdir)
                figures[name] = {"instructions_per_request": round(per), "requests": count}
            bare = figures["bare"]["instructions_per_request"]
            ratios = {
                name: round(bare / f["instructions_per_request"], 3) for name, f in figures.items()
            }
            results.append({"case": case.name, **figures, "bare_over": ratios})
            print(case.name, flush=True)
            for name, f in figures.items():
                per = f["instructions_per_request"]
                print(f"  {name:18s} {per / 1e6:.3f} M  bare/this {ratios[name]:.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
