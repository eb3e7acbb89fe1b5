"""Self-care requests as members file and follow them, and as the back office decides them.

- `submit_self_care_request`: one kind, its values checked (`domain.self_care_requests`), on
  an object of the caller's write perimeter (the member itself for its legal name and address:
  USER and ADMIN only; a billing account otherwise); a second open request of the same kind on
  the same object is ALREADY_EXISTS. Stored with its first event, an audit entry and the
  author's mail, in one transaction.
- `advance_self_care_request` (OPERATOR): SUBMITTED → IN_PROGRESS → APPROVED | REJECTED (with
  a reason). APPROVED applies the change to the member or billing account in the same
  transaction, audited with the values before and after: a failure anywhere changes nothing.
- The list (keyset pages) and single requests start from `db.scoped.scoped_self_care_requests`:
  a page is one statement, plus one for the events asked for, plus one for the count.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.account_statements import produce_request_statement
from api.resolvers.keyset_pages import EMPTY_PAGE, RowPage, fetch_page, keyset_page, rows_by_id
from api.resolvers.technical_requests import (
    decode_keyset,
    paris_midnight,
    step_events,
)
from api.resolvers.writable import object_to_change, require_writing_credential
from auth.caller import Caller
from comptoir.settings import Settings
from db import audit
from db.core import ACCOUNTS, MEMBERS, core, table_of
from db.engine import transaction
from db.models import BillingAccount, Member, SelfCareRequest, SelfCareRequestEvent, User
from db.models.base import persisted_id
from db.scoped import (
    Perimeter,
    scoped_billing_accounts,
    scoped_held_members,
    scoped_members,
    scoped_self_care_requests,
)
from domain.calendar import paris_date
from domain.enums import SelfCareRequestKind, SelfCareRequestStatus, Tier
from domain.errors import ErrorCode, Refusal, Refusals, not_found
from domain.labels import SELF_CARE_REQUEST_LABELS
from domain.request_workflow import clean_note
from domain.self_care_requests import (
    ACCOUNT_KINDS,
    LEGAL_NAME_LIMIT,
    OPEN_STATUSES,
    STATUS_LABELS,
    Address,
    Checker,
    DeliveryChange,
    check_transition,
    reference_number,
    summary,
)
from mailers import contacts
from mailers.mails import SelfCareRequestMail, queue_self_care_request_mail

K = SelfCareRequestKind
REQUESTS = table_of(SelfCareRequest)
EVENTS = table_of(SelfCareRequestEvent)
_AUTHOR = table_of(User).alias("author")

ROW_COLUMNS = (
    *REQUESTS.c,
    MEMBERS.c.legal_name.label("member_legal_name"),
    ACCOUNTS.c.number.label("billing_account_number"),
    _AUTHOR.c.full_name.label("author_name"),
)
READ_ONLY_MEMBER = (
    "Votre habilitation permet de consulter cet adhérent, pas de demander à modifier ses "
    "informations."
)
READ_ONLY_ACCOUNT = "Votre habilitation permet de consulter ce compte, pas d'y déposer de demande."


# -- what the form carries ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submission:
    """One kind's values, checked here; the object is the member (`member_id`, or the caller's
    own member when it holds one) or a billing account."""

    kind: SelfCareRequestKind
    field: str  # the input's sub-field, prefix of the refusals' fields
    member_id: int | None = None
    billing_account_id: int | None = None
    legal_name: str | None = None
    address: Address | None = None
    delivery: DeliveryChange | None = None
    period: tuple[date, date] | None = None


def _payload(submission: Submission) -> dict[str, Any]:
    """The checked values as stored, or every refusal at once."""
    check = Checker(submission.field)
    payload: dict[str, Any] = {}
    if submission.kind is K.CHANGE_LEGAL_NAME:
        payload["legal_name"] = check.text(submission.legal_name, LEGAL_NAME_LIMIT, "legalName")
    elif submission.kind in (K.CHANGE_LEGAL_ADDRESS, K.CHANGE_BILLING_ADDRESS):
        assert submission.address is not None
        a = submission.address
        payload |= check.address(a.street, a.postcode, a.city)
    elif submission.kind is K.CHANGE_INVOICE_DELIVERY:
        assert submission.delivery is not None
        payload |= check.delivery(submission.delivery)
    else:
        assert submission.period is not None
        payload |= check.period(*submission.period)
    if check.refusals:
        raise Refusals(check.refusals)
    return payload


async def _member_to_change(
    session: AsyncSession, caller: Caller, member_id: int, field: str
) -> Member:
    """A member the caller holds whole for writing, locked; FORBIDDEN when it only sees it
    (an INFRA_USER, a third party, a read-only grant), NOT_FOUND otherwise."""
    found = (
        await session.exec(
            scoped_held_members(caller.write_perimeter)
            .where(col(Member.id) == member_id)
            .with_for_update()
        )
    ).first()
    if found is not None:
        member: Member = found
        return member
    seen = (
        await session.exec(
            scoped_members(caller.perimeter, Member.id).where(col(Member.id) == member_id)
        )
    ).first()
    if seen is None:
        raise not_found(field)
    raise Refusal(ErrorCode.FORBIDDEN, READ_ONLY_MEMBER, field=field)


def _own_member(caller: Caller, field: str) -> int:
    """The member a request names implicitly: the caller's, when it holds exactly one."""
    members = {g.member_id for g in caller.grants_of(Tier.USER) if g.member_id is not None}
    if len(members) != 1:
        raise Refusal(ErrorCode.REQUIRED, "Précisez l'adhérent concerné (memberId).", field=field)
    return members.pop()


