"""Invoices: the list with its filters, the detail, the PDFs, the billing summary, the
per-meter history, the home summary and the billing file.

An invoice is reachable when its billing account is in the caller's perimeter; anything else
resolves like an unknown invoice. The list looks ahead at the selection: lines and per-site
rows are loaded for the whole page in one statement each, and are plain fields afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Self

import strawberry
from strawberry import relay
from strawberry.types.nodes import FragmentSpread, InlineFragment

from api.graphql.downloads import signed_file_url
from api.graphql.errors import UserError, attempt, query_error
from api.graphql.ids import pk_of, pks_of
from api.graphql.loaders import node_by_id_loader, request_loader
from api.graphql.pagination import Connection, connection
from api.graphql.permissions import IsAuthenticated
from api.resolvers import billing_file, invoice_pdfs, invoices
from api.resolvers.cursors import decode_cursor, encode_cursor, page_size
from api.resolvers.invoices import InvoiceDetail, InvoiceQuery
from api.schema.enums import Energy, InvoiceDelivery
from api.schema.portfolio import BillingAccount, Site
from domain import billing, enums
from domain.calendar import paris_date
from domain.errors import Refusal

InvoiceKind = strawberry.enum(
    enums.InvoiceKind, description="Nature d'une facture : facture, annulation ou avoir."
)
IndexBasis = strawberry.enum(
    enums.IndexBasis, description="Facture établie sur index réels ou estimés."
)
EditionStatus = strawberry.enum(enums.EditionStatus, description="État d'édition d'une facture.")
PaymentStatus = strawberry.enum(enums.PaymentStatus, description="État de paiement d'une facture.")
InvoiceComponent = strawberry.enum(
    enums.InvoiceComponent, description="Composante d'une ligne de facture."
)
InvoiceOrder = strawberry.enum(invoices.InvoiceOrder, description="Tri de la liste des factures.")
BillingFileFormat = strawberry.enum(
    billing_file.BillingFileFormat, description="Format du fichier de facturation."
)


@strawberry.type(description="Une ligne de facture : une composante, ou la TVA d'un taux.")
class InvoiceLine:
    position: int = strawberry.field(description="Rang d'impression.")
    component: InvoiceComponent = strawberry.field(description="Composante.")
    label: str = strawberry.field(description="Libellé imprimé.")
    quantity: Decimal | None = strawberry.field(description="Quantité (kWh, mois, kVA.mois…).")
    unit: str | None = strawberry.field(description="Unité de la quantité.")
    unit_price: Decimal | None = strawberry.field(description="Prix unitaire HT.")
    vat_rate: Decimal = strawberry.field(description="Taux de TVA en % (5.50 ou 20.00).")
    vat_base: Decimal | None = strawberry.field(description="Base HT, sur une ligne de TVA.")
    amount: Decimal = strawberry.field(description="Montant HT, ou la TVA sur une ligne de TVA.")

    @classmethod
    def from_row(cls, r: Any) -> Self:
        return cls(
            position=r.position,
            component=r.component,
            label=r.label,
            quantity=r.quantity,
            unit=r.unit,
            unit_price=r.unit_price,
            vat_rate=r.vat_rate,
            vat_base=r.vat_base,
            amount=r.amount,
        )


@strawberry.type(description="La TVA d'un taux et sa base.")
class VatAmount:
    rate: Decimal = strawberry.field(description="Taux en %.")
    base: Decimal = strawberry.field(description="Base HT.")
    amount: Decimal = strawberry.field(description="Montant de TVA.")


@strawberry.type(description="Index imprimé d'un poste horaire.")
class PrintedRegisterIndex:
    register: str = strawberry.field(description="Poste horaire (BASE, HP, HC…).")
    previous: int | None = strawberry.field(description="Index précédent.")
    current: int | None = strawberry.field(description="Nouvel index.")


@strawberry.type(description="La part d'un site dans une facture (multi-sites ou non).")
class InvoiceSiteShare:
    point_number: str = strawberry.field(description="PRM/PDL ou PCE du site.")
    internal_code: str | None = strawberry.field(description="Code interne du client.")
    designation: str | None = strawberry.field(description="Désignation du client.")
    meter_serial: str | None = strawberry.field(description="Compteur relevé.")
    previous_index_on: date | None = strawberry.field(description="Date de l'index précédent.")
    current_index_on: date | None = strawberry.field(description="Date du nouvel index.")
    register_indexes: list[PrintedRegisterIndex] = strawberry.field(description="Index par poste.")
    index_basis: IndexBasis = strawberry.field(description="Index réels ou estimés.")
    consumption_kwh: int = strawberry.field(description="Consommation facturée (kWh).")
    subscription_amount: Decimal = strawberry.field(description="Abonnement HT.")
    energy_amount: Decimal = strawberry.field(
        description="Énergie HT (fourniture, capacité, CEE, régularisation)."
    )
    transport_amount: Decimal = strawberry.field(description="Acheminement HT.")
    taxes_amount: Decimal = strawberry.field(description="Taxes et contributions (CTA, accise…).")
    total_excl_tax: Decimal = strawberry.field(description="Total HT du site.")
    vat_amount: Decimal = strawberry.field(description="TVA du site.")
    total_incl_tax: Decimal = strawberry.field(description="Total TTC du site.")
    site_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: Any) -> Self:
        return cls(
            point_number=r.point_number,
            internal_code=r.internal_code,
            designation=r.designation,
            meter_serial=r.meter_serial,
            previous_index_on=r.previous_index_on,
            current_index_on=r.current_index_on,
            register_indexes=[
                PrintedRegisterIndex(
                    register=str(x.get("register", "")),
                    previous=x.get("previous"),
                    current=x.get("current"),
                )
                for x in r.register_indexes or []
            ],
            index_basis=r.index_basis,
            consumption_kwh=r.consumption_kwh,
            subscription_amount=r.subscription_amount,
            energy_amount=r.energy_amount,
            transport_amount=r.transport_amount,
            taxes_amount=r.taxes_amount,
            total_excl_tax=r.total_excl_tax,
            vat_amount=r.vat_amount,
            total_incl_tax=r.total_incl_tax,
            site_id=r.site_id,
        )

    @strawberry.field(description="Le site, s'il est dans votre périmètre.")
    async def site(self, info: strawberry.Info) -> Site | None:
        row = await node_by_id_loader(info.context, "Site").load(self.site_id)
        return Site.from_row(row) if row is not None else None


@strawberry.type(description="Facture, facture d'annulation ou avoir d'un compte de contrat.")
class Invoice(relay.Node):
    id: relay.NodeID[int]
    number: str = strawberry.field(description="Numéro de facture (FA…, AV…, AN…).")
    kind: InvoiceKind = strawberry.field(description="Facture, annulation ou avoir.")
    energy: Energy = strawberry.field(description="Énergie facturée.")
    accounting_date: date = strawberry.field(description="Date comptable (date de facture).")
    period_start: date = strawberry.field(description="Début de la période facturée.")
    period_end: date = strawberry.field(description="Fin de la période facturée.")
    index_basis: IndexBasis = strawberry.field(description="Index réels ou estimés.")
    consumption_kwh: int = strawberry.field(
        description="Consommation facturée (kWh ; négative sur une régularisation)."
    )
    total_excl_tax: Decimal = strawberry.field(description="Total HT.")
    vat_reduced: Decimal = strawberry.field(description="TVA à 5,5 %.")
    vat_standard: Decimal = strawberry.field(description="TVA à 20 %.")
    total_incl_tax: Decimal = strawberry.field(description="Total TTC.")
    due_date: date = strawberry.field(description="Date d'échéance.")
    delivery_mode: InvoiceDelivery = strawberry.field(description="Mode d'envoi.")
    edition_status: EditionStatus = strawberry.field(description="État d'édition.")
    payment_status: PaymentStatus = strawberry.field(description="État de paiement.")
    billing_account_number: str = strawberry.field(description="Numéro du compte de contrat.")
    invoice_label: str = strawberry.field(description="Libellé de facture du compte.")
    billing_account_id: strawberry.Private[int]
    cancels_invoice_id: strawberry.Private[int | None]
    line_rows: strawberry.Private[list[Any] | None]
    site_rows: strawberry.Private[list[Any] | None]

    @classmethod
    def from_detail(cls, d: InvoiceDetail) -> Self:
        r = d.row
        return cls(
            id=r.id,
            number=r.number,
            kind=r.kind,
            energy=r.energy,
            accounting_date=r.accounting_date,
            period_start=r.period_start,
            period_end=r.period_end,
            index_basis=r.index_basis,
            consumption_kwh=r.consumption_kwh,
            total_excl_tax=r.total_excl_tax,
            vat_reduced=r.vat_reduced,
            vat_standard=r.vat_standard,
            total_incl_tax=r.total_incl_tax,
            due_date=r.due_date,
            delivery_mode=r.delivery_mode,
            edition_status=r.edition_status,
            payment_status=r.payment_status,
            billing_account_number=r.billing_account_number,
            invoice_label=r.invoice_label,
            billing_account_id=r.billing_account_id,
            cancels_invoice_id=r.cancels_invoice_id,
            line_rows=d.lines,
            site_rows=d.sites,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [int(i) if str(i).isdigit() else None for i in node_ids]
        found = await invoices.load_invoices(info.context.sessions, info.context.perimeter, ids)
        return [cls.from_detail(d) if d is not None else None for d in found]

    @strawberry.field(description="Les lignes, dans l'ordre d'impression (TVA comprise).")
    def lines(self) -> list[InvoiceLine]:
        return [InvoiceLine.from_row(r) for r in self.line_rows or []]

    @strawberry.field(description="La TVA par taux, avec sa base.")
    def vat_breakdown(self) -> list[VatAmount]:
        return [
            VatAmount(rate=r.vat_rate, base=r.vat_base, amount=r.amount)
            for r in self.line_rows or []
            if r.component == enums.InvoiceComponent.VAT
        ]

    @strawberry.field(description="La part de chaque site (une seule sur une facture mono-site).")
    def sites(self) -> list[InvoiceSiteShare]:
        return [InvoiceSiteShare.from_row(r) for r in self.site_rows or []]

    @strawberry.field(description="Le compte de contrat facturé.")
    async def billing_account(self, info: strawberry.Info) -> BillingAccount | None:
        row = await node_by_id_loader(info.context, "BillingAccount").load(self.billing_account_id)
        return BillingAccount.from_row(row) if row is not None else None

    @strawberry.field(description="La facture que celle-ci annule (facture d'annulation).")
    async def cancels_invoice(self, info: strawberry.Info) -> Invoice | None:
        if self.cancels_invoice_id is None:
            return None
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[Any]:
            return await invoices.load_invoices(ctx.sessions, ctx.perimeter, ids)

        found = await request_loader(info.context, "InvoiceByIdLoader", load).load(
            self.cancels_invoice_id
        )
        return Invoice.from_detail(found) if found is not None else None

    @strawberry.field(description="La facture d'annulation qui annule celle-ci, s'il y en a une.")
    async def cancelled_by(self, info: strawberry.Info) -> Invoice | None:
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[Any]:
            return await invoices.load_invoices(ctx.sessions, ctx.perimeter, ids, by="cancels")

        found = await request_loader(info.context, "InvoiceByCancelledIdLoader", load).load(self.id)  # type: ignore[arg-type]
        return Invoice.from_detail(found) if found is not None else None

    @strawberry.field(
        description="Lien signé vers le PDF de la facture, valable quelques minutes (celui du "
        "système de facturation, sinon rendu à partir des données de la facture)."
    )
    async def pdf_url(self, info: strawberry.Info) -> str | None:
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[str | None]:
            keys = await invoice_pdfs.ensure_pdfs(ctx.sessions, ctx.settings, ctx.perimeter, ids)
            return [keys.get(i) for i in ids]

        key = await request_loader(info.context, "InvoicePdfKeyByIdLoader", load).load(self.id)  # type: ignore[arg-type]
        return signed_file_url(ctx.settings, key) if key else None


@strawberry.input(description="Filtre des factures (liste, bilans, exports).")
class InvoiceFilter:
    accounting_date_from: date | None = strawberry.field(
        default=None, description="Date comptable à partir de (incluse)."
    )
    accounting_date_to: date | None = strawberry.field(
        default=None, description="Date comptable jusqu'à (incluse) ; par défaut aujourd'hui."
    )
    billing_account_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Les comptes de contrat (100 au plus)."
    )
    site_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Un site : la période n'est alors pas limitée à 12 mois."
    )
    invoice_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Des factures précises (500 au plus)."
    )
    kinds: list[InvoiceKind] | None = strawberry.field(
        default=None, description="Natures : facture, annulation, avoir."
    )
    index_basis: IndexBasis | None = strawberry.field(
        default=None, description="Index réels ou estimés."
    )
    delivery_mode: InvoiceDelivery | None = strawberry.field(
        default=None, description="Mode d'envoi."
    )
    edition_status: EditionStatus | None = strawberry.field(
        default=None, description="État d'édition."
    )
    payment_status: PaymentStatus | None = strawberry.field(
        default=None, description="État de paiement."
    )
    energy: Energy | None = strawberry.field(default=None, description="Énergie.")
    number: str | None = strawberry.field(
        default=None, description="Numéro de facture exact (la période n'est alors pas limitée)."
    )
    min_total_incl_tax: Decimal | None = strawberry.field(
        default=None, description="Montant TTC minimal."
    )
    max_total_incl_tax: Decimal | None = strawberry.field(
        default=None, description="Montant TTC maximal."
    )


MAX_IDS = 100


def to_query(f: InvoiceFilter | None) -> InvoiceQuery:
    """The resolver's query from the GraphQL filter (IDs of the wrong type → not found)."""
    if f is None:
        return InvoiceQuery()
    if len(f.billing_account_ids or []) > MAX_IDS:
        raise Refusal(
            invoices.ErrorCode.TOO_MANY_ITEMS,
            f"{MAX_IDS} comptes de contrat au plus.",
            field="billingAccountIds",
        )
    if len(f.invoice_ids or []) > billing.MAX_PDF_EXPORT:
        raise Refusal(
            invoices.ErrorCode.TOO_MANY_ITEMS,
            f"{billing.MAX_PDF_EXPORT} factures au plus.",
            field="invoiceIds",
        )
    return InvoiceQuery(
        accounting_from=f.accounting_date_from,
        accounting_to=f.accounting_date_to,
        billing_account_ids=(
            tuple(pks_of(f.billing_account_ids, "BillingAccount", "billingAccountIds"))
            if f.billing_account_ids is not None
            else None
        ),
        invoice_ids=(
            tuple(pks_of(f.invoice_ids, "Invoice", "invoiceIds"))
            if f.invoice_ids is not None
            else None
        ),
        site_id=pk_of(f.site_id, "Site", "siteId"),
        kinds=tuple(enums.InvoiceKind(k) for k in f.kinds or ()),
        index_basis=f.index_basis,  # type: ignore[arg-type]
        delivery_mode=f.delivery_mode,  # type: ignore[arg-type]
        edition_status=f.edition_status,  # type: ignore[arg-type]
        payment_status=f.payment_status,  # type: ignore[arg-type]
        energy=f.energy,  # type: ignore[arg-type]
        number=f.number,
        min_total_incl_tax=f.min_total_incl_tax,
        max_total_incl_tax=f.max_total_incl_tax,
    )


