"""`mockserver verify`: each fixture's request sent to the real gateway, drift reported."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from mockserver.cli import spec as spec_cli
from mockserver.cli.options import UPSTREAM_KEY, option, output_files, upstream_at
from mockserver.cli.problems import report
from mockserver.stubs.model import FixtureLoadError
from mockserver.upstream import verify_report
from mockserver.upstream.verify import Politeness, verify


@click.command(name="verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@option(
    "--upstream",
    required=True,
    help="The real gateway's base URL, e.g. https://gateway.example/v1.",
)
@UPSTREAM_KEY
@spec_cli.check_option()
@click.option(
    "--concurrency",
    default=2,
    type=click.IntRange(1, 32),
    help="Requests in flight to the gateway at once.",
)
@click.option(
    "--retries",
    default=2,
    type=click.IntRange(0, 10),
    help="Retries of a 408/409/429/5xx or a failed connection, after the wait the "
    "gateway asks for (retry-after) or an exponential backoff.",
)
@click.option(
    "--max-wait",
    default=60.0,
    type=click.FloatRange(0),
    help="A retry-after longer than this many seconds is not waited for.",
)
@click.option(
    "--max-requests",
    default=100,
    type=click.IntRange(1),
    help="Requests to the gateway in all (retries included); the rest is skipped.",
)
@click.option(
    "--timeout",
    default=120.0,
    type=click.FloatRange(0, min_open=True),
    help="Seconds for one gateway request, stream included.",
)
@output_files("results")
def verify_command(
    paths: tuple[Path, ...],
    upstream: str,
    upstream_key: str | None,
    spec: Path | None,
    json_path: Path | None,
    junit_path: Path | None,
    **politeness: object,
) -> None:
    """Send each fixture's request (its `request:` block) to the real gateway and report
    drift: a reply or chunk breaking the schema, fields added, missing or of another type, a
    different finish_reason or tool calls, stream framing. Exits 1 on drift or error."""
    gateway = upstream_at(upstream, key=upstream_key)
    rules = Politeness(
        concurrency=politeness["concurrency"],  # type: ignore[arg-type]
        retries=politeness["retries"],  # type: ignore[arg-type]
        max_wait_s=politeness["max_wait"],  # type: ignore[arg-type]
        budget=politeness["max_requests"],  # type: ignore[arg-type]
        timeout_s=politeness["timeout"],  # type: ignore[arg-type]
    )
    try:
        with spec_cli.spec_errors():
            outcomes, sent = asyncio.run(verify(paths, gateway, rules, spec))
    except FixtureLoadError as exc:
        raise click.ClickException(report(exc.problems, "mockserver verify")) from exc
    results = verify_report.summary(outcomes, gateway.display, sent)
    verify_report.write(results, json_path, junit_path)
    click.echo(verify_report.table(results))
    if verify_report.failed(results):
        raise SystemExit(1)
