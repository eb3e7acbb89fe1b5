"""Access management: the people within one's perimeter, invitations, grant scope, suspension
and revocation. Every change is audited in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.account_lifecycle import send_activation
from api.resolvers.people import PersonRow, person_row
from api.resolvers.writable import require_writing_credential
from auth.caller import Caller
from auth.grants import GrantRow, load_grants
from auth.permissions import (
    ScopeRequest,
    admin_groups,
    may_manage,
    needs_billing_accounts,
    needs_member,
    user_members,
)
from comptoir.settings import Settings
from db import audit
from db.core import ACCOUNTS, GRANT_ACCOUNTS, MEMBERS, core_rows
from db.engine import transaction
from db.models import AccessGrant, BillingAccount, GrantBillingAccount, Member, User
from db.models.base import persisted_id
from db.scoped import Perimeter, members_of_groups, scoped_billing_accounts, scoped_members
from domain.enums import Tier, UserStatus
from domain.errors import ErrorCode, Refusal, not_found
from domain.references import has_control_characters

MAX_ACCOUNTS_PER_GRANT = 100


@dataclass(frozen=True, slots=True)
class PeoplePage:
    people: list[PersonRow]
    total_count: int
    has_next_page: bool


# -- who is visible -----------------------------------------------------------------------


def visible_grants(caller: Caller) -> sa.ColumnElement[bool]:
    """Grants the caller may see: those of their admin groups, of their USER members, and
    their own. A person's grants elsewhere stay invisible."""
    groups = sorted(admin_groups(caller))
    members = sorted(user_members(caller))
    clauses: list[sa.ColumnElement[bool]] = [col(AccessGrant.user_id) == caller.user_id]
    if groups:
        clauses.append(col(AccessGrant.group_id).in_(groups))
        clauses.append(col(AccessGrant.member_id).in_(members_of_groups(set(groups))))
    if members:
        clauses.append(col(AccessGrant.member_id).in_(members))
    return sa.or_(*clauses)


async def list_people(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    first: int,
    after_id: int | None,
    search: str | None = None,
    tier: Tier | None = None,
) -> PeoplePage:
    visible = select(AccessGrant.user_id).where(visible_grants(caller))
    if tier is not None:
        visible = visible.where(AccessGrant.tier == tier)
    query = select(User).where(col(User.id).in_(visible))
    if search:
        pattern = f"%{search.strip().casefold()}%"
        query = query.where(
            sa.or_(sa.func.lower(User.full_name).like(pattern), col(User.email).like(pattern))
        )
    async with sessions() as session:
        total = (await session.exec(select(sa.func.count()).select_from(query.subquery()))).one()
        if after_id is not None:
            query = query.where(col(User.id) > after_id)
        users = list((await session.exec(query.order_by(col(User.id)).limit(first + 1))).all())
        page = users[:first]
        seen = await session.exec(
            select(AccessGrant.id).where(
                visible_grants(caller),
                col(AccessGrant.user_id).in_([u.id for u in page]),
            )
        )
        visible_ids = set(seen.all())
        grants = await load_grants(session, [persisted_id(u) for u in page], include_revoked=True)
    return PeoplePage(
        people=[
            person_row(u, [g for g in grants.get(persisted_id(u), []) if g.id in visible_ids])
            for u in page
        ],
        total_count=total,
        has_next_page=len(users) > first,
    )


# -- scopes ---------------------------------------------------------------------------------