def _children(selections: Iterable[Any], name: str) -> list[Any] | None:
    """The sub-selections of field `name` at this level (fragments flattened), None if absent."""
    found: list[Any] | None = None
    for s in selections:
        if isinstance(s, FragmentSpread | InlineFragment):
            inner = _children(s.selections, name)
            if inner is not None:
                found = (found or []) + inner
        elif s.name == name:
            found = (found or []) + list(s.selections)
    return found


def selects(info: strawberry.Info, *path: str) -> bool:
    """Whether the current field's selection reaches `path` (e.g. edges → node → lines)."""
    level: list[Any] | None = list(info.selected_fields[0].selections)
    for name in path:
        level = _children(level or [], name)
        if level is None:
            return False
    return True


@strawberry.type(description="Totaux d'un ensemble de factures (annulations déduites).")
class BillingTotals:
    invoice_count: int = strawberry.field(description="Nombre de factures.")
    consumption_kwh: int = strawberry.field(description="Consommation facturée (kWh).")
    total_excl_tax: Decimal = strawberry.field(description="Total HT.")
    total_incl_tax: Decimal = strawberry.field(description="Total TTC.")

    @classmethod
    def of(cls, t: invoices.Totals) -> Self:
        return cls(
            invoice_count=t.invoice_count,
            consumption_kwh=t.consumption_kwh,
            total_excl_tax=t.total_excl_tax,
            total_incl_tax=t.total_incl_tax,
        )


