"""YAML as data with libyaml's safe loader, its aliases bounded before anything is built.

Fixture files, admin bodies and contract documents are YAML from outside: nine lines of
`&a [*a, *a, ...]` stand for billions of values (and `&a [*a]` for endlessly many), which the
loader shares rather than copies, but every walk of the data afterwards expands. The node tree
is sized first, each node once, and a document past its limit is refused (AliasBomb).
"""

from __future__ import annotations

from typing import Any

import yaml

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
MAX_EXPANDED = 100_000  # values a YAML document may stand for once its aliases are expanded


class AliasBomb(ValueError):
    """A YAML document whose aliases expand to more than `limit` values (or without end)."""

    def __init__(self, line: int, limit: int = MAX_EXPANDED) -> None:
        super().__init__(
            f"its aliases (*name) expand to over {limit} values: refused (an alias bomb?)"
        )
        self.lineno = line


def expanded_size(node: Any, limit: int = MAX_EXPANDED) -> int:
    """How many values the node stands for with every alias expanded, without expanding them:
    an alias is the same node object, so each collection's size is computed once (scalars count
    one where they stand). A node that holds itself (`&a [*a]`) stands for endlessly many: over
    `limit`."""
    if isinstance(node, yaml.ScalarNode):
        return 1
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # collections whose children are being sized: the current line
    stack: list[tuple[Any, list[Any] | None]] = [(node, None)]
    while stack:
        current, children = stack.pop()
        key = id(current)
        if children is not None:  # every child sized: this one's turn
            total = 1 + sum(1 if isinstance(c, yaml.ScalarNode) else sizes[id(c)] for c in children)
            sizes[key] = min(total, limit + 1)
            open_.discard(key)
            continue
        if key in sizes:
            continue
        if key in open_:
            return limit + 1
        value = current.value
        mapping = isinstance(current, yaml.MappingNode)
        children = [part for pair in value for part in pair] if mapping else value
        open_.add(key)
        stack.append((current, children))
        stack.extend(
            (c, None) for c in children if not isinstance(c, yaml.ScalarNode) and id(c) not in sizes
        )
    return sizes[id(node)]


def load_with_node(text: str, limit: int = MAX_EXPANDED) -> tuple[Any, Any]:
    """The data and its node tree (for line numbers), in one libyaml pass; (None, None) for
    an empty document."""
    loader = LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        if expanded_size(node, limit) > limit:
            raise AliasBomb(node.start_mark.line + 1, limit)
        return loader.construct_document(node), node
    finally:
        loader.dispose()


def safe_yaml(text: str, limit: int = MAX_EXPANDED) -> Any:
    """YAML (or JSON) text as data; AliasBomb past `limit` values."""
    return load_with_node(text, limit)[0]
