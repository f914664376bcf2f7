"""`mockserver serve`: its flags (and MOCKSERVER_* variables) -> Settings, checked before
anything listens, and every start-up mistake as one line."""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Callable
from pathlib import Path

import click

from mockserver.app.platforms import workers_note
from mockserver.app.serving import CannotListen
from mockserver.app.serving import serve as run_server
from mockserver.app.sources import contract_in_force, load_fixtures
from mockserver.app.workers import Supervisor, cpu_count
from mockserver.app.workers import run as run_loop
from mockserver.cli import spec as spec_cli
from mockserver.cli.logs import configure as configure_logs
from mockserver.cli.options import UPSTREAM_KEY, PathList, option, upstream_at
from mockserver.cli.problems import report
from mockserver.contract.rules import GENERATION_RULES, RULES
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
from mockserver.stubs.loader import fixture_files
from mockserver.stubs.model import FixtureLoadError
from mockserver.upstream.config import Upstream
from mockserver.upstream.record import DEFAULT_MATCH, MATCH_FIELDS
from mockserver.wire.faults import NO_FAULT, FaultPlan, FaultSyntaxError, parse_fault


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


SERVE_OPTIONS = [
    option(
        "--host",
        default="127.0.0.1",
        help="Address to bind. Keep 127.0.0.1 unless other machines must reach the mock.",
    ),
    option(
        "--port",
        default=8080,
        type=click.IntRange(0, 65535),
        help="Port to listen on; 0 picks a free port (see the MOCKSERVER_READY line).",
    ),
    option(
        "--fixtures",
        "fixture_paths",
        multiple=True,
        type=PathList(exists=True, path_type=Path),
        help="Fixture file or folder (read recursively); repeat for several. The variable "
        f"takes paths separated by the platform's path separator ('{os.pathsep}' here; ':' on "
        "Linux and macOS, ';' on Windows). Default: the bundled fixtures.",
    ),
    option(
        "--seed",
        type=int,
        default=None,
        help="Seed for generated replies when a request has no `seed` of its own.",
    ),
    option(
        "--api-key",
        "api_keys",
        multiple=True,
        callback=lambda ctx, param, value: tuple(_secret(param, v) for v in value),
        help="Accept only this Bearer key (repeat for several). Without it any non-empty "
        "key passes.",
    ),
    option(
        "--strict",
        is_flag=True,
        help="A scripted reply that drifted from the request (tool not offered, arguments "
        "or content breaking the request's schemas) is a 400, not a warning header.",
    ),
    option(
        "--strict-fixtures",
        is_flag=True,
        help="A request no fixture matches gets a 404 naming the closest fixtures, "
        "instead of a generated reply.",
    ),
    option(
        "--watch",
        is_flag=True,
        help="Reload fixtures (and the --spec document) when their files change; a broken "
        "set or document is reported and the last good one kept.",
    ),
    option(
        "--strict-spec",
        is_flag=True,
        help="Validate requests against the spec's schema verbatim, without the documented "
        "overlay of relaxations (schemas/overlays/request.overlay.json).",
    ),
    option(
        "--disable-rule",
        "disabled_rules",
        multiple=True,
        type=click.Choice(sorted({*RULES, *GENERATION_RULES})),
        help="Switch off a named semantic rule, or prompted-format (generated replies in the "
        "output format the messages prescribe); repeat for several.",
    ),
    option(
        "--max-body-bytes",
        default=DEFAULT_MAX_BODY_BYTES,
        type=click.IntRange(1),
        help="Larger request bodies get 413.",
    ),
    option(
        "--shutdown-timeout",
        default=DEFAULT_SHUTDOWN_TIMEOUT_S,
        type=click.FloatRange(0),
        callback=lambda ctx, param, value: _not_nan(param, value),
        help="Seconds in-flight replies get after SIGINT/SIGTERM; then streams are cut with an "
        "error event. A second Ctrl-C stops at once.",
    ),
    option(
        "--admin-token",
        default=None,
        callback=lambda ctx, param, value: None if value is None else _secret(param, value),
        help="Require 'Authorization: Bearer TOKEN' on /__admin/* (health excepted). Bound "
        "beyond loopback without one, the server generates a token and prints it at start.",
    ),
    option(
        "--admin-host",
        "admin_hosts",
        multiple=True,
        help="A Host name the admin API answers (repeat for several; the variable takes "
        "space-separated names). Always answered: IP addresses, localhost and this machine's "
        "name; any other name is refused, which defeats DNS rebinding.",
    ),
    option(
        "--journal-limit",
        default=DEFAULT_JOURNAL_LIMIT,
        type=click.IntRange(1),
        help="Requests kept in the journal (the oldest are dropped).",
    ),
    option(
        "--journal-max-bytes",
        default=DEFAULT_JOURNAL_MAX_BYTES,
        type=click.IntRange(1024),
        help="Bytes the journal may hold (bodies, stream frames and ~1 KB per entry); the "
        "oldest entries are dropped past it. Bodies over 256 KB and streams over 256 KB of "
        "frames are kept summarized.",
    ),
    option(
        "--header-timeout",
        default=DEFAULT_HEADER_TIMEOUT_S,
        type=click.FloatRange(0.1),
        help="Seconds a client has to send a request's headers; then the connection is closed.",
    ),
    option(
        "--body-timeout",
        default=DEFAULT_BODY_TIMEOUT_S,
        type=click.FloatRange(0.1),
        help="Seconds a client has to send a request's body; then a 408.",
    ),
    option(
        "--journal-file",
        default=None,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Append every journal entry to this file as a JSON line, as it happens (its "
        "folder is created).",
    ),
    option(
        "--log-format",
        default="text",
        type=click.Choice(["text", "json"]),
        help="json: one structured line per request (request id, fixture, status, duration).",
    ),
    option(
        "--fault",
        default=None,
        help="Faults for every request, in the X-Mock-Fault grammar, e.g. "
        "'ttft_ms=300, chunk_ms=30' or 'status=503'. Fixtures and the header override it.",
    ),
    option(
        "--chaos-rate",
        default=0.0,
        type=click.FloatRange(0, 1),
        help="Share of requests that fail with --chaos-status, drawn from --seed so a "
        "failing CI run can be replayed.",
    ),
    option(
        "--chaos-status",
        default=DEFAULT_CHAOS_STATUS,
        type=click.IntRange(400, 599),
        help="The status chaos answers with.",
    ),
    option(
        "--pace",
        default="instant",
        type=click.Choice(["instant", "realistic"]),
        help="realistic: streams wait each model's time to first token and flow at its tokens "
        "per second (seeded; usage.latency_checkpoint reports the same timings), JSON replies "
        "take the whole duration. instant: at once (CI, tests).",
    ),
    option(
        "--models",
        "models",
        multiple=True,
        help="Serve only these models (comma- or space-separated; repeat for more): any other "
        "gets 404 model_not_found, and /v1/models lists exactly these. Default: any model.",
    ),
    option(
        "--rpm",
        default=None,
        type=click.IntRange(1),
        help="Requests per minute allowed per API key (429 past it).",
    ),
    option(
        "--tpm",
        default=None,
        type=click.IntRange(1),
        help="Tokens per minute allowed per API key (prompt + max_tokens; 429 past it).",
    ),
    option("--quiet", is_flag=True, help="No per-request log lines."),
    option(
        "--workers",
        default="1",
        help="Processes serving the one port (Linux, SO_REUSEPORT); 'auto' = one per core. "
        "More than one needs --state.",
    ),
    option(
        "--loop",
        "event_loop",
        default="asyncio",
        type=click.Choice(["asyncio", "uvloop"]),
        help="The event loop. uvloop needs pip install 'mockserver[uvloop]' (measured: no "
        "CPU saved for the mock, a worse p99 on a busy machine).",
    ),
    option(
        "--state",
        "state_url",
        default=None,
        help="redis://HOST:PORT/DB: keep the journal, scenario counters, run-time fixtures, "
        "rate budgets and chaos draws in Redis, shared by all workers and replicas.",
    ),
    option(
        "--upstream",
        default=None,
        help="The real gateway's base URL (as given to an OpenAI SDK, e.g. "
        "https://gateway.example/v1): a valid request no fixture matches is forwarded there.",
    ),
    option(
        "--proxy-all",
        is_flag=True,
        help="With --upstream: forward every valid request, even those a fixture answers.",
    ),
    UPSTREAM_KEY,
    option(
        "--upstream-pool-size",
        default=100,
        type=click.IntRange(1),
        help="Connections to the gateway open at most (reused across requests).",
    ),
    option(
        "--upstream-connect-timeout",
        default=10.0,
        type=click.FloatRange(0, min_open=True),
        help="Seconds to reach the gateway; past it the client gets a 504.",
    ),
    option(
        "--upstream-read-timeout",
        default=300.0,
        type=click.FloatRange(0, min_open=True),
        help="Seconds to wait for the gateway's next bytes (a 504, or an error event mid-stream).",
    ),
    option(
        "--record",
        "record_dir",
        default=None,
        type=click.Path(file_okay=False, path_type=Path),
        help="With --upstream: write each proxied exchange into this folder as a fixture "
        "file (secrets redacted; the same request is recorded once).",
    ),
    option(
        "--record-match",
        default=",".join(DEFAULT_MATCH),
        help="What a recorded fixture matches on, comma-separated, from: "
        f"{', '.join(MATCH_FIELDS)}.",
    ),
    option(
        "--replay-pacing",
        default=1.0,
        type=click.FloatRange(0),
        help="Recorded streams are replayed with their frame timings times this: 1 as "
        "recorded, 0 as fast as possible, 0.5 twice as fast.",
    ),
    *spec_cli.serve_options(),
]


def _with_serve_options(command: Callable[..., None]) -> Callable[..., None]:
    for declare in reversed(SERVE_OPTIONS):
        command = declare(command)
    return command


@click.command()
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
    except (CannotListen, StateConnectError) as exc:
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
    return upstream_at(
        str(url),
        key=key,
        proxy_all=proxy_all,
        pool_size=pool,
        connect_timeout_s=connect,
        read_timeout_s=read,
    )


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
