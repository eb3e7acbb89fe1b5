"""The fuzz suite (tests/api/fuzz_operations.py): operations generated from the schema, sent
over HTTP as every tier, a read-only API key and anonymous, with IDs of the caller's own
objects, another tenant's, missing and malformed ones. None may answer a 5xx, a masked
internal error or a traceback, nor log an error. 200 operations per identity here; 1,000 on
demand with bench/fuzz_bench.py."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine, create_session_factory
from tests.api.fuzz_operations import IDENTITIES, fuzz
from tests.conftest import ThrowawayDatabases
from tests.factories import World, make_world
from tests.runner import Runner

PER_IDENTITY = int(os.environ.get("COMPTOIR_FUZZ_PER_IDENTITY", "200"))


@pytest.mark.slow
async def test_generated_operations_never_answer_a_bug(
    databases: ThrowawayDatabases, test_settings: Settings
) -> None:
    # A database of its own: the fuzz's mutations write rows no other test expects.
    url = await databases.new_url()
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    try:
        settings = test_settings.model_copy(update={"database_url": url})
        report = await fuzz(settings, create_session_factory(engine), per_identity=PER_IDENTITY)
    finally:
        await engine.dispose()
    print(
        f"\nfuzz: {sum(report.operations.values())} operations in {report.seconds:.1f} s, "
        f"statuses {dict(report.statuses)}, {report.answered_data} with data, "
        f"{len(report.fields)} root fields, codes {report.codes.most_common(8)}, slowest fields "
        f"{[(n, round(t, 2)) for n, t in report.field_seconds.most_common(6)]}"
    )
    assert report.failures == [], json.dumps(report.failures[:5], indent=1, default=str)
    assert dict(report.operations) == dict.fromkeys(IDENTITIES, PER_IDENTITY)
    # The generator reaches most of the schema and most answers are not mere refusals.
    assert len(report.fields) >= 40
    assert report.answered_data >= PER_IDENTITY


# -- what the fuzzer found, kept as plain regressions ------------------------------------------

SUMMARY = """
query($filter: InvoiceFilter) {
  billingSummary(filter: $filter) { totals { invoiceCount } }
}"""
INVOICES = "query($filter: InvoiceFilter) { invoices(filter: $filter) { totalCount } }"


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Fuzzée")


def _codes(result: Any) -> list[tuple[str, Any]]:
    return [(e.extensions["code"], e.extensions.get("field")) for e in result.errors or []]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01"])
async def test_a_date_beyond_the_years_a_business_date_has_is_invalid(
    runner: Runner, world: World, day: str
) -> None:
    # Was INTERNAL_ERROR: a window of months before year 1 left Python's date range.
    for document in (SUMMARY, INVOICES):
        result = await runner.raw(
            document, {"filter": {"accountingDateTo": day}}, as_user=world.people["ADMIN"]
        )
        assert [code for code, _ in _codes(result)] == ["INVALID"], result.errors


async def test_the_edge_years_are_accepted(runner: Runner, world: World) -> None:
    for day in ("1900-01-01", "2199-12-31"):
        result = await runner.raw(
            INVOICES,
            {"filter": {"accountingDateFrom": day, "accountingDateTo": day}},
            as_user=world.people["ADMIN"],
        )
        assert result.errors is None
        assert result.data == {"invoices": {"totalCount": 0}}


@pytest.mark.parametrize(
    ("amount", "refused"),
    [("999999999999.99", False), ("1000000000000.00", True), ("-99999999999999999999.99", True)],
)
async def test_an_amount_bound_beyond_the_columns_is_invalid(
    runner: Runner, world: World, amount: str, refused: bool
) -> None:
    # Was INTERNAL_ERROR on SQLite: the bound overflowed the scaled 64-bit integer column.
    for name in ("minTotalInclTax", "maxTotalInclTax"):
        result = await runner.raw(
            SUMMARY, {"filter": {name: amount}}, as_user=world.people["ADMIN"]
        )
        if refused:
            assert _codes(result) == [("INVALID", name)], result.errors
        else:
            assert result.errors is None


def _node_types() -> list[str]:
    from api.schema.schema import build_schema

    schema = build_schema()._schema
    node = schema.get_type("Node")
    return sorted(t.name for t in schema.get_possible_types(node))  # type: ignore[arg-type]


@pytest.mark.parametrize("type_name", _node_types())
@pytest.mark.parametrize("key", ["9" * 30, str(2**31), "²", "-1", "0x1"])
async def test_node_of_every_type_answers_null_for_a_key_that_cannot_exist(
    runner: Runner, world: World, type_name: str, key: str
) -> None:
    # Was INTERNAL_ERROR for TechnicalRequest and SelfCareRequest: int() of a key beyond the
    # column's range reached the driver, or of "²" (a digit to str.isdigit, not to int).
    global_id = base64.b64encode(f"{type_name}:{key}".encode()).decode()
    result = await runner.raw(
        "query($id: ID!) { node(id: $id) { id } }", {"id": global_id}, as_user=world.people["ADMIN"]
    )
    assert result.errors is None, result.errors
    assert result.data == {"node": None}
