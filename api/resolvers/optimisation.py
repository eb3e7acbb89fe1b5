"""Tariff optimisation: the yearly campaign, the proposals' list and file, the member's answer.

- `run_campaign` (the `comptoir optimise` command, the ADMIN's `runOptimisationCampaign`)
  studies the active sites of a group (or some of its members) in their second year of supply
  with the grids in force (`domain.optimisation`), keeps the proposals whose net gain reaches
  the threshold and records them with the campaign and the grids' versions, in one
  transaction per group; the group's row is locked first, so two runs go one after the other.
  A site's unanswered proposal is superseded by the new study of that site.
- The list and the file: every statement starts from `db.scoped.scoped_optimisation_proposals`;
  a proposal's state (`ProposalState`) is computed in SQL from its status, its deadline and its
  technical request, so filters and counts agree with what is shown.
- `accept_optimisation` files the "Optimisation" technical request through the technical
  requests' own use case (`file_technical_request`: reference, first event, audit, mail) in the
  same transaction as the answer: the request exists exactly when the proposal is accepted.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.export_files import streamed_rows
from api.resolvers.filter_scope import check_filter_scope
from api.resolvers.keyset_pages import EMPTY_PAGE, RowPage, fetch_page, keyset_page, rows_by_id
from api.resolvers.portfolio import SiteCriteria
from api.resolvers.technical_requests import (
    REQUESTS,
    Contact,
    SiteChoice,
    Submission,
    file_technical_request,
)
from api.resolvers.writable import object_to_change, require_writing_credential
from auth.caller import Caller
from comptoir.settings import Settings
from db import audit
from db.core import GROUPS, MEMBERS, METERS, READINGS, SITES, core, core_rows, table_of
from db.engine import transaction
from db.models import OptimisationCampaign, OptimisationProposal, TariffGrid
from db.scoped import Perimeter, scoped_optimisation_proposals
from documents.invoice_pdf import euros
from documents.tables import Column, ColumnKind, Table
from domain.calendar import PARIS, paris_date
from domain.consumption import MeterBasis, ReadingPoint
from domain.enums import Energy, Segment, SiteStatus, TechnicalRequestStatus, TechnicalRequestType
from domain.errors import ErrorCode, Refusal, not_found
from domain.labels import ENERGY_LABELS
from domain.optimisation import (
    ACTUAL_SOURCES,
    OptionPrice,
    ProposalState,
    ProposalStatus,
    SiteToStudy,
    answer_deadline,
    grid_in_force,
    in_second_year_of_supply,
    money,
    study_site,
    worth_proposing,
    yearly_consumption,
)
from domain.optimisation import TariffGrid as Grid
from domain.technical_request_workflow import clean_note
from domain.technical_requests import Characteristics

PROPOSALS = table_of(OptimisationProposal)
CAMPAIGNS = table_of(OptimisationCampaign)
GRIDS = table_of(TariffGrid)
# Sites studied per batch: one statement for their meters and one for their readings.
BATCH = 1_000
# Readings looked at: a year before the study day, and a margin for the interval that
# straddles its start.
READINGS_LOOKBACK_DAYS = 400
MAX_THRESHOLD = Decimal("1000000")
READ_ONLY_PROPOSAL = "Votre habilitation permet de consulter cette proposition, pas d'y répondre."
READ_ONLY_GROUP = "Votre habilitation permet de consulter ce groupement, pas d'y lancer d'étude."
STUDIED_SEGMENTS = (Segment.T1, Segment.T2, Segment.T3, Segment.T4, Segment.C5)
STATE_LABELS: dict[ProposalState, str] = {
    ProposalState.PROPOSED: "En attente de réponse",
    ProposalState.EXPIRED: "Sans réponse dans le délai",
    ProposalState.ACCEPTED: "Acceptée, changement en cours",
    ProposalState.CARRIED_OUT: "Réalisée",
    ProposalState.CANCELLED: "Acceptée, demande abandonnée",
    ProposalState.DECLINED: "Refusée",
    ProposalState.SUPERSEDED: "Remplacée par une étude plus récente",
}
ANSWER_LABELS: dict[ProposalState, str] = {
    ProposalState.PROPOSED: "",
    ProposalState.EXPIRED: "",
    ProposalState.ACCEPTED: "Acceptée",
    ProposalState.CARRIED_OUT: "Acceptée",
    ProposalState.CANCELLED: "Acceptée",
    ProposalState.DECLINED: "Refusée",
    ProposalState.SUPERSEDED: "",
}


# -- the grids ---------------------------------------------------------------------------------


def grid_of(row: Any) -> Grid:
    """A stored grid as the study reads it."""
    return Grid(
        energy=Energy(row.energy),
        version=row.version,
        valid_from=row.valid_from,
        options=tuple(
            OptionPrice(
                option=o["option"],
                fixed_yearly=Decimal(o["fixed_yearly"]),
                prices={r: Decimal(p) for r, p in o["prices"].items()},
                cta_rate=Decimal(o["cta_rate"]),
                subscribed_power_kva=(
                    Decimal(o["subscribed_power_kva"])
                    if o.get("subscribed_power_kva") is not None
                    else None
                ),
            )
            for o in row.options
        ),
        change_fee=row.change_fee,
        special_reading_fee=row.special_reading_fee,
        off_peak_share=row.off_peak_share,
        source=row.source,
    )


async def load_grids(session: AsyncSession) -> list[Grid]:
    return [grid_of(r) for r in await core_rows(session, sa.select(*GRIDS.c))]


# -- the campaign ------------------------------------------------------------------------------


@dataclass(slots=True)
class CampaignReport:
    campaign_id: int
    group_id: int
    as_of: date
    threshold: Decimal
    grid_versions: dict[str, str]
    sites_studied: int = 0
    sites_on_readings: int = 0
    proposals: int = 0
    superseded: int = 0
    seconds: float = 0.0
    skipped: dict[str, int] = field(default_factory=dict)


async def _in_progress(session: AsyncSession, site_ids: Sequence[int], as_of: date) -> set[int]:
    """Sites whose accepted change of the last year is not abandoned or rejected: studied again
    once the year is over (the site's option is the distributor's to update)."""
    statement = (
        sa.select(PROPOSALS.c.site_id)
        .select_from(
            PROPOSALS.outerjoin(REQUESTS, REQUESTS.c.id == PROPOSALS.c.technical_request_id)
        )
        .where(
            PROPOSALS.c.site_id.in_(site_ids),
            PROPOSALS.c.status == ProposalStatus.ACCEPTED,
            PROPOSALS.c.proposed_on > as_of - timedelta(days=365),
            sa.or_(
                REQUESTS.c.status.is_(None),
                REQUESTS.c.status.not_in(
                    [TechnicalRequestStatus.ABANDONED, TechnicalRequestStatus.REJECTED]
                ),
            ),
        )
    )
    return {r.site_id for r in await core_rows(session, statement)}


async def run_campaign(
    sessions: async_sessionmaker[AsyncSession],
    *,
    group_id: int,
    threshold: Decimal,
    as_of: date,
    now: datetime,
    member_ids: Sequence[int] | None = None,
    run_by_user_id: int | None = None,
) -> CampaignReport:
    """Studies the group's sites (or its `member_ids`' sites) as of `as_of` and records the
    proposals at or above `threshold` (net gain, € excl. VAT). One transaction."""
    started = time.perf_counter()
    async with transaction(sessions) as session:
        locked = await core(
            session, sa.select(GROUPS.c.id).where(GROUPS.c.id == group_id).with_for_update()
        )
        if locked.first() is None:
            raise not_found("groupId")
        grids = await load_grids(session)
        in_force = {e: grid_in_force(grids, e, as_of) for e in Energy}
        versions = {e.value: g.version for e, g in in_force.items() if g is not None}
        campaign = OptimisationCampaign(
            group_id=group_id,
            as_of=as_of,
            threshold=money(threshold),
            grid_versions=versions,
            member_ids=sorted(set(member_ids)) if member_ids is not None else None,
            sites_studied=0,
            proposals=0,
            run_by_user_id=run_by_user_id,
            run_at=now,
        )
        session.add(campaign)
        await session.flush()
        assert campaign.id is not None
        report = CampaignReport(campaign.id, group_id, as_of, campaign.threshold, versions)
        s = SITES.c
        sites_query = (
            sa.select(
                s.id,
                s.member_id,
                s.billing_account_id,
                s.energy,
                s.segment,
                s.tariff_option,
                s.subscribed_power_kva,
                s.car_kwh,
                s.supply_start,
            )
            .select_from(SITES.join(MEMBERS, MEMBERS.c.id == s.member_id))
            .where(
                MEMBERS.c.group_id == group_id,
                s.status == SiteStatus.ACTIVE,
                s.segment.in_(STUDIED_SEGMENTS),
            )
            .order_by(s.id)
        )
        if member_ids is not None:
            sites_query = sites_query.where(s.member_id.in_(sorted(set(member_ids))))
        sites = [
            r
            for r in await core_rows(session, sites_query)
            if in_second_year_of_supply(r.supply_start, as_of)
        ]
        for start in range(0, len(sites), BATCH):
            await _study_batch(session, report, sites[start : start + BATCH], in_force, now)
        campaign.sites_studied = report.sites_studied
        campaign.proposals = report.proposals
        session.add(campaign)
    report.seconds = time.perf_counter() - started
    return report


async def _study_batch(
    session: AsyncSession,
    report: CampaignReport,
    sites: Sequence[Any],
    in_force: dict[Energy, Grid | None],
    now: datetime,
) -> None:
    ids = [r.id for r in sites]
    busy = await _in_progress(session, ids, report.as_of)
    meters: dict[int, list[MeterBasis]] = defaultdict(list)
    for m in await core_rows(
        session,
        sa.select(
            METERS.c.id, METERS.c.site_id, METERS.c.digits, METERS.c.reading_coefficient
        ).where(METERS.c.site_id.in_(ids)),
    ):
        meters[m.site_id].append(MeterBasis(m.id, m.digits, m.reading_coefficient))
    readings: dict[int, list[ReadingPoint]] = defaultdict(list)
    r = READINGS.c
    for row in await core_rows(
        session,
        sa.select(
            r.site_id, r.meter_id, r.register_code, r.read_on, r.index_value, r.source, r.rollover
        ).where(
            r.site_id.in_(ids),
            r.read_on >= report.as_of - timedelta(days=READINGS_LOOKBACK_DAYS),
            r.read_on <= report.as_of,
            r.source.in_(sorted(ACTUAL_SOURCES)),
        ),
    ):
        readings[row.site_id].append(
            ReadingPoint(
                row.meter_id,
                row.register_code,
                row.read_on,
                row.index_value,
                row.source,
                row.rollover,
            )
        )
    studied: list[int] = []
    rows: list[dict[str, Any]] = []
    for site in sites:
        energy = Energy(site.energy)
        grid = in_force[energy]
        if site.id in busy or grid is None:
            reason = "changement en cours" if site.id in busy else "pas de grille"
            report.skipped[reason] = report.skipped.get(reason, 0) + 1
            continue
        consumption = yearly_consumption(
            site.car_kwh, readings[site.id], meters[site.id], as_of=report.as_of
        )
        study = study_site(
            SiteToStudy(energy, site.tariff_option, site.subscribed_power_kva, site.car_kwh),
            consumption,
            grid,
        )
        if study is None:
            report.skipped["option absente de la grille"] = (
                report.skipped.get("option absente de la grille", 0) + 1
            )
            continue
        studied.append(site.id)
        report.sites_studied += 1
        report.sites_on_readings += consumption.basis == "READINGS"
        if not worth_proposing(study, report.threshold):
            continue
        rows.append(
            {
                "campaign_id": report.campaign_id,
                "site_id": site.id,
                "member_id": site.member_id,
                "billing_account_id": site.billing_account_id,
                "energy": energy,
                "grid_version": study.grid_version,
                "current_option": study.current.option,
                "current_power_kva": study.current.subscribed_power_kva,
                "proposed_option": study.best.option,
                "proposed_power_kva": study.best.subscribed_power_kva,
                "consumption_kwh": consumption.total_kwh,
                "consumption_basis": consumption.basis,
                "consumption_from": consumption.period_from,
                "consumption_to": consumption.period_to,
                "current_cost": study.current.yearly_cost,
                "proposed_cost": study.best.yearly_cost,
                "gross_gain": study.gross_gain,
                "fees": study.fees,
                "net_gain": study.net_gain,
                "options": [
                    {
                        "option": c.option,
                        "subscribed_power_kva": (
                            str(c.subscribed_power_kva)
                            if c.subscribed_power_kva is not None
                            else None
                        ),
                        "yearly_cost": str(c.yearly_cost),
                    }
                    for c in study.options
                ],
                "proposed_on": report.as_of,
                "answer_by": answer_deadline(report.as_of),
                "status": ProposalStatus.PROPOSED,
                "created_at": now,
            }
        )
    if studied:
        superseded = await core(
            session,
            sa.update(PROPOSALS)
            .where(
                PROPOSALS.c.site_id.in_(studied),
                PROPOSALS.c.status == ProposalStatus.PROPOSED,
            )
            .values(status=ProposalStatus.SUPERSEDED),
        )
        report.superseded += superseded.rowcount or 0
    if rows:
        await (await session.connection()).execute(sa.insert(PROPOSALS), rows)
        report.proposals += len(rows)


def check_threshold(threshold: Decimal) -> Decimal:
    if not threshold.is_finite() or threshold < 0 or threshold > MAX_THRESHOLD:
        raise Refusal(
            ErrorCode.INVALID,
            "Le seuil est un gain net annuel en euros, entre 0 et 1 000 000.",
            field="threshold",
        )
    return money(threshold)


async def run_campaign_as(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    group_id: int,
    member_ids: Sequence[int] | None,
    threshold: Decimal,
    now: datetime,
    client_address: str | None,
) -> CampaignReport:
    """An ADMIN runs the study over their group (or some of its members): NOT_FOUND for a
    group or member outside their ADMIN grants, FORBIDDEN when they only read it."""
    require_writing_credential(caller)
    limit = check_threshold(threshold)
    if group_id not in caller.perimeter.group_ids:
        raise not_found("groupId")
    if group_id not in caller.write_perimeter.group_ids:
        raise Refusal(ErrorCode.FORBIDDEN, READ_ONLY_GROUP, field="groupId")
    if member_ids:
        async with sessions() as session:
            found = await core_rows(
                session,
                sa.select(MEMBERS.c.id).where(
                    MEMBERS.c.id.in_(sorted(set(member_ids))), MEMBERS.c.group_id == group_id
                ),
            )
        if len(found) != len(set(member_ids)):
            raise not_found("memberIds")
    report = await run_campaign(
        sessions,
        group_id=group_id,
        member_ids=member_ids or None,
        threshold=limit,
        as_of=paris_date(now),
        now=now,
        run_by_user_id=caller.user_id,
    )
    async with transaction(sessions) as session:
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="optimisation.campaign",
            object_type="OptimisationCampaign",
            object_id=report.campaign_id,
            now=now,
            client_address=client_address,
            details={"threshold": str(limit), "proposals": report.proposals},
        )
    return report


# -- reading -----------------------------------------------------------------------------------


def state_of(today: date) -> Any:
    """The SQL expression of a proposal's `ProposalState` on `today`."""
    p, tr = PROPOSALS.c, REQUESTS.c
    return sa.case(
        (
            sa.and_(p.status == ProposalStatus.PROPOSED, p.answer_by < today),
            sa.literal(ProposalState.EXPIRED.value),
        ),
        (
            sa.and_(p.status == ProposalStatus.ACCEPTED, tr.status == TechnicalRequestStatus.DONE),
            sa.literal(ProposalState.CARRIED_OUT.value),
        ),
        (
            sa.and_(
                p.status == ProposalStatus.ACCEPTED,
                tr.status.in_([TechnicalRequestStatus.ABANDONED, TechnicalRequestStatus.REJECTED]),
            ),
            sa.literal(ProposalState.CANCELLED.value),
        ),
        else_=p.status,
    )


