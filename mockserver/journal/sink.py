"""--journal-file: journal entries appended as JSON lines by a writer thread, off the event loop.

A slow disk must not stall every request: lines go through a bounded queue to one thread that
writes and flushes them. When the queue is full the line is written in place (slower, never
lost), so memory stays bounded however far the disk falls behind.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import IO

MAX_QUEUED_LINES = 10_000
_STOP = None


class JournalFile:
    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()  # one writer at a time: the thread, or an overflow write
        self._lines: queue.Queue[str | None] = queue.Queue(MAX_QUEUED_LINES)
        self._thread = threading.Thread(target=self._drain, name="journal-file", daemon=True)
        self._thread.start()

    def write(self, line: str) -> None:
        try:
            self._lines.put_nowait(line)
        except queue.Full:
            self._write(line)

    def _write(self, line: str) -> None:
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def _drain(self) -> None:
        while (line := self._lines.get()) is not _STOP:
            self._write(line)

    def close(self) -> None:
        """Write what is queued, then close the file."""
        self._lines.put(_STOP)
        self._thread.join()
        self._file.close()
