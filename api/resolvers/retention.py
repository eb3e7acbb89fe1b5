"""Data retention: `comptoir purge-expired` removes the sites whose contract ended more than
five years ago (domain/retention.py), with their meters, readings, alerts, technical requests
and the invoices that cover nothing else.

The API stopped serving them the day after (db/scoped.py); the purge makes it final. A dry run
(the default) reports what would go and changes nothing; `apply` deletes in one transaction and
writes one audit entry per site removed. A site that still shares a served invoice with a site
under contract is kept until that one expires too (deleting it would break the invoice's
per-site breakdown). Safe to repeat, and to run twice at once (the sites are locked, and a
second run finds nothing left).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.stored_files import remove_key
from comptoir.settings import Settings
from db import audit
from db.core import INVOICES, LINES, SHARES, SITES, core, core_rows, table_of
from db.engine import transaction
from db.models import (
    Alert,
    AlertNotification,
    Meter,
    Reading,
    TechnicalRequest,
    TechnicalRequestAttachment,
    TechnicalRequestEvent,
)
from db.scoped import site_served
from domain.retention import served_since

ALERTS = table_of(Alert)
NOTIFICATIONS = table_of(AlertNotification)
METERS = table_of(Meter)
READINGS = table_of(Reading)
REQUESTS = table_of(TechnicalRequest)
EVENTS = table_of(TechnicalRequestEvent)
ATTACHMENTS = table_of(TechnicalRequestAttachment)


@dataclass(slots=True)
class PurgeReport:
    served_since: date
    applied: bool
    # (point number, supply end) of each site removed (or that a dry run would remove).
    sites: list[tuple[str, date]] = field(default_factory=list)
    # Point numbers kept because they share a served invoice with a site under contract.
    kept: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        verb = "supprimé(s)" if self.applied else "à supprimer (simulation, rien n'est effacé)"
        parts = ", ".join(f"{n} {name}" for name, n in self.counts.items())
        return (
            f"contrats terminés avant le {self.served_since:%d/%m/%Y} : {len(self.sites)} site(s) "
            f"{verb}" + (f" — {parts}" if parts else "")
        )


def _expired_sites(since: date) -> Any:
    return sa.select(SITES.c.id, SITES.c.point_number, SITES.c.supply_end).where(
        ~site_served(since, SITES.c.supply_end)
    )


async def purge_expired(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    today: date,
    now: datetime,
    apply: bool = False,
) -> PurgeReport:
    since = served_since(today)
    report = PurgeReport(served_since=since, applied=apply)
    async with transaction(sessions) as session:
        statement = _expired_sites(since).order_by(SITES.c.id)
        if apply:
            statement = statement.with_for_update(skip_locked=True)
        candidates = await core_rows(session, statement)
        ids = [row.id for row in candidates]
        held = await _held_by_served_invoices(session, ids, since)
        sites = [row for row in candidates if row.id not in held]
        report.kept = [row.point_number for row in candidates if row.id in held]
        report.sites = [(row.point_number, row.supply_end) for row in sites]
        site_ids = [row.id for row in sites]
        invoice_ids = await _invoices_only_of(session, site_ids)
        request_ids = [
            r.id
            for r in await core_rows(
                session, sa.select(REQUESTS.c.id).where(REQUESTS.c.site_id.in_(site_ids))
            )
        ]
        files = [
            r.storage_key
            for r in await core_rows(
                session,
                sa.select(ATTACHMENTS.c.storage_key).where(
                    ATTACHMENTS.c.request_id.in_(request_ids)
                ),
            )
        ]
        # Children first: every foreign key is satisfied at each step, on either database.
        plan: list[tuple[str, Any, Any]] = [
            (
                "notifications d'alerte",
                NOTIFICATIONS,
                NOTIFICATIONS.c.alert_id.in_(
                    sa.select(ALERTS.c.id).where(ALERTS.c.site_id.in_(site_ids))
                ),
            ),
            ("alertes", ALERTS, ALERTS.c.site_id.in_(site_ids)),
            ("relevés", READINGS, READINGS.c.site_id.in_(site_ids)),
            ("lignes de facture", LINES, LINES.c.invoice_id.in_(invoice_ids)),
            ("parts de facture par site", SHARES, SHARES.c.invoice_id.in_(invoice_ids)),
            ("factures", INVOICES, INVOICES.c.id.in_(invoice_ids)),
            ("pièces jointes", ATTACHMENTS, ATTACHMENTS.c.request_id.in_(request_ids)),
            ("étapes de demande", EVENTS, EVENTS.c.request_id.in_(request_ids)),
            ("demandes techniques", REQUESTS, REQUESTS.c.id.in_(request_ids)),
            ("compteurs", METERS, METERS.c.site_id.in_(site_ids)),
            ("sites", SITES, SITES.c.id.in_(site_ids)),
        ]
        for label, table, where in plan:
            if apply:
                found = 0
                if label == "factures":
                    # A cancellation points at the invoice it cancels: it goes first.
                    cancellations = sa.and_(where, INVOICES.c.cancels_invoice_id.is_not(None))
                    found = (await core(session, sa.delete(INVOICES).where(cancellations))).rowcount
                found += (await core(session, sa.delete(table).where(where))).rowcount
            else:
                found = (
                    await core(session, sa.select(sa.func.count()).select_from(table).where(where))
                ).scalar_one()
            report.counts[label] = int(found or 0)
        if apply:
            for row in sites:
                audit.record(
                    session,
                    actor_user_id=None,
                    action="retention.purge",
                    object_type="Site",
                    object_id=row.id,
                    now=now,
                    details={
                        "point_number": row.point_number,
                        "supply_end": row.supply_end.isoformat(),
                        "served_since": since.isoformat(),
                        "invoices": len(invoice_ids),
                    },
                )
    if apply:
        for key in files:
            remove_key(settings, key)
    return report


async def _held_by_served_invoices(
    session: AsyncSession, site_ids: list[int], since: date
) -> set[int]:
    """The expired sites that share an invoice with a site still served."""
    if not site_ids:
        return set()
    other = SHARES.alias("other_shares")
    other_site = SITES.alias("other_sites")
    rows = await core_rows(
        session,
        sa.select(SHARES.c.site_id)
        .distinct()
        .select_from(
            SHARES.join(other, other.c.invoice_id == SHARES.c.invoice_id).join(
                other_site, other_site.c.id == other.c.site_id
            )
        )
        .where(SHARES.c.site_id.in_(site_ids), site_served(since, other_site.c.supply_end)),
    )
    return {row.site_id for row in rows}


async def _invoices_only_of(session: AsyncSession, site_ids: list[int]) -> list[int]:
    """The invoices that cover these sites only (and the cancellations of those)."""
    if not site_ids:
        return []
    rows = await core_rows(
        session,
        sa.select(SHARES.c.invoice_id).distinct().where(SHARES.c.site_id.in_(site_ids)),
    )
    ids = [row.invoice_id for row in rows]
    cancellations = await core_rows(
        session, sa.select(INVOICES.c.id).where(INVOICES.c.cancels_invoice_id.in_(ids))
    )
    return sorted(set(ids) | {row.id for row in cancellations})
