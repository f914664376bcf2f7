"""Output formats prescribed in the prompt rather than in `response_format`, and replies in them.

Agent and structured-output libraries often put the format in the messages: instructor's JSON
and MD_JSON modes and pydantic-ai's `PromptedOutput` paste a JSON Schema into the system
message, DSPy's adapters lay out `[[ ## field ## ]]` markers. The detection rules, in order
(only the first system/developer messages and the last user message are read, each up to a
bound; switch off with `--disable-rule prompted-format`):

1. Field markers: `[[ ## name ## ]]` in a system message. The output fields are those of its
   "Your output fields are:" list (else the markers the last user message does not fill; the
   first MAX_FIELDS either way), typed by their annotation (`str`, `int`, `bool`, `list[str]`,
   `Literal['a', 'b']`, ...) or the JSON Schema in their note. The reply fills each under its
   marker and ends with `[[ ## completed ## ]]` when the prompt uses it. A `Literal` that
   offers `finish` (DSPy's ReAct) picks another option first and `finish` once an observation
   is in the trajectory.
2. A JSON Schema: a JSON object in the text with `properties`, `$defs` or `$schema` (or a
   `type` and `items`), where the text asks for JSON or mentions a schema. The reply is a
   value valid against it.
3. A JSON example: any other JSON object in the text, where JSON is asked for (json_object, or
   words like "respond in JSON"). The reply has its keys, with values of the same types (prose
   for strings, a few items per list).
4. A fenced answer: "```json" or "JSON code block" in the text. The JSON of rule 2 or 3 (else
   a generic object) comes inside a ```json fence, unless response_format is json_object.

No rule matching: None, and the reply is what it was before (text, or json_object's object).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from random import Random
from typing import Any

from faker import Faker

from mockserver.contract.request import text_of
from mockserver.replies.schema_values import Budget, OverBudget, UnsupportedSchema, value_for
from mockserver.replies.schema_values.limits import MAX_DEPTH

SWITCH = "prompted-format"  # --disable-rule name that turns detection off
SCAN_CHARS = 100_000  # of each message, the part searched: bounded work per request
MAX_DECODES = 16  # JSON decode attempts per message
MAX_SYSTEM = 4  # system/developer messages read, the first ones
MAX_FIELDS = 64  # marker fields filled, the first ones (a DSPy signature has a handful)

_MARKER = re.compile(r"\[\[ ## (\w{1,64}) ## \]\]")
_FILLED = re.compile(r"\[\[ ## (\w{1,64}) ## \]\]\n")  # a marker with its value below it
_FIELD_LINE = re.compile(
    r"^[ \t]*\d{1,3}\.[ \t]+`(\w{1,64})`\s+\(([^\n]{1,200}?)\)(?::|$)", re.MULTILINE
)
_NOTE = re.compile(r"\[\[ ## (\w{1,64}) ## \]\]\n\{\w+\}[ \t]+# note: ([^\n]{1,20000})")
_OUTPUT_LIST = re.compile(r"Your output fields are:\n((?:[ \t]*\d{1,3}\.[^\n]*(?:\n|$))+)")
_DESCRIBED, _TAKES = ", whose description is ", "It takes arguments "
_TOOL_NAME = re.compile(r"\(\d{1,3}\) (\w{1,64})$")
_WANTS_JSON = re.compile(
    r"\bjson\b[^\n]{0,40}\b(schema|object|format|response|output)\b"
    r"|\b(respond|reply|answer|return|output|format|provide)\b[^\n]{0,60}\bjson\b"
    r"|\bin json\b|\bas json\b"
    r"|json\s{0,3}(格式|对象|输出)|(输出|返回|回答|给出|用)[^\n]{0,20}json",  # Chinese prompts
    re.IGNORECASE,
)
_FENCED = re.compile(r"```json|\bjson code ?block|\bjson (markdown )?fence", re.IGNORECASE)
_JSON_WORD = re.compile("json", re.IGNORECASE)  # in every alternative of the two above
_REACH = 80  # past the farthest those reach from their "json" (67 before, 48 after)
_SCHEMA_KEYS = frozenset({"properties", "$defs", "$schema", "definitions"})


@dataclass(frozen=True, slots=True)
class JsonFormat:
    """JSON text valid against `schema`, or shaped like `example`, fenced in ```json when the
    prompt asks for that."""

    schema: Mapping[str, Any] | None
    fenced: bool
    example: Any = None


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    schema: Mapping[str, Any]
    text: bool  # a plain string: written as is, not as JSON


@dataclass(frozen=True, slots=True)
class MarkerFormat:
    """Values under `[[ ## name ## ]]` markers, in order, then the end marker if any."""

    fields: tuple[Field, ...]
    end: str | None
    observed: bool  # the trajectory has observations: a ReAct loop may finish
    tool_arguments: Mapping[str, Mapping[str, Any]]  # tool name -> its arguments' properties


PromptedFormat = JsonFormat | MarkerFormat
GENERIC: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "points": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["answer", "points"],
}


def _texts(messages: Sequence[Mapping[str, Any]]) -> tuple[list[str], str]:
    """The system/developer texts, and the last user message's text; each cut to SCAN_CHARS."""
    system = [
        text_of(m.get("content"))[:SCAN_CHARS]
        for m in messages
        if m.get("role") in ("system", "developer")
    ][:MAX_SYSTEM]
    user = next((m for m in reversed(messages) if m.get("role") == "user"), None)
    return system, text_of(user.get("content"))[:SCAN_CHARS] if user is not None else ""


_DECODER = json.JSONDecoder()  # holds no state between calls: made once, not per request


def _objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects written in `text`, outermost only, at most MAX_DECODES tries."""
    decoder = _DECODER
    found: list[dict[str, Any]] = []
    position, tries = text.find("{"), 0
    while position >= 0 and tries < MAX_DECODES:
        tries += 1
        try:
            value, end = decoder.raw_decode(text, position)
        except (ValueError, RecursionError):  # not JSON, or nested past the decoder's stack
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        position = text.find("{", end)
    return found


def _is_schema(value: Mapping[str, Any]) -> bool:
    if _SCHEMA_KEYS & set(value) and isinstance(value.get("properties", {}), dict):
        return True
    return isinstance(value.get("type"), str) and "items" in value


def _like(
    example: Any, rng: Random, fake: Faker, budget: Budget, depth: int = 0, in_list: bool = False
) -> Any:
    """A value shaped like `example`: its keys, a few items per list, prose for strings. Each
    value is spent from the reply's budget: nested lists multiply (2 to 4 items a level)."""
    budget.node()
    if depth > MAX_DEPTH:
        raise OverBudget(f"an example nested over {MAX_DEPTH} levels deep")
    if isinstance(example, dict):
        return {key: _like(value, rng, fake, budget, depth + 1) for key, value in example.items()}
    if isinstance(example, list):
        item = example[0] if example else ""
        count = rng.randint(2, 4)
        return [_like(item, rng, fake, budget, depth + 1, in_list=True) for _ in range(count)]
    if isinstance(example, bool):
        return rng.random() < 0.5
    if isinstance(example, int):
        return rng.randint(1, 100)
    if isinstance(example, float):
        return round(rng.uniform(0, 100), 2)
    if example is None:
        return None
    return fake.sentence(nb_words=rng.randint(4, 8) if in_list else rng.randint(4, 10))


def near_json(text: str) -> list[str]:
    """The parts of `text` within _REACH of a "json", overlapping ones joined: _WANTS_JSON and
    _FENCED match in them exactly where they match in the whole text (a part reaches past any
    match, `\\b` included), and searching them costs microseconds where a long prompt costs
    milliseconds."""
    spans: list[list[int]] = []
    for found in _JSON_WORD.finditer(text):
        start, end = max(found.start() - _REACH, 0), found.end() + _REACH
        if spans and start <= spans[-1][1]:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [text[start:end] for start, end in spans]


def _json_format(texts: list[str], json_object: bool) -> JsonFormat | None:
    """Rules 2 to 4: a schema, an example, or a fence asked for in the texts."""
    near = [] if json_object else [part for t in texts for part in near_json(t)]
    wants_json = json_object or any(_WANTS_JSON.search(part) for part in near)
    fenced = not json_object and any(_FENCED.search(part) for part in near)
    mentions_schema = any("schema" in t.lower() for t in texts)
    objects = [o for t in texts for o in _objects(t)]
    schemas = [o for o in objects if _is_schema(o)]
    if schemas and (wants_json or mentions_schema or fenced):
        return JsonFormat(max(schemas, key=lambda s: len(json.dumps(s))), fenced)
    examples = [o for o in objects if not _is_schema(o) and o]
    if examples and (wants_json or fenced):
        return JsonFormat(None, fenced, examples[-1])
    if fenced:
        return JsonFormat(GENERIC, fenced)
    return None


def _annotation_schema(annotation: str) -> dict[str, Any] | None:
    """A DSPy type annotation as a schema; None for a type it cannot read."""
    annotation = annotation.strip()
    simple = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
    if annotation in simple:
        return {"type": simple[annotation]}
    inner = re.fullmatch(r"(?:Optional\[(.*)\]|(.*?) \| None)", annotation)
    if inner:
        return _annotation_schema(inner.group(1) or inner.group(2))
    literal = re.fullmatch(r"Literal\[(.*)\]", annotation)
    if literal:
        try:
            options = ast.literal_eval(f"[{literal.group(1)}]")
        except (ValueError, SyntaxError):
            return None
        return {"enum": options} if options else None
    listed = re.fullmatch(r"(?:list|List)\[(.*)\]", annotation)
    if listed:
        item = _annotation_schema(listed.group(1)) or {"type": "string"}
        return {"type": "array", "items": item, "minItems": 1}
    if re.fullmatch(r"(?:dict|Dict)\[.*\]|dict", annotation):
        return {"type": "object"}
    return None


def _note_schema(note: str) -> dict[str, Any] | None:
    """The schema a DSPy field note prescribes."""
    if "must adhere to the JSON schema:" in note:
        objects = _objects(note)
        return objects[0] if objects else None
    one_of = re.search(r"one of: (.*)$", note)
    if one_of:
        return {"enum": [o.strip() for o in one_of.group(1).split(";") if o.strip()]}
    kind = re.search(r"single (int|float) value", note)
    if kind:
        return {"type": "integer" if kind.group(1) == "int" else "number"}
    if "True or False" in note:
        return {"type": "boolean"}
    return None


def _tool_arguments(system: str) -> dict[str, Mapping[str, Any]]:
    """DSPy ReAct's tool list: `(1) search, whose description is ... It takes arguments {...}`."""
    tools: dict[str, Mapping[str, Any]] = {}
    start = system.find(_DESCRIBED)
    while start >= 0 and len(tools) < MAX_DECODES:
        name = _TOOL_NAME.search(system[max(0, start - 80) : start])
        head = system.find(_TAKES, start)
        end = system.find("}.", head)
        start = system.find(_DESCRIBED, start + 1)
        if name is None or head < 0 or end < 0 or (0 <= start < head):
            continue
        try:
            arguments = ast.literal_eval(system[head + len(_TAKES) : end + 1])
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            continue
        if isinstance(arguments, dict):
            tools[name.group(1)] = arguments
    return tools


def _marker_format(system: list[str], user: str) -> MarkerFormat | None:
    """Rule 1: field markers in a system message."""
    text = next((t for t in system if _MARKER.search(t)), None)
    if text is None:
        return None
    declared = _OUTPUT_LIST.search(text)
    types = dict(_FIELD_LINE.findall(declared.group(1))) if declared else {}
    filled = set(_FILLED.findall(user))
    unfilled = [n for n in dict.fromkeys(_MARKER.findall(text)) if n not in filled]
    names = (list(types) or [n for n in unfilled if n != "completed"])[:MAX_FIELDS]
    if not names:
        return None
    notes = dict(_NOTE.findall(text))
    fields = []
    for name in names:
        schema = _note_schema(notes.get(name, "")) or _annotation_schema(types.get(name, "str"))
        schema = schema or {"type": "string"}
        fields.append(Field(name, schema, schema == {"type": "string"}))
    return MarkerFormat(
        fields=tuple(fields),
        end="completed" if "[[ ## completed ## ]]" in text + user else None,
        observed=bool(re.search(r"\[\[ ## observation_\d+ ## \]\]", user)),
        tool_arguments=_tool_arguments(text),
    )


def prompted_format(
    messages: Sequence[Mapping[str, Any]], *, json_object: bool
) -> PromptedFormat | None:
    """The output format the messages prescribe, by the module's rules; None when none does."""
    system, user = _texts(messages)
    if not json_object:
        markers = _marker_format(system, user)
        if markers is not None:
            return markers
    return _json_format([*system, user], json_object)


def _value(
    schema: Mapping[str, Any], rng: Random, fake: Faker, budget: Budget, name: str = ""
) -> Any:
    """A value for a schema read from the prompt, from the reply's budget; the empty object
    when it cannot be had (the format is a guess: no 400 for it)."""
    try:
        return value_for(schema, rng, name=name, fake=fake, budget=budget)
    except (UnsupportedSchema, OverBudget):
        return {}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _marker_value(
    fmt: MarkerFormat,
    field: Field,
    chosen: dict[str, Any],
    rng: Random,
    fake: Faker,
    budget: Budget,
) -> str:
    """One field's text; a ReAct loop picks a tool, then `finish` once it has observed."""
    options = field.schema.get("enum")
    if isinstance(options, list) and "finish" in options:
        others = [o for o in options if o != "finish"]
        value: Any = "finish" if fmt.observed or not others else others[0]
    elif field.name.endswith("tool_args") and field.schema.get("type") == "object":
        tool = next((v for k, v in chosen.items() if k.endswith("tool_name")), "finish")
        properties = fmt.tool_arguments.get(str(tool), {})
        schema = {"type": "object", "properties": properties, "required": list(properties)}
        value = _value(schema, rng, fake, budget) if tool != "finish" else {}
    elif field.text:
        value = fake.sentence(nb_words=rng.randint(6, 14))
    else:
        value = _value(field.schema, rng, fake, budget, field.name)
    chosen[field.name] = value
    return value if isinstance(value, str) else _dumps(value)


def render(fmt: PromptedFormat, rng: Random, fake: Faker, budget: Budget) -> str:
    """Reply text in the prescribed format, drawn from `rng`, its values spent from `budget`
    (the reply's, shared by all its choices)."""
    if isinstance(fmt, JsonFormat):
        if fmt.schema is not None:
            value = _value(fmt.schema, rng, fake, budget)
        else:
            try:
                value = _like(fmt.example, rng, fake, budget)
            except OverBudget:
                value = {}
        if fmt.fenced:
            return "```json\n" + json.dumps(value, ensure_ascii=False, indent=2) + "\n```"
        return _dumps(value)
    chosen: dict[str, Any] = {}
    parts = [
        f"[[ ## {f.name} ## ]]\n{_marker_value(fmt, f, chosen, rng, fake, budget)}"
        for f in fmt.fields
    ]
    if fmt.end:
        parts.append(f"[[ ## {fmt.end} ## ]]")
    return "\n\n".join(parts)
