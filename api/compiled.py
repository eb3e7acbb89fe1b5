"""Compiled answers for the trusted manifest's operations (issue 11, part 2).

graphql-core interprets an answer field by field (about 4 µs each: 6–7 ms on a 50-site page).
For an operation of the manifest the selection never changes, so its shape is compiled once
into a plan: a tree of small functions that read the rows the root field's own resolver code
loads (the same scoped queries, `sites_page` and `technical_sheet`) and write the answer's
dicts straight from them, each leaf serialised by the schema's own scalar or enum.

What stays exactly the schema's: permissions (no caller → the normal path answers the
refusal), the perimeter (the same resolver functions run), each field's meaning (columns are
the ones the types read; flags call the same capability rules), serialisation (the schema's
scalars), the input limits (the same checks on variables). Anything the compiler does not
know — a root field, a field, a fragment, a directive, an alias clash — leaves the operation
uncompiled; anything unusual at run time (a refusal such as a bad cursor, a variable the
input limits refuse, a null where the schema says non-null) falls back to the normal path,
which answers it with its errors. The differential test (tests/api/test_compiled.py) runs
every manifest operation through both paths for every tier and requires identical answers.

Chosen over compiling to one SQL statement that builds the JSON in the database (PostGraphile's
way): the same SQL as the generic path runs on both databases, and the answer's bytes cannot
drift from the generic path's, which serialises the same Python values with the same scalars.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from types import SimpleNamespace
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_nullable_type,
    parse,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry import relay
from strawberry.http import GraphQLRequestData
from strawberry.relay.types import GlobalIDValueError
from strawberry.types import ExecutionResult
from strawberry.types.arguments import convert_arguments

from api.context import Context
from api.graphql.input_limits import variable_problem
from api.resolvers import capabilities, people, portfolio, readings
from api.resolvers.cursors import encode_cursor
from api.resolvers.invoices import InvoiceOrder
from api.schema.invoices.queries import invoices_page
from api.schema.sites import sites_page
from auth.grants import GrantRow
from db.core import ACCOUNTS, INVOICES, LINES, MEMBERS, METERS, SITES
from domain.errors import Refusal

log = logging.getLogger("comptoir.api")

Getter = Callable[[Any, "Env"], Any]


class Unsupported(Exception):
    """Compile time: the operation stays on the normal path. Run time: fall back to it."""


@dataclass(slots=True)
class Env:
    """What a plan reads besides the row at hand."""

    caller: Any
    last_readings: dict[int, list[Any]] = field(default_factory=dict)
    meters: list[Any] = field(default_factory=list)  # the sheet's meter rows, newest first
    lines: dict[int, list[Any] | None] = field(default_factory=dict)  # by invoice id


# Fields of the compiled types that compute their value (a resolver), filled by
# `compile_operation` from the strawberry schema: never read as a column.
RESOLVED_FIELDS: set[tuple[str, str]] = set()


def _resolved_fields(schema: strawberry.Schema) -> set[tuple[str, str]]:
    found = set()
    for type_name in (
        "Viewer",
        "Person",
        "Grant",
        "PerimeterSummary",
        "EnergyCount",
        "Site",
        "Member",
        "BillingAccount",
        "Meter",
        "LastIndex",
        "Invoice",
        "InvoiceLine",
    ):
        definition = schema.get_type_by_name(type_name)
        for item in getattr(definition, "fields", []):
            if item.base_resolver is not None:
                found.add((type_name, schema.config.name_converter.get_graphql_name(item)))
    return found


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _leaf(graphql_type: Any) -> Callable[[Any], Any]:
    nullable = not isinstance(graphql_type, GraphQLNonNull)
    inner = get_nullable_type(graphql_type)
    if isinstance(inner, GraphQLList):
        item = _leaf(inner.of_type)

        def many(value: Any) -> Any:
            if value is None:
                if nullable:
                    return None
                raise Unsupported("null list")
            return [item(v) for v in value]

        return many
    serialize = inner.serialize
    if isinstance(inner, GraphQLEnumType):
        # strawberry's enum serialisation scans the enum's values on every call: remember
        # each member's answer (a few per enum), keyed by type so that a member and its raw
        # value stay apart.
        serialize = _remembered(serialize)
    # graphql-core's String and Boolean give back a str or a bool as it is: skip the call.
    same = {GraphQLString: str, GraphQLBoolean: bool}.get(inner)

    def one(value: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise Unsupported("null leaf")
        if type(value) is same:
            return value
        return serialize(value)

    return one


def _remembered(serialize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    answers: dict[tuple[type, Any], Any] = {}

    def remembered(value: Any) -> Any:
        key = (type(value), value)
        found = answers.get(key)
        if found is None:
            found = serialize(value)
            if len(answers) < 1000:
                answers[key] = found
        return found

    return remembered


def _fields(selection_set: SelectionSetNode | None) -> list[FieldNode]:
    if selection_set is None:
        raise Unsupported("no selection")
    found: list[FieldNode] = []
    keys: set[str] = set()
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            raise Unsupported("fragment or directive")
        key = selection.alias.value if selection.alias else selection.name.value
        if key in keys:
            raise Unsupported("merged fields")
        keys.add(key)
        found.append(selection)
    return found


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _build_object(
    schema: Any,
    type_name: str,
    selection_set: SelectionSetNode | None,
    *,
    columns: Iterable[str],
    prefix: str = "",
    special: dict[str, Callable[[FieldNode], Getter]] | None = None,
    reads: set[str | None] | None = None,
) -> Getter:
    """A getter building the dict of one object from a row whose columns are `prefix` + the
    table's column names (each one read added to `reads`, when given)."""
    object_type: GraphQLObjectType = schema.get_type(type_name)
    known_columns = set(columns)
    parts: list[tuple[str, Getter]] = []
    for node in _fields(selection_set):
        name = node.name.value
        key = _key(node)
        if name == "__typename":
            parts.append((key, _constant(type_name)))
            continue
        if node.arguments:
            raise Unsupported(f"arguments on {type_name}.{name}")
        if special and name in special:
            parts.append((key, special[name](node)))
            continue
        if name == "id":
            column = f"{prefix}id"
            if reads is not None:
                reads.add(column)
            parts.append((key, _global_id(type_name, column)))
            continue
        snake = _snake(name)
        if snake not in known_columns or name not in object_type.fields:
            raise Unsupported(f"{type_name}.{name}")
        if (type_name, name) in RESOLVED_FIELDS:
            raise Unsupported(f"{type_name}.{name} has a resolver")
        convert = _leaf(object_type.fields[name].type)
        column = f"{prefix}{snake}"
        if reads is not None:
            reads.add(column)
        parts.append((key, _column(column, convert)))

    def build(row: Any, env: Env) -> dict[str, Any]:
        return {key: getter(row, env) for key, getter in parts}

    return build


