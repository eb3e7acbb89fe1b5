"""The welcome pack: after the supplier switch, each member user gets their login (email),
an activation link (never a password), the customer-service contacts, the guides, the
services chosen per billing account and the switched sites (XLSX).

Sending is idempotent per (member, person): a second send queues nothing for those already
served, so an ADMIN or OPERATOR may send for a whole group again after adding members.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.account_lifecycle import issue_activation
from api.resolvers.writable import require_writing_credential
from auth.caller import Caller
from auth.permissions import admin_groups
from comptoir.settings import Settings
from db import audit
from db.engine import transaction
from db.models import AccessGrant, BillingAccount, Guide, Member, OutboxMail, Site, User
from db.models.base import persisted_id
from db.scoped import Perimeter, scoped_members
from domain.enums import GuideAudience, SiteStatus, Tier, UserStatus
from domain.errors import ErrorCode, Refusal, not_found
from mailers import contacts, mails

MAX_MEMBERS_PER_CALL = 1000


@dataclass
class WelcomePackReport:
    members: int = 0
    queued: int = 0
    already_sent: int = 0
    members_without_user: list[str] = field(default_factory=list)


async def guides(session: AsyncSession, settings: Settings) -> list[mails.Guide]:
    """The guides a member's users read (the Help tab's, for everyone and for members), each
    linked to the customer space's Help tab: a mail outlives a signed URL by far."""
    base = settings.customer_space_url.rstrip("/")
    found = await session.exec(
        select(Guide)
        .where(col(Guide.audience).in_([GuideAudience.EVERYONE, GuideAudience.MEMBERS]))
        .order_by(col(Guide.title), col(Guide.id))
    )
    return [mails.Guide(guide.title, f"{base}/aide/guides/{guide.id}") for guide in found.all()]


async def members_to_welcome(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    perimeter: Perimeter,
    *,
    member_ids: Sequence[int],
    group_id: int | None,
) -> list[int]:
    """The members named (or all of a group), inside what the caller may send for: an ADMIN
    their group's members, an OPERATOR any member. Anything else is "not found"."""
    require_writing_credential(caller)
    if not member_ids and group_id is None:
        raise Refusal(
            ErrorCode.REQUIRED, "Choisissez des membres ou un groupement.", field="memberIds"
        )
    if len(member_ids) > MAX_MEMBERS_PER_CALL:
        raise Refusal(
            ErrorCode.TOO_MANY_ITEMS, f"{MAX_MEMBERS_PER_CALL} membres au plus.", field="memberIds"
        )
    operator = caller.holds(Tier.OPERATOR)
    query = select(Member.id) if operator else scoped_members(perimeter, Member.id)
    if not operator:
        query = query.where(col(Member.group_id).in_(sorted(admin_groups(caller))))
    if group_id is not None:
        query = query.where(Member.group_id == group_id)
    if member_ids:
        query = query.where(col(Member.id).in_(sorted(set(member_ids))))
    async with sessions() as session:
        found = sorted((await session.exec(query)).all())
    if member_ids and len(found) != len(set(member_ids)):
        raise not_found("memberIds")
    if group_id is not None and not found:
        raise not_found("groupId")
    return found


async def send_welcome_packs(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    member_ids: Sequence[int],
    actor_user_id: int | None,
    now: datetime,
    client_address: str | None = None,
) -> WelcomePackReport:
    """Queues the packs in one transaction: all of them, or none."""
    report = WelcomePackReport()
    async with transaction(sessions) as session:
        listed = await guides(session, settings)
        for member_id in member_ids:
            await _welcome_member(session, settings, member_id, report, listed, now=now)
        audit.record(
            session,
            actor_user_id=actor_user_id,
            action="welcome_pack.sent",
            object_type="Member",
            object_id=",".join(map(str, member_ids))[:40],
            now=now,
            client_address=client_address,
            details={
                "members": list(member_ids),
                "queued": report.queued,
                "already_sent": report.already_sent,
            },
        )
    return report


async def welcome_member(
    session: AsyncSession, settings: Settings, member_id: int, *, now: datetime
) -> WelcomePackReport:
    """Queues one member's packs inside the caller's transaction (the collection's closing
    turns a member's journey into its portfolio and welcomes it in the same unit of work)."""
    report = WelcomePackReport()
    listed = await guides(session, settings)
    await _welcome_member(session, settings, member_id, report, listed, now=now)
    return report


