"""workers_note: the one line --workers prints where the platform cannot share a port."""

from __future__ import annotations

import socket
import sys

import pytest

from mockserver.app.platforms import workers_note


def test_linux_needs_no_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(socket, "SO_REUSEPORT", 15, raising=False)
    assert workers_note(4) is None
    assert workers_note(1) is None


def test_windows_has_no_reuse_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delattr(socket, "SO_REUSEPORT", raising=False)
    note = workers_note(4)
    assert note is not None
    assert "no SO_REUSEPORT" in note
    assert "replicas" in note
    assert "\n" not in note
    assert workers_note(1) is None


def test_macos_does_not_balance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(socket, "SO_REUSEPORT", 512, raising=False)
    note = workers_note(2)
    assert note is not None
    assert "macOS" in note


def test_bsd_does_not_balance(monkeypatch: pytest.MonkeyPatch) -> None:
    """BSD has SO_REUSEPORT but hands every connection to one socket, as macOS does."""
    monkeypatch.setattr(sys, "platform", "freebsd14")
    monkeypatch.setattr(socket, "SO_REUSEPORT", 512, raising=False)
    note = workers_note(2)
    assert note is not None
    assert "does not balance" in note
    assert workers_note(1) is None
