"""The Help tab: `contacts` ("vos interlocuteurs") per tier, `guides` per audience with a signed
download, and the back office's mutations on both (validated, audited, one transaction)."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import UploadFile

from api.app import create_app
from db.models import User
from domain.enums import Tier
from tests.factories import World, make_person, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

CONTACTS = """
query($g: ID, $m: ID) {
  contacts(groupId: $g, memberId: $m) { id role name phone email openingHours groupId memberId }
}"""
CREATE_CONTACT = """
mutation($i: CreateContactInput!) {
  createContact(input: $i) {
    contact { id role name phone email openingHours groupId memberId }
    errors { field code message }
  }
}"""
UPDATE_CONTACT = """
mutation($i: UpdateContactInput!) {
  updateContact(input: $i) { contact { id name phone } errors { field code message } }
}"""
DELETE_CONTACT = """
mutation($i: DeleteContactInput!) {
  deleteContact(input: $i) { ok errors { field code message } }
}"""
GUIDES = "{ guides { id title description audience filename sizeBytes downloadUrl } }"
CREATE_GUIDE = """
mutation($i: CreateGuideInput!) {
  createGuide(input: $i) {
    guide { id title audience filename sizeBytes downloadUrl }
    errors { field code message }
  }
}"""
UPDATE_GUIDE = """
mutation($i: UpdateGuideInput!) {
  updateGuide(input: $i) { guide { id title sizeBytes downloadUrl } errors { field code } }
}"""
DELETE_GUIDE = """
mutation($i: DeleteGuideInput!) { deleteGuide(input: $i) { ok errors { field code } } }"""

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    world = await make_world(session_factory, "Aide")
    operator, _ = await make_person(session_factory, "back-office@aide.test", tier=Tier.OPERATOR)
    world.people["OPERATOR"] = operator
    return world


async def sql(sessions: async_sessionmaker[AsyncSession], text: str, **values: Any) -> list[Any]:
    async with sessions() as session:
        result = await session.exec(sa.text(text).bindparams(**values))  # type: ignore[call-overload]
        return list(result.all())


def pk_of_gid(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


def upload(content: bytes, filename: str = "guide.pdf") -> UploadFile:
    """What strawberry hands the resolver for a multipart file (tests/api/test_technical_requests
    sends real multipart requests; here the file goes in process)."""
    return UploadFile(file=io.BytesIO(content), filename=filename)


async def add_contact(runner: Runner, operator: User, **fields: Any) -> dict[str, Any]:
    data = await runner.run(CREATE_CONTACT, {"i": fields}, as_user=operator)
    payload: dict[str, Any] = data["createContact"]
    return payload


async def test_each_tier_reads_its_groups_and_members_contacts(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given: an account manager for the group and a dedicated adviser for each member
    operator = world.people["OPERATOR"]
    manager = await add_contact(
        runner,
        operator,
        role="ACCOUNT_MANAGER",
        name="Claire Besnard",
        phone="02 54 78 10 20",
        email="claire.besnard@fournisseur.test",
        groupId=gid("Group", world.group.id),
    )
    assert manager["errors"] == []
    assert manager["contact"]["groupId"] == gid("Group", world.group.id)
    mine = await add_contact(
        runner,
        operator,
        role="DEDICATED_ADVISER",
        name="Nadia Ferrand",
        phone="02 54 78 11 10",
        email="nadia.ferrand@fournisseur.test",
        memberId=gid("Member", world.member.id),
    )
    # the member's group follows from the member
    assert mine["contact"]["groupId"] == gid("Group", world.group.id)
    theirs = await add_contact(
        runner,
        operator,
        role="DEDICATED_ADVISER",
        name="Thomas Guérin",
        phone="02 54 78 11 11",
        email="thomas.guerin@fournisseur.test",
        memberId=gid("Member", world.other_member.id),
    )
    # and another group's whom nobody here may see
    stranger = await make_world(session_factory, "Ailleurs")
    elsewhere = await add_contact(
        runner,
        operator,
        role="ACCOUNT_MANAGER",
        name="Sophie Lemaire",
        phone="02 54 73 22 10",
        email="sophie.lemaire@fournisseur.test",
        groupId=gid("Group", stranger.group.id),
    )
    ids = {
        "manager": manager["contact"]["id"],
        "mine": mine["contact"]["id"],
        "theirs": theirs["contact"]["id"],
        "elsewhere": elsewhere["contact"]["id"],
    }
    # the expected lists, from SQL written apart: supplier's + the group's + the members'
    supplier = {
        gid("Contact", r[0])
        for r in await sql(session_factory, "SELECT id FROM contacts WHERE group_id IS NULL")
    }
    (group_service,) = [
        gid("Contact", r[0])
        for r in await sql(
            session_factory,
            "SELECT id FROM contacts WHERE group_id = :g AND member_id IS NULL"
            " AND role = 'CUSTOMER_SERVICE'",
            g=world.group.id,
        )
    ]
    group = {group_service, ids["manager"]}
    expected = {
        "ADMIN": supplier | group | {ids["mine"], ids["theirs"]},
        "USER": supplier | group | {ids["mine"]},
        "INFRA_USER": supplier | group | {ids["mine"]},
        "THIRD_PARTY": supplier | group | {ids["mine"], ids["theirs"]},  # accounts of both
    }
    for tier, wanted in expected.items():
        seen = (await runner.run(CONTACTS, as_user=world.people[tier]))["contacts"]
        assert {c["id"] for c in seen} == wanted, tier
        assert ids["elsewhere"] not in {c["id"] for c in seen}
    # the back office sees every contact, and narrows to a group
    every = (await runner.run(CONTACTS, as_user=operator))["contacts"]
    assert set(ids.values()) <= {c["id"] for c in every}
    narrowed = (
        await runner.run(CONTACTS, {"g": gid("Group", stranger.group.id)}, as_user=operator)
    )["contacts"]
    assert ids["elsewhere"] in {c["id"] for c in narrowed}
    assert ids["manager"] not in {c["id"] for c in narrowed}
    # the ADMIN narrows to one member: the other member's adviser goes
    one = (
        await runner.run(
            CONTACTS, {"m": gid("Member", world.member.id)}, as_user=world.people["ADMIN"]
        )
    )["contacts"]
    assert ids["mine"] in {c["id"] for c in one} and ids["theirs"] not in {c["id"] for c in one}
    # and naming the other group gives nothing, as naming a group that does not exist
    for tier in ("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"):
        for variables in (
            {"g": gid("Group", stranger.group.id)},
            {"m": gid("Member", stranger.member.id)},
        ):
            assert (await runner.run(CONTACTS, variables, as_user=world.people[tier])) == {
                "contacts": []
            }
    # supplier's first, as the Help tab lists them
    listed = (await runner.run(CONTACTS, as_user=world.people["USER"]))["contacts"]
    assert [c["groupId"] is None for c in listed] == sorted(
        (c["groupId"] is None for c in listed), reverse=True
    )


async def test_contact_input_is_validated_and_changes_are_audited(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    operator = world.people["OPERATOR"]
    base = {
        "role": "TECHNICAL_SUPPORT",
        "name": "Support",
        "phone": "09 70 81 40 00",
        "email": "support@fournisseur.test",
    }
    cases = [
        ({"phone": "appelez-nous"}, ("phone", "INVALID")),
        ({"email": "pas-une-adresse"}, ("email", "INVALID")),
        ({"name": "   "}, ("name", "REQUIRED")),
        ({"name": "x" * 121}, ("name", "TOO_LONG")),
        ({"openingHours": "x" * 201}, ("openingHours", "TOO_LONG")),
        ({"memberId": gid("Member", 10**9)}, ("memberId", "NOT_FOUND")),
        ({"groupId": gid("Group", 10**9)}, ("groupId", "NOT_FOUND")),
        (
            {"role": "CUSTOMER_SERVICE", "memberId": gid("Member", world.member.id)},
            ("role", "INVALID"),
        ),
    ]
    before = (await sql(session_factory, "SELECT COUNT(*) FROM contacts"))[0][0]
    for change, (field, code) in cases:
        payload = await add_contact(runner, operator, **(base | change))
        assert payload["contact"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)], change
        assert all(e["message"] for e in payload["errors"])
    assert (await sql(session_factory, "SELECT COUNT(*) FROM contacts"))[0][0] == before

    created = await add_contact(runner, operator, **base)
    contact_id = created["contact"]["id"]
    updated = await runner.run(
        UPDATE_CONTACT,
        {"i": {"contactId": contact_id, "name": "Support technique"}},
        as_user=operator,
    )
    assert updated["updateContact"]["contact"]["name"] == "Support technique"
    deleted = await runner.run(DELETE_CONTACT, {"i": {"contactId": contact_id}}, as_user=operator)
    assert deleted["deleteContact"] == {"ok": True, "errors": []}
    key = pk_of_gid(contact_id)
    actions = [
        r[0]
        for r in await sql(
            session_factory,
            "SELECT action FROM audit_log WHERE object_type = 'Contact' AND object_id = :k"
            " ORDER BY id",
            k=key,
        )
    ]
    assert actions == ["contact.create", "contact.update", "contact.delete"]
    # a missing contact is NOT_FOUND
    gone = await runner.run(DELETE_CONTACT, {"i": {"contactId": contact_id}}, as_user=operator)
    assert [e["code"] for e in gone["deleteContact"]["errors"]] == ["NOT_FOUND"]


async def test_the_suppliers_last_customer_service_stays(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    rows = await sql(
        session_factory,
        "SELECT id FROM contacts WHERE group_id IS NULL AND role = 'CUSTOMER_SERVICE'",
    )
    assert len(rows) == 1  # the migration's
    contact_id = gid("Contact", rows[0][0])
    operator = world.people["OPERATOR"]
    refused = await runner.run(DELETE_CONTACT, {"i": {"contactId": contact_id}}, as_user=operator)
    assert [e["code"] for e in refused["deleteContact"]["errors"]] == ["INVALID_STATE"]
    moved = await runner.run(
        UPDATE_CONTACT, {"i": {"contactId": contact_id, "role": "CHORUS_PRO"}}, as_user=operator
    )
    assert [e["code"] for e in moved["updateContact"]["errors"]] == ["INVALID_STATE"]
    assert len(await sql(session_factory, "SELECT id FROM contacts WHERE id = :i", i=rows[0][0]))


async def download(runner: Runner, url: str) -> httpx.Response:
    """GET the signed URL through the app's file route (the signature is what is checked)."""
    app = create_app(runner.settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        return await client.get(url.replace(runner.settings.public_url, ""))


async def test_guides_are_published_read_by_their_audience_and_replaced(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    operator = world.people["OPERATOR"]
    # given: a guide for everyone and one for the coordinators
    everyone = await runner.run(
        CREATE_GUIDE,
        {
            "i": {
                "title": "Guide de l'espace client",
                "description": "Se connecter, retrouver ses factures.",
                "audience": "EVERYONE",
                "file": upload(PDF, "Guide espace client.PDF"),
            }
        },
        as_user=operator,
    )
    assert everyone["createGuide"]["errors"] == []
    guide = everyone["createGuide"]["guide"]
    assert guide["filename"] == "Guide espace client.PDF" and guide["sizeBytes"] == len(PDF)
    coordinators = await runner.run(
        CREATE_GUIDE,
        {
            "i": {
                "title": "Piloter le groupement",
                "description": "Pour le coordonnateur.",
                "audience": "COORDINATORS",
                "file": upload(PDF),
            }
        },
        as_user=operator,
    )
    coordinators_id = coordinators["createGuide"]["guide"]["id"]
    # then: each tier reads the guides meant for it
    for tier, sees_coordinators in (
        ("ADMIN", True),
        ("USER", False),
        ("INFRA_USER", False),
        ("THIRD_PARTY", False),
        ("OPERATOR", True),
    ):
        seen = {g["id"] for g in (await runner.run(GUIDES, as_user=world.people[tier]))["guides"]}
        assert guide["id"] in seen, tier
        assert (coordinators_id in seen) is sees_coordinators, tier
    # and the signed URL serves the very bytes
    listed = (await runner.run(GUIDES, as_user=world.people["USER"]))["guides"]
    (mine,) = [g for g in listed if g["id"] == guide["id"]]
    answer = await download(runner, mine["downloadUrl"])
    assert answer.status_code == 200 and answer.content == PDF
    (stored,) = await sql(
        session_factory,
        "SELECT sha256, storage_key FROM guides WHERE title = :t",
        t="Guide de l'espace client",
    )
    assert stored[0] == hashlib.sha256(PDF).hexdigest()
    old_path = runner.settings.files_dir / stored[1]

    # when: the back office replaces the file, then removes the guide
    bigger = PDF + b"% seconde edition\n"
    replaced = await runner.run(
        UPDATE_GUIDE,
        {
            "i": {
                "guideId": guide["id"],
                "title": "Guide de l'espace client (2e éd.)",
                "file": upload(bigger),
            }
        },
        as_user=operator,
    )
    assert replaced["updateGuide"]["errors"] == []
    assert replaced["updateGuide"]["guide"]["sizeBytes"] == len(bigger)
    assert not old_path.exists()  # the replaced file is gone
    fresh = await download(runner, replaced["updateGuide"]["guide"]["downloadUrl"])
    assert fresh.content == bigger
    removed = await runner.run(DELETE_GUIDE, {"i": {"guideId": guide["id"]}}, as_user=operator)
    assert removed["deleteGuide"] == {"ok": True, "errors": []}
    gone = await download(runner, replaced["updateGuide"]["guide"]["downloadUrl"])
    assert gone.status_code == 404
    actions = [
        r[0]
        for r in await sql(
            session_factory,
            "SELECT action FROM audit_log WHERE object_type = 'Guide' AND object_id = :k"
            " ORDER BY id",
            k=pk_of_gid(guide["id"]),
        )
    ]
    assert actions == ["guide.create", "guide.update", "guide.delete"]


@pytest.mark.parametrize(
    ("content", "filename", "field", "code"),
    [
        (PNG, "guide.pdf", "file", "INVALID"),  # a PNG named .pdf: the bytes decide
        (b"", "guide.pdf", "file", "REQUIRED"),
        (PDF + bytes(2_000), "guide.pdf", "file", "TOO_LONG"),
    ],
)
async def test_a_refused_guide_stores_nothing(
    runner: Runner,
    world: World,
    session_factory: async_sessionmaker[AsyncSession],
    content: bytes,
    filename: str,
    field: str,
    code: str,
) -> None:
    small = Runner(
        runner.settings.model_copy(update={"max_attachment_bytes": 1_000}), runner.sessions
    )
    before = (await sql(session_factory, "SELECT COUNT(*) FROM guides"))[0][0]
    folder = runner.settings.files_dir / "guides"
    files_before = set(folder.rglob("*")) if folder.exists() else set()
    answer = await small.run(
        CREATE_GUIDE,
        {
            "i": {
                "title": "Refusé",
                "description": "Ne doit pas rester.",
                "audience": "EVERYONE",
                "file": upload(content, filename),
            }
        },
        as_user=world.people["OPERATOR"],
    )
    assert answer["createGuide"]["guide"] is None
    assert [(e["field"], e["code"]) for e in answer["createGuide"]["errors"]] == [(field, code)]
    assert (await sql(session_factory, "SELECT COUNT(*) FROM guides"))[0][0] == before
    assert (set(folder.rglob("*")) if folder.exists() else set()) == files_before


async def test_customers_cannot_manage_contacts_or_guides(runner: Runner, world: World) -> None:
    for tier in ("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"):
        result = await runner.raw(
            CREATE_CONTACT,
            {
                "i": {
                    "role": "ACCOUNT_MANAGER",
                    "name": "Moi",
                    "phone": "02 00 00 00 00",
                    "email": "moi@exemple.test",
                    "groupId": gid("Group", world.group.id),
                }
            },
            as_user=world.people[tier],
        )
        assert result.errors and result.errors[0].extensions["code"] == "FORBIDDEN", tier


async def test_the_help_tab_costs_the_same_statements_for_any_number_of_entries(
    runner: Runner, world: World, count_sql: SqlCounter
) -> None:
    document = "{ guides { id title downloadUrl } contacts { id name phone } }"
    user = world.people["USER"]
    await runner.run(document, as_user=user)  # warm: the caller's load is not the point
    with count_sql() as before:
        first = await runner.run(document, as_user=user)
    operator = world.people["OPERATOR"]
    for n in range(3):
        await add_contact(
            runner,
            operator,
            role="DEDICATED_ADVISER",
            name=f"Conseiller {n}",
            phone="02 54 00 00 0" + str(n),
            email=f"conseiller{n}@fournisseur.test",
            memberId=gid("Member", world.member.id),
        )
        await runner.run(
            CREATE_GUIDE,
            {
                "i": {
                    "title": f"Guide {n}",
                    "description": "Encore un.",
                    "audience": "MEMBERS",
                    "file": upload(PDF),
                }
            },
            as_user=operator,
        )
    with count_sql() as after:
        second = await runner.run(document, as_user=user)
    assert len(second["guides"]) >= len(first["guides"]) + 3
    assert len(second["contacts"]) == len(first["contacts"]) + 3
    assert len(after) == len(before)


async def test_the_welcome_pack_lists_the_members_guides(runner: Runner, world: World) -> None:
    # given: a guide for members and one for coordinators only
    operator = world.people["OPERATOR"]
    for title, audience in (
        ("Bien démarrer", "MEMBERS"),
        ("Réservé au coordonnateur", "COORDINATORS"),
    ):
        await runner.run(
            CREATE_GUIDE,
            {"i": {"title": title, "description": "…", "audience": audience, "file": upload(PDF)}},
            as_user=operator,
        )
    # when: the member's welcome pack goes
    answer = await runner.run(
        "mutation($m: [ID!]) { sendWelcomePacks(input: {memberIds: $m}) { errors { code } } }",
        {"m": [gid("Member", world.member.id)]},
        as_user=world.people["ADMIN"],
    )
    assert answer["sendWelcomePacks"]["errors"] == []
    # then: it lists the members' guide, linked to the Help tab, not the coordinators'
    (mail,) = await runner.mails_to(world.people["USER"].email, "welcome_pack")
    titles = [g["title"] for g in mail.context["guides"]]
    assert "Bien démarrer" in titles and "Réservé au coordonnateur" not in titles
    assert all("/aide/guides/" in g["url"] for g in mail.context["guides"])
