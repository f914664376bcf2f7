"""Is the shared store there? Asked once before serving, so a wrong --state is one line."""

from __future__ import annotations

TIMEOUT_S = 2.0


class StateConnectError(Exception):
    """Redis cannot be reached at start: the CLI prints one line and exits 2."""


def check_reachable(url: str, timeout: float = TIMEOUT_S) -> None:
    import redis
    from redis.exceptions import RedisError

    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        with client:
            client.ping()
    except (RedisError, OSError, ValueError) as exc:
        raise StateConnectError(f"cannot reach Redis for --state: {describe(exc)}") from exc


def describe(exc: BaseException) -> str:
    """One line, never the URL (it may carry a password)."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
