"""Validation of a request body: the schema, then the semantic rules. Never raises on bad input.

Messages copy OpenAI's wording ("Invalid type for 'temperature': expected a number, but got a
string instead.") and `param` uses OpenAI's path style (`messages[0].content`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match

from mockserver.contract.errors import InvalidRequest
from mockserver.contract.rules import RULES, Violation, json_type, param_path
from mockserver.contract.schemas import Contract

MAX_SHOWN = 60
# Violations one 400 lists: past this a body is garbage, and explaining each one costs (a body of
# 16 MB holds a million bad messages: minutes of jsonschema and a 60 MB message).
MAX_VIOLATIONS = 100


class ValidationFailed(InvalidRequest):
    """400 with every violation: `message` lists them, `param`/`code` are the first one's."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        first, shown = violations[0], violations[:MAX_VIOLATIONS]
        if len(violations) == 1:
            message = first.message
        else:
            listed = " ".join(f"({i}) {v.message}" for i, v in enumerate(shown, 1))
            count = len(violations) if len(violations) == len(shown) else f"Over {len(shown)}"
            message = f"{count} problems with the request body: {listed}"
        super().__init__(message, param=first.param, code=first.code)
        self.violations = tuple(shown)

    def error_object(self) -> dict[str, Any]:
        return {**super().error_object(), "violations": [v.to_json() for v in self.violations]}


def validate(body: Any, contract: Contract, disabled_rules: frozenset[str]) -> list[Violation]:
    """Every schema violation; when the schema holds, every broken semantic rule. At most
    MAX_VIOLATIONS + 1: one more than a 400 lists says there were more."""
    if not contract.is_valid(body):
        errors = islice(contract.explainer.iter_errors(body), MAX_VIOLATIONS + 1)
        return sorted((_describe(e) for e in errors), key=lambda v: v.param or "")
    broken = (v for name, rule in RULES.items() if name not in disabled_rules for v in rule(body))
    return list(islice(broken, MAX_VIOLATIONS + 1))


def _shown(value: Any, limit: int = MAX_SHOWN) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expected(schema_type: Any) -> str:
    """["string", "array", "null"] -> "a string, an array or null"."""
    types = schema_type if isinstance(schema_type, list) else [schema_type]
    words = [t if t == "null" else f"{'an' if t[0] in 'aeiou' else 'a'} {t}" for t in types]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _describe(error: ValidationError) -> Violation:
    """Turn one jsonschema error into OpenAI's wording, descending into oneOf to the real cause."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        deeper = [e for e in error.context if e.relative_path]
        if deeper:
            cause = best_match(deeper)
            assert cause is not None  # best_match of a non-empty list
            return _describe_at(cause, [*error.absolute_path, *cause.relative_path])
        missing = [e for e in error.context if e.validator == "required"]
        if missing:
            return _describe_at(missing[0], list(error.absolute_path))
        # A branch of the right type that failed another keyword is the cause: `stop` with five
        # strings breaks maxItems, not "expected a string"; tool_choice "always" breaks the enum.
        wrong_type = {e.relative_schema_path[0] for e in error.context if e.validator == "type"}
        kept = [e for e in error.context if e.relative_schema_path[0] not in wrong_type]
        if kept:
            return _describe_at(kept[0], list(error.absolute_path))
        types = [e.validator_value for e in error.context if e.validator == "type"]
        if types:
            param = param_path(error.absolute_path)
            return Violation(
                param,
                f"Invalid type for '{param}': expected {_expected(types)}, "
                f"but got {json_type(error.instance)} instead.",
                "invalid_type",
            )
    return _describe_at(error, list(error.absolute_path))


# OpenAI's wording for each kind of schema failure: (message template, code). Fields:
# param, value (the schema's bound or list), got (the value sent), type (its JSON type).
_WORDING: dict[str, tuple[str, str]] = {
    "type": (
        "Invalid type for '{param}': expected {expected}, but got {type} instead.",
        "invalid_type",
    ),
    "enum": (
        "Invalid value for '{param}': '{got}'. Supported values are: {allowed}.",
        "invalid_value",
    ),
    "const": (
        "Invalid value for '{param}': '{got}'. Supported values are: {allowed}.",
        "invalid_value",
    ),
    "maxItems": (
        "Invalid '{param}': array too long. Expected an array with maximum length "
        "{value}, but got an array with length {length} instead.",
        "array_above_max_length",
    ),
    "minimum": (
        "Invalid '{param}': value below minimum. Expected a value >= {value}, but got "
        "{got} instead.",
        "value_below_min_value",
    ),
    "not": ("Invalid value for '{param}': {type} is not allowed here.", "invalid_value"),
}
_EMPTY = (
    "Invalid '{param}': empty array. Expected an array with minimum length {value}, but "
    "got an empty array instead.",
    "empty_array",
)


def _describe_at(error: ValidationError, path: Iterable[str | int]) -> Violation:
    param = param_path(path)
    kind = error.validator
    instance: Any = error.instance
    value: Any = error.validator_value
    if kind == "required":
        missing = error.message.split("'")[1]
        full = f"{param}.{missing}" if param else missing
        return Violation(
            full, f"Missing required parameter: '{full}'.", "missing_required_parameter"
        )
    wording = _EMPTY if kind == "minItems" and instance == [] else _WORDING.get(str(kind))
    if wording is None:
        message = f"Invalid '{param or 'body'}': {_shown(error.message, 300)}"
        return Violation(param, message, "invalid_value")
    allowed = value if kind == "enum" else [value]
    fields = {
        "param": param,
        "value": value,
        "got": _shown(instance),
        "type": json_type(instance),
        "expected": _expected(value) if kind == "type" else "",
        "allowed": ", ".join(f"'{v}'" for v in allowed) if kind in ("enum", "const") else "",
        "length": len(instance) if isinstance(instance, list) else 0,
    }
    template, code = wording
    return Violation(param, template.format(**fields), code)
