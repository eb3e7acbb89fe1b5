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
from dataclasses import dataclass

from graphql import (
    DirectiveNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    get_named_type,
    type_from_ast,
)
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


# A list argument or input field may declare its own cap where it is declared:
# `strawberry.field(..., metadata=max_items(500))` (or `strawberry.argument(...)`); every
# other list takes `Settings.max_input_list_items`.
MAX_ITEMS = "comptoir.max_items"


def max_items(count: int) -> dict[str, int]:
    """The metadata that gives one list argument or input field its own cap."""
    return {MAX_ITEMS: count}


def _declared_cap(definition: object) -> int | None:
    strawberry_definition = (getattr(definition, "extensions", None) or {}).get(
        "strawberry-definition"
    )
    metadata = getattr(strawberry_definition, "metadata", None) or {}
    cap = metadata.get(MAX_ITEMS)
    return int(cap) if cap is not None else None


def variable_problem(
    value: object,
    max_length: int,
    max_items: int,
    where: str,
    kind: GraphQLInputType | None = None,
    cap: int | None = None,
) -> Refusal | None:
    """The first problem in a variable's JSON value (`where`: the innermost name, for the
    client: the variable, or the input field holding the value). With the value's GraphQL
    type known, a list is held to the cap its input field declares, if any."""
    named = get_named_type(kind) if kind is not None else None
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    if isinstance(value, str):
        return text_problem(value, max_length, where)
    if isinstance(value, list):
        if refusal := list_problem(len(value), cap or max_items, where):
            return refusal
        item_kind = kind.of_type if isinstance(kind, GraphQLList) else None
        for item in value:
            if refusal := variable_problem(item, max_length, max_items, where, item_kind):
                return refusal
    elif isinstance(value, dict):
        fields = named.fields if isinstance(named, GraphQLInputObjectType) else {}
        for key, item in value.items():
            name = str(key)
            if refusal := text_problem(name, max_length, where):
                return refusal
            field = fields.get(name)
            refusal = variable_problem(
                item,
                max_length,
                max_items,
                name,
                field.type if field is not None else None,
                _declared_cap(field) if field is not None else None,
            )
            if refusal:
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


@dataclass(frozen=True)
class LiteralSizes:
    """What the input layer needs of a document, found once per query text: its string
    literals, each list literal's length with its declared cap (None: the default), and the
    declared cap of each of a variable's uses (the tightest one holds)."""

    texts: tuple[str, ...]
    lists: tuple[tuple[int, int | None], ...]
    variable_caps: dict[str, tuple[int | None, ...]]


class _Walk:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.seen_fragments: set[str] = set()
        self.lists: list[tuple[int, int | None]] = []
        self.variable_caps: dict[str, tuple[int | None, ...]] = {}

    def selections(self, selection_set: SelectionSetNode | None, parent: object) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields = getattr(parent, "fields", None) or {}
                definition = fields.get(selection.name.value)
                for argument in selection.arguments or ():
                    argument_def = definition.args.get(argument.name.value) if definition else None
                    self.value(
                        argument.value,
                        argument_def.type if argument_def else None,
                        _declared_cap(argument_def) if argument_def else None,
                    )
                child = get_named_type(definition.type) if definition else None
                self.selections(selection.selection_set, child)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                self.selections(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in self.fragments and name not in self.seen_fragments:
                    self.seen_fragments.add(name)
                    fragment = self.fragments[name]
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    self.selections(fragment.selection_set, target)

    def value(self, node: ValueNode, kind: GraphQLInputType | None, cap: int | None) -> None:
        if isinstance(kind, GraphQLNonNull):
            kind = kind.of_type
        if isinstance(node, VariableNode):
            name = node.name.value
            self.variable_caps[name] = (*self.variable_caps.get(name, ()), cap)
        elif isinstance(node, ListValueNode):
            self.lists.append((len(node.values), cap))
            item_kind = kind.of_type if isinstance(kind, GraphQLList) else None
            for item in node.values:
                self.value(item, item_kind, None)
        elif isinstance(node, ObjectValueNode):
            named = get_named_type(kind) if kind is not None else None
            fields = named.fields if isinstance(named, GraphQLInputObjectType) else {}
            for object_field in node.fields:
                field = fields.get(object_field.name.value)
                self.value(
                    object_field.value,
                    field.type if field else None,
                    _declared_cap(field) if field else None,
                )


_SIZES: dict[str, LiteralSizes] = {}


def _literal_sizes(query: str, document: DocumentNode, schema: GraphQLSchema) -> LiteralSizes:
    """The document's sizes, kept per query text so that a known operation is walked once."""
    if (known := _SIZES.get(query)) is not None:
        return known
    texts = tuple(node.value for node in _nodes(document) if isinstance(node, StringValueNode))
    walk = _Walk(schema, document)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk.selections(definition.selection_set, schema.get_root_type(definition.operation))
    # Lists in directives' and variables' default values: held to the default cap.
    for node in _nodes(document):
        if isinstance(node, DirectiveNode | VariableDefinitionNode):
            walk.lists += [
                (len(inner.values), None)
                for inner in _nodes(node)
                if isinstance(inner, ListValueNode)
            ]
    if len(_SIZES) >= 256:
        _SIZES.clear()
    _SIZES[query] = LiteralSizes(texts, tuple(walk.lists), walk.variable_caps)
    return _SIZES[query]


def literal_problem(sizes: LiteralSizes, max_length: int, max_items: int) -> Refusal | None:
    for text in sizes.texts:
        if refusal := text_problem(text, max_length, None):
            return refusal
    for length, cap in sizes.lists:
        if refusal := list_problem(length, cap or max_items, None):
            return refusal
    return None


def _variable_types(document: DocumentNode, schema: GraphQLSchema) -> dict[str, GraphQLInputType]:
    types: dict[str, GraphQLInputType] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for variable in definition.variable_definitions or ():
                kind = type_from_ast(schema, variable.type)
                if kind is not None:
                    types[variable.variable.name.value] = kind  # type: ignore[assignment]
    return types


class InputLimits(SchemaExtension):
    """Answers the first input problem as the operation's one error, executing nothing."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        settings = context.context.settings
        max_length, max_items = settings.max_input_text_length, settings.max_input_list_items
        refusal = None
        schema = context.schema._schema
        document = context.graphql_document
        sizes = None
        types: dict[str, GraphQLInputType] = {}
        if document is not None and context.query is not None:
            sizes = _literal_sizes(context.query, document, schema)
            refusal = literal_problem(sizes, max_length, max_items)
            types = _variable_types(document, schema)
        for name, value in (context.variables or {}).items():
            if refusal is None:
                uses = sizes.variable_caps.get(name, ()) if sizes is not None else ()
                cap = min((use or max_items) for use in uses) if uses else None
                refusal = variable_problem(value, max_length, max_items, name, types.get(name), cap)
        if refusal is not None:
            extensions: dict[str, object] = {"code": refusal.code.value}
            if refusal.field:
                extensions["field"] = refusal.field
            context.result = ExecutionResult(
                data=None, errors=[GraphQLError(refusal.message, extensions=extensions)]
            )
        yield
