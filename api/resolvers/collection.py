"""The switch-time data collection: campaigns, and each member's journey through its three
steps (administrative data, perimeter, billing perimeters), validation and unlocking.

Every change to a journey names the version it was made on. The first statement of its
transaction is a compare-and-set on that version (`UPDATE … WHERE version = :seen`): of two
people saving on the same version, the second finds no row to update and gets
VERSION_CONFLICT, nothing written, whatever the database (PostgreSQL re-checks the WHERE
after the first commits; SQLite serialises writers). The answer is then to reload.

Who may do what: the back office (OPERATOR) creates campaigns for any group and unlocks
validated journeys; a group's ADMIN creates its group's campaigns and follows them; a
member's people (USER) fill in their member's journey, and so may the group's ADMIN
(everything the group's members may do). Journeys are scoped by `db.scoped`; another
member's journey answers exactly as a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.writable import require_writing_credential
from auth.caller import Caller
from auth.permissions import admin_groups
from comptoir.settings import Settings
from db import audit
from db.core import core_rows
from db.engine import transaction
from db.models import (
    CollectionCampaign,
    CollectionJourney,
    CollectionLot,
    CollectionSite,
    Group,
    Member,
)
from db.models.base import persisted_id
from db.scoped import Perimeter, scoped_collection_campaigns, scoped_collection_journeys
from domain import collection as rules
from domain.calendar import paris_date
from domain.collection import JourneyStatus, SiteDecision, SiteRefusalReason
from domain.enums import (
    ELECTRICITY_SEGMENTS,
    GAS_SEGMENTS,
    BillingFrequency,
    Distributor,
    Energy,
    InvoiceDelivery,
    PaymentMethod,
    Segment,
    Tier,
)
from domain.errors import ErrorCode, Refusal, Refusals, not_found
from domain.labels import (
    BILLING_FREQUENCY_LABELS,
    INVOICE_DELIVERY_LABELS,
    PAYMENT_METHOD_LABELS,
)
from domain.references import SITE_REFERENCE_LIMITS, clean_reference
from mailers import contacts, mails

VERSION_CONFLICT = (
    "Ce parcours a été modifié entre-temps par une autre personne : rechargez-le, puis "
    "refaites votre modification (rien n'a été enregistré)."
)
LOCKED = "Ce parcours est validé et verrouillé : pour le modifier, contactez le service client."
READ_ONLY_JOURNEY = "Votre habilitation permet de consulter ce parcours, pas de le modifier."
SEGMENTS_OF: dict[Energy, frozenset[Segment]] = {
    Energy.GAS: GAS_SEGMENTS,
    Energy.ELECTRICITY: ELECTRICITY_SEGMENTS,
}


# -- who sees which campaigns and journeys --------------------------------------------------


def campaigns_query(caller: Caller | None, perimeter: Perimeter, *columns: Any) -> Any:
    """The back office sees every campaign; a coordinator (ADMIN) its groups'."""
    if caller is not None and caller.holds(Tier.OPERATOR):
        return select(*(columns or (CollectionCampaign,)))
    return scoped_collection_campaigns(perimeter, *columns)


def journeys_query(caller: Caller | None, perimeter: Perimeter, *columns: Any) -> Any:
    """The back office sees every journey; a member's people their member's; an ADMIN its
    group's."""
    if caller is not None and caller.holds(Tier.OPERATOR):
        return select(*(columns or (CollectionJourney,)))
    return scoped_collection_journeys(perimeter, *columns)


# -- creating a campaign --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrefilledSite:
    point_number: str
    distributor: Distributor
    distributor_name: str | None
    segment: Segment
    tariff_option: str
    street: str
    postcode: str
    city: str
    distributor_status: str
    transport_tariff: str | None = None
    profile: str | None = None
    car_kwh: int = 0


@dataclass(frozen=True, slots=True)
class PrefilledMember:
    member_id: int
    sites: Sequence[PrefilledSite]


@dataclass(frozen=True, slots=True)
class NewCampaign:
    group_id: int
    energy: Energy
    name: str
    opens_on: date
    closes_on: date
    supply_start: date
    payment_method: PaymentMethod = PaymentMethod.TRANSFER
    invoice_delivery: InvoiceDelivery = InvoiceDelivery.POST
    green_share_pct: int = 0
    grouped: bool = False
    frequencies: dict[Segment, BillingFrequency] = field(default_factory=dict)
    members: Sequence[PrefilledMember] = ()


DISTRIBUTOR_NAMES = {Distributor.GRDF: "GRDF", Distributor.ENEDIS: "Enedis"}


def _text(value: str | None, limit: int, field_name: str, *, required: bool = True) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise Refusal(ErrorCode.REQUIRED, "Valeur obligatoire.", field=field_name)
    if len(cleaned) > limit:
        raise Refusal(ErrorCode.TOO_LONG, f"{limit} caractères au plus.", field=field_name)
    return cleaned


def _check_site(energy: Energy, site: PrefilledSite, where: str) -> None:
    if not rules.is_point_number(site.point_number):
        raise Refusal(
            ErrorCode.INVALID,
            f"Numéro de point {site.point_number!r} invalide : 14 chiffres attendus.",
            field=f"{where}.pointNumber",
        )
    if site.segment not in SEGMENTS_OF[energy]:
        raise Refusal(
            ErrorCode.INVALID,
            f"Le segment {site.segment.value} n'est pas un segment de cette énergie.",
            field=f"{where}.segment",
        )
    if not rules.POSTCODE.fullmatch(site.postcode):
        raise Refusal(
            ErrorCode.INVALID, "Code postal invalide (5 chiffres).", field=f"{where}.postcode"
        )


