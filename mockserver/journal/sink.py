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
MAX_QUEUED_BYTES = 16_000_000  # a line of a long stream is ~1 MB: bound the queue in size too
_STOP = None


class JournalFile:
    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = path.open("ab")  # lines come encoded (UTF-8 JSON)
        self._lock = threading.Lock()  # one writer at a time: the thread, or an overflow write
        self._lines: queue.Queue[bytes | None] = queue.Queue(MAX_QUEUED_LINES)
        self._queued = 0  # bytes waiting in the queue (updated under the lock)
        self._thread = threading.Thread(target=self._drain, name="journal-file", daemon=True)
        self._thread.start()

    def write(self, line: bytes) -> None:
        with self._lock:
            room = self._queued + len(line) <= MAX_QUEUED_BYTES
            if room:
                self._queued += len(line)
        if not room:
            self._write(line)
            return
        try:
            self._lines.put_nowait(line)
        except queue.Full:
            with self._lock:
                self._queued -= len(line)
            self._write(line)

    def _write(self, line: bytes) -> None:
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def _drain(self) -> None:
        while (line := self._lines.get()) is not _STOP:
            self._write(line)
            with self._lock:
                self._queued -= len(line)

    def close(self) -> None:
        """Write what is queued, then close the file."""
        self._lines.put(_STOP)
        self._thread.join()
        self._file.close()
