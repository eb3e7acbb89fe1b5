"""Schema-driven fuzzing of the whole API over HTTP (the app's real ASGI stack, in process).

Operations are generated from the schema itself: a root query field or mutation, its arguments
(IDs drawn from the caller's own objects, another tenant's, missing ones and malformed ones;
texts, numbers and dates from a set of edge cases; now and then a value of the wrong type), and
a random selection set a few levels deep, through interfaces and unions. A generator of our own
rather than hypothesis-graphql: it must know which ID a caller owns, and it is seeded, so a
failing operation is reproduced by its seed and number.

Every answer is checked: no HTTP 5xx, no masked internal error (`INTERNAL_ERROR`, strawberry's
"Unexpected error"), no traceback in the body, and no error logged by the app (bugs are logged
with their traceback; expected refusals log nothing). Used by tests/api/test_fuzz.py (CI, 200
operations per identity) and bench/fuzz_bench.py (1,000 per identity, on demand).
"""

from __future__ import annotations

import base64
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    get_named_type,
)
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.app import create_app
from api.schema.schema import build_schema
from comptoir.settings import Settings
from domain.enums import Tier
from tests.clock import NOW, TODAY
from tests.factories import (
    TEST_PASSWORD,
    World,
    make_alert,
    make_invoice,
    make_person,
    make_world,
)
from tests.ids import gid

MISSING = 10**9
IDENTITIES = ("ANONYMOUS", "READ_KEY", "THIRD_PARTY", "INFRA_USER", "USER", "OPERATOR", "ADMIN")
# Mutations that end the caller's own session: the fuzz would go on anonymously.
SELF_ENDING = {"logOut"}
# Fields that hash a password on purpose (argon2id, ~0.1 s each): drawn one time in five, so
# they are fuzzed without eating the suite's time budget.
DELIBERATELY_SLOW = {"logIn"}
# An argument's name → the node types its IDs are of (`siteIds` → Site…).
ID_TYPES: dict[str, tuple[str, ...]] = {
    "site": ("Site",),
    "billingAccount": ("BillingAccount",),
    "member": ("Member",),
    "grant": ("Grant",),
    "group": ("Group",),
    "alert": ("Alert",),
    "technicalRequest": ("TechnicalRequest",),
    "selfCareRequest": ("SelfCareRequest",),
    "request": ("TechnicalRequest", "SelfCareRequest"),
    "person": ("Person",),
    "owner": ("Person",),
    "mail": ("OutboxMail",),
    "invoice": ("Invoice",),
    "apiKey": ("ApiKey",),
    "meter": ("Meter",),
}
NODE_TYPES = (
    "Site",
    "BillingAccount",
    "Member",
    "Group",
    "Grant",
    "Person",
    "Invoice",
    "Alert",
    "Meter",
    "ApiKey",
    "OutboxMail",
    "TechnicalRequest",
    "SelfCareRequest",
    "Reading",
)
STRINGS = (
    "",
    " ",
    "Valeur",
    "saint",
    "Écoles de Blois",
    "30001234567890",
    "a@b.test",
    "%_\\",
    "' OR 1=1 --",
    "🍓" * 3,
    "x" * 300,
    "y" * 4001,  # beyond the input layer's length
    "nul\x00",  # a control character
    "ligne\nsuivante\tet tab",
    "2026-11-01",
    "FA000000000000",
    "DT-2026-000001",
    "read",
    "write",
)
INTS = (0, 1, -1, 2, 10, 50, 99, 100, 101, 500, 501, 2**31 - 1, -(2**31), 2**53)
DATES = ("2026-11-01", TODAY.isoformat(), "2020-02-29", "0001-01-01", "9999-12-31", "2026-02-30")
DATETIMES = (NOW.isoformat(), "2026-11-01T00:00:00Z", "9999-12-31T23:59:59+00:00", "hier")
DECIMALS = ("0", "1", "-0.01", "12.345", "1e999", "NaN", "99999999999999999999.99", "abc")
MONTHS = ("2026-11", "2026-01", "2024-02", "2026-13", "0000-00")


@dataclass
class Identity:
    name: str
    token: str | None
    own: dict[str, list[str]]  # node type → global IDs the caller may reach


@dataclass
class Report:
    operations: Counter[str] = field(default_factory=Counter)  # identity → count
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)  # root field → times called
    field_seconds: Counter[str] = field(default_factory=Counter)  # root field → time spent
    answered_data: int = 0  # answers with at least one non-null root field
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


