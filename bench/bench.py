"""Throughput and latency of the mock against a bare aiohttp baseline, as ratios.

A benchmark script, not a test. It spawns the mock (`python -m mockserver serve --port 0
--quiet`) and a bare aiohttp app (bench/bare_server.py) serving the mock's own reply as fixed
bytes, drives each at a fixed concurrency with `wrk` (or, without it, bench/pyload.py in its own
process), interleaving the two servers (bare, mock, bare, mock, ...), and reports requests/s,
p50/p99 latency and the median of the per-round mock/bare throughput ratios. The machine is
shared and noisy: read the ratios, not the absolute figures. See bench/README.md.

    .venv/bin/python bench/bench.py [--duration 5] [--rounds 3] [--json bench/results/run.json]

Exit status: 0 when every run completed with only 200 replies (whether or not the targets are
met), 1 on an error (a server that does not start, a load generator that fails, a non-200 reply,
an incomplete stream or a socket error), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import ipaddress
import itertools
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
CHAT_PATH = "/v1/chat/completions"
HEALTH_PATH = "/__admin/health"
API_KEY = "sk-bench"
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"}
READY = re.compile(r"^([A-Z_]+)_READY (\{.*\})$", re.MULTILINE)
SSE_DONE = b"data: [DONE]\n\n"

STARTUP_TARGET_S = 1.0
# Issue #14's targets, on the request wrk sends by default (the same body every time).
RATIO_TARGETS = {"non-stream": 0.6, "stream": 0.85}
# --floor: the servers beside bare and mock (name: with its journal)
FLOORS = {"floor": True, "floor, no journal": False}
UNIQUE = "@N@"  # in a case body with unique=True: a counter, different in every request
# Each load run's own number, before the counter: wrk and pyload count from 1 every time they
# start, so without it a run re-sent the bodies of the run before (to the mock, repeats).
_RUNS = itertools.count(int(time.time()))
SERVER_START_TIMEOUT_S = 30.0
BUSY = 0.9  # a process using this much of a core over a run is taken as the bottleneck

MESSAGES = [{"role": "user", "content": "Say hello in one short sentence."}]
PLAIN_BODY: dict[str, Any] = {"model": "gpt-4o", "messages": MESSAGES}
STREAM_BODY: dict[str, Any] = {
    **PLAIN_BODY,
    "stream": True,
    "stream_options": {"include_usage": True},
}


# --------------------------------------------------------------------------------------------
# The cases: one row each. The mock runs as `python -m mockserver serve --port 0 --quiet
# *mock_args *prepare(dir)`; the bare baseline always serves the reply the mock gave to `body`.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    mock_args: tuple[str, ...]
    body: dict[str, Any]
    stream: bool
    # Optional: writes what the case needs (e.g. fixture files) into an empty directory and
    # returns more mock arguments (e.g. ("--fixtures", str(dir))). Runs before the mock starts,
    # so the mock's start-up time for the case includes loading them.
    prepare: Callable[[Path], tuple[str, ...]] | None = None
    # Every request's body differs (UNIQUE in it becomes a counter): no reply can be a repeat
    # (mockserver/replies/repeats.py), so each one is parsed, validated, matched and generated.
    unique: bool = False


def _unique(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "messages": [{"role": "user", "content": f"Say hello to visitor {UNIQUE}."}]}


CASES: tuple[Case, ...] = (
    Case("non-stream", (), PLAIN_BODY, stream=False),
    Case("stream", (), STREAM_BODY, stream=True),
    Case("non-stream, unique bodies", (), _unique(PLAIN_BODY), stream=False, unique=True),
    Case("stream, unique bodies", (), _unique(STREAM_BODY), stream=True, unique=True),
    # When the fixture engine exists:
    #   Case("non-stream, 10k fixtures", (), PLAIN_BODY, False, prepare=write_10k_fixtures),
    # with write_10k_fixtures(dir) writing 10,000 fixtures (none matching PLAIN_BODY, or one,
    # whichever the case means to measure) and returning ("--fixtures", str(dir)).
)


def mock_command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--quiet", *args]


def floor_command(reply_file: Path, *, journal: bool) -> list[str]:
    """The mock's scaffolding answering bare's fixed reply (bench/floor_server.py)."""
    command = [sys.executable, str(BENCH_DIR / "floor_server.py"), "--reply", str(reply_file)]
    return [*command, *([] if journal else ["--no-journal"]), "--port", "0", "--quiet"]


def bare_command(reply_file: Path | None) -> list[str]:
    command = [sys.executable, str(BENCH_DIR / "bare_server.py"), "--port", "0"]
    return [*command, "--reply", str(reply_file)] if reply_file else command


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


class BenchError(Exception):
    """Something that makes a figure meaningless: reported, and the exit status is 1."""


class UsageError(Exception):
    """Arguments this machine cannot honour: exit status 2, like argparse's own errors."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pinned(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A preexec_fn restricting the child (and every thread it starts) to `cpus`."""
    if cpus is None:
        return None
    chosen = set(cpus)

    def pin() -> None:
        os.sched_setaffinity(0, chosen)

    return pin


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process, from /proc (None where there is no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise BenchError(f"refusing to load a non-loopback address: {url}")


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    startup_s: float
    stderr_path: Path
    banner: list[str]  # what it printed before its READY line

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "127.0.0.1", parts.port or 80


def http_request(
    url: str, method: str = "GET", body: bytes | None = None, timeout: float = 5.0
) -> tuple[int, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        connection.request(method, parts.path, body=body, headers=HEADERS if body else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def spawn(
    name: str,
    command: list[str],
    workdir: Path,
    cpus: frozenset[int] | None,
    timeout_s: float = SERVER_START_TIMEOUT_S,
) -> Server:
    """Start a server; return once its READY line is out and its health check answers 200.

    `startup_s` runs from just before the spawn to the first 200 from the health check.
    """
    out_path = workdir / f"{name}.{time.monotonic_ns()}.out"
    err_path = out_path.with_suffix(".err")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=pinned(cpus),
        )
    deadline = started + timeout_s
    url = ""
    banner: list[str] = []
    try:
        while not url:
            printed = out_path.read_text(errors="replace")
            match = READY.search(printed)
            if match:
                banner = printed[: match.start()].rstrip().splitlines()
                url = str(json.loads(match.group(2))["url"])
                break
            if process.poll() is not None:
                raise BenchError(
                    f"{name} exited with {process.returncode} before its READY line:\n"
                    + tail(err_path)
                )
            if time.perf_counter() > deadline:
                raise BenchError(f"{name} printed no READY line in {timeout_s} s")
            time.sleep(0.002)
        check_loopback(url)
        while True:
            try:
                status, _ = http_request(url + HEALTH_PATH, timeout=1.0)
            except OSError:
                status = 0
            if status == 200:
                break
            if process.poll() is not None or time.perf_counter() > deadline:
                raise BenchError(f"{name}: {HEALTH_PATH} never answered 200 (last: {status})")
            time.sleep(0.005)
    except BaseException:
        stop(process)
        raise
    return Server(name, process, url, time.perf_counter() - started, err_path, banner)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running(
    name: str,
    command: list[str],
    workdir: Path,
    cpus: frozenset[int] | None,
    timeout_s: float = SERVER_START_TIMEOUT_S,
) -> Iterator[Server]:
    server = spawn(name, command, workdir, cpus, timeout_s)
    try:
        yield server
    finally:
        stop(server.process)


# --------------------------------------------------------------------------------------------
# The reply the bare server serves: the mock's own, captured once per case
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyShape:
    bytes: int
    frames: int  # SSE events including [DONE]; 0 for a JSON body


def capture(url: str, body: bytes, stream: bool) -> tuple[dict[str, Any], ReplyShape]:
    """One reply to `body`, as a bare_server.py reply document, and its size."""
    status, payload = http_request(url + CHAT_PATH, "POST", body)
    if status != 200:
        raise BenchError(f"{url}: the benchmark request got {status}: {payload[:300]!r}")
    if not stream:
        return {"kind": "json", "body": payload.decode()}, ReplyShape(len(payload), 0)
    frames = [part + b"\n\n" for part in payload.split(b"\n\n") if part]
    if not frames or frames[-1] != SSE_DONE:
        raise BenchError(f"{url}: the stream does not end with [DONE]: {payload[-200:]!r}")
    reply = {"kind": "sse", "frames": [f.decode() for f in frames]}
    return reply, ReplyShape(len(payload), len(frames))


# --------------------------------------------------------------------------------------------
# Load generators
# --------------------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    bytes: int
    non200: int
    incomplete: int
    socket_errors: dict[str, int]


@dataclass(frozen=True, slots=True)
class LoadSettings:
    tool: str  # "wrk" or "python"
    concurrency: int
    duration_s: int
    requests: int  # 0: no bound but the duration
    wrk_threads: int
    cpus: frozenset[int] | None


WRK_SCRIPT = """\
-- Written by bench/bench.py for one case: POST the case's body, check every reply.
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
local expect_done = %(stream)s
local unique = %(unique)s
local DONE = "data: [DONE]\\n\\n"
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

if unique then
  local sent = 0
  function request()
    sent = sent + 1
    local body = string.gsub(wrk.body, "%(marker)s", thread_no .. "-" .. sent)
    return wrk.format(nil, nil, nil, body)
  end
end

-- Wall-clock microseconds (LuaJIT FFI), for runs bounded by a request count: wrk itself
-- reports its full -d duration even when every thread stopped early.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

function init(args)
  quota = tonumber(args[1]) or 0
  replies = 0
  non200 = 0
  incomplete = 0
  first_us = now_us()
  last_us = first_us
end

function response(status, headers, body)
  replies = replies + 1
  if status ~= 200 then
    non200 = non200 + 1
  end
  if expect_done and (body == nil or string.sub(body, -#DONE) ~= DONE) then
    incomplete = incomplete + 1
  end
  if quota > 0 then
    last_us = now_us()
    if replies >= quota then
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local n, bad, short, first, last = 0, 0, 0, math.huge, 0
  for _, t in ipairs(threads) do
    n = n + t:get("replies")
    bad = bad + t:get("non200")
    short = short + t:get("incomplete")
    first = math.min(first, t:get("first_us"))
    last = math.max(last, t:get("last_us"))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%%d,"replies":%%d,"duration_us":%%d,"span_us":%%d,"bytes":%%d,' ..
    '"non200":%%d,' ..
    '"incomplete":%%d,"errors":{"connect":%%d,"read":%%d,"write":%%d,"timeout":%%d},' ..
    '"p50_us":%%d,"p99_us":%%d,"mean_us":%%.1f,"max_us":%%d}\\n',
    summary.requests, n, summary.duration, last - first, summary.bytes, bad, short,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
"""


def lua_long_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def wrk_script(body: bytes, stream: bool, unique: bool = False) -> str:
    return WRK_SCRIPT % {
        "body": lua_long_string(body.decode()),
        "key": API_KEY,
        "stream": "true" if stream else "false",
        "unique": "true" if unique else "false",
        "marker": UNIQUE,
    }


def result_line(stdout: str, marker: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith(marker + " "):
            parsed: dict[str, Any] = json.loads(line[len(marker) + 1 :])
            return parsed
    raise BenchError(f"no {marker} line in the load generator's output:\n{stdout[-1500:]}")


def drive(
    settings: LoadSettings, url: str, case: Case, files: Path, duration_s: int
) -> tuple[Load, float]:
    """Load `url` for `duration_s` seconds; the figures, and the generator's CPU seconds."""
    check_loopback(url)
    body = json.dumps(case.body, separators=(",", ":")).encode()
    if case.unique:  # generators count from 1 in every run: a run of its own keeps them unseen
        body = body.replace(UNIQUE.encode(), f"{next(_RUNS)}-{UNIQUE}".encode())
    body_file = files / "body.json"
    body_file.write_bytes(body)
    if settings.tool == "wrk":
        script = files / "wrk.lua"
        script.write_text(wrk_script(body, case.stream, case.unique))
        threads = min(settings.wrk_threads, settings.concurrency)
        command = ["wrk", "-t", str(threads), "-c", str(settings.concurrency)]
        command += ["-d", f"{duration_s}s", "--timeout", "10s", "-s", str(script)]
        command += [url + CHAT_PATH, "--", str(math.ceil(settings.requests / threads))]
        marker = "WRK_JSON"
    else:
        command = [sys.executable, str(BENCH_DIR / "pyload.py"), "--url", url + CHAT_PATH]
        command += ["--body-file", str(body_file), "--concurrency", str(settings.concurrency)]
        command += ["--duration", str(duration_s), "--requests", str(settings.requests)]
        command += ["--header", f"Authorization: Bearer {API_KEY}"]
        command += ["--stream"] if case.stream else []
        command += ["--unique", UNIQUE] if case.unique else []
        marker = "PYLOAD_JSON"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=duration_s + 60,
            check=False,
            preexec_fn=pinned(settings.cpus),
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"the load generator did not stop: {' '.join(command)}") from exc
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise BenchError(
            f"{' '.join(command)} exited with {done.returncode}:\n{done.stderr[-1500:]}"
        )
    raw = result_line(done.stdout, marker)
    if settings.tool == "wrk":
        bounded = settings.requests > 0
        load = Load(
            # Bounded by a count, the run ends at the last counted reply, not at wrk's -d.
            requests=int(raw["replies"] if bounded else raw["requests"]),
            duration_s=(raw["span_us"] if bounded else raw["duration_us"]) / 1e6,
            p50_ms=raw["p50_us"] / 1000,
            p99_ms=raw["p99_us"] / 1000,
            mean_ms=raw["mean_us"] / 1000,
            max_ms=raw["max_us"] / 1000,
            bytes=int(raw["bytes"]),
            non200=int(raw["non200"]),
            incomplete=int(raw["incomplete"]),
            socket_errors={k: int(v) for k, v in raw["errors"].items()},
        )
    else:
        load = Load(
            requests=int(raw["requests"]),
            duration_s=float(raw["duration_s"]),
            p50_ms=float(raw["p50_ms"]),
            p99_ms=float(raw["p99_ms"]),
            mean_ms=float(raw["mean_ms"]),
            max_ms=float(raw["max_ms"]),
            bytes=int(raw["bytes"]),
            non200=int(raw["non200"]),
            incomplete=int(raw["incomplete"]),
            socket_errors={k: int(v) for k, v in raw["errors"].items()},
        )
    return load, cpu


def wrk_version() -> str | None:
    if not shutil.which("wrk"):
        return None
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    lines = (done.stdout or done.stderr).splitlines()
    return lines[0].strip() if lines else ""


# --------------------------------------------------------------------------------------------
# Runs, cases, summaries
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    server: str  # "bare" or "mock" (or, with --floor, "floor" and "floor, no journal")
    round: int
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    bytes_per_reply: float
    non200: int
    incomplete: int
    socket_errors: int
    server_cpu: float | None  # the server's CPU use over the run, in cores (1.0 = one core busy)
    loadgen_cpu: float  # the load generator's, likewise
    server_cpu_us_per_request: float | None
    bound_by: str  # "server" (what a throughput figure should be), "loadgen", or "neither"


def bound_by(server_cpu: float | None, loadgen_cpu: float) -> str:
    """What limited a closed-loop run: whichever process kept its core busy.

    "neither" means neither was busy: usually another tenant of the machine took the CPU.
    """
    if server_cpu is not None and server_cpu >= BUSY:
        return "server"
    if loadgen_cpu >= BUSY:
        return "loadgen"
    return "neither" if server_cpu is not None else "?"


@dataclass
class CaseResult:
    name: str
    stream: bool
    mock_command: list[str]
    request_body: dict[str, Any]
    mock_startup_s: float | None = None
    mock_banner: list[str] = field(default_factory=list)
    reply_mock: dict[str, int] = field(default_factory=dict)
    reply_bare: dict[str, int] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    rps_ratios: list[float] = field(default_factory=list)
    rps_ratio_median: float | None = None
    p50_ratio_median: float | None = None
    p99_ratio_median: float | None = None
    cpu_per_request_ratio_median: float | None = None
    bare_rps_median: float | None = None
    mock_rps_median: float | None = None
    bare_p50_ms_median: float | None = None
    mock_p50_ms_median: float | None = None
    bare_p99_ms_median: float | None = None
    mock_p99_ms_median: float | None = None
    mock_non200: int = 0
    mock_incomplete: int = 0
    mock_socket_errors: int = 0
    # --floor: the scaffolding's req/s over bare's, with its journal and without (medians)
    floor_ratios: dict[str, float | None] = field(default_factory=dict)
    ratio_target: float | None = None  # None: reported, not judged
    ratio_target_met: bool | None = None
    error: str | None = None


def measure(server: Server, settings: LoadSettings, case: Case, files: Path, round_no: int) -> Run:
    cpu_before = cpu_seconds(server.process.pid)
    load, loadgen_cpu = drive(settings, server.url, case, files, settings.duration_s)
    cpu_after = cpu_seconds(server.process.pid)
    if server.process.poll() is not None:
        raise BenchError(f"{server.name} died during the run:\n{tail(server.stderr_path)}")
    wall = load.duration_s or 1e-9
    server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Run(
        server=server.name,
        round=round_no,
        requests=load.requests,
        duration_s=round(load.duration_s, 3),
        rps=load.requests / wall,
        p50_ms=load.p50_ms,
        p99_ms=load.p99_ms,
        mean_ms=load.mean_ms,
        max_ms=load.max_ms,
        bytes_per_reply=load.bytes / load.requests if load.requests else 0.0,
        non200=load.non200,
        incomplete=load.incomplete,
        socket_errors=sum(load.socket_errors.values()),
        server_cpu=None if server_cpu is None else server_cpu / wall,
        loadgen_cpu=loadgen_cpu / wall,
        server_cpu_us_per_request=(
            server_cpu / load.requests * 1e6 if server_cpu is not None and load.requests else None
        ),
        bound_by=bound_by(None if server_cpu is None else server_cpu / wall, loadgen_cpu / wall),
    )


def ratio_of(result: CaseResult) -> str:
    return fmt(result.rps_ratio_median, ".2f")


def median_of(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(result: CaseResult) -> None:
    bare = [r for r in result.runs if r.server == "bare"]
    mock = [r for r in result.runs if r.server == "mock"]
    pairs = list(zip(bare, mock, strict=False))
    result.rps_ratios = [m.rps / b.rps for b, m in pairs if b.rps]
    result.rps_ratio_median = median_of(result.rps_ratios)
    result.p50_ratio_median = median_of([m.p50_ms / b.p50_ms for b, m in pairs if b.p50_ms])
    result.p99_ratio_median = median_of([m.p99_ms / b.p99_ms for b, m in pairs if b.p99_ms])
    result.cpu_per_request_ratio_median = median_of(
        [
            m.server_cpu_us_per_request / b.server_cpu_us_per_request
            for b, m in pairs
            if m.server_cpu_us_per_request and b.server_cpu_us_per_request
        ]
    )
    result.bare_rps_median = median_of([r.rps for r in bare])
    result.mock_rps_median = median_of([r.rps for r in mock])
    result.bare_p50_ms_median = median_of([r.p50_ms for r in bare])
    result.mock_p50_ms_median = median_of([r.p50_ms for r in mock])
    result.bare_p99_ms_median = median_of([r.p99_ms for r in bare])
    result.mock_p99_ms_median = median_of([r.p99_ms for r in mock])
    result.mock_non200 = sum(r.non200 for r in mock)
    result.mock_incomplete = sum(r.incomplete for r in mock)
    result.mock_socket_errors = sum(r.socket_errors for r in mock)
    for name in FLOORS:
        floor = [r for r in result.runs if r.server == name]
        floor_pairs = zip(bare, floor, strict=False)
        result.floor_ratios[name] = median_of([f.rps / b.rps for b, f in floor_pairs if b.rps])
    failed = sum(r.non200 + r.incomplete + r.socket_errors for r in result.runs)
    if failed:
        # Error replies are cheap and fast: a ratio measured on them says nothing.
        result.error = f"{failed} failed replies or socket errors during the runs"
    elif result.rps_ratio_median is not None and result.ratio_target is not None:
        result.ratio_target_met = result.rps_ratio_median >= result.ratio_target


def run_case(
    case: Case,
    settings: LoadSettings,
    server_cpus: frozenset[int] | None,
    rounds: int,
    warmup_s: int,
    workdir: Path,
    floors: bool = False,
) -> CaseResult:
    case_dir = workdir / re.sub(r"[^a-zA-Z0-9]+", "-", case.name).strip("-")
    (case_dir / "prepared").mkdir(parents=True)
    args = case.mock_args + (case.prepare(case_dir / "prepared") if case.prepare else ())
    result = CaseResult(case.name, case.stream, mock_command(args), case.body)
    result.ratio_target = RATIO_TARGETS.get(case.name)
    body = json.dumps(case.body, separators=(",", ":")).encode()
    log(f"[{case.name}] starting the mock: {' '.join(result.mock_command)}")
    with running("mock", result.mock_command, case_dir, server_cpus) as mock:
        result.mock_startup_s = round(mock.startup_s, 4)
        result.mock_banner = mock.banner
        reply, shape = capture(mock.url, body, case.stream)
        result.reply_mock = asdict(shape)
        reply_file = case_dir / "reply.json"
        reply_file.write_text(json.dumps(reply, ensure_ascii=False))
        with contextlib.ExitStack() as stack:
            bare = stack.enter_context(
                running("bare", bare_command(reply_file), case_dir, server_cpus)
            )
            _, bare_shape = capture(bare.url, body, case.stream)
            result.reply_bare = asdict(bare_shape)
            if bare_shape != shape:
                raise BenchError(f"the baseline's reply {bare_shape} differs from {shape}")
            servers = [bare, mock]
            for name, journal in FLOORS.items() if floors else ():
                command = floor_command(reply_file, journal=journal)
                servers.append(stack.enter_context(running(name, command, case_dir, server_cpus)))
            if warmup_s:
                warm = replace(settings, requests=0)
                for server in servers:
                    log(f"[{case.name}] warming up {server.name} for {warmup_s} s")
                    drive(warm, server.url, case, case_dir, warmup_s)
            for round_no in range(1, rounds + 1):
                for server in servers:
                    run = measure(server, settings, case, case_dir, round_no)
                    result.runs.append(run)
                    cpu = "?" if run.server_cpu is None else f"{run.server_cpu:.2f}"
                    log(
                        f"[{case.name}] round {round_no} {server.name}: {run.rps:,.0f} req/s, "
                        f"p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, "
                        f"non-200 {run.non200}, server cpu {cpu}, loadgen cpu "
                        f"{run.loadgen_cpu:.2f}"
                    )
    summarize(result)
    return result


def measure_startup(runs: int, server_cpus: frozenset[int] | None, workdir: Path) -> dict[str, Any]:
    """Spawn-to-health-200 of the default mock and of the bare app, `runs` times each."""
    mock_s: list[float] = []
    bare_s: list[float] = []
    folder = workdir / "startup"
    folder.mkdir()
    for _ in range(runs):
        for name, command, samples in (
            ("mock", mock_command(()), mock_s),
            ("bare", bare_command(None), bare_s),
        ):
            with running(name, command, folder, server_cpus) as server:
                samples.append(round(server.startup_s, 4))
    mock_median = statistics.median(mock_s)
    bare_median = statistics.median(bare_s)
    return {
        "runs": runs,
        "mock_s": mock_s,
        "bare_s": bare_s,
        "mock_median_s": mock_median,
        "mock_max_s": max(mock_s),
        "bare_median_s": bare_median,
        "mock_over_bare": mock_median / bare_median,
        "target_s": STARTUP_TARGET_S,
        "target_met": mock_median < STARTUP_TARGET_S,
    }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(doc: dict[str, Any], results: list[CaseResult]) -> str:
    meta = doc["meta"]
    out = [
        f"mockserver bench: load generator {meta['loadgen']}"
        f" ({meta['loadgen_version'] or 'aiohttp, bench/pyload.py'}), concurrency"
        f" {meta['concurrency']}, {meta['duration_s']} s per run, {meta['rounds']} round(s)"
        f" of bare then mock; servers on CPU {meta['server_cpus'] or 'any'}, load generator on"
        f" CPU {meta['loadgen_cpus'] or 'any'}; load average at start {meta['loadavg']}",
        "",
    ]
    runs = [
        [
            "case",
            "server",
            "round",
            "req/s",
            "p50 ms",
            "p99 ms",
            "non-200",
            "incompl.",
            "sock.err",
            "server cpu",
            "loadgen cpu",
            "cpu us/req",
            "bound by",
        ]
    ]
    for result in results:
        for r in result.runs:
            runs.append(
                [
                    result.name,
                    r.server,
                    str(r.round),
                    f"{r.rps:,.0f}",
                    f"{r.p50_ms:.2f}",
                    f"{r.p99_ms:.2f}",
                    str(r.non200),
                    str(r.incomplete),
                    str(r.socket_errors),
                    fmt(r.server_cpu, ".2f"),
                    f"{r.loadgen_cpu:.2f}",
                    fmt(r.server_cpu_us_per_request, ".0f"),
                    r.bound_by,
                ]
            )
    if len(runs) > 1:
        out += ["Runs (in the order they ran):", table(runs), ""]
    summary = [
        [
            "case",
            "bare req/s",
            "mock req/s",
            "mock/bare req/s",
            "p50 mock/bare",
            "p99 mock/bare",
            "cpu/req mock/bare",
            "mock non-200",
            "mock incompl.",
            "target",
        ]
    ]
    for result in results:
        met = {None: "-", True: "met", False: "NOT met"}[result.ratio_target_met]
        if result.ratio_target is not None:
            met = f">= {result.ratio_target}: {met}"
        summary.append(
            [
                result.name,
                fmt(result.bare_rps_median, ",.0f"),
                fmt(result.mock_rps_median, ",.0f"),
                fmt(result.rps_ratio_median, ".2f"),
                fmt(result.p50_ratio_median, ".2f"),
                fmt(result.p99_ratio_median, ".2f"),
                fmt(result.cpu_per_request_ratio_median, ".2f"),
                str(result.mock_non200),
                str(result.mock_incomplete),
                met if result.error is None else "ERROR",
            ]
        )
    out += ["Summary (medians; ratios are medians of the per-round pairs):", table(summary), ""]
    unbound = [(res.name, r) for res in results for r in res.runs if r.bound_by != "server"]
    for name, r in unbound:
        why = (
            "the load generator was the bottleneck: its req/s is a floor for that server"
            if r.bound_by == "loadgen"
            else "neither process kept its core busy (another tenant?): a noisy run"
        )
        out.append(f"Note: {name}, round {r.round}, {r.server}: {why}")
    if unbound:
        out.append("")
    startup = doc.get("startup")
    if startup:
        met = "met" if startup["target_met"] else "NOT met"
        out.append(
            f"Start-up (spawn to {HEALTH_PATH} 200), {startup['runs']} run(s): mock median "
            f"{startup['mock_median_s']:.3f} s (max {startup['mock_max_s']:.3f} s, all "
            f"{startup['mock_s']}), bare median {startup['bare_median_s']:.3f} s, mock/bare "
            f"{startup['mock_over_bare']:.2f}; target < {STARTUP_TARGET_S:.0f} s: {met}"
        )
    for result in results:
        if result.mock_startup_s is not None:
            fixtures = [" ".join(line.split()) for line in result.mock_banner if "fixtures" in line]
            loaded = f" ({fixtures[0]})" if fixtures else ""
            out.append(
                f"  mock start-up for case {result.name!r}: {result.mock_startup_s:.3f} s{loaded}"
            )
    out.append("")
    for result in results:
        if any(value is not None for value in result.floor_ratios.values()):
            floors = ", ".join(f"{n} {fmt(v, '.2f')}" for n, v in result.floor_ratios.items())
            out.append(f"Floors over bare req/s ({result.name}): {floors}; mock {ratio_of(result)}")
    for result in results:
        ratio = fmt(result.rps_ratio_median, ".2f")
        met = {None: "not measured", True: "met", False: "NOT met"}[result.ratio_target_met]
        met = f"not judged ({result.error})" if result.error else met
        if result.ratio_target is None:
            out.append(f"mock/bare throughput ({result.name}): {ratio}: reported, no target")
            continue
        out.append(
            f"Target mock/bare throughput >= {result.ratio_target} ({result.name}): {ratio}: {met}"
        )
    if doc["errors"]:
        out += ["", "ERRORS:", *(f"  - {e}" for e in doc["errors"])]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the mock against a bare aiohttp app; see bench/README.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    parser.add_argument(
        "--requests",
        type=int,
        default=0,
        help="also stop a run after this many replies (0: only --duration bounds it)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="bare+mock pairs per case")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load")
    parser.add_argument("--startup-runs", type=int, default=3, help="0 skips the measurement")
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="auto: wrk if it is on PATH, else bench/pyload.py",
    )
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--pin",
        choices=("auto", "on", "off"),
        default="auto",
        help="servers on one CPU, the load generator on another (auto: when 2+ CPUs)",
    )
    parser.add_argument(
        "--case",
        action="append",
        default=[],
        choices=[c.name for c in CASES],
        help="run only this case (repeatable); default: all",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also run the mock's scaffolding answering bare's fixed reply, with and without "
        "its journal (bench/floor_server.py): what the mock costs before doing any work",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    for name in ("duration", "rounds", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def plan_cpus(pin: str) -> tuple[frozenset[int] | None, frozenset[int] | None]:
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if pin == "off" or (pin == "auto" and len(available) < 2):
        return None, None
    if len(available) < 2:
        raise UsageError("--pin on needs at least 2 usable CPUs")
    # The last CPU for the servers, the one before it for the load generator.
    return frozenset({available[-1]}), frozenset({available[-2]})


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.loadgen == "wrk" and not shutil.which("wrk"):
            raise UsageError("--loadgen wrk: wrk is not on PATH (apt-get install -y wrk)")
        server_cpus, loadgen_cpus = plan_cpus(args.pin)
    except UsageError as exc:
        print(f"bench.py: error: {exc}", file=sys.stderr)
        return 2
    tool = "wrk" if args.loadgen in ("auto", "wrk") and shutil.which("wrk") else "python"
    settings = LoadSettings(
        tool, args.concurrency, args.duration, args.requests, args.wrk_threads, loadgen_cpus
    )
    cases = [c for c in CASES if not args.case or c.name in args.case]
    import aiohttp  # the servers' version, for the record (imported late: only metadata)

    doc: dict[str, Any] = {
        "meta": {
            "command": " ".join([sys.executable, *sys.argv]),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "python": platform.python_version(),
            "aiohttp": aiohttp.__version__,
            "loadgen": tool,
            "loadgen_version": wrk_version() if tool == "wrk" else None,
            "wrk_threads": args.wrk_threads if tool == "wrk" else None,
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "requests_bound": args.requests or None,
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "cpus": os.cpu_count(),
            "server_cpus": sorted(server_cpus) if server_cpus else None,
            "loadgen_cpus": sorted(loadgen_cpus) if loadgen_cpus else None,
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        },
        "startup": None,
        "cases": [],
        "errors": [],
    }
    errors: list[str] = doc["errors"]
    results: list[CaseResult] = []
    with tempfile.TemporaryDirectory(prefix="mockserver-bench-") as tmp:
        workdir = Path(tmp)
        if args.startup_runs > 0:
            log(f"measuring start-up, {args.startup_runs} run(s) each")
            try:
                doc["startup"] = measure_startup(args.startup_runs, server_cpus, workdir)
            except BenchError as exc:
                errors.append(f"start-up: {exc}")
        for case in cases:
            try:
                result = run_case(
                    case, settings, server_cpus, args.rounds, args.warmup, workdir, args.floor
                )
            except BenchError as exc:
                result = CaseResult(case.name, case.stream, [], case.body, error=str(exc))
                errors.append(f"{case.name}: {exc}")
            results.append(result)
            for run in result.runs:
                bad = run.non200 + run.incomplete + run.socket_errors
                if bad:
                    errors.append(
                        f"{case.name}: round {run.round} {run.server}: {run.non200} non-200, "
                        f"{run.incomplete} incomplete stream(s), {run.socket_errors} socket "
                        "error(s)"
                    )
    doc["cases"] = [asdict(r) for r in results]
    doc["targets"] = {
        "startup_under_1s": doc["startup"]["target_met"] if doc["startup"] else None,
        "throughput_ratio": {
            r.name: {"target": r.ratio_target, "met": r.ratio_target_met} for r in results
        },
    }
    print(report(doc, results), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"\nJSON written to {args.json}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