def _columns(today: date) -> tuple[Any, ...]:
    return (
        *PROPOSALS.c,
        state_of(today).label("state"),
        *(column.label(f"site__{column.key}") for column in SITES.c),
        MEMBERS.c.legal_name.label("member_legal_name"),
        REQUESTS.c.reference.label("request_reference"),
        REQUESTS.c.status.label("request_status"),
        REQUESTS.c.details.label("request_details"),
        CAMPAIGNS.c.threshold.label("campaign_threshold"),
    )


def _joined() -> Any:
    return (
        PROPOSALS.join(SITES, SITES.c.id == PROPOSALS.c.site_id)
        .join(MEMBERS, MEMBERS.c.id == PROPOSALS.c.member_id)
        .join(CAMPAIGNS, CAMPAIGNS.c.id == PROPOSALS.c.campaign_id)
        .outerjoin(REQUESTS, REQUESTS.c.id == PROPOSALS.c.technical_request_id)
    )


class ProposalOrder(StrEnum):
    NET_GAIN_DESC = "NET_GAIN_DESC"
    NET_GAIN_ASC = "NET_GAIN_ASC"
    GROSS_GAIN_DESC = "GROSS_GAIN_DESC"


@dataclass(frozen=True, slots=True)
class ProposalQuery:
    member_ids: tuple[int, ...] | None = None
    energy: Energy | None = None
    states: tuple[ProposalState, ...] = ()
    min_net_gain: Decimal | None = None
    site_id: int | None = None


