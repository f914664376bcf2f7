"""Option declarations the commands share: each flag reads its MOCKSERVER_* variable too."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mockserver.upstream.config import Upstream, UpstreamURLError

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def option(*names: str, **kwargs: Any) -> Decorator:
    """An option that also reads MOCKSERVER_<FLAG> (--max-body-bytes: MOCKSERVER_MAX_BODY_BYTES)
    and says so in --help."""
    flag = next(name for name in names if name.startswith("--"))
    envvar = "MOCKSERVER_" + flag.removeprefix("--").replace("-", "_").upper()
    return click.option(*names, envvar=envvar, show_envvar=True, **kwargs)


class PathList(click.Path):
    """click.Path whose environment variable splits on the platform's path separator, read when
    splitting (':' on Linux and macOS, ';' on Windows, where 'C:\\fixtures' holds a colon)."""

    def split_envvar_value(self, rv: str) -> list[str]:
        return [part for part in rv.split(os.pathsep) if part.strip()]


# --upstream-key, shared by serve and verify
UPSTREAM_KEY = option(
    "--upstream-key",
    default=None,
    help="The gateway's API key, sent instead of the client's own (which is passed "
    "through otherwise). Never written to a file, log or journal entry.",
)


def upstream_at(url: str, **settings: object) -> Upstream:
    """The --upstream URL (of serve or verify) as an Upstream, or a usage error."""
    try:
        return Upstream.at(url, **settings)
    except UpstreamURLError as exc:
        raise click.BadParameter(str(exc), param_hint="--upstream") from exc


def output_files(what: str) -> Decorator:
    """--json PATH and --junit PATH, for the commands that write CI files."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for flag, name, kind in (
            ("--junit", "junit_path", "JUnit XML"),
            ("--json", "json_path", "JSON"),
        ):
            command = click.option(
                flag,
                name,
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help=f"Write the {what} as {kind} here.",
            )(command)
        return command

    return decorate


URL = option("--url", default="http://127.0.0.1:8080", help="The running mock server.")
ADMIN_TOKEN = option("--admin-token", default=None, help="Its --admin-token, if it has one.")
