"""Technical requests as customers file and follow them, and as the back office moves them.

- `submit_technical_request`: on a site of the caller's write perimeter (named by ID, point
  number or customer reference) or a new site joining one of its billing accounts; checked
  against the catalogue (`domain.technical_requests`), one refusal per field; stored with its
  first event and the confirmation mail in one transaction.
- `advance_technical_request` (OPERATOR) and `abandon_technical_request` (the customer, before
  forwarding): one step of `domain.technical_request_workflow`, an event and a mail each.
- The list (keyset pages) and single requests: every statement starts from
  `db.scoped.scoped_technical_requests`, so a request outside the perimeter is a missing one.
  A request row carries its site (outer join, `site__` columns), member's legal name and
  author's name: a page is one statement, plus one for the events and attachments asked for,
  plus one for the count.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.access import clean_email
from api.resolvers.export_files import streamed_rows
from api.resolvers.filter_scope import check_filter_scope
from api.resolvers.keyset_pages import EMPTY_PAGE, RowPage, fetch_page, keyset_page, rows_by_id
from api.resolvers.portfolio import SiteCriteria
from api.resolvers.stored_files import StoredFile, discard_all, store_attachment
from api.resolvers.writable import object_to_change, require_writing_credential, site_to_change
from auth.caller import Caller
from comptoir.settings import Settings
from db import audit
from db.core import MEMBERS, SITES, core, core_rows, table_of
from db.engine import transaction
from db.models import (
    BillingAccount,
    Site,
    TechnicalRequest,
    TechnicalRequestAttachment,
    TechnicalRequestEvent,
    User,
)
from db.models.base import persisted_id
from db.scoped import Perimeter, scoped_billing_accounts, scoped_sites, scoped_technical_requests
from documents.tables import Column, ColumnKind, Table
from domain.calendar import PARIS, add_working_days, latest_start_overdue_on, paris_date
from domain.enums import Distributor, Energy, Segment, TechnicalRequestStatus, TechnicalRequestType
from domain.errors import ErrorCode, Refusal, Refusals, not_found
from domain.labels import ENERGY_LABELS
from domain.references import SITE_REFERENCE_LIMITS, ReferenceProblem, clean_reference
from domain.technical_request_workflow import (
    STATUS_LABELS,
    Step,
    check_step,
    check_transition,
    clean_note,
)
from domain.technical_requests import (
    CATALOGUE,
    FORWARDING_WORKING_DAYS,
    Characteristics,
    RequestTypeSpec,
    check_characteristics,
    check_point_number,
    check_segment,
    check_type_for_energy,
    earliest_wished_date,
    intervention_fee,
    reference_number,
)
from mailers import contacts
from mailers.mails import TechnicalRequestMail, queue_technical_request_mail
from mailers.rendering import french_number

REQUESTS = table_of(TechnicalRequest)
EVENTS = table_of(TechnicalRequestEvent)
ATTACHMENTS = table_of(TechnicalRequestAttachment)
_AUTHOR = table_of(User).alias("author")
_ACTOR = table_of(User).alias("actor")

ROW_COLUMNS = (
    *REQUESTS.c,
    *(column.label(f"site__{column.key}") for column in SITES.c),
    MEMBERS.c.legal_name.label("member_legal_name"),
    _AUTHOR.c.full_name.label("author_name"),
)
READ_ONLY_SITE = "Votre habilitation permet de consulter ce site, pas d'y déposer de demande."
READ_ONLY_ACCOUNT = (
    "Votre habilitation permet de consulter ce compte, pas d'y rattacher un nouveau site."
)
READ_ONLY_REQUEST = "Votre habilitation permet de consulter cette demande, pas de l'annuler."
READ_ONLY_ATTACHMENT = (
    "Votre habilitation permet de consulter cette demande, pas d'y joindre de fichier."
)
DEFAULT_DISTRIBUTOR = {Energy.GAS: Distributor.GRDF, Energy.ELECTRICITY: Distributor.ENEDIS}
_PHONE = re.compile(r"\+?[0-9 .()-]{6,32}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# -- what the form carries ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiteChoice:
    """A site of the portfolio, named one way only."""

    site_id: int | None = None
    point_number: str | None = None
    customer_reference: str | None = None


@dataclass(frozen=True, slots=True)
class NewSite:
    point_number: str
    street: str
    postcode: str
    city: str
    energy: Energy
    segment: Segment
    billing_account_id: int
    green_share_pct: int = 0


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    phone: str
    email: str


@dataclass(frozen=True, slots=True)
class Submission:
    request_type: TechnicalRequestType
    contact: Contact
    site: SiteChoice | None = None
    new_site: NewSite | None = None
    references: dict[str, str | None] = field(default_factory=dict)  # internal_code, …
    characteristics: Characteristics = field(default_factory=Characteristics)
    comment: str | None = None
    # What the use case filing the request records beside the form (e.g. the optimisation
    # proposal it carries out and the special reading it needs).
    extra_details: dict[str, Any] = field(default_factory=dict)


def _text(value: str, limit: int, field_name: str, *, required: bool = True) -> tuple[str, Any]:
    cleaned = " ".join(value.split())
    if _CONTROL.search(value.replace("\t", " ")):
        return "", Refusal(ErrorCode.INVALID, "Caractères de contrôle interdits.", field=field_name)
    if not cleaned and required:
        return "", Refusal(ErrorCode.REQUIRED, "Champ obligatoire.", field=field_name)
    if len(cleaned) > limit:
        return "", Refusal(ErrorCode.TOO_LONG, f"{limit} caractères au plus.", field=field_name)
    return cleaned, None


def _check_contact(contact: Contact, refusals: list[Refusal]) -> dict[str, str]:
    name, problem = _text(contact.name, 120, "contact.name")
    if problem:
        refusals.append(problem)
    phone = " ".join(contact.phone.split())
    if not phone:
        refusals.append(
            Refusal(ErrorCode.REQUIRED, "Téléphone obligatoire.", field="contact.phone")
        )
    elif not _PHONE.fullmatch(phone) or sum(c.isdigit() for c in phone) < 9:
        refusals.append(
            Refusal(ErrorCode.INVALID, "Numéro de téléphone invalide.", field="contact.phone")
        )
    email = ""
    try:
        email = clean_email(contact.email)
    except Refusal as refusal:
        refusals.append(Refusal(refusal.code, refusal.message, field="contact.email"))
    return {"name": name, "phone": phone, "email": email}


_REFERENCE_FIELDS = {
    "internal_code": "internalCode",
    "designation": "designation",
    "other_reference": "otherReference",
}
_REFERENCE_MESSAGES = {
    ReferenceProblem.REQUIRED: "Référence vide : omettez-la plutôt.",
    ReferenceProblem.TOO_LONG: "{limit} caractères au plus.",
    ReferenceProblem.INVALID: "Caractères de contrôle interdits.",
}


def _check_references(given: dict[str, str | None], refusals: list[Refusal]) -> dict[str, str]:
    stored: dict[str, str] = {}
    for key, value in given.items():
        if value is None:
            continue
        limit = SITE_REFERENCE_LIMITS[key]
        cleaned, problem = clean_reference(value, limit)
        if problem is not None:
            refusals.append(
                Refusal(
                    ErrorCode(problem.value),
                    _REFERENCE_MESSAGES[problem].format(limit=limit),
                    field=f"references.{_REFERENCE_FIELDS[key]}",
                )
            )
        elif cleaned is not None:
            stored[key] = cleaned
    return stored


async def _site_named(session: AsyncSession, caller: Caller, choice: SiteChoice | None) -> Site:
    """The site of the portfolio the request is about, locked; NOT_FOUND / FORBIDDEN as every
    write (api/resolvers/writable.py)."""
    named = [
        v
        for v in (
            choice.site_id if choice else None,
            choice.point_number if choice else None,
            choice.customer_reference if choice else None,
        )
        if v not in (None, "")
    ]
    if len(named) != 1:
        raise Refusal(
            ErrorCode.REQUIRED,
            "Désignez le site d'une seule façon : identifiant, numéro de point ou référence.",
            field="site",
        )
    assert choice is not None
    site_id = choice.site_id
    if site_id is None:
        if choice.point_number:
            wanted = choice.point_number.replace(" ", "")
            criterion: Any = col(Site.point_number) == wanted
            field_name = "site.pointNumber"
        else:
            reference = (choice.customer_reference or "").strip()
            criterion = sa.or_(
                col(Site.internal_code) == reference,
                col(Site.designation) == reference,
                col(Site.other_reference) == reference,
            )
            field_name = "site.customerReference"
        found = list(
            (
                await session.exec(
                    scoped_sites(caller.perimeter, Site.id).where(criterion).limit(2)
                )
            ).all()
        )
        if not found:
            raise not_found(field_name)
        if len(found) > 1:
            raise Refusal(
                ErrorCode.INVALID,
                "Cette référence désigne plusieurs sites : choisissez le site par son numéro "
                "de point.",
                field=field_name,
            )
        site_id = int(found[0])
    return await site_to_change(
        session,
        site_id,
        perimeter=caller.perimeter,
        write_perimeter=caller.write_perimeter,
        forbidden=READ_ONLY_SITE,
        field="site",
    )


async def submit_technical_request(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    submission: Submission,
    now: datetime,
    client_address: str | None,
) -> Any:
    """Files the request: its row, its first event, its confirmation mail (one transaction).
    Answers the request's row."""
    require_writing_credential(caller)
    async with transaction(sessions) as session:
        request = await file_technical_request(
            session,
            settings,
            caller,
            submission=submission,
            now=now,
            client_address=client_address,
        )
        return await _row_of(session, persisted_id(request))


