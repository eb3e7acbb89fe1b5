"""The invoice queries: the list, one invoice, the billing summary, the per-site history and
the home summary. Each handles its arguments, then calls a resolver."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry import relay

from api.graphql.enums import described_enum
from api.graphql.ids import pk_of
from api.graphql.lookahead import selects
from api.graphql.pagination import After, Connection, First, connection
from api.graphql.permissions import IsAuthenticated
from api.graphql.scalars import Month
from api.resolvers import invoices
from api.resolvers.cursors import decode_cursor, encode_cursor, page_size
from api.resolvers.invoices import InvoiceOrder
from api.schema.invoices.filters import InvoiceFilter, to_query
from api.schema.invoices.summaries import (
    AccountBillingTotals,
    BillingSummary,
    BillingTotals,
    HomeBillingSummary,
    MonthBillingTotals,
    SiteBillingEntry,
    SiteBillingHistory,
)
from api.schema.invoices.types import Invoice
from domain import billing
from domain.calendar import paris_date
from domain.errors import Refusal

described_enum(
    InvoiceOrder,
    {
        InvoiceOrder.ACCOUNTING_DATE_DESC: "Par date comptable, la plus récente d'abord.",
        InvoiceOrder.ACCOUNTING_DATE_ASC: "Par date comptable, la plus ancienne d'abord.",
        InvoiceOrder.TOTAL_INCL_TAX_DESC: "Par montant TTC, le plus élevé d'abord.",
        InvoiceOrder.TOTAL_INCL_TAX_ASC: "Par montant TTC, le plus faible d'abord.",
        InvoiceOrder.NUMBER_ASC: "Par numéro de facture, croissant.",
        InvoiceOrder.NUMBER_DESC: "Par numéro de facture, décroissant.",
    },
    description="Tri de la liste des factures.",
)


async def invoices_page(
    ctx: Any,
    first: int | None,
    after: str | None,
    filter: InvoiceFilter | None,
    order_by: InvoiceOrder,
    *,
    with_lines: bool,
    with_sites: bool,
    with_count: bool,
    line_columns: tuple[str, ...] | None = None,
) -> tuple[invoices.InvoicePage, list[Any] | None]:
    """The `invoices` field's page from its arguments (the compiled path runs it too)."""
    size = page_size(first)
    cursor = decode_cursor(after)
    query = invoices.bounded(
        to_query(filter), today=paris_date(ctx.now), max_months=billing.MAX_SEARCH_MONTHS
    )
    page = await invoices.list_invoices(
        ctx.sessions,
        ctx.perimeter,
        query,
        order=order_by,
        first=size,
        after=cursor,
        with_lines=with_lines,
        with_sites=with_sites,
        with_count=with_count,
        line_columns=line_columns,
    )
    return page, cursor