async def resolve_scope(
    session: AsyncSession,
    caller: Caller,
    perimeter: Perimeter,
    *,
    tier: Tier,
    member_id: int | None,
    group_id: int | None,
    billing_account_ids: Sequence[int],
) -> ScopeRequest:
    """Looks the named member and accounts up inside the perimeter (else: not found)."""
    if tier is Tier.OPERATOR:
        raise Refusal(ErrorCode.FORBIDDEN, "Le profil opérateur ne se délègue pas.", field="tier")
    if len(billing_account_ids) > MAX_ACCOUNTS_PER_GRANT:
        raise Refusal(
            ErrorCode.TOO_MANY_ITEMS,
            f"Au plus {MAX_ACCOUNTS_PER_GRANT} comptes de contrat par habilitation.",
            field="billingAccountIds",
        )
    member_group: int | None = None
    if needs_member(tier):
        if member_id is None:
            member_id = _own_member(caller, tier)
        if member_id is None:
            raise Refusal(ErrorCode.REQUIRED, "Choisissez le membre.", field="memberId")
        found = (
            await session.exec(scoped_members(perimeter).where(Member.id == member_id))
        ).first()
        if found is None:
            raise not_found("memberId")
        member_group = found.group_id
    else:
        member_id = None
    if tier in (Tier.ADMIN, Tier.THIRD_PARTY):
        groups = admin_groups(caller)
        if group_id is None and len(groups) == 1:
            group_id = next(iter(groups))
        if group_id is None or group_id not in groups:
            raise not_found("groupId")
    else:
        group_id = None
    accounts: list[BillingAccount] = []
    if needs_billing_accounts(tier):
        if not billing_account_ids:
            raise Refusal(
                ErrorCode.REQUIRED,
                "Choisissez au moins un compte de contrat.",
                field="billingAccountIds",
            )
        wanted = sorted(set(billing_account_ids))
        accounts = list(
            (
                await session.exec(
                    scoped_billing_accounts(perimeter).where(col(BillingAccount.id).in_(wanted))
                )
            ).all()
        )
        if len(accounts) != len(wanted):
            raise not_found("billingAccountIds")
    elif billing_account_ids:
        raise Refusal(
            ErrorCode.INVALID,
            "Ce profil porte sur tout son périmètre : ne choisissez pas de comptes de contrat.",
            field="billingAccountIds",
        )
    owner_members = frozenset(a.member_id for a in accounts)
    owner_groups: frozenset[int] = frozenset()
    if owner_members:
        owner_groups = frozenset(
            (
                await session.exec(
                    select(Member.group_id).where(col(Member.id).in_(sorted(owner_members)))
                )
            ).all()
        )
    return ScopeRequest(
        tier=tier,
        group_id=group_id,
        member_id=member_id,
        member_group_id=member_group,
        billing_account_ids=frozenset(persisted_id(a) for a in accounts),
        billing_account_member_ids=owner_members,
        billing_account_group_ids=owner_groups,
    )


def _own_member(caller: Caller, tier: Tier) -> int | None:
    """The member an infra-user is carved from when the caller can only mean one: a USER of a
    single member who administers no group. An ADMIN names the member (one of many)."""
    members = user_members(caller)
    if tier is Tier.INFRA_USER and len(members) == 1 and not admin_groups(caller):
        return next(iter(members))
    return None


def _require_manageable(caller: Caller, scope: ScopeRequest, field: str = "tier") -> None:
    if not may_manage(caller, scope):
        raise Refusal(
            ErrorCode.EXCEEDS_OWN_SCOPE,
            "Vous ne pouvez pas accorder un accès plus large que le vôtre.",
            field=field,
        )


async def grant_scope(session: AsyncSession, grant: AccessGrant) -> ScopeRequest:
    """The scope a stored grant has, to check that the caller manages it."""
    account_rows = await core_rows(
        session,
        sa.select(ACCOUNTS.c.id, ACCOUNTS.c.member_id, MEMBERS.c.group_id)
        .join(MEMBERS, MEMBERS.c.id == ACCOUNTS.c.member_id)
        .join(GRANT_ACCOUNTS, GRANT_ACCOUNTS.c.billing_account_id == ACCOUNTS.c.id)
        .where(GRANT_ACCOUNTS.c.grant_id == grant.id),
    )
    member_group = None
    if grant.member_id is not None:
        member_group = (
            await session.exec(select(Member.group_id).where(Member.id == grant.member_id))
        ).first()
    return ScopeRequest(
        tier=Tier(grant.tier),
        group_id=grant.group_id,
        member_id=grant.member_id,
        member_group_id=member_group,
        billing_account_ids=frozenset(r[0] for r in account_rows),
        billing_account_member_ids=frozenset(r[1] for r in account_rows),
        billing_account_group_ids=frozenset(r[2] for r in account_rows),
    )


async def _managed_grant(session: AsyncSession, caller: Caller, grant_id: int) -> AccessGrant:
    """A grant the caller manages, locked for the change; anything else is "not found"."""
    grant = (
        await session.exec(
            select(AccessGrant)
            .where(AccessGrant.id == grant_id, visible_grants(caller))
            .with_for_update()
        )
    ).first()
    if grant is None or grant.revoked_at is not None:
        raise not_found("grantId")
    if grant.user_id == caller.user_id:
        raise Refusal(
            ErrorCode.FORBIDDEN,
            "Vous ne pouvez pas modifier votre propre habilitation.",
            field="grantId",
        )
    _require_manageable(caller, await grant_scope(session, grant), field="grantId")
    return grant


