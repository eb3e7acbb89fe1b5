"""The Help tab's use cases: the guides (files) and the contacts ("vos interlocuteurs").

Customers read; the back office (OPERATOR) writes, every change audited. Contacts are read
through `db.scoped.scoped_contacts` (the supplier's, their groups' and their members'); the
back office reads them all. Guides are the supplier's documents: a customer reads those whose
audience matches one of their tiers; files go through `stored_files` like a technical
request's attachment (PDF only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.access import clean_email
from api.resolvers.stored_files import StoredFile, discard, remove_key, store_upload
from auth.caller import Caller
from comptoir.settings import Settings
from db import audit
from db.core import core_rows
from db.engine import transaction
from db.models import Contact, Group, Guide, Member
from db.models.base import persisted_id
from db.scoped import scoped_contacts, scoped_groups, scoped_members
from domain.enums import ContactRole, GuideAudience, Tier
from domain.errors import ErrorCode, Refusal, not_found
from domain.help import (
    CONTACT_HOURS_MAX,
    CONTACT_NAME_MAX,
    GUIDE_DESCRIPTION_MAX,
    GUIDE_TITLE_MAX,
    NOT_FOR_A_MEMBER,
    audiences_for,
    clean_phone,
    clean_text,
)

GUIDES_DIR = "guides"
PDF_ONLY = frozenset({"application/pdf"})

# -- contacts ---------------------------------------------------------------------------------


async def list_contacts(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    group_id: int | None = None,
    member_id: int | None = None,
) -> list[Contact]:
    """The caller's contacts (the back office: every one), the supplier's first, then the
    groups', then the members'; narrowed to one group or member when asked."""
    back_office = caller.holds(Tier.OPERATOR)
    statement = select(Contact) if back_office else scoped_contacts(caller.perimeter)
    if not back_office:
        # A group or member outside the perimeter is named like one that does not exist:
        # nobody to show (not even the supplier's, which would tell the two apart).
        if group_id is not None:
            statement = statement.where(
                sa.literal(group_id).in_(scoped_groups(caller.perimeter, Group.id))
            )
        if member_id is not None:
            statement = statement.where(
                sa.literal(member_id).in_(scoped_members(caller.perimeter, Member.id))
            )
    if group_id is not None:
        statement = statement.where(
            sa.or_(col(Contact.group_id).is_(None), col(Contact.group_id) == group_id)
        )
    if member_id is not None:
        statement = statement.where(
            sa.or_(col(Contact.member_id).is_(None), col(Contact.member_id) == member_id)
        )
    statement = statement.order_by(
        col(Contact.group_id).is_not(None),
        col(Contact.member_id).is_not(None),
        col(Contact.group_id),
        col(Contact.member_id),
        col(Contact.id),
    )
    async with sessions() as session:
        return list((await session.exec(statement)).all())


@dataclass(frozen=True, slots=True)
class ContactChange:
    """What an operator sets on a contact: None leaves a field as it is (on update)."""

    role: ContactRole | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    opening_hours: str | None = None


def _cleaned(change: ContactChange) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if change.role is not None:
        values["role"] = change.role
    if change.name is not None:
        values["name"] = clean_text(change.name, CONTACT_NAME_MAX, "name")
    if change.phone is not None:
        values["phone"] = clean_phone(change.phone)
    if change.email is not None:
        values["email"] = clean_email(change.email)
    if change.opening_hours is not None:
        values["opening_hours"] = clean_text(
            change.opening_hours, CONTACT_HOURS_MAX, "openingHours"
        )
    return values


def _check_scope(role: ContactRole, member_id: int | None) -> None:
    if member_id is not None and role in NOT_FOR_A_MEMBER:
        raise Refusal(
            ErrorCode.INVALID,
            "Ce rôle est celui d'un groupement ou du fournisseur, pas d'un membre.",
            field="role",
        )


async def create_contact(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    change: ContactChange,
    group_id: int | None,
    member_id: int | None,
    now: datetime,
    client_address: str | None,
) -> Contact:
    """Adds a contact: the supplier's (no group, no member), a group's or a member's (its
    group follows from the member)."""
    values = _cleaned(change)
    for name, field in (("name", "name"), ("phone", "phone"), ("email", "email")):
        if name not in values:
            raise Refusal(ErrorCode.REQUIRED, "Ce champ est obligatoire.", field=field)
    role = values["role"]
    _check_scope(role, member_id)
    async with transaction(sessions) as session:
        if member_id is not None:
            member = await session.get(Member, member_id)
            if member is None or (group_id is not None and member.group_id != group_id):
                raise not_found("memberId")
            group_id = member.group_id
        elif group_id is not None and not await _group_exists(session, group_id):
            raise not_found("groupId")
        contact = Contact(
            group_id=group_id,
            member_id=member_id,
            opening_hours=values.pop("opening_hours", "du lundi au vendredi, de 8 h 30 à 17 h 30"),
            created_at=now,
            **values,
        )
        session.add(contact)
        await session.flush()
        _audit(session, caller, "contact.create", contact, now, client_address)
        return contact


async def _group_exists(session: AsyncSession, group_id: int) -> bool:
    return await session.get(Group, group_id) is not None


async def update_contact(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    contact_id: int,
    change: ContactChange,
    now: datetime,
    client_address: str | None,
) -> Contact:
    values = _cleaned(change)
    async with transaction(sessions) as session:
        contact = await session.get(Contact, contact_id, with_for_update=True)
        if contact is None:
            raise not_found("contactId")
        role = values.get("role", contact.role)
        _check_scope(role, contact.member_id)
        if role != contact.role and contact.role is ContactRole.CUSTOMER_SERVICE:
            await _keep_one_supplier_service(session, contact)
        for name, value in values.items():
            setattr(contact, name, value)
        contact.updated_at = now
        session.add(contact)
        await session.flush()
        _audit(session, caller, "contact.update", contact, now, client_address)
        return contact


async def delete_contact(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    contact_id: int,
    now: datetime,
    client_address: str | None,
) -> None:
    async with transaction(sessions) as session:
        contact = await session.get(Contact, contact_id, with_for_update=True)
        if contact is None:
            raise not_found("contactId")
        if contact.role is ContactRole.CUSTOMER_SERVICE:
            await _keep_one_supplier_service(session, contact)
        _audit(session, caller, "contact.delete", contact, now, client_address)
        await session.delete(contact)


async def _keep_one_supplier_service(session: AsyncSession, contact: Contact) -> None:
    """The supplier's customer service is every mail's fallback block: the last one stays."""
    if contact.group_id is not None:
        return
    others = await core_rows(
        session,
        sa.select(sa.func.count())
        .select_from(Contact)
        .where(
            col(Contact.group_id).is_(None),
            col(Contact.role) == ContactRole.CUSTOMER_SERVICE,
            col(Contact.id) != contact.id,
        ),
    )
    if not others[0][0]:
        raise Refusal(
            ErrorCode.INVALID_STATE,
            "Le service clients du fournisseur figure sur chaque mail et chaque facture : "
            "modifiez-le plutôt que de le retirer.",
            field="contactId",
        )


def _audit(
    session: AsyncSession,
    caller: Caller,
    action: str,
    contact: Contact,
    now: datetime,
    client_address: str | None,
) -> None:
    audit.record(
        session,
        actor_user_id=caller.user_id,
        action=action,
        object_type="Contact",
        object_id=persisted_id(contact),
        now=now,
        client_address=client_address,
        details={
            "role": contact.role,
            "group_id": contact.group_id,
            "member_id": contact.member_id,
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
        },
    )


# -- guides -----------------------------------------------------------------------------------


async def list_guides(sessions: async_sessionmaker[AsyncSession], caller: Caller) -> list[Guide]:
    """The guides whose audience is one of the caller's (the back office: every one)."""
    audiences = sorted(audiences_for(g.tier for g in caller.grants))
    statement = (
        select(Guide)
        .where(col(Guide.audience).in_(audiences))
        .order_by(col(Guide.title), col(Guide.id))
    )
    async with sessions() as session:
        return list((await session.exec(statement)).all())


