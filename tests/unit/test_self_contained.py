"""A user's clone is a complete project (issue #12.8): nothing points outside the repository."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [
        ROOT / name
        for name in listed
        if Path(name).suffix in {".md", ".py", ".json", ".yaml", ".toml", ".mjs", ""}
    ]


def test_no_file_refers_to_the_folder_beside_the_repository() -> None:
    outside = re.compile(r"\.\./shared|shared/seeds|/work/")
    offenders = []
    for path in tracked_text_files():
        if path.is_file() and path.name != "test_self_contained.py":
            text = path.read_text(encoding="utf-8", errors="replace")
            offenders += [f"{path.relative_to(ROOT)}: {m.group()}" for m in outside.finditer(text)]
    assert offenders == []


def test_relative_links_in_markdown_resolve() -> None:
    link = re.compile(r"\]\(((?!https?:|#|mailto:)[^)\s]+)\)")
    broken = []
    for path in tracked_text_files():
        if path.suffix == ".md" and path.is_file():
            for target in link.findall(path.read_text(encoding="utf-8")):
                if not (path.parent / target.split("#")[0]).exists():
                    broken.append(f"{path.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_the_license_file_matches_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