async def _open_duplicate(
    session: AsyncSession, kind: SelfCareRequestKind, member_id: int, account_id: int | None
) -> bool:
    account = (
        REQUESTS.c.billing_account_id.is_(None)
        if account_id is None
        else REQUESTS.c.billing_account_id == account_id
    )
    statement = sa.select(REQUESTS.c.id).where(
        REQUESTS.c.kind == kind.value,
        REQUESTS.c.member_id == member_id,
        account,
        REQUESTS.c.status.in_([s.value for s in OPEN_STATUSES]),
    )
    return (await core(session, statement.limit(1))).first() is not None


async def submit_self_care_request(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    submission: Submission,
    now: datetime,
    client_address: str | None,
) -> Any:
    """Files the request: its row, its first event, an audit entry and the author's mail (one
    transaction). Answers the request's row."""
    require_writing_credential(caller)
    payload = _payload(submission)
    prefix = submission.field
    async with transaction(sessions) as session:
        account_id: int | None = None
        if submission.billing_account_id is not None:
            account: BillingAccount = await object_to_change(
                session,
                scoped_billing_accounts,
                BillingAccount.id,
                submission.billing_account_id,
                perimeter=caller.perimeter,
                write_perimeter=caller.write_perimeter,
                field=f"{prefix}.billingAccountId",
                forbidden=READ_ONLY_ACCOUNT,
            )
            member_id, account_id = account.member_id, persisted_id(account)
        else:
            if submission.kind in ACCOUNT_KINDS:
                raise Refusal(
                    ErrorCode.REQUIRED,
                    "Précisez le compte de facturation.",
                    field=f"{prefix}.billingAccountId",
                )
            wanted = submission.member_id
            if wanted is None:
                wanted = _own_member(caller, f"{prefix}.memberId")
            member = await _member_to_change(session, caller, wanted, f"{prefix}.memberId")
            member_id = persisted_id(member)
        if await _open_duplicate(session, submission.kind, member_id, account_id):
            raise Refusal(
                ErrorCode.ALREADY_EXISTS,
                f"Une demande « {SELF_CARE_REQUEST_LABELS[submission.kind]} » est déjà en "
                "cours sur ce même objet : attendez qu'elle soit traitée.",
                field=prefix,
            )
        request = SelfCareRequest(
            # A placeholder until the id is known: the reference is built from it.
            reference=f"tmp-{secrets.token_hex(8)}",
            member_id=member_id,
            billing_account_id=account_id,
            kind=submission.kind,
            status=SelfCareRequestStatus.SUBMITTED,
            payload=payload,
            submitted_by_user_id=caller.user_id,
            submitted_at=now,
            updated_at=now,
        )
        session.add(request)
        await session.flush()
        request_id = persisted_id(request)
        request.reference = reference_number(paris_date(now).year, request_id)
        event = SelfCareRequestEvent(
            request_id=request_id,
            status=SelfCareRequestStatus.SUBMITTED,
            occurred_at=now,
            actor_user_id=caller.user_id,
            comment="Demande enregistrée, récapitulatif envoyé par courriel",
        )
        session.add_all([request, event])
        await session.flush()
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="self_care_request.submit",
            object_type="SelfCareRequest",
            object_id=request_id,
            now=now,
            client_address=client_address,
            details={"kind": submission.kind.value, "payload": payload},
        )
        await _mail_author(
            session,
            settings,
            request,
            event,
            author_email=caller.email,
            author_name=caller.full_name,
            now=now,
        )
        return await _row_of(session, request_id)