async def create_campaign(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    data: NewCampaign,
    now: datetime,
    client_address: str | None = None,
) -> int:
    """Creates the campaign, its journeys and their pre-filled sites in one transaction."""
    require_writing_credential(caller)
    if not caller.holds(Tier.OPERATOR) and data.group_id not in admin_groups(caller):
        raise not_found("groupId")
    name = _text(data.name, 200, "name")
    if data.closes_on < data.opens_on:
        raise Refusal(ErrorCode.INVALID, "La clôture précède l'ouverture.", field="closesOn")
    if data.supply_start < data.opens_on:
        raise Refusal(
            ErrorCode.INVALID,
            "Le début de fourniture précède l'ouverture de la collecte.",
            field="supplyStart",
        )
    if not 0 <= data.green_share_pct <= rules.MAX_GREEN_SHARE:
        raise Refusal(ErrorCode.INVALID, "Part verte entre 0 et 100 %.", field="greenSharePct")
    _check_perimeter(data.energy, data.members)
    async with transaction(sessions) as session:
        if await session.get(Group, data.group_id) is None:
            raise not_found("groupId")
        campaign = CollectionCampaign(
            group_id=data.group_id,
            energy=data.energy,
            name=name,
            opens_on=data.opens_on,
            closes_on=data.closes_on,
            supply_start=data.supply_start,
            default_payment_method=data.payment_method,
            default_invoice_delivery=data.invoice_delivery,
            default_green_share_pct=data.green_share_pct,
            default_grouped=data.grouped,
            default_frequencies={
                segment.value: (
                    data.frequencies.get(segment) or rules.DEFAULT_FREQUENCIES[segment]
                ).value
                for segment in sorted(SEGMENTS_OF[data.energy])
            },
            created_by_user_id=caller.user_id,
            created_at=now,
        )
        session.add(campaign)
        await session.flush()
        await _add_perimeter(session, campaign, data.members, now=now)
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="collection.campaign_created",
            object_type="CollectionCampaign",
            object_id=persisted_id(campaign),
            now=now,
            client_address=client_address,
            details={
                "members": len(data.members),
                "sites": sum(len(m.sites) for m in data.members),
            },
        )
        return persisted_id(campaign)


def _check_perimeter(energy: Energy, members: Sequence[PrefilledMember]) -> None:
    """The pre-filled perimeter's form: point numbers, segments of the lot's energy,
    postcodes; no member or point twice."""
    seen_points: set[str] = set()
    for m, member in enumerate(members):
        for s, site in enumerate(member.sites):
            _check_site(energy, site, f"members[{m}].sites[{s}]")
            if site.point_number in seen_points:
                raise Refusal(
                    ErrorCode.ALREADY_EXISTS,
                    f"Le point {site.point_number} figure deux fois dans le périmètre.",
                    field=f"members[{m}].sites[{s}].pointNumber",
                )
            seen_points.add(site.point_number)
    member_ids = [m.member_id for m in members]
    if len(set(member_ids)) != len(member_ids):
        raise Refusal(ErrorCode.ALREADY_EXISTS, "Un membre figure deux fois.", field="members")


async def _add_perimeter(
    session: AsyncSession,
    campaign: CollectionCampaign,
    members: Sequence[PrefilledMember],
    *,
    now: datetime,
) -> None:
    """A journey per member (of the campaign's group, not yet in it) with its pre-filled
    sites (none already in the campaign)."""
    member_ids = sorted(m.member_id for m in members)
    if not member_ids:
        return
    found = set(
        (
            await session.exec(
                select(Member.id).where(
                    Member.group_id == campaign.group_id, col(Member.id).in_(member_ids)
                )
            )
        ).all()
    )
    if found != set(member_ids):
        raise not_found("members")
    campaign_id = persisted_id(campaign)
    already = (
        await session.exec(
            select(CollectionJourney.member_id).where(
                CollectionJourney.campaign_id == campaign_id,
                col(CollectionJourney.member_id).in_(member_ids),
            )
        )
    ).first()
    if already is not None:
        raise Refusal(
            ErrorCode.ALREADY_EXISTS,
            "Un de ces membres est déjà dans la campagne.",
            field="members",
        )
    points = sorted(site.point_number for m in members for site in m.sites)
    if points:
        taken = (
            await session.exec(
                select(CollectionSite.point_number)
                .join(CollectionJourney, col(CollectionJourney.id) == CollectionSite.journey_id)
                .where(
                    CollectionJourney.campaign_id == campaign_id,
                    col(CollectionSite.point_number).in_(points),
                )
            )
        ).first()
        if taken is not None:
            raise Refusal(
                ErrorCode.ALREADY_EXISTS,
                f"Le point {taken} est déjà dans la campagne.",
                field="members",
            )
    for member in members:
        journey = CollectionJourney(
            campaign_id=campaign_id,
            member_id=member.member_id,
            status=JourneyStatus.NOT_STARTED,
            sites_total=len(member.sites),
        )
        session.add(journey)
        await session.flush()
        for site in member.sites:
            session.add(_prefilled_row(persisted_id(journey), campaign.energy, site, now))


async def add_campaign_members(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    campaign_id: int,
    members: Sequence[PrefilledMember],
    now: datetime,
) -> int:
    """More of the pre-filled perimeter, for a campaign larger than one call (100 members at
    most per call): same checks as at creation."""
    require_writing_credential(caller)
    if not members:
        raise Refusal(ErrorCode.REQUIRED, "Donnez au moins un membre.", field="members")
    async with transaction(sessions) as session:
        campaign = (
            await session.exec(
                campaigns_query(caller, caller.write_perimeter).where(
                    CollectionCampaign.id == campaign_id
                )
            )
        ).first()
        if campaign is None:
            raise not_found("campaignId")
        if campaign.closed_at is not None:
            raise Refusal(ErrorCode.INVALID_STATE, "La collecte est close.", field="campaignId")
        _check_perimeter(campaign.energy, members)
        await _add_perimeter(session, campaign, members, now=now)
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="collection.perimeter_added",
            object_type="CollectionCampaign",
            object_id=campaign_id,
            now=now,
            details={"members": len(members), "sites": sum(len(m.sites) for m in members)},
        )
        return campaign_id


