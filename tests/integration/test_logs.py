"""Log lines of a real `mockserver serve`: one per request, as the README says (issue #12.5)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.cli_support import Server

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_one_log_line_per_request(log_format: str) -> None:
    server = Server("--port", "0", "--log-format", log_format, quiet=False)
    try:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "你好"}]}
        request = urllib.request.Request(
            f"{server.ready['url']}/v1/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Authorization": "Bearer sk-test", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            request_id = response.headers["x-request-id"]
        assert server.get("/__admin/health")[0] == 200
        server.stderr.wait_for("/__admin/health", 5)  # the admin request's line came after
        lines = [line for line in server.stderr.lines if request_id in line]
        assert len(lines) == 1, lines
        if log_format == "json":
            entry = json.loads(lines[0])
            assert (entry["logger"], entry["status"], entry["model"]) == (
                "mockserver.requests",
                200,
                "gpt-4o",
            )
    finally:
        server.close()