async def _mail_author(
    session: AsyncSession,
    settings: Settings,
    request: SelfCareRequest,
    event: SelfCareRequestEvent,
    *,
    author_email: str,
    author_name: str,
    now: datetime,
) -> None:
    """The author's mail for this step, with the member's name as it stands now (after an
    approved change of name, the new one) and its group's contacts."""
    member = (
        await core(
            session,
            sa.select(MEMBERS.c.legal_name, MEMBERS.c.group_id).where(
                MEMBERS.c.id == request.member_id
            ),
        )
    ).one()
    service = (await contacts.for_groups(session, settings, [member.group_id]))[member.group_id]
    kind = SelfCareRequestKind(request.kind)
    status = SelfCareRequestStatus(event.status)
    await queue_self_care_request_mail(
        session,
        mail=SelfCareRequestMail(
            request_id=persisted_id(request),
            event_id=persisted_id(event),
            reference=request.reference,
            full_name=author_name,
            email=author_email,
            member_legal_name=member.legal_name,
            status_label=STATUS_LABELS[status],
            type_label=SELF_CARE_REQUEST_LABELS[kind],
            submitted=status is SelfCareRequestStatus.SUBMITTED,
            note=event.comment if status is not SelfCareRequestStatus.SUBMITTED else None,
            summary=summary(kind, request.payload or {}),
            customer_service=service,
        ),
        now=now,
    )


# -- the back office ---------------------------------------------------------------------------


