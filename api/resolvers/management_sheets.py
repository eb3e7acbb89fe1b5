"""The annual management sheet ("feuillet de gestion annuel"): per site, 12 consecutive
months of what was billed (supply, transport, taxes, VAT, total including VAT) and the kWh,
with the site's billing account and its invoice grouping, then a total row per billing
account, per member and for the whole sheet; CSV or XLSX through the one table writer.

How the figures are counted: each invoice (credit notes and cancellations included, with
their signs) counts in the month of its accounting date, as on the consumption and billing
summaries, and a site counts its own share of a grouped invoice (`invoice_sites`), never the
whole invoice. Supply is the subscription plus the energy (capacity, CEE and regularisations
included); taxes are the CTA, the excise and the local taxes. A site's figures are summed
under the billing account it belongs to now. Sums are made in SQL, in whole cents.

Two statements: each billing account's number of invoices in the window (each grouped
invoice once; a few thousand pairs), then, streamed, the perimeter's sites (with the filter),
each joined to its monthly sums (one GROUP BY over the window's per-site invoice rows), in
member, account and point order; rows are pivoted as they come, so memory stays flat whatever
the perimeter's size.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.billing_file import _in_cents
from api.resolvers.consumption import Period, check_period
from api.resolvers.filter_scope import check_filter_scope
from api.resolvers.portfolio import SiteCriteria, site_conditions, sites_matching
from db.core import ACCOUNTS, INVOICES, MEMBERS, SHARES, SITES
from db.scoped import Perimeter, scoped_invoice_sites
from documents.tables import Column, Table
from documents.tables import ColumnKind as K
from domain.billing import add_months_clamped
from domain.consumption import format_month, months_of
from domain.errors import ErrorCode, Refusal
from domain.labels import ENERGY_LABELS

MONTHS = 12
PARTITION_ROWS = 2_000  # rows fetched at a time
CHUNK_ROWS = 500  # sheet rows handed to the writer at a time (90 columns each)

# What each month (and the 12 months' total) shows, in order.
FIGURES = ("kWh", "Fourniture HT", "Acheminement HT", "Taxes", "TVA", "Total TTC")
LEVEL_SITE = "Site"
LEVEL_ACCOUNT = "Total compte de contrat"
LEVEL_MEMBER = "Total adhérent"
LEVEL_ALL = "Total général"

FIXED_COLUMNS: tuple[Column, ...] = (
    Column("Ligne", K.TEXT, 22),
    Column("Adhérent", K.TEXT, 36),
    Column("SIREN", K.IDENTIFIER, 11),
    Column("Compte de contrat", K.IDENTIFIER, 16),
    Column("Libellé de facture", K.TEXT, 30),
    Column("Regroupement de facturation", K.TEXT, 24),
    Column("Énergie", K.LABEL, 12, ENERGY_LABELS),
    Column("PRM/PCE", K.IDENTIFIER, 17),
    Column("Code interne", K.TEXT, 16),
    Column("Désignation", K.TEXT, 30),
    Column("Commune", K.TEXT, 24),
    Column("Factures", K.INTEGER),
)
_FIXED = len(FIXED_COLUMNS)
_N = len(FIGURES)


def figure_columns(months: list[date]) -> list[Column]:
    kinds = (K.INTEGER, *[K.MONEY_CENTS] * (_N - 1))
    out = [
        Column(f"{format_month(m)} {figure}", kind)
        for m in months
        for figure, kind in zip(FIGURES, kinds, strict=True)
    ]
    out += [Column(f"12 mois {f}", kind) for f, kind in zip(FIGURES, kinds, strict=True)]
    return out


def grouping_label(is_multi_site: bool, sites: int) -> str:
    return f"Facture groupée ({sites} sites)" if is_multi_site else "Facture par site"


def _account_invoices(perimeter: Perimeter, criteria: SiteCriteria, period: Period) -> Any:
    """Each account's invoices in the window that bill its selected sites, counted once
    however many sites they bill: a few thousand pairs, read before the rows. Joined, not
    `IN (sites)`: SQLite rebuilt the site list per invoice."""
    return (
        scoped_invoice_sites(
            perimeter,
            SITES.c.billing_account_id,
            sa.func.count(sa.distinct(INVOICES.c.id)),
        )
        .join(SITES, SITES.c.id == SHARES.c.site_id)
        .where(
            INVOICES.c.accounting_date >= period.start,
            INVOICES.c.accounting_date <= period.last_day,
            *site_conditions(perimeter, criteria),
        )
        .group_by(SITES.c.billing_account_id)
    )


def _statement(perimeter: Perimeter, criteria: SiteCriteria, period: Period, dialect: str) -> Any:
    year = sa.extract("year", INVOICES.c.accounting_date)
    month = sa.extract("month", INVOICES.c.accounting_date)
    sums = (
        scoped_invoice_sites(
            perimeter,
            SHARES.c.site_id,
            year.label("y"),
            month.label("m"),
            sa.func.count(SHARES.c.id).label("invoices"),
            sa.func.sum(SHARES.c.consumption_kwh).label("kwh"),
            _in_cents(
                sa.func.sum(SHARES.c.subscription_amount + SHARES.c.energy_amount),
                dialect,
                "supply",
            ),
            _in_cents(sa.func.sum(SHARES.c.transport_amount), dialect, "transport"),
            _in_cents(sa.func.sum(SHARES.c.taxes_amount), dialect, "taxes"),
            _in_cents(sa.func.sum(SHARES.c.vat_amount), dialect, "vat"),
            _in_cents(sa.func.sum(SHARES.c.total_incl_tax), dialect, "total"),
        )
        .where(
            INVOICES.c.accounting_date >= period.start,
            INVOICES.c.accounting_date <= period.last_day,
        )
        .group_by(SHARES.c.site_id, year, month)
        .subquery("sums")
    )
    account_sites = (
        sa.select(SITES.c.billing_account_id, sa.func.count(SITES.c.id).label("site_count"))
        .group_by(SITES.c.billing_account_id)
        .subquery("account_sites")
    )
    return (
        sites_matching(
            perimeter,
            criteria,
            SITES.c.id,
            MEMBERS.c.id.label("member_id"),
            MEMBERS.c.legal_name,
            MEMBERS.c.siren,
            ACCOUNTS.c.id.label("account_id"),
            ACCOUNTS.c.number.label("account_number"),
            ACCOUNTS.c.invoice_label,
            ACCOUNTS.c.is_multi_site,
            account_sites.c.site_count,
            sa.type_coerce(SITES.c.energy, sa.String).label("energy"),
            SITES.c.point_number,
            SITES.c.internal_code,
            SITES.c.designation,
            SITES.c.city,
            sums.c.y,
            sums.c.m,
            sums.c.invoices,
            sums.c.kwh,
            sums.c.supply,
            sums.c.transport,
            sums.c.taxes,
            sums.c.vat,
            sums.c.total,
        )
        .select_from(
            SITES.join(ACCOUNTS, ACCOUNTS.c.id == SITES.c.billing_account_id)
            .join(MEMBERS, MEMBERS.c.id == SITES.c.member_id)
            .join(account_sites, account_sites.c.billing_account_id == ACCOUNTS.c.id)
            .outerjoin(sums, sums.c.site_id == SITES.c.id)
        )
        .order_by(
            MEMBERS.c.legal_name,
            MEMBERS.c.id,
            ACCOUNTS.c.number,
            SITES.c.point_number,
            SITES.c.id,
            sums.c.y,
            sums.c.m,
        )
    )


def _head(*cells: Any) -> list[Any]:
    """A row's first cells (all but the invoice count), the missing ones empty."""
    return [*cells, *[None] * (_FIXED - 1 - len(cells))]


