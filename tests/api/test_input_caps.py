"""A list argument may declare its own cap where it is declared (`max_items` metadata): the
input layer holds `InvoiceFilter.invoiceIds` to 500 (a zip of PDFs), every other list to the
default 100, by variable and by literal alike."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.factories import World, make_world
from tests.ids import gid
from tests.runner import Runner

EXPORT_BY_VARIABLE = """
mutation($ids: [ID!]) {
  exportInvoicePdfs(input: {filter: {invoiceIds: $ids}}) { url errors { code field } }
}"""
EXPORT_BY_INPUT = """
mutation($input: ExportInvoicePdfsInput!) {
  exportInvoicePdfs(input: $input) { url errors { code field } }
}"""
INVOICES = "query($filter: InvoiceFilter) { invoices(filter: $filter) { totalCount } }"


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Plafonds")


def _ids(kind: str, count: int) -> list[str]:
    return [gid(kind, 10**9 + n) for n in range(count)]


def _top_codes(result: Any) -> list[str]:
    return [e.extensions["code"] for e in result.errors or []]


def _literal(ids: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in ids) + "]"


@pytest.mark.parametrize(("count", "refused"), [(500, False), (501, True)])
async def test_invoice_ids_take_500(
    runner: Runner, world: World, count: int, refused: bool
) -> None:
    ids = _ids("Invoice", count)
    admin = world.people["ADMIN"]
    answers = [
        await runner.raw(EXPORT_BY_VARIABLE, {"ids": ids}, as_user=admin),
        await runner.raw(
            EXPORT_BY_INPUT, {"input": {"filter": {"invoiceIds": ids}}}, as_user=admin
        ),
        await runner.raw(INVOICES, {"filter": {"invoiceIds": ids}}, as_user=admin),
        await runner.raw(
            "mutation { exportInvoicePdfs(input: {filter: {invoiceIds: "
            + _literal(ids)
            + "}}) { url errors { code } } }",
            as_user=admin,
        ),
    ]
    for result in answers:
        if refused:
            assert _top_codes(result) == ["TOO_MANY_ITEMS"] and result.data is None
            assert "500" in result.errors[0].message
        else:
            # Past the input layer: the IDs are simply not found (no invoice, no zip).
            assert "TOO_MANY_ITEMS" not in _top_codes(result), result.errors


@pytest.mark.parametrize(("count", "refused"), [(100, False), (101, True)])
async def test_the_other_lists_of_the_same_filter_keep_100(
    runner: Runner, world: World, count: int, refused: bool
) -> None:
    ids = _ids("BillingAccount", count)
    admin = world.people["ADMIN"]
    answers = [
        await runner.raw(INVOICES, {"filter": {"billingAccountIds": ids}}, as_user=admin),
        await runner.raw(
            "query { invoices(filter: {billingAccountIds: " + _literal(ids) + "}) { totalCount } }",
            as_user=admin,
        ),
        # the same variable feeding a 500 list and a 100 list: the tighter cap holds
        await runner.raw(
            "query($ids: [ID!]) { a: invoices(filter: {invoiceIds: $ids}) { totalCount } "
            "b: invoices(filter: {billingAccountIds: $ids}) { totalCount } }",
            {"ids": ids},
            as_user=admin,
        ),
    ]
    for result in answers:
        if refused:
            assert _top_codes(result) == ["TOO_MANY_ITEMS"] and result.data is None
        else:
            assert "TOO_MANY_ITEMS" not in _top_codes(result), result.errors