async def _apply(
    session: AsyncSession, settings: Settings, request: SelfCareRequest, *, now: datetime
) -> dict[str, Any]:
    """Writes the approved change to its member or billing account, flushed (a constraint
    the database refuses raises here, inside the caller's transaction); answers the values
    before and after, for the audit. A statement asked for is produced (its files written
    under the request's reference)."""
    kind = SelfCareRequestKind(request.kind)
    payload = request.payload or {}
    changes: dict[str, Any]
    target: Member | BillingAccount
    if kind is K.ACCOUNT_STATEMENT:
        produced = await produce_request_statement(
            session,
            settings,
            reference=request.reference,
            member_id=request.member_id,
            billing_account_id=request.billing_account_id,
            start=date.fromisoformat(payload["from"]),
            end=date.fromisoformat(payload["to"]),
            issued_on=paris_date(now),
        )
        return {"statement": produced}
    if kind in (K.CHANGE_LEGAL_NAME, K.CHANGE_LEGAL_ADDRESS):
        target = (
            await session.exec(
                select(Member).where(col(Member.id) == request.member_id).with_for_update()
            )
        ).one()
        if kind is K.CHANGE_LEGAL_NAME:
            changes = {"legal_name": payload["legal_name"]}
        else:
            changes = {k: payload[k] for k in ("street", "postcode", "city")}
    else:
        target = (
            await session.exec(
                select(BillingAccount)
                .where(col(BillingAccount.id) == request.billing_account_id)
                .with_for_update()
            )
        ).one()
        if kind is K.CHANGE_BILLING_ADDRESS:
            changes = {
                "billing_street": payload["street"],
                "billing_postcode": payload["postcode"],
                "billing_city": payload["city"],
            }
        else:
            changes = {"invoice_delivery": payload["invoice_delivery"]}
            if payload["invoice_delivery"] == "CHORUS_PRO":
                changes |= {
                    k: payload.get(k)
                    for k in ("recipient_siret", "chorus_service_code", "chorus_commitment_number")
                }
    before = {k: _plain(getattr(target, k)) for k in changes}
    for key, value in changes.items():
        setattr(target, key, value)
    session.add(target)
    try:
        await session.flush()
    except IntegrityError:
        # The stored request no longer fits the data's rules: refused, and the transaction
        # (this step, its event, the change) rolls back as a whole.
        raise Refusal(
            ErrorCode.INVALID_STATE,
            "La modification demandée ne respecte plus les règles des données (identifiant ou "
            "adresse) : refusez la demande avec un motif.",
            field="status",
        ) from None
    return {"before": before, "after": changes}


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


async def advance_self_care_request(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    request_id: int,
    to: SelfCareRequestStatus,
    note: str | None,
    now: datetime,
    client_address: str | None,
) -> Any:
    """The back office moves a request one step (any request: OPERATOR holds no perimeter, the
    field admits OPERATOR only). APPROVED applies the change in the same transaction."""
    async with transaction(sessions) as session:
        request = (
            await session.exec(
                select(SelfCareRequest)
                .where(col(SelfCareRequest.id) == request_id)
                .with_for_update()
            )
        ).first()
        if request is None:
            raise not_found("requestId")
        before = SelfCareRequestStatus(request.status)
        check_transition(before, to)
        cleaned = clean_note(note, required=to is SelfCareRequestStatus.REJECTED)
        request.status = to
        request.updated_at = now
        if to in (SelfCareRequestStatus.APPROVED, SelfCareRequestStatus.REJECTED):
            request.answer = cleaned or "Modification effectuée."
        event = SelfCareRequestEvent(
            request_id=request_id,
            status=to,
            occurred_at=now,
            actor_user_id=caller.user_id,
            comment=cleaned,
        )
        session.add_all([request, event])
        await session.flush()
        applied = (
            await _apply(session, settings, request, now=now)
            if to is SelfCareRequestStatus.APPROVED
            else {}
        )
        if "statement" in applied and not cleaned:
            request.answer = (
                f"Relevé de compte établi ({applied['statement']['documents']} documents) : "
                "téléchargeable depuis la demande."
            )
            session.add(request)
            await session.flush()
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action=f"self_care_request.{to.value.lower()}",
            object_type="SelfCareRequest",
            object_id=request_id,
            now=now,
            client_address=client_address,
            details={"before": before.value, "after": to.value, "note": cleaned, **applied},
        )
        if request.submitted_by_user_id is not None:
            author = await session.get(User, request.submitted_by_user_id)
            if author is not None:
                await _mail_author(
                    session,
                    settings,
                    request,
                    event,
                    author_email=author.email,
                    author_name=author.full_name,
                    now=now,
                )
        return await _row_of(session, request_id)


# -- reading -----------------------------------------------------------------------------------


def _joined() -> Any:
    return (
        REQUESTS.join(MEMBERS, MEMBERS.c.id == REQUESTS.c.member_id)
        .outerjoin(ACCOUNTS, ACCOUNTS.c.id == REQUESTS.c.billing_account_id)
        .outerjoin(_AUTHOR, _AUTHOR.c.id == REQUESTS.c.submitted_by_user_id)
    )


