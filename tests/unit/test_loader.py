"""Fixture files -> Fixtures: what loads, and every problem reported with file:line and path."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jinja2
import pytest

from mockserver.stubs.loader import fixture_files, load_paths, load_text
from mockserver.stubs.model import Fixture, FixtureLoadError, Problem
from mockserver.stubs.steps import CompletionStep, ScriptedChoice
from tests.support import write_yaml


def load(text: str, source: str = "f.yaml") -> tuple[list[Fixture], list[Problem]]:
    return load_text(textwrap.dedent(text).lstrip("\n"), source)


def problems_of(text: str, source: str = "f.yaml") -> list[tuple[int | None, str, str]]:
    """(line, path, message) of each problem; the test asserts there are some."""
    fixtures, problems = load(text, source)
    assert problems, "expected problems"
    assert fixtures == [] or all(isinstance(f, Fixture) for f in fixtures)
    assert all(p.file == source for p in problems)
    return [(p.line, p.path, p.message) for p in problems]


# --- what loads -------------------------------------------------------------------------------


def test_a_list_of_fixtures() -> None:
    fixtures, problems = load(
        """
        - name: first
          priority: 3
          times: 2
          match: {model: gpt-4o, last_user: hi}
          reply: {content: hello}
        - name: second
          reply:
            after_last: cycle
            sequence: [{content: a}, {content: b}]
        """
    )
    assert problems == []
    first, second = fixtures
    assert (first.name, first.priority, first.times, first.source) == ("first", 3, 2, "f.yaml:1")
    assert first.models == ("gpt-4o",)
    assert first.replies == (
        CompletionStep(at="/reply", choices=(ScriptedChoice(content="hello"),)),
    )
    assert not first.is_sequence
    assert first.spec["match"] == {"model": "gpt-4o", "last_user": "hi"}
    assert (second.priority, second.times, second.after_last) == (0, None, "cycle")
    assert second.is_sequence
    assert second.replies == tuple(
        CompletionStep(at=f"/reply/sequence/{i}", choices=(ScriptedChoice(content=text),))
        for i, text in enumerate("ab")
    )
    assert second.source == "f.yaml:6"


def test_a_single_fixture_document_and_empty_files() -> None:
    fixtures, problems = load("name: alone\nreply: {content: x}\n")
    assert problems == []
    assert [f.name for f in fixtures] == ["alone"]
    assert load("") == ([], [])
    assert load("# only a comment\n") == ([], [])


def test_json_files() -> None:
    text = json.dumps([{"name": "j", "match": {"stream": True}, "reply": {"content": "x"}}])
    fixtures, problems = load_text(text, "f.json")
    assert problems == []
    assert [f.name for f in fixtures] == ["j"]
    [(line, path, message)] = problems_of('[{"name": "j",\n "bogus": 1}]', "f.json")
    assert (line, path) == (2, "/0/bogus")
    assert "unknown key 'bogus'" in message
    [(line, _, message)] = problems_of('[{"name": "j",\n "reply": }]', "f.json")
    assert line == 2
    assert message.startswith("not valid JSON")


def test_defaults_after_last_repeat_and_no_match() -> None:
    [fixture], _ = load("- name: s\n  reply: {sequence: [{content: a}]}\n")
    assert fixture.after_last == "repeat"
    assert fixture.match.conditions == ()


def test_template_strings_are_compiled_and_plain_ones_kept() -> None:
    [fixture], problems = load(
        """
        - name: t
          reply:
            content: "Hi {{ request.model }}"
            headers: {x-plain: "no template", x-t: "{% if true %}yes{% endif %}"}
        """
    )
    assert problems == []
    [reply] = fixture.replies
    assert isinstance(reply, CompletionStep)
    assert isinstance(reply.choices[0].content, jinja2.Template)
    headers = dict(reply.headers)
    assert headers["x-plain"] == "no template"
    assert isinstance(headers["x-t"], jinja2.Template)


# --- problems: line and path ------------------------------------------------------------------


def test_unknown_keys_with_did_you_mean() -> None:
    found = problems_of(
        """
        - name: ok
          reply: {content: hi}
        - name: typos
          match:
            model: gpt-4o
            last_usr: hello
          replay:
            content: hi
        - name: reply-typo
          reply:
            content: hi
            contnet: x
        - name: deep-typo
          match: {last_user: {contans: x}}
          reply: {sequence: [{content: a}, {contnt: b}]}
        """
    )
    by_path = {path: (line, message) for line, path, message in found}
    assert set(by_path) == {
        "/1/match/last_usr",
        "/1/replay",
        "/2/reply/contnet",
        "/3/match/last_user/contans",
        "/3/reply/sequence/1/contnt",
    }
    assert by_path["/1/match/last_usr"][0] == 6
    assert "unknown key 'last_usr' (did you mean 'last_user'?)" in by_path["/1/match/last_usr"][1]
    assert by_path["/1/replay"][0] == 7
    assert by_path["/1/replay"][1].startswith(
        "unknown key 'replay' (did you mean 'reply'?); "
        "allowed: name, description, priority, times, match, reply"
    )
    assert by_path["/2/reply/contnet"][0] == 12
    assert "(did you mean 'content'?)" in by_path["/2/reply/contnet"][1]
    assert by_path["/3/match/last_user/contans"][0] == 14
    assert "(did you mean 'contains'?)" in by_path["/3/match/last_user/contans"][1]
    assert by_path["/3/reply/sequence/1/contnt"][0] == 15


def test_unknown_key_without_a_close_name() -> None:
    [(line, path, message)] = problems_of("- name: x\n  zzzzzz: 1\n")
    assert (line, path) == (2, "/0/zzzzzz")
    assert "did you mean" not in message
    assert message.startswith("unknown key 'zzzzzz'; allowed: name,")


@pytest.mark.parametrize(
    ("text", "line", "path", "words"),
    [
        ("- name: x\n  match:\n    stream: maybe\n", 3, "/0/match/stream", "'maybe' is not one of"),
        ("- name: two words\n", 1, "/0/name", "does not match"),
        ("- reply: {content: x}\n", 1, "/0", "'name' is a required property"),
        ("- name: x\n  times: 0\n", 2, "/0/times", "less than the minimum of 1"),
        ("- name: x\n  priority: high\n", 2, "/0/priority", "is not of type 'integer'"),
        (
            "- name: x\n  reply:\n    content: hi\n    error: {status: 500}\n",
            2,
            "/0/reply",
            "cannot be used together: 'error' and 'content'",
        ),
        (
            "- name: x\n  reply:\n    error: {status: 200}\n",
            3,
            "/0/reply/error/status",
            "less than the minimum of 400",
        ),
        (
            "- name: x\n  reply:\n    tool_calls: [{name: f, id: abc}]\n",
            3,
            "/0/reply/tool_calls/0/id",
            "does not match '^call_'",
        ),
        (
            "- name: x\n  match:\n    body:\n      temperature: 1\n",
            4,
            "/0/match/body/temperature",
            "bad key: 'temperature' does not match '^(/.*)?$'",
        ),
        (
            "- name: x\n  reply:\n    headers: {'bad header': x}\n",
            3,
            "/0/reply/headers/bad header",
            "bad key: 'bad header' does not match",
        ),
    ],
)
def test_schema_problems(text: str, line: int, path: str, words: str) -> None:
    found = problems_of(text)
    assert any(p == path and words in m for _, p, m in found), found
    assert next(n for n, p, m in found if p == path and words in m) == line


def test_bad_regex_and_bad_pointer_lines() -> None:
    found = problems_of(
        """
        - name: r
          match:
            last_user:
              regex: "([a-z"
        - name: p
          match:
            body:
              /model: gpt-4o
              /a~2: 1
        - name: br
          match:
            body:
              /model: x
              /messages/0/content:
                regex: "(("
        """
    )
    assert found == [
        (
            4,
            "/0/match/last_user/regex",
            "invalid regular expression: '([a-z' is not a pattern RE2 runs (missing ]: [a-z); "
            "patterns run in linear time, without lookaround, backreferences or repetitions "
            "over 1000",
        ),
        (9, "/1/match/body/a~2", "invalid JSON pointer: Found invalid escape ~2"),
        (
            15,
            "/2/match/body/messages/0/content/regex",
            "invalid regular expression: '((' is not a pattern RE2 runs (missing ): (("
            "); patterns run in linear time, without lookaround, backreferences or "
            "repetitions over 1000",
        ),
    ]


def test_template_problems() -> None:
    found = problems_of(
        """
        - name: syntax
          reply:
            content: "{{ request.model "
        - name: unknown-name
          reply:
            headers:
              x-a: "{{ secrets.key }}"
        - name: escape
          reply:
            sequence:
              - content: fine
              - tool_calls: [{name: f, arguments: {x: "{{ ''.__class__ }}"}}]
        - name: fine-until-rendered
          reply: {content: "{{ request.nothing }}"}
        """
    )
    assert [(line, path) for line, path, _ in found] == [
        (3, "/0/reply/content"),
        (7, "/1/reply/headers/x-a"),
        (12, "/2/reply/sequence/1/tool_calls/0/arguments/x"),
    ]
    messages = [m for _, _, m in found]
    assert messages[0].startswith("template syntax error:")
    assert messages[1] == (
        "unknown name(s) secrets; templates can use fake, fake_zh, pointer, request"
    )
    assert "refused by the template sandbox" in messages[2]


def test_tool_call_argument_strings_must_be_json_objects() -> None:
    found = problems_of(
        """
        - name: a
          reply:
            tool_calls:
              - {name: f, arguments: '{"ok": 1}'}
              - {name: f, arguments: '{not json'}
        - name: b
          reply:
            choices:
              - tool_calls: [{name: f, arguments: '[1, 2]'}]
        - name: templated-is-not-checked
          reply:
            tool_calls: [{name: f, arguments: '{"city": "{{ request.last_user }}"}'}]
        """
    )
    assert [(line, path) for line, path, _ in found] == [
        (5, "/0/reply/tool_calls/1/arguments"),
        (9, "/1/reply/choices/0/tool_calls/0/arguments"),
    ]
    assert found[0][2].startswith("not a JSON string: Expecting property name")
    assert found[1][2] == "must encode a JSON object"


def test_raw_body_checked_unless_unchecked_or_templated() -> None:
    found = problems_of(
        """
        - name: broken
          reply:
            raw:
              id: chatcmpl-1
              object: chat.completion
        - name: allowed
          reply:
            raw: {anything: goes}
            unchecked: true
        - name: templated
          reply:
            raw: {model: "{{ request.model }}"}
        """
    )
    assert {(line, path) for line, path, _ in found} == {(3, "/0/reply/raw")}
    assert "'choices' is a required property" in " ".join(m for _, _, m in found)
    assert all(m.startswith("breaks the response schema:") for _, _, m in found)


def test_invalid_yaml() -> None:
    [(line, path, message)] = problems_of("- name: y\n  reply: {content: a}\n - bad: [\n")
    assert (line, path) == (3, "")
    assert message.startswith("not valid YAML:")


def test_problems_render_as_file_line_path_message() -> None:
    problem = Problem("a/b.yaml", 7, "/0/match/model", "bad")
    assert str(problem) == "a/b.yaml:7: /0/match/model: bad"
    assert str(Problem("a.yaml", None, "", "cannot read")) == "a.yaml: /: cannot read"
    assert problem.to_json() == {
        "file": "a/b.yaml",
        "line": 7,
        "path": "/0/match/model",
        "message": "bad",
    }


def test_a_broken_fixture_does_not_hide_the_others() -> None:
    fixtures, problems = load(
        """
        - name: good
          reply: {content: a}
        - name: bad
          match: {last_user: {regex: "("}}
        - name: also-good
        """
    )
    assert [f.name for f in fixtures] == ["good", "also-good"]
    assert [p.path for p in problems] == ["/1/match/last_user/regex"]


# --- files and folders ------------------------------------------------------------------------


def test_fixture_files_order(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yml", "c.json", "sub/a.yaml", "skip.txt", "sub/deeper/z.yml"):
        write_yaml(tmp_path, "", name)
    single = write_yaml(tmp_path / "other", "", "x.yaml")
    assert fixture_files([tmp_path / "sub", single, tmp_path]) == [
        tmp_path / "sub/a.yaml",
        tmp_path / "sub/deeper/z.yml",
        single,
        tmp_path / "a.yml",
        tmp_path / "b.yaml",
        tmp_path / "c.json",
        tmp_path / "other/x.yaml",
        tmp_path / "sub/a.yaml",
        tmp_path / "sub/deeper/z.yml",
    ]


def test_load_paths_reports_every_problem_of_every_file(tmp_path: Path) -> None:
    write_yaml(tmp_path, "- name: same\n  reply: {content: a}\n", "a.yaml")
    write_yaml(tmp_path, "- name: other\n- name: same\n  match: {nope: 1}\n", "b.yaml")
    write_yaml(tmp_path, "- name: same\n", "sub/c.yaml")
    write_yaml(tmp_path, "[unclosed\n", "d.yaml")
    with pytest.raises(FixtureLoadError) as caught:
        load_paths([tmp_path])
    lines = str(caught.value).splitlines()
    a, b, c = (str(tmp_path / n) for n in ("a.yaml", "b.yaml", "sub/c.yaml"))
    assert f"{b}:3: /1/match/nope: unknown key 'nope'" in str(caught.value)
    assert f"{b}:2: /1/name: duplicate fixture name 'same' (first at {a}:1)" in lines
    assert f"{c}:1: /0/name: duplicate fixture name 'same' (first at {a}:1)" in lines
    assert any(line.startswith(f"{tmp_path / 'd.yaml'}:2: /: not valid YAML") for line in lines)
    assert len(caught.value.problems) == 4


def test_load_paths_in_order(tmp_path: Path) -> None:
    write_yaml(tmp_path, "- {name: b1}\n- {name: b2}\n", "b.yaml")
    write_yaml(tmp_path, "- {name: a1}\n", "a.yaml")
    assert [f.name for f in load_paths([tmp_path])] == ["a1", "b1", "b2"]
    assert [f.name for f in load_paths([tmp_path / "b.yaml", tmp_path / "a.yaml"])] == [
        "b1",
        "b2",
        "a1",
    ]
    assert load_paths([]) == []


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"- name: caf\xe9\n")
    with pytest.raises(FixtureLoadError) as caught:
        load_paths([path])
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == (str(path), None)
    assert problem.message.startswith("cannot read:")
