"""Fixture files -> Fixtures, reporting every problem with file:line and the path inside.

YAML is read with the safe loader only. Each fixture is checked against schemas/fixture.schema.json,
then its regexes, JSON pointers and templates are compiled, and raw bodies are checked against the
response schema, so that a broken fixture fails at load (or in `mockserver check`), not mid-test.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from faker import Faker
from jsonschema.protocols import Validator

from mockserver.bounded_yaml import (
    LOADER,
    TooDeep,
    load_with_node,
    refuse_too_deep,
    refuse_unbounded,
)
from mockserver.contract.schemas import fast_check, load_schema, response_validator
from mockserver.stubs.conditions import ConditionError, compile_match
from mockserver.stubs.context import MatchContext
from mockserver.stubs.model import Fixture, FixtureLoadError, Problem
from mockserver.stubs.steps import compile_step
from mockserver.stubs.templates import (
    TemplateError,
    compile_tree,
    has_compiled_template,
    is_template,
    render_tree,
    template_context,
    template_problems,
)
from mockserver.wire.faults import FaultSyntaxError, plan_from_mapping
from mockserver.wire.headers import SERVER_OWNED

SUFFIXES = (".yaml", ".yml", ".json")


def fixture_files(paths: Iterable[Path]) -> list[Path]:
    """The files to load, in order: each path as given, folders recursively and sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()))
        else:
            files.append(path)
    return files


def load_paths(paths: Sequence[Path], response: Validator | None = None) -> list[Fixture]:
    """Every fixture of these files and folders; FixtureLoadError lists all problems.

    `response` checks raw reply bodies: the contract in force (default: the bundled one).
    """
    fixtures: list[Fixture] = []
    problems: list[Problem] = []
    names: list[tuple[str, Problem]] = []
    for file in fixture_files(paths):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(file), None, "", f"cannot read: {exc}"))
            continue
        loaded, found = load_text(text, str(file), names, response)
        fixtures.extend(loaded)
        problems.extend(found)
    problems.extend(duplicate_names(names))
    if problems:
        raise FixtureLoadError(problems)
    return fixtures


def duplicate_names(names: Sequence[tuple[str, Problem]]) -> list[Problem]:
    """A problem for each reuse of a name; `names` pairs each name with where it is written."""
    first: dict[str, Problem] = {}
    problems = []
    for name, where in names:
        seen = first.setdefault(name, where)
        if seen is not where:
            message = f"duplicate fixture name {name!r} (first at {seen.file}:{seen.line})"
            problems.append(Problem(where.file, where.line, where.path, message))
    return problems


def _parse(text: str, *, json_text: bool) -> tuple[Any, Any]:
    """The data and, for line numbers, the YAML node tree: one libyaml pass for YAML files.
    JSON nested past MAX_NESTING is refused as YAML is (TooDeep)."""
    if not json_text:
        return load_with_node(text)
    try:
        data = json.loads(text)
    except RecursionError:  # the decoder's own stack: deeper than any limit
        raise TooDeep(1) from None
    try:
        node = yaml.compose(text, Loader=LOADER)
    except yaml.YAMLError:  # valid JSON that YAML 1.1 refuses (tabs): no line numbers
        refuse_too_deep(data)  # nor a node tree to measure: the limit still holds
        return data, None
    if node is not None:
        refuse_unbounded(node)
    return data, node


