"""Both transports deliver a complete message: a real SMTP server, real files."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from comptoir.settings import Settings
from mailers.outbox import message_id
from mailers.transport import FileTransport, SmtpTransport, build_transport
from tests.mailers.conftest import SmtpServer, smtp_settings


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Comptoir <no-reply@comptoir.example>"
    message["To"] = "dgs@mairie-exemple.fr"
    message["Subject"] = "Relevé à transmettre avant le 20"
    message["Message-ID"] = message_id("transport-test")
    message.set_content("Texte brut, accentué : é à ç.")
    message.add_alternative("<p>Version <strong>HTML</strong> é</p>", subtype="html")
    return message


async def test_smtp_transport_delivers_the_message_intact(
    test_settings: Settings, smtp_server: SmtpServer
) -> None:
    # given
    transport = build_transport(smtp_settings(test_settings, smtp_server.port))
    assert isinstance(transport, SmtpTransport)

    # when
    await transport.send(_message())
    await transport.close()

    # then
    [received] = smtp_server.messages
    assert received["Subject"] == "Relevé à transmettre avant le 20"
    assert received["From"] == "Comptoir <no-reply@comptoir.example>"
    assert received["To"] == "dgs@mairie-exemple.fr"
    assert received["Message-ID"] == message_id("transport-test")
    text = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert text is not None and "accentué : é à ç" in text.get_content()
    assert html is not None and "<strong>HTML</strong>" in html.get_content()


async def test_smtp_transport_reuses_one_connection_and_reconnects_after_a_restart(
    test_settings: Settings, smtp_server: SmtpServer
) -> None:
    # given a transport that already sent once
    transport = SmtpTransport(smtp_settings(test_settings, smtp_server.port))
    await transport.send(_message())

    # when the server restarts under it
    smtp_server.stop()
    smtp_server.start()
    try:
        await transport.send(_message())
    except Exception:
        # the first send on a dead connection may fail: the next one reconnects
        await transport.send(_message())
    await transport.close()

    # then
    assert len(smtp_server.messages) >= 2


async def test_file_transport_writes_an_eml_a_mail_client_opens(tmp_path: Path) -> None:
    # given
    transport = FileTransport(tmp_path / "mail")

    # when
    await transport.send(_message())

    # then
    [written] = list((tmp_path / "mail").glob("*.eml"))
    parsed = email.message_from_bytes(written.read_bytes(), policy=default_policy)
    assert parsed["Subject"] == "Relevé à transmettre avant le 20"
    assert parsed["Message-ID"] == message_id("transport-test")
    assert written.name.endswith(f"_{message_id('transport-test').strip('<>').split('@')[0]}.eml")
    assert not list((tmp_path / "mail").glob("*.part"))


def test_file_is_the_default_transport(test_settings: Settings) -> None:
    assert isinstance(build_transport(test_settings), FileTransport)