class ErrorLog(logging.Handler):
    """Collects the ERROR records of the app's loggers (a bug is logged with its traceback)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@asynccontextmanager
async def capturing_errors() -> Any:
    handler = ErrorLog()
    logger = logging.getLogger()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _ids_of(world: World, extra: dict[str, list[int]]) -> dict[str, list[str]]:
    pks: dict[str, list[int]] = {
        "Group": [world.group.id],  # type: ignore[list-item]
        "Member": [world.member.id, world.other_member.id],  # type: ignore[list-item]
        "BillingAccount": [account.id for account in world.accounts],  # type: ignore[misc]
        "Site": [site.id for site in world.sites],  # type: ignore[misc]
        "Grant": [grant.id for grant in world.grants.values()],  # type: ignore[misc]
        "Person": [person.id for person in world.people.values()],  # type: ignore[misc]
    }
    for name, values in extra.items():
        pks.setdefault(name, []).extend(values)
    return {name: [gid(name, pk) for pk in values] for name, values in pks.items()}


@dataclass
class Fixture:
    """Two tenants (the callers' own and another), an operator and a read-only key."""

    own: dict[str, list[str]]
    other: dict[str, list[str]]
    world: World
    operator_email: str


async def build_fixture(sessions: async_sessionmaker[AsyncSession]) -> Fixture:
    worlds = [await make_world(sessions, name) for name in ("Fuzz", "Autre")]
    operator, _ = await make_person(
        sessions, f"operateur{worlds[0].group.id}@fuzz.test", tier=Tier.OPERATOR
    )
    ids = []
    for world in worlds:
        invoice = await make_invoice(
            sessions, world.accounts[0], [world.sites[0]], accounting_date=TODAY
        )
        alert = await make_alert(sessions, world.sites[0], detected_on=TODAY)
        ids.append(_ids_of(world, {"Invoice": [invoice.id], "Alert": [alert.id]}))  # type: ignore[list-item]
    return Fixture(own=ids[0], other=ids[1], world=worlds[0], operator_email=operator.email)


async def _log_in(client: httpx.AsyncClient, email: str) -> str:
    answer = await client.post(
        "/graphql",
        json={
            "query": "mutation($i: LogInInput!) { logIn(input: $i) { tokens { accessToken } "
            "errors { code } } }",
            "variables": {"i": {"email": email, "password": TEST_PASSWORD}},
        },
    )
    tokens = answer.json()["data"]["logIn"]["tokens"]
    assert tokens is not None, answer.text
    return str(tokens["accessToken"])


async def identities(client: httpx.AsyncClient, fixture: Fixture) -> list[Identity]:
    world = fixture.world
    tokens = {tier: await _log_in(client, world.email(tier)) for tier in world.people}
    tokens["OPERATOR"] = await _log_in(client, fixture.operator_email)
    created = await client.post(
        "/graphql",
        json={
            "query": 'mutation { createApiKey(input: {name: "fuzz", scopes: ["read"]}) '
            "{ secret apiKey { id } errors { code } } }"
        },
        headers={"Authorization": f"Bearer {tokens['USER']}"},
    )
    payload = created.json()["data"]["createApiKey"]
    assert payload["secret"], created.text
    tokens["READ_KEY"] = payload["secret"]
    own = dict(fixture.own)
    own["ApiKey"] = [payload["apiKey"]["id"]]
    return [Identity(name, tokens.get(name), own) for name in IDENTITIES]


class Generator:
    """Random operations over a schema, for one identity (its own IDs vs. the others)."""

    def __init__(
        self, schema: GraphQLSchema, identity: Identity, other: dict[str, list[str]], seed: int
    ) -> None:
        self.schema = schema
        self.identity = identity
        self.other = other
        self.random = random.Random(seed)
        self.variables: dict[str, Any] = {}
        self.declarations: list[str] = []

    # -- values -------------------------------------------------------------------------------

    def _global_id(self, hint: str) -> str:
        rnd = self.random
        stem = re.sub(r"Ids?$", "", hint)
        types = ID_TYPES.get(stem) or NODE_TYPES
        kind = rnd.choice(types)
        roll = rnd.random()
        if roll < 0.45 and self.identity.own.get(kind):
            return rnd.choice(self.identity.own[kind])
        if roll < 0.75 and self.other.get(kind):
            return rnd.choice(self.other[kind])
        if roll < 0.85:
            return gid(kind, MISSING)
        weird = (
            gid(kind, int("9" * 30)),  # beyond the column's range
            gid(rnd.choice(NODE_TYPES), 1),  # another type's ID
            gid("NoSuchType", 1),
            gid(kind, -1),
            base64.b64encode(b"Site:abc").decode(),
            "not-base64!",
            "",
        )
        return rnd.choice(weird)

    def _scalar(self, kind: GraphQLScalarType, hint: str) -> Any:
        rnd = self.random
        match kind.name:
            case "ID":
                return self._global_id(hint)
            case "String":
                return rnd.choice(STRINGS)
            case "Int":
                return rnd.choice(INTS)
            case "Float":
                return rnd.choice((0.0, -1.5, 1e308, 0.5))
            case "Boolean":
                return rnd.random() < 0.5
            case "Date":
                return rnd.choice(DATES)
            case "DateTime":
                return rnd.choice(DATETIMES)
            case "Decimal":
                return rnd.choice(DECIMALS)
            case "Month":
                return rnd.choice(MONTHS)
            case "JSONObject" | "JSON":
                return rnd.choice(({}, {"a": 1}, {"x": "\x01"}))
            case "Upload":
                return None
        return rnd.choice(STRINGS)

    def value(self, kind: GraphQLInputType, hint: str, depth: int = 0) -> Any:
        rnd = self.random
        if rnd.random() < 0.03:  # now and then, a value of the wrong type
            return rnd.choice((None, 7, "x", [], {"z": 1}, True))
        if isinstance(kind, GraphQLNonNull):
            return self.value(kind.of_type, hint, depth)
        if isinstance(kind, GraphQLList):
            size = rnd.choice((0, 1, 1, 2, 3, 101)) if depth < 3 else 1
            item = kind.of_type
            return [self.value(item, hint, depth + 1) for _ in range(size)]
        if isinstance(kind, GraphQLInputObjectType):
            if depth > 4:
                return {}
            chosen = {}
            for name, input_field in kind.fields.items():
                required = isinstance(input_field.type, GraphQLNonNull)
                if required or rnd.random() < 0.4:
                    chosen[name] = self.value(input_field.type, name, depth + 1)
            return chosen
        if isinstance(kind, GraphQLEnumType):
            return rnd.choice(
                [*kind.values, "NO_SUCH_VALUE"] if rnd.random() < 0.05 else list(kind.values)
            )
        assert isinstance(kind, GraphQLScalarType)
        return self._scalar(kind, hint)

    # -- documents ----------------------------------------------------------------------------

    def _arguments(self, field_def: GraphQLField) -> str:
        parts = []
        for name, argument in field_def.args.items():
            required = (
                isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined
            )
            if not required and self.random.random() < 0.5:
                continue
            variable = f"v{len(self.declarations)}"
            self.declarations.append(f"${variable}: {argument.type}")
            self.variables[variable] = self.value(argument.type, name)
            parts.append(f"{name}: ${variable}")
        return f"({', '.join(parts)})" if parts else ""

    def _selection(self, kind: GraphQLOutputType, depth: int) -> str:
        named: GraphQLNamedType = get_named_type(kind)
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            return ""
        if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            possible = list(self.schema.get_possible_types(named))
            picked = self.random.sample(possible, k=min(len(possible), self.random.choice((1, 2))))
            fragments = [
                f"... on {object_type.name} {self._fields(object_type, depth)}"
                for object_type in picked
            ]
            own_fields = ""
            if isinstance(named, GraphQLInterfaceType):
                own_fields = self._fields(named, depth).strip("{} ")
            return "{ __typename " + own_fields + " " + " ".join(fragments) + " }"
        assert isinstance(named, GraphQLObjectType)
        return self._fields(named, depth)

    def _fields(self, object_type: GraphQLObjectType | GraphQLInterfaceType, depth: int) -> str:
        rnd = self.random
        names = list(object_type.fields)
        leaves = [
            n
            for n in names
            if isinstance(
                get_named_type(object_type.fields[n].type), GraphQLScalarType | GraphQLEnumType
            )
            and not object_type.fields[n].args
        ]
        chosen: list[str] = []
        if depth >= 3:
            names = leaves
        for name in rnd.sample(names, k=min(len(names), rnd.choice((1, 2, 3, 4)))):
            field_def = object_type.fields[name]
            arguments = self._arguments(field_def) if field_def.args else ""
            inner = self._selection(field_def.type, depth + 1)
            if not inner and not isinstance(
                get_named_type(field_def.type), GraphQLScalarType | GraphQLEnumType
            ):
                continue
            chosen.append(f"{name}{arguments} {inner}".strip())
        if not chosen:
            chosen = [leaves[0]] if leaves else ["__typename"]
        return "{ " + " ".join(chosen) + " }"

    def operation(self) -> tuple[str, str, dict[str, Any]]:
        """(root field, document, variables) of one random operation."""
        self.variables, self.declarations = {}, []
        use_mutation = self.random.random() < 0.35 and self.schema.mutation_type is not None
        root = self.schema.mutation_type if use_mutation else self.schema.query_type
        assert root is not None
        names = [n for n in root.fields if n not in SELF_ENDING]
        name = self.random.choice(names)
        if name in DELIBERATELY_SLOW and self.random.random() < 0.8:
            name = self.random.choice(names)
        field_def = root.fields[name]
        arguments = self._arguments(field_def)
        selection = self._selection(field_def.type, 1)
        keyword = "mutation" if use_mutation else "query"
        header = f"{keyword} Fuzz({', '.join(self.declarations)})" if self.declarations else keyword
        return name, f"{header} {{ {name}{arguments} {selection} }}", self.variables


def problems_of(response: httpx.Response) -> list[str]:
    """What makes an answer a bug: a 5xx, a masked internal error, a traceback."""
    found = []
    if response.status_code >= 500:
        found.append(f"HTTP {response.status_code}")
    text = response.text
    if "Traceback" in text or 'File "' in text:
        found.append("traceback in the body")
    if "Unexpected error" in text:
        found.append("masked error (Unexpected error)")
    try:
        body = response.json()
    except ValueError:
        return found
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or []:
        if (error.get("extensions") or {}).get("code") == "INTERNAL_ERROR":
            found.append(f"INTERNAL_ERROR at {error.get('path')}")
    return found


def _codes(body: Any) -> Iterator[str]:
    if not isinstance(body, dict):
        return
    for error in body.get("errors") or []:
        yield str((error.get("extensions") or {}).get("code"))
    for value in (body.get("data") or {}).values():
        if isinstance(value, dict):
            for problem in value.get("errors") or []:
                # a payload error's code, when the generated selection asked for it
                if isinstance(problem, dict) and "code" in problem:
                    yield str(problem["code"])


async def fuzz(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    per_identity: int,
    seed: int = 2026,
) -> Report:
    """Builds the two tenants, then sends `per_identity` operations as each identity."""
    fixture = await build_fixture(sessions)
    schema = build_schema()._schema
    report = Report()
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://comptoir.test"
        ) as client,
        capturing_errors() as errors,
    ):
        people = await identities(client, fixture)
        started = time.perf_counter()
        for number, identity in enumerate(people):
            generator = Generator(schema, identity, fixture.other, seed * 100 + number)
            headers = {"Authorization": f"Bearer {identity.token}"} if identity.token else {}
            for index in range(per_identity):
                name, document, variables = generator.operation()
                logged = len(errors.records)
                sent = time.perf_counter()
                response = await client.post(
                    "/graphql", json={"query": document, "variables": variables}, headers=headers
                )
                report.field_seconds[name] += time.perf_counter() - sent
                report.operations[identity.name] += 1
                report.statuses[response.status_code] += 1
                report.fields[name] += 1
                found = problems_of(response)
                found += [f"logged: {r.getMessage()}" for r in errors.records[logged:]]
                try:
                    body = response.json()
                except ValueError:
                    body = None
                report.codes.update(_codes(body))
                data = body.get("data") if isinstance(body, dict) else None
                if isinstance(data, dict) and any(v is not None for v in data.values()):
                    report.answered_data += 1
                if found:
                    report.failures.append(
                        {
                            "identity": identity.name,
                            "index": index,
                            "problems": found,
                            "document": document,
                            "variables": variables,
                            "answer": response.text[:500],
                        }
                    )
        report.seconds = time.perf_counter() - started
    return report


__all__ = ["IDENTITIES", "Report", "fuzz", "problems_of"]
