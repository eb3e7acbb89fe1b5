"""Welcome packs: to each member user, once, with the member's services and sites."""

from __future__ import annotations

import email
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import OutboxMail
from domain.enums import Tier, UserStatus
from mailers.mails import build_message
from tests.factories import World, make_person, make_world
from tests.ids import gid
from tests.runner import Runner

SEND = """
mutation Send($input: SendWelcomePacksInput!) {
  sendWelcomePacks(input: $input) {
    members queued alreadySent membersWithoutUser errors { field code message }
  }
}
"""


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    world = await make_world(session_factory, "Bienvenue")
    # an invited colleague, who gets an activation link in the pack
    await make_person(
        session_factory,
        f"invitee{world.group.id}@mairie.test",
        tier=Tier.USER,
        member_id=world.member.id,
        status=UserStatus.INVITED,
    )
    return world


async def test_admin_sends_once_per_person(runner: Runner, world: World) -> None:
    variables = {"input": {"memberIds": [gid("Member", world.member.id)]}}
    first = (await runner.run(SEND, variables, as_user=world.people["ADMIN"]))["sendWelcomePacks"]
    assert first == {
        "members": 1,
        "queued": 2,
        "alreadySent": 0,
        "membersWithoutUser": [],
        "errors": [],
    }
    again = (await runner.run(SEND, variables, as_user=world.people["ADMIN"]))["sendWelcomePacks"]
    assert again["queued"] == 0 and again["alreadySent"] == 2
    assert len(await runner.mails_to(world.email("USER"), "welcome_pack")) == 1


async def test_the_pack_holds_the_access_services_and_sites(runner: Runner, world: World) -> None:
    invitee = f"invitee{world.group.id}@mairie.test"
    await runner.run(
        SEND,
        {"input": {"memberIds": [gid("Member", world.member.id)]}},
        as_user=world.people["ADMIN"],
    )
    [invited] = await runner.mails_to(invitee, "welcome_pack")
    [active] = await runner.mails_to(world.email("USER"), "welcome_pack")
    assert "#token=" in invited.context["activation_url"]
    assert invited.context["expires_at"] is not None
    assert (
        active.context["expires_at"] is None and "#token=" not in active.context["activation_url"]
    )
    message = build_message_of(invited, runner)
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert invitee in text and "activer votre accès" in text.lower()
    for account in world.accounts[:2]:
        assert account.number in text
    assert world.accounts[2].number not in text  # the other member's account
    assert "mot de passe :" not in text.lower()
    [attachment] = [part for part in message.iter_attachments()]
    sheet = load_workbook(filename=io.BytesIO(attachment.get_content())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 2  # header + the member's two sites
    assert {r[0] for r in rows[1:]} == {world.sites[0].point_number, world.sites[1].point_number}


def build_message_of(mail: OutboxMail, runner: Runner) -> email.message.EmailMessage:
    return build_message(
        idempotency_key=mail.idempotency_key,
        template=mail.template,
        recipients=mail.recipients,
        subject=mail.subject,
        context=mail.context,
        sender=runner.settings.mail_from,
    )


async def test_whole_group_by_an_operator_and_members_without_users(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await make_world(session_factory, "Groupe")
    operator, _ = await make_person(
        session_factory, f"ops{world.group.id}@comptoir.test", tier=Tier.OPERATOR
    )
    report = (
        await runner.run(
            SEND, {"input": {"groupId": gid("Group", world.group.id)}}, as_user=operator
        )
    )["sendWelcomePacks"]
    assert report["errors"] == []
    assert report["members"] == 2 and report["queued"] == 1
    assert report["membersWithoutUser"] == [world.other_member.customer_number]


@pytest.mark.parametrize("tier", ["USER", "INFRA_USER", "THIRD_PARTY"])
async def test_only_admins_and_operators_send(runner: Runner, world: World, tier: str) -> None:
    result = await runner.raw(
        SEND, {"input": {"memberIds": [gid("Member", world.member.id)]}}, as_user=world.people[tier]
    )
    assert result.errors and result.errors[0].extensions["code"] == "FORBIDDEN"


async def test_input_errors(runner: Runner, world: World) -> None:
    empty = await runner.run(SEND, {"input": {}}, as_user=world.people["ADMIN"])
    assert empty["sendWelcomePacks"]["errors"][0]["code"] == "REQUIRED"
    before = await runner.count(OutboxMail)
    mixed = await runner.run(
        SEND,
        {"input": {"memberIds": [gid("Member", world.member.id), gid("Member", 10**9)]}},
        as_user=world.people["ADMIN"],
    )
    assert mixed["sendWelcomePacks"]["errors"][0]["code"] == "NOT_FOUND"
    assert await runner.count(OutboxMail) == before  # all or nothing
