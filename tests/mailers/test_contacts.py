"""One source for the customer-service contacts: every mail (activation, reset, self-reading
confirmation, welcome pack) and the invoice PDF show the same block, the group's contact read
here with SQL written apart from the code from the contacts table; a contact the back office
changes shows in the next mail and the next PDF."""

from __future__ import annotations

import re
import secrets
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
from db.models import OutboxMail, User
from domain.enums import ReadingSource, Register, Tier
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
            sa.text(
                "UPDATE contacts SET email = 'accueil@syndicat-contacts.fr',"
                " phone = '02 98 00 11 22', opening_hours = 'en semaine, de 9 h à 17 h'"
                " WHERE group_id = :g AND role = 'CUSTOMER_SERVICE'"
            ).bindparams(g=world.group.id)
        )
    return world


async def group_block(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, world: World
) -> str:
    """The block every mail and PDF must show, from the group's contact row."""
    return await block_of(sessions, "group_id = :g", g=world.group.id)


async def block_of(sessions: async_sessionmaker[AsyncSession], where: str, **values: Any) -> str:
    async with sessions() as session:
        name, email, phone, hours = (
            await session.exec(  # type: ignore[call-overload]
                sa.text(
                    "SELECT name, email, phone, opening_hours FROM contacts"
                    f" WHERE role = 'CUSTOMER_SERVICE' AND member_id IS NULL AND {where}"
                ).bindparams(**values)
            )
        ).one()
    return "\n".join([name, f"Courriel : {email}", f"Téléphone : {phone} ({hours})"])


def pdf_text(runner: Runner, url: str) -> str:
    secret = runner.settings.secret_key.get_secret_value()  # type: ignore[union-attr]
    key = verify_file_token(secret, url.rsplit("/", 1)[1])
    text = "".join(p.extract_text() for p in PdfReader(runner.settings.files_dir / key).pages)
    return re.sub(r"[\s\u00a0]+", "", text)


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
    flat = pdf_text(runner, data["invoice"]["pdfUrl"])
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
    # then the mail shows the supplier's own contact (the one with no group)
    supplier = await block_of(session_factory, "group_id IS NULL")
    assert "Courriel : service-clients@comptoir.example" in supplier
    assert supplier in text_of(mail)


UPDATE_CONTACT = """
mutation($i: UpdateContactInput!) {
  updateContact(input: $i) { contact { phone email openingHours } errors { code field } }
}"""


async def test_a_contact_changed_by_the_back_office_shows_in_the_next_mail_and_pdf(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given a group whose customer service the back office changes
    world = await make_world(session_factory, "Changement")
    operator, _ = await make_person(
        session_factory, f"ops-{secrets.token_hex(3)}@contacts.test", tier=Tier.OPERATOR
    )
    async with session_factory() as session:
        (contact_id,) = (
            await session.exec(  # type: ignore[call-overload]
                sa.text(
                    "SELECT id FROM contacts WHERE group_id = :g AND role = 'CUSTOMER_SERVICE'"
                ).bindparams(g=world.group.id)
            )
        ).one()
    answer = await run_at(
        runner,
        UPDATE_CONTACT,
        {
            "i": {
                "contactId": gid("Contact", contact_id),
                "phone": "02 54 00 99 88",
                "email": "Nouveau.Service@Syndicat-Change.fr",
                "openingHours": "du lundi au jeudi, de 9 h à 12 h",
            }
        },
        as_user=operator,
    )
    assert answer["updateContact"] == {
        "contact": {
            "phone": "02 54 00 99 88",
            "email": "nouveau.service@syndicat-change.fr",
            "openingHours": "du lundi au jeudi, de 9 h à 12 h",
        },
        "errors": [],
    }
    block = await block_of(session_factory, "group_id = :g", g=world.group.id)
    assert "Téléphone : 02 54 00 99 88 (du lundi au jeudi, de 9 h à 12 h)" in block
    # when the next mail goes and the next invoice is printed
    user = world.people["USER"]
    await run_at(
        runner,
        "mutation($e: String!) { requestPasswordReset(input: {email: $e}) { ok } }",
        {"e": user.email},
        as_user=user,
    )
    (mail,) = await runner.mails_to(user.email, "password_reset")
    invoice = await make_invoice(
        session_factory, world.accounts[0], [world.sites[0]], accounting_date=date(2026, 2, 28)
    )
    data = await runner.run(
        "query($n: String!) { invoice(number: $n) { pdfUrl } }",
        {"n": invoice.number},
        as_user=world.people["ADMIN"],
    )
    # then both show the new contact
    assert block in text_of(mail)
    flat = pdf_text(runner, data["invoice"]["pdfUrl"])
    for line in block.splitlines():
        assert re.sub(r"\s+", "", line) in flat, line