# -- input checks ---------------------------------------------------------------------------


def clean_email(email: str) -> str:
    try:
        # Syntax only: whether the domain takes mail is for the mail to find out. The
        # reserved `.test` domain is accepted (it is what test data and staging use).
        checked = validate_email(email.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        raise Refusal(ErrorCode.INVALID, "Adresse email invalide.", field="email") from None
    return checked.normalized.casefold()


def clean_full_name(full_name: str) -> str:
    name = " ".join(full_name.split())
    if not name:
        raise Refusal(ErrorCode.REQUIRED, "Indiquez le nom de la personne.", field="fullName")
    if len(name) > 200:
        raise Refusal(ErrorCode.TOO_LONG, "200 caractères au plus.", field="fullName")
    if has_control_characters(full_name.replace("\t", " ")):
        raise Refusal(ErrorCode.INVALID, "Caractères de contrôle interdits.", field="fullName")
    return name


# -- changes ----------------------------------------------------------------------------------


async def invite_person(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    perimeter: Perimeter,
    *,
    email: str,
    full_name: str,
    tier: Tier,
    member_id: int | None,
    group_id: int | None,
    billing_account_ids: Sequence[int],
    may_submit: bool,
    now: datetime,
    client_address: str | None,
) -> PersonRow:
    email = clean_email(email)
    full_name = clean_full_name(full_name)
    require_writing_credential(caller)
    async with transaction(sessions) as session:
        scope = await resolve_scope(
            session,
            caller,
            perimeter,
            tier=tier,
            member_id=member_id,
            group_id=group_id,
            billing_account_ids=billing_account_ids,
        )
        _require_manageable(caller, scope)
        user = (await session.exec(select(User).where(User.email == email))).first()
        if user is None:
            user = User(email=email, full_name=full_name, status=UserStatus.INVITED)
            session.add(user)
            await session.flush()
        elif await _holds_same_grant(session, persisted_id(user), scope):
            raise Refusal(
                ErrorCode.ALREADY_EXISTS,
                "Cette personne a déjà cet accès.",
                field="email",
            )
        grant = AccessGrant(
            user_id=persisted_id(user),
            tier=tier,
            group_id=scope.group_id,
            member_id=scope.member_id,
            may_submit=may_submit if tier is Tier.THIRD_PARTY else True,
            granted_by_user_id=caller.user_id,
            created_at=now,
        )
        session.add(grant)
        await session.flush()
        for account_id in sorted(scope.billing_account_ids):
            session.add(
                GrantBillingAccount(grant_id=persisted_id(grant), billing_account_id=account_id)
            )
        if user.status == UserStatus.INVITED:
            await send_activation(session, settings, user, now=now)
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="grant.created",
            object_type="AccessGrant",
            object_id=persisted_id(grant),
            now=now,
            client_address=client_address,
            details={
                "user_id": user.id,
                "tier": tier.value,
                "group_id": scope.group_id,
                "member_id": scope.member_id,
                "billing_account_ids": sorted(scope.billing_account_ids),
            },
        )
        await session.flush()
        grants = await load_grants(session, [persisted_id(user)])
    return person_row(user, [g for g in grants.get(persisted_id(user), []) if g.id == grant.id])


async def _holds_same_grant(session: AsyncSession, user_id: int, scope: ScopeRequest) -> bool:
    existing = (await load_grants(session, [user_id])).get(user_id, [])
    return any(
        g.tier is scope.tier
        and g.group_id == scope.group_id
        and g.member_id == scope.member_id
        and frozenset(g.billing_account_ids) == scope.billing_account_ids
        for g in existing
    )


