"""How matching and start-up scale with 10,000 fixtures (issue #3): a benchmark, not a test.

Builds a fixture folder of N fixtures of the shapes QA suites use (keyed by a test-case header,
by an exact last user message, by an exact model, plus a share with no exact key), then measures
in one run:
- load time of the fixture set (parse, check, compile, index), and `serve` spawn-to-health;
- matching latency per request (`FixtureSet.select`) for requests that hit keyed fixtures, that
  hit unkeyed ones, and that miss; p50/p99 in microseconds, as a ratio to the same requests
  against a set of 10 fixtures measured in the same run.

    .venv/bin/python bench/fixtures_scale.py [--fixtures 10000] [--requests 20000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import mock_command, running  # noqa: E402
from mockserver.stubs.context import MatchContext  # noqa: E402
from mockserver.stubs.fixture_set import FixtureSet  # noqa: E402
from mockserver.stubs.loader import load_paths  # noqa: E402

UNKEYED_SHARE = 0.02  # fixtures with only contains/regex conditions: tested on every request


def fixture(i: int) -> dict[str, Any]:
    kind = i % 3
    if i < 0 or random.Random(i).random() < UNKEYED_SHARE:
        match: dict[str, Any] = {"last_user": {"contains": f"needle-{i}-"}, "stream": "any"}
    elif kind == 0:
        match = {"headers": {"X-Test-Case": f"case-{i}"}}
    elif kind == 1:
        match = {"last_user": f"question number {i}", "model": "gpt-4o*"}
    else:
        match = {"model": f"model-{i}", "tools": [f"tool_{i}"]}
    return {"name": f"f{i}", "priority": i % 5, "match": match, "reply": {"content": f"answer {i}"}}


def write_fixtures(folder: Path, count: int) -> None:
    per_file = 500
    for start in range(0, count, per_file):
        items = [fixture(i) for i in range(start, min(start + per_file, count))]
        (folder / f"part-{start:06d}.json").write_text(json.dumps(items), encoding="utf-8")


def request_for(i: int, rng: random.Random) -> MatchContext:
    kind = i % 3
    body: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    headers: dict[str, str] = {"content-type": "application/json"}
    if kind == 0:
        headers["x-test-case"] = f"case-{i}"
    elif kind == 1:
        body["messages"][0]["content"] = f"question number {i}"
    else:
        body["model"] = f"model-{i}"
        body["tools"] = [{"type": "function", "function": {"name": f"tool_{i}"}}]
    if rng.random() < 0.1:
        body["messages"][0]["content"] = "no fixture says this"
        body["model"] = "gpt-4o-mini"
        headers.pop("x-test-case", None)
    return MatchContext(body, headers)


def time_matching(fixtures: FixtureSet, count: int, universe: int) -> list[float]:
    rng = random.Random(1)
    contexts = [request_for(rng.randrange(universe), rng) for _ in range(count)]
    samples = []
    for ctx in contexts:
        start = time.perf_counter()
        fixtures.select(ctx)
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=1000)[int(q * 10) - 1]


def spawn_to_health(folder: Path) -> float:
    """Seconds from spawning `serve --fixtures folder` to its first 200 from health."""
    with (
        tempfile.TemporaryDirectory() as output,
        running("mock", mock_command(["--fixtures", str(folder)]), Path(output), None) as server,
    ):
        return server.startup_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixtures", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results: dict[str, Any] = {"fixtures": args.fixtures, "requests": args.requests}
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp, "big"), Path(tmp, "small")
        big.mkdir()
        small.mkdir()
        write_fixtures(big, args.fixtures)
        write_fixtures(small, 10)
        start = time.perf_counter()
        big_set = FixtureSet(load_paths([big]))
        results["load_s"] = round(time.perf_counter() - start, 3)
        small_set = FixtureSet(load_paths([small]))
        results["spawn_to_health_s"] = round(spawn_to_health(big), 3)
        results["spawn_to_health_10_fixtures_s"] = round(spawn_to_health(small), 3)
    big_times = time_matching(big_set, args.requests, args.fixtures)
    small_times = time_matching(small_set, args.requests, 10)
    for name, samples in (("10k", big_times), ("10", small_times)):
        results[f"match_p50_us_{name}"] = round(percentile(samples, 50), 1)
        results[f"match_p99_us_{name}"] = round(percentile(samples, 99), 1)
    results["p99_ratio_10k_to_10"] = round(
        results["match_p99_us_10k"] / results["match_p99_us_10"], 2
    )
    results["targets"] = {
        "match p99 < 1000 us": results["match_p99_us_10k"] < 1000,
        "serve healthy < 3 s": results["spawn_to_health_s"] < 3,
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