@dataclass(frozen=True, slots=True)
class GuideChange:
    title: str | None = None
    description: str | None = None
    audience: GuideAudience | None = None


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str | None
    content: bytes  # at most max_attachment_bytes + 1


def _guide_values(change: GuideChange) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if change.title is not None:
        values["title"] = clean_text(change.title, GUIDE_TITLE_MAX, "title")
    if change.description is not None:
        values["description"] = clean_text(
            change.description, GUIDE_DESCRIPTION_MAX, "description", multiline=True
        )
    if change.audience is not None:
        values["audience"] = change.audience
    return values


def _store_guide(settings: Settings, upload: Upload) -> StoredFile:
    return store_upload(
        settings,
        directory=GUIDES_DIR,
        filename=upload.filename,
        content=upload.content,
        accepted=PDF_ONLY,
        accepted_label="PDF",
    )


def _file_values(stored: StoredFile) -> dict[str, Any]:
    return {
        "filename": stored.filename,
        "content_type": stored.content_type,
        "size_bytes": stored.size_bytes,
        "sha256": stored.sha256,
        "storage_key": stored.key,
    }


async def create_guide(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    change: GuideChange,
    upload: Upload,
    now: datetime,
    client_address: str | None,
) -> Guide:
    values = _guide_values(change)
    stored: StoredFile | None = None
    try:
        stored = _store_guide(settings, upload)
        async with transaction(sessions) as session:
            guide = Guide(
                **values,
                **_file_values(stored),
                uploaded_by_user_id=caller.user_id,
                created_at=now,
            )
            session.add(guide)
            await session.flush()
            _audit_guide(session, caller, "guide.create", guide, now, client_address)
            return guide
    except BaseException:
        discard(stored)
        raise


