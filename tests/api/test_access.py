"""Access management: invitations, activation, scope changes, suspension, revocation."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers import sessions as session_use_cases
from auth.secrets import digest
from db.models import ActionToken, AuditEntry, User
from domain.enums import ActionTokenPurpose
from domain.errors import Refusal
from tests.clock import NOW
from tests.factories import World, make_world
from tests.ids import gid
from tests.runner import Runner

INVITE = """
mutation Invite($input: InviteUserInput!) {
  inviteUser(input: $input) {
    person {
      id email status
      grants { id tier status billingAccounts { number } member { legalName } }
    }
    errors { field code message }
  }
}
"""
ACTIVATE = """
mutation Activate($token: String!, $password: String!) {
  activateAccount(input: {token: $token, password: $password}) {
    ok message errors { field code message }
  }
}
"""
CHANGE_SCOPE = """
mutation Change($input: ChangeGrantScopeInput!) {
  changeGrantScope(input: $input) {
    grant { id status billingAccounts { number } } errors { field code message }
  }
}
"""
SUSPEND = """
mutation($id: ID!) {
  suspendGrant(input: {grantId: $id}) { grant { status } errors { field code } }
}
"""
RESUME = """
mutation($id: ID!) {
  resumeGrant(input: {grantId: $id}) { grant { status } errors { field code } }
}
"""
REVOKE = """
mutation($id: ID!) {
  revokeGrant(input: {grantId: $id}) { grant { status } errors { field code } }
}
"""
PEOPLE = """
query People($first: Int, $after: String, $filter: PeopleFilter) {
  people(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { email grants { tier } } }
  }
}
"""
VIEWER_SITES = "query { viewer { perimeter { sites } } }"
REQUEST_RESET = """
mutation($email: String!) {
  requestPasswordReset(input: {email: $email}) { ok message errors { code } }
}
"""
RESET = """
mutation($token: String!, $password: String!) {
  resetPassword(input: {token: $token, password: $password}) { ok errors { field code } }
}
"""
NEW_PASSWORD = "Trois-chats-dans-la-grange"


def token_in(url: str) -> str:
    return url.split("#token=", 1)[1]


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Acces")


async def invite(runner: Runner, world: World, by: str, **fields: object) -> dict:
    data = await runner.run(INVITE, {"input": fields}, as_user=world.people[by])
    return data["inviteUser"]


async def test_admin_invites_a_member_user_who_activates_the_account(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given an admin inviting a member user
    answer = await invite(
        runner,
        world,
        "ADMIN",
        email="Nouvelle.Recrue@Mairie.test",
        fullName="Nouvelle Recrue",
        tier="USER",
        memberId=gid("Member", world.member.id),
    )
    # then the account exists, inactive, with its grant, and an activation mail is queued
    assert answer["errors"] == []
    person = answer["person"]
    assert person["email"] == "nouvelle.recrue@mairie.test"
    assert person["status"] == "INVITED"
    assert [g["tier"] for g in person["grants"]] == ["USER"]
    assert person["grants"][0]["member"]["legalName"] == world.member.legal_name
    [mail] = await runner.mails_to("nouvelle.recrue@mairie.test", "activation")
    assert "activation_url" in mail.context and "password" not in str(mail.context).lower()
    assert await runner.count(AuditEntry, AuditEntry.action == "grant.created") >= 1

    token = token_in(mail.context["activation_url"])
    # when a weak password is chosen, it is refused and nothing changes
    weak = await runner.run(ACTIVATE, {"token": token, "password": "motdepasse123"})
    assert weak["activateAccount"]["errors"][0]["code"] == "PASSWORD_TOO_COMMON"
    assert weak["activateAccount"]["errors"][0]["field"] == "password"
    # when a good one is chosen, the account is active and a confirmation mail follows
    done = await runner.run(ACTIVATE, {"token": token, "password": NEW_PASSWORD})
    assert done["activateAccount"]["ok"] is True
    assert await runner.mails_to("nouvelle.recrue@mairie.test", "activation_confirmation")
    tokens = await session_use_cases.log_in(
        session_factory,
        runner.settings,
        email="nouvelle.recrue@mairie.test",
        password=NEW_PASSWORD,
        client_address=None,
    )
    assert tokens.access_token
    # and the link cannot serve twice
    again = await runner.run(ACTIVATE, {"token": token, "password": NEW_PASSWORD})
    assert again["activateAccount"]["errors"][0]["code"] == "TOKEN_USED"


async def test_expired_and_unknown_activation_links(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    answer = await invite(
        runner,
        world,
        "ADMIN",
        email="tardif@mairie.test",
        fullName="Jean Tardif",
        tier="USER",
        memberId=gid("Member", world.member.id),
    )
    [mail] = await runner.mails_to("tardif@mairie.test", "activation")
    token = token_in(mail.context["activation_url"])
    async with session_factory() as session, session.begin():
        row = (
            await session.exec(
                ActionToken.__table__.select().where(ActionToken.token_hash == digest(token))  # type: ignore[attr-defined]
            )
        ).first()
        await session.exec(
            ActionToken.__table__.update()  # type: ignore[attr-defined]
            .where(ActionToken.id == row.id)
            .values(expires_at=NOW - timedelta(minutes=1))
        )
    expired = await runner.run(ACTIVATE, {"token": token, "password": NEW_PASSWORD})
    assert expired["activateAccount"]["errors"][0]["code"] == "TOKEN_EXPIRED"
    unknown = await runner.run(ACTIVATE, {"token": "nope", "password": NEW_PASSWORD})
    assert unknown["activateAccount"]["errors"][0]["code"] == "TOKEN_INVALID"
    assert answer["person"]["status"] == "INVITED"


async def test_a_user_creates_an_infra_user_on_their_own_accounts_only(
    runner: Runner, world: World
) -> None:
    mine = await invite(
        runner,
        world,
        "USER",
        email="agent@mairie.test",
        fullName="Agent Régie",
        tier="INFRA_USER",
        memberId=gid("Member", world.member.id),
        billingAccountIds=[gid("BillingAccount", world.accounts[1].id)],
    )
    assert mine["errors"] == []
    assert [a["number"] for a in mine["person"]["grants"][0]["billingAccounts"]] == [
        world.accounts[1].number
    ]
    # the other member's account is outside the USER's perimeter: not found
    other = await invite(
        runner,
        world,
        "USER",
        email="agent2@mairie.test",
        fullName="Agent Deux",
        tier="INFRA_USER",
        memberId=gid("Member", world.member.id),
        billingAccountIds=[gid("BillingAccount", world.accounts[2].id)],
    )
    assert other["errors"][0]["code"] == "NOT_FOUND"
    # a USER cannot make another USER, nor an ADMIN
    for tier in ("USER", "ADMIN", "THIRD_PARTY"):
        more = await invite(
            runner,
            world,
            "USER",
            email=f"x-{tier.lower()}@mairie.test",
            fullName="Trop Large",
            tier=tier,
            memberId=gid("Member", world.member.id),
            billingAccountIds=[gid("BillingAccount", world.accounts[0].id)]
            if tier == "THIRD_PARTY"
            else None,
        )
        assert more["errors"][0]["code"] in {"EXCEEDS_OWN_SCOPE", "NOT_FOUND"}, tier


@pytest.mark.parametrize("tier", ["INFRA_USER", "THIRD_PARTY"])
async def test_infra_users_and_third_parties_invite_nobody(
    runner: Runner, world: World, tier: str
) -> None:
    answer = await invite(
        runner,
        world,
        tier,
        email=f"by-{tier.lower()}@x.test",
        fullName="Personne",
        tier="INFRA_USER",
        memberId=gid("Member", world.member.id),
        billingAccountIds=[gid("BillingAccount", world.accounts[0].id)],
    )
    assert answer["person"] is None
    assert answer["errors"][0]["code"] in {"EXCEEDS_OWN_SCOPE", "NOT_FOUND"}


async def test_bad_input_is_refused_field_by_field(runner: Runner, world: World) -> None:
    cases = [
        ({"email": "pas-une-adresse", "fullName": "X", "tier": "USER"}, "email", "INVALID"),
        ({"email": "ok@x.test", "fullName": "  ", "tier": "USER"}, "fullName", "REQUIRED"),
        ({"email": "ok@x.test", "fullName": "X" * 201, "tier": "USER"}, "fullName", "TOO_LONG"),
        ({"email": "ok@x.test", "fullName": "X", "tier": "USER"}, "memberId", "REQUIRED"),
        (
            {
                "email": "ok@x.test",
                "fullName": "X",
                "tier": "INFRA_USER",
                "memberId": gid("Member", world.member.id),
            },
            "billingAccountIds",
            "REQUIRED",
        ),
        (
            {
                "email": "ok@x.test",
                "fullName": "X",
                "tier": "USER",
                "memberId": gid("Site", world.sites[0].id),
            },
            "memberId",
            "NOT_FOUND",
        ),
        ({"email": "ok@x.test", "fullName": "X", "tier": "OPERATOR"}, "tier", "FORBIDDEN"),
    ]
    before = await runner.count(User)
    for fields, field, code in cases:
        answer = await invite(runner, world, "ADMIN", **fields)
        assert answer["person"] is None
        assert answer["errors"][0]["field"] == field, fields
        assert answer["errors"][0]["code"] == code, fields
    # a control character breaks the input contract itself: refused before any resolver runs
    refused = await runner.raw(
        INVITE,
        {"input": {"email": "ok@x.test", "fullName": "a\x07b", "tier": "USER"}},
        as_user=world.people["ADMIN"],
    )
    assert refused.errors[0].extensions == {"code": "INVALID", "field": "fullName"}
    assert await runner.count(User) == before  # nothing half-written


async def test_inviting_twice_the_same_access_is_refused(runner: Runner, world: World) -> None:
    fields = {
        "email": "double@mairie.test",
        "fullName": "Double",
        "tier": "USER",
        "memberId": gid("Member", world.member.id),
    }
    assert (await invite(runner, world, "ADMIN", **fields))["errors"] == []
    again = await invite(runner, world, "ADMIN", **fields)
    assert again["errors"][0]["code"] == "ALREADY_EXISTS"
    assert len(await runner.mails_to("double@mairie.test", "activation")) == 1


async def test_admin_changes_a_third_party_scope_then_suspends_resumes_and_revokes(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await make_world(session_factory, "Cycle")
    admin = world.people["ADMIN"]
    third = world.people["THIRD_PARTY"]
    grant_id = gid("Grant", world.grants["THIRD_PARTY"].id)
    # scope change: only the second member's account now
    changed = await runner.run(
        CHANGE_SCOPE,
        {
            "input": {
                "grantId": grant_id,
                "billingAccountIds": [gid("BillingAccount", world.accounts[2].id)],
            }
        },
        as_user=admin,
    )
    assert changed["changeGrantScope"]["errors"] == []
    assert [a["number"] for a in changed["changeGrantScope"]["grant"]["billingAccounts"]] == [
        world.accounts[2].number
    ]
    assert (await runner.run(VIEWER_SITES, as_user=third))["viewer"]["perimeter"]["sites"] == 1
    # suspended: the third party reaches nothing; resumed: back again
    suspended = await runner.run(SUSPEND, {"id": grant_id}, as_user=admin)
    assert suspended["suspendGrant"]["grant"]["status"] == "SUSPENDED"
    assert (await runner.run(VIEWER_SITES, as_user=third))["viewer"]["perimeter"]["sites"] == 0
    twice = await runner.run(SUSPEND, {"id": grant_id}, as_user=admin)
    assert twice["suspendGrant"]["errors"][0]["code"] == "INVALID_STATE"
    resumed = await runner.run(RESUME, {"id": grant_id}, as_user=admin)
    assert resumed["resumeGrant"]["grant"]["status"] == "ACTIVE"
    assert (await runner.run(VIEWER_SITES, as_user=third))["viewer"]["perimeter"]["sites"] == 1
    revoked = await runner.run(REVOKE, {"id": grant_id}, as_user=admin)
    assert revoked["revokeGrant"]["grant"]["status"] == "REVOKED"
    gone = await runner.run(RESUME, {"id": grant_id}, as_user=admin)
    assert gone["resumeGrant"]["errors"][0]["code"] == "NOT_FOUND"
    actions = {
        a
        for (a,) in [
            (e,) for e in ("grant.scope_changed", "grant.suspend", "grant.resume", "grant.revoke")
        ]
        if await runner.count(
            AuditEntry, AuditEntry.action == a, AuditEntry.actor_user_id == admin.id
        )
    }
    assert actions == {"grant.scope_changed", "grant.suspend", "grant.resume", "grant.revoke"}


async def test_nobody_changes_their_own_grant_and_users_only_manage_infra_users(
    runner: Runner, world: World
) -> None:
    own = await runner.run(
        SUSPEND, {"id": gid("Grant", world.grants["ADMIN"].id)}, as_user=world.people["ADMIN"]
    )
    assert own["suspendGrant"]["errors"][0]["code"] == "FORBIDDEN"
    by_user = await runner.run(
        SUSPEND, {"id": gid("Grant", world.grants["ADMIN"].id)}, as_user=world.people["USER"]
    )
    assert by_user["suspendGrant"]["errors"][0]["code"] in {"NOT_FOUND", "EXCEEDS_OWN_SCOPE"}
    infra = await runner.run(
        CHANGE_SCOPE,
        {
            "input": {
                "grantId": gid("Grant", world.grants["INFRA_USER"].id),
                "billingAccountIds": [gid("BillingAccount", world.accounts[2].id)],
            }
        },
        as_user=world.people["USER"],
    )
    assert infra["changeGrantScope"]["errors"][0]["code"] == "NOT_FOUND"


async def test_people_lists_only_the_perimeter(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    elsewhere = await make_world(session_factory, "Ailleurs")
    data = await runner.run(PEOPLE, {"first": 100}, as_user=world.people["ADMIN"])
    emails = {e["node"]["email"] for e in data["people"]["edges"]}
    assert {world.email(t) for t in ("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY")} <= emails
    assert not emails & {elsewhere.email(t) for t in elsewhere.people}
    assert data["people"]["totalCount"] == len(emails)
    # pages are keyset pages that add up to the whole
    first = await runner.run(PEOPLE, {"first": 2}, as_user=world.people["ADMIN"])
    assert first["people"]["pageInfo"]["hasNextPage"] is True
    rest = await runner.run(
        PEOPLE,
        {"first": 100, "after": first["people"]["pageInfo"]["endCursor"]},
        as_user=world.people["ADMIN"],
    )
    assert len(first["people"]["edges"]) + len(rest["people"]["edges"]) == len(emails)
    # a member user sees the people of their member, not the adviser of the group
    user_view = await runner.run(PEOPLE, {"first": 100}, as_user=world.people["USER"])
    seen = {e["node"]["email"] for e in user_view["people"]["edges"]}
    assert world.email("INFRA_USER") in seen and world.email("THIRD_PARTY") not in seen
    # filters
    admins = await runner.run(PEOPLE, {"filter": {"tier": "ADMIN"}}, as_user=world.people["ADMIN"])
    assert {e["node"]["email"] for e in admins["people"]["edges"]} == {world.email("ADMIN")}
    for variables in (
        {"first": 1000},
        {"after": base64.urlsafe_b64encode(b'["x"]').decode()},
        {"after": base64.urlsafe_b64encode(b"[1, 2]").decode()},
        {"after": "%%%"},
    ):
        bad = await runner.raw(PEOPLE, variables, as_user=world.people["ADMIN"])
        assert bad.errors[0].extensions["code"] == "INVALID", variables


async def test_password_reset_answers_alike_and_closes_sessions(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await make_world(session_factory, "Oubli")
    email = world.email("USER")
    tokens = await session_use_cases.log_in(
        session_factory,
        runner.settings,
        email=email,
        password="Velo-rouge-sur-la-digue-42",
        client_address=None,
    )
    known = await runner.run(REQUEST_RESET, {"email": email})
    unknown = await runner.run(REQUEST_RESET, {"email": "inconnu@nulle-part.test"})
    assert known == unknown
    assert await runner.mails_to("inconnu@nulle-part.test", "password_reset") == []
    [mail] = await runner.mails_to(email, "password_reset")
    token = token_in(mail.context["reset_url"])
    done = await runner.run(RESET, {"token": token, "password": NEW_PASSWORD})
    assert done["resetPassword"] == {"ok": True, "errors": []}
    with pytest.raises(Refusal):
        await session_use_cases.refresh_session(
            session_factory, runner.settings, refresh_token=tokens.refresh_token
        )
    again = await runner.run(RESET, {"token": token, "password": NEW_PASSWORD})
    assert again["resetPassword"]["errors"][0]["code"] == "TOKEN_USED"
    assert (
        await session_use_cases.log_in(
            session_factory,
            runner.settings,
            email=email,
            password=NEW_PASSWORD,
            client_address=None,
        )
    ).user_id
    assert ActionTokenPurpose.PASSWORD_RESET


RESEND = """
mutation($id: ID!) {
  resendInvitation(input: {personId: $id}) {
    person { id email status grants { tier } } errors { field code message }
  }
}
"""


async def expire_links_of(session_factory: async_sessionmaker[AsyncSession], email: str) -> None:
    """Moves every link of this person 25 hours into the past (the 24-hour link lapsed)."""
    async with session_factory() as session, session.begin():
        user_id = (
            await session.exec(User.__table__.select().where(User.email == email))  # type: ignore[attr-defined]
        ).first()[0]
        await session.exec(
            ActionToken.__table__.update()  # type: ignore[attr-defined]
            .where(ActionToken.user_id == user_id)
            .values(expires_at=NOW - timedelta(hours=1))
        )


async def test_an_expired_invitation_is_resent_with_a_fresh_link_and_the_old_one_dies(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given an invitation whose link lapsed
    email = "relance@mairie.test"
    invited = await invite(
        runner,
        world,
        "ADMIN",
        email=email,
        fullName="Paul Relance",
        tier="USER",
        memberId=gid("Member", world.member.id),
    )
    [first] = await runner.mails_to(email, "activation")
    await expire_links_of(session_factory, email)
    # when the admin sends it again
    answer = (
        await runner.run(RESEND, {"id": invited["person"]["id"]}, as_user=world.people["ADMIN"])
    )["resendInvitation"]
    # then a second activation mail is in the outbox, with another link
    assert answer["errors"] == []
    assert answer["person"]["status"] == "INVITED"
    assert [g["tier"] for g in answer["person"]["grants"]] == ["USER"]
    [old, new] = await runner.mails_to(email, "activation")
    assert old.id == first.id and new.context["activation_url"] != old.context["activation_url"]
    assert await runner.count(AuditEntry, AuditEntry.action == "user.invitation_resent") >= 1
    # the old link no longer serves, the new one activates the account
    stale = await runner.run(
        ACTIVATE, {"token": token_in(old.context["activation_url"]), "password": NEW_PASSWORD}
    )
    assert stale["activateAccount"]["errors"][0]["code"] in {"TOKEN_USED", "TOKEN_EXPIRED"}
    done = await runner.run(
        ACTIVATE, {"token": token_in(new.context["activation_url"]), "password": NEW_PASSWORD}
    )
    assert done["activateAccount"]["ok"] is True
    # and an active account is not re-invited
    again = (
        await runner.run(RESEND, {"id": invited["person"]["id"]}, as_user=world.people["ADMIN"])
    )["resendInvitation"]
    assert [e["code"] for e in again["errors"]] == ["INVALID_STATE"]
    assert len(await runner.mails_to(email, "activation")) == 2


async def test_a_fresh_link_voids_a_running_one(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    email = "deux-liens@mairie.test"
    invited = await invite(
        runner,
        world,
        "USER",
        email=email,
        fullName="Agent Double",
        tier="INFRA_USER",
        billingAccountIds=[gid("BillingAccount", world.accounts[0].id)],
    )
    answer = (
        await runner.run(RESEND, {"id": invited["person"]["id"]}, as_user=world.people["USER"])
    )["resendInvitation"]
    assert answer["errors"] == []
    [old, new] = await runner.mails_to(email, "activation")
    stale = await runner.run(
        ACTIVATE, {"token": token_in(old.context["activation_url"]), "password": NEW_PASSWORD}
    )
    assert stale["activateAccount"]["errors"][0]["code"] == "TOKEN_USED"
    assert (
        await runner.run(
            ACTIVATE, {"token": token_in(new.context["activation_url"]), "password": NEW_PASSWORD}
        )
    )["activateAccount"]["ok"] is True


async def test_who_may_resend_an_invitation(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from domain.enums import Tier
    from tests.factories import make_person

    # given a member user invited by the admin
    email = "qui-relance@mairie.test"
    invited = await invite(
        runner,
        world,
        "ADMIN",
        email=email,
        fullName="Anne Qui",
        tier="USER",
        memberId=gid("Member", world.member.id),
    )
    person_id = invited["person"]["id"]
    # a USER of the same member sees that person but may not invite a USER: refused
    seen = (await runner.run(RESEND, {"id": person_id}, as_user=world.people["USER"]))[
        "resendInvitation"
    ]
    assert [e["code"] for e in seen["errors"]] == ["FORBIDDEN"]
    assert seen["errors"][0]["message"].startswith("Seul qui peut inviter")
    # infra-users and third parties do not see them at all: not found, as for nobody
    for tier in ("INFRA_USER", "THIRD_PARTY"):
        hidden = (await runner.run(RESEND, {"id": person_id}, as_user=world.people[tier]))[
            "resendInvitation"
        ]
        nobody = (
            await runner.run(RESEND, {"id": gid("Person", 10**9)}, as_user=world.people[tier])
        )["resendInvitation"]
        assert hidden == nobody
        assert [e["code"] for e in hidden["errors"]] == ["NOT_FOUND"]
    assert len(await runner.mails_to(email, "activation")) == 1
    # the back office resends for anyone
    operator, _ = await make_person(
        session_factory, f"guichet{world.group.id}@comptoir.test", tier=Tier.OPERATOR
    )
    done = (await runner.run(RESEND, {"id": person_id}, as_user=operator))["resendInvitation"]
    assert done["errors"] == []
    assert len(await runner.mails_to(email, "activation")) == 2


async def test_a_reset_request_for_an_invited_account_sends_a_fresh_activation_link(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given an invitation whose link lapsed
    email = "perdu@mairie.test"
    await invite(
        runner,
        world,
        "ADMIN",
        email=email,
        fullName="Luc Perdu",
        tier="USER",
        memberId=gid("Member", world.member.id),
    )
    await expire_links_of(session_factory, email)
    # when the person asks for a new password, then the answer is the public one
    asked = await runner.run(REQUEST_RESET, {"email": email})
    unknown = await runner.run(REQUEST_RESET, {"email": "jamais-vu@mairie.test"})
    assert asked == unknown
    # and a fresh activation link (not a reset link) is in the outbox, and it works
    assert await runner.mails_to(email, "password_reset") == []
    [_, fresh] = await runner.mails_to(email, "activation")
    done = await runner.run(
        ACTIVATE, {"token": token_in(fresh.context["activation_url"]), "password": NEW_PASSWORD}
    )
    assert done["activateAccount"]["ok"] is True


async def test_a_user_of_one_member_need_not_name_it_but_an_admin_must(
    runner: Runner, world: World
) -> None:
    account = gid("BillingAccount", world.accounts[1].id)
    mine = await invite(
        runner,
        world,
        "USER",
        email="sans-membre@mairie.test",
        fullName="Sans Membre",
        tier="INFRA_USER",
        billingAccountIds=[account],
    )
    assert mine["errors"] == []
    assert mine["person"]["grants"][0]["member"]["legalName"] == world.member.legal_name
    by_admin = await invite(
        runner,
        world,
        "ADMIN",
        email="sans-membre2@mairie.test",
        fullName="Sans Membre",
        tier="INFRA_USER",
        billingAccountIds=[account],
    )
    assert [(e["field"], e["code"]) for e in by_admin["errors"]] == [("memberId", "REQUIRED")]
