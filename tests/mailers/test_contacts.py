"""One source for the customer-service contacts: every mail (activation, reset, self-reading
confirmation, welcome pack) and the invoice PDF show the same block, the group's contacts read
here with SQL written apart from the code."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.schema.schema import build_schema
from auth.signed_urls import verify_file_token
from comptoir.settings import Settings
from db.core import GROUPS
from db.models import OutboxMail, User
from domain.enums import ReadingSource, Register
from mailers.contacts import contact_lines, customer_service_of
from mailers.mails import build_message
from tests.factories import World, make_invoice, make_metered_site, make_person, make_world
from tests.ids import gid
from tests.runner import Runner

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


async def run_at(runner: Runner, document: str, variables: dict[str, Any], *, as_user: User) -> Any:
    context = await runner.context(as_user)
    context.now = NOW
    result = await build_schema().execute(document, variables, context_value=context)
    assert result.errors is None, result.errors
    return result.data


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    world = await make_world(session_factory, "Contacts")
    async with session_factory() as session, session.begin():
        await session.exec(  # type: ignore[call-overload]
            sa.update(GROUPS)
            .where(GROUPS.c.id == world.group.id)
            .values(
                customer_service_email="accueil@syndicat-contacts.fr",
                customer_service_phone="02 98 00 11 22",
            )
        )
    return world


async def group_block(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, world: World
) -> str:
    """The block every mail and PDF must show, from the group's row."""
    async with sessions() as session:
        name, email, phone = (
            await session.exec(  # type: ignore[call-overload]
                sa.text(
                    "SELECT name, customer_service_email, customer_service_phone FROM groups"
                    " WHERE id = :g"
                ).bindparams(g=world.group.id)
            )
        ).one()
    return "\n".join(
        [
            f"Service clients — {name}",
            f"Courriel : {email}",
            f"Téléphone : {phone} ({settings.customer_service_hours})",
        ]
    )


def text_of(mail: OutboxMail) -> str:
    message = build_message(
        idempotency_key=mail.idempotency_key,
        template=mail.template,
        recipients=mail.recipients,
        subject=mail.subject,
        context=mail.context,
        sender="Comptoir <no-reply@comptoir.example>",
    )
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


async def test_every_mail_and_the_pdf_show_the_groups_contacts(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    block = await group_block(session_factory, runner.settings, world)
    admin, user = world.people["ADMIN"], world.people["USER"]
    # an invitation (activation mail)
    invited = "nouvelle.personne@contacts.test"
    answer = await run_at(
        runner,
        "mutation($i: InviteUserInput!) { inviteUser(input: $i) { errors { code } } }",
        {
            "i": {
                "email": invited,
                "fullName": "Nouvelle Personne",
                "tier": "USER",
                "memberId": gid("Member", world.member.id),
            }
        },
        as_user=admin,
    )
    assert answer["inviteUser"]["errors"] == []
    # a password reset
    await run_at(
        runner,
        "mutation($e: String!) { requestPasswordReset(input: {email: $e}) { ok } }",
        {"e": user.email},
        as_user=user,
    )
    # a self-reading
    site, _ = await make_metered_site(
        session_factory,
        world.accounts[0],
        readings=[
            (date(2026, 1, 31), Register.BASE, 1_000, ReadingSource.DISTRIBUTOR_ACTUAL, False)
        ],
    )
    answer = await run_at(
        runner,
        "mutation($i: SubmitSelfReadingInput!) {"
        " submitSelfReading(input: $i) { errors { code } } }",
        {
            "i": {
                "siteId": gid("Site", site.id),
                "readOn": "2026-03-09",
                "indexes": [{"register": "BASE", "index": "1200"}],
                "confirmed": True,
            }
        },
        as_user=user,
    )
    assert answer["submitSelfReading"]["errors"] == []
    # the welcome pack
    answer = await run_at(
        runner,
        "mutation($m: [ID!]) { sendWelcomePacks(input: {memberIds: $m}) { errors { code } } }",
        {"m": [gid("Member", world.member.id)]},
        as_user=admin,
    )
    assert answer["sendWelcomePacks"]["errors"] == []

    mails = [
        *(await runner.mails_to(invited, "activation")),
        *(await runner.mails_to(user.email, "password_reset")),
        *(await runner.mails_to(user.email, "self_reading_confirmation")),
        *(await runner.mails_to(user.email, "welcome_pack")),
    ]
    assert sorted(m.template for m in mails) == [
        "activation",
        "password_reset",
        "self_reading_confirmation",
        "welcome_pack",
    ]
    for mail in mails:
        assert block in text_of(mail), mail.template

    # and the invoice PDF's footer shows the same lines
    invoice = await make_invoice(
        session_factory, world.accounts[0], [world.sites[0]], accounting_date=date(2026, 2, 28)
    )
    data = await runner.run(
        "query($n: String!) { invoice(number: $n) { pdfUrl } }",
        {"n": invoice.number},
        as_user=admin,
    )
    secret = runner.settings.secret_key.get_secret_value()  # type: ignore[union-attr]
    key = verify_file_token(secret, data["invoice"]["pdfUrl"].rsplit("/", 1)[1])
    text = "".join(p.extract_text() for p in PdfReader(runner.settings.files_dir / key).pages)
    flat = re.sub(r"[\s\u00a0]+", "", text)
    for line in block.splitlines():
        assert re.sub(r"\s+", "", line) in flat, line


async def test_a_person_with_no_group_gets_the_suppliers_contacts(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given a back-office person (no customer grant) who asks for a reset
    person, _ = await make_person(session_factory, "operateur@contacts-supplier.test")
    await run_at(
        runner,
        "mutation($e: String!) { requestPasswordReset(input: {email: $e}) { ok } }",
        {"e": person.email},
        as_user=person,
    )
    (mail,) = await runner.mails_to(person.email, "password_reset")
    # then the mail shows the supplier's own contacts (settings)
    supplier = "\n".join(contact_lines(customer_service_of(runner.settings)))
    assert runner.settings.customer_service_email in supplier
    assert supplier in text_of(mail)