async def _welcome_member(
    session: AsyncSession,
    settings: Settings,
    member_id: int,
    report: WelcomePackReport,
    listed: list[mails.Guide],
    *,
    now: datetime,
) -> None:
    # Locks the member so that two concurrent sends do not mint two links for one pack.
    member = (
        await session.exec(select(Member).where(Member.id == member_id).with_for_update())
    ).one()
    report.members += 1
    users = list(
        (
            await session.exec(
                select(User)
                .join(AccessGrant, col(AccessGrant.user_id) == User.id)
                .where(
                    AccessGrant.member_id == member_id,
                    AccessGrant.tier == Tier.USER,
                    col(AccessGrant.revoked_at).is_(None),
                    col(AccessGrant.suspended_at).is_(None),
                    User.status != UserStatus.SUSPENDED,
                )
                .order_by(col(User.id))
            )
        ).all()
    )
    if not users:
        report.members_without_user.append(member.customer_number)
        return
    accounts, sites = await _services_and_sites(session, member_id)
    service = (await contacts.for_groups(session, settings, [member.group_id]))[member.group_id]
    for user in users:
        key = mails.welcome_pack_key(member_id, user.email)
        queued = (
            await session.exec(select(OutboxMail.id).where(OutboxMail.idempotency_key == key))
        ).first()
        if queued is not None:
            report.already_sent += 1
            continue
        expires_at: datetime | None = None
        if user.status == UserStatus.INVITED:
            # A pack adds a link beside any invitation still running: both stay valid.
            link = await issue_activation(
                session,
                settings,
                persisted_id(user),
                now=now,
                void_earlier=False,
            )
            url, expires_at = link.url, link.expires_at
        else:
            url = f"{settings.customer_space_url.rstrip('/')}/connexion"
        pack = mails.WelcomePack(
            member_id=member_id,
            member_legal_name=member.legal_name,
            email=user.email,
            full_name=user.full_name,
            activation_url=url,
            activation_expires_at=expires_at,
            customer_service=service,
            guides=listed,
            accounts=accounts,
            sites=sites,
        )
        if await mails.queue_welcome_pack(session, pack=pack):
            report.queued += 1
        else:
            report.already_sent += 1


async def _services_and_sites(
    session: AsyncSession, member_id: int
) -> tuple[list[mails.WelcomeAccount], list[mails.WelcomeSite]]:
    accounts = list(
        (
            await session.exec(
                select(BillingAccount)
                .where(BillingAccount.member_id == member_id)
                .order_by(BillingAccount.number)
            )
        ).all()
    )
    sites = list(
        (
            await session.exec(
                select(Site)
                .where(Site.member_id == member_id, Site.status != SiteStatus.TERMINATED)
                .order_by(Site.point_number)
            )
        ).all()
    )
    numbers = {a.id: a.number for a in accounts}
    shares: dict[int, Counter[int]] = defaultdict(Counter)
    for site in sites:
        shares[site.billing_account_id][site.green_share_pct] += 1
    welcome_accounts = [
        mails.WelcomeAccount(
            number=a.number,
            invoice_label=a.invoice_label,
            energy=a.energy,
            multi_site=a.is_multi_site,
            payment_method=a.payment_method,
            billing_frequency=a.billing_frequency,
            invoice_delivery=a.invoice_delivery,
            # One share per account when its sites agree; otherwise the sheet says it per site.
            green_share_pct=next(iter(shares[persisted_id(a)]))
            if len(shares[persisted_id(a)]) == 1
            else None,
        )
        for a in accounts
    ]
    welcome_sites = [
        mails.WelcomeSite(
            point_number=s.point_number,
            energy=s.energy,
            segment=s.segment,
            address=s.street,
            postcode=s.postcode,
            city=s.city,
            internal_code=s.internal_code,
            designation=s.designation,
            billing_account_number=numbers[s.billing_account_id],
            supply_start=s.supply_start,
        )
        for s in sites
    ]
    return welcome_accounts, welcome_sites
