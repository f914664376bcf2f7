"""Where the real gateway is and how to talk to it: the settings of `--upstream`.

A leaf module (no aiohttp import), so Settings can hold it without pulling in the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

CHAT_PATH = "/chat/completions"


class UpstreamURLError(ValueError):
    """An --upstream value that is not an http(s) URL."""


def chat_url(base: str) -> str:
    """The gateway's chat endpoint from the base URL an OpenAI SDK would be given.

    `https://gw.example.com/v1` and `https://gw.example.com` both give
    `https://gw.example.com/v1/chat/completions`; another path prefix is kept
    (`http://host/openai/v1` -> `http://host/openai/v1/chat/completions`).
    """
    parts = urlsplit(base.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UpstreamURLError(f"{base!r} is not an http(s) URL (e.g. https://gateway.example/v1)")
    if parts.query or parts.fragment:
        raise UpstreamURLError(f"{base!r}: give the base URL, without a query or fragment")
    path = parts.path.rstrip("/")
    if path.endswith(CHAT_PATH):
        path = path[: -len(CHAT_PATH)]
    if not path.endswith("/v1"):
        path += "/v1"
    return f"{parts.scheme}://{parts.netloc}{path}{CHAT_PATH}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Upstream:
    """The gateway behind the mock. `key` replaces the client's own Authorization when set."""

    url: str  # the chat endpoint (chat_url of what the user gave)
    key: str | None = None
    proxy_all: bool = False  # forward every valid request, even those a fixture answers
    pool_size: int = 100  # open connections to the gateway at most
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 300.0  # between two reads: a stalled stream fails after this
    max_duration_s: float = 3600.0  # a whole forward, stream included: keep-alives cannot hold
    # a connection (and its pool slot) for ever
    max_reply_bytes: int = 32 * 1024 * 1024  # a plain reply larger than this is a 502

    @classmethod
    def at(cls, base: str, **options: object) -> Upstream:
        """Raises UpstreamURLError for a URL the client could not use."""
        return cls(url=chat_url(base), **options)  # type: ignore[arg-type]

    @property
    def display(self) -> str:
        """The URL for messages, files and the journal: a password in it is left out."""
        parts = urlsplit(self.url)
        if parts.username is None and parts.password is None:
            return self.url
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return parts._replace(netloc=netloc).geturl()

    def __repr__(self) -> str:  # the key never reaches a log line through a repr
        key = "set" if self.key else "client's"
        return f"Upstream(url={self.display!r}, key={key}, proxy_all={self.proxy_all})"
