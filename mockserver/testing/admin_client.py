"""AdminClient: a typed, dependency-free client of the /__admin API, for tests and scripts.

Synchronous on purpose (urllib): it works from plain pytest, from async tests (the server runs
elsewhere) and from other test frameworks alike.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mockserver.stubs.conditions import compile_match
from mockserver.stubs.context import MatchContext


class AdminError(Exception):
    """The admin API answered with an error (OpenAI's shape, kept in `body`)."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("error", {}).get("message") if isinstance(body, dict) else body
        super().__init__(f"admin API {status}: {message}")
        self.status = status
        self.body = body


class AdminClient:
    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        yaml_text: str | None = None,
        query: Mapping[str, Any] | None = None,
    ) -> Any:
        url = f"{self.url}/__admin{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: _text(v) for k, v in query.items()})
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if yaml_text is not None:
            data, headers["Content-Type"] = yaml_text.encode(), "application/yaml"
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
            raise AdminError(exc.code, parsed) from None

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/health")
        return result

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Journaled requests, newest first (filters: fixture, model, status, stream, since,
        limit)."""
        result: list[dict[str, Any]] = self._call("GET", "/requests", query=filters)["requests"]
        return result

    def request(self, request_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/requests/{request_id}")
        return result

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def matching(self, match: Mapping[str, Any]) -> list[str]:
        """Ids of the journaled requests a fixture-format match block selects."""
        result: list[str] = self._call("POST", "/requests/count", dict(match))["requests"]
        return result

    def count(self, match: Mapping[str, Any]) -> int:
        return len(self.matching(match))

    def unmatched(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/requests/unmatched")["requests"]
        return result

    def fixtures(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/fixtures")["fixtures"]
        return result

    def add_fixtures(self, fixtures: Any) -> list[str]:
        """Add fixtures given as a dict, a list of dicts, or YAML text."""
        if isinstance(fixtures, str):
            result = self._call("POST", "/fixtures", yaml_text=fixtures)
        else:
            result = self._call("POST", "/fixtures", fixtures)
        added: list[str] = result["added"]
        return added

    def add_fixture_file(self, path: str | os.PathLike[str]) -> list[str]:
        """Add the fixtures of a YAML or JSON file at run time, without restarting the server:
        for one test (the pytest plugin's reset removes them before the next)."""
        return self.add_fixtures(Path(path).read_text(encoding="utf-8"))

    def replace_fixture(self, name: str, fixture: Mapping[str, Any]) -> None:
        self._call("PUT", f"/fixtures/{urllib.parse.quote(name, safe='')}", dict(fixture))

    def delete_fixture(self, name: str) -> None:
        self._call("DELETE", f"/fixtures/{urllib.parse.quote(name, safe='')}")

    def reset_fixture(self, name: str) -> None:
        self._call("POST", f"/fixtures/{urllib.parse.quote(name, safe='')}/reset")

    def set_fixture_enabled(self, name: str, enabled: bool) -> None:
        """A disabled fixture stays listed but answers nothing until enabled (or a reset)."""
        action = "enable" if enabled else "disable"
        self._call("POST", f"/fixtures/{urllib.parse.quote(name, safe='')}/{action}")

    def reset(self) -> None:
        self._call("POST", "/reset")

    def reload(self) -> int:
        result: int = self._call("POST", "/reload")["reloaded"]
        return result

    def assert_called(self, match: Mapping[str, Any], times: int | None = None) -> list[str]:
        """Assert that requests matching `match` came in (exactly `times` when given, else at
        least once); the failure message shows the near misses. Returns the matching ids."""
        ids = self.matching(match)
        if (times is None and ids) or len(ids) == times:
            return ids
        expected = "at least once" if times is None else f"{times} time(s)"
        lines = [
            f"expected a request matching {json.dumps(match, ensure_ascii=False)} "
            f"{expected}, found {len(ids)}"
        ]
        requests = self.requests(limit=10)
        lines.append(f"the last {len(requests)} request(s):" if requests else "no requests came in")
        block = _near_misses(match, requests)
        lines.extend(f"  - {line}" for line in block)
        raise AssertionError("\n".join(lines))


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _near_misses(match: Mapping[str, Any], requests: list[dict[str, Any]]) -> list[str]:
    """Each recent request, with the conditions of `match` it failed."""
    block = compile_match(match)
    lines = []
    for request in requests:
        context = MatchContext.recorded(request.get("body"), request.get("headers") or {})
        failed = block.failures(context)
        summary = f"{request['id']} model={request.get('model')} status={request.get('status')}"
        lines.append(f"{summary}: {'; '.join(failed) if failed else 'matches'}")
    return lines
