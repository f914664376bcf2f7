"""The command line as CI uses it: a real `python -m mockserver` subprocess, signals included."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import click
import pytest
from click.testing import CliRunner

from mockserver.cli.main import main
from tests.cli_support import ROOT, Server, free_port, run_mockserver

pytestmark = pytest.mark.timeout(20)


def test_ready_line_health_and_sigterm(servers: list[Server]) -> None:
    server = Server("--port", "0")
    servers.append(server)
    assert server.ready["url"] == f"http://127.0.0.1:{server.port}"
    assert 0 < server.port < 65536
    status, health = server.get("/__admin/health")
    assert status == 200
    assert health["status"] == "ok"
    started = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 5, "nothing in flight: no reason to wait"


def test_env_vars_are_honoured(servers: list[Server]) -> None:
    port = free_port()
    server = Server(env={"MOCKSERVER_PORT": str(port), "MOCKSERVER_API_KEY": "sk-env"})
    servers.append(server)
    assert server.port == port
    assert server.get("/__admin/health")[0] == 200
    url = f"{server.ready['url']}/v1/models"
    wrong = urllib.request.Request(url, headers={"Authorization": "Bearer sk-other"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(wrong, timeout=5)
    assert caught.value.code == 401
    caught.value.close()
    right = urllib.request.Request(url, headers={"Authorization": "Bearer sk-env"})
    with urllib.request.urlopen(right, timeout=5) as response:
        assert response.status == 200
    assert server.stop() == 0


def run_cli(*commands: tuple[str, ...]) -> list[str]:
    """Run `python -m mockserver ARGS` for each ARGS at once; their stdouts, whitespace-folded."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mockserver", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        for args in commands
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        outputs.append(" ".join(out.split()))
    return outputs


def option_names(command: click.Command) -> list[str]:
    names = []
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            names += [*param.opts, *param.secondary_opts]
            envvar = param.envvar if param.show_envvar else None
            names += [envvar] if isinstance(envvar, str) else list(envvar or ())
    return names


def test_help_mentions_every_option() -> None:
    assert isinstance(main, click.Group)
    top, serve_text = run_cli(("--help",), ("serve", "--help"))
    for option in option_names(main):
        assert option in top, option
    assert "serve" in main.commands
    for name, command in main.commands.items():
        assert name in top
        if name == "serve":
            text = serve_text
        else:  # the other commands in-process: a subprocess each is slow
            result = CliRunner().invoke(main, [name, "--help"], terminal_width=200)
            assert result.exit_code == 0, result.output
            text = " ".join(result.output.split())
        for option in option_names(command):
            assert option in text, (name, option)
    for option in ("--port", "--seed", "--api-key", "--strict-spec", "MOCKSERVER_PORT"):
        assert option in serve_text, "the derived option list above is not empty or stale"


def test_sigterm_lets_an_in_flight_request_finish(servers: list[Server]) -> None:
    server = Server("--port", "0", "--shutdown-timeout", "1")
    servers.append(server)
    assert server.get("/__admin/health")[0] == 200  # also: the signal handlers are installed
    raw = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}).encode()
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        "Authorization: Bearer sk-test\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(raw)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(head + raw[: len(raw) // 2])
        time.sleep(0.2)  # the server has the headers: the request is in flight
        server.proc.send_signal(signal.SIGTERM)
        server.stderr.wait_for("shutting down", 5)
        conn.sendall(raw[len(raw) // 2 :])
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 200"), reply[:300]
    headers, _, payload = rest.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length: *(\d+)", headers)
    assert length is not None
    assert len(payload) == int(length.group(1)), "the whole body arrived"
    completion = json.loads(payload)
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"]["content"]
    assert server.proc.wait(timeout=10) == 0


def test_sigint_exits_cleanly(servers: list[Server]) -> None:
    server = Server("--port", "0")
    servers.append(server)
    # One answered request proves the loop reached the signal handlers. Without it this test
    # fails about 1 run in 5: server.py prints MOCKSERVER_READY *before* add_signal_handler,
    # and a SIGINT in that window is click's "Aborted!" with exit code 1.
    assert server.get("/__admin/health")[0] == 200
    assert server.stop(signal.SIGINT) == 0
    assert server.proc.stderr is not None
    rest = server.proc.stderr.read().decode("utf-8", "replace")
    errors = "\n".join([*server.stderr.lines, rest])
    assert "Traceback" not in errors
    assert "KeyboardInterrupt" not in errors


def test_port_in_use_fails_fast(servers: list[Server]) -> None:
    server = Server("--port", "0")
    servers.append(server)
    result = run_mockserver("serve", "--quiet", "--port", str(server.port), timeout=10)
    assert result.returncode != 0
    assert "MOCKSERVER_READY" not in result.stdout


def test_models_option_and_variable(servers: list[Server]) -> None:
    server = Server("--port", "0", "--models", "gpt-4o, deepseek-chat", env={})
    servers.append(server)
    other = Server("--port", "0", env={"MOCKSERVER_MODELS": "qwen-max o3-mini"})
    servers.append(other)
    assert any("gpt-4o, deepseek-chat; any other gets 404" in line for line in server.stdout.lines)
    for running, expected in (
        (server, ["gpt-4o", "deepseek-chat"]),
        (other, ["qwen-max", "o3-mini"]),
    ):
        request = urllib.request.Request(
            f"{running.ready['url']}/v1/models", headers={"Authorization": "Bearer sk-test"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert [m["id"] for m in json.loads(response.read())["data"]] == expected


def test_bound_to_every_interface_the_banner_gives_a_usable_url(servers: list[Server]) -> None:
    server = Server("--host", "0.0.0.0", "--port", "0")
    servers.append(server)
    assert server.ready["url"] == f"http://127.0.0.1:{server.port}", "0.0.0.0 is no address to dial"
    listening = next(line for line in server.stdout.lines if "listening" in line)
    assert f"http://127.0.0.1:{server.port}/v1" in listening
    assert "bound to 0.0.0.0" in listening
    assert server.get("/__admin/health")[0] == 200