def _constant(value: Any) -> Getter:
    return lambda row, env: value


def _global_id(type_name: str, column: str) -> Getter:
    return lambda row, env: relay.to_base64(type_name, getattr(row, column))


def _column(column: str, convert: Callable[[Any], Any]) -> Getter:
    return lambda row, env: convert(getattr(row, column))


def _nullable_child(build: Getter, present: Callable[[Any], bool]) -> Getter:
    return lambda row, env: build(row, env) if present(row) else None


def _meter_facts_row(row: Any) -> Any:
    """The current meter of a flat row as the self-reading rule reads it."""
    return SimpleNamespace(
        kind=row.meter__kind,
        is_communicating=row.meter__is_communicating,
        digits=row.meter__digits,
        registers=row.meter__registers,
        reading_coefficient=row.meter__reading_coefficient,
        installed_on=row.meter__installed_on,
    )


def _site_scope(row: Any) -> capabilities.SiteScope:
    return capabilities.SiteScope(
        group_id=row.member__group_id,
        member_id=row.member_id,
        billing_account_id=row.billing_account_id,
    )


def _site(
    schema: Any,
    selection_set: SelectionSetNode | None,
    *,
    sheet: bool,
    reads: set[str | None] | None = None,
) -> Getter:
    """A Site from a flat row (site columns, member__*, account__*, meter__*: the list page's
    row, or the technical sheet's row of its current meter). `reads` collects the columns the
    plan reads, None among them when it reads the whole row (the self-reading rule)."""

    def read(*columns: str | None) -> None:
        if reads is not None:
            reads.update(columns)

    def related(type_name: str, table: Any, prefix: str, node: FieldNode) -> Getter:
        """A related object read from the row's `<prefix>*` columns."""
        return _build_object(
            schema,
            type_name,
            node.selection_set,
            columns=table.c.keys(),
            prefix=prefix,
            reads=reads,
        )

    def member(node: FieldNode) -> Getter:
        return related("Member", MEMBERS, "member__", node)

    def account(node: FieldNode) -> Getter:
        return related("BillingAccount", ACCOUNTS, "account__", node)

    def meter(node: FieldNode) -> Getter:
        build = related("Meter", METERS, "meter__", node)
        read("meter__id")
        return _nullable_child(build, lambda row: row.meter__id is not None)

    def meters(node: FieldNode) -> Getter:
        if not sheet:
            raise Unsupported("meters on a list")
        build = related("Meter", METERS, "meter__", node)
        return lambda row, env: [build(m, env) for m in env.meters]

    def last_readings(node: FieldNode) -> Getter:
        read("id")
        build = _build_object(
            schema,
            "LastIndex",
            node.selection_set,
            columns=("register", "index", "read_on", "source"),
        )
        return lambda row, env: [build(r, env) for r in env.last_readings.get(row.id, [])]

    def can_submit(node: FieldNode) -> Getter:
        # The site's and its meter's facts, as the rule reads them, and the site's scope.
        read("meter__id", "member__group_id", "member_id", "billing_account_id")
        read(*readings.SELF_READING_SITE_COLUMNS)
        read(*(f"meter__{c}" for c in readings.SELF_READING_METER_COLUMNS))

        def flag(row: Any, env: Env) -> bool:
            if row.meter__id is None:
                return False
            return readings.can_submit_self_reading(
                in_write_perimeter=capabilities.may_write(env.caller, _site_scope(row)),
                site=row,
                meter=_meter_facts_row(row),
            )

        return flag

    def can_edit(node: FieldNode) -> Getter:
        read("member__group_id", "member_id", "billing_account_id")
        return lambda row, env: capabilities.may_edit_references(env.caller, _site_scope(row))

    return _build_object(
        schema,
        "Site",
        selection_set,
        columns=SITES.c.keys(),
        reads=reads,
        special={
            "member": member,
            "billingAccount": account,
            "currentMeter": meter,
            "meters": meters,
            "lastActualReadings": last_readings,
            "canSubmitSelfReading": can_submit,
            "canEditReferences": can_edit,
        },
    )