def _scoped(perimeter: Perimeter, query: ProposalQuery, today: date, *columns: Any) -> Any:
    statement = scoped_optimisation_proposals(perimeter, *columns).select_from(_joined())
    p = PROPOSALS.c
    where: list[Any] = []
    if query.member_ids is not None:
        where.append(p.member_id.in_(sorted(set(query.member_ids))))
    if query.energy is not None:
        where.append(p.energy == query.energy)
    if query.states:
        where.append(state_of(today).in_(sorted(s.value for s in query.states)))
    if query.min_net_gain is not None:
        where.append(p.net_gain >= query.min_net_gain)
    if query.site_id is not None:
        where.append(p.site_id == query.site_id)
    return statement.where(*where)


def proposal_rows(perimeter: Perimeter, query: ProposalQuery, today: date) -> Any:
    return _scoped(perimeter, query, today, *_columns(today))


_SORT = {
    ProposalOrder.NET_GAIN_DESC: (PROPOSALS.c.net_gain, True),
    ProposalOrder.NET_GAIN_ASC: (PROPOSALS.c.net_gain, False),
    ProposalOrder.GROSS_GAIN_DESC: (PROPOSALS.c.gross_gain, True),
}


def decode_keyset(after: list[Any]) -> tuple[Decimal, int]:
    """A proposals cursor: (gain as a string, id); INVALID for anything else."""
    if (
        len(after) != 2
        or not isinstance(after[0], str)
        or not isinstance(after[1], int)
        or isinstance(after[1], bool)
    ):
        raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after")
    try:
        value = Decimal(after[0])
    except ArithmeticError:
        raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after") from None
    if not value.is_finite():
        raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after")
    return value, after[1]