@strawberry.type
class InvoiceQueries:
    @strawberry.field(
        description="Les factures de votre périmètre. Une recherche couvre 12 mois au plus "
        "(PERIOD_TOO_LONG au-delà), sauf filtrée sur un site, un numéro ou des factures "
        "précises ; sans période, les 12 derniers mois.",
        permission_classes=[IsAuthenticated],
    )
    async def invoices(
        self,
        info: strawberry.Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            InvoiceFilter | None,
            strawberry.argument(description="Filtre ; les 12 derniers mois s'il est absent."),
        ] = None,
        order_by: Annotated[
            InvoiceOrder, strawberry.argument(description="Ordre de la liste.")
        ] = InvoiceOrder.ACCOUNTING_DATE_DESC,
    ) -> Connection[Invoice] | None:
        page, cursor = await invoices_page(
            info.context,
            first,
            after,
            filter,
            order_by,
            with_lines=selects(info, "edges", "node", "lines")
            or selects(info, "edges", "node", "vatBreakdown"),
            with_sites=selects(info, "edges", "node", "sites"),
            with_count=selects(info, "totalCount"),
        )
        return connection(
            [Invoice.from_detail(d) for d in page.invoices],
            [encode_cursor(*c) for c in page.cursors],
            total_count=page.total_count if page.total_count is not None else -1,
            has_next_page=page.has_next_page,
            has_previous_page=cursor is not None,
        )

    @strawberry.field(
        description="Une facture par son numéro ; null si elle est inconnue ou hors périmètre.",
        permission_classes=[IsAuthenticated],
    )
    async def invoice(
        self,
        info: strawberry.Info,
        number: Annotated[str, strawberry.argument(description="Numéro de la facture.")],
    ) -> Invoice | None:
        ctx = info.context
        found = await invoices.invoice_by_number(ctx.sessions, ctx.perimeter, number)
        return Invoice.from_detail(found) if found is not None else None

    @strawberry.field(
        description="Bilan de facturation : totaux HT, TTC et kWh par mois et par compte de "
        "contrat, annulations déduites. La période est faite de mois calendaires entiers "
        "(chaque date du filtre vaut pour son mois), 6 au plus, même filtrée sur un site "
        "(PERIOD_TOO_LONG au-delà) ; par défaut le mois en cours et les 5 précédents. Chaque "
        "facture compte dans le mois de sa date comptable. Filtré sur un site, le bilan "
        "compte la part de ce site dans chaque facture, non la facture multi-sites entière.",
        permission_classes=[IsAuthenticated],
    )
    async def billing_summary(
        self,
        info: strawberry.Info,
        filter: Annotated[
            InvoiceFilter | None,
            strawberry.argument(
                description="Filtre ; le mois en cours et les 5 précédents s'il est absent."
            ),
        ] = None,
    ) -> BillingSummary | None:
        ctx = info.context
        summary = await invoices.billing_summary(
            ctx.sessions, ctx.perimeter, to_query(filter), today=paris_date(ctx.now)
        )
        return BillingSummary(
            accounting_date_from=summary.accounting_from,
            accounting_date_to=summary.accounting_to,
            totals=BillingTotals.of(summary.totals),
            by_month=[
                MonthBillingTotals(month=Month(m.month), totals=BillingTotals.of(m.totals))
                for m in summary.by_month
            ],
            by_billing_account=[
                AccountBillingTotals(
                    billing_account_number=a.number,
                    invoice_label=a.invoice_label,
                    totals=BillingTotals.of(a.totals),
                    billing_account_pk=a.billing_account_id,
                )
                for a in summary.by_billing_account
            ],
        )

    @strawberry.field(
        description="Suivi par compteur : chaque facture d'un site et le cumul ; null si le "
        "site est inconnu ou hors périmètre.",
        permission_classes=[IsAuthenticated],
    )
    async def site_billing_history(
        self,
        info: strawberry.Info,
        site_id: Annotated[relay.GlobalID, strawberry.argument(description="Le site.")],
        accounting_date_from: Annotated[
            date | None, strawberry.argument(description="Première date comptable incluse.")
        ] = None,
        accounting_date_to: Annotated[
            date | None, strawberry.argument(description="Dernière date comptable incluse.")
        ] = None,
    ) -> SiteBillingHistory | None:
        ctx = info.context
        try:
            pk = pk_of(site_id, "Site", "siteId")
        except Refusal:
            return None
        history = await invoices.site_history(
            ctx.sessions,
            ctx.perimeter,
            site_id=pk,
            accounting_from=accounting_date_from,
            accounting_to=accounting_date_to,
        )
        if history is None:
            return None
        return SiteBillingHistory(
            point_number=history.point_number,
            entries=[
                SiteBillingEntry(
                    invoice_number=e.number,
                    kind=e.kind,
                    accounting_date=e.accounting_date,
                    period_start=e.period_start,
                    period_end=e.period_end,
                    subscription_amount=e.subscription_amount,
                    consumption_kwh=e.consumption_kwh,
                    consumption_amount=e.consumption_amount,
                    transport_amount=e.transport_amount,
                    taxes_amount=e.taxes_amount,
                    total_excl_tax=e.total_excl_tax,
                    total_incl_tax=e.total_incl_tax,
                    cumulated_total_excl_tax=e.cumulated_total_excl_tax,
                    cumulated_total_incl_tax=e.cumulated_total_incl_tax,
                    invoice_pk=e.invoice_id,
                )
                for e in history.entries
            ],
        )

    @strawberry.field(
        description="Accueil : kWh et montants facturés sur votre périmètre pendant les trois "
        "derniers mois calendaires, chaque facture comptée dans le mois de sa date comptable "
        "(la règle par défaut de perimeterConsumption).",
        permission_classes=[IsAuthenticated],
    )
    async def home_billing_summary(self, info: strawberry.Info) -> HomeBillingSummary:
        ctx = info.context
        months = await invoices.home_summary(ctx.sessions, ctx.perimeter, today=paris_date(ctx.now))
        total = invoices.Totals(
            sum(m.totals.invoice_count for m in months),
            sum(m.totals.consumption_kwh for m in months),
            sum((m.totals.total_excl_tax for m in months), Decimal("0.00")),
            sum((m.totals.total_incl_tax for m in months), Decimal("0.00")),
        )
        return HomeBillingSummary(
            months=[
                MonthBillingTotals(month=Month(m.month), totals=BillingTotals.of(m.totals))
                for m in months
            ],
            totals=BillingTotals.of(total),
        )
