"""Where composed mails go: `.eml` files (development default) or an SMTP server."""

from __future__ import annotations

import asyncio
import os
import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Protocol, runtime_checkable

import aiosmtplib

from comptoir.settings import MailTransport as TransportKind
from comptoir.settings import Settings


class MailTransport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


@runtime_checkable
class ClosableTransport(Protocol):
    """A transport holding a resource (an SMTP connection) between sends."""

    async def close(self) -> None: ...


class FileTransport:
    """One `.eml` per mail in a folder: a person opens it in any mail client."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message.as_bytes(), message)

    def _write(self, data: bytes, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        ident = str(message.get("Message-ID", "")).strip("<>").split("@")[0] or secrets.token_hex(8)
        target = self.directory / f"{stamp}_{ident}.eml"
        # Written aside then renamed: whoever watches the folder never opens half a mail.
        partial = target.with_suffix(".eml.part")
        partial.write_bytes(data)
        os.replace(partial, target)

    async def close(self) -> None:
        return None


class SmtpTransport:
    """aiosmtplib, keeping one connection open across a batch (a new TCP + EHLO + AUTH per
    mail would cost more than the mail itself). A lock serialises the sends of concurrent
    callers on that one connection."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("SMTP transport without COMPTOIR_SMTP_HOST")
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._username = settings.smtp_username
        self._password = settings.smtp_password
        self._starttls = settings.smtp_starttls
        self._timeout = settings.smtp_timeout_seconds
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            timeout=self._timeout,
            # STARTTLS only when asked: False means plain SMTP (a local relay), never
            # "upgrade if offered", so the behaviour does not depend on the server.
            start_tls=self._starttls,
        )
        await client.connect()
        try:
            if self._username and self._password is not None:
                await client.login(self._username, self._password.get_secret_value())
        except BaseException:
            client.close()
            raise
        self._client = client
        return client

    async def send(self, message: EmailMessage) -> None:
        async with self._lock:
            client = await self._connected()
            try:
                # The message's own serialisation (mailers.mails.MAIL_POLICY): aiosmtplib's
                # send_message would refold long headers under its fixed policy.
                await client.sendmail(
                    parseaddr(str(message["From"]))[1],
                    [address for _name, address in getaddresses([str(message["To"])])],
                    message.as_bytes(),
                )
            except (
                aiosmtplib.SMTPServerDisconnected,
                aiosmtplib.SMTPTimeoutError,
                OSError,
                asyncio.CancelledError,  # the worker's bound on a whole send cut it short
            ):
                # The connection is gone, or left mid-dialogue: drop it, the next send
                # reconnects.
                self._drop()
                raise

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def close(self) -> None:
        async with self._lock:
            client, self._client = self._client, None
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()


def build_transport(settings: Settings) -> MailTransport:
    if settings.mail_transport is TransportKind.SMTP:
        return SmtpTransport(settings)
    return FileTransport(settings.mail_dir)
