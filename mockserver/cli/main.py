"""The `mockserver` command group, with `check`; the other commands live in a module each
(serve.py, admin.py, verify.py, spec.py) and are registered here."""

from __future__ import annotations

from pathlib import Path

import click

from mockserver._version import __version__
from mockserver.cli import admin as admin_cli
from mockserver.cli import serve as serve_cli
from mockserver.cli import spec as spec_cli
from mockserver.cli import verify as verify_cli
from mockserver.cli.options import PathList
from mockserver.cli.problems import report
from mockserver.resources import bundled
from mockserver.stubs.loader import fixture_files, load_paths
from mockserver.stubs.model import FixtureLoadError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="mockserver")
def main() -> None:
    """A local mock of the OpenAI-compatible POST /v1/chat/completions API.

    Every request is validated against the endpoint's contract (schemas/) and answered with a
    scripted or generated reply, as JSON or as an SSE stream. Every option can also be set with
    the environment variable shown next to it.
    """


@main.command()
@click.argument(
    "paths", nargs=-1, envvar="MOCKSERVER_FIXTURES", type=PathList(exists=True, path_type=Path)
)
@spec_cli.check_option()
def check(paths: tuple[Path, ...], spec: Path | None) -> None:
    """Check fixture files (default: MOCKSERVER_FIXTURES, else the bundled ones) and report
    every problem.

    Each problem is printed as FILE:LINE: /path/inside/the/fixture: message. Exits 1 when there
    is any, so a CI job can run it before the tests. With --spec, raw replies are checked
    against that document's response schema, and its request examples against its own request
    schema.
    """
    files = fixture_files(paths or (bundled("fixtures"),))
    contract = spec_cli.contract_for_check(spec)
    try:
        fixtures = load_paths(files, contract.response if contract else None)
    except FixtureLoadError as exc:
        click.echo(report(exc.problems, "mockserver check"), err=True)
        raise SystemExit(1) from exc
    spec_cli.check_against(contract, fixtures, "mockserver check")
    click.echo(f"mockserver check: {len(fixtures)} fixture(s) in {len(files)} file(s), no problems")


for command in (
    serve_cli.serve,
    admin_cli.requests_command,
    admin_cli.report_command,
    verify_cli.verify_command,
    spec_cli.spec_group,
):
    main.add_command(command)
