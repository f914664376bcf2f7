"""Log set-up: readable lines, or one JSON object per line (--log-format json) for CI."""

from __future__ import annotations

import json
import logging
from typing import Any

FIELDS = ("request_id", "method", "path", "model", "fixture", "status", "duration_ms", "stream")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: getattr(record, k) for k in FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(log_format: str, *, quiet: bool = False) -> None:
    """--quiet keeps warnings (broken fixtures on --watch) and drops the per-request lines."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    if quiet:
        logging.getLogger("mockserver.requests").setLevel(logging.WARNING)