@dataclass(frozen=True, slots=True)
class PageView:
    """A connection's page as its fields read it (sites and invoices alike)."""

    rows: list[Any]
    cursors: list[str]
    total_count: int
    has_next_page: bool
    has_previous_page: bool


def _connection(
    selection_set: SelectionSetNode | None,
    type_name: str,
    build_node: Callable[[FieldNode], Getter],
) -> Callable[[PageView, Env], Any]:
    """The Connection's dict from a page: totalCount, pageInfo, edges."""
    parts: list[tuple[str, Callable[[PageView, Env], Any]]] = []
    for node in _fields(selection_set):
        name, key = node.name.value, _key(node)
        if node.arguments:
            raise Unsupported("arguments in a connection")
        if name == "__typename":
            parts.append((key, _constant(f"{type_name}Connection")))
        elif name == "totalCount":
            parts.append((key, lambda page, env: page.total_count))
        elif name == "pageInfo":
            info_parts: list[tuple[str, Callable[[PageView], Any]]] = []
            for child in _fields(node.selection_set):
                child_key = _key(child)
                match child.name.value:
                    case "hasNextPage":
                        info_parts.append((child_key, lambda page: page.has_next_page))
                    case "hasPreviousPage":
                        info_parts.append((child_key, lambda page: page.has_previous_page))
                    case "startCursor":
                        info_parts.append(
                            (child_key, lambda page: page.cursors[0] if page.cursors else None)
                        )
                    case "endCursor":
                        info_parts.append(
                            (child_key, lambda page: page.cursors[-1] if page.cursors else None)
                        )
                    case "__typename":
                        info_parts.append((child_key, lambda page: "PageInfo"))
                    case other:
                        raise Unsupported(f"PageInfo.{other}")
            parts.append((key, _page_info(info_parts)))
        elif name == "edges":
            edge_parts: list[tuple[str, Callable[[Any, str, Env], Any]]] = []
            for child in _fields(node.selection_set):
                child_key = _key(child)
                match child.name.value:
                    case "cursor":
                        edge_parts.append((child_key, lambda row, c, env: c))
                    case "node":
                        edge_parts.append((child_key, _edge_node(build_node(child))))
                    case "__typename":
                        edge_parts.append((child_key, _edge_constant(f"{type_name}Edge")))
                    case other:
                        raise Unsupported(f"{type_name}Edge.{other}")
            parts.append((key, _edges(edge_parts)))
        else:
            raise Unsupported(f"{type_name}Connection.{name}")
    return lambda page, env: {k: g(page, env) for k, g in parts}