async def update_guide(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    guide_id: int,
    change: GuideChange,
    upload: Upload | None,
    now: datetime,
    client_address: str | None,
) -> Guide:
    """Changes a guide's title, description or audience, or replaces its file (the old file
    is removed once the change is committed)."""
    values = _guide_values(change)
    stored: StoredFile | None = None
    try:
        async with transaction(sessions) as session:
            guide = await session.get(Guide, guide_id, with_for_update=True)
            if guide is None:
                raise not_found("guideId")
            replaced = guide.storage_key
            if upload is not None:
                stored = _store_guide(settings, upload)
                values |= _file_values(stored) | {"uploaded_by_user_id": caller.user_id}
            for name, value in values.items():
                setattr(guide, name, value)
            guide.updated_at = now
            session.add(guide)
            await session.flush()
            _audit_guide(session, caller, "guide.update", guide, now, client_address)
    except BaseException:
        discard(stored)
        raise
    if stored is not None:
        remove_key(settings, replaced)
    return guide


async def delete_guide(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    guide_id: int,
    now: datetime,
    client_address: str | None,
) -> None:
    async with transaction(sessions) as session:
        guide = await session.get(Guide, guide_id, with_for_update=True)
        if guide is None:
            raise not_found("guideId")
        key = guide.storage_key
        _audit_guide(session, caller, "guide.delete", guide, now, client_address)
        await session.delete(guide)
    remove_key(settings, key)


def _audit_guide(
    session: AsyncSession,
    caller: Caller,
    action: str,
    guide: Guide,
    now: datetime,
    client_address: str | None,
) -> None:
    audit.record(
        session,
        actor_user_id=caller.user_id,
        action=action,
        object_type="Guide",
        object_id=persisted_id(guide),
        now=now,
        client_address=client_address,
        details={
            "title": guide.title,
            "audience": guide.audience,
            "filename": guide.filename,
            "sha256": guide.sha256,
        },
    )
