"""Readings of a site and self-readings, through GraphQL."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.schema.schema import build_schema
from db.models import AuditEntry, OutboxMail, Reading, Site, User
from domain.enums import MeterKind, ReadingSource, Register, Segment, SiteStatus, Tier
from tests.factories import ReadingSpec, World, make_metered_site, make_person, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

ACTUAL = ReadingSource.DISTRIBUTOR_ACTUAL
ESTIMATED = ReadingSource.DISTRIBUTOR_ESTIMATED
SELF = ReadingSource.SELF_READING
HP, HC = Register.HP, Register.HC

READINGS = """
query($siteId: ID!, $filter: ReadingFilter, $first: Int, $after: String) {
  readings(siteId: $siteId, filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      readOn register index source kind estimated rollover rolloverCount
      consumption consumptionKwh selfReadingStatus meterSerial
    } }
  }
}
"""

SUBMIT_SELF_READING = """
mutation($input: SubmitSelfReadingInput!) {
  submitSelfReading(input: $input) {
    readings { readOn register index source kind rollover consumption selfReadingStatus }
    countsInNextBillingCycle
    errors { field code message }
  }
}
"""

# Winter time: Paris is UTC+1. The last actual reading of the fresh sites is on 31 January.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
LAST_ACTUAL: list[ReadingSpec] = [
    (date(2026, 1, 31), HP, 10_000, ACTUAL, False),
    (date(2026, 1, 31), HC, 5_000, ACTUAL, False),
]


async def run_at(
    runner: Runner,
    document: str,
    variables: dict[str, Any],
    *,
    as_user: User,
    now: datetime = NOW,
) -> dict[str, Any]:
    """Runs a document as `as_user` at a fixed instant; fails on top-level errors."""
    context = await runner.context(as_user)
    context.now = now
    result = await build_schema().execute(document, variables, context_value=context)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Releve")


@pytest.fixture(scope="module")
async def history(session_factory: async_sessionmaker[AsyncSession], world: World) -> Site:
    """A site of accounts[0] with an HP/HC meter of 5 digits that went round in May."""
    site, _ = await make_metered_site(
        session_factory,
        world.accounts[0],
        registers=(HP, HC),
        readings=[
            (date(2025, 1, 31), HP, 99_500, ACTUAL, False),
            (date(2025, 1, 31), HC, 40_000, ACTUAL, False),
            (date(2025, 3, 31), HP, 99_800, ESTIMATED, False),
            (date(2025, 3, 31), HC, 40_100, ESTIMATED, False),
            (date(2025, 5, 31), HP, 300, ACTUAL, True),
            (date(2025, 5, 31), HC, 40_250, ACTUAL, False),
            (date(2025, 7, 15), HP, 900, SELF, False),
            (date(2025, 7, 15), HC, 40_400, SELF, False),
            (date(2025, 7, 31), HP, 1_000, ACTUAL, False),
            (date(2025, 7, 31), HC, 40_500, ACTUAL, False),
        ],
    )
    return site


async def fresh_site(
    sessions: async_sessionmaker[AsyncSession], world: World, **options: Any
) -> Site:
    options.setdefault("registers", (HP, HC))
    options.setdefault("readings", LAST_ACTUAL)
    site, _ = await make_metered_site(sessions, world.accounts[0], **options)
    return site


def submission(site_id: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "siteId": site_id,
        "readOn": "2026-03-09",
        "indexes": [{"register": "HP", "index": "10500"}, {"register": "HC", "index": "05200"}],
        "confirmed": True,
        "copyToEmail": None,
    }
    return {"input": data | overrides}


def nodes(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in answer["readings"]["edges"]]


# -- listing --------------------------------------------------------------------------------


async def test_readings_come_newest_first_with_the_consumption_since_the_previous_one(
    runner: Runner, world: World, history: Site
) -> None:
    # when the member's user lists the site's readings
    answer = await runner.run(
        READINGS, {"siteId": gid("Site", history.id)}, as_user=world.people["USER"]
    )
    # then each register's consumption is the difference with its previous reading, the
    # May rollover counts one turn of the meter, and estimates are flagged
    rows = [
        (n["readOn"], n["register"], n["index"], n["consumption"], n["rollover"], n["estimated"])
        for n in nodes(answer)
    ]
    assert rows == [
        ("2025-07-31", "HC", 40_500, 100, False, False),
        ("2025-07-31", "HP", 1_000, 100, False, False),
        ("2025-07-15", "HC", 40_400, 150, False, False),
        ("2025-07-15", "HP", 900, 600, False, False),
        ("2025-05-31", "HC", 40_250, 150, False, False),
        ("2025-05-31", "HP", 300, 500, True, False),
        ("2025-03-31", "HC", 40_100, 100, False, True),
        ("2025-03-31", "HP", 99_800, 300, False, True),
        ("2025-01-31", "HC", 40_000, None, False, False),
        ("2025-01-31", "HP", 99_500, None, False, False),
    ]
    assert answer["readings"]["totalCount"] == 10
    first = nodes(answer)[0]
    assert first["kind"] == "ACTUAL" and first["source"] == "DISTRIBUTOR_ACTUAL"
    assert nodes(answer)[3]["kind"] == "SELF_READING"
    assert nodes(answer)[3]["selfReadingStatus"] == "ACCEPTED"
    assert [n["rolloverCount"] for n in nodes(answer) if n["register"] == "HP"] == [1, 1, 1, 0, 0]


async def test_readings_filter_on_period_kinds_and_registers(
    runner: Runner, world: World, history: Site
) -> None:
    site = gid("Site", history.id)
    person = world.people["INFRA_USER"]

    async def listed(filter: dict[str, Any]) -> list[tuple[str, str]]:
        answer = await runner.run(READINGS, {"siteId": site, "filter": filter}, as_user=person)
        assert answer["readings"]["totalCount"] == len(nodes(answer))
        return [(n["readOn"], n["register"]) for n in nodes(answer)]

    period = await listed({"readFrom": "2025-03-01", "readTo": "2025-06-30"})
    assert period == [
        ("2025-05-31", "HC"),
        ("2025-05-31", "HP"),
        ("2025-03-31", "HC"),
        ("2025-03-31", "HP"),
    ]
    actual = await listed({"kinds": ["ACTUAL"], "registers": ["HP"]})
    assert actual == [("2025-07-31", "HP"), ("2025-05-31", "HP"), ("2025-01-31", "HP")]
    estimated_or_self = await listed({"kinds": ["ESTIMATED", "SELF_READING"]})
    assert {day for day, _ in estimated_or_self} == {"2025-03-31", "2025-07-15"}
    # the consumption of a filtered reading still counts from its real predecessor
    answer = await runner.run(
        READINGS,
        {"siteId": site, "filter": {"readFrom": "2025-05-31", "registers": ["HP"]}},
        as_user=person,
    )
    assert [n["consumption"] for n in nodes(answer)] == [100, 600, 500]


async def test_readings_page_with_keyset_cursors(
    runner: Runner, world: World, history: Site
) -> None:
    site = gid("Site", history.id)
    seen: list[tuple[str, str]] = []
    after = None
    for _ in range(4):
        answer = await runner.run(
            READINGS, {"siteId": site, "first": 3, "after": after}, as_user=world.people["ADMIN"]
        )
        seen += [(n["readOn"], n["register"]) for n in nodes(answer)]
        info = answer["readings"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert len(seen) == 10 and len(set(seen)) == 10


async def test_a_bad_period_or_cursor_is_a_query_error(
    runner: Runner, world: World, history: Site
) -> None:
    result = await runner.raw(
        READINGS,
        {
            "siteId": gid("Site", history.id),
            "filter": {"readFrom": "2025-06-01", "readTo": "2025-01-01"},
        },
        as_user=world.people["USER"],
    )
    assert result.errors[0].extensions["code"] == "INVALID"
    bad_cursor = base64.urlsafe_b64encode(json.dumps(["x"]).encode()).decode()
    result = await runner.raw(
        READINGS,
        {"siteId": gid("Site", history.id), "after": bad_cursor},
        as_user=world.people["USER"],
    )
    assert result.errors[0].extensions["code"] == "INVALID"


async def test_a_site_outside_the_perimeter_has_no_readings(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given a site of accounts[1], which the infra-user does not hold
    other, _ = await make_metered_site(
        session_factory,
        world.accounts[1],
        readings=[(date(2025, 1, 31), Register.BASE, 1, ACTUAL, False)],
    )
    person = world.people["INFRA_USER"]
    theirs = await runner.run(READINGS, {"siteId": gid("Site", other.id)}, as_user=person)
    missing = await runner.run(READINGS, {"siteId": gid("Site", 10**9)}, as_user=person)
    wrong_type = await runner.run(READINGS, {"siteId": gid("Meter", other.id)}, as_user=person)
    assert theirs == missing == wrong_type == {"readings": None}


async def test_listing_costs_the_same_statements_for_10_or_100_readings(
    runner: Runner,
    world: World,
    count_sql: SqlCounter,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # given a site with 120 readings
    readings: list[ReadingSpec] = []
    for month in range(60):
        day = date(2020 + month // 12, month % 12 + 1, 28)
        readings += [(day, HP, 1_000 + month * 50, ACTUAL, False)]
        readings += [(day, HC, 500 + month * 20, ACTUAL, False)]
    site, _ = await make_metered_site(
        session_factory, world.accounts[0], registers=(HP, HC), readings=readings
    )
    variables = {"siteId": gid("Site", site.id)}
    person = world.people["USER"]
    # when a page of 10, then of 100, is read
    with count_sql() as small:
        answer = await runner.run(READINGS, variables | {"first": 10}, as_user=person)
    assert len(nodes(answer)) == 10
    with count_sql() as large:
        answer = await runner.run(READINGS, variables | {"first": 100}, as_user=person)
    # then the page grew tenfold, the statements did not
    assert len(nodes(answer)) == 100
    assert answer["readings"]["totalCount"] == 120
    assert len(large) == len(small), large.statements


# -- self-readings ----------------------------------------------------------------------------


async def stored_for(runner: Runner, site: Site) -> int:
    return await runner.count(Reading, Reading.site_id == site.id)


async def mails_for(runner: Runner, site: Site) -> list[OutboxMail]:
    async with runner.sessions() as session:
        rows = await session.exec(
            OutboxMail.__table__.select().where(  # type: ignore[attr-defined]
                OutboxMail.idempotency_key.like(f"self-reading:{site.id}:%")  # type: ignore[attr-defined]
            )
        )
        return list(rows.all())


async def test_a_self_reading_is_stored_confirmed_by_mail_and_audited(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given a non-communicating HP/HC meter last read on 31 January
    site = await fresh_site(session_factory, world)
    person = world.people["USER"]
    # when the member's user sends both indexes on 10 March, with a copy to a colleague
    answer = await run_at(
        runner,
        SUBMIT_SELF_READING,
        submission(gid("Site", site.id), copyToEmail="Compta@Mairie.test"),
        as_user=person,
    )
    # then both indexes are stored as accepted self-readings, in the next billing cycle
    payload = answer["submitSelfReading"]
    assert payload["errors"] == []
    assert payload["countsInNextBillingCycle"] is True
    assert [(r["register"], r["index"], r["consumption"]) for r in payload["readings"]] == [
        ("HP", 10_500, 500),
        ("HC", 5_200, 200),
    ]
    assert {r["source"] for r in payload["readings"]} == {"SELF_READING"}
    assert {r["selfReadingStatus"] for r in payload["readings"]} == {"ACCEPTED"}
    assert await stored_for(runner, site) == 4
    async with session_factory() as session:
        stored = (
            await session.exec(
                Reading.__table__.select().where(  # type: ignore[attr-defined]
                    Reading.site_id == site.id, Reading.source == SELF
                )
            )
        ).all()
    assert {r.submitted_by_user_id for r in stored} == {person.id}
    assert {tuple(r.confirmation_emails) for r in stored} == {(person.email, "compta@mairie.test")}
    # and one confirmation mail goes to the person and the copy address
    (mail,) = await mails_for(runner, site)
    assert mail.recipients == [person.email, "compta@mairie.test"]
    assert mail.template == "self_reading_confirmation"
    assert site.point_number in mail.subject
    assert mail.context["counts_in_next_billing_cycle"] is True
    assert [i["index"] for i in mail.context["indexes"]] == [10_500, 5_200]
    audits = await runner.count(
        AuditEntry,
        AuditEntry.object_type == "Site",
        AuditEntry.object_id == str(site.id),
        AuditEntry.action == "self_reading.submit",
    )
    assert audits == 1
    # and the listing shows them
    listed = await runner.run(READINGS, {"siteId": gid("Site", site.id)}, as_user=person)
    assert nodes(listed)[0]["kind"] == "SELF_READING"


async def test_the_confirmation_mail_renders_in_french(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from mailers.mails import build_message

    site = await fresh_site(session_factory, world)
    await run_at(
        runner, SUBMIT_SELF_READING, submission(gid("Site", site.id)), as_user=world.people["USER"]
    )
    (mail,) = await mails_for(runner, site)
    message = build_message(
        idempotency_key=mail.idempotency_key,
        template=mail.template,
        recipients=mail.recipients,
        subject=mail.subject,
        context=mail.context,
        sender="Comptoir <no-reply@comptoir.example>",
    )
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    # one register per line, each with its unit and the consumption since 31 January
    assert (
        "\n- Heures pleines : index 10\u202f500 kWh, consommation depuis le relevé du "
        "31 janvier 2026 : 500 kWh\n"
        "- Heures creuses : index 5\u202f200 kWh, consommation depuis le relevé du "
        "31 janvier 2026 : 200 kWh\n"
    ) in text
    assert "prochaine facture" in text
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "9 mars 2026" in html


@pytest.mark.parametrize(
    ("now", "counts"),
    [
        (datetime(2026, 3, 19, 22, 30, tzinfo=UTC), True),  # 23:30 on the 19th in Paris
        (datetime(2026, 3, 19, 23, 30, tzinfo=UTC), False),  # 00:30 on the 20th in Paris
    ],
)
async def test_received_before_the_20th_in_paris_counts_in_the_next_billing_cycle(
    runner: Runner,
    world: World,
    session_factory: async_sessionmaker[AsyncSession],
    now: datetime,
    counts: bool,
) -> None:
    site = await fresh_site(session_factory, world)
    answer = await run_at(
        runner,
        SUBMIT_SELF_READING,
        submission(gid("Site", site.id), readOn="2026-03-19"),
        as_user=world.people["INFRA_USER"],
        now=now,
    )
    assert answer["submitSelfReading"]["errors"] == []
    assert answer["submitSelfReading"]["countsInNextBillingCycle"] is counts
    (mail,) = await mails_for(runner, site)
    assert mail.context["counts_in_next_billing_cycle"] is counts


async def test_a_meter_that_went_round_is_accepted_as_a_rollover(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    site = await fresh_site(
        session_factory,
        world,
        registers=(Register.BASE,),
        readings=[(date(2026, 1, 31), Register.BASE, 99_900, ACTUAL, False)],
    )
    answer = await run_at(
        runner,
        SUBMIT_SELF_READING,
        submission(gid("Site", site.id), indexes=[{"register": "BASE", "index": "00150"}]),
        as_user=world.people["ADMIN"],
    )
    (reading,) = answer["submitSelfReading"]["readings"]
    assert (reading["index"], reading["rollover"], reading["consumption"]) == (150, True, 250)


# -- one consumption for a self-reading: the answer, the list and the mail ---------------------

SUBMIT_WITH_CONSUMPTION = """
mutation($input: SubmitSelfReadingInput!) {
  submitSelfReading(input: $input) {
    readings {
      readOn register index indexUnit consumption consumptionKwh consumptionSince
      selfReadingStatus
    }
    errors { field code message }
  }
}
"""
READINGS_WITH_CONSUMPTION = """
query($siteId: ID!) {
  readings(siteId: $siteId, first: 100) {
    edges { node {
      readOn register index source indexUnit consumption consumptionKwh consumptionSince
      selfReadingStatus
    } }
  }
}
"""
# Reference readings (no estimate) of the same meter and register before a self-reading: what
# the customer is told the consumption is measured from. Written apart from the code.
REFERENCE_SQL = """
SELECT r.id, r.read_on, r.register_code, r.index_value, m.digits,
  (SELECT p.index_value FROM readings p
    WHERE p.meter_id = r.meter_id AND p.register_code = r.register_code
      AND p.source IN ('DISTRIBUTOR_ACTUAL', 'SPECIAL', 'SELF_READING')
      AND (p.self_reading_status IS NULL OR p.self_reading_status = 'ACCEPTED')
      AND (p.read_on < r.read_on OR (p.read_on = r.read_on AND p.id < r.id))
    ORDER BY p.read_on DESC, p.id DESC LIMIT 1) AS reference_index,
  (SELECT p.read_on FROM readings p
    WHERE p.meter_id = r.meter_id AND p.register_code = r.register_code
      AND p.source IN ('DISTRIBUTOR_ACTUAL', 'SPECIAL', 'SELF_READING')
      AND (p.self_reading_status IS NULL OR p.self_reading_status = 'ACCEPTED')
      AND (p.read_on < r.read_on OR (p.read_on = r.read_on AND p.id < r.id))
    ORDER BY p.read_on DESC, p.id DESC LIMIT 1) AS reference_on