@strawberry.type(description="Totaux d'un mois comptable.")
class MonthBillingTotals:
    month: date = strawberry.field(description="Premier jour du mois.")
    totals: BillingTotals = strawberry.field(description="Totaux du mois.")


@strawberry.type(description="Totaux d'un compte de contrat.")
class AccountBillingTotals:
    billing_account_number: str = strawberry.field(description="Numéro du compte de contrat.")
    invoice_label: str = strawberry.field(description="Libellé de facture.")
    totals: BillingTotals = strawberry.field(description="Totaux du compte.")
    billing_account_pk: strawberry.Private[int]

    @strawberry.field(description="Identifiant global du compte de contrat.")
    def billing_account_id(self) -> relay.GlobalID:
        return relay.GlobalID("BillingAccount", str(self.billing_account_pk))


@strawberry.type(description="Bilan de facturation sur 6 mois au plus.")
class BillingSummary:
    accounting_date_from: date = strawberry.field(description="Début de la période retenue.")
    accounting_date_to: date = strawberry.field(description="Fin de la période retenue.")
    totals: BillingTotals = strawberry.field(description="Totaux de la période.")
    by_month: list[MonthBillingTotals] = strawberry.field(description="Totaux par mois.")
    by_billing_account: list[AccountBillingTotals] = strawberry.field(
        description="Totaux par compte de contrat."
    )


