"""Decimal end to end on the demo data: the invoices summed in SQL and from their lines give
the same cents (the bench does it again on the `full` data)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Invoice, InvoiceLine, InvoiceSite
from demo import DemoReport
from domain.enums import InvoiceComponent

INVOICES = Invoice.__table__  # type: ignore[attr-defined]
LINES = InvoiceLine.__table__  # type: ignore[attr-defined]
SHARES = InvoiceSite.__table__  # type: ignore[attr-defined]


async def test_invoices_sum_to_the_same_cents_in_sql_and_from_their_lines(
    demo_engine: AsyncEngine, demo_report: DemoReport
) -> None:
    async with demo_engine.connect() as connection:
        # given the demo's invoices, summed by the database
        excl, incl = (
            await connection.execute(
                sa.select(
                    sa.func.sum(INVOICES.c.total_excl_tax), sa.func.sum(INVOICES.c.total_incl_tax)
                )
            )
        ).one()
        # and every line, read back as Decimal and summed in Python
        from_lines_excl = from_lines_vat = Decimal("0.00")
        async for component, amount in await connection.stream(
            sa.select(LINES.c.component, LINES.c.amount)
        ):
            assert isinstance(amount, Decimal)
            if component == InvoiceComponent.VAT:
                from_lines_vat += amount
            else:
                from_lines_excl += amount
        # and no invoice whose lines differ from its totals
        per_invoice = (
            sa.select(LINES.c.invoice_id, sa.func.sum(LINES.c.amount).label("total"))
            .group_by(LINES.c.invoice_id)
            .subquery()
        )
        mismatched = (
            await connection.execute(
                sa.select(sa.func.count())
                .select_from(INVOICES.join(per_invoice, per_invoice.c.invoice_id == INVOICES.c.id))
                .where(per_invoice.c.total != INVOICES.c.total_incl_tax)
            )
        ).scalar_one()
        sites_incl = (
            await connection.execute(sa.select(sa.func.sum(SHARES.c.total_incl_tax)))
        ).scalar_one()
    # then the cents are the same everywhere
    assert isinstance(incl, Decimal) and incl > 0
    assert from_lines_excl == excl
    assert from_lines_excl + from_lines_vat == incl
    assert sites_incl == incl
    assert mismatched == 0