async def _row_of(session: AsyncSession, request_id: int) -> Any:
    """A request's row after a change the caller was allowed to make (no second scope)."""
    statement = sa.select(*ROW_COLUMNS).select_from(_joined()).where(REQUESTS.c.id == request_id)
    return (await core(session, statement)).one()


@dataclass(frozen=True, slots=True)
class SelfCareRequestQuery:
    kinds: tuple[SelfCareRequestKind, ...] = ()
    statuses: tuple[SelfCareRequestStatus, ...] = ()
    member_ids: tuple[int, ...] | None = None
    billing_account_id: int | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None
    reference: str | None = None


def request_rows(
    perimeter: Perimeter, query: SelfCareRequestQuery = SelfCareRequestQuery(), *columns: Any
) -> Any:
    if query.submitted_from and query.submitted_to and query.submitted_to < query.submitted_from:
        raise Refusal(
            ErrorCode.INVALID, "La fin de la période précède son début.", field="submittedTo"
        )
    statement = scoped_self_care_requests(perimeter, *(columns or ROW_COLUMNS)).select_from(
        _joined()
    )
    where: list[Any] = []
    if query.kinds:
        where.append(REQUESTS.c.kind.in_(sorted(k.value for k in query.kinds)))
    if query.statuses:
        where.append(REQUESTS.c.status.in_(sorted(s.value for s in query.statuses)))
    if query.member_ids is not None:
        where.append(REQUESTS.c.member_id.in_(sorted(set(query.member_ids))))
    if query.billing_account_id is not None:
        where.append(REQUESTS.c.billing_account_id == query.billing_account_id)
    if query.submitted_from is not None:
        where.append(REQUESTS.c.submitted_at >= paris_midnight(query.submitted_from))
    if query.submitted_to is not None:
        where.append(
            REQUESTS.c.submitted_at
            < paris_midnight(date.fromordinal(query.submitted_to.toordinal() + 1))
        )
    if query.reference is not None:
        where.append(REQUESTS.c.reference == query.reference)
    return statement.where(*where)


async def list_self_care_requests(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    query: SelfCareRequestQuery,
    *,
    first: int,
    after: list[Any] | None,
    with_count: bool,
) -> RowPage:
    """Newest first, keyset on (submitted_at, id)."""
    cursor = decode_keyset(after) if after is not None else None
    if perimeter.is_empty:
        return EMPTY_PAGE
    page = keyset_page(
        request_rows(perimeter, query),
        REQUESTS.c.submitted_at,
        REQUESTS.c.id,
        descending=True,
        first=first,
        after=cursor,
    )
    count = request_rows(perimeter, query, sa.func.count(REQUESTS.c.id)) if with_count else None
    return await fetch_page(
        sessions, page, count, first=first, cursor_of=lambda r: [r.submitted_at.isoformat(), r.id]
    )


async def load_self_care_requests(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, ids: Sequence[int | None]
) -> list[Any | None]:
    if perimeter.is_empty:
        return [None] * len(ids)
    return await rows_by_id(sessions, request_rows(perimeter), REQUESTS.c.id, ids)


async def self_care_request_by_reference(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, reference: str
) -> Any | None:
    if perimeter.is_empty or len(reference) > 20:
        return None
    async with sessions() as session:
        query = SelfCareRequestQuery(reference=reference.strip())
        return (await core(session, request_rows(perimeter, query))).first()


async def events_of_requests(
    sessions: async_sessionmaker[AsyncSession], request_ids: Sequence[int]
) -> list[list[Any]]:
    """Each request's events, oldest first, with the actor's name: one statement (the ids come
    from rows already read inside the perimeter)."""
    return await step_events(sessions, EVENTS, request_ids)
