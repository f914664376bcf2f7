"""Fixture problems as the commands print them: a count line, then one problem a line."""

from __future__ import annotations

from mockserver.stubs.model import Problem


def report(problems: list[Problem], title: str) -> str:
    lines = [f"{title}: {len(problems)} problem(s) in the fixtures"]
    return "\n".join([*lines, *(f"  {p}" for p in problems)])
