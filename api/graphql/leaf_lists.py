"""Lists of plain objects answered without graphql-core's per-field machinery.

graphql-core completes a list item by item and field by field: a resolve info, a resolver
call, a completion and a leaf coercion per field, about 4–5 µs each (STYLE.md). A month of
half-hours is 1,488 points × 5 fields: 30–40 ms of a 50 ms budget, where reading the values
costs well under a millisecond.

When every selected field of a list's items is a plain attribute (strawberry's basic field:
no resolver, no arguments, no permission or extension) of a scalar or an enum, the answer is
the same as graphql-core's whatever the path, so it is built here directly: the same basic
resolver (an attribute read) and the same scalar or enum coercion per value, in one
comprehension. Lists of scalars and enums get the same treatment. Anything else — a nested
object, an argument, `__typename` aside any directive, a `@stream` or `@defer`, a null where
the schema says non-null, a coercion that refuses, a resolve middleware — goes through
graphql-core unchanged, which reports it as always (the whole list is redone there, so a
fallback never leaves half an answer). tests/api/test_leaf_lists.py checks both paths agree.
"""

from __future__ import annotations

from collections.abc import Callable
from math import isfinite
from operator import attrgetter
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Undefined,
    get_nullable_type,
    is_leaf_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# (response key, attribute reader or None for __typename, coercer or the type's name)
Plan = tuple[tuple[str, Any, Any], ...]
_KEEP = frozenset({"skip", "include"})  # already applied when the fields were collected


class _Fallback(Exception):
    """The value is not one the fast path answers exactly: graphql-core redoes the list."""


def _leaf(leaf: Any, nonnull: bool, value: Any) -> Any:
    if value is None:
        if nonnull:
            raise _Fallback
        return None
    coerced = leaf.coerce_output_value(value)
    if coerced is None or coerced is Undefined:
        raise _Fallback
    return coerced


def _coercer(leaf: Any, nonnull: bool) -> Callable[[Any], Any]:
    """`_leaf` for one type, with the commonest values' coercion inlined: a finite float is
    what `Float` answers for it (graphql-core returns `float(value)`), and an enum member's
    name is memoised once the enum's own coercion has given it."""
    if leaf is GraphQLFloat:

        def floats(value: Any) -> Any:
            if value.__class__ is float and isfinite(value):
                return value
            return _leaf(leaf, nonnull, value)

        return floats
    if isinstance(leaf, GraphQLEnumType):
        names: dict[Any, Any] = {}

        def enums(value: Any) -> Any:
            name = names.get(value) if value.__hash__ is not None else None
            if name is None:
                name = _leaf(leaf, nonnull, value)
                if value is not None and value.__hash__ is not None:
                    names[value] = name
            return name

        return enums
    return lambda value: _leaf(leaf, nonnull, value)


def _reader(field: Any) -> Any:
    """The basic field's value reader: `getattr` of its Python name when that is what the
    strawberry field does (the default resolver), else its own resolver."""
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is not None and definition.default_resolver is getattr:
        return attrgetter(definition.python_name)
    resolve = field.resolve
    return lambda item: resolve(item, None)


class LeafListsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._leaf_plans: dict[tuple[Any, int], tuple[Any, Plan | None]] = {}

    def _plan(self, item_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        key = (item_type, id(field_details_list))
        cached = self._leaf_plans.get(key)
        if cached is not None:
            return cached[1]
        plan = self._make_plan(item_type, field_details_list)
        # the list is kept alive with the plan so that its id is not reused (as graphql-core)
        self._leaf_plans[key] = (field_details_list, plan)
        return plan

    def _make_plan(self, item_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        if item_type.is_type_of is not None:
            return None
        grouped, defer_usages, *_ = self.collect_subfields(item_type, field_details_list)
        if defer_usages:
            return None
        plan: list[tuple[str, Any, Any]] = []
        for response_key, details in grouped.items():
            node = details[0].node
            if node.arguments or any(d.name.value not in _KEEP for d in node.directives or ()):
                return None
            name = node.name.value
            if name == "__typename":
                plan.append((response_key, None, item_type.name))
                continue
            field = item_type.fields.get(name)
            if field is None or field.args or not getattr(field.resolve, "_is_default", False):
                return None
            nonnull = isinstance(field.type, GraphQLNonNull)
            leaf = get_nullable_type(field.type)
            if not is_leaf_type(leaf):
                return None
            plan.append((response_key, _reader(field), _coercer(leaf, nonnull)))
        return tuple(plan)

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if (
            isinstance(result, list | tuple)
            and not (self.middleware_manager and self.middleware_manager.middlewares)
            and self.get_stream_usage(field_details_list, path) is None
        ):
            try:
                done = self._fast(return_type.of_type, field_details_list, result)
            except _Fallback:
                done = None
            except Exception:  # any surprise: graphql-core answers, with its own errors
                done = None
            if done is not None:
                return done
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _fast(self, item_type: Any, field_details_list: Any, items: Any) -> list[Any] | None:
        nonnull = isinstance(item_type, GraphQLNonNull)
        inner = get_nullable_type(item_type)
        if is_leaf_type(inner):
            coerce = _coercer(inner, nonnull)
            return [coerce(value) for value in items]
        if not isinstance(inner, GraphQLObjectType):
            return None
        plan = self._plan(inner, field_details_list)
        if plan is None:
            return None
        out: list[Any] = []
        append = out.append
        for item in items:
            if item is None:
                if nonnull:
                    raise _Fallback
                append(None)
                continue
            append(
                {key: coerce if read is None else coerce(read(item)) for key, read, coerce in plan}
            )
        return out