async def list_proposals(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    query: ProposalQuery,
    *,
    today: date,
    order: ProposalOrder,
    first: int,
    after: list[Any] | None,
    with_count: bool,
) -> RowPage:
    cursor = decode_keyset(after) if after is not None else None
    if perimeter.is_empty:
        return EMPTY_PAGE
    async with sessions() as session:
        await check_filter_scope(
            session,
            perimeter,
            SiteCriteria(member_ids=query.member_ids or ()),
            site_id=query.site_id,
        )
    column, descending = _SORT[order]
    page = keyset_page(
        proposal_rows(perimeter, query, today),
        column,
        PROPOSALS.c.id,
        descending=descending,
        first=first,
        after=cursor,
    )
    count = _scoped(perimeter, query, today, sa.func.count(PROPOSALS.c.id)) if with_count else None
    key = "net_gain" if column is PROPOSALS.c.net_gain else "gross_gain"
    return await fetch_page(
        sessions, page, count, first=first, cursor_of=lambda r: [str(getattr(r, key)), r.id]
    )


async def load_proposals(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    ids: Sequence[int | None],
    *,
    today: date,
) -> list[Any | None]:
    if perimeter.is_empty:
        return [None] * len(ids)
    return await rows_by_id(
        sessions, proposal_rows(perimeter, ProposalQuery(), today), PROPOSALS.c.id, ids
    )