@dataclass(slots=True)
class _Total:
    """A running total row: invoice count and the (months + 12-month total) figures."""

    head: list[Any]
    invoices: int = 0
    figures: list[int | None] = field(default_factory=lambda: [None] * ((MONTHS + 1) * _N))

    def add(self, invoices: int, figures: list[int | None]) -> None:
        self.invoices += invoices
        mine = self.figures
        for k, value in enumerate(figures):
            if value is not None:
                held = mine[k]
                mine[k] = value if held is None else held + value

    def add_month(self, index: int, invoices: int, values: tuple[int, ...]) -> None:
        """One month's sums (a site has one row per month): into the month and the total."""
        self.invoices += invoices
        mine = self.figures
        mine[index * _N : (index + 1) * _N] = values
        for k, value in enumerate(values, start=MONTHS * _N):
            held = mine[k]
            mine[k] = value if held is None else held + value

    def row(self) -> list[Any]:
        figures = self.figures
        # The 12-month totals are shown as 0 rather than empty.
        tail = [0 if v is None else v for v in figures[MONTHS * _N :]]
        return [*self.head, self.invoices, *figures[: MONTHS * _N], *tail]


class _Pivot:
    """Rows of (site × month) in, sheet rows out: a site's row when the next site starts,
    an account's and a member's total when they end."""

    def __init__(self, start: date, account_invoices: dict[int, int]) -> None:
        self.first = start.year * 12 + start.month - 1
        self.account_invoices = account_invoices
        self.out: list[list[Any]] = []
        self.site: _Total | None = None
        self.site_id: int | None = None
        self.account: _Total | None = None
        self.account_id: int | None = None
        self.member: _Total | None = None
        self.member_id: int | None = None
        self.everything = _Total(_head(LEVEL_ALL))

    def _close_site(self) -> None:
        # A site's invoice count is its own; an account's counts each invoice once (its
        # grouped invoices bill several sites), and a member's and the sheet's add those up.
        if self.site is not None:
            self.out.append(self.site.row())
            assert self.account is not None
            self.account.add(0, self.site.figures)
            self.site = None

    def _close_account(self) -> None:
        self._close_site()
        if self.account is not None:
            self.out.append(self.account.row())
            assert self.member is not None
            for total in (self.member, self.everything):
                total.add(self.account.invoices, self.account.figures)
            self.account = None

    def _close_member(self) -> None:
        self._close_account()
        if self.member is not None:
            self.out.append(self.member.row())
            self.member = None

    def feed(self, r: Any) -> None:
        if r.member_id != self.member_id:
            self._close_member()
            self.member_id = r.member_id
            self.member = _Total(_head(LEVEL_MEMBER, r.legal_name, r.siren))
        if r.account_id != self.account_id:
            self._close_account()
            self.account_id = r.account_id
            self.account = _Total(
                _head(
                    LEVEL_ACCOUNT,
                    r.legal_name,
                    r.siren,
                    r.account_number,
                    r.invoice_label,
                    grouping_label(r.is_multi_site, r.site_count),
                    r.energy,
                ),
                invoices=self.account_invoices.get(r.account_id, 0),
            )
        if r.id != self.site_id:
            self._close_site()
            self.site_id = r.id
            self.site = _Total(
                _head(
                    LEVEL_SITE,
                    r.legal_name,
                    r.siren,
                    r.account_number,
                    r.invoice_label,
                    grouping_label(r.is_multi_site, r.site_count),
                    r.energy,
                    r.point_number,
                    r.internal_code,
                    r.designation,
                    r.city,
                )
            )
        if r.y is None:  # nothing billed to the site in the window
            return
        assert self.site is not None
        self.site.add_month(
            int(r.y) * 12 + int(r.m) - 1 - self.first,
            int(r.invoices),
            (int(r.kwh), int(r.supply), int(r.transport), int(r.taxes), int(r.vat), int(r.total)),
        )

    def finish(self) -> None:
        self._close_member()
        self.out.append(self.everything.row())

    def take(self) -> list[list[Any]]:
        out, self.out = self.out, []
        return out


