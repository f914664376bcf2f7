"""What a platform lacks, said in one line at start instead of failing later."""

from __future__ import annotations

import socket
import sys

ALTERNATIVE = (
    "run several replicas behind a load balancer sharing --state redis://... instead "
    "(README: Scaling)"
)


def workers_note(workers: int) -> str | None:
    """Why `--workers N` (N > 1) cannot spread connections here, or None where it can.

    Several processes accepting on one port need SO_REUSEPORT with load balancing: Linux has
    it; macOS has the option but hands every connection to one socket; Windows lacks it.
    `serve --workers` refuses to start with this line.
    """
    if workers <= 1:
        return None
    if not hasattr(socket, "SO_REUSEPORT"):
        return (
            f"--workers {workers}: this platform has no SO_REUSEPORT, so one process serves; "
            f"{ALTERNATIVE}"
        )
    if sys.platform == "darwin":
        return (
            f"--workers {workers}: macOS's SO_REUSEPORT does not balance connections between "
            f"processes, so one process serves; {ALTERNATIVE}"
        )
    return None