def _edges(parts: list[tuple[str, Callable[[Any, str, Env], Any]]]) -> Any:
    def edges(page: PageView, env: Env) -> list[Any]:
        return [
            {k: g(row, c, env) for k, g in parts}
            for row, c in zip(page.rows, page.cursors, strict=True)
        ]

    return edges


def _edge_constant(value: str) -> Any:
    return lambda row, cursor, env: value


def _page_info(parts: list[tuple[str, Callable[[PageView], Any]]]) -> Any:
    return lambda page, env: {k: g(page) for k, g in parts}


def _edge_node(build: Getter) -> Any:
    return lambda row, cursor, env: build(row, env)


@dataclass(frozen=True, slots=True)
class RootPlan:
    key: str
    node: FieldNode
    run: Callable[[Context, dict[str, Any]], Any]  # (context, arguments) → awaitable value


def _selects(node: FieldNode, *path: str) -> bool:
    """Whether the selection below `node` names `path` (no fragments: see `_fields`)."""
    level = [node]
    for name in path:
        level = [f for n in level for f in _fields(n.selection_set) if f.name.value == name]
        if not level:
            return False
    return True


def _root_sites(schema: strawberry.Schema, node: FieldNode) -> RootPlan:
    graphql_schema = schema._schema
    reads: set[str | None] = set()
    build = _connection(
        node.selection_set,
        "Site",
        lambda child: _site(graphql_schema, child.selection_set, sheet=False, reads=reads),
    )
    with_readings = _selects(node, "edges", "node", "lastActualReadings")
    # The page's columns the plan reads (all of them when a rule reads the whole row): a page
    # is 50 rows of four tables, and each enum or JSON column costs a conversion per row.
    columns = None if None in reads else tuple(sorted(c for c in reads if c is not None))
    convert = _argument_converter(schema, "sites")

    async def run(ctx: Context, raw: dict[str, Any]) -> Any:
        kwargs = convert(raw)
        page, cursor = await sites_page(
            ctx,
            kwargs.get("filter"),
            kwargs.get("order_by", portfolio.SiteOrder.POINT_NUMBER),
            kwargs.get("first"),
            kwargs.get("after"),
            with_last_readings=with_readings,
            columns=columns,
        )
        view = PageView(
            rows=page.rows,
            cursors=page.cursors,
            total_count=page.total_count,
            has_next_page=page.has_next_page,
            has_previous_page=cursor is not None,
        )
        return build(view, Env(caller=ctx.caller, last_readings=page.last_readings))

    return RootPlan(_key(node), node, run)