async def _row_of(session: AsyncSession, proposal_id: int, today: date) -> Any:
    """A proposal's row after a change the caller was allowed to make (no second scope)."""
    statement = (
        sa.select(*_columns(today)).select_from(_joined()).where(PROPOSALS.c.id == proposal_id)
    )
    return (await core(session, statement)).one()


def change_date(row: Any) -> date | None:
    """The day the distributor made the change (the request's DONE date), if done."""
    details = row.request_details or {}
    if row.request_status != TechnicalRequestStatus.DONE or not details.get("done_on"):
        return None
    return date.fromisoformat(details["done_on"])


def expected_change_date(row: Any) -> date | None:
    details = row.request_details or {}
    return date.fromisoformat(details["expected_on"]) if details.get("expected_on") else None


# -- the answer --------------------------------------------------------------------------------


async def _proposal_to_answer(
    session: AsyncSession, caller: Caller, proposal_id: int, today: date
) -> OptimisationProposal:
    proposal: OptimisationProposal = await object_to_change(
        session,
        scoped_optimisation_proposals,
        OptimisationProposal.id,
        proposal_id,
        perimeter=caller.perimeter,
        write_perimeter=caller.write_perimeter,
        field="proposalId",
        forbidden=READ_ONLY_PROPOSAL,
    )
    if proposal.status is not ProposalStatus.PROPOSED:
        answered = {
            ProposalStatus.ACCEPTED: "a déjà été acceptée",
            ProposalStatus.DECLINED: "a déjà été refusée",
            ProposalStatus.SUPERSEDED: "a été remplacée par une étude plus récente",
        }[ProposalStatus(proposal.status)]
        raise Refusal(ErrorCode.INVALID_STATE, f"Cette proposition {answered}.", field="proposalId")
    if today > proposal.answer_by:
        raise Refusal(
            ErrorCode.INVALID_STATE,
            f"Le délai de réponse est passé (le {proposal.answer_by:%d/%m/%Y}) : la proposition "
            "sera reprise à la prochaine étude.",
            field="proposalId",
        )
    return proposal


