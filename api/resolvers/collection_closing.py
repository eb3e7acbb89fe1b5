"""The end of a collection campaign: reminders to those who have not validated, the
coordinator's exports (progress, switch report), and the closing that turns journeys into
the portfolio.

Closing works member by member, each in a transaction of its own (atomic per member): a
validated journey becomes the member's data, one billing account per billing perimeter and
its confirmed sites; a journey not validated (partial or silent) gets the campaign's defaults
on every site it did not refuse. The member's welcome packs are queued in the same
transaction. A closed journey is marked, so closing again (or two closings at once: the
journey row is locked and re-read) changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers import welcome_packs
from api.resolvers.collection import (
    JourneyQuery,
    campaign_to_follow,
    filtered_journeys,
    journeys_select,
)
from api.resolvers.writable import require_writing_credential
from auth.caller import Caller
from comptoir.settings import Settings
from db import audit
from db.core import core_rows
from db.engine import transaction
from db.models import (
    AccessGrant,
    BillingAccount,
    CollectionCampaign,
    CollectionJourney,
    CollectionLot,
    CollectionSite,
    Member,
    Site,
    User,
)
from db.models.base import persisted_id
from db.scoped import Perimeter
from db.site_search import refresh_site_search
from documents.tables import Column, ColumnKind, Table
from domain import collection as rules
from domain.calendar import paris_date
from domain.collection import JourneyStatus, SiteDecision, SwitchOutcome
from domain.enums import (
    BillingFrequency,
    InvoiceDelivery,
    PaymentMethod,
    Segment,
    SiteStatus,
    Tier,
    UserStatus,
)
from domain.errors import ErrorCode, Refusal, not_found
from domain.identifiers import is_valid_siren, make_siret
from domain.labels import (
    BILLING_FREQUENCY_LABELS,
    ENERGY_LABELS,
    INVOICE_DELIVERY_LABELS,
    PAYMENT_METHOD_LABELS,
)
from mailers import contacts, mails

MAX_MEMBERS_PER_CALL = 100


# -- reminders ---------------------------------------------------------------------------------


@dataclass
class ReminderReport:
    members: int = 0
    queued: int = 0
    already_reminded_today: int = 0


def _defaults_text(campaign: CollectionCampaign) -> str:
    invoices = "une facture par segment" if campaign.default_grouped else "une facture par site"
    return (
        f"{PAYMENT_METHOD_LABELS[campaign.default_payment_method].lower()}, {invoices}, "
        f"factures par {INVOICE_DELIVERY_LABELS[campaign.default_invoice_delivery].lower()}, "
        f"part verte {campaign.default_green_share_pct} %"
    )


async def send_reminders(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    perimeter: Perimeter,
    *,
    campaign_id: int,
    member_ids: Sequence[int],
    now: datetime,
) -> ReminderReport:
    """Reminds the members that have not validated (all of them, or those named) through the
    outbox: each of their people once a day at most, whoever reminds."""
    require_writing_credential(caller)
    if len(member_ids) > MAX_MEMBERS_PER_CALL:
        raise Refusal(
            ErrorCode.TOO_MANY_ITEMS,
            f"{MAX_MEMBERS_PER_CALL} membres au plus.",
            field="memberIds",
        )
    campaign = await campaign_to_follow(sessions, caller, perimeter, campaign_id)
    return await remind_campaign(
        sessions,
        settings,
        campaign=campaign,
        member_ids=member_ids,
        actor_user_id=caller.user_id,
        now=now,
    )


async def remind_campaign(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    campaign: CollectionCampaign,
    member_ids: Sequence[int],
    actor_user_id: int | None,
    now: datetime,
) -> ReminderReport:
    """The reminders of a campaign the caller may follow (or the back office's command):
    see `send_reminders`."""
    if campaign.closed_at is not None:
        raise Refusal(ErrorCode.INVALID_STATE, "La collecte est close.", field="campaignId")
    campaign_id = persisted_id(campaign)
    day = paris_date(now)
    report = ReminderReport()
    async with transaction(sessions) as session:
        query = select(
            CollectionJourney.member_id, CollectionJourney.steps_done, CollectionJourney.status
        ).where(CollectionJourney.campaign_id == campaign_id)
        if member_ids:
            query = query.where(col(CollectionJourney.member_id).in_(sorted(set(member_ids))))
        journeys = (await session.exec(query.order_by(col(CollectionJourney.member_id)))).all()
        if member_ids and len(journeys) != len(set(member_ids)):
            raise not_found("memberIds")
        to_remind = {m: steps for m, steps, status in journeys if status != JourneyStatus.VALIDATED}
        service = (await contacts.for_groups(session, settings, [campaign.group_id]))[
            campaign.group_id
        ]
        people = (
            await core_rows(
                session,
                sa.select(
                    col(AccessGrant.member_id),
                    col(User.email),
                    col(User.full_name),
                    col(Member.legal_name),
                )
                .join(User, col(User.id) == AccessGrant.user_id)
                .join(Member, col(Member.id) == AccessGrant.member_id)
                .where(
                    col(AccessGrant.member_id).in_(sorted(to_remind)),
                    col(AccessGrant.tier) == Tier.USER,
                    col(AccessGrant.revoked_at).is_(None),
                    col(AccessGrant.suspended_at).is_(None),
                    col(User.status) != UserStatus.SUSPENDED,
                )
                .order_by(col(AccessGrant.member_id), col(User.email)),
            )
            if to_remind
            else []
        )
        report.members = len(to_remind)
        url = f"{settings.customer_space_url.rstrip('/')}/collecte"
        for member_id, email, full_name, legal_name in people:
            queued = await mails.queue_collection_reminder(
                session,
                reminder=mails.CollectionReminder(
                    email=email,
                    full_name=full_name,
                    member_legal_name=legal_name,
                    campaign_name=campaign.name,
                    closes_on=campaign.closes_on,
                    steps_done=to_remind[member_id],
                    defaults=_defaults_text(campaign),
                    journey_url=url,
                    day=day,
                    customer_service=service,
                ),
                now=now,
            )
            if queued:
                report.queued += 1
            else:
                report.already_reminded_today += 1
        audit.record(
            session,
            actor_user_id=actor_user_id,
            action="collection.reminders_sent",
            object_type="CollectionCampaign",
            object_id=campaign_id,
            now=now,
            details={"members": report.members, "queued": report.queued},
        )
    return report


# -- closing -----------------------------------------------------------------------------------


@dataclass
class ClosingReport:
    members_closed: int = 0
    sites_switched: int = 0
    sites_defaulted: int = 0
    sites_refused: int = 0
    welcome_packs_queued: int = 0


async def close_campaign(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    campaign_id: int,
    now: datetime,
) -> ClosingReport:
    """Closes the campaign member by member (see the module's docstring). What this run did
    is reported; a second run reports zeros."""
    require_writing_credential(caller)
    async with sessions() as session:
        campaign = await session.get(CollectionCampaign, campaign_id)
        if campaign is None:
            raise not_found("campaignId")
        journey_ids = list(
            (
                await session.exec(
                    select(CollectionJourney.id)
                    .where(
                        CollectionJourney.campaign_id == campaign_id,
                        col(CollectionJourney.closed_at).is_(None),
                    )
                    .order_by(col(CollectionJourney.id))
                )
            ).all()
        )
    report = ClosingReport()
    for journey_id in journey_ids:
        async with transaction(sessions) as session:
            # Claimed by a compare-and-set, the first write of the member's transaction: of
            # two closings at once, one finds the journey already taken (PostgreSQL re-checks
            # the WHERE after the first commits; SQLite serialises writers).
            connection = await session.connection()
            claimed = await connection.execute(
                sa.update(CollectionJourney)
                .where(
                    col(CollectionJourney.id) == journey_id,
                    col(CollectionJourney.closed_at).is_(None),
                )
                .values(closed_at=now)
            )
            if claimed.rowcount != 1:
                continue  # closed meanwhile by another run
            journey = (
                await session.exec(
                    select(CollectionJourney)
                    .where(CollectionJourney.id == journey_id)
                    .execution_options(populate_existing=True)
                )
            ).one()
            await _close_journey(session, settings, campaign, journey, report, now=now)
    async with transaction(sessions) as session:
        connection = await session.connection()
        await connection.execute(
            sa.update(CollectionCampaign)
            .where(
                col(CollectionCampaign.id) == campaign_id,
                col(CollectionCampaign.closed_at).is_(None),
            )
            .values(closed_at=now)
        )
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="collection.campaign_closed",
            object_type="CollectionCampaign",
            object_id=campaign_id,
            now=now,
            details={
                "members": report.members_closed,
                "switched": report.sites_switched,
                "defaulted": report.sites_defaulted,
                "refused": report.sites_refused,
            },
        )
    return report


def _recipient_siret(siren: str) -> str:
    # A member that never answered gave no SIRET: its head office's (NIC 0001) is assumed,
    # for the back office to correct if invoices must go elsewhere.
    if is_valid_siren(siren):
        return make_siret(siren, "0001")
    return (siren + "00010")[:14]


async def _close_journey(
    session: AsyncSession,
    settings: Settings,
    campaign: CollectionCampaign,
    journey: CollectionJourney,
    report: ClosingReport,
    *,
    now: datetime,
) -> None:
    member = (
        await session.exec(select(Member).where(Member.id == journey.member_id).with_for_update())
    ).one()
    sites = list(
        (
            await session.exec(
                select(CollectionSite)
                .where(CollectionSite.journey_id == journey.id)
                .order_by(col(CollectionSite.id))
            )
        ).all()
    )
    supplied = (
        set(
            (
                await session.exec(
                    select(Site.point_number).where(
                        Site.energy == campaign.energy,
                        col(Site.point_number).in_(sorted(s.point_number for s in sites)),
                    )
                )
            ).all()
        )
        if sites
        else set()
    )
    validated = journey.status is JourneyStatus.VALIDATED
    admin = journey.administrative or {}
    if validated:
        member.legal_name = admin["legalName"]
        # A SIREN another member of the group already holds stays out (the database refuses
        # two): the member keeps its own, for the back office to settle.
        clash = (
            await session.exec(
                select(Member.id).where(
                    Member.group_id == member.group_id,
                    Member.siren == admin["siren"],
                    Member.id != member.id,
                )
            )
        ).first()
        if clash is None:
            member.siren = admin["siren"]
        member.street = admin["street"]
        member.postcode = admin["postcode"]
        member.city = admin["city"]
        member.contact_email = (admin.get("mainContact") or {}).get("email") or member.contact_email
    to_switch: list[CollectionSite] = []
    for site in sites:
        if site.point_number in supplied:
            site.outcome = SwitchOutcome.ALREADY_IN_PORTFOLIO
        elif site.decision is SiteDecision.REFUSED:
            site.outcome = SwitchOutcome.REFUSED
            report.sites_refused += 1
        elif validated and site.decision is not SiteDecision.CONFIRMED:
            site.outcome = SwitchOutcome.REFUSED  # cannot happen: validation needs decisions
        else:
            to_switch.append(site)
    lots: dict[int, CollectionLot] = {}
    if validated:
        lots = {
            persisted_id(lot): lot
            for lot in (
                await session.exec(
                    select(CollectionLot).where(CollectionLot.journey_id == journey.id)
                )
            ).all()
        }
    else:
        for segment, ids in rules.default_groups(
            [(persisted_id(s), s.segment) for s in to_switch], grouped=campaign.default_grouped
        ):
            lot = _default_lot(campaign, journey, segment, ids, to_switch)
            session.add(lot)
            await session.flush()
            lots[persisted_id(lot)] = lot
            for site in to_switch:
                if persisted_id(site) in ids:
                    site.lot_id = persisted_id(lot)
    accounts: dict[int, int] = {}
    for lot_id, lot in lots.items():
        if not any(s.lot_id == lot_id for s in to_switch):
            continue
        account = _account_of(campaign, member, admin if validated else {}, lot)
        session.add(account)
        await session.flush()
        lot.billing_account_id = persisted_id(account)
        session.add(lot)
        accounts[lot_id] = persisted_id(account)
    created: list[Site] = []
    for site in to_switch:
        assert site.lot_id is not None
        lot = lots[site.lot_id]
        portfolio_site = Site(
            member_id=persisted_id(member),
            billing_account_id=accounts[site.lot_id],
            energy=site.energy,
            point_number=site.point_number,
            distributor=site.distributor,
            distributor_name=site.distributor_name,
            segment=site.segment,
            tariff_option=site.tariff_option,
            transport_tariff=site.transport_tariff,
            car_kwh=site.car_kwh,
            profile=site.profile,
            green_share_pct=lot.green_share_pct,
            street=site.street,
            postcode=site.postcode,
            city=site.city,
            status=SiteStatus.ACTIVE,
            # A site added by the member starts when it is activated, not before the market.
            supply_start=max(campaign.supply_start, site.activation_date or campaign.supply_start),
            internal_code=site.internal_code,
            designation=site.designation,
            other_reference=site.other_reference,
            created_at=now,
        )
        session.add(portfolio_site)
        created.append(portfolio_site)
    await session.flush()
    for site, portfolio_site in zip(to_switch, created, strict=True):
        site.site_id = persisted_id(portfolio_site)
        site.outcome = SwitchOutcome.SWITCHED if validated else SwitchOutcome.DEFAULTED
        if validated:
            report.sites_switched += 1
        else:
            report.sites_defaulted += 1
    for site in sites:
        session.add(site)
    if created:
        member.switched_on = member.switched_on or campaign.supply_start
        await refresh_site_search(session, site_ids=[persisted_id(s) for s in created])
    session.add(member)
    journey.closed_at = now
    session.add(journey)
    await session.flush()
    if created:
        packs = await welcome_packs.welcome_member(session, settings, persisted_id(member), now=now)
        report.welcome_packs_queued += packs.queued
    report.members_closed += 1


def _default_lot(
    campaign: CollectionCampaign,
    journey: CollectionJourney,
    segment: Segment,
    ids: Sequence[int],
    sites: Sequence[CollectionSite],
) -> CollectionLot:
    frequencies = {
        Segment(k): BillingFrequency(v) for k, v in (campaign.default_frequencies or {}).items()
    }
    defaults = rules.Defaults(
        payment_method=campaign.default_payment_method,
        invoice_delivery=campaign.default_invoice_delivery,
        green_share_pct=campaign.default_green_share_pct,
        grouped=campaign.default_grouped,
        frequencies=frequencies,
    )
    if len(ids) == 1 and not campaign.default_grouped:
        # One account per site: named after the site, its point number keeping names unique.
        site = next(s for s in sites if persisted_id(s) == ids[0])
        name = f"{(site.designation or 'Site')[:15].strip()} {site.point_number}"
    else:
        name = f"{ENERGY_LABELS[campaign.energy]} {segment.value}"
    return CollectionLot(
        journey_id=persisted_id(journey),
        name=name[: rules.LOT_NAME_LIMIT],
        segment=segment,
        is_multi_site=len(ids) > 1,
        payment_method=defaults.payment_method,
        billing_frequency=defaults.frequency_of(segment),
        invoice_delivery=defaults.invoice_delivery,
        green_share_pct=defaults.green_share_pct,
        defaulted=True,
    )


def _account_of(
    campaign: CollectionCampaign, member: Member, admin: dict[str, Any], lot: CollectionLot
) -> BillingAccount:
    chorus = lot.invoice_delivery is InvoiceDelivery.CHORUS_PRO
    return BillingAccount(
        member_id=persisted_id(member),
        number=f"CL{persisted_id(lot):010d}",
        energy=campaign.energy,
        invoice_label=lot.name[:30],
        is_multi_site=lot.is_multi_site,
        payment_method=lot.payment_method,
        billing_frequency=lot.billing_frequency,
        invoice_delivery=lot.invoice_delivery,
        billing_street=admin.get("street") or member.street,
        billing_postcode=admin.get("postcode") or member.postcode,
        billing_city=admin.get("city") or member.city,
        recipient_siret=admin.get("recipientSiret") or _recipient_siret(member.siren),
        chorus_service_code=admin.get("chorusServiceCode") if chorus else None,
        chorus_commitment_number=admin.get("chorusCommitmentNumber") if chorus else None,
        segment_typology=rules.segment_typology(
            campaign.energy, lot.segment, multi_site=lot.is_multi_site
        ),
    )


# -- the coordinator's files -------------------------------------------------------------------

CHUNK = 1000

PROGRESS_COLUMNS = (
    Column("N° client", ColumnKind.IDENTIFIER, 12),
    Column("Membre", ColumnKind.TEXT, 36),
    Column("Avancement", ColumnKind.LABEL, 14, rules.JOURNEY_STATUS_LABELS),
    Column("Étapes terminées (sur 3)", ColumnKind.INTEGER),
    Column("Sites", ColumnKind.INTEGER),
    Column("Sites confirmés", ColumnKind.INTEGER),
    Column("Sites refusés", ColumnKind.INTEGER),
    Column("Part des sites confirmés (%)", ColumnKind.DECIMAL),
    Column("Validé le", ColumnKind.DATE),
)


async def progress_table(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller | None,
    perimeter: Perimeter,
    criteria: JourneyQuery,
) -> Table:
    """The coordinator's follow-up file: one row per member of the campaign and filter."""
    assert criteria.campaign_id is not None
    await campaign_to_follow(sessions, caller, perimeter, criteria.campaign_id)
    query = filtered_journeys(journeys_select(caller, perimeter), criteria).order_by(
        col(Member.legal_name), col(CollectionJourney.id)
    )

    async def chunks() -> AsyncIterator[Sequence[Sequence[Any]]]:
        async with sessions() as session:
            rows = (await session.exec(query)).all()
        for start in range(0, len(rows), CHUNK):
            yield [
                [
                    r.member_customer_number,
                    r.member_legal_name,
                    JourneyStatus(r.status),
                    r.steps_done,
                    r.sites_total,
                    r.sites_confirmed,
                    r.sites_refused,
                    rules.share_pct(r.sites_confirmed, r.sites_total),
                    paris_date(r.validated_at) if r.validated_at else None,
                ]
                for r in rows[start : start + CHUNK]
            ]

    return Table("suivi-collecte", "Suivi de la collecte", PROGRESS_COLUMNS, chunks())


REPORT_COLUMNS = (
    Column("N° client", ColumnKind.IDENTIFIER, 12),
    Column("Membre", ColumnKind.TEXT, 36),
    Column("PRM / PCE", ColumnKind.IDENTIFIER, 18),
    Column("Segment", ColumnKind.TEXT, 10),
    Column("Adresse", ColumnKind.TEXT, 36),
    Column("Commune", ColumnKind.TEXT, 24),
    Column("Résultat", ColumnKind.LABEL, 30, rules.SWITCH_OUTCOME_LABELS),
    Column("Motif du refus", ColumnKind.LABEL, 28, rules.REFUSAL_REASON_LABELS),
    Column("Compte de contrat", ColumnKind.IDENTIFIER, 16),
    Column("Libellé de facture", ColumnKind.TEXT, 30),
    Column("Paiement", ColumnKind.LABEL, 20, PAYMENT_METHOD_LABELS),
    Column("Fréquence", ColumnKind.LABEL, 14, BILLING_FREQUENCY_LABELS),
    Column("Envoi", ColumnKind.LABEL, 14, INVOICE_DELIVERY_LABELS),
    Column("Début de fourniture", ColumnKind.DATE),
)


async def switch_report_table(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller | None,
    perimeter: Perimeter,
    *,
    campaign_id: int,
    member_id: int | None,
) -> Table:
    """Per member, each site switched, defaulted or refused at closing (empty before)."""
    campaign = await campaign_to_follow(sessions, caller, perimeter, campaign_id)
    if campaign.closed_at is None:
        raise Refusal(
            ErrorCode.INVALID_STATE,
            "Le bilan de bascule est disponible une fois la collecte close.",
            field="campaignId",
        )
    query = (
        sa.select(
            col(Member.customer_number),
            col(Member.legal_name),
            col(CollectionSite.point_number),
            col(CollectionSite.segment),
            col(CollectionSite.street),
            col(CollectionSite.city),
            col(CollectionSite.outcome),
            col(CollectionSite.refusal_reason),
            col(BillingAccount.number),
            col(BillingAccount.invoice_label),
            col(BillingAccount.payment_method),
            col(BillingAccount.billing_frequency),
            col(BillingAccount.invoice_delivery),
            col(Site.supply_start),
        )
        .select_from(CollectionSite)
        .join(CollectionJourney, col(CollectionJourney.id) == CollectionSite.journey_id)
        .join(Member, col(Member.id) == CollectionJourney.member_id)
        .outerjoin(Site, col(Site.id) == CollectionSite.site_id)
        .outerjoin(BillingAccount, col(BillingAccount.id) == Site.billing_account_id)
        .where(col(CollectionJourney.campaign_id) == campaign_id)
        .order_by(col(Member.legal_name), col(Member.id), col(CollectionSite.point_number))
    )
    if member_id is not None:
        query = query.where(col(CollectionJourney.member_id) == member_id)

    async def chunks() -> AsyncIterator[Sequence[Sequence[Any]]]:
        async with sessions() as session:
            rows = await core_rows(session, query)
        for start in range(0, len(rows), CHUNK):
            yield [
                [
                    r[0],
                    r[1],
                    r[2],
                    Segment(r[3]).value,
                    r[4],
                    r[5],
                    SwitchOutcome(r[6]) if r[6] else None,
                    r[7],
                    r[8],
                    r[9],
                    PaymentMethod(r[10]) if r[10] else None,
                    BillingFrequency(r[11]) if r[11] else None,
                    InvoiceDelivery(r[12]) if r[12] else None,
                    r[13],
                ]
                for r in rows[start : start + CHUNK]
            ]

    return Table("bilan-bascule", "Bilan de bascule", REPORT_COLUMNS, chunks())