FROM readings r JOIN meters m ON m.id = r.meter_id
WHERE r.site_id = :site AND r.source = 'SELF_READING' AND r.self_reading_status = 'ACCEPTED'
ORDER BY r.read_on, r.id
"""


async def expected_self_reading_consumptions(
    sessions: async_sessionmaker[AsyncSession], site_id: int
) -> dict[tuple[str, str], tuple[int | None, str | None]]:
    """(read on, register) → (consumption in the meter's units, reference date): the index
    minus the last reference index, one turn of the meter when it is lower."""
    async with sessions() as session:
        rows = (await session.exec(sa.text(REFERENCE_SQL).bindparams(site=site_id))).all()  # type: ignore[call-overload]
    out: dict[tuple[str, str], tuple[int | None, str | None]] = {}
    for _id, read_on, register, index, digits, reference, reference_on in rows:
        if reference is None:
            out[(str(read_on), register)] = (None, None)
            continue
        step = index - reference if index >= reference else 10**digits - reference + index
        out[(str(read_on), register)] = (step, str(reference_on))
    return out


async def test_the_answer_the_list_and_the_mail_show_one_consumption(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given a gas meter (m³, 11.2 kWh/m³) actually read at 10,000 on 31 January, then
    # estimated by the supplier at 14,000 on 28 February
    site = await fresh_site(
        session_factory,
        world,
        registers=(Register.BASE,),
        kind=MeterKind.GAS_CONVENTIONAL,
        segment=Segment.T2,
        car_kwh=200_000,
        profile="P013",
        coefficient=Decimal("11.2"),
        readings=[
            (date(2026, 1, 31), Register.BASE, 10_000, ACTUAL, False),
            (date(2026, 2, 28), Register.BASE, 14_000, ReadingSource.SUPPLIER_ESTIMATED, False),
        ],
    )
    # when the customer reads 11,000 on 9 March (below the estimate, above the actual index)
    answer = await run_at(
        runner,
        SUBMIT_WITH_CONSUMPTION,
        submission(gid("Site", site.id), indexes=[{"register": "BASE", "index": "11000"}]),
        as_user=world.people["USER"],
    )
    payload = answer["submitSelfReading"]
    assert payload["errors"] == []
    (submitted,) = payload["readings"]
    # then the consumption is measured from the last actual reading, as the SQL says
    expected = await expected_self_reading_consumptions(session_factory, site.id)
    consumption, since = expected[("2026-03-09", "BASE")]
    assert (consumption, since) == (1_000, "2026-01-31")
    kwh = int((Decimal(consumption) * Decimal("11.2")).quantize(Decimal(1)))
    assert submitted == {
        "readOn": "2026-03-09",
        "register": "BASE",
        "index": 11_000,
        "indexUnit": "m³",
        "consumption": consumption,
        "consumptionKwh": kwh,
        "consumptionSince": since,
        "selfReadingStatus": "ACCEPTED",
    }
    # and the list shows the same figures for that reading
    listed = await runner.run(
        READINGS_WITH_CONSUMPTION, {"siteId": gid("Site", site.id)}, as_user=world.people["USER"]
    )
    (in_list,) = [n for n in nodes(listed) if n["source"] == "SELF_READING"]
    assert {k: v for k, v in in_list.items() if k != "source"} == submitted
    # and so does the mail, in kWh with the m³ beside
    (mail,) = await mails_for(runner, site)
    (item,) = mail.context["indexes"]
    assert (item["consumption"], item["consumption_kwh"], item["unit"], item["since"]) == (
        consumption,
        kwh,
        "m³",
        since,
    )
    from mailers.mails import build_message

    text = build_message(
        idempotency_key=mail.idempotency_key,
        template=mail.template,
        recipients=mail.recipients,
        subject=mail.subject,
        context=mail.context,
        sender="Comptoir <no-reply@comptoir.example>",
    ).get_body(preferencelist=("plain",))
    assert text is not None
    assert (
        "- Base : index 11\u202f000 m³, consommation depuis le relevé du 31 janvier 2026 : "
        "11\u202f200 kWh (1\u202f000 m³)\n"
    ) in str(text.get_content())


async def test_no_accepted_self_reading_shows_a_negative_consumption(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given a meter that went round (99,900 then a self-reading of 150) and one whose last
    # estimate is above the customer's index
    turned = await fresh_site(
        session_factory,
        world,
        registers=(Register.BASE,),
        readings=[(date(2026, 1, 31), Register.BASE, 99_900, ACTUAL, False)],
    )
    below_estimate = await fresh_site(
        session_factory,
        world,
        readings=[
            *LAST_ACTUAL,
            (date(2026, 2, 28), HP, 12_000, ReadingSource.SUPPLIER_ESTIMATED, False),
            (date(2026, 2, 28), HC, 6_000, ReadingSource.SUPPLIER_ESTIMATED, False),
        ],
    )
    for site, indexes in (
        (turned, [{"register": "BASE", "index": "00150"}]),
        (below_estimate, None),
    ):
        variables = submission(gid("Site", site.id))
        if indexes is not None:
            variables["input"]["indexes"] = indexes
        answer = await run_at(
            runner, SUBMIT_WITH_CONSUMPTION, variables, as_user=world.people["ADMIN"]
        )
        assert answer["submitSelfReading"]["errors"] == []
    # then on every site of the world holding accepted self-readings, each one's consumption
    # is the SQL's, never negative
    async with session_factory() as session:
        site_ids = (
            await session.exec(  # type: ignore[call-overload]
                sa.text(
                    "SELECT DISTINCT r.site_id FROM readings r JOIN sites s ON s.id = r.site_id"
                    " JOIN members m ON m.id = s.member_id"
                    " WHERE m.group_id = :g AND r.source = 'SELF_READING'"
                    " AND r.self_reading_status = 'ACCEPTED'"
                ).bindparams(g=world.group.id)
            )
        ).all()
    assert {turned.id, below_estimate.id} <= {i for (i,) in site_ids}
    checked = 0
    for (site_id,) in site_ids:
        expected = await expected_self_reading_consumptions(session_factory, site_id)
        listed = await runner.run(
            READINGS_WITH_CONSUMPTION,
            {"siteId": gid("Site", site_id)},
            as_user=world.people["ADMIN"],
        )
        for node in nodes(listed):
            if node["source"] != "SELF_READING" or node["selfReadingStatus"] != "ACCEPTED":
                continue
            consumption, since = expected[(node["readOn"], node["register"])]
            assert (node["consumption"], node["consumptionSince"]) == (consumption, since)
            assert node["consumption"] is None or node["consumption"] >= 0
            checked += 1
    assert checked >= 3


CASES = [
    ("not confirmed", {"confirmed": False}, "REQUIRED", "confirmed"),
    ("bad copy address", {"copyToEmail": "pas-une-adresse"}, "INVALID", "copyToEmail"),
    (
        "a register missing",
        {"indexes": [{"register": "HP", "index": "10500"}]},
        "REGISTERS_MISMATCH",
        "indexes",
    ),
    (
        "a register unknown",
        {
            "indexes": [
                {"register": "HP", "index": "10500"},
                {"register": "HC", "index": "5200"},
                {"register": "BASE", "index": "1"},
            ]
        },
        "REGISTERS_MISMATCH",
        "indexes",
    ),
    (
        "not a number",
        {"indexes": [{"register": "HP", "index": "10500,5"}, {"register": "HC", "index": "5200"}]},
        "INVALID",
        "indexes",
    ),
    (
        "too many digits",
        {"indexes": [{"register": "HP", "index": "100000"}, {"register": "HC", "index": "5200"}]},
        "TOO_MANY_DIGITS",
        "indexes",
    ),
    ("in the future", {"readOn": "2026-03-11"}, "DATE_IN_FUTURE", "readOn"),
    ("before the last reading", {"readOn": "2026-01-30"}, "DATE_BEFORE_LAST_READING", "readOn"),
    (
        "below the last index",
        {"indexes": [{"register": "HP", "index": "9000"}, {"register": "HC", "index": "5200"}]},
        "INDEX_BELOW_LAST",
        "indexes",
    ),
    (
        "far above the CAR",
        {"indexes": [{"register": "HP", "index": "16000"}, {"register": "HC", "index": "5200"}]},
        "CHECK_FIGURES",
        "indexes",
    ),
]


@pytest.mark.parametrize(("name", "overrides", "code", "field"), CASES, ids=[c[0] for c in CASES])
async def test_each_broken_rule_is_refused_and_nothing_is_written(
    runner: Runner,
    world: World,
    session_factory: async_sessionmaker[AsyncSession],
    name: str,
    overrides: dict[str, Any],
    code: str,
    field: str,
) -> None:
    site = await fresh_site(session_factory, world)
    answer = await run_at(
        runner,
        SUBMIT_SELF_READING,
        submission(gid("Site", site.id), **overrides),
        as_user=world.people["USER"],
    )
    payload = answer["submitSelfReading"]
    assert payload["readings"] is None and payload["countsInNextBillingCycle"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert payload["errors"][0]["message"]
    # nothing half-written: no reading, no mail, no audit entry
    assert await stored_for(runner, site) == 2
    assert await mails_for(runner, site) == []
    assert (
        await runner.count(
            AuditEntry, AuditEntry.object_id == str(site.id), AuditEntry.object_type == "Site"
        )
        == 0
    )


async def test_every_broken_rule_is_reported_at_once(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    site = await fresh_site(session_factory, world)
    answer = await run_at(
        runner,
        SUBMIT_SELF_READING,
        submission(gid("Site", site.id), confirmed=False, readOn="2027-01-01", copyToEmail="@@"),
        as_user=world.people["USER"],
    )
    fields = [e["field"] for e in answer["submitSelfReading"]["errors"]]
    assert fields == ["confirmed", "readOn", "copyToEmail"]


async def test_communicating_meters_and_terminated_contracts_take_no_self_reading(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # the world's own site has a Linky meter
    linky = await run_at(
        runner,
        SUBMIT_SELF_READING,
        submission(gid("Site", world.sites[0].id), indexes=[{"register": "BASE", "index": "1"}]),
        as_user=world.people["USER"],
    )
    assert [e["code"] for e in linky["submitSelfReading"]["errors"]] == ["METER_COMMUNICATING"]
    gazpar = await fresh_site(
        session_factory,
        world,
        kind=MeterKind.GAZPAR,
        segment=Segment.T2,
        profile="P012",
        registers=(Register.BASE,),
        readings=[],
    )
    answer = await run_at(
        runner,
        SUBMIT_SELF_READING,
        submission(gid("Site", gazpar.id), indexes=[{"register": "BASE", "index": "1"}]),
        as_user=world.people["USER"],
    )
    assert [e["code"] for e in answer["submitSelfReading"]["errors"]] == ["METER_COMMUNICATING"]
    ended = await fresh_site(session_factory, world, status=SiteStatus.TERMINATED)
    answer = await run_at(
        runner, SUBMIT_SELF_READING, submission(gid("Site", ended.id)), as_user=world.people["USER"]
    )
    assert [e["code"] for e in answer["submitSelfReading"]["errors"]] == ["INVALID_STATE"]


async def test_a_read_only_third_party_is_forbidden_on_a_site_it_sees(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given a site of accounts[0], which the read-only third party reads
    site = await fresh_site(session_factory, world)
    person = world.people["THIRD_PARTY"]
    listed = await run_at(runner, READINGS, {"siteId": gid("Site", site.id)}, as_user=person)
    assert listed["readings"]["totalCount"] == 2
    # when it sends a self-reading, then it is told it may read but not write (the rule of
    # api/resolvers/writable.py); a site it does not see stays "not found"
    theirs = await run_at(
        runner, SUBMIT_SELF_READING, submission(gid("Site", site.id)), as_user=person
    )
    missing = await run_at(
        runner, SUBMIT_SELF_READING, submission(gid("Site", 10**9)), as_user=person
    )
    assert [e["code"] for e in theirs["submitSelfReading"]["errors"]] == ["FORBIDDEN"]
    assert [e["code"] for e in missing["submitSelfReading"]["errors"]] == ["NOT_FOUND"]
    assert await stored_for(runner, site) == 2


async def test_a_third_party_allowed_to_submit_may_self_read(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    adviser, _ = await make_person(
        session_factory,
        f"conseil{world.group.id}@releve.test",
        tier=Tier.THIRD_PARTY,
        group_id=world.group.id,
        billing_account_ids=(world.accounts[0].id,),
        may_submit=True,
    )
    site = await fresh_site(session_factory, world)
    answer = await run_at(
        runner, SUBMIT_SELF_READING, submission(gid("Site", site.id)), as_user=adviser
    )
    assert answer["submitSelfReading"]["errors"] == []


async def test_an_infra_user_cannot_self_read_outside_their_accounts(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    site, _ = await make_metered_site(
        session_factory, world.accounts[1], registers=(HP, HC), readings=LAST_ACTUAL
    )
    answer = await run_at(
        runner,
        SUBMIT_SELF_READING,
        submission(gid("Site", site.id)),
        as_user=world.people["INFRA_USER"],
    )
    assert [e["code"] for e in answer["submitSelfReading"]["errors"]] == ["NOT_FOUND"]


async def test_one_self_reading_per_site_and_day(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    site = await fresh_site(session_factory, world)
    person = world.people["USER"]
    first = await run_at(
        runner, SUBMIT_SELF_READING, submission(gid("Site", site.id)), as_user=person
    )
    assert first["submitSelfReading"]["errors"] == []
    # the same reading date again, or another date received the same day: refused
    again = await run_at(
        runner,
        SUBMIT_SELF_READING,
        submission(
            gid("Site", site.id),
            indexes=[{"register": "HP", "index": "10600"}, {"register": "HC", "index": "5300"}],
        ),
        as_user=person,
    )
    assert [(e["code"], e["field"]) for e in again["submitSelfReading"]["errors"]] == [
        ("ALREADY_EXISTS", "readOn")
    ]
    same_day = await run_at(
        runner,
        SUBMIT_SELF_READING,
        submission(
            gid("Site", site.id),
            readOn="2026-03-10",
            indexes=[{"register": "HP", "index": "10600"}, {"register": "HC", "index": "5300"}],
        ),
        as_user=person,
    )
    assert [e["code"] for e in same_day["submitSelfReading"]["errors"]] == ["ALREADY_EXISTS"]
    assert await stored_for(runner, site) == 4
    assert len(await mails_for(runner, site)) == 1
    # the next day is fine, and the accepted self-reading is now the reference
    next_day = await run_at(
        runner,
        SUBMIT_SELF_READING,
        submission(
            gid("Site", site.id),
            readOn="2026-03-11",
            indexes=[{"register": "HP", "index": "10400"}, {"register": "HC", "index": "5300"}],
        ),
        as_user=person,
        now=datetime(2026, 3, 11, 9, 0, tzinfo=UTC),
    )
    assert [e["code"] for e in next_day["submitSelfReading"]["errors"]] == ["INDEX_BELOW_LAST"]