@strawberry.type(description="Une facture dans le suivi par compteur d'un site.")
class SiteBillingEntry:
    invoice_number: str = strawberry.field(description="Numéro de facture.")
    kind: InvoiceKind = strawberry.field(description="Nature de la facture.")
    accounting_date: date = strawberry.field(description="Date comptable.")
    period_start: date = strawberry.field(description="Début de période.")
    period_end: date = strawberry.field(description="Fin de période.")
    subscription_amount: Decimal = strawberry.field(description="Abonnement HT.")
    consumption_kwh: int = strawberry.field(description="Consommation (kWh).")
    consumption_amount: Decimal = strawberry.field(description="Consommation HT (€).")
    transport_amount: Decimal = strawberry.field(description="Acheminement HT.")
    taxes_amount: Decimal = strawberry.field(description="Taxes et contributions.")
    total_excl_tax: Decimal = strawberry.field(description="Total HT.")
    total_incl_tax: Decimal = strawberry.field(description="Total TTC.")
    cumulated_total_excl_tax: Decimal = strawberry.field(description="Cumul HT.")
    cumulated_total_incl_tax: Decimal = strawberry.field(description="Cumul TTC.")
    invoice_pk: strawberry.Private[int]

    @strawberry.field(description="Identifiant global de la facture.")
    def invoice_id(self) -> relay.GlobalID:
        return relay.GlobalID("Invoice", str(self.invoice_pk))


