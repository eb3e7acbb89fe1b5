"""One input layer: every text a request carries is refused with a control character or beyond
a length, and every list beyond a count, before any resolver runs.

Texts and lists reach the API two ways, both checked here: literals written in the document
(strings, block strings, lists: in arguments, defaults and directives, fragments included)
and variables (any JSON value). Checking the raw values rather than field by field leaves no
free-text field out, including the ones added later, and keeps the driver from ever seeing a
NUL character (PostgreSQL refuses it) or a search pattern too long for SQLite's LIKE.

Tab, line feed and carriage return are text; other control characters (C0, DEL, C1) are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import DocumentNode, ExecutionResult, GraphQLError, ListValueNode, StringValueNode
from graphql.language import Node
from strawberry.extensions import SchemaExtension

from domain.errors import ErrorCode, Refusal

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def text_problem(text: str, max_length: int, where: str | None) -> Refusal | None:
    if CONTROL.search(text):
        return Refusal(
            ErrorCode.INVALID, "Caractère de contrôle interdit dans un texte.", field=where
        )
    if len(text) > max_length:
        return Refusal(
            ErrorCode.TOO_LONG, f"Texte trop long : {max_length} caractères au plus.", field=where
        )
    return None


def list_problem(size: int, max_items: int, where: str | None) -> Refusal | None:
    if size > max_items:
        return Refusal(
            ErrorCode.TOO_MANY_ITEMS,
            f"Liste trop longue : {max_items} éléments au plus.",
            field=where,
        )
    return None


def variable_problem(value: object, max_length: int, max_items: int, where: str) -> Refusal | None:
    """The first problem in a variable's JSON value (`where`: the innermost name, for the
    client: the variable, or the input field holding the value)."""
    if isinstance(value, str):
        return text_problem(value, max_length, where)
    items: list[tuple[str, object]] = []
    if isinstance(value, list):
        if refusal := list_problem(len(value), max_items, where):
            return refusal
        items = [(where, item) for item in value]
    elif isinstance(value, dict):
        for key, item in value.items():
            if refusal := text_problem(str(key), max_length, where):
                return refusal
            items.append((str(key), item))
    for name, item in items:
        if refusal := variable_problem(item, max_length, max_items, name):
            return refusal
    return None


def _nodes(node: Node) -> Iterator[Node]:
    yield node
    for key in node.keys:
        child = getattr(node, key, None)
        if isinstance(child, Node):
            yield from _nodes(child)
        elif isinstance(child, tuple | list):
            for item in child:
                if isinstance(item, Node):
                    yield from _nodes(item)


_SIZES: dict[str, tuple[tuple[str, ...], int]] = {}


def _literal_sizes(query: str, document: DocumentNode) -> tuple[tuple[str, ...], int]:
    """The document's string literals and its longest list literal, kept per query text so
    that a known operation is walked once."""
    if (known := _SIZES.get(query)) is not None:
        return known
    texts: list[str] = []
    longest = 0
    for node in _nodes(document):
        if isinstance(node, StringValueNode):
            texts.append(node.value)
        elif isinstance(node, ListValueNode):
            longest = max(longest, len(node.values))
    if len(_SIZES) >= 256:
        _SIZES.clear()
    _SIZES[query] = (tuple(texts), longest)
    return _SIZES[query]


def literal_problem(
    query: str, document: DocumentNode, max_length: int, max_items: int
) -> Refusal | None:
    texts, longest = _literal_sizes(query, document)
    for text in texts:
        if refusal := text_problem(text, max_length, None):
            return refusal
    return list_problem(longest, max_items, None)


class InputLimits(SchemaExtension):
    """Answers the first input problem as the operation's one error, executing nothing."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        settings = context.context.settings
        max_length, max_items = settings.max_input_text_length, settings.max_input_list_items
        refusal = None
        if context.graphql_document is not None and context.query is not None:
            refusal = literal_problem(
                context.query, context.graphql_document, max_length, max_items
            )
        for name, value in (context.variables or {}).items():
            if refusal is None:
                refusal = variable_problem(value, max_length, max_items, name)
        if refusal is not None:
            extensions: dict[str, object] = {"code": refusal.code.value}
            if refusal.field:
                extensions["field"] = refusal.field
            context.result = ExecutionResult(
                data=None, errors=[GraphQLError(refusal.message, extensions=extensions)]
            )
        yield