async def file_technical_request(
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    *,
    submission: Submission,
    now: datetime,
    client_address: str | None,
) -> TechnicalRequest:
    """Files the request inside the caller's transaction (its row, first event, audit entry and
    confirmation mail): `submit_technical_request`, and any use case whose outcome is a request
    (an accepted optimisation), so the request exists exactly when the rest was written."""
    spec = CATALOGUE[submission.request_type]
    today = paris_date(now)
    refusals: list[Refusal] = []
    contact = _check_contact(submission.contact, refusals)
    references = _check_references(submission.references, refusals)
    comment = None
    try:
        comment = clean_note(submission.comment, required=False, field="comment")
    except Refusal as refusal:
        refusals.append(refusal)
    details: dict[str, Any] = {}
    site: Site | None = None
    if spec.targets_existing_site:
        if submission.new_site is not None:
            raise Refusal(
                ErrorCode.INVALID,
                f"Une demande « {spec.label} » porte sur un site du portefeuille : "
                "désignez-le plutôt que d'en décrire un nouveau.",
                field="newSite",
            )
        site = await _site_named(session, caller, submission.site)
        energy = Energy(site.energy)
        member_id, account_id = site.member_id, site.billing_account_id
        point: str | None = site.point_number
        distributor = Distributor(site.distributor)
    else:
        new = submission.new_site
        if new is None:
            raise Refusal(
                ErrorCode.REQUIRED,
                f"Une demande « {spec.label} » décrit le site à ajouter.",
                field="newSite",
            )
        account: BillingAccount = await object_to_change(
            session,
            scoped_billing_accounts,
            BillingAccount.id,
            new.billing_account_id,
            perimeter=caller.perimeter,
            write_perimeter=caller.write_perimeter,
            field="newSite.billingAccountId",
            forbidden=READ_ONLY_ACCOUNT,
        )
        energy = new.energy
        member_id, account_id = account.member_id, persisted_id(account)
        distributor = DEFAULT_DISTRIBUTOR[energy]
        point, problem = check_point_number(new.point_number, "newSite.pointNumber")
        if problem:
            refusals.append(problem)
        elif (
            await session.exec(
                scoped_sites(caller.perimeter, Site.id).where(col(Site.point_number) == point)
            )
        ).first() is not None:
            refusals.append(
                Refusal(
                    ErrorCode.ALREADY_EXISTS,
                    "Ce point est déjà dans votre portefeuille : déposez la demande sur ce site.",
                    field="newSite.pointNumber",
                )
            )
        if (segment_problem := check_segment(new.segment, energy)) is not None:
            refusals.append(segment_problem)
        if not 0 <= new.green_share_pct <= 100:
            refusals.append(
                Refusal(
                    ErrorCode.INVALID,
                    "Part verte entre 0 et 100 %.",
                    field="newSite.greenSharePct",
                )
            )
        new_site: dict[str, Any] = {
            "segment": new.segment.value,
            "green_share_pct": new.green_share_pct,
            "billing_label": account.invoice_label,
        }
        for key, value, limit in (
            ("street", new.street, 200),
            ("postcode", new.postcode, 10),
            ("city", new.city, 120),
        ):
            cleaned, text_problem = _text(value, limit, f"newSite.{key}")
            if text_problem:
                refusals.append(text_problem)
            new_site[key] = cleaned
        details["new_site"] = new_site
    if (energy_problem := check_type_for_energy(spec, energy)) is not None:
        refusals.append(energy_problem)
    wished, problems = check_characteristics(
        spec, energy, submission.characteristics, submitted_on=today
    )
    refusals.extend(problems)
    if refusals:
        raise Refusals(refusals)
    wished_days = wished.get("wished_dates")
    wished_dates = (
        [date.fromisoformat(d) for d in wished_days] if isinstance(wished_days, list) else []
    )
    details |= submission.extra_details
    details |= {
        "characteristics": wished,
        "references": references,
        "distributor": distributor.value,
        "forward_by": add_working_days(today, FORWARDING_WORKING_DAYS).isoformat(),
        "expected_on": (
            wished_dates[0] if wished_dates else earliest_wished_date(spec, today)
        ).isoformat(),
    }
    request = TechnicalRequest(
        # A placeholder until the id is known: the reference is built from it.
        reference=f"tmp-{secrets.token_hex(8)}",
        member_id=member_id,
        billing_account_id=account_id,
        site_id=site.id if site is not None else None,
        request_type=spec.code,
        status=TechnicalRequestStatus.SUBMITTED,
        energy=energy,
        point_number=point,
        contact_name=contact["name"],
        contact_phone=contact["phone"],
        contact_email=contact["email"],
        details=details,
        comment=comment,
        submitted_by_user_id=caller.user_id,
        submitted_at=now,
        updated_at=now,
    )
    session.add(request)
    await session.flush()
    assert request.id is not None
    request.reference = reference_number(today.year, request.id)
    event = TechnicalRequestEvent(
        request_id=request.id,
        status=TechnicalRequestStatus.SUBMITTED,
        occurred_at=now,
        actor_user_id=caller.user_id,
        comment="Demande enregistrée, récapitulatif envoyé par courriel",
    )
    session.add_all([request, event])
    await session.flush()
    audit.record(
        session,
        actor_user_id=caller.user_id,
        action="technical_request.submit",
        object_type="TechnicalRequest",
        object_id=request.id,
        now=now,
        client_address=client_address,
        details={"type": spec.code.value, "site_id": request.site_id},
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
    return request


def _summary(request: TechnicalRequest, spec: RequestTypeSpec) -> list[tuple[str, str]]:
    details = request.details or {}
    lines = [
        ("Référence", request.reference),
        ("Type", spec.label),
        ("Énergie", ENERGY_LABELS[Energy(request.energy)]),
        ("Point de livraison", request.point_number or "à attribuer par le distributeur"),
    ]
    if new_site := details.get("new_site"):
        lines.append(
            ("Site à ajouter", f"{new_site['street']}, {new_site['postcode']} {new_site['city']}")
        )
        lines.append(("Segment", new_site["segment"]))
        lines.append(("Part verte", f"{new_site['green_share_pct']} %"))
    wished = details.get("characteristics", {})
    if power := wished.get("desired_power_kva"):
        lines.append(("Puissance souhaitée", f"{power} kVA".replace(".", ",")))
    if option := wished.get("desired_tariff_option"):
        lines.append(("Option tarifaire souhaitée", option))
    if dates := wished.get("wished_dates"):
        lines.append(
            (
                "Dates souhaitées",
                ", ".join(date.fromisoformat(d).strftime("%d/%m/%Y") for d in dates),
            )
        )
    if description := wished.get("description"):
        lines.append(("Description", description))
    lines.append(
        (
            "Contact technique",
            f"{request.contact_name}, {request.contact_phone}, {request.contact_email}",
        )
    )
    if request.distributor_case_number:
        lines.append(("Numéro d'affaire du distributeur", request.distributor_case_number))
    if request.appointment_at:
        lines.append(("Rendez-vous", f"{paris_date(request.appointment_at):%d/%m/%Y}"))
    if expected := details.get("expected_on"):
        lines.append(("Date d'intervention visée", f"{date.fromisoformat(expected):%d/%m/%Y}"))
    if done := details.get("done_on"):
        lines.append(("Intervention réalisée le", f"{date.fromisoformat(done):%d/%m/%Y}"))
    if (index := details.get("commissioning_index")) is not None:
        lines.append(("Index de mise en service", french_number(index)))
    return lines


async def _mail_author(
    session: AsyncSession,
    settings: Settings,
    request: TechnicalRequest,
    event: TechnicalRequestEvent,
    *,
    author_email: str,
    author_name: str,
    now: datetime,
) -> None:
    assert request.id is not None and event.id is not None
    spec = CATALOGUE[TechnicalRequestType(request.request_type)]
    service = (
        await contacts.for_site(session, settings, request.site_id)
        if request.site_id is not None
        else await contacts.for_user(session, settings, request.submitted_by_user_id or 0)
    )
    await queue_technical_request_mail(
        session,
        mail=TechnicalRequestMail(
            request_id=request.id,
            event_id=event.id,
            reference=request.reference,
            full_name=author_name,
            email=author_email,
            status_label=STATUS_LABELS[TechnicalRequestStatus(event.status)],
            type_label=spec.label,
            submitted=event.status == TechnicalRequestStatus.SUBMITTED,
            note=event.comment if event.status != TechnicalRequestStatus.SUBMITTED else None,
            summary=_summary(request, spec),
            customer_service=service,
            filed_on=paris_date(request.submitted_at),
        ),
        now=now,
    )


# -- the workflow ------------------------------------------------------------------------------


async def _move(
    session: AsyncSession,
    settings: Settings,
    request: TechnicalRequest,
    step: Step,
    *,
    actor_user_id: int,
    by_customer: bool,
    now: datetime,
    client_address: str | None,
    customer_absent: bool = False,
) -> None:
    before = TechnicalRequestStatus(request.status)
    check_transition(before, step.to, by_customer=by_customer)
    distributor = Distributor((request.details or {}).get("distributor", "ENEDIS"))
    refusals = check_step(
        step,
        distributor,
        TechnicalRequestType(request.request_type),
        customer_absent=customer_absent,
    )
    if refusals:
        raise Refusals(refusals)
    note = clean_note(step.note, required=False)
    details = dict(request.details or {})
    if step.to is TechnicalRequestStatus.FORWARDED:
        request.distributor_case_number = (step.case_number or "").strip().upper()
    if step.to is TechnicalRequestStatus.SCHEDULED:
        request.appointment_at = step.appointment_at
        details.setdefault("scheduled_on", paris_date(now).isoformat())
    if step.to is TechnicalRequestStatus.DONE:
        done_at = step.effective_at or request.appointment_at or now
        spec = CATALOGUE[TechnicalRequestType(request.request_type)]
        scheduled = details.get("scheduled_on")
        fee = intervention_fee(
            spec,
            scheduled_on=date.fromisoformat(scheduled) if scheduled else None,
            done_on=paris_date(done_at),
            customer_absent=customer_absent,
        )
        details |= {
            "done_on": paris_date(done_at).isoformat(),
            "customer_absent": customer_absent,
            "fee_excl_vat": str(fee) if fee is not None else None,
        }
        if step.commissioning_index is not None:
            details["commissioning_index"] = step.commissioning_index
    request.details = details
    request.status = step.to
    request.updated_at = now
    event = TechnicalRequestEvent(
        request_id=persisted_id(request),
        status=step.to,
        occurred_at=now,
        actor_user_id=actor_user_id,
        comment=note,
    )
    session.add_all([request, event])
    await session.flush()
    assert request.id is not None
    audit.record(
        session,
        actor_user_id=actor_user_id,
        action=f"technical_request.{step.to.value.lower()}",
        object_type="TechnicalRequest",
        object_id=request.id,
        now=now,
        client_address=client_address,
        details={"before": before.value, "after": step.to.value, "note": note},
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


async def advance_technical_request(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    request_id: int,
    step: Step,
    customer_absent: bool = False,
    now: datetime,
    client_address: str | None,
) -> Any:
    """The back office moves a request one step (any request: OPERATOR holds no perimeter,
    the field's permission admits OPERATOR only)."""
    async with transaction(sessions) as session:
        request = (
            await session.exec(
                select(TechnicalRequest)
                .where(col(TechnicalRequest.id) == request_id)
                .with_for_update()
            )
        ).first()
        if request is None:
            raise not_found("requestId")
        await _move(
            session,
            settings,
            request,
            step,
            actor_user_id=caller.user_id,
            by_customer=False,
            now=now,
            client_address=client_address,
            customer_absent=customer_absent,
        )
        return await _row_of(session, request_id)


async def abandon_technical_request(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    request_id: int,
    reason: str,
    now: datetime,
    client_address: str | None,
) -> Any:
    """The customer cancels a request the distributor does not have yet (SUBMITTED)."""
    require_writing_credential(caller)
    async with transaction(sessions) as session:
        request: TechnicalRequest = await object_to_change(
            session,
            scoped_technical_requests,
            TechnicalRequest.id,
            request_id,
            perimeter=caller.perimeter,
            write_perimeter=caller.write_perimeter,
            field="requestId",
            forbidden=READ_ONLY_REQUEST,
        )
        await _move(
            session,
            settings,
            request,
            Step(TechnicalRequestStatus.ABANDONED, note=reason),
            actor_user_id=caller.user_id,
            by_customer=True,
            now=now,
            client_address=client_address,
        )
        return await _row_of(session, request_id)


# -- attachments ------------------------------------------------------------------------------


async def attach_file(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    request_id: int,
    filename: str | None,
    content: bytes,
    now: datetime,
    client_address: str | None,
) -> Any:
    """Joins a file (the signed service order) to a request of the caller's write perimeter:
    `content` holds at most `max_attachment_bytes + 1` bytes (one more tells it is too big);
    PDF, PNG or JPEG by their first bytes. Stored under files_dir/attachments/<random>/ with
    its SHA-256; a refused upload or a failed transaction leaves no file. Answers the
    request's row."""
    require_writing_credential(caller)
    stored: list[StoredFile] = []
    try:
        async with transaction(sessions) as session:
            request: TechnicalRequest = await object_to_change(
                session,
                scoped_technical_requests,
                TechnicalRequest.id,
                request_id,
                perimeter=caller.perimeter,
                write_perimeter=caller.write_perimeter,
                field="technicalRequestId",
                forbidden=READ_ONLY_ATTACHMENT,
            )
            upload = store_attachment(settings, filename, content)
            stored.append(upload)
            attachment = TechnicalRequestAttachment(
                request_id=persisted_id(request),
                filename=upload.filename,
                content_type=upload.content_type,
                size_bytes=upload.size_bytes,
                sha256=upload.sha256,
                storage_key=upload.key,
                uploaded_by_user_id=caller.user_id,
                created_at=now,
            )
            session.add(attachment)
            await session.flush()
            audit.record(
                session,
                actor_user_id=caller.user_id,
                action="technical_request.attach",
                object_type="TechnicalRequest",
                object_id=request_id,
                now=now,
                client_address=client_address,
                details={
                    "filename": upload.filename,
                    "sha256": upload.sha256,
                    "size": upload.size_bytes,
                },
            )
            return await _row_of(session, request_id)
    except BaseException:
        discard_all(stored)
        raise


# -- reading -----------------------------------------------------------------------------------


def _joined() -> Any:
    return (
        REQUESTS.outerjoin(SITES, SITES.c.id == REQUESTS.c.site_id)
        .join(MEMBERS, MEMBERS.c.id == REQUESTS.c.member_id)
        .outerjoin(_AUTHOR, _AUTHOR.c.id == REQUESTS.c.submitted_by_user_id)
    )


async def _row_of(session: AsyncSession, request_id: int) -> Any:
    """A request's row after a change the caller was allowed to make (no second scope)."""
    statement = sa.select(*ROW_COLUMNS).select_from(_joined()).where(REQUESTS.c.id == request_id)
    return (await core(session, statement)).one()


class TechnicalRequestOrder(StrEnum):
    SUBMITTED_AT_DESC = "SUBMITTED_AT_DESC"
    SUBMITTED_AT_ASC = "SUBMITTED_AT_ASC"
    REFERENCE_ASC = "REFERENCE_ASC"
    REFERENCE_DESC = "REFERENCE_DESC"
    MEMBER_ASC = "MEMBER_ASC"
    MEMBER_DESC = "MEMBER_DESC"
    POINT_NUMBER_ASC = "POINT_NUMBER_ASC"
    STATUS_ASC = "STATUS_ASC"
    TYPE_ASC = "TYPE_ASC"


# The workflow's order (submitted first, closed last) and the types' labels in alphabetical
# order: a list sorted "by status" or "by type" follows what the screen shows, not the codes.
_STATUS_RANK = {status: rank for rank, status in enumerate(TechnicalRequestStatus)}
_TYPE_RANK = {
    code: rank
    for rank, code in enumerate(sorted(CATALOGUE, key=lambda c: (CATALOGUE[c].label, c.value)))
}


@dataclass(frozen=True, slots=True)
class _Sort:
    """One ordering of the list: the sort key (then the id), its direction, and how a cursor's
    value is read back (an ISO instant, a text or a rank)."""

    key: Any
    descending: bool
    kind: type


def _sort_of(order: TechnicalRequestOrder) -> _Sort:
    o = TechnicalRequestOrder
    submitted, reference = REQUESTS.c.submitted_at, REQUESTS.c.reference
    sorts = {
        o.SUBMITTED_AT_DESC: _Sort(submitted, True, datetime),
        o.SUBMITTED_AT_ASC: _Sort(submitted, False, datetime),
        o.REFERENCE_ASC: _Sort(reference, False, str),
        o.REFERENCE_DESC: _Sort(reference, True, str),
        o.MEMBER_ASC: _Sort(MEMBERS.c.legal_name, False, str),
        o.MEMBER_DESC: _Sort(MEMBERS.c.legal_name, True, str),
        # A request adding a site may have no point yet: it sorts first, as an empty text.
        o.POINT_NUMBER_ASC: _Sort(sa.func.coalesce(REQUESTS.c.point_number, ""), False, str),
        o.STATUS_ASC: _Sort(
            sa.case({s.value: rank for s, rank in _STATUS_RANK.items()}, value=REQUESTS.c.status),
            False,
            int,
        ),
        o.TYPE_ASC: _Sort(
            sa.case(
                {t.value: rank for t, rank in _TYPE_RANK.items()}, value=REQUESTS.c.request_type
            ),
            False,
            int,
        ),
    }
    return sorts[order]


def _sort_value(order: TechnicalRequestOrder, row: Any) -> Any:
    """The cursor's first value for a row, as `_sort_of(order).key` computes it in SQL."""
    o = TechnicalRequestOrder
    if order in (o.SUBMITTED_AT_DESC, o.SUBMITTED_AT_ASC):
        return row.submitted_at.isoformat()
    if order in (o.REFERENCE_ASC, o.REFERENCE_DESC):
        return row.reference
    if order in (o.MEMBER_ASC, o.MEMBER_DESC):
        return row.member_legal_name
    if order is o.POINT_NUMBER_ASC:
        return row.point_number or ""
    if order is o.STATUS_ASC:
        return _STATUS_RANK[TechnicalRequestStatus(row.status)]
    return _TYPE_RANK[TechnicalRequestType(row.request_type)]


@dataclass(frozen=True, slots=True)
class TechnicalRequestQuery:
    statuses: tuple[TechnicalRequestStatus, ...] = ()
    types: tuple[TechnicalRequestType, ...] = ()
    site_id: int | None = None
    member_ids: tuple[int, ...] | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None
    reference: str | None = None
    # True: only the requests past their step's due date on `today`; False: only the others.
    overdue: bool | None = None
    today: date | None = None


def overdue_condition(today: date) -> Any:
    """`due_dates(row, today)[1]` as one SQL condition (true or false, never NULL): a submitted
    request not forwarded within 2 working days, a scheduled express commissioning not done
    within its window. Each deadline is "started on or before a bound day", so the working-day
    calendar is applied once here, not per row."""
    forwarded_by = latest_start_overdue_on(today, FORWARDING_WORKING_DAYS)
    late = [
        sa.and_(
            REQUESTS.c.status == TechnicalRequestStatus.SUBMITTED.value,
            REQUESTS.c.submitted_at < paris_midnight(forwarded_by + timedelta(days=1)),
        )
    ]
    windows: dict[int, list[str]] = defaultdict(list)
    for code, spec in CATALOGUE.items():
        if spec.fees.express_within_working_days is not None:
            windows[spec.fees.express_within_working_days].append(code.value)
    for window, codes in sorted(windows.items()):
        late.append(
            sa.and_(
                REQUESTS.c.status == TechnicalRequestStatus.SCHEDULED.value,
                REQUESTS.c.request_type.in_(sorted(codes)),
                REQUESTS.c.details["scheduled_on"].as_string()
                <= latest_start_overdue_on(today, window).isoformat(),
            )
        )
    return sa.case((sa.or_(*late), True), else_=False)


def _scoped(perimeter: Perimeter, query: TechnicalRequestQuery, *columns: Any) -> Any:
    if query.submitted_from and query.submitted_to and query.submitted_to < query.submitted_from:
        raise Refusal(
            ErrorCode.INVALID, "La fin de la période précède son début.", field="submittedTo"
        )
    statement = scoped_technical_requests(perimeter, *columns).select_from(_joined())
    where: list[Any] = []
    if query.statuses:
        where.append(REQUESTS.c.status.in_(sorted(s.value for s in query.statuses)))
    if query.types:
        where.append(REQUESTS.c.request_type.in_(sorted(t.value for t in query.types)))
    if query.site_id is not None:
        where.append(REQUESTS.c.site_id == query.site_id)
    if query.member_ids is not None:
        where.append(REQUESTS.c.member_id.in_(sorted(set(query.member_ids))))
    # Days are Paris days: the bounds are the Paris midnights, as instants.
    if query.submitted_from is not None:
        where.append(REQUESTS.c.submitted_at >= paris_midnight(query.submitted_from))
    if query.submitted_to is not None:
        where.append(
            REQUESTS.c.submitted_at
            < paris_midnight(date.fromordinal(query.submitted_to.toordinal() + 1))
        )
    if query.reference is not None:
        where.append(REQUESTS.c.reference == query.reference)
    if query.overdue is not None:
        if query.today is None:
            raise ValueError("an overdue filter needs the day it is judged on")
        where.append(overdue_condition(query.today) == (sa.true() if query.overdue else sa.false()))
    return statement.where(*where)


def paris_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS)


def decode_keyset(
    after: list[Any], order: TechnicalRequestOrder = TechnicalRequestOrder.SUBMITTED_AT_DESC
) -> tuple[Any, int]:
    """A request list's cursor: (sort value, id) of the order it was issued for; INVALID for
    anything else."""
    kind = _sort_of(order).kind
    invalid = Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after")
    if len(after) != 2 or not isinstance(after[1], int) or isinstance(after[1], bool):
        raise invalid
    value = after[0]
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise invalid
        return value, after[1]
    if not isinstance(value, str):
        raise invalid
    if kind is str:
        return value, after[1]
    try:
        return datetime.fromisoformat(value), after[1]
    except ValueError:
        raise invalid from None


def request_rows(
    perimeter: Perimeter, query: TechnicalRequestQuery = TechnicalRequestQuery()
) -> Any:
    return _scoped(perimeter, query, *ROW_COLUMNS)


async def list_technical_requests(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    query: TechnicalRequestQuery,
    *,
    order: TechnicalRequestOrder,
    first: int,
    after: list[Any] | None,
    with_count: bool,
) -> RowPage:
    cursor = decode_keyset(after, order) if after is not None else None
    if perimeter.is_empty:
        return EMPTY_PAGE
    sort = _sort_of(order)
    page = keyset_page(
        request_rows(perimeter, query),
        sort.key,
        REQUESTS.c.id,
        descending=sort.descending,
        first=first,
        after=cursor,
    )
    count = _scoped(perimeter, query, sa.func.count(REQUESTS.c.id)) if with_count else None
    return await fetch_page(
        sessions, page, count, first=first, cursor_of=lambda r: [_sort_value(order, r), r.id]
    )


async def load_technical_requests(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, ids: Sequence[int | None]
) -> list[Any | None]:
    if perimeter.is_empty:
        return [None] * len(ids)
    return await rows_by_id(sessions, request_rows(perimeter), REQUESTS.c.id, ids)


async def technical_request_by_reference(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, reference: str
) -> Any | None:
    if perimeter.is_empty or len(reference) > 20:
        return None
    async with sessions() as session:
        return (
            await core(
                session, request_rows(perimeter, TechnicalRequestQuery(reference=reference.strip()))
            )
        ).first()


async def events_of_requests(
    sessions: async_sessionmaker[AsyncSession], request_ids: Sequence[int]
) -> list[list[Any]]:
    """Each request's events, oldest first, with the actor's name: one statement. The ids come
    from rows already read inside the perimeter."""
    return await step_events(sessions, EVENTS, request_ids)


async def step_events(
    sessions: async_sessionmaker[AsyncSession], events: sa.Table, request_ids: Sequence[int]
) -> list[list[Any]]:
    """Each request's rows of `events` (a request kind's status history: `request_id`,
    `occurred_at`, `actor_user_id`), oldest first, with the actor's name, in one statement."""
    wanted = sorted(set(request_ids))
    by_request: dict[int, list[Any]] = defaultdict(list)
    if wanted:
        statement = (
            sa.select(*events.c, _ACTOR.c.full_name.label("actor_name"))
            .select_from(events.outerjoin(_ACTOR, _ACTOR.c.id == events.c.actor_user_id))
            .where(events.c.request_id.in_(wanted))
            .order_by(events.c.occurred_at, events.c.id)
        )
        async with sessions() as session:
            for row in await core_rows(session, statement):
                by_request[row.request_id].append(row)
    return [by_request.get(i, []) for i in request_ids]


async def attachments_of_requests(
    sessions: async_sessionmaker[AsyncSession],
    request_ids: Sequence[int],
    attachments: sa.Table = ATTACHMENTS,
) -> list[list[Any]]:
    """Each request's attachments (rows of `attachments`, a request kind's files keyed by
    `request_id`), in upload order: one statement (ids read in the perimeter)."""
    wanted = sorted(set(request_ids))
    by_request: dict[int, list[Any]] = defaultdict(list)
    if wanted:
        statement = (
            sa.select(*attachments.c)
            .where(attachments.c.request_id.in_(wanted))
            .order_by(attachments.c.created_at, attachments.c.id)
        )
        async with sessions() as session:
            for row in await core_rows(session, statement):
                by_request[row.request_id].append(row)
    return [by_request.get(i, []) for i in request_ids]


def due_dates(row: Any, today: date) -> tuple[date | None, bool]:
    """When the request must have moved next, and whether that day has passed: forwarded
    within 2 working days of submission; an express commissioning done within 2 working days
    once scheduled."""
    details = row.details or {}
    status = TechnicalRequestStatus(row.status)
    due: date | None = None
    if status is TechnicalRequestStatus.SUBMITTED:
        due = add_working_days(paris_date(row.submitted_at), FORWARDING_WORKING_DAYS)
    elif status is TechnicalRequestStatus.SCHEDULED:
        spec = CATALOGUE[TechnicalRequestType(row.request_type)]
        window = spec.fees.express_within_working_days
        scheduled = details.get("scheduled_on")
        if window is not None and scheduled:
            due = add_working_days(date.fromisoformat(scheduled), window)
    return due, due is not None and today > due


# -- the export --------------------------------------------------------------------------------

TYPE_LABELS = {code: spec.label for code, spec in CATALOGUE.items()}


def _export_columns() -> tuple[Column, ...]:
    t, day, label, ident = ColumnKind.TEXT, ColumnKind.DATE, ColumnKind.LABEL, ColumnKind.IDENTIFIER
    return (
        Column("Référence", ident, 16),
        Column("Type", label, 36, TYPE_LABELS),
        Column("Déposée le", day),
        Column("Raison sociale", t, 36),
        Column("PRM / PCE", ident, 16),
        Column("Rendez-vous", day),
        Column("État", label, 26, STATUS_LABELS),
        Column("Auteur", t, 24),
        Column("N° d'affaire distributeur", ident, 18),
        Column("Échéance", day),
        Column("En retard", ColumnKind.BOOLEAN),
    )


def _export_row(r: Any, today: date) -> tuple[Any, ...]:
    due, overdue = due_dates(r, today)
    return (
        r.reference,
        TechnicalRequestType(r.request_type),
        paris_date(r.submitted_at),
        r.member_legal_name,
        r.point_number,
        paris_date(r.appointment_at) if r.appointment_at else None,
        TechnicalRequestStatus(r.status),
        r.author_name,
        r.distributor_case_number,
        due,
        overdue,
    )


async def technical_requests_table(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    query: TechnicalRequestQuery,
    *,
    today: date,
) -> Table:
    """The filter's requests as the tracking list's table (newest first), for the one export
    writer, streamed in batches. Like every export, a filter naming a site or member outside
    the perimeter is refused as NOT_FOUND (no empty file for a foreign ID)."""
    async with sessions() as session:
        await check_filter_scope(
            session,
            perimeter,
            SiteCriteria(member_ids=query.member_ids or ()),
            site_id=query.site_id,
        )
    statement = request_rows(perimeter, query).order_by(
        REQUESTS.c.submitted_at.desc(), REQUESTS.c.id.desc()
    )

    async def chunks() -> AsyncIterator[list[tuple[Any, ...]]]:
        if perimeter.is_empty:
            return
        async for chunk in streamed_rows(sessions, statement, lambda r: _export_row(r, today)):
            yield chunk

    return Table("demandes-techniques", "Demandes techniques", _export_columns(), chunks())
