"""MatchContext: the facts about one request that match conditions look at, computed lazily."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from mockserver.contract.request import last_user_text, text_of


class MatchContext:
    """A read-only view of a request for matching; each fact is computed once, on first use."""

    def __init__(self, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        self.body = body
        self.headers = headers

    @classmethod
    def recorded(cls, body: Any, headers: Mapping[str, str]) -> MatchContext:
        """A context for a stored request (a journal entry, its JSON, a redacted copy): any
        body, headers in a plain dict, which conditions look up by lower-case name."""
        return cls(
            body if isinstance(body, dict) else {}, {k.lower(): v for k, v in headers.items()}
        )

    @cached_property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @cached_property
    def stream(self) -> bool:
        return self.body.get("stream") is True

    @cached_property
    def messages(self) -> Sequence[Mapping[str, Any]]:
        messages = self.body.get("messages")
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    @cached_property
    def turn(self) -> Sequence[Mapping[str, Any]]:
        """The current turn: the messages from the last user message on."""
        for i in range(len(self.messages) - 1, -1, -1):
            if self.messages[i].get("role") == "user":
                return self.messages[i:]
        return self.messages

    @cached_property
    def last_user(self) -> str:
        return last_user_text(self.messages)

    @cached_property
    def system(self) -> str:
        return "\n".join(
            text_of(m.get("content"))
            for m in self.messages
            if m.get("role") in ("system", "developer")
        )

    @cached_property
    def tools(self) -> frozenset[str]:
        names = [(t.get("function") or {}).get("name") for t in self.body.get("tools") or () if t]
        names += [f.get("name") for f in self.body.get("functions") or () if f]
        return frozenset(n for n in names if isinstance(n, str))

    @cached_property
    def tool_choice(self) -> str | None:
        """ "none" / "auto" / "required", or "function:<name>" for a forced function."""
        choice = self.body.get("tool_choice", self.body.get("function_call"))
        if isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name") or choice.get("name")
            return f"function:{name}"
        return choice if isinstance(choice, str) else None

    @cached_property
    def response_format(self) -> str:
        return str((self.body.get("response_format") or {}).get("type") or "text")

    @cached_property
    def call_names(self) -> Mapping[str, str]:
        """tool_call_id -> function name, from every assistant tool call."""
        names: dict[str, str] = {}
        for message in self.messages:
            for call in message.get("tool_calls") or ():
                if isinstance(call, dict) and isinstance(call.get("id"), str):
                    names[call["id"]] = str((call.get("function") or {}).get("name", ""))
        return names

    def tool_name(self, message: Mapping[str, Any]) -> str:
        """The function a tool message answers ('' if unknown)."""
        return self.call_names.get(str(message.get("tool_call_id", "")), "")