def _argument_converter(
    schema: strawberry.Schema, field_name: str
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """graphql-core's argument values → the resolver's Python arguments, as strawberry does."""
    definition = schema.get_field_for_type(field_name, "Query")
    assert definition is not None
    arguments = definition.arguments

    def convert(raw: dict[str, Any]) -> dict[str, Any]:
        return convert_arguments(
            raw,
            arguments,
            scalar_registry=schema.schema_converter.scalar_registry,
            config=schema.config,
        )

    return convert


def _invoice(schema: Any, selection_set: SelectionSetNode | None) -> Getter:
    """An Invoice from its header row (invoice columns, billing_account_number,
    invoice_label), its lines from the page."""

    def lines(node: FieldNode) -> Getter:
        build = _build_object(schema, "InvoiceLine", node.selection_set, columns=LINES.c.keys())
        return lambda row, env: [build(r, env) for r in env.lines.get(row.id) or []]

    return _build_object(
        schema,
        "Invoice",
        selection_set,
        columns=[*INVOICES.c.keys(), "billing_account_number", "invoice_label"],
        special={"lines": lines},
    )


def _root_invoices(schema: strawberry.Schema, node: FieldNode) -> RootPlan:
    graphql_schema = schema._schema
    build = _connection(
        node.selection_set, "Invoice", lambda child: _invoice(graphql_schema, child.selection_set)
    )
    with_lines = _selects(node, "edges", "node", "lines")
    with_count = _selects(node, "totalCount")
    # The lines' columns the selection reads (every field of a line is one of its columns:
    # `_build_object` refuses any other).
    line_fields = [
        f
        for edges in _fields(node.selection_set)
        if edges.name.value == "edges"
        for n in _fields(edges.selection_set)
        if n.name.value == "node"
        for lines in _fields(n.selection_set)
        if lines.name.value == "lines"
        for f in _fields(lines.selection_set)
        if f.name.value != "__typename"
    ]
    line_columns = tuple(sorted({_snake(f.name.value) for f in line_fields}))
    convert = _argument_converter(schema, "invoices")

    async def run(ctx: Context, raw: dict[str, Any]) -> Any:
        kwargs = convert(raw)
        page, cursor = await invoices_page(
            ctx,
            kwargs.get("first"),
            kwargs.get("after"),
            kwargs.get("filter"),
            kwargs.get("order_by", InvoiceOrder.ACCOUNTING_DATE_DESC),
            with_lines=with_lines,
            with_sites=False,
            with_count=with_count,
            line_columns=line_columns,
        )
        view = PageView(
            rows=[d.row for d in page.invoices],
            cursors=[encode_cursor(*c) for c in page.cursors],
            total_count=page.total_count if page.total_count is not None else -1,
            has_next_page=page.has_next_page,
            has_previous_page=cursor is not None,
        )
        env = Env(caller=ctx.caller, lines={d.row.id: d.lines for d in page.invoices})
        return build(view, env)

    return RootPlan(_key(node), node, run)


def _root_sheet(schema: strawberry.Schema, node: FieldNode) -> RootPlan:
    reads: set[str | None] = set()
    build = _site(schema._schema, node.selection_set, sheet=True, reads=reads)
    with_readings = _selects(node, "lastActualReadings")
    columns = None if None in reads else tuple(sorted(c for c in reads if c is not None))

    async def run(ctx: Context, raw: dict[str, Any]) -> Any:
        sheet = await portfolio.technical_sheet(
            ctx.sessions,
            ctx.perimeter,
            point_number=raw["pointNumber"],
            energy=raw.get("energy"),
            with_last_readings=with_readings,
            columns=columns,
        )
        if sheet is None:
            return None
        meters = [r for r in sheet.rows if r.meter__id is not None]
        current = next((r for r in meters if r.meter__removed_on is None), None)
        row = current if current is not None else _without_meter(sheet.rows[0])
        readings_of = {row.id: sheet.last_readings or []}
        return build(row, Env(caller=ctx.caller, last_readings=readings_of, meters=meters))

    return RootPlan(_key(node), node, run)


def _without_meter(row: Any) -> Any:
    """The sheet's row with its meter columns null (a site whose meters are all removed)."""
    values = dict(row._mapping)
    for name in list(values):
        if name.startswith("meter__"):
            values[name] = None
    return SimpleNamespace(**values)


@dataclass(frozen=True, slots=True)
class ViewerView:
    """The viewer as its fields read it: the person (their live grants only), the summary."""

    via_api_key: bool
    person: people.PersonRow | None
    perimeter: people.PerimeterSummary | None


def _perimeter_summary(schema: Any, selection_set: SelectionSetNode | None) -> Getter:
    object_type: GraphQLObjectType = schema.get_type("PerimeterSummary")
    parts: list[tuple[str, Getter]] = []
    for node in _fields(selection_set):
        name, key = node.name.value, _key(node)
        if node.arguments:
            raise Unsupported("arguments on PerimeterSummary")
        if name == "__typename":
            parts.append((key, _constant("PerimeterSummary")))
        elif name == "sitesByEnergy":
            build = _build_object(
                schema, "EnergyCount", node.selection_set, columns=("energy", "sites")
            )
            parts.append((key, _energy_counts(build)))
        elif name in ("members", "billingAccounts", "sites"):
            parts.append((key, _column(_snake(name), _leaf(object_type.fields[name].type))))
        else:
            raise Unsupported(f"PerimeterSummary.{name}")
    return lambda summary, env: {k: g(summary, env) for k, g in parts}


def _energy_counts(build: Getter) -> Getter:
    def counts(summary: people.PerimeterSummary, env: Env) -> list[Any]:
        return [
            build(SimpleNamespace(energy=energy, sites=count), env)
            for energy, count in summary.sites_by_energy.items()
        ]

    return counts


def _root_viewer(schema: strawberry.Schema, node: FieldNode) -> RootPlan:
    """`viewer`: the person with their grants (plain fields only: a grant's status, group,
    member or accounts leave the operation to the normal path) and the perimeter's summary."""
    graphql_schema = schema._schema
    parts: list[tuple[str, Callable[[ViewerView, Env], Any]]] = []
    for child in _fields(node.selection_set):
        name, key = child.name.value, _key(child)
        if child.arguments:
            raise Unsupported("arguments on Viewer")
        if name == "__typename":
            parts.append((key, _constant("Viewer")))
        elif name == "viaApiKey":
            parts.append((key, lambda view, env: view.via_api_key))
        elif name == "person":
            person = _build_object(
                graphql_schema,
                "Person",
                child.selection_set,
                columns=[f.name for f in fields(people.PersonRow) if f.name != "grants"],
                special={"grants": lambda grants: _grants(graphql_schema, grants)},
            )
            parts.append((key, _of("person", person)))
        elif name == "perimeter":
            summary = _perimeter_summary(graphql_schema, child.selection_set)
            parts.append((key, _of("perimeter", summary)))
        else:
            raise Unsupported(f"Viewer.{name}")
    with_perimeter = _selects(node, "perimeter")

    async def run(ctx: Context, raw: dict[str, Any]) -> Any:
        caller = ctx.caller
        assert caller is not None  # `execute` leaves anonymous requests to the normal path
        row = await people.viewer_person(ctx.sessions, caller.user_id)
        # The grants this request acts under (an API key may carry only one of them).
        live = {g.id for g in caller.grants}
        row = dataclasses.replace(row, grants=tuple(g for g in row.grants if g.id in live))
        summary = (
            await people.perimeter_summary(ctx.sessions, ctx.perimeter) if with_perimeter else None
        )
        view = ViewerView(caller.api_key_id is not None, row, summary)
        env = Env(caller=caller)
        return {k: g(view, env) for k, g in parts}

    return RootPlan(_key(node), node, run)


def _grants(schema: Any, node: FieldNode) -> Getter:
    """A person's grants: the plain fields of their rows (`status` is computed: unsupported)."""
    build = _build_object(
        schema, "Grant", node.selection_set, columns=[f.name for f in fields(GrantRow)]
    )
    return lambda row, env: [build(g, env) for g in row.grants]


def _of(attribute: str, build: Getter) -> Callable[[ViewerView, Env], Any]:
    return lambda view, env: build(getattr(view, attribute), env)


ROOTS: dict[str, Callable[[strawberry.Schema, FieldNode], RootPlan]] = {
    "sites": _root_sites,
    "siteByPointNumber": _root_sheet,
    "invoices": _root_invoices,
    "viewer": _root_viewer,
}


@dataclass(frozen=True, slots=True)
class Plan:
    operation: OperationDefinitionNode
    roots: list[RootPlan]


def compile_operation(schema: strawberry.Schema, body: str) -> Plan | None:
    """The plan of a document's only operation, or None when it is not supported."""
    if not RESOLVED_FIELDS:
        RESOLVED_FIELDS.update(_resolved_fields(schema))
    try:
        document = parse(body)
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or len(document.definitions) != 1:
            raise Unsupported("one operation, no fragments")
        operation = operations[0]
        if operation.operation is not OperationType.QUERY or operation.directives:
            raise Unsupported("queries only")
        roots = []
        for node in _fields(operation.selection_set):
            make = ROOTS.get(node.name.value)
            if make is None:
                raise Unsupported(f"root field {node.name.value}")
            roots.append(make(schema, node))
        return Plan(operation, roots)
    except Unsupported as reason:
        log.debug("not compiled: %s", reason)
        return None


class CompiledOperations:
    """The plans of the manifest's operations, by document text."""

    def __init__(self, schema: strawberry.Schema, bodies: Iterable[str]) -> None:
        self.schema = schema
        self.plans: dict[str, Plan] = {}
        # Answers given by each plan (the rest fell back): what the differential test checks.
        self.answered: Counter[str] = Counter()
        for body in bodies:
            plan = compile_operation(schema, body)
            if plan is not None:
                self.plans[body] = plan

    async def execute(self, data: GraphQLRequestData, ctx: Context) -> ExecutionResult | None:
        """The answer, or None: the normal path answers (unsupported, or anything unusual)."""
        plan = self.plans.get(data.query or "")
        if plan is None or ctx.caller is None:
            return None  # permissions: the normal path answers UNAUTHENTICATED
        name = plan.operation.name.value if plan.operation.name else None
        if data.operation_name is not None and data.operation_name != name:
            return None
        settings = ctx.settings
        for variable, value in (data.variables or {}).items():
            problem = variable_problem(
                value, settings.max_input_text_length, settings.max_input_list_items, variable
            )
            if problem is not None:
                return None
        graphql_schema = self.schema._schema
        variables = get_variable_values(
            graphql_schema, plan.operation.variable_definitions or [], data.variables or {}
        )
        if isinstance(variables, list):
            return None  # coercion errors: the normal path words them
        answer: dict[str, Any] = {}
        try:
            for root in plan.roots:
                definition = graphql_schema.query_type.fields[root.node.name.value]  # type: ignore[union-attr]
                raw = get_argument_values(definition, root.node, variables)
                answer[root.key] = await root.run(ctx, raw)
        except (Refusal, Unsupported, GlobalIDValueError, GraphQLError):
            return None  # an expected refusal: the normal path words it
        except Exception:  # a bug of the compiled path must not cost the client its answer
            log.exception("compiled path failed; answering through the normal path")
            return None
        self.answered[name or ""] += 1
        return ExecutionResult(data=answer, errors=None)
