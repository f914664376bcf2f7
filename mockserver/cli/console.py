"""The program's entry point: UTF-8 output on every platform, and every error as one line."""

from __future__ import annotations

import io
import sys

import click

from mockserver.cli.main import main


def utf8_output() -> None:
    """Chinese prompts and fixture text reach stdout and stderr whatever the console: a Windows
    redirect or CI log gets the legacy code page by default, where they raise UnicodeEncodeError.
    UTF-8 everywhere, and a replacement character rather than a crash for what cannot be encoded.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8", errors="replace")


def run(args: list[str] | None = None) -> None:
    """`mockserver ...`: click's own handling, except that a usage error is one line
    ("Error: ... (see 'mockserver serve --help')"), not the usage block, a hint and the error."""
    utf8_output()
    try:
        code = main.main(args, prog_name="mockserver", standalone_mode=False)
    except click.UsageError as exc:
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"Error: {exc.format_message()}{where}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