def _prefilled_row(
    journey_id: int, energy: Energy, site: PrefilledSite, now: datetime
) -> CollectionSite:
    return CollectionSite(
        journey_id=journey_id,
        prefilled=True,
        energy=energy,
        point_number=site.point_number,
        distributor=site.distributor,
        distributor_name=(
            site.distributor_name or DISTRIBUTOR_NAMES.get(site.distributor, "Régie locale")
        )[:100],
        segment=site.segment,
        tariff_option=site.tariff_option[:20],
        transport_tariff=(site.transport_tariff or site.segment.value)[:40],
        profile=(site.profile or "")[:10],
        car_kwh=max(site.car_kwh, 0),
        street=site.street[:200],
        postcode=site.postcode,
        city=site.city[:100],
        distributor_status=site.distributor_status[:60],
        decision=SiteDecision.PENDING,
        created_at=now,
    )


# -- changing a journey: the version check ---------------------------------------------------


async def _claim_journey(
    session: AsyncSession,
    caller: Caller,
    *,
    journey_id: int,
    version: int,
    now: datetime,
) -> tuple[CollectionJourney, CollectionCampaign]:
    """The journey to change, once its version is checked and moved on (the first write of
    the transaction); a refusal rolls that back with everything else."""
    require_writing_credential(caller)
    in_write = scoped_collection_journeys(caller.write_perimeter, CollectionJourney.id).where(
        CollectionJourney.id == journey_id
    )
    connection = await session.connection()
    claimed = await connection.execute(
        sa.update(CollectionJourney)
        .where(
            col(CollectionJourney.id) == journey_id,
            col(CollectionJourney.version) == version,
            col(CollectionJourney.status) != JourneyStatus.VALIDATED,
            col(CollectionJourney.closed_at).is_(None),
            col(CollectionJourney.id).in_(in_write),
        )
        .values(
            version=CollectionJourney.version + 1,
            status=JourneyStatus.IN_PROGRESS,
            started_at=sa.func.coalesce(CollectionJourney.started_at, now),
            updated_at=now,
            updated_by_user_id=caller.user_id,
        )
    )
    if claimed.rowcount != 1:
        await _why_not_claimed(session, caller, journey_id)
    journey = (
        await session.exec(
            select(CollectionJourney)
            .where(CollectionJourney.id == journey_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    campaign = await session.get(CollectionCampaign, journey.campaign_id)
    assert campaign is not None
    if campaign.closed_at is not None:
        raise Refusal(ErrorCode.INVALID_STATE, "La collecte est close.", field="journeyId")
    if paris_date(now) < campaign.opens_on:
        raise Refusal(
            ErrorCode.INVALID_STATE,
            f"La collecte ouvre le {campaign.opens_on:%d/%m/%Y}.",
            field="journeyId",
        )
    return journey, campaign


async def _why_not_claimed(session: AsyncSession, caller: Caller, journey_id: int) -> None:
    row = (
        await session.exec(
            scoped_collection_journeys(
                caller.write_perimeter, CollectionJourney.status, CollectionJourney.closed_at
            ).where(CollectionJourney.id == journey_id)
        )
    ).first()
    if row is None:
        seen = (
            await session.exec(
                scoped_collection_journeys(caller.perimeter, CollectionJourney.id).where(
                    CollectionJourney.id == journey_id
                )
            )
        ).first()
        if seen is not None:
            raise Refusal(ErrorCode.FORBIDDEN, READ_ONLY_JOURNEY, field="journeyId")
        raise not_found("journeyId")
    status, closed_at = row
    if closed_at is not None:
        raise Refusal(ErrorCode.INVALID_STATE, "La collecte est close.", field="journeyId")
    if status == JourneyStatus.VALIDATED:
        raise Refusal(ErrorCode.INVALID_STATE, LOCKED, field="journeyId")
    raise Refusal(ErrorCode.VERSION_CONFLICT, VERSION_CONFLICT, field="version")


async def _states(
    session: AsyncSession, journey_id: int
) -> tuple[list[rules.SiteState], list[rules.LotState]]:
    sites = await core_rows(
        session,
        sa.select(
            col(CollectionSite.id),
            col(CollectionSite.point_number),
            col(CollectionSite.segment),
            col(CollectionSite.decision),
            col(CollectionSite.lot_id),
        )
        .where(col(CollectionSite.journey_id) == journey_id)
        .order_by(col(CollectionSite.id)),
    )
    lots = await core_rows(
        session,
        sa.select(
            col(CollectionLot.id),
            col(CollectionLot.name),
            col(CollectionLot.segment),
            col(CollectionLot.is_multi_site),
        )
        .where(col(CollectionLot.journey_id) == journey_id)
        .order_by(col(CollectionLot.id)),
    )
    return (
        [rules.SiteState(i, p, Segment(s), SiteDecision(d), lot) for i, p, s, d, lot in sites],
        [rules.LotState(i, n, Segment(s), m) for i, n, s, m in lots],
    )


async def _recompute(session: AsyncSession, journey: CollectionJourney) -> list[rules.Missing]:
    """Stores the progress the domain rules see in the journey as it now stands."""
    await session.flush()
    sites, lots = await _states(session, persisted_id(journey))
    missing = rules.missing_items(journey.administrative, sites, lots)
    journey.steps_done = rules.steps_done(missing)
    journey.sites_total = len(sites)
    journey.sites_confirmed = sum(s.decision is SiteDecision.CONFIRMED for s in sites)
    journey.sites_refused = sum(s.decision is SiteDecision.REFUSED for s in sites)
    session.add(journey)
    await session.flush()
    return missing


# -- step a: administrative data ------------------------------------------------------------

ADMIN_TEXT_LIMITS: dict[str, int] = {
    "legalName": 200,
    "siren": 9,
    "street": 200,
    "postcode": 5,
    "city": 100,
    "deliveryEmail": 254,
    "recipientSiret": 14,
    "chorusServiceCode": 100,
    "chorusCommitmentNumber": 50,
}
CONTACT_LIMITS: dict[str, int] = {"name": 200, "email": 254, "phone": 32}


def _merge_administrative(current: dict[str, Any] | None, given: dict[str, Any]) -> dict[str, Any]:
    """The saved data with what was given laid over it (an absent value keeps the saved one,
    so each part of the form saves as it goes)."""
    merged = dict(current or {})
    problems: list[Refusal] = []
    for key, value in given.items():
        if value is None:
            continue
        if isinstance(value, dict):
            contact = dict(merged.get(key) or {})
            for part, text in value.items():
                if text is None:
                    continue
                limit = CONTACT_LIMITS[part]
                cleaned = str(text).strip()
                if len(cleaned) > limit:
                    problems.append(
                        Refusal(ErrorCode.TOO_LONG, f"{limit} caractères au plus.", field=key)
                    )
                contact[part] = cleaned.lower() if part == "email" else cleaned
            merged[key] = contact
        elif key == "invoiceDelivery":
            merged[key] = InvoiceDelivery(value).value
        else:
            limit = ADMIN_TEXT_LIMITS[key]
            cleaned = str(value).strip()
            if len(cleaned) > limit:
                problems.append(
                    Refusal(ErrorCode.TOO_LONG, f"{limit} caractères au plus.", field=key)
                )
            merged[key] = cleaned.lower() if key == "deliveryEmail" else cleaned
    problems += [
        Refusal(ErrorCode.INVALID, message, field=key)
        for key, message in rules.administrative_problems(merged)
        if key in given and given[key] is not None
    ]
    if problems:
        raise Refusals(problems)
    return merged


async def save_administrative(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    journey_id: int,
    version: int,
    data: dict[str, Any],
    now: datetime,
) -> int:
    async with transaction(sessions) as session:
        journey, _ = await _claim_journey(
            session, caller, journey_id=journey_id, version=version, now=now
        )
        journey.administrative = _merge_administrative(journey.administrative, data)
        await _recompute(session, journey)
        return journey_id


# -- step b: the perimeter -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiteChanges:
    """A bulk edit: every field given is set on every site named."""

    decision: SiteDecision | None = None
    refusal_reason: SiteRefusalReason | None = None
    refusal_comment: str | None = None
    references: dict[str, str | None] = field(default_factory=dict)
    contact: dict[str, str | None] | None = None


async def _sites_of(
    session: AsyncSession, journey_id: int, site_ids: Sequence[int], field_name: str
) -> list[CollectionSite]:
    if not site_ids:
        raise Refusal(ErrorCode.REQUIRED, "Choisissez au moins un site.", field=field_name)
    found = list(
        (
            await session.exec(
                select(CollectionSite)
                .where(
                    CollectionSite.journey_id == journey_id,
                    col(CollectionSite.id).in_(sorted(set(site_ids))),
                )
                .order_by(col(CollectionSite.id))
            )
        ).all()
    )
    if len(found) != len(set(site_ids)):
        raise not_found(field_name)
    return found


def _reference_values(references: dict[str, str | None]) -> dict[str, str | None]:
    cleaned: dict[str, str | None] = {}
    problems: list[Refusal] = []
    for key, value in references.items():
        if value is None:
            continue
        if value.strip() == "":
            cleaned[key] = None  # an empty text clears the reference
            continue
        text, problem = clean_reference(value, SITE_REFERENCE_LIMITS[key])
        if problem is not None:
            problems.append(
                Refusal(
                    ErrorCode(problem.value),
                    f"Référence invalide : {SITE_REFERENCE_LIMITS[key]} caractères au plus, "
                    "sans caractère de contrôle.",
                    field=_camel(key),
                )
            )
        cleaned[key] = text
    if problems:
        raise Refusals(problems)
    return cleaned


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


async def update_sites(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    journey_id: int,
    version: int,
    site_ids: Sequence[int],
    changes: SiteChanges,
    now: datetime,
) -> int:
    """Confirms, refuses (with a reason), completes references or associates a contact, on
    one site or many at once."""
    references = _reference_values(changes.references)
    if changes.decision is SiteDecision.REFUSED and changes.refusal_reason is None:
        raise Refusal(ErrorCode.REQUIRED, "Donnez le motif du refus.", field="refusalReason")
    contact: dict[str, str | None] = {}
    if changes.contact is not None:
        for part, value in changes.contact.items():
            limit = CONTACT_LIMITS[part]
            text = (value or "").strip()
            if len(text) > limit:
                raise Refusal(ErrorCode.TOO_LONG, f"{limit} caractères au plus.", field="contact")
            contact[part] = (text.lower() if part == "email" else text) or None
        email = contact.get("email")
        if email and not rules.EMAIL.fullmatch(email):
            raise Refusal(ErrorCode.INVALID, "Adresse email invalide.", field="contact")
    comment = changes.refusal_comment
    if comment is not None:
        comment = _text(comment, 200, "refusalComment", required=False) or None
    async with transaction(sessions) as session:
        await _claim_journey(session, caller, journey_id=journey_id, version=version, now=now)
        sites = await _sites_of(session, journey_id, site_ids, "siteIds")
        for site in sites:
            if changes.decision is not None:
                site.decision = changes.decision
                if changes.decision is SiteDecision.REFUSED:
                    site.refusal_reason = changes.refusal_reason
                    site.refusal_comment = comment
                    site.lot_id = None  # a refused site leaves its billing perimeter
                else:
                    site.refusal_reason = None
                    site.refusal_comment = None
                    if changes.decision is SiteDecision.PENDING:
                        site.lot_id = None
            for key, value in references.items():
                setattr(site, key, value)
            if changes.contact is not None:
                site.contact_name = contact.get("name")
                site.contact_email = contact.get("email")
                site.contact_phone = contact.get("phone")
            session.add(site)
        journey = await session.get(CollectionJourney, journey_id)
        assert journey is not None
        await _recompute(session, journey)
        return journey_id


@dataclass(frozen=True, slots=True)
class AddedSite:
    point_number: str
    distributor: Distributor
    distributor_name: str | None
    segment: Segment
    tariff_option: str
    street: str
    postcode: str
    city: str
    activation_date: date
    internal_code: str | None = None
    designation: str | None = None


async def add_site(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    journey_id: int,
    version: int,
    site: AddedSite,
    now: datetime,
) -> int:
    """A site the market's data missed: added confirmed, to be billed like the others."""
    references = _reference_values(
        {"internal_code": site.internal_code, "designation": site.designation}
    )
    async with transaction(sessions) as session:
        journey, campaign = await _claim_journey(
            session, caller, journey_id=journey_id, version=version, now=now
        )
        prefilled = PrefilledSite(
            point_number=site.point_number,
            distributor=site.distributor,
            distributor_name=site.distributor_name,
            segment=site.segment,
            tariff_option=_text(site.tariff_option, 20, "tariffOption"),
            street=_text(site.street, 200, "street"),
            postcode=site.postcode,
            city=_text(site.city, 100, "city"),
            distributor_status="Ajouté par le membre",
        )
        _check_site(campaign.energy, prefilled, "site")
        duplicate = (
            await session.exec(
                select(CollectionSite.id).where(
                    CollectionSite.journey_id == journey_id,
                    CollectionSite.point_number == site.point_number,
                )
            )
        ).first()
        if duplicate is not None:
            raise Refusal(
                ErrorCode.ALREADY_EXISTS,
                f"Le point {site.point_number} est déjà dans votre périmètre.",
                field="site.pointNumber",
            )
        row = _prefilled_row(journey_id, campaign.energy, prefilled, now)
        row.prefilled = False
        row.decision = SiteDecision.CONFIRMED
        row.activation_date = site.activation_date
        for key, value in references.items():
            setattr(row, key, value)
        session.add(row)
        await _recompute(session, journey)
        return journey_id


# -- step c: billing perimeters --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LotData:
    name: str
    segment: Segment
    multi_site: bool
    payment_method: PaymentMethod
    billing_frequency: BillingFrequency
    invoice_delivery: InvoiceDelivery
    green_share_pct: int


async def save_lot(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    journey_id: int,
    version: int,
    lot_id: int | None,
    data: LotData,
    now: datetime,
) -> int:
    """Creates a billing perimeter, or changes one (its sites must still fit it)."""
    name = _text(data.name, rules.LOT_NAME_LIMIT, "name")
    if not 0 <= data.green_share_pct <= rules.MAX_GREEN_SHARE:
        raise Refusal(ErrorCode.INVALID, "Part verte entre 0 et 100 %.", field="greenSharePct")
    async with transaction(sessions) as session:
        journey, campaign = await _claim_journey(
            session, caller, journey_id=journey_id, version=version, now=now
        )
        if data.segment not in SEGMENTS_OF[campaign.energy]:
            raise Refusal(
                ErrorCode.INVALID,
                f"Le segment {data.segment.value} n'est pas un segment de cette énergie.",
                field="segment",
            )
        same_name = select(CollectionLot.id).where(
            CollectionLot.journey_id == journey_id, CollectionLot.name == name
        )
        if lot_id is not None:
            same_name = same_name.where(CollectionLot.id != lot_id)
        if (await session.exec(same_name)).first() is not None:
            raise Refusal(
                ErrorCode.ALREADY_EXISTS, f"Un périmètre s'appelle déjà « {name} ».", field="name"
            )
        if lot_id is None:
            lot = CollectionLot(journey_id=journey_id, name=name, created_at=now, **_lot(data))
        else:
            found = (
                await session.exec(
                    select(CollectionLot).where(
                        CollectionLot.id == lot_id, CollectionLot.journey_id == journey_id
                    )
                )
            ).first()
            if found is None:
                raise not_found("lotId")
            lot = found
            lot.name = name
            for key, value in _lot(data).items():
                setattr(lot, key, value)
            members = (
                await session.exec(
                    select(CollectionSite.point_number, CollectionSite.segment).where(
                        CollectionSite.lot_id == lot_id
                    )
                )
            ).all()
            if any(Segment(s) is not data.segment for _, s in members):
                raise Refusal(
                    ErrorCode.SEGMENT_MISMATCH,
                    "Des sites de ce périmètre ne sont pas de ce segment : détachez-les d'abord.",
                    field="segment",
                )
            if not data.multi_site and len(members) > 1:
                raise Refusal(
                    ErrorCode.INVALID,
                    "Ce périmètre a plusieurs sites : il ne peut pas devenir monosite.",
                    field="multiSite",
                )
        session.add(lot)
        await _recompute(session, journey)
        return journey_id


def _lot(data: LotData) -> dict[str, Any]:
    return {
        "segment": data.segment,
        "is_multi_site": data.multi_site,
        "payment_method": data.payment_method,
        "billing_frequency": data.billing_frequency,
        "invoice_delivery": data.invoice_delivery,
        "green_share_pct": data.green_share_pct,
    }


async def remove_lot(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    journey_id: int,
    version: int,
    lot_id: int,
    now: datetime,
) -> int:
    """Deletes a billing perimeter; its sites are detached (to attach elsewhere)."""
    async with transaction(sessions) as session:
        journey, _ = await _claim_journey(
            session, caller, journey_id=journey_id, version=version, now=now
        )
        lot = (
            await session.exec(
                select(CollectionLot).where(
                    CollectionLot.id == lot_id, CollectionLot.journey_id == journey_id
                )
            )
        ).first()
        if lot is None:
            raise not_found("lotId")
        connection = await session.connection()
        await connection.execute(
            sa.update(CollectionSite)
            .where(col(CollectionSite.lot_id) == lot_id)
            .values(lot_id=None)
        )
        await session.delete(lot)
        await _recompute(session, journey)
        return journey_id


async def assign_sites(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    journey_id: int,
    version: int,
    lot_id: int | None,
    site_ids: Sequence[int],
    now: datetime,
) -> int:
    """Attaches sites to a billing perimeter in bulk (or detaches them: no lot). Every site
    must be confirmed and share the lot's segment; a mono-site lot takes one site."""
    async with transaction(sessions) as session:
        journey, _ = await _claim_journey(
            session, caller, journey_id=journey_id, version=version, now=now
        )
        sites = await _sites_of(session, journey_id, site_ids, "siteIds")
        if lot_id is not None:
            lot = (
                await session.exec(
                    select(CollectionLot).where(
                        CollectionLot.id == lot_id, CollectionLot.journey_id == journey_id
                    )
                )
            ).first()
            if lot is None:
                raise not_found("lotId")
            state = rules.LotState(lot_id, lot.name, lot.segment, lot.is_multi_site)
            named = {persisted_id(s) for s in sites}
            size = len(
                (
                    await session.exec(
                        select(CollectionSite.id).where(
                            CollectionSite.lot_id == lot_id,
                            col(CollectionSite.id).not_in(sorted(named)),
                        )
                    )
                ).all()
            )
            problems: list[Refusal] = []
            for site in sites:
                problem = rules.attach_problem(
                    rules.SiteState(
                        persisted_id(site), site.point_number, site.segment, site.decision, None
                    ),
                    state,
                    size,
                )
                if problem is not None:
                    code = (
                        ErrorCode.SEGMENT_MISMATCH
                        if site.segment is not lot.segment
                        else ErrorCode.INVALID_STATE
                    )
                    problems.append(Refusal(code, problem, field="siteIds"))
                size += 1
            if problems:
                raise Refusals(problems)
        for site in sites:
            site.lot_id = lot_id
            session.add(site)
        await _recompute(session, journey)
        return journey_id


# -- validation and unlocking ------------------------------------------------------------------


async def validate_journey(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    journey_id: int,
    version: int,
    now: datetime,
) -> int:
    """Certifies and locks a complete journey, and mails everything collected (XLSX). An
    incomplete one is refused with one JOURNEY_INCOMPLETE error per thing missing."""
    async with transaction(sessions) as session:
        journey, campaign = await _claim_journey(
            session, caller, journey_id=journey_id, version=version, now=now
        )
        missing = await _recompute(session, journey)
        if missing:
            raise Refusals(
                [
                    Refusal(
                        ErrorCode.JOURNEY_INCOMPLETE,
                        f"{rules.STEP_LABELS[m.step]} : {m.message}",
                        field=m.field,
                    )
                    for m in missing
                ]
            )
        journey.status = JourneyStatus.VALIDATED
        journey.validated_at = now
        journey.validated_by_user_id = caller.user_id
        session.add(journey)
        await session.flush()
        await _queue_validated_mail(session, settings, caller, journey, campaign, now=now)
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="collection.journey_validated",
            object_type="CollectionJourney",
            object_id=journey_id,
            now=now,
            details={"version": journey.version},
        )
        return journey_id


async def _queue_validated_mail(
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    journey: CollectionJourney,
    campaign: CollectionCampaign,
    *,
    now: datetime,
) -> None:
    member = await session.get(Member, journey.member_id)
    assert member is not None
    admin = journey.administrative or {}
    sites = (
        await session.exec(
            select(CollectionSite)
            .where(CollectionSite.journey_id == journey.id)
            .order_by(col(CollectionSite.point_number))
        )
    ).all()
    lots = {
        persisted_id(lot): lot
        for lot in (
            await session.exec(
                select(CollectionLot)
                .where(CollectionLot.journey_id == journey.id)
                .order_by(col(CollectionLot.name))
            )
        ).all()
    }
    counts: dict[int, int] = {}
    rows: list[dict[str, Any]] = []
    for site in sites:
        lot = lots.get(site.lot_id) if site.lot_id is not None else None
        if lot is not None:
            counts[persisted_id(lot)] = counts.get(persisted_id(lot), 0) + 1
        rows.append(
            {
                "point_number": site.point_number,
                "segment": site.segment.value,
                "distributor": site.distributor_name,
                "address": site.street,
                "postcode": site.postcode,
                "city": site.city,
                "decision": rules.SITE_DECISION_LABELS[site.decision],
                "refusal": rules.REFUSAL_REASON_LABELS[site.refusal_reason]
                if site.refusal_reason
                else None,
                "internal_code": site.internal_code,
                "designation": site.designation,
                "other_reference": site.other_reference,
                "contact": " ".join(
                    part for part in (site.contact_name, site.contact_email) if part
                )
                or None,
                "lot": lot.name if lot else None,
                "invoice_type": ("Multisite" if lot.is_multi_site else "Monosite") if lot else None,
                "payment_method": PAYMENT_METHOD_LABELS[lot.payment_method] if lot else None,
                "billing_frequency": BILLING_FREQUENCY_LABELS[lot.billing_frequency]
                if lot
                else None,
                "invoice_delivery": INVOICE_DELIVERY_LABELS[lot.invoice_delivery] if lot else None,
                "green_share": lot.green_share_pct if lot else None,
            }
        )
    lot_lines = [
        {
            "name": lot.name,
            "segment": lot.segment.value,
            "invoice_type": "Multisite" if lot.is_multi_site else "Monosite",
            "sites": counts.get(lot_id, 0),
            "payment_method": PAYMENT_METHOD_LABELS[lot.payment_method],
            "billing_frequency": BILLING_FREQUENCY_LABELS[lot.billing_frequency],
            "invoice_delivery": INVOICE_DELIVERY_LABELS[lot.invoice_delivery],
            "green_share": lot.green_share_pct,
        }
        for lot_id, lot in lots.items()
    ]
    delivery = admin.get("invoiceDelivery")
    summary = [
        ("Raison sociale", admin.get("legalName", "")),
        ("SIREN", admin.get("siren", "")),
        (
            "Adresse",
            f"{admin.get('street', '')}, {admin.get('postcode', '')} {admin.get('city', '')}",
        ),
        (
            "Envoi des factures",
            INVOICE_DELIVERY_LABELS[InvoiceDelivery(delivery)] if delivery else "",
        ),
        ("Sites confirmés", str(journey.sites_confirmed)),
        ("Sites refusés", str(journey.sites_refused)),
        ("Périmètres de facturation", str(len(lots))),
    ]
    service = (await contacts.for_groups(session, settings, [campaign.group_id]))[campaign.group_id]
    recipients = {caller.email: caller.full_name}
    main = admin.get("mainContact") or {}
    if main.get("email"):
        recipients.setdefault(main["email"], main.get("name") or main["email"])
    for email, full_name in recipients.items():
        await mails.queue_collection_validated(
            session,
            mail=mails.CollectionValidatedMail(
                journey_id=persisted_id(journey),
                version=journey.version,
                email=email,
                full_name=full_name,
                member_legal_name=admin.get("legalName") or member.legal_name,
                campaign_name=campaign.name,
                validated_on=paris_date(now),
                supply_start=campaign.supply_start,
                summary=summary,
                lots=lot_lines,
                sites=rows,
                customer_service=service,
            ),
            now=now,
        )


async def unlock_journey(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    journey_id: int,
    now: datetime,
) -> int:
    """The back office reopens a validated journey (the member called customer service)."""
    require_writing_credential(caller)
    async with transaction(sessions) as session:
        journey = (
            await session.exec(
                select(CollectionJourney)
                .where(CollectionJourney.id == journey_id)
                .with_for_update()
            )
        ).first()
        if journey is None:
            raise not_found("journeyId")
        if journey.closed_at is not None:
            raise Refusal(ErrorCode.INVALID_STATE, "La collecte est close.", field="journeyId")
        if journey.status is not JourneyStatus.VALIDATED:
            raise Refusal(
                ErrorCode.INVALID_STATE, "Ce parcours n'est pas validé.", field="journeyId"
            )
        journey.status = JourneyStatus.IN_PROGRESS
        journey.validated_at = None
        journey.validated_by_user_id = None
        journey.version += 1
        journey.updated_at = now
        journey.updated_by_user_id = caller.user_id
        session.add(journey)
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="collection.journey_unlocked",
            object_type="CollectionJourney",
            object_id=journey_id,
            now=now,
        )
        return journey_id


# -- reading ---------------------------------------------------------------------------------


def _journey_columns() -> tuple[Any, ...]:
    return (
        CollectionJourney.id,
        CollectionJourney.campaign_id,
        CollectionJourney.member_id,
        CollectionJourney.version,
        CollectionJourney.status,
        CollectionJourney.administrative,
        CollectionJourney.steps_done,
        CollectionJourney.sites_total,
        CollectionJourney.sites_confirmed,
        CollectionJourney.sites_refused,
        CollectionJourney.started_at,
        CollectionJourney.updated_at,
        CollectionJourney.validated_at,
        CollectionJourney.closed_at,
        Member.legal_name.label("member_legal_name"),  # type: ignore[attr-defined]
        Member.customer_number.label("member_customer_number"),  # type: ignore[attr-defined]
        CollectionCampaign.name.label("campaign_name"),  # type: ignore[attr-defined]
        CollectionCampaign.energy.label("campaign_energy"),  # type: ignore[attr-defined]
        CollectionCampaign.opens_on,
        CollectionCampaign.closes_on,
        CollectionCampaign.supply_start,
    )


def journeys_select(caller: Caller | None, perimeter: Perimeter) -> Any:
    return (
        journeys_query(caller, perimeter, *_journey_columns())
        .select_from(CollectionJourney)
        .join(Member, col(Member.id) == CollectionJourney.member_id)
        .join(CollectionCampaign, col(CollectionCampaign.id) == CollectionJourney.campaign_id)
    )


async def load_journeys(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller | None,
    perimeter: Perimeter,
    ids: Sequence[int | None],
) -> list[Any]:
    """Journeys by id, in order; None for an id unknown or outside the perimeter."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return [None for _ in ids]
    async with sessions() as session:
        rows = (
            await session.exec(
                journeys_select(caller, perimeter).where(col(CollectionJourney.id).in_(wanted))
            )
        ).all()
    found = {row.id: row for row in rows}
    return [found.get(i) if i is not None else None for i in ids]


@dataclass(frozen=True, slots=True)
class JourneyQuery:
    campaign_id: int | None = None
    statuses: tuple[JourneyStatus, ...] = ()
    member_ids: tuple[int, ...] | None = None
    search: str | None = None  # in the member's legal name or customer number


def filtered_journeys(query: Any, criteria: JourneyQuery) -> Any:
    if criteria.campaign_id is not None:
        query = query.where(CollectionJourney.campaign_id == criteria.campaign_id)
    if criteria.statuses:
        query = query.where(col(CollectionJourney.status).in_(criteria.statuses))
    if criteria.member_ids is not None:
        query = query.where(col(CollectionJourney.member_id).in_(criteria.member_ids))
    if criteria.search:
        pattern = f"%{criteria.search.strip().lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(Member.legal_name).like(pattern),
                sa.func.lower(Member.customer_number).like(pattern),
            )
        )
    return query


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    cursors: list[tuple[Any, ...]]
    has_next_page: bool
    total_count: int | None


async def list_journeys(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller | None,
    perimeter: Perimeter,
    criteria: JourneyQuery,
    *,
    first: int,
    after: list[Any] | None,
    with_count: bool,
) -> Page:
    """Journeys by member name (then id), keyset-paged."""
    query = filtered_journeys(journeys_select(caller, perimeter), criteria)
    if after is not None:
        if len(after) != 2 or not isinstance(after[0], str) or not isinstance(after[1], int):
            raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after")
        query = query.where(
            sa.tuple_(Member.legal_name, CollectionJourney.id) > sa.tuple_(after[0], after[1])
        )
    query = query.order_by(col(Member.legal_name), col(CollectionJourney.id)).limit(first + 1)
    async with sessions() as session:
        rows = list((await session.exec(query)).all())
        total = None
        if with_count:
            counted = filtered_journeys(
                journeys_query(caller, perimeter, sa.func.count())
                .select_from(CollectionJourney)
                .join(Member, col(Member.id) == CollectionJourney.member_id),
                criteria,
            )
            total = (await session.exec(counted)).one()
    page = rows[:first]
    return Page(
        rows=page,
        cursors=[(r.member_legal_name, r.id) for r in page],
        has_next_page=len(rows) > first,
        total_count=total,
    )


async def sites_of_journeys(
    sessions: async_sessionmaker[AsyncSession], journey_ids: Sequence[int]
) -> list[list[Any]]:
    """The sites of journeys already read inside the perimeter, per journey, by point."""
    async with sessions() as session:
        rows = (
            await session.exec(
                select(CollectionSite, CollectionLot.name)
                .outerjoin(CollectionLot, col(CollectionLot.id) == CollectionSite.lot_id)
                .where(col(CollectionSite.journey_id).in_(sorted(set(journey_ids))))
                .order_by(col(CollectionSite.point_number))
            )
        ).all()
    grouped: dict[int, list[Any]] = {}
    for site, lot_name in rows:
        grouped.setdefault(site.journey_id, []).append((site, lot_name))
    return [grouped.get(i, []) for i in journey_ids]


async def lots_of_journeys(
    sessions: async_sessionmaker[AsyncSession], journey_ids: Sequence[int]
) -> list[list[Any]]:
    """The billing perimeters of journeys already read inside the perimeter, with their
    site counts."""
    async with sessions() as session:
        counts = (
            select(CollectionSite.lot_id, sa.func.count().label("sites"))
            .where(col(CollectionSite.lot_id).is_not(None))
            .group_by(col(CollectionSite.lot_id))
            .subquery()
        )
        rows = (
            await session.exec(
                select(CollectionLot, sa.func.coalesce(counts.c.sites, 0))
                .outerjoin(counts, counts.c.lot_id == CollectionLot.id)
                .where(col(CollectionLot.journey_id).in_(sorted(set(journey_ids))))
                .order_by(col(CollectionLot.name))
            )
        ).all()
    grouped: dict[int, list[Any]] = {}
    for lot, count in rows:
        grouped.setdefault(lot.journey_id, []).append((lot, int(count)))
    return [grouped.get(i, []) for i in journey_ids]


@dataclass(frozen=True, slots=True)
class Progress:
    members: int = 0
    not_started: int = 0
    in_progress: int = 0
    validated: int = 0
    sites_total: int = 0
    sites_confirmed: int = 0

    @property
    def response_rate(self) -> float:
        """Members that validated, in percent of the campaign's members."""
        return rules.share_pct(self.validated, self.members)


async def list_campaigns(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller | None,
    perimeter: Perimeter,
    *,
    campaign_ids: Sequence[int] | None = None,
) -> list[tuple[CollectionCampaign, Progress]]:
    """The campaigns the caller follows, newest first, each with its progress (one grouped
    query for all of them)."""
    query = campaigns_query(caller, perimeter)
    if campaign_ids is not None:
        query = query.where(col(CollectionCampaign.id).in_(sorted(set(campaign_ids))))
    async with sessions() as session:
        campaigns = list(
            (
                await session.exec(
                    query.order_by(
                        col(CollectionCampaign.opens_on).desc(), col(CollectionCampaign.id).desc()
                    ).limit(200)
                )
            ).all()
        )
        ids = [persisted_id(c) for c in campaigns]
        rows = (
            await core_rows(
                session,
                sa.select(
                    col(CollectionJourney.campaign_id),
                    col(CollectionJourney.status),
                    sa.func.count(),
                    sa.func.sum(CollectionJourney.sites_total),
                    sa.func.sum(CollectionJourney.sites_confirmed),
                )
                .where(col(CollectionJourney.campaign_id).in_(ids))
                .group_by(col(CollectionJourney.campaign_id), col(CollectionJourney.status)),
            )
            if ids
            else []
        )
    tallies: dict[int, dict[str, int]] = {}
    for campaign_id, status, count, total, confirmed in rows:
        tally = tallies.setdefault(campaign_id, {})
        tally[JourneyStatus(status).value] = int(count)
        tally["sites_total"] = tally.get("sites_total", 0) + int(total or 0)
        tally["sites_confirmed"] = tally.get("sites_confirmed", 0) + int(confirmed or 0)
    result: list[tuple[CollectionCampaign, Progress]] = []
    for campaign in campaigns:
        tally = tallies.get(persisted_id(campaign), {})
        counts = {s: tally.get(s.value, 0) for s in JourneyStatus}
        result.append(
            (
                campaign,
                Progress(
                    members=sum(counts.values()),
                    not_started=counts[JourneyStatus.NOT_STARTED],
                    in_progress=counts[JourneyStatus.IN_PROGRESS],
                    validated=counts[JourneyStatus.VALIDATED],
                    sites_total=tally.get("sites_total", 0),
                    sites_confirmed=tally.get("sites_confirmed", 0),
                ),
            )
        )
    return result


async def campaign_to_follow(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller | None,
    perimeter: Perimeter,
    campaign_id: int,
) -> CollectionCampaign:
    """A campaign the caller follows (the back office, or its group's ADMIN), else NOT_FOUND."""
    async with sessions() as session:
        campaign: CollectionCampaign | None = (
            await session.exec(
                campaigns_query(caller, perimeter).where(CollectionCampaign.id == campaign_id)
            )
        ).first()
    if campaign is None:
        raise not_found("campaignId")
    return campaign
