"""A real SMTP server (aiosmtpd) on loopback, and helpers to queue and read test mails."""

from __future__ import annotations

import asyncio
import email
import secrets
import socket
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from comptoir.settings import MailTransport, Settings
from db.engine import transaction
from db.models.journal import OutboxMail
from db.types import utcnow
from domain.enums import BillingFrequency, Energy, InvoiceDelivery, PaymentMethod, Segment
from mailers.mails import CustomerService, Guide, WelcomeAccount, WelcomePack, WelcomeSite
from mailers.outbox import enqueue_mail

TABLE: sa.Table = OutboxMail.__table__  # type: ignore[attr-defined]


class Collector:
    """Keeps every message the server accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.delay_seconds = 0.0  # a slow server, to make concurrent workers overlap
        # Replies given instead of accepting, one per message, in order (e.g. "451 …").
        self.refusals: list[str] = []
        # A server that hangs on the data of the messages to these recipients.
        self.hang_for: set[str] = set()
        self.hang_seconds = 10.0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.hang_for & set(envelope.rcpt_tos):
            await asyncio.sleep(self.hang_seconds)
        if self.refusals:
            return self.refusals.pop(0)
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = email.message_from_bytes(raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 2.0.0 Message accepted"

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """An aiosmtpd server that a test can stop (nothing listens) and start again on the
    same port, keeping what it received."""

    def __init__(self, **smtp_options: Any) -> None:
        self.port = free_port()
        self.collector = Collector()
        self._options = smtp_options
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            self.collector, hostname="127.0.0.1", port=self.port, **self._options
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collector.messages


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def smtp_settings(base: Settings, port: int, **changes: Any) -> Settings:
    return base.model_copy(
        update={
            "mail_transport": MailTransport.SMTP,
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": False,
            "smtp_timeout_seconds": 5.0,
            **changes,
        }
    )


@pytest.fixture
def key_prefix() -> str:
    """The outbox table is shared by the whole session: each test sends only its own rows."""
    return f"test-{secrets.token_hex(6)}:"


async def queue_confirmations(sessions: Any, prefix: str, count: int) -> list[str]:
    """`count` small mails committed to the outbox; returns their keys."""
    keys = [f"{prefix}{i}" for i in range(count)]
    async with transaction(sessions) as session:
        for i, key in enumerate(keys):
            await enqueue_mail(
                session,
                template="activation_confirmation",
                recipients=[f"agent{i}@mairie-exemple.fr"],
                context={
                    "supplier_name": "Comptoir Énergie",
                    "customer_service": {
                        "name": "Service clients",
                        "email": "sc@comptoir.example",
                        "phone": "09 70 00 00 00",
                        "hours": "du lundi au vendredi",
                    },
                    "full_name": f"Agent {i}",
                    "email": f"agent{i}@mairie-exemple.fr",
                },
                idempotency_key=key,
            )
    return keys


async def rows(sessions: Any, prefix: str) -> list[Any]:
    async with sessions() as session:
        result = await session.exec(
            sa.select(TABLE)  # type: ignore[call-overload]
            .where(TABLE.c.idempotency_key.startswith(prefix, autoescape=True))
            .order_by(TABLE.c.id)
        )
        return list(result.all())


def sample_pack(*, member_id: int, email_address: str = "dgs@mairie-exemple.fr") -> WelcomePack:
    return WelcomePack(
        member_id=member_id,
        member_legal_name="Commune de Saint-Exemple",
        email=email_address,
        full_name="Claire Martin",
        activation_url="https://espace.comptoir.example/activer?jeton=act-SECRET-0123456789abcdef",
        activation_expires_at=utcnow() + timedelta(hours=24),
        customer_service=CustomerService(
            name="Service clients des collectivités",
            email="collectivites@comptoir.example",
            phone="09 70 12 34 56",
            hours="du lundi au vendredi, de 8 h 30 à 17 h 30",
        ),
        guides=[
            Guide("Guide de l'espace client", "https://comptoir.example/guides/espace-client.pdf"),
            Guide("Comprendre sa facture", "https://comptoir.example/guides/facture.pdf"),
        ],
        accounts=[
            WelcomeAccount(
                number="CC-000123",
                invoice_label="Bâtiments communaux",
                energy=Energy.ELECTRICITY,
                multi_site=True,
                payment_method=PaymentMethod.PUBLIC_ACCOUNTING_MANDATE,
                billing_frequency=BillingFrequency.MONTHLY,
                invoice_delivery=InvoiceDelivery.CHORUS_PRO,
                green_share_pct=Decimal("50"),
            ),
            WelcomeAccount(
                number="CC-000124",
                invoice_label="École <Jules Ferry>",
                energy=Energy.GAS,
                multi_site=False,
                payment_method=PaymentMethod.DIRECT_DEBIT,
                billing_frequency=BillingFrequency.BIMONTHLY,
                invoice_delivery=InvoiceDelivery.EMAIL,
                green_share_pct=Decimal("12.5"),
            ),
        ],
        sites=[
            WelcomeSite(
                point_number="09876543210123",
                energy=Energy.ELECTRICITY,
                segment=Segment.C5,
                address="1 place de la Mairie",
                postcode="01000",
                city="Saint-Exemple",
                internal_code="MAIRIE",
                designation="Hôtel de ville",
                billing_account_number="CC-000123",
                supply_start=date(2026, 1, 1),
            ),
            WelcomeSite(
                point_number="09876543210124",
                energy=Energy.ELECTRICITY,
                segment=Segment.C5,
                address="3 rue des Écoles",
                postcode="01000",
                city="Saint-Exemple",
                internal_code=None,
                designation="Salle des fêtes",
                billing_account_number="CC-000123",
                supply_start=date(2026, 1, 1),
            ),
            WelcomeSite(
                point_number="21456789012345",
                energy=Energy.GAS,
                segment=Segment.T2,
                address="5 rue des Écoles",
                postcode="01000",
                city="Saint-Exemple",
                internal_code="ECOLE-JF",
                designation="École Jules Ferry",
                billing_account_number="CC-000124",
                supply_start=date(2026, 2, 1),
            ),
        ],
    )


@pytest.fixture(scope="session")
async def private_settings(
    databases: Any, test_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings on a database of the mailers' own, for what sends every due mail (the loop,
    the command line): the session's shared outbox holds other tests' mails."""
    from sqlalchemy.pool import NullPool

    from db import migrate
    from db.engine import create_engine

    url = await databases.new_url()
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    await engine.dispose()
    return test_settings.model_copy(
        update={"database_url": url, "mail_dir": tmp_path_factory.mktemp("private") / "mail"}
    )