@strawberry.type(description="Suivi de facturation d'un site (« suivi par compteur »).")
class SiteBillingHistory:
    point_number: str = strawberry.field(description="PRM/PDL ou PCE.")
    entries: list[SiteBillingEntry] = strawberry.field(
        description="Les factures du site, de la plus ancienne à la plus récente."
    )


@strawberry.type(description="Résumé de l'accueil : facturé sur les trois derniers mois.")
class HomeBillingSummary:
    months: list[MonthBillingTotals] = strawberry.field(
        description="Les trois derniers mois (le mois en cours compris), du plus ancien."
    )
    totals: BillingTotals = strawberry.field(description="Total des trois mois.")


def _refused(refusal: Refusal) -> Exception:
    return query_error(refusal)


@strawberry.type
class InvoiceQueries:
    @strawberry.field(
        description="Les factures de votre périmètre. Une recherche couvre 12 mois au plus "
        "(PERIOD_TOO_LONG au-delà), sauf filtrée sur un site ou un numéro ; sans période, "
        "les 12 derniers mois.",
        permission_classes=[IsAuthenticated],
    )
    async def invoices(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: InvoiceFilter | None = None,
        order_by: InvoiceOrder = InvoiceOrder.ACCOUNTING_DATE_DESC,  # type: ignore[assignment]
    ) -> Connection[Invoice]:
        ctx = info.context
        try:
            size = page_size(first)
            cursor = decode_cursor(after)
            query = invoices.bounded(
                to_query(filter),
                today=paris_date(ctx.now),
                max_months=billing.MAX_SEARCH_MONTHS,
            )
            page = await invoices.list_invoices(
                ctx.sessions,
                ctx.perimeter,
                query,
                order=invoices.InvoiceOrder(order_by),
                first=size,
                after=cursor,
                with_lines=selects(info, "edges", "node", "lines")
                or selects(info, "edges", "node", "vatBreakdown"),
                with_sites=selects(info, "edges", "node", "sites"),
                with_count=selects(info, "totalCount"),
            )
        except Refusal as refusal:
            raise _refused(refusal) from None
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
    async def invoice(self, info: strawberry.Info, number: str) -> Invoice | None:
        ctx = info.context
        found = await invoices.invoice_by_number(ctx.sessions, ctx.perimeter, number)
        return Invoice.from_detail(found) if found is not None else None

    @strawberry.field(
        description="Bilan de facturation : totaux HT, TTC et kWh par mois et par compte de "
        "contrat, annulations déduites, sur 6 mois au plus (les 6 derniers par défaut).",
        permission_classes=[IsAuthenticated],
    )
    async def billing_summary(
        self, info: strawberry.Info, filter: InvoiceFilter | None = None
    ) -> BillingSummary:
        ctx = info.context
        try:
            summary = await invoices.billing_summary(
                ctx.sessions,
                ctx.perimeter,
                to_query(filter),
                today=paris_date(ctx.now),
            )
        except Refusal as refusal:
            raise _refused(refusal) from None
        return BillingSummary(
            accounting_date_from=summary.accounting_from,
            accounting_date_to=summary.accounting_to,
            totals=BillingTotals.of(summary.totals),
            by_month=[
                MonthBillingTotals(month=m.month, totals=BillingTotals.of(m.totals))
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
        site_id: relay.GlobalID,
        accounting_date_from: date | None = None,
        accounting_date_to: date | None = None,
    ) -> SiteBillingHistory | None:
        ctx = info.context
        try:
            pk = pk_of(site_id, "Site", "siteId")
        except Refusal:
            return None
        history = await invoices.site_history(
            ctx.sessions,
            ctx.perimeter,
            site_id=pk,  # type: ignore[arg-type]
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
                    kind=e.kind,  # type: ignore[arg-type]
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
        "derniers mois.",
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
                MonthBillingTotals(month=m.month, totals=BillingTotals.of(m.totals)) for m in months
            ],
            totals=BillingTotals.of(total),
        )


