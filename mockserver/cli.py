"""The command line: flags (and MOCKSERVER_* environment variables) -> Settings, nothing more."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from mockserver import __version__
from mockserver.fixtures.loader import fixture_files, load_paths
from mockserver.fixtures.model import FixtureLoadError, Problem
from mockserver.resources import bundled
from mockserver.rules import RULES
from mockserver.server import serve as run_server
from mockserver.settings import DEFAULT_MAX_BODY_BYTES, Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="mockserver")
def main() -> None:
    """A local mock of the OpenAI-compatible POST /v1/chat/completions API.

    Every request is validated against the endpoint's contract (schemas/) and answered with a
    scripted or generated reply, as JSON or as an SSE stream. Every option can also be set with
    the environment variable shown next to it.
    """


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    envvar="MOCKSERVER_HOST",
    show_envvar=True,
    help="Address to bind. Keep 127.0.0.1 unless other machines must reach the mock.",
)
@click.option(
    "--port",
    default=8080,
    type=click.IntRange(0, 65535),
    envvar="MOCKSERVER_PORT",
    show_envvar=True,
    help="Port to listen on; 0 picks a free port (see the MOCKSERVER_READY line).",
)
@click.option(
    "--fixtures",
    "fixture_paths",
    multiple=True,
    envvar="MOCKSERVER_FIXTURES",
    show_envvar=True,
    type=click.Path(exists=True, path_type=Path),
    help="Fixture file or folder (read recursively); repeat for several. The variable "
    "takes space-separated paths.",
)
@click.option(
    "--seed",
    type=int,
    default=None,
    envvar="MOCKSERVER_SEED",
    show_envvar=True,
    help="Seed for generated replies when a request has no `seed` of its own.",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    envvar="MOCKSERVER_API_KEY",
    show_envvar=True,
    help="Accept only this Bearer key (repeat for several). Without it any non-empty key passes.",
)
@click.option(
    "--strict-spec",
    is_flag=True,
    envvar="MOCKSERVER_STRICT_SPEC",
    show_envvar=True,
    help="Validate requests against the spec's schema verbatim, without the documented "
    "overlay of relaxations (schemas/overlays/request.overlay.json).",
)
@click.option(
    "--disable-rule",
    "disabled_rules",
    multiple=True,
    envvar="MOCKSERVER_DISABLE_RULE",
    show_envvar=True,
    type=click.Choice(sorted(RULES)),
    help="Switch off a named semantic rule (repeat for several).",
)
@click.option(
    "--max-body-bytes",
    default=DEFAULT_MAX_BODY_BYTES,
    type=click.IntRange(1),
    envvar="MOCKSERVER_MAX_BODY_BYTES",
    show_envvar=True,
    help="Larger request bodies get 413.",
)
@click.option(
    "--shutdown-timeout",
    default=30.0,
    type=click.FloatRange(0),
    envvar="MOCKSERVER_SHUTDOWN_TIMEOUT",
    show_envvar=True,
    help="Seconds to let in-flight replies finish after SIGINT/SIGTERM.",
)
@click.option(
    "--quiet",
    is_flag=True,
    envvar="MOCKSERVER_QUIET",
    show_envvar=True,
    help="No access log lines.",
)
def serve(
    host: str,
    port: int,
    fixture_paths: tuple[Path, ...],
    seed: int | None,
    api_keys: tuple[str, ...],
    strict_spec: bool,
    disabled_rules: tuple[str, ...],
    max_body_bytes: int,
    shutdown_timeout: float,
    quiet: bool,
) -> None:
    """Serve the mock API on http://HOST:PORT/v1 until SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings(
        host=host,
        port=port,
        fixture_paths=fixture_paths,
        seed=seed,
        api_keys=frozenset(api_keys),
        strict_spec=strict_spec,
        disabled_rules=frozenset(disabled_rules),
        max_body_bytes=max_body_bytes,
        shutdown_timeout=shutdown_timeout,
        access_log=not quiet,
    )
    try:
        asyncio.run(run_server(settings))
    except FixtureLoadError as exc:
        raise click.ClickException(report(exc.problems, "mockserver refuses to start")) from exc


def report(problems: list[Problem], title: str) -> str:
    lines = [f"{title}: {len(problems)} problem(s) in the fixtures"]
    return "\n".join([*lines, *(f"  {p}" for p in problems)])


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def check(paths: tuple[Path, ...]) -> None:
    """Check fixture files (default: the bundled ones) and report every problem.

    Each problem is printed as FILE:LINE: /path/inside/the/fixture: message. Exits 1 when there
    is any, so a CI job can run it before the tests.
    """
    files = fixture_files(paths or (bundled("fixtures"),))
    try:
        fixtures = load_paths(files)
    except FixtureLoadError as exc:
        click.echo(report(exc.problems, "mockserver check"), err=True)
        raise SystemExit(1) from exc
    click.echo(f"mockserver check: {len(fixtures)} fixture(s) in {len(files)} file(s), no problems")