def _option_label(option: str, kva: Decimal | None) -> str:
    return OptionPrice(option, Decimal(0), {}, Decimal(0), kva).label


async def accept_optimisation(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    proposal_id: int,
    contact: Contact,
    comment: str | None,
    now: datetime,
    client_address: str | None,
) -> Any:
    """The member accepts: the "Optimisation" technical request is filed (the special reading
    noted) and the proposal records it, in one transaction. Answers the proposal's row."""
    require_writing_credential(caller)
    today = paris_date(now)
    async with transaction(sessions) as session:
        proposal = await _proposal_to_answer(session, caller, proposal_id, today)
        grid = (
            await core(
                session,
                sa.select(GRIDS.c.special_reading_fee).where(
                    GRIDS.c.version == proposal.grid_version
                ),
            )
        ).first()
        reading_fee = grid.special_reading_fee if grid is not None else None
        current = _option_label(proposal.current_option, proposal.current_power_kva)
        proposed = _option_label(proposal.proposed_option, proposal.proposed_power_kva)
        note = (
            f"Optimisation tarifaire {current} → {proposed} (gain estimé "
            f"{euros(proposal.net_gain)} HT net la première année). Relevé spécial à réaliser "
            "à la date du changement"
            + (
                f" ({euros(reading_fee)} HT, facturé au client)."
                if reading_fee is not None
                else "."
            )
        )
        extra = clean_note(comment, required=False, field="comment")
        request = await file_technical_request(
            session,
            settings,
            caller,
            submission=Submission(
                request_type=TechnicalRequestType.OPTIMISATION,
                contact=contact,
                site=SiteChoice(site_id=proposal.site_id),
                characteristics=Characteristics(desired_tariff_option=proposal.proposed_option),
                comment=f"{note} {extra}" if extra else note,
                extra_details={
                    "optimisation": {
                        "proposal_id": proposal_id,
                        "from_option": proposal.current_option,
                        "to_option": proposal.proposed_option,
                        "grid_version": proposal.grid_version,
                        "net_gain": str(proposal.net_gain),
                    },
                    "special_reading": {
                        "required": True,
                        "fee_excl_vat": str(reading_fee) if reading_fee is not None else None,
                    },
                },
            ),
            now=now,
            client_address=client_address,
        )
        proposal.status = ProposalStatus.ACCEPTED
        proposal.answered_at = now
        proposal.answered_by_user_id = caller.user_id
        proposal.answer_comment = extra
        proposal.technical_request_id = request.id
        session.add(proposal)
        await session.flush()
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="optimisation.accept",
            object_type="OptimisationProposal",
            object_id=proposal_id,
            now=now,
            client_address=client_address,
            details={"technical_request": request.reference},
        )
        return await _row_of(session, proposal_id, today)