async def change_grant_scope(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    perimeter: Perimeter,
    *,
    grant_id: int,
    billing_account_ids: Sequence[int],
    may_submit: bool | None,
    now: datetime,
    client_address: str | None,
) -> GrantRow:
    require_writing_credential(caller)
    async with transaction(sessions) as session:
        grant = await _managed_grant(session, caller, grant_id)
        tier = Tier(grant.tier)
        if not needs_billing_accounts(tier):
            raise Refusal(
                ErrorCode.INVALID_STATE,
                "Seules les habilitations limitées à des comptes de contrat se redéfinissent.",
                field="grantId",
            )
        scope = await resolve_scope(
            session,
            caller,
            perimeter,
            tier=tier,
            member_id=grant.member_id,
            group_id=grant.group_id,
            billing_account_ids=billing_account_ids,
        )
        _require_manageable(caller, scope, field="billingAccountIds")
        before = sorted(
            (
                await session.exec(
                    select(GrantBillingAccount.billing_account_id).where(
                        GrantBillingAccount.grant_id == grant.id
                    )
                )
            ).all()
        )
        await session.exec(
            sa.delete(GrantBillingAccount).where(col(GrantBillingAccount.grant_id) == grant.id)
        )
        for account_id in sorted(scope.billing_account_ids):
            session.add(
                GrantBillingAccount(grant_id=persisted_id(grant), billing_account_id=account_id)
            )
        if may_submit is not None and tier is Tier.THIRD_PARTY:
            grant.may_submit = may_submit
            session.add(grant)
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="grant.scope_changed",
            object_type="AccessGrant",
            object_id=persisted_id(grant),
            now=now,
            client_address=client_address,
            details={
                "before": before,
                "after": sorted(scope.billing_account_ids),
                "may_submit": grant.may_submit,
            },
        )
        await session.flush()
        rows = await load_grants(session, [grant.user_id], include_revoked=True)
    return next(g for g in rows[grant.user_id] if g.id == grant.id)


GRANT_ACTIONS = ("suspend", "resume", "revoke")


async def set_grant_state(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    grant_id: int,
    action: str,
    now: datetime,
    client_address: str | None,
) -> GrantRow:
    """Suspends (reversible), resumes or revokes (final) a grant the caller manages."""
    assert action in GRANT_ACTIONS
    require_writing_credential(caller)
    async with transaction(sessions) as session:
        grant = await _managed_grant(session, caller, grant_id)
        if action == "suspend":
            if grant.suspended_at is not None:
                raise Refusal(
                    ErrorCode.INVALID_STATE, "Habilitation déjà suspendue.", field="grantId"
                )
            grant.suspended_at = now
        elif action == "resume":
            if grant.suspended_at is None:
                raise Refusal(
                    ErrorCode.INVALID_STATE, "Habilitation non suspendue.", field="grantId"
                )
            grant.suspended_at = None
        else:
            grant.revoked_at = now
        session.add(grant)
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action=f"grant.{action}",
            object_type="AccessGrant",
            object_id=persisted_id(grant),
            now=now,
            client_address=client_address,
            details={"user_id": grant.user_id},
        )
        await session.flush()
        rows = await load_grants(session, [grant.user_id], include_revoked=True)
    return next(g for g in rows[grant.user_id] if g.id == grant.id)


async def resend_invitation(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    user_id: int,
    now: datetime,
    client_address: str | None,
) -> PersonRow:
    """A fresh activation link for a person who has not activated yet; the old links stop
    working. Whoever manages one of the person's grants may resend (the one who could have
    invited them), and the back office for anyone. A person the caller does not see is "not
    found"; one they see but do not manage is refused."""
    back_office = caller.holds(Tier.OPERATOR)
    require_writing_credential(caller)
    async with transaction(sessions) as session:
        user = (
            await session.exec(select(User).where(User.id == user_id).with_for_update())
        ).first()
        if user is None:
            raise not_found("personId")
        grants = list(
            (
                await session.exec(
                    select(AccessGrant).where(
                        AccessGrant.user_id == user_id,
                        col(AccessGrant.revoked_at).is_(None),
                        *(() if back_office else (visible_grants(caller),)),
                    )
                )
            ).all()
        )
        if not grants:
            raise not_found("personId")
        if not back_office:
            scopes = [await grant_scope(session, grant) for grant in grants]
            if not any(may_manage(caller, scope) for scope in scopes):
                raise Refusal(
                    ErrorCode.FORBIDDEN,
                    "Seul qui peut inviter cette personne peut lui renvoyer son invitation.",
                    field="personId",
                )
        if user.status != UserStatus.INVITED:
            raise Refusal(
                ErrorCode.INVALID_STATE,
                "Ce compte est déjà activé : la personne peut demander un nouveau mot de passe."
                if user.status == UserStatus.ACTIVE
                else "Ce compte est suspendu : il ne s'active pas.",
                field="personId",
            )
        link = await send_activation(session, settings, user, now=now)
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="user.invitation_resent",
            object_type="User",
            object_id=user_id,
            now=now,
            client_address=client_address,
            details={"token_id": link.token_id},
        )
        await session.flush()
        rows = await load_grants(session, [user_id])
    shown = {grant.id for grant in grants}
    return person_row(user, [g for g in rows.get(user_id, []) if g.id in shown])
