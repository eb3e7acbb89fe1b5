"""The customer exports of the parc: the perimeter file, readings and monthly consumption.

Each export is described as a `documents.tables.Table` (columns with their kind, and an async
iterator of row chunks); `api.resolvers.export_files.write_export` writes it as CSV or XLSX
with the one table writer, and the schema signs the download URL. Coded values (energy,
status, register, source…) go to the writer as codes; their column carries the French
labels. The use case checks everything first (the filter's member and billing-account IDs
must be in the perimeter, the period must be valid), so a refusal comes before any file
exists.

Rows are read in batches of sites: one statement lists the matching sites' ids in export
order (an integer per site, even at 13,000 sites), then each chunk of ids costs two or three
Core statements (the sites with member, billing account and current meter; their last actual
readings, readings or consumption). Never ORM objects, never one query per site.

A filter naming a member or billing account outside the perimeter (another tenant's, or one
that does not exist) is refused as NOT_FOUND rather than silently giving an empty file: an
export is a durable document, and the answer is then exactly the one for a missing ID.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.consumption import (
    LOOKBACK_DAYS,
    SITE_BASIS_COLUMNS,
    Period,
    check_period,
    series_of_sites,
)
from api.resolvers.filter_scope import check_filter_scope
from api.resolvers.portfolio import SiteCriteria, last_actual_readings, sites_matching
from db.core import ACCOUNTS, MEMBERS, METERS, READINGS, SITES, core_rows
from db.models import Member, Meter, Site
from db.scoped import Perimeter
from documents.tables import Column, Table
from documents.tables import ColumnKind as K
from domain.consumption import (
    CONSUMPTION_KIND_LABELS,
    MAX_MONTHS,
    format_month,
    month_count,
    months_of,
)
from domain.enums import Register, SelfReadingStatus
from domain.errors import ErrorCode, Refusal
from domain.labels import (
    ENERGY_LABELS,
    METER_KIND_LABELS,
    READING_SOURCE_LABELS,
    REGISTER_LABELS,
    SITE_STATUS_LABELS,
)
from domain.readings import consumption_between, is_estimated, to_kwh

SITES_PER_CHUNK = 1000
READING_SITES_PER_CHUNK = 300


T, N, D, DAY, B = K.TEXT, K.INTEGER, K.DECIMAL, K.DATE, K.BOOLEAN


# -- shared steps ---------------------------------------------------------------------------


def _ordered_sites(perimeter: Perimeter, criteria: SiteCriteria, *columns: Any) -> Any:
    """The matching sites in export order (member's legal name, point number), with their
    current meter joined for the columns that need it."""
    return (
        sites_matching(perimeter, criteria, Site.id, *columns)
        .select_from(Site)
        .join(Member, col(Member.id) == Site.member_id)
        .outerjoin(Meter, sa.and_(col(Meter.site_id) == Site.id, col(Meter.removed_on).is_(None)))
        .order_by(col(Member.legal_name), col(Site.point_number), col(Site.id))
    )


def _chunks(ids: Sequence[int], size: int) -> list[Sequence[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


SITE_DETAIL_COLUMNS = (
    *(
        SITES.c[name]
        for name in (
            "id",
            "point_number",
            "energy",
            "segment",
            "status",
            "distributor_name",
            "tariff_option",
            "transport_tariff",
            "connection",
            "subscribed_power_kva",
            "car_kwh",
            "profile",
            "green_share_pct",
            "street",
            "postcode",
            "city",
            "supply_start",
            "supply_end",
            "internal_code",
            "designation",
            "other_reference",
        )
    ),
    MEMBERS.c.legal_name.label("member_legal_name"),
    MEMBERS.c.siren.label("member_siren"),
    ACCOUNTS.c.number.label("account_number"),
    ACCOUNTS.c.invoice_label.label("account_label"),
    METERS.c.serial.label("meter_serial"),
    METERS.c.kind.label("meter_kind"),
    METERS.c.is_communicating.label("meter_communicating"),
    METERS.c.digits.label("meter_digits"),
    METERS.c.reading_coefficient.label("meter_coefficient"),
)


async def _site_details(session: AsyncSession, ids: Sequence[int]) -> list[Any]:
    """Sites (already known to match) with member, billing account and current meter, in the
    order of `ids`."""
    statement = (
        sa.select(*SITE_DETAIL_COLUMNS)
        .select_from(
            SITES.join(MEMBERS, MEMBERS.c.id == SITES.c.member_id)
            .join(ACCOUNTS, ACCOUNTS.c.id == SITES.c.billing_account_id)
            .outerjoin(
                METERS, sa.and_(METERS.c.site_id == SITES.c.id, METERS.c.removed_on.is_(None))
            )
        )
        .where(SITES.c.id.in_(ids))
    )
    found = {row.id: row for row in await core_rows(session, statement)}
    return [found[i] for i in ids if i in found]


# -- the perimeter file -------------------------------------------------------------------

SITE_COLUMNS: tuple[Column, ...] = (
    Column("PRM / PCE", K.IDENTIFIER, 18),
    Column("Énergie", K.LABEL, 13, ENERGY_LABELS),
    Column("Segment", K.TEXT, 9),
    Column("État", K.LABEL, 22, SITE_STATUS_LABELS),
    Column("Membre", K.TEXT, 36),
    Column("SIREN", K.IDENTIFIER, 11),
    Column("Compte de contrat", K.IDENTIFIER, 16),
    Column("Libellé de facture", T, 30),
    Column("Gestionnaire de réseau", T, 20),
    Column("Option tarifaire", T, 14),
    Column("Tarif d'acheminement", T, 16),
    Column("Raccordement", T, 16),
    Column("Puissance souscrite (kVA)", D, 12),
    Column("CAR (kWh)", N, 12),
    Column("Profil", T, 8),
    Column("Part renouvelable (%)", N, 10),
    Column("Voie", T, 36),
    Column("Code postal", K.IDENTIFIER, 10),
    Column("Commune", T, 24),
    Column("Début de fourniture", DAY, 12),
    Column("Fin de fourniture", DAY, 12),
    Column("Code interne", T, 20),
    Column("Désignation", T, 30),
    Column("Autre référence", T, 30),
    Column("Compteur", K.IDENTIFIER, 16),
    Column("Type de compteur", K.LABEL, 20, METER_KIND_LABELS),
    Column("Communicant", B, 12),
    Column("Nombre de chiffres", N, 10),
    Column("Coefficient de conversion", D, 12),
    Column("Dernière relève réelle", DAY, 12),
)


def _site_row(site: Any, registers: Sequence[Register], last: dict[str, Any]) -> list[Any]:
    last_on = max((r.read_on for r in last.values()), default=None)
    return [
        site.point_number,
        site.energy,
        site.segment,
        site.status,
        site.member_legal_name,
        site.member_siren,
        site.account_number,
        site.account_label,
        site.distributor_name,
        site.tariff_option,
        site.transport_tariff,
        site.connection,
        site.subscribed_power_kva,
        site.car_kwh,
        site.profile,
        site.green_share_pct,
        site.street,
        site.postcode,
        site.city,
        site.supply_start,
        site.supply_end,
        site.internal_code,
        site.designation,
        site.other_reference,
        site.meter_serial,
        site.meter_kind,
        site.meter_communicating,
        site.meter_digits,
        site.meter_coefficient,
        last_on,
        *(last[r].index if r in last else None for r in registers),
    ]


async def export_sites(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, *, criteria: SiteCriteria
) -> Table:
    """Every matching site with its technical data, references, status, member, billing
    account, current meter and last actual index per register (one column per register
    present in the file)."""
    async with sessions() as session:
        await check_filter_scope(session, perimeter, criteria)
        rows = (await session.exec(_ordered_sites(perimeter, criteria, Meter.registers))).all()
    ids = [row[0] for row in rows]
    present = {str(r) for row in rows for r in row[1] or ()}
    registers = [r for r in Register if r.value in present]
    del rows

    async def chunks() -> AsyncIterator[list[list[Any]]]:
        async with sessions() as session:
            for chunk in _chunks(ids, SITES_PER_CHUNK):
                sites = await _site_details(session, chunk)
                readings = await last_actual_readings(session, list(chunk))
                yield [
                    _site_row(
                        site,
                        registers,
                        {str(r.register): r for r in readings.get(site.id, ())},
                    )
                    for site in sites
                ]

    columns = (
        *SITE_COLUMNS,
        *(Column(f"Index {REGISTER_LABELS[r].lower()} ({r.value})", N, 12) for r in registers),
    )
    return Table("parc", "Parc", columns, chunks())


# -- readings -------------------------------------------------------------------------------

READING_COLUMNS: tuple[Column, ...] = (
    Column("PRM / PCE", K.IDENTIFIER, 18),
    Column("Énergie", K.LABEL, 13, ENERGY_LABELS),
    Column("Membre", T, 36),
    Column("Code interne", T, 20),
    Column("Désignation", T, 30),
    Column("Compteur", K.IDENTIFIER, 16),
    Column("Poste", K.LABEL, 16, REGISTER_LABELS),
    Column("Date de relève", DAY, 12),
    Column("Index", N, 12),
    Column("Origine", K.LABEL, 26, READING_SOURCE_LABELS),
    Column("Estimé", B, 8),
    Column("Tour de compteur", B, 10),
    Column("Consommation (unités du compteur)", N, 14),
    Column("Consommation (kWh)", N, 14),
)


def check_dates(start: date, end: date) -> None:
    if end < start:
        raise Refusal(ErrorCode.INVALID, "La date de fin précède la date de début.", field="to")
    if month_count(start.replace(day=1), end.replace(day=1)) > MAX_MONTHS:
        raise Refusal(
            ErrorCode.PERIOD_TOO_LONG,
            f"La période est limitée à {MAX_MONTHS} mois.",
            field="to",
        )


def _readings_with_previous(site_ids: Sequence[int], start: date, end: date) -> Any:
    """Counted readings of the sites between the dates, each with the previous index of its
    register on its meter (the window runs over earlier readings too)."""
    r = READINGS.c
    counted = sa.or_(
        r.self_reading_status.is_(None), r.self_reading_status != SelfReadingStatus.REJECTED
    )
    inner = (
        sa.select(
            r.site_id,
            r.meter_id,
            r.register_code,
            r.read_on,
            r.index_value,
            r.source,
            r.rollover,
            sa.func.lag(r.index_value)
            .over(partition_by=(r.meter_id, r.register_code), order_by=(r.read_on, r.id))
            .label("previous"),
        )
        .where(
            r.site_id.in_(site_ids),
            r.read_on >= start - timedelta(days=LOOKBACK_DAYS),
            r.read_on <= end,
            counted,
        )
        .subquery()
    )
    return (
        sa.select(inner, METERS.c.serial, METERS.c.digits, METERS.c.reading_coefficient)
        .join(METERS, METERS.c.id == inner.c.meter_id)
        .where(inner.c.read_on >= start)
        .order_by(inner.c.site_id, inner.c.read_on, METERS.c.installed_on, inner.c.register_code)
    )


def _reading_row(site: Any, r: Any) -> list[Any]:
    step = (
        consumption_between(r.previous, r.index_value, digits=r.digits, rollover=r.rollover)
        if r.previous is not None
        else None
    )
    return [
        site.point_number,
        site.energy,
        site.member_legal_name,
        site.internal_code,
        site.designation,
        r.serial,
        r.register_code,
        r.read_on,
        r.index_value,
        r.source,
        is_estimated(r.source),
        r.rollover,
        step.consumption if step else None,
        to_kwh(step.consumption, r.reading_coefficient) if step else None,
    ]


async def export_readings(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    criteria: SiteCriteria,
    start: date,
    end: date,
) -> Table:
    """The readings of the matching sites between two dates (rejected self-readings left
    out), with the consumption since the previous reading of the register (rollover-aware)."""
    check_dates(start, end)
    async with sessions() as session:
        await check_filter_scope(session, perimeter, criteria)
        ids = list((await session.exec(_ordered_sites(perimeter, criteria))).all())

    async def chunks() -> AsyncIterator[list[list[Any]]]:
        async with sessions() as session:
            for chunk in _chunks(ids, READING_SITES_PER_CHUNK):
                sites = {s.id: s for s in await _site_details(session, chunk)}
                by_site: dict[int, list[Any]] = defaultdict(list)
                for r in await core_rows(session, _readings_with_previous(chunk, start, end)):
                    by_site[r.site_id].append(r)
                yield [_reading_row(sites[i], r) for i in chunk if i in sites for r in by_site[i]]

    return Table("releves", "Relèves", READING_COLUMNS, chunks())


# -- monthly consumption ----------------------------------------------------------------------

CONSUMPTION_COLUMNS: tuple[Column, ...] = (
    Column("PRM / PCE", K.IDENTIFIER, 18),
    Column("Énergie", K.LABEL, 13, ENERGY_LABELS),
    Column("Segment", T, 9),
    Column("Membre", T, 36),
    Column("Compte de contrat", K.IDENTIFIER, 16),
    Column("Code interne", T, 20),
    Column("Désignation", T, 30),
    Column("CAR (kWh)", N, 12),
    Column("Total (kWh)", N, 12),
)


async def export_consumption(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    criteria: SiteCriteria,
    from_month: date,
    to_month: date,
    today: date,
) -> Table:
    """One row per matching site: its total and, for each month, the kWh and whether they
    are actual or estimated — the same series as `siteConsumption` (domain.consumption)."""
    period: Period = check_period(from_month, to_month, today=today)
    async with sessions() as session:
        await check_filter_scope(session, perimeter, criteria)
        ids = list((await session.exec(_ordered_sites(perimeter, criteria))).all())
    months = [format_month(m) for m in months_of(period.start, period.end)]

    async def chunks() -> AsyncIterator[list[list[Any]]]:
        async with sessions() as session:
            for chunk in _chunks(ids, READING_SITES_PER_CHUNK):
                sites = await _site_details(session, chunk)
                basis = await core_rows(
                    session,
                    sa.select(*SITE_BASIS_COLUMNS).where(SITES.c.id.in_(chunk)),
                )
                series = {
                    s.site_id: s
                    for s in await series_of_sites(session, list(basis), period, today=today)
                }
                rows = []
                for site in sites:
                    of_site = series[site.id]
                    cells: list[Any] = [
                        site.point_number,
                        site.energy,
                        site.segment,
                        site.member_legal_name,
                        site.account_number,
                        site.internal_code,
                        site.designation,
                        site.car_kwh,
                        of_site.total_kwh,
                    ]
                    for month in of_site.months:
                        cells += [month.kwh, month.kind]
                    rows.append(cells)
                yield rows

    columns = (
        *CONSUMPTION_COLUMNS,
        *(
            column
            for month in months
            for column in (
                Column(f"{month} (kWh)", N, 11),
                Column(f"{month} nature", K.LABEL, 11, CONSUMPTION_KIND_LABELS),
            )
        ),
    )
    return Table("consommation", "Consommation", columns, chunks())