async def decline_optimisation(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    proposal_id: int,
    reason: str | None,
    now: datetime,
    client_address: str | None,
) -> Any:
    require_writing_credential(caller)
    today = paris_date(now)
    async with transaction(sessions) as session:
        proposal = await _proposal_to_answer(session, caller, proposal_id, today)
        proposal.status = ProposalStatus.DECLINED
        proposal.answered_at = now
        proposal.answered_by_user_id = caller.user_id
        proposal.answer_comment = clean_note(reason, required=False, field="reason")
        session.add(proposal)
        await session.flush()
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="optimisation.decline",
            object_type="OptimisationProposal",
            object_id=proposal_id,
            now=now,
            client_address=client_address,
            details={"reason": proposal.answer_comment},
        )
        return await _row_of(session, proposal_id, today)


# -- the yearly record -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CarriedOut:
    row: Any
    changed_on: date

    @property
    def nature(self) -> str:
        r = self.row
        return (
            f"{_option_label(r.current_option, r.current_power_kva)} → "
            f"{_option_label(r.proposed_option, r.proposed_power_kva)}"
        )


async def carried_out_in(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    year: int,
    *,
    today: date,
) -> list[CarriedOut]:
    """The optimisations the distributor carried out in `year` (their request DONE that year),
    by date. The year's bounds apply to the request's done date (an effective date the back
    office gives); the candidates, requests DONE and updated since the year before (a change
    recorded on 31 December may take effect in January), are selected in SQL within the
    perimeter."""
    if perimeter.is_empty or not 2000 <= year <= 2100:
        return []
    statement = (
        proposal_rows(perimeter, ProposalQuery(states=(ProposalState.CARRIED_OUT,)), today)
        .where(REQUESTS.c.updated_at >= datetime(year - 1, 1, 1, tzinfo=PARIS))
        .order_by(PROPOSALS.c.id)
    )
    async with sessions() as session:
        rows = await core_rows(session, statement)
    found = [CarriedOut(r, d) for r in rows if (d := change_date(r)) and d.year == year]
    return sorted(found, key=lambda c: (c.changed_on, c.row.id))


