"""The command line: flags (and MOCKSERVER_* environment variables) -> Settings, nothing more."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import click

from mockserver._version import __version__
from mockserver.app.platforms import workers_note
from mockserver.app.serving import CannotListen
from mockserver.app.serving import serve as run_server
from mockserver.app.sources import contract_in_force, load_fixtures
from mockserver.app.workers import Supervisor, cpu_count
from mockserver.app.workers import run as run_loop
from mockserver.cli import spec as spec_cli
from mockserver.cli.logs import configure as configure_logs
from mockserver.contract.rules import GENERATION_RULES, RULES
from mockserver.journal.report import build_report, last_user_text, write_report
from mockserver.resources import bundled
from mockserver.settings import (
    DEFAULT_BODY_TIMEOUT_S,
    DEFAULT_CHAOS_STATUS,
    DEFAULT_HEADER_TIMEOUT_S,
    DEFAULT_JOURNAL_LIMIT,
    DEFAULT_JOURNAL_MAX_BYTES,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_SHUTDOWN_TIMEOUT_S,
    Settings,
)
from mockserver.state.connect import StateConnectError, check_reachable
from mockserver.stubs.loader import fixture_files, load_paths
from mockserver.stubs.model import FixtureLoadError, Problem
from mockserver.testing.admin_client import AdminClient, AdminError
from mockserver.upstream import verify_report
from mockserver.upstream.config import Upstream, UpstreamURLError
from mockserver.upstream.record import DEFAULT_MATCH, MATCH_FIELDS
from mockserver.upstream.verify import Politeness, verify
from mockserver.wire.faults import NO_FAULT, FaultPlan, FaultSyntaxError, parse_fault


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="mockserver")
def main() -> None:
    """A local mock of the OpenAI-compatible POST /v1/chat/completions API.

    Every request is validated against the endpoint's contract (schemas/) and answered with a
    scripted or generated reply, as JSON or as an SSE stream. Every option can also be set with
    the environment variable shown next to it.
    """


def _option(*names: str, env: str, **kwargs: object) -> object:
    """An option that also reads MOCKSERVER_<env> and says so in --help."""
    return click.option(*names, envvar=f"MOCKSERVER_{env}", show_envvar=True, **kwargs)  # type: ignore[arg-type]


class PathList(click.Path):
    """click.Path whose environment variable splits on the platform's path separator, read when
    splitting (':' on Linux and macOS, ';' on Windows, where 'C:\\fixtures' holds a colon)."""

    def split_envvar_value(self, rv: str) -> list[str]:
        return [part for part in rv.split(os.pathsep) if part.strip()]


def _secret(param: click.Parameter, value: str) -> str:
    """A key or token as a client would send it in `Authorization: Bearer ...`."""
    name = param.opts[0]
    if not value.strip():
        raise click.BadParameter("is empty: give the key itself", param_hint=name)
    if value.lower().startswith("bearer "):
        raise click.BadParameter(
            "give the key without 'Bearer ' (clients send 'Authorization: Bearer KEY')",
            param_hint=name,
        )
    if any(c.isspace() for c in value) or not value.isprintable():
        raise click.BadParameter(
            "holds spaces or control characters, which no Authorization header can carry",
            param_hint=name,
        )
    return value


def _not_nan(param: click.Parameter, value: float) -> float:
    if math.isnan(value):
        raise click.BadParameter("must be a number of seconds", param_hint=param.opts[0])
    return value


Decorator = Callable[[Callable[..., None]], Callable[..., None]]


def _upstream_key_option() -> Decorator:
    """--upstream-key, shared by serve and verify."""
    return cast(
        Decorator,
        _option(
            "--upstream-key",
            env="UPSTREAM_KEY",
            default=None,
            help="The gateway's API key, sent instead of the client's own (which is passed "
            "through otherwise). Never written to a file, log or journal entry.",
        ),
    )


SERVE_OPTIONS = [
    _option(
        "--host",
        env="HOST",
        default="127.0.0.1",
        help="Address to bind. Keep 127.0.0.1 unless other machines must reach the mock.",
    ),
    _option(
        "--port",
        env="PORT",
        default=8080,
        type=click.IntRange(0, 65535),
        help="Port to listen on; 0 picks a free port (see the MOCKSERVER_READY line).",
    ),
    _option(
        "--fixtures",
        "fixture_paths",
        env="FIXTURES",
        multiple=True,
        type=PathList(exists=True, path_type=Path),
        help="Fixture file or folder (read recursively); repeat for several. The variable "
        f"takes paths separated by the platform's path separator ('{os.pathsep}' here; ':' on "
        "Linux and macOS, ';' on Windows). Default: the bundled fixtures.",
    ),
    _option(
        "--seed",
        env="SEED",
        type=int,
        default=None,
        help="Seed for generated replies when a request has no `seed` of its own.",
    ),
    _option(
        "--api-key",
        "api_keys",
        env="API_KEY",
        multiple=True,
        callback=lambda ctx, param, value: tuple(_secret(param, v) for v in value),
        help="Accept only this Bearer key (repeat for several). Without it any non-empty "
        "key passes.",
    ),
    _option(
        "--strict",
        env="STRICT",
        is_flag=True,
        help="A scripted reply that drifted from the request (tool not offered, arguments "
        "or content breaking the request's schemas) is a 400, not a warning header.",
    ),
    _option(
        "--strict-fixtures",
        env="STRICT_FIXTURES",
        is_flag=True,
        help="A request no fixture matches gets a 404 naming the closest fixtures, "
        "instead of a generated reply.",
    ),
    _option(
        "--watch",
        env="WATCH",
        is_flag=True,
        help="Reload fixtures (and the --spec document) when their files change; a broken "
        "set or document is reported and the last good one kept.",
    ),
    _option(
        "--strict-spec",
        env="STRICT_SPEC",
        is_flag=True,
        help="Validate requests against the spec's schema verbatim, without the documented "
        "overlay of relaxations (schemas/overlays/request.overlay.json).",
    ),
    _option(
        "--disable-rule",
        "disabled_rules",
        env="DISABLE_RULE",
        multiple=True,
        type=click.Choice(sorted({*RULES, *GENERATION_RULES})),
        help="Switch off a named semantic rule, or prompted-format (generated replies in the "
        "output format the messages prescribe); repeat for several.",
    ),
    _option(
        "--max-body-bytes",
        env="MAX_BODY_BYTES",
        default=DEFAULT_MAX_BODY_BYTES,
        type=click.IntRange(1),
        help="Larger request bodies get 413.",
    ),
    _option(
        "--shutdown-timeout",
        env="SHUTDOWN_TIMEOUT",
        default=DEFAULT_SHUTDOWN_TIMEOUT_S,
        type=click.FloatRange(0),
        callback=lambda ctx, param, value: _not_nan(param, value),
        help="Seconds in-flight replies get after SIGINT/SIGTERM; then streams are cut with an "
        "error event. A second Ctrl-C stops at once.",
    ),
    _option(
        "--admin-token",
        env="ADMIN_TOKEN",
        default=None,
        callback=lambda ctx, param, value: None if value is None else _secret(param, value),
        help="Require 'Authorization: Bearer TOKEN' on /__admin/* (health excepted). Bound "
        "beyond loopback without one, the server generates a token and prints it at start.",
    ),
    _option(
        "--admin-host",
        "admin_hosts",
        env="ADMIN_HOST",
        multiple=True,
        help="A Host name the admin API answers (repeat for several; the variable takes "
        "space-separated names). Always answered: IP addresses, localhost and this machine's "
        "name; any other name is refused, which defeats DNS rebinding.",
    ),
    _option(
        "--journal-limit",
        env="JOURNAL_LIMIT",
        default=DEFAULT_JOURNAL_LIMIT,
        type=click.IntRange(1),
        help="Requests kept in the journal (the oldest are dropped).",
    ),
    _option(
        "--journal-max-bytes",
        env="JOURNAL_MAX_BYTES",
        default=DEFAULT_JOURNAL_MAX_BYTES,
        type=click.IntRange(1024),
        help="Bytes the journal may hold (bodies, stream frames and ~1 KB per entry); the "
        "oldest entries are dropped past it. Bodies over 256 KB and streams over 256 KB of "
        "frames are kept summarized.",
    ),
    _option(
        "--header-timeout",
        env="HEADER_TIMEOUT",
        default=DEFAULT_HEADER_TIMEOUT_S,
        type=click.FloatRange(0.1),
        help="Seconds a client has to send a request's headers; then the connection is closed.",
    ),
    _option(
        "--body-timeout",
        env="BODY_TIMEOUT",
        default=DEFAULT_BODY_TIMEOUT_S,
        type=click.FloatRange(0.1),
        help="Seconds a client has to send a request's body; then a 408.",
    ),
    _option(
        "--journal-file",
        env="JOURNAL_FILE",
        default=None,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Append every journal entry to this file as a JSON line, as it happens (its "
        "folder is created).",
    ),
    _option(
        "--log-format",
        env="LOG_FORMAT",
        default="text",
        type=click.Choice(["text", "json"]),
        help="json: one structured line per request (request id, fixture, status, duration).",
    ),
    _option(
        "--fault",
        env="FAULT",
        default=None,
        help="Faults for every request, in the X-Mock-Fault grammar, e.g. "
        "'ttft_ms=300, chunk_ms=30' or 'status=503'. Fixtures and the header override it.",
    ),
    _option(
        "--chaos-rate",
        env="CHAOS_RATE",
        default=0.0,
        type=click.FloatRange(0, 1),
        help="Share of requests that fail with --chaos-status, drawn from --seed so a "
        "failing CI run can be replayed.",
    ),
    _option(
        "--chaos-status",
        env="CHAOS_STATUS",
        default=DEFAULT_CHAOS_STATUS,
        type=click.IntRange(400, 599),
        help="The status chaos answers with.",
    ),
    _option(
        "--pace",
        env="PACE",
        default="instant",
        type=click.Choice(["instant", "realistic"]),
        help="realistic: streams wait each model's time to first token and flow at its tokens "
        "per second (seeded; usage.latency_checkpoint reports the same timings), JSON replies "
        "take the whole duration. instant: at once (CI, tests).",
    ),
    _option(
        "--models",
        "models",
        env="MODELS",
        multiple=True,
        help="Serve only these models (comma- or space-separated; repeat for more): any other "
        "gets 404 model_not_found, and /v1/models lists exactly these. Default: any model.",
    ),
    _option(
        "--rpm",
        env="RPM",
        default=None,
        type=click.IntRange(1),
        help="Requests per minute allowed per API key (429 past it).",
    ),
    _option(
        "--tpm",
        env="TPM",
        default=None,
        type=click.IntRange(1),
        help="Tokens per minute allowed per API key (prompt + max_tokens; 429 past it).",
    ),
    _option("--quiet", env="QUIET", is_flag=True, help="No per-request log lines."),
    _option(
        "--workers",
        env="WORKERS",
        default="1",
        help="Processes serving the one port (Linux, SO_REUSEPORT); 'auto' = one per core. "
        "More than one needs --state.",
    ),
    _option(
        "--loop",
        "event_loop",
        env="LOOP",
        default="asyncio",
        type=click.Choice(["asyncio", "uvloop"]),
        help="The event loop. uvloop needs pip install 'mockserver[uvloop]' (measured: no "
        "CPU saved for the mock, a worse p99 on a busy machine).",
    ),
    _option(
        "--state",
        "state_url",
        env="STATE",
        default=None,
        help="redis://HOST:PORT/DB: keep the journal, scenario counters, run-time fixtures, "
        "rate budgets and chaos draws in Redis, shared by all workers and replicas.",
    ),
    _option(
        "--upstream",
        env="UPSTREAM",
        default=None,
        help="The real gateway's base URL (as given to an OpenAI SDK, e.g. "
        "https://gateway.example/v1): a valid request no fixture matches is forwarded there.",
    ),
    _option(
        "--proxy-all",
        env="PROXY_ALL",
        is_flag=True,
        help="With --upstream: forward every valid request, even those a fixture answers.",
    ),
    _upstream_key_option(),
    _option(
        "--upstream-pool-size",
        env="UPSTREAM_POOL_SIZE",
        default=100,
        type=click.IntRange(1),
        help="Connections to the gateway open at most (reused across requests).",
    ),
    _option(
        "--upstream-connect-timeout",
        env="UPSTREAM_CONNECT_TIMEOUT",
        default=10.0,
        type=click.FloatRange(0, min_open=True),
        help="Seconds to reach the gateway; past it the client gets a 504.",
    ),
    _option(
        "--upstream-read-timeout",
        env="UPSTREAM_READ_TIMEOUT",
        default=300.0,
        type=click.FloatRange(0, min_open=True),
        help="Seconds to wait for the gateway's next bytes (a 504, or an error event mid-stream).",
    ),
    _option(
        "--record",
        "record_dir",
        env="RECORD",
        default=None,
        type=click.Path(file_okay=False, path_type=Path),
        help="With --upstream: write each proxied exchange into this folder as a fixture "
        "file (secrets redacted; the same request is recorded once).",
    ),
    _option(
        "--record-match",
        env="RECORD_MATCH",
        default=",".join(DEFAULT_MATCH),
        help="What a recorded fixture matches on, comma-separated, from: "
        f"{', '.join(MATCH_FIELDS)}.",
    ),
    _option(
        "--replay-pacing",
        env="REPLAY_PACING",
        default=1.0,
        type=click.FloatRange(0),
        help="Recorded streams are replayed with their frame timings times this: 1 as "
        "recorded, 0 as fast as possible, 0.5 twice as fast.",
    ),
    *spec_cli.serve_options(),
]


def _with_serve_options(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(SERVE_OPTIONS):
        command = option(command)  # type: ignore[operator]
    return command


@main.command()
@_with_serve_options
def serve(
    *,
    fixture_paths: tuple[Path, ...],
    api_keys: tuple[str, ...],
    admin_hosts: tuple[str, ...],
    disabled_rules: tuple[str, ...],
    log_format: str,
    quiet: bool,
    fault: str | None,
    workers: str,
    state_url: str | None,
    models: tuple[str, ...],
    **options: object,
) -> None:
    """Serve the mock API on http://HOST:PORT/v1 until SIGINT or SIGTERM."""
    count = _worker_count(workers, state_url)
    if options.get("event_loop") == "uvloop" and importlib.util.find_spec("uvloop") is None:
        raise click.BadParameter(
            "uvloop is not installed: pip install 'mockserver[uvloop]'.", param_hint="--loop"
        )
    configure_logs(log_format, quiet=quiet)
    settings = Settings(
        state_url=state_url,
        fixture_paths=fixture_paths or (bundled("fixtures"),),
        api_keys=frozenset(api_keys),
        admin_hosts=frozenset(h for names in admin_hosts for h in names.split()),
        disabled_rules=frozenset(disabled_rules),
        access_log=not quiet,
        fault=_server_fault(fault),
        models=_model_list(models),
        upstream=_upstream(options),
        record_match=_record_match(str(options.pop("record_match"))),
        **options,  # type: ignore[arg-type]  # the remaining options are Settings fields
    )
    if settings.record_dir is not None and settings.upstream is None:
        raise click.BadParameter(
            "records what --upstream answers: give --upstream too", param_hint="--record"
        )
    _prepare_journal_file(settings.journal_file)
    _warn_about_empty_folders(settings.paths)
    try:
        with spec_cli.spec_errors():
            if state_url is not None:
                check_reachable(state_url)
            if count > 1:  # problems reported once, before any worker starts
                load_fixtures(settings, contract_in_force(settings))
                raise SystemExit(Supervisor(settings, count, log_format, quiet).run())
            run_loop(run_server(settings), settings.event_loop)
    except FixtureLoadError as exc:
        raise StartupError(report(exc.problems, "mockserver refuses to start")) from exc
    except CannotListen as exc:
        raise StartupError(str(exc)) from exc
    except StateConnectError as exc:
        raise StartupError(str(exc)) from exc