@strawberry.input(description="Export des PDF d'un ensemble de factures (500 au plus).")
class ExportInvoicePdfsInput:
    filter: InvoiceFilter = strawberry.field(description="Les factures à exporter.")


@strawberry.input(description="Export du fichier de facturation (une ligne par facture et site).")
class ExportBillingFileInput:
    filter: InvoiceFilter | None = strawberry.field(
        default=None, description="Les factures (12 mois au plus ; les 12 derniers par défaut)."
    )
    format: BillingFileFormat = strawberry.field(
        default=BillingFileFormat.CSV,  # type: ignore[attr-defined]
        description="CSV (séparateur « ; », UTF-8) ou XLSX.",
    )


@strawberry.type(description="Un fichier prêt à télécharger.")
class InvoiceFilePayload:
    url: str | None = strawberry.field(description="Lien signé, valable quelques minutes.")
    expires_at: datetime | None = strawberry.field(description="Expiration du lien.")
    invoice_count: int | None = strawberry.field(description="Factures incluses.")
    row_count: int | None = strawberry.field(description="Lignes écrites (ou PDF dans l'archive).")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


def _file_payload(
    info: strawberry.Info, exported: invoice_pdfs.ExportedFile | None, errors: list[UserError]
) -> InvoiceFilePayload:
    ctx = info.context
    if exported is None:
        return InvoiceFilePayload(
            url=None, expires_at=None, invoice_count=None, row_count=None, errors=errors
        )
    return InvoiceFilePayload(
        url=signed_file_url(ctx.settings, exported.file_key),
        expires_at=ctx.now + timedelta(seconds=ctx.settings.signed_url_ttl_seconds),
        invoice_count=exported.invoice_count,
        row_count=exported.row_count,
        errors=errors,
    )