# -- the file the supplier sends ---------------------------------------------------------------

BASIS_LABELS = {"CAR": "CAR", "READINGS": "Relevés réels (12 mois)"}


def _export_columns() -> tuple[Column, ...]:
    t, m, ident = ColumnKind.TEXT, ColumnKind.MONEY, ColumnKind.IDENTIFIER
    return (
        Column("Raison sociale", t, 36),
        Column("PRM / PCE", ident, 16),
        Column("Désignation", t, 24),
        Column("Commune", t, 20),
        Column("Énergie", ColumnKind.LABEL, 12, ENERGY_LABELS),
        Column("Option actuelle", t, 16),
        Column("Option proposée", t, 16),
        Column("Consommation retenue (kWh/an)", ColumnKind.INTEGER, 14),
        Column("Base de la consommation", t, 22),
        Column("Coût actuel (€ HT/an)", m),
        Column("Coût proposé (€ HT/an)", m),
        Column("Gain brut (€ HT/an)", m),
        Column("Frais de changement (€ HT)", m),
        Column("Gain net 1re année (€ HT)", m),
        Column("Grille", ident, 20),
        Column("Réponse attendue le", ColumnKind.DATE),
        Column("État", ColumnKind.LABEL, 28, STATE_LABELS),
        Column("Réponse (Acceptée / Refusée)", t, 18),
        Column("Remarques", t, 30),
    )


def _export_row(r: Any) -> tuple[Any, ...]:
    state = ProposalState(r.state)
    return (
        r.member_legal_name,
        r.site__point_number,
        r.site__designation or r.site__internal_code,
        r.site__city,
        Energy(r.energy),
        _option_label(r.current_option, r.current_power_kva),
        _option_label(r.proposed_option, r.proposed_power_kva),
        r.consumption_kwh,
        BASIS_LABELS[r.consumption_basis],
        r.current_cost,
        r.proposed_cost,
        r.gross_gain,
        r.fees,
        r.net_gain,
        r.grid_version,
        r.answer_by,
        state,
        ANSWER_LABELS[state],
        r.answer_comment,
    )


async def proposals_table(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    query: ProposalQuery,
    *,
    today: date,
) -> Table:
    """The filter's proposals, best gain first, as the file the supplier sends (an empty
    answer column for the member to fill in), through the one export writer."""
    async with sessions() as session:
        await check_filter_scope(
            session,
            perimeter,
            SiteCriteria(member_ids=query.member_ids or ()),
            site_id=query.site_id,
        )
    statement = proposal_rows(perimeter, query, today).order_by(
        PROPOSALS.c.net_gain.desc(), PROPOSALS.c.id
    )

    async def chunks() -> AsyncIterator[list[tuple[Any, ...]]]:
        if perimeter.is_empty:
            return
        async for chunk in streamed_rows(sessions, statement, _export_row):
            yield chunk

    return Table(
        "optimisations-tarifaires", "Optimisations tarifaires", _export_columns(), chunks()
    )


async def group_ids(sessions: async_sessionmaker[AsyncSession], code: str | None) -> list[int]:
    """Every group's id, or the one whose code is given (empty when unknown)."""
    statement = sa.select(GROUPS.c.id).order_by(GROUPS.c.id)
    if code is not None:
        statement = statement.where(GROUPS.c.code == code)
    async with sessions() as session:
        return [r.id for r in await core_rows(session, statement)]