def load_text(
    text: str,
    source: str,
    names: list[tuple[str, Problem]] | None = None,
    response: Validator | None = None,
) -> tuple[list[Fixture], list[Problem]]:
    """Parse one file's text (YAML or JSON) into fixtures and the problems found.

    Each fixture's name and place are appended to `names`, for the duplicate check.
    """
    try:
        data, node = _parse(text, json_text=source.endswith(".json"))
    except (yaml.YAMLError, ValueError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        line = line + 1 if line is not None else getattr(exc, "lineno", None)
        return [], [
            Problem(
                source,
                line,
                "",
                f"not valid {'JSON' if source.endswith('.json') else 'YAML'}: {_one_line(exc)}",
            )
        ]
    if data is None:
        return [], []
    items = data if isinstance(data, list) else [data]
    nodes = node.value if isinstance(data, list) and node is not None else [node]
    fixtures, problems = [], []
    for i, (item, item_node) in enumerate(zip(items, nodes, strict=False)):
        base = f"/{i}" if isinstance(data, list) else ""
        if names is not None and isinstance(item, dict) and isinstance(item.get("name"), str):
            where = Problem(source, _line(item_node, "/name"), f"{base}/name", "")
            names.append((item["name"], where))
        fixture, found = build_fixture(item, source, item_node, base, response)
        problems.extend(found)
        if fixture is not None:
            fixtures.append(fixture)
    return fixtures, problems


def _one_line(exc: Exception) -> str:
    """A parse error in one line: PyYAML's own text spans several and quotes the source."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return str(exc)
    message = exc.problem or "cannot parse"
    if exc.problem_mark is not None:
        message += f" (column {exc.problem_mark.column + 1})"
    if exc.context:
        where = exc.context_mark
        started = f" started at line {where.line + 1}" if where is not None else ""
        message += f", {exc.context}{started}"
    return message


def _line(node: Any, path: str) -> int | None:
    """The 1-based line of `path` ("/match/last_user") inside a composed YAML node.

    A mapping entry is found at its key's line (a block value starts on the next one), a list
    item at its own; past what the YAML holds, the nearest existing parent. Keys that hold
    slashes (the JSON pointers of a body block) are found too.
    """
    line = node.start_mark.line + 1 if node is not None else None
    rest = path
    while rest and node is not None:
        step = _step(node, rest)
        if step is None:
            break
        used, line, node = step
        rest = rest[used:]
    return line


def _step(node: Any, rest: str) -> tuple[int, int, Any] | None:
    """(characters of `rest` consumed, line, child node) for the first part of `rest`."""
    if isinstance(node, yaml.SequenceNode):
        head = rest[1:].partition("/")[0]
        if head.isdigit() and int(head) < len(node.value):
            item = node.value[int(head)]
            return len(head) + 1, item.start_mark.line + 1, item
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    best = None
    for key, value in node.value:
        text = str(key.value)
        for written in (f"/{text}", text) if text.startswith("/") else (f"/{text}",):
            fits = rest == written or rest.startswith(written + "/")
            if fits and (best is None or len(written) > best[0]):
                best = (len(written), key.start_mark.line + 1, value)
    return best


@cache
def fixture_validator() -> jsonschema.Draft7Validator:
    """Checks one fixture: the file schema's Fixture definition, with its siblings in reach."""
    schema = {k: v for k, v in load_schema("fixture.schema.json").items() if k != "oneOf"}
    return jsonschema.Draft7Validator({**schema, "$ref": "#/definitions/Fixture"})


def _unknown_key(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, 1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}; allowed: {', '.join(known)}"


def _explaining(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The errors that explain `error`: for oneOf/anyOf, those of the branch the value was most
    likely written for (fewest wrong-type or missing-key errors at its own level), recursively.
    When no branch stands out, the oneOf/anyOf error itself."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def badness(errors: list[jsonschema.ValidationError]) -> tuple[int, int, int]:
        shallow = [e for e in errors if not e.relative_path]
        wrong = sum(e.validator in ("type", "required") for e in shallow)
        return wrong, len(shallow), len(errors)

    ranked = sorted(branches.values(), key=badness)
    if len(ranked) > 1 and badness(ranked[0]) == badness(ranked[1]):
        return [error]
    found = [e for sub in ranked[0] for e in _explaining(sub)]
    # An unknown key says it all: drop the vaguer "not valid under any" at the same place.
    unknown = {tuple(e.absolute_path) for e in found if e.validator == "additionalProperties"}
    return [
        e
        for e in found
        if not (e.validator in ("oneOf", "anyOf") and tuple(e.absolute_path) in unknown)
    ]


def _schema_problems(
    error: jsonschema.ValidationError, source: str, node: Any, base: str
) -> list[Problem]:
    problems = []
    for cause in _explaining(error):
        path = "".join(f"/{p}" for p in cause.absolute_path)
        instance: Any = cause.instance
        schema: Any = cause.schema
        if cause.validator == "additionalProperties" and isinstance(instance, dict):
            known = list((schema.get("properties") or {}).keys())
            for key in (k for k in instance if k not in known):
                at = f"{path}/{key}"
                message = _unknown_key(key, known)
                problems.append(Problem(source, _line(node, at), base + at, message))
            continue
        message = cause.message
        if "propertyNames" in cause.schema_path:  # a bad key: point at the key itself
            path += f"/{instance}"
            message = f"bad key: {message}"
        if cause.validator == "not" and isinstance(instance, dict):
            pairs = [
                " and ".join(repr(k) for k in branch["required"])
                for branch in (schema.get("not") or {}).get("anyOf", ())
                if all(k in instance for k in branch.get("required", ()))
            ]
            if pairs:
                message = f"cannot be used together: {'; '.join(pairs)}"
        problems.append(Problem(source, _line(node, path), base + path, message))
    return problems


@cache
def _fixture_is_valid_check() -> Callable[[Any], bool]:
    schema = {k: v for k, v in load_schema("fixture.schema.json").items() if k != "oneOf"}
    return fast_check({**schema, "$ref": "#/definitions/Fixture"})


def _fixture_is_valid(item: Any) -> bool:
    """The compiled fast path; jsonschema only runs to explain a failure."""
    return _fixture_is_valid_check()(item)


def build_fixture(
    item: Any, source: str, node: Any, base: str = "", response: Validator | None = None
) -> tuple[Fixture | None, list[Problem]]:
    """One fixture from its parsed form, or the problems that stop it."""
    errors = [] if _fixture_is_valid(item) else list(fixture_validator().iter_errors(item))
    if errors:  # its templates are checked all the same: every problem in one report
        found = [p for e in errors for p in _schema_problems(e, source, node, base)]
        reply_tree = item.get("reply") if isinstance(item, dict) else None
        for exc in template_problems(reply_tree, "/reply"):
            found.append(Problem(source, _line(node, exc.path), base + exc.path, exc.message))
        return None, found
    problems: list[Problem] = []
    reply: dict[str, Any] = item.get("reply") or {}
    steps = reply.get("sequence") or [reply]
    where = f"{source}:{_line(node, '')}" if node is not None else source

    def problem(path: str, message: str) -> None:
        problems.append(Problem(source, _line(node, path), base + path, message))

    match = None
    try:
        match = compile_match(item.get("match"))
    except ConditionError as exc:
        problem(exc.path, exc.message)
    fault = None
    try:
        fault = plan_from_mapping(item["fault"]) if "fault" in item else None
    except FaultSyntaxError as exc:
        problem("/fault", str(exc))
    replies = []
    for i, step in enumerate(steps):
        at = f"/reply/sequence/{i}" if "sequence" in reply else "/reply"
        if step.get("verbatim"):  # a recorded reply: its strings are text, not templates
            replies.append(compile_step(step, at))
        else:
            try:
                compiled = compile_tree(step, at)
                trial_render(compiled, at)
                replies.append(compile_step(compiled, at))
            except TemplateError as exc:
                for broken in template_problems(step, at) or [exc]:  # all, not the first
                    problem(broken.path, broken.message)
        for path, message in _reply_problems(step, at, response):
            problem(path, message)
    if problems or match is None:
        return None, problems
    return Fixture(
        name=item["name"],
        priority=item.get("priority", 0),
        times=item.get("times"),
        match=match,
        replies=tuple(replies),
        after_last=reply.get("after_last", "repeat"),
        fault=fault,
        source=where,
        spec=item,
    ), []


_SAMPLE = MatchContext({"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}, {})


@cache
def _sample_faker() -> Faker:
    return Faker()


def trial_render(tree: Any, at: str) -> None:
    """Render once against a sample request, so sandbox escapes fail at load, not mid-test.

    Only refusals by the sandbox count: other failures may depend on the real request.
    """
    if not has_compiled_template(tree):
        return
    fake = _sample_faker()
    try:
        render_tree(tree, template_context(_SAMPLE, fake, fake), at)
    except TemplateError as exc:
        if "sandbox" in exc.message:
            raise


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return False


def _reply_problems(
    step: dict[str, Any], at: str, response: Validator | None = None
) -> Iterable[tuple[str, str]]:
    """What the schema cannot see: framing headers, tool-call argument strings, raw bodies."""
    for where, headers in (
        (f"{at}/headers", step.get("headers")),
        (f"{at}/error/headers", (step.get("error") or {}).get("headers")),
    ):
        for name in headers or {}:
            if name.lower() in SERVER_OWNED:
                yield f"{where}/{name}", f"the server sets {name} itself (it frames the reply)"
    for c, choice in enumerate(step.get("choices") or [step]):
        prefix = f"{at}/choices/{c}" if "choices" in step else at
        for t, call in enumerate(choice.get("tool_calls") or ()):
            arguments = call.get("arguments")
            if step.get("verbatim"):  # what the gateway sent, even cut short by max_tokens
                break
            if isinstance(arguments, str) and not is_template(arguments):
                try:
                    parsed = json.loads(arguments)
                except ValueError as exc:
                    yield f"{prefix}/tool_calls/{t}/arguments", f"not a JSON string: {exc}"
                    continue
                if not isinstance(parsed, dict):
                    yield f"{prefix}/tool_calls/{t}/arguments", "must encode a JSON object"
    if "raw" in step and not step.get("unchecked") and not _has_template(step["raw"]):
        check = response or response_validator("response")
        for error in check.iter_errors(step["raw"]):
            yield (
                f"{at}/raw" + "".join(f"/{p}" for p in error.absolute_path),
                f"breaks the response schema: {error.message} (unchecked: true sends it anyway)",
            )
