"""What a platform lacks, said in one line at start instead of failing later."""

from __future__ import annotations

import socket
import sys

ALTERNATIVE = (
    "run several replicas behind a load balancer sharing --state redis://... instead "
    "(README: Scaling)"
)


def reuse_port_balances() -> bool:
    """Whether several processes can listen on one port and share its connections.

    Linux (3.9+) balances SO_REUSEPORT listeners; BSD and macOS have the option but hand every
    connection to one socket, and Windows has no such option at all.
    """
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def workers_note(workers: int) -> str | None:
    """Why `--workers N` (N > 1) cannot spread connections here, or None where it can.

    `serve --workers` refuses to start with this line.
    """
    if workers <= 1 or reuse_port_balances():
        return None
    if not hasattr(socket, "SO_REUSEPORT"):
        return (
            f"--workers {workers}: this platform has no SO_REUSEPORT, so one process serves; "
            f"{ALTERNATIVE}"
        )
    system = "macOS" if sys.platform == "darwin" else sys.platform
    return (
        f"--workers {workers}: {system}'s SO_REUSEPORT does not balance connections between "
        f"processes, so one process serves; {ALTERNATIVE}"
    )