@strawberry.type
class InvoiceMutations:
    @strawberry.mutation(
        description="Archive zip des PDF des factures du filtre (500 au plus : TOO_MANY_ITEMS "
        "au-delà), en lien signé.",
        permission_classes=[IsAuthenticated],
    )
    async def export_invoice_pdfs(
        self, info: strawberry.Info, input: ExportInvoicePdfsInput
    ) -> InvoiceFilePayload:
        ctx = info.context

        async def work() -> invoice_pdfs.ExportedFile:
            return await invoice_pdfs.export_pdf_zip(
                ctx.sessions,
                ctx.settings,
                ctx.perimeter,
                to_query(input.filter),
                today=paris_date(ctx.now),
            )

        exported, errors = await attempt(work)
        return _file_payload(info, exported, errors)

    @strawberry.mutation(
        description="Fichier de facturation (« Direct View ») : une ligne par facture et par "
        "site avec chaque composante, en CSV ou XLSX, en lien signé.",
        permission_classes=[IsAuthenticated],
    )
    async def export_billing_file(
        self, info: strawberry.Info, input: ExportBillingFileInput
    ) -> InvoiceFilePayload:
        ctx = info.context

        async def work() -> invoice_pdfs.ExportedFile:
            return await billing_file.export_billing_file(
                ctx.sessions,
                ctx.settings,
                ctx.perimeter,
                to_query(input.filter),
                file_format=billing_file.BillingFileFormat(input.format),
                today=paris_date(ctx.now),
            )

        exported, errors = await attempt(work)
        return _file_payload(info, exported, errors)


INVOICE_TYPES: tuple[type, ...] = (Invoice,)
