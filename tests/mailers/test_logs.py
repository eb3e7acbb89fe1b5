"""No credential, link or token in logs or recorded errors, even when sending fails."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import aiosmtplib
import pytest
from aiosmtpd.smtp import AuthResult
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings
from db.engine import transaction
from db.types import utcnow
from mailers.mails import queue_activation
from mailers.transport import build_transport
from mailers.worker import deliver_due_mails, describe_error
from tests.mailers.conftest import SmtpServer, free_port, rows, smtp_settings

Sessions = async_sessionmaker[AsyncSession]
PASSWORD = "Tr3s-S3cret-Relay-Pa55"
USERNAME = "relais-comptoir"
TOKEN = "act-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
URL = f"https://espace.comptoir.example/activer?jeton={TOKEN}"


def _refuse(*_args: object) -> AuthResult:
    return AuthResult(success=False, handled=False)


@pytest.fixture
def refusing_server() -> Iterator[SmtpServer]:
    """A server that offers AUTH on a plain connection and refuses every login."""
    server = SmtpServer(authenticator=_refuse, auth_require_tls=False)
    server.start()
    yield server
    server.stop()


def _our_records(caplog: pytest.LogCaptureFixture) -> str:
    # aiosmtpd's own debug log ("mail.log") is the test server's, not the application's.
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if not r.name.startswith("mail.log")
    )


@pytest.mark.parametrize("server_state", ["refusing", "down"])
async def test_failed_deliveries_log_no_password_link_or_token(
    test_settings: Settings,
    session_factory: Sessions,
    refusing_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
    server_state: str,
) -> None:
    # given SMTP credentials and a server that refuses them, or nothing listening
    port = refusing_server.port if server_state == "refusing" else free_port()
    settings = smtp_settings(
        test_settings, port, smtp_username=USERNAME, smtp_password=SecretStr(PASSWORD)
    )
    token_id = 8_000_000_000_000_000 + utcnow().microsecond * 10 + len(server_state)
    key = f"activation:{token_id}"
    async with transaction(session_factory) as session:
        await queue_activation(
            session,
            email="agent@mairie-exemple.fr",
            full_name="Jean Dupont",
            activation_url=URL,
            expires_at=utcnow() + timedelta(hours=24),
            token_id=token_id,
        )
    caplog.set_level(logging.DEBUG)

    # when
    report = await deliver_due_mails(
        session_factory, build_transport(settings), settings, key_prefix=key
    )

    # then
    assert report.retried == 1
    logged = _our_records(caplog)
    assert "comptoir.mailers" in logged
    [row] = await rows(session_factory, key)
    assert row.last_error
    if server_state == "refusing":
        assert "SMTPAuthenticationError" in row.last_error
    for secret in (PASSWORD, URL, TOKEN):
        assert secret not in logged
        assert secret not in row.last_error


def test_error_descriptions_scrub_what_a_server_might_echo(test_settings: Settings) -> None:
    settings = test_settings.model_copy(
        update={"smtp_username": USERNAME, "smtp_password": SecretStr(PASSWORD)}
    )
    error = aiosmtplib.SMTPResponseException(
        451, f"rejected {USERNAME}:{PASSWORD} for {URL} with key {TOKEN}"
    )

    described = describe_error(error, settings)

    assert described.startswith("SMTPResponseException: ")
    for secret in (USERNAME, PASSWORD, URL, TOKEN):
        assert secret not in described
