"""The commands that ask a running server through its admin API: `requests` and `report`."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import click

from mockserver.cli.options import ADMIN_TOKEN, URL, output_files
from mockserver.journal.report import build_report, last_user_text, write_report
from mockserver.testing.admin_client import AdminClient, AdminError


@click.command(name="requests")
@URL
@ADMIN_TOKEN
@click.option("--limit", default=20, type=click.IntRange(1), help="Newest requests shown.")
@click.option("--fixture", default=None, help="Only requests answered by this fixture.")
@click.option("--json", "as_json", is_flag=True, help="Print the journal entries as JSON.")
def requests_command(
    url: str, admin_token: str | None, limit: int, fixture: str | None, as_json: bool
) -> None:
    """Print the journal of a running server as a table, newest first."""
    filters: dict[str, object] = {"limit": limit}
    if fixture:
        filters["fixture"] = fixture
    with _admin_errors():
        entries = _admin(url, admin_token).requests(**filters)
    if as_json:
        click.echo(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    click.echo(requests_table(entries))


@click.command(name="report")
@URL
@ADMIN_TOKEN
@output_files("report")
def report_command(
    url: str, admin_token: str | None, json_path: Path | None, junit_path: Path | None
) -> None:
    """Fixtures that never fired and requests that fell through to generation (with the
    closest fixture and the condition that failed), for a CI job's artifacts."""
    with _admin_errors():
        report = write_report(build_report(_admin(url, admin_token)), json_path, junit_path)
    click.echo(
        f"{report['fixtures']} fixture(s); never fired: {len(report['never_fired'])}; "
        f"requests that fell through to generation: {len(report['fell_through'])}"
    )
    for entry in report["never_fired"]:
        click.echo(f"  never fired: {entry['name']} ({entry['source']})")
    for entry in report["fell_through"]:
        closest = entry["closest"]
        why = f"{closest['fixture']}: {'; '.join(closest['failed'])}" if closest else "none"
        click.echo(f"  fell through: {entry['request']} (closest {why})")


def _admin(url: str, token: str | None) -> AdminClient:
    admin = AdminClient(url, token)
    try:
        admin.health()
    except OSError as exc:
        raise click.ClickException(f"no mock server answers at {url}: {exc}") from exc
    return admin


@contextlib.contextmanager
def _admin_errors() -> Iterator[None]:
    """An admin API refusal as one line (a 401 most often: the server has a token)."""
    try:
        yield
    except AdminError as exc:
        hint = " Pass --admin-token (or MOCKSERVER_ADMIN_TOKEN)." if exc.status == 401 else ""
        raise click.ClickException(f"{exc}.{hint}") from exc


def requests_table(entries: list[dict[str, object]]) -> str:
    rows = [("ID", "STATUS", "MODEL", "STREAM", "FIXTURE", "MS", "LAST USER MESSAGE")]
    for e in entries:
        body = e.get("body")
        rows.append(
            (
                str(e["id"]),
                str(e.get("status")),
                str(e.get("model") or "-"),
                "yes" if e.get("stream") else "no",
                _answered_by(e),
                f"{e.get('duration_ms') or 0:.1f}",
                _short(last_user_text(body)),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    )


def _answered_by(entry: dict[str, object]) -> str:
    if entry.get("upstream"):
        return "upstream"
    return str(entry.get("fixture") or ("generated" if entry.get("generated") else "-"))


def _short(text: str | None, limit: int = 50) -> str:
    text = " ".join((text or "-").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