class StartupError(click.ClickException):
    """`serve` cannot start as asked: said in one line (the fixture report aside), exit status 2
    like click's usage errors, never a traceback."""

    exit_code = 2


def _model_list(values: tuple[str, ...]) -> tuple[str, ...] | None:
    """--models a,b --models c (or MOCKSERVER_MODELS="a b"): the names in order, once each."""
    names = [name for value in values for name in value.replace(",", " ").split()]
    if values and not names:
        raise StartupError("--models names no model: give at least one, e.g. --models gpt-4o")
    return tuple(dict.fromkeys(names)) if names else None


def _prepare_journal_file(path: Path | None) -> None:
    """Create the journal file's folder, and make sure the file can be written, before listening."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise StartupError(
            f"cannot write the journal file {path}: {exc.strerror or exc}. "
            "Pick another --journal-file."
        ) from exc


def _warn_about_empty_folders(paths: tuple[Path, ...]) -> None:
    """A folder with no fixture file is almost always a wrong path: say so, and serve anyway."""
    for path in paths:
        if not path.is_dir():
            continue
        if not fixture_files([path]):
            click.echo(
                f"warning: no fixture files (*.yaml, *.yml, *.json) in {path}: every request "
                "gets a generated reply",
                err=True,
            )


def _worker_count(workers: str, state_url: str | None) -> int:
    """--workers N or auto, checked before anything starts."""
    if workers == "auto":
        count = cpu_count()
    else:
        try:
            count = int(workers)
        except ValueError:
            count = 0
        if count < 1:
            raise click.BadParameter(
                "a number of processes (1 or more) or 'auto'.", param_hint="--workers"
            )
    if state_url is not None and not state_url.startswith(("redis://", "rediss://", "unix://")):
        raise click.BadParameter(
            "a Redis URL: redis://HOST:PORT/DB, rediss://... or unix://PATH.", param_hint="--state"
        )
    note = workers_note(count)  # Windows, macOS: one line pointing to replicas
    if note is not None:
        raise StartupError(note)
    if count > 1 and state_url is None:
        raise click.UsageError(
            f"--workers {workers} needs --state redis://HOST:PORT: the workers share the "
            "journal, scenario counters, run-time fixtures, rate budgets and chaos draws there."
        )
    return count


def _upstream(options: dict[str, object]) -> Upstream | None:
    """Pops the upstream options (they are not Settings fields) into one Upstream."""
    url = options.pop("upstream")
    key, proxy_all = options.pop("upstream_key"), options.pop("proxy_all")
    pool = options.pop("upstream_pool_size")
    connect, read = options.pop("upstream_connect_timeout"), options.pop("upstream_read_timeout")
    if url is None:
        if proxy_all:
            raise click.BadParameter(
                "forwards to --upstream: give it too", param_hint="--proxy-all"
            )
        return None
    return _upstream_at(
        str(url),
        key=key,
        proxy_all=proxy_all,
        pool_size=pool,
        connect_timeout_s=connect,
        read_timeout_s=read,
    )


def _upstream_at(url: str, **settings: object) -> Upstream:
    try:
        return Upstream.at(url, **settings)
    except UpstreamURLError as exc:
        raise click.BadParameter(str(exc), param_hint="--upstream") from exc


def _record_match(text: str) -> tuple[str, ...]:
    fields = tuple(f.strip() for f in text.split(",") if f.strip())
    unknown = [f for f in fields if f not in MATCH_FIELDS]
    if unknown or not fields:
        raise click.BadParameter(
            f"unknown field(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(MATCH_FIELDS)}",
            param_hint="--record-match",
        )
    return fields


def _server_fault(text: str | None) -> FaultPlan:
    try:
        return parse_fault(text) if text else NO_FAULT
    except FaultSyntaxError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from exc


def report(problems: list[Problem], title: str) -> str:
    lines = [f"{title}: {len(problems)} problem(s) in the fixtures"]
    return "\n".join([*lines, *(f"  {p}" for p in problems)])


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


_URL = click.option(
    "--url",
    default="http://127.0.0.1:8080",
    envvar="MOCKSERVER_URL",
    show_envvar=True,
    help="The running mock server.",
)
_TOKEN = click.option(
    "--admin-token",
    default=None,
    envvar="MOCKSERVER_ADMIN_TOKEN",
    show_envvar=True,
    help="Its --admin-token, if it has one.",
)


@main.command(name="requests")
@_URL
@_TOKEN
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


def _output_files(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
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


@main.command(name="report")
@_URL
@_TOKEN
@_output_files("report")
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


@main.command(name="verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--upstream",
    envvar="MOCKSERVER_UPSTREAM",
    show_envvar=True,
    required=True,
    help="The real gateway's base URL, e.g. https://gateway.example/v1.",
)
@_upstream_key_option()
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
@_output_files("results")
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
    gateway = _upstream_at(upstream, key=upstream_key)
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


main.add_command(spec_cli.spec_group)
