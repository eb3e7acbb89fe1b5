"""`comptoir worker --once`: sends what is due, then reports in one French line."""

from __future__ import annotations

import asyncio

import pytest

from comptoir import cli
from comptoir.settings import Settings
from db.engine import create_engine, create_session_factory
from tests.mailers.conftest import SmtpServer, queue_confirmations


def test_worker_once_sends_the_due_mails_over_smtp(
    private_settings: Settings,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given two mails in the outbox of a database of our own
    async def queue() -> None:
        engine = create_engine(private_settings)
        await queue_confirmations(create_session_factory(engine), "cli-worker:", 2)
        await engine.dispose()

    asyncio.run(queue())
    monkeypatch.setenv("COMPTOIR_DATABASE_URL", private_settings.database_url)
    monkeypatch.setenv("COMPTOIR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COMPTOIR_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("COMPTOIR_SMTP_STARTTLS", "false")

    # when
    status = cli.main(["worker", "--once", "--log-level", "warning"])

    # then
    assert status == 0
    assert "Mails : 2 envoyé(s), 0 à réessayer, 0 abandonné(s)." in capsys.readouterr().out
    assert len(smtp_server.messages) == 2


def test_worker_reports_an_unreachable_database_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMPTOIR_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")

    status = cli.main(["worker", "--once"])

    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("comptoir: erreur : base de données injoignable")
    assert len(err.strip().splitlines()) == 1
