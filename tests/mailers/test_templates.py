"""Every mail in French, HTML and text, in the shared layout; the welcome pack's XLSX."""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import openpyxl
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings
from db.types import utcnow
from mailers.attachments import switched_sites_xlsx
from mailers.mails import (
    build_message,
    queue_activation,
    queue_activation_confirmation,
    queue_password_reset,
    queue_welcome_pack,
)
from mailers.rendering import french_date, paris_datetime
from tests.mailers.conftest import TABLE, sample_pack

Sessions = async_sessionmaker[AsyncSession]
Queue = Callable[[AsyncSession], Awaitable[bool]]
PASSWORD_VALUE = re.compile(r"mot de passe\s*:\s*\S", re.IGNORECASE)
UNIQUE = 7_000_000_000_000 + utcnow().microsecond  # ids no other test uses


async def compose(sessions: Sessions, settings: Settings, queue: Queue) -> EmailMessage:
    """Queues a mail, composes it as the worker would, and leaves nothing behind."""
    async with sessions() as session:
        assert await queue(session)
        row = (
            await session.exec(
                sa.select(TABLE).order_by(TABLE.c.id.desc()).limit(1)  # type: ignore[call-overload]
            )
        ).one()
        await session.rollback()
    return build_message(
        idempotency_key=row.idempotency_key,
        template=row.template,
        recipients=row.recipients,
        subject=row.subject,
        context=row.context,
        sender=settings.mail_from,
    )


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def assert_layout_and_no_password(message: EmailMessage) -> None:
    text, html = bodies(message)
    for part in (text, html):
        assert "Comptoir Énergie" in part
        assert "Ceci est un message automatique" in part
        assert "Bonjour " in part
        assert not PASSWORD_VALUE.search(part)
    assert not PASSWORD_VALUE.search(str(message["Subject"]))
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in html


async def test_activation_states_the_link_twice_and_its_expiry_in_paris_time(
    session_factory: Sessions, test_settings: Settings
) -> None:
    # given
    expires = utcnow() + timedelta(hours=24)
    url = "https://espace.comptoir.example/activer?jeton=abc123"

    # when
    message = await compose(
        session_factory,
        test_settings,
        lambda s: queue_activation(
            s,
            email="agent@mairie-exemple.fr",
            full_name="Jean Dupont",
            activation_url=url,
            expires_at=expires,
            token_id=UNIQUE + 1,
        ),
    )

    # then
    assert message["Subject"] == "Activez votre accès à l'espace client Comptoir Énergie"
    assert message["To"] == "agent@mairie-exemple.fr"
    text, html = bodies(message)
    assert url in text
    assert html.count(f'href="{url}"') == 2  # the button and the plain link
    assert f">{url}</a>" in html
    for part in (text, html):
        assert f"valable 24 heures, jusqu'au {paris_datetime(expires)} (heure de Paris)" in part
        assert "Bonjour Jean Dupont" in part
        assert "agent@mairie-exemple.fr" in part
    assert_layout_and_no_password(message)


async def test_activation_confirmation_and_password_reset_read_in_french(
    session_factory: Sessions, test_settings: Settings
) -> None:
    # when
    confirmation = await compose(
        session_factory,
        test_settings,
        lambda s: queue_activation_confirmation(
            s, email="agent@mairie-exemple.fr", full_name="Jean Dupont", user_id=UNIQUE + 2
        ),
    )
    reset = await compose(
        session_factory,
        test_settings,
        lambda s: queue_password_reset(
            s,
            email="agent@mairie-exemple.fr",
            full_name="Jean Dupont",
            reset_url="https://espace.comptoir.example/reinitialiser?jeton=xyz",
            expires_at=utcnow() + timedelta(minutes=60),
            token_id=UNIQUE + 3,
        ),
    )

    # then
    assert "est activé" in str(confirmation["Subject"])
    assert "est activé" in bodies(confirmation)[0]
    assert str(reset["Subject"]).startswith("Réinitialisation de votre mot de passe")
    reset_text, reset_html = bodies(reset)
    assert "valable 1 heure, jusqu'au" in reset_text
    assert "https://espace.comptoir.example/reinitialiser?jeton=xyz" in reset_text
    assert 'href="https://espace.comptoir.example/reinitialiser?jeton=xyz"' in reset_html
    assert_layout_and_no_password(confirmation)
    assert_layout_and_no_password(reset)


async def test_welcome_pack_lists_access_guides_services_and_attaches_the_sites(
    session_factory: Sessions, test_settings: Settings
) -> None:
    # given
    pack = sample_pack(member_id=UNIQUE + 4)

    # when
    message = await compose(
        session_factory, test_settings, lambda s: queue_welcome_pack(s, pack=pack)
    )

    # then the mail
    assert message.get_content_type() == "multipart/mixed"
    assert "Commune de Saint-Exemple" in str(message["Subject"])
    text, html = bodies(message)
    for part in (text, html):
        assert "dgs@mairie-exemple.fr" in part  # the login
        assert "Service clients des collectivités" in part
        assert "09 70 12 34 56" in part
        assert "Guide de l'espace client" in part or "Guide de l&#39;espace client" in part
        assert "https://comptoir.example/guides/facture.pdf" in part
        for label in (
            "CC-000123",
            "CC-000124",
            "Multisite",
            "Monosite",
            "Mandat administratif",
            "Prélèvement automatique",
            "Mensuelle",
            "Bimestrielle",
            "Chorus Pro",
            "Courriel",
            "50 %",
            "12,5 %",
            "Électricité",
            "Gaz naturel",
            "3 sites sont désormais fournis",
        ):
            assert label in part, label
        assert "valable 24 heures, jusqu'au" in part
    assert pack.activation_url in text
    assert html.count('href="https://espace.comptoir.example/activer?jeton=') == 2
    assert "École &lt;Jules Ferry&gt;" in html  # autoescaped
    assert "École <Jules Ferry>" in text  # plain text is not HTML
    assert_layout_and_no_password(message)

    # then the attachment
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "sites-basculés.xlsx"
    assert attachment.get_content_type() == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    workbook = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
    sheet = workbook.active
    assert sheet is not None
    table = list(sheet.iter_rows(values_only=True))
    assert len(table) == 1 + len(pack.sites)
    assert table[0][:3] == ("PRM / PCE", "Énergie", "Segment")
    assert table[1][0] == "09876543210123"  # text: no float, no lost leading zero
    assert table[1][4] == "01000"
    assert table[2][6] is None  # no internal code
    assert table[3][8] == "CC-000124"
    assert table[3][9] == datetime(2026, 2, 1)


def test_the_sites_workbook_of_an_empty_list_is_just_its_header() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(switched_sites_xlsx([])))
    assert workbook.active is not None
    assert len(list(workbook.active.iter_rows(values_only=True))) == 1


def test_french_dates_and_paris_times() -> None:
    assert paris_datetime(datetime(2026, 3, 1, 23, 30, tzinfo=UTC)) == "2 mars 2026 à 0 h 30"
    assert paris_datetime("2026-07-14T10:05:00+00:00") == "14 juillet 2026 à 12 h 05"
    assert paris_datetime(datetime(2026, 1, 31, 23, 0, tzinfo=UTC)) == "1er février 2026 à 0 h 00"
    assert french_date(date(2026, 8, 1)) == "1er août 2026"