def window(from_month: date, today: date) -> Period:
    """The 12 months from `from_month` (refused when they end after the current month)."""
    start = from_month.replace(day=1)
    end = add_months_clamped(start, MONTHS - 1)
    if end > today.replace(day=1):
        raise Refusal(
            ErrorCode.INVALID,
            f"Les 12 mois finiraient en {format_month(end)}, après le mois en cours : "
            "choisissez un premier mois plus ancien.",
            field="fromMonth",
        )
    return check_period(start, end, today=today)


async def management_sheet(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    criteria: SiteCriteria,
    from_month: date,
    today: date,
) -> Table:
    """The sheet of the filter's sites over the 12 months from `from_month`."""
    period = window(from_month, today)
    async with sessions() as session:
        await check_filter_scope(session, perimeter, criteria)

    async def chunks() -> AsyncIterator[list[list[Any]]]:
        async with sessions() as session:
            connection = await session.connection()
            counts = await connection.execute(_account_invoices(perimeter, criteria, period))
            pivot = _Pivot(period.start, {a: int(n) for a, n in counts})
            statement = _statement(perimeter, criteria, period, connection.dialect.name)
            result = await connection.stream(statement.execution_options(yield_per=PARTITION_ROWS))
            async for partition in result.partitions(PARTITION_ROWS):
                for r in partition:
                    pivot.feed(r)
                if len(pivot.out) >= CHUNK_ROWS:
                    yield pivot.take()
        pivot.finish()
        yield pivot.take()

    columns = (*FIXED_COLUMNS, *figure_columns(months_of(period.start, period.end)))
    return Table("feuillet-de-gestion", "Feuillet de gestion", columns, chunks())
