"""`mockserver check` and `mockserver serve` on broken fixtures, as a CI job runs them.

One `check` run over a folder of broken files reports every problem of every file; each case
below asserts its own FILE:LINE: /path: message line from that run's output.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from mockserver.bounded_yaml import MAX_NESTING
from tests.support import write_yaml

BROKEN: dict[str, str] = {
    "unknown-key.yaml": """
        - name: typo
          match:
            model: gpt-4o
          replay:
            content: hello
        """,
    "bad-regex.yaml": """
        - name: bad-regex
          match:
            last_user:
              regex: "([a-z"
          reply: {content: x}
        """,
    "bad-pointer.yaml": """
        - name: bad-pointer
          match:
            body:
              /model: gpt-4o
              /a~2: 1
        """,
    "template-syntax.yaml": """
        - name: fine
          reply: {content: "{{ request.model }}"}
        - name: syntax
          reply:
            content: "Hello {{ request.model"
        """,
    "unknown-name.yaml": """
        - name: unknown-name
          reply:
            content: fine
            headers:
              x-secret: "{{ secrets.token }}"
        """,
    "sandbox.yaml": """
        - name: escape
          reply:
            sequence:
              - content: first
              - content: "{{ cycler.__init__.__globals__.os.environ }}"
        """,
    "raw.yaml": """
        - name: raw
          reply:
            raw:
              id: chatcmpl-1
              object: chat.completion
        """,
    "arguments.yaml": """
        - name: args
          reply:
            tool_calls:
              - name: get_weather
                arguments: '{"city": Paris}'
        """,
    "dup-a.yaml": """
        - name: twin
          reply: {content: a}
        """,
    "dup-b.yaml": """
        - name: other
          reply: {content: b}
        - name: twin
          reply: {content: c}
        """,
    "many.yaml": """
        - name: twin
          mtach: {}
          reply: {content: "{{ a }", headers: {X-A: "{% for %}"}}
        """,
    "invalid.yaml": """
        - name: fine
          reply: {content: a}
        - name: broken
          reply: {content: [unclosed}
        """,
}


@dataclass(frozen=True)
class Expected:
    file: str
    line: int
    path: str
    message: str  # the start of the message


EXPECTED: dict[str, Expected] = {
    "unknown-key": Expected(
        "unknown-key.yaml", 4, "/0/replay", "unknown key 'replay' (did you mean 'reply'?)"
    ),
    "bad-regex": Expected(
        "bad-regex.yaml", 4, "/0/match/last_user/regex", "invalid regular expression:"
    ),
    "bad-pointer": Expected(
        "bad-pointer.yaml", 5, "/0/match/body/a~2", "invalid JSON pointer: Found invalid escape"
    ),
    "template-syntax": Expected(
        "template-syntax.yaml", 5, "/1/reply/content", "template syntax error:"
    ),
    "unknown-name": Expected(
        "unknown-name.yaml",
        5,
        "/0/reply/headers/x-secret",
        "unknown name(s) secrets; templates can use fake, fake_zh, pointer, request",
    ),
    "sandbox": Expected(
        "sandbox.yaml",
        5,
        "/0/reply/sequence/1/content",
        "refused by the template sandbox: access to attribute '__init__'",
    ),
    "raw": Expected(
        "raw.yaml",
        3,
        "/0/reply/raw",
        "breaks the response schema: 'choices' is a required property",
    ),
    "arguments": Expected(
        "arguments.yaml",
        5,
        "/0/reply/tool_calls/0/arguments",
        "not a JSON string: Expecting value",
    ),
    "duplicate": Expected(
        "dup-b.yaml",
        3,
        "/1/name",
        "duplicate fixture name 'twin' (first at broken/dup-a.yaml:1)",
    ),
    # One fixture, four problems: all reported, not the first of each kind.
    "many-unknown-key": Expected("many.yaml", 2, "/0/mtach", "unknown key 'mtach'"),
    "many-template-1": Expected("many.yaml", 3, "/0/reply/content", "template syntax error:"),
    "many-template-2": Expected("many.yaml", 3, "/0/reply/headers/X-A", "template syntax error:"),
    "many-duplicate": Expected(
        "many.yaml", 1, "/0/name", "duplicate fixture name 'twin' (first at broken/dup-a.yaml:1)"
    ),
    # The parser's own words follow (PyYAML and libyaml phrase them differently).
    "invalid-yaml": Expected("invalid.yaml", 4, "", "not valid YAML: "),
}


def run(*args: str, cwd: Path, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mockserver", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def write_folder(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        write_yaml(root, textwrap.dedent(text), name)


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    root = tmp_path_factory.mktemp("check")
    write_folder(root / "broken", BROKEN)
    return run("check", "broken", cwd=root)


def problem_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.startswith("  ")]


def test_check_fails_with_a_summary(broken_run: subprocess.CompletedProcess[str]) -> None:
    assert broken_run.returncode == 1, broken_run.stderr
    assert broken_run.stdout == ""
    first = broken_run.stderr.splitlines()[0]
    summary = re.fullmatch(r"mockserver check: (\d+) problem\(s\) in the fixtures", first)
    assert summary is not None, first
    count = int(summary[1])
    lines = problem_lines(broken_run.stderr)
    assert len(lines) == count
    pattern = re.compile(r"broken/[\w.-]+\.yaml:\d+: (/\S*)?: \S.*")
    assert all(pattern.fullmatch(line) for line in lines), lines
    files = {line.split(":")[0] for line in lines}
    assert files == {f"broken/{name}" for name in BROKEN if name != "dup-a.yaml"}, "one per file"


@pytest.mark.parametrize("case", EXPECTED.values(), ids=EXPECTED.keys())
def test_check_reports_file_line_path_message(
    broken_run: subprocess.CompletedProcess[str], case: Expected
) -> None:
    prefix = f"broken/{case.file}:{case.line}: {case.path or '/'}: {case.message}"
    lines = problem_lines(broken_run.stderr)
    assert any(line.startswith(prefix) for line in lines), "\n".join([prefix, "--", *lines])


def test_check_a_clean_folder(tmp_path: Path) -> None:
    write_folder(
        tmp_path / "clean",
        {
            "a.yaml": """
                - name: hello
                  match: {last_user: hi}
                  reply: {content: "Hello {{ fake.name() }}!"}
                - name: weather
                  match: {tools: [get_weather]}
                  reply:
                    sequence:
                      - tool_calls: [{name: get_weather, arguments: {city: Paris}}]
                      - content: Sunny.
                """,
            "sub/b.json": '[{"name": "json-one", "reply": {"error": {"status": 429}}}]',
        },
    )
    result = run("check", "clean", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "mockserver check: 3 fixture(s) in 2 file(s), no problems"
    assert result.stderr == ""


def test_serve_refuses_broken_fixtures(tmp_path: Path) -> None:
    write_folder(tmp_path, {"bad.yaml": BROKEN["bad-regex.yaml"]})
    result = run("serve", "--port", "0", "--fixtures", "bad.yaml", cwd=tmp_path, timeout=15)
    assert result.returncode != 0
    assert "MOCKSERVER_READY" not in result.stdout
    assert "mockserver refuses to start: 1 problem(s) in the fixtures" in result.stderr
    assert "bad.yaml:4: /0/match/last_user/regex: invalid regular expression:" in result.stderr


def test_a_deep_json_file_that_yaml_cannot_read_is_refused_not_a_crash(tmp_path: Path) -> None:
    """JSON that libyaml refuses (a leading tab) gives no node tree: the nesting limit must
    still hold, or compiling the match recursed past Python's stack (a traceback, no report)."""
    match: dict[str, object] = {"last_user": "x"}
    for _ in range(900):
        match = {"not": match}
    text = json.dumps([{"name": "deep", "match": match, "reply": {"content": "hi"}}])
    (tmp_path / "deep.json").write_text("\t" + text, encoding="utf-8")
    result = run("check", "deep.json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"deep.json:1: /: not valid JSON: nested more than {MAX_NESTING} levels deep" in (
        result.stderr
    )
