"""The contract document on the command line: `serve --spec`, `spec diff`, `spec export`,
`check --spec`. Kept apart from main.py, which only registers what is defined here."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from mockserver.cli.options import Decorator, option
from mockserver.cli.problems import report
from mockserver.contract.live import load_contract
from mockserver.contract.schemas import Contract, check_document
from mockserver.contract.spec import SpecError, read_spec
from mockserver.contract.spec.diff import diff, table
from mockserver.contract.spec.export import dumps, to_openapi
from mockserver.replies.conformance import fixture_reply_problems, generated_reply_warnings
from mockserver.stubs.model import Fixture

SPEC_EXIT = 2  # a document that cannot serve as the contract, like a usage error


def serve_options() -> list[Decorator]:
    """The serve options that choose the contract document."""
    return [
        option(
            "--spec",
            default=None,
            type=click.Path(dir_okay=False, path_type=Path),
            help="The contract document: an API-doc export like the bundled spec, or an OpenAPI "
            "3.0/3.1 file (JSON or YAML) with POST /v1/chat/completions. Default: the bundled "
            "contract. The overlays still apply (see --strict-spec); --watch follows its edits.",
        ),
        option(
            "--spec-examples",
            is_flag=True,
            help="Answer each request example of the contract document (the exact model and "
            "messages) with its same-named response example, or a generated reply.",
        ),
    ]


@contextlib.contextmanager
def spec_errors() -> Iterator[None]:
    """A document that cannot be used: one line on stderr naming what is missing, exit 2."""
    try:
        yield
    except SpecError as exc:
        click.echo(f"mockserver: cannot use the spec: {exc}", err=True)
        raise SystemExit(SPEC_EXIT) from exc


def check_option() -> Decorator:
    return option(
        "--spec",
        default=None,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Check against this contract document instead of the bundled one.",
    )


def contract_for_check(spec: Path | None) -> Contract | None:
    """check --spec: the document's contract, its example problems printed; None without one."""
    if spec is None:
        return None
    with spec_errors():
        contract = load_contract(spec, strict_spec=False)
    click.echo(f"contract: {contract.describe()}", err=True)
    for warning in (*contract.warnings, *generated_reply_warnings(contract)):
        click.echo(f"  {warning}", err=True)
    return contract


def check_against(contract: Contract | None, fixtures: list[Fixture], title: str) -> None:
    """check --spec: scripted replies that break the document's response schema, and a document
    whose examples break its own request schema, fail the check."""
    if contract is None:
        return
    problems = fixture_reply_problems(fixtures, contract)
    if problems:
        click.echo(report(problems, title), err=True)
    if contract.example_problems:
        broken = len(contract.broken_examples)
        click.echo(
            f"mockserver check: {broken} request example(s) of {contract.document.source} "
            "break its own request schema",
            err=True,
        )
    if problems or contract.example_problems:
        raise SystemExit(1)


@click.group(name="spec")
def spec_group() -> None:
    """Contract documents: what changed between two versions, or the contract as OpenAPI.

    A document is an API-doc export like the bundled spec, an OpenAPI 3.0/3.1 file (JSON or
    YAML), or the word `bundled` for the contract shipped with mockserver.
    """


@spec_group.command(name="diff")
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
def diff_command(old: str, new: str, as_json: bool) -> None:
    """What changed for clients from OLD to NEW, each change breaking or not.

    Request changes break clients when they refuse what was accepted (a new required field, a
    removed enum value); response changes break them when they send what was not promised
    (a new enum value, a field that may be absent). Exits 1 when a change is breaking.
    """
    with spec_errors():
        before, after = read_spec(old), read_spec(new)
        check_document(before)
        check_document(after)
    changes = diff(before, after)
    breaking = sum(c.breaking for c in changes)
    if as_json:
        report = {
            "old": before.to_json(),
            "new": after.to_json(),
            "breaking": breaking,
            "changes": [c.to_json() for c in changes],
        }
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"mockserver spec diff: {before.describe()} -> {after.describe()}: "
            f"{len(changes)} change(s), {breaking} breaking"
        )
        if changes:
            click.echo(table(changes))
    if breaking:
        raise SystemExit(1)


@spec_group.command(name="export")
@click.argument("source", default="bundled")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here instead of stdout.",
)
def export_command(source: str, output: Path | None) -> None:
    """The contract of SOURCE (default: the bundled one) as an OpenAPI 3.1 JSON document."""
    with spec_errors():
        text = dumps(to_openapi(read_spec(source)))
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
