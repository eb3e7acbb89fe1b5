"""One function per mail: what each one says, to whom, and under which idempotency key.

Each `queue_*` adds the mail to the caller's transaction (see `mailers.outbox`); the worker
composes and sends it after commit with `build_message`. No mail ever carries a password:
access is given by a single-use link that expires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings
from db.types import utcnow
from domain.enums import BillingFrequency, Energy, InvoiceDelivery, PaymentMethod, Segment
from domain.labels import (
    BILLING_FREQUENCY_LABELS,
    ENERGY_LABELS,
    INVOICE_DELIVERY_LABELS,
    PAYMENT_METHOD_LABELS,
)
from mailers.attachments import (
    COLLECTION_FILENAME,
    PDF_CONTENT_TYPE,
    SITES_FILENAME,
    XLSX_CONTENT_TYPE,
    collection_xlsx,
    switched_sites_xlsx,
    technical_request_summary_pdf,
)
from mailers.contacts import CustomerService, customer_service_of
from mailers.outbox import enqueue_mail, message_id, to_json
from mailers.rendering import french_duration, render_bodies

# The defaults of those settings, for callers without settings at hand (tests, scripts).
DEFAULT_CUSTOMER_SERVICE = customer_service_of(Settings.model_construct())


@dataclass(frozen=True, slots=True)
class Guide:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class WelcomeAccount:
    """A billing account and the services chosen for it."""

    number: str
    invoice_label: str
    energy: Energy
    multi_site: bool
    payment_method: PaymentMethod
    billing_frequency: BillingFrequency
    invoice_delivery: InvoiceDelivery
    green_share_pct: Decimal | int | None = None


@dataclass(frozen=True, slots=True)
class WelcomeSite:
    point_number: str
    energy: Energy
    segment: Segment
    address: str
    postcode: str
    city: str
    internal_code: str | None
    designation: str | None
    billing_account_number: str
    supply_start: date


@dataclass(frozen=True, slots=True)
class WelcomePack:
    """Everything the welcome pack says to one person of a member after the switch."""

    member_id: int
    member_legal_name: str
    email: str
    full_name: str
    # An activation link for an invited person; for one already active, the login page and
    # no expiry.
    activation_url: str
    activation_expires_at: datetime | None
    customer_service: CustomerService = DEFAULT_CUSTOMER_SERVICE
    guides: list[Guide] = field(default_factory=list)
    accounts: list[WelcomeAccount] = field(default_factory=list)
    sites: list[WelcomeSite] = field(default_factory=list)


def _validity(expires_at: datetime) -> str:
    # Stated from the expiry itself, so the text and the link never disagree.
    return french_duration(max((expires_at - utcnow()).total_seconds(), 60))


def _common(customer_service: CustomerService) -> dict[str, Any]:
    return {"supplier_name": customer_service.supplier_name, "customer_service": customer_service}


def _green_share(value: Decimal | int | None) -> str:
    if value is None:
        return "—"
    share = Decimal(value).normalize()
    return f"{share:f} %".replace(".", ",")


async def queue_activation(
    session: AsyncSession,
    *,
    email: str,
    full_name: str,
    activation_url: str,
    expires_at: datetime,
    token_id: int,
    customer_service: CustomerService = DEFAULT_CUSTOMER_SERVICE,
) -> bool:
    return await enqueue_mail(
        session,
        template="activation",
        recipients=[email],
        context={
            **_common(customer_service),
            "full_name": full_name,
            "email": email,
            "activation_url": activation_url,
            "expires_at": expires_at,
            "valid_for": _validity(expires_at),
        },
        idempotency_key=f"activation:{token_id}",
    )


async def queue_activation_confirmation(
    session: AsyncSession,
    *,
    email: str,
    full_name: str,
    user_id: int,
    customer_service: CustomerService = DEFAULT_CUSTOMER_SERVICE,
) -> bool:
    return await enqueue_mail(
        session,
        template="activation_confirmation",
        recipients=[email],
        context={**_common(customer_service), "full_name": full_name, "email": email},
        idempotency_key=f"activation-confirmation:{user_id}",
    )


async def queue_password_reset(
    session: AsyncSession,
    *,
    email: str,
    full_name: str,
    reset_url: str,
    expires_at: datetime,
    token_id: int,
    customer_service: CustomerService = DEFAULT_CUSTOMER_SERVICE,
) -> bool:
    return await enqueue_mail(
        session,
        template="password_reset",
        recipients=[email],
        context={
            **_common(customer_service),
            "full_name": full_name,
            "email": email,
            "reset_url": reset_url,
            "expires_at": expires_at,
            "valid_for": _validity(expires_at),
        },
        idempotency_key=f"password-reset:{token_id}",
    )


def welcome_pack_key(member_id: int, email: str) -> str:
    """One pack per member and person, however often it is sent."""
    return f"welcome-pack:{member_id}:{email}"


async def queue_welcome_pack(session: AsyncSession, *, pack: WelcomePack) -> bool:
    # Labels are resolved now: the row then holds what the person reads, and the worker
    # needs no domain knowledge to render it.
    accounts = [
        {
            "number": a.number,
            "invoice_label": a.invoice_label,
            "energy": ENERGY_LABELS[a.energy],
            "invoice_type": "Multisite" if a.multi_site else "Monosite",
            "payment_method": PAYMENT_METHOD_LABELS[a.payment_method],
            "billing_frequency": BILLING_FREQUENCY_LABELS[a.billing_frequency],
            "invoice_delivery": INVOICE_DELIVERY_LABELS[a.invoice_delivery],
            "green_share": _green_share(a.green_share_pct),
        }
        for a in pack.accounts
    ]
    sites = [
        {
            "point_number": s.point_number,
            "energy": ENERGY_LABELS[s.energy],
            "segment": s.segment.value,
            "address": s.address,
            "postcode": s.postcode,
            "city": s.city,
            "internal_code": s.internal_code,
            "designation": s.designation,
            "billing_account_number": s.billing_account_number,
            "supply_start": s.supply_start,
        }
        for s in pack.sites
    ]
    return await enqueue_mail(
        session,
        template="welcome_pack",
        recipients=[pack.email],
        context={
            **_common(pack.customer_service),
            "member_legal_name": pack.member_legal_name,
            "full_name": pack.full_name,
            "email": pack.email,
            "activation_url": pack.activation_url,
            "expires_at": pack.activation_expires_at,
            "valid_for": (
                _validity(pack.activation_expires_at) if pack.activation_expires_at else None
            ),
            "guides": pack.guides,
            "accounts": accounts,
            "sites": sites,
            "attachment_name": SITES_FILENAME,
        },
        idempotency_key=welcome_pack_key(pack.member_id, pack.email),
    )


# template → builder of (file name, (maintype, subtype), bytes) attached at send time
Attachment = tuple[str, tuple[str, str], bytes]


def _no_attachments(context: dict[str, Any]) -> list[Attachment]:
    return []


# RFC 5322 allows header lines up to 998 characters: folding at 78 would turn a long
# List-Unsubscribe URL (no space to fold at) into an RFC 2047 encoded word that mail clients
# cannot follow.
MAIL_POLICY = SMTP.clone(max_line_length=998)


def _technical_request_attachments(context: dict[str, Any]) -> list[Attachment]:
    """The confirmation carries the summary as a PDF; the later step mails do not. Mails queued
    before the summary existed (no `filed_on`) go without it."""
    if not context.get("submitted") or not context.get("filed_on"):
        return []
    filename, data = technical_request_summary_pdf(context)
    return [(filename, PDF_CONTENT_TYPE, data)]


ATTACHMENTS: dict[str, Callable[[dict[str, Any]], list[Attachment]]] = {
    "welcome_pack": lambda context: [
        (SITES_FILENAME, XLSX_CONTENT_TYPE, switched_sites_xlsx(context["sites"]))
    ],
    "technical_request": _technical_request_attachments,
    "collection_validated": lambda context: [
        (COLLECTION_FILENAME, XLSX_CONTENT_TYPE, collection_xlsx(context["sites"]))
    ],
}


def build_message(
    *,
    idempotency_key: str,
    template: str,
    recipients: list[str],
    subject: str,
    context: dict[str, Any],
    sender: str,
    now: datetime | None = None,
) -> EmailMessage:
    """The complete message: text and HTML alternatives, then attachments (mixed)."""
    context = to_json(context)
    text, html = render_bodies(template, context)
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = format_datetime(now or utcnow())
    message["Message-ID"] = message_id(idempotency_key)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    if unsubscribe_url := context.get("unsubscribe_url"):
        # RFC 8058: mail clients show an "unsubscribe" button that POSTs to the link.
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    for filename, (maintype, subtype), data in ATTACHMENTS.get(template, _no_attachments)(context):
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


@dataclass(frozen=True, slots=True)
class SelfReadingIndex:
    """One register of a self-reading, as the answer and the readings list show it."""

    register: str  # the register's French label (e.g. "Heures pleines")
    index: int
    consumption: int | None  # since `since`, in the meter's units (None: no reference)
    unit: str = "kWh"  # the unit of the index: m³ on a gas meter
    consumption_kwh: int | None = None
    since: date | None = None  # the reading the consumption is measured from


@dataclass(frozen=True, slots=True)
class SelfReadingConfirmation:
    """What the confirmation of a self-reading says: the site, the indexes, the billing cycle."""

    reading_key: str  # unique per stored self-reading: the mail's idempotency key
    full_name: str
    recipients: list[str]  # the person, then the copy-to address if any
    point_number: str
    site_label: str  # designation, internal code or address: how the customer names the site
    address: str
    meter_serial: str
    read_on: date
    received_at: datetime
    indexes: list[SelfReadingIndex]
    counts_in_next_billing_cycle: bool
    cutoff_day: int
    customer_service: CustomerService = DEFAULT_CUSTOMER_SERVICE


async def queue_self_reading_confirmation(
    session: AsyncSession, *, confirmation: SelfReadingConfirmation
) -> bool:
    return await enqueue_mail(
        session,
        template="self_reading_confirmation",
        recipients=confirmation.recipients,
        context={
            **_common(confirmation.customer_service),
            "full_name": confirmation.full_name,
            "point_number": confirmation.point_number,
            "site_label": confirmation.site_label,
            "address": confirmation.address,
            "meter_serial": confirmation.meter_serial,
            "read_on": confirmation.read_on,
            "received_at": confirmation.received_at,
            "indexes": [
                {
                    "register": i.register,
                    "index": i.index,
                    "unit": i.unit,
                    "consumption": i.consumption,
                    "consumption_kwh": i.consumption_kwh,
                    "since": i.since,
                }
                for i in confirmation.indexes
            ],
            "counts_in_next_billing_cycle": confirmation.counts_in_next_billing_cycle,
            "cutoff_day": confirmation.cutoff_day,
        },
        idempotency_key=f"self-reading:{confirmation.reading_key}",
    )


@dataclass(frozen=True, slots=True)
class AlertItem:
    """One alert as a mail tells it: what, where, since when, and where to look."""

    alert_id: int
    kind_label: str
    message: str
    detected_on: date
    point_number: str
    site_label: str  # designation, internal code or address: how the customer names the site
    address: str
    url: str  # the alert in the customer space


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """A one-click link turning off the mails of the kinds named."""

    label: str
    url: str


def alert_mail_key(user_id: int, alert_id: int) -> str:
    return f"alert:{user_id}:{alert_id}"


def alert_digest_key(user_id: int, day: date) -> str:
    return f"alert-digest:{user_id}:{day.isoformat()}"


async def queue_alert(
    session: AsyncSession,
    *,
    user_id: int,
    email: str,
    full_name: str,
    alert: AlertItem,
    unsubscribe: Unsubscribe,
    customer_service: CustomerService = DEFAULT_CUSTOMER_SERVICE,
    now: datetime | None = None,
) -> bool:
    """The mail of one new alert to one person (IMMEDIATE delivery)."""
    return await enqueue_mail(
        session,
        template="alert",
        recipients=[email],
        context={
            **_common(customer_service),
            "full_name": full_name,
            "alert": alert,
            "unsubscribe": unsubscribe,
            "unsubscribe_url": unsubscribe.url,
        },
        idempotency_key=alert_mail_key(user_id, alert.alert_id),
        now=now,
    )


async def queue_alert_digest(
    session: AsyncSession,
    *,
    user_id: int,
    email: str,
    full_name: str,
    day: date,
    alerts: list[AlertItem],
    total: int,
    alerts_url: str,
    unsubscribe: Unsubscribe,
    unsubscribe_each: list[Unsubscribe],
    customer_service: CustomerService = DEFAULT_CUSTOMER_SERVICE,
    now: datetime | None = None,
) -> bool:
    """One person's daily digest: the new alerts of their perimeter (the first `alerts` of
    `total`), a link per kind to stop that kind, one link (the header's) to stop them all."""
    return await enqueue_mail(
        session,
        template="alert_digest",
        recipients=[email],
        context={
            **_common(customer_service),
            "full_name": full_name,
            "day": day,
            "alerts": alerts,
            "total": total,
            "more": total - len(alerts),
            "alerts_url": alerts_url,
            "unsubscribe": unsubscribe,
            "unsubscribe_each": unsubscribe_each,
            "unsubscribe_url": unsubscribe.url,
        },
        idempotency_key=alert_digest_key(user_id, day),
        now=now,
    )


@dataclass(frozen=True, slots=True)
class TechnicalRequestMail:
    """A technical request as its author's mail tells it: the confirmation with its summary at
    submission, then one mail per step of the workflow (`event_id` keys each one)."""

    request_id: int
    event_id: int
    reference: str
    full_name: str
    email: str
    status_label: str
    type_label: str
    submitted: bool  # the first event: the confirmation with the whole summary
    note: str | None
    # (label, value) lines of the summary, in the form's order
    summary: list[tuple[str, str]]
    customer_service: CustomerService = DEFAULT_CUSTOMER_SERVICE
    filed_on: date | None = None  # the day it was submitted: the summary PDF prints it


async def queue_technical_request_mail(
    session: AsyncSession, *, mail: TechnicalRequestMail, now: datetime | None = None
) -> bool:
    return await enqueue_mail(
        session,
        template="technical_request",
        recipients=[mail.email],
        context={**_request_context(mail), "filed_on": mail.filed_on},
        idempotency_key=f"technical-request:{mail.request_id}:{mail.event_id}",
        now=now,
    )


def _request_context(
    mail: TechnicalRequestMail | SelfCareRequestMail | InvoiceDisputeMail,
) -> dict[str, Any]:
    """What a request's step mail tells, technical or self-care."""
    return {
        **_common(mail.customer_service),
        "full_name": mail.full_name,
        "reference": mail.reference,
        "status_label": mail.status_label,
        "type_label": mail.type_label,
        "submitted": mail.submitted,
        "note": mail.note,
        "summary": [{"label": label, "value": value} for label, value in mail.summary],
    }


@dataclass(frozen=True, slots=True)
class SelfCareRequestMail:
    """A self-care request as its author's mail tells it, at submission and at each step
    (`event_id` keys each one). The member's legal name is read when the mail is queued: after
    an approved change of name, this very mail already carries the new one."""

    request_id: int
    event_id: int
    reference: str
    full_name: str
    email: str
    member_legal_name: str
    status_label: str
    type_label: str
    submitted: bool
    note: str | None
    summary: list[tuple[str, str]]
    customer_service: CustomerService = DEFAULT_CUSTOMER_SERVICE


async def queue_self_care_request_mail(
    session: AsyncSession, *, mail: SelfCareRequestMail, now: datetime | None = None
) -> bool:
    return await enqueue_mail(
        session,
        template="self_care_request",
        recipients=[mail.email],
        context={**_request_context(mail), "member_legal_name": mail.member_legal_name},
        idempotency_key=f"self-care-request:{mail.request_id}:{mail.event_id}",
        now=now,
    )


@dataclass(frozen=True, slots=True)
class InvoiceDisputeMail:
    """An invoice dispute as its author's mail tells it: the confirmation with the reference,
    the promised day and the summary, then one mail per step (`event_id` keys each one)."""

    dispute_id: int
    event_id: int
    reference: str
    full_name: str
    email: str
    invoice_number: str
    status_label: str
    type_label: str  # the reason
    submitted: bool
    note: str | None
    summary: list[tuple[str, str]]
    customer_service: CustomerService = DEFAULT_CUSTOMER_SERVICE


async def queue_invoice_dispute_mail(
    session: AsyncSession, *, mail: InvoiceDisputeMail, now: datetime | None = None
) -> bool:
    return await enqueue_mail(
        session,
        template="invoice_dispute",
        recipients=[mail.email],
        context={**_request_context(mail), "invoice_number": mail.invoice_number},
        idempotency_key=f"invoice-dispute:{mail.dispute_id}:{mail.event_id}",
        now=now,
    )


@dataclass(frozen=True, slots=True)
class CollectionValidatedMail:
    """A validated collection journey, told to the person who validated it (and the member's
    main contact): a summary, and everything collected as XLSX (`sites`: one row per site,
    French labels already resolved)."""

    journey_id: int
    version: int
    email: str
    full_name: str
    member_legal_name: str
    campaign_name: str
    validated_on: date
    supply_start: date
    summary: list[tuple[str, str]]
    lots: list[dict[str, Any]]
    sites: list[dict[str, Any]]
    customer_service: CustomerService = DEFAULT_CUSTOMER_SERVICE


async def queue_collection_validated(
    session: AsyncSession, *, mail: CollectionValidatedMail, now: datetime | None = None
) -> bool:
    return await enqueue_mail(
        session,
        template="collection_validated",
        recipients=[mail.email],
        context={
            **_common(mail.customer_service),
            "full_name": mail.full_name,
            "member_legal_name": mail.member_legal_name,
            "campaign_name": mail.campaign_name,
            "validated_on": f"{mail.validated_on:%d/%m/%Y}",
            "supply_start": f"{mail.supply_start:%d/%m/%Y}",
            "summary": [{"label": label, "value": value} for label, value in mail.summary],
            "lots": mail.lots,
            "sites": mail.sites,
            "attachment_name": COLLECTION_FILENAME,
        },
        # One mail per validation: a journey unlocked and validated again mails again.
        idempotency_key=f"collection-validated:{mail.journey_id}:{mail.version}:{mail.email}",
        now=now,
    )


def collection_reminder_key(email: str, day: date) -> str:
    """Never twice the same day to a person, whichever campaign or caller reminds."""
    return f"collection-reminder:{day.isoformat()}:{email}"


@dataclass(frozen=True, slots=True)
class CollectionReminder:
    email: str
    full_name: str
    member_legal_name: str
    campaign_name: str
    closes_on: date
    steps_done: int
    defaults: str
    journey_url: str
    day: date
    customer_service: CustomerService = DEFAULT_CUSTOMER_SERVICE


async def queue_collection_reminder(
    session: AsyncSession, *, reminder: CollectionReminder, now: datetime | None = None
) -> bool:
    """False when this person was already reminded that day."""
    return await enqueue_mail(
        session,
        template="collection_reminder",
        recipients=[reminder.email],
        context={
            **_common(reminder.customer_service),
            "full_name": reminder.full_name,
            "member_legal_name": reminder.member_legal_name,
            "campaign_name": reminder.campaign_name,
            "closes_on": f"{reminder.closes_on:%d/%m/%Y}",
            "steps_done": reminder.steps_done,
            "defaults": reminder.defaults,
            "journey_url": reminder.journey_url,
        },
        idempotency_key=collection_reminder_key(reminder.email, reminder.day),
        now=now,
    )
