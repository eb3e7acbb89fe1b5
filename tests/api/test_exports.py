"""exportSites, exportReadings, exportConsumption: the mutation through GraphQL, the file over
real HTTP through its signed URL (CSV parsed with csv, XLSX opened with openpyxl)."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import openpyxl
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.signed_urls import sign_file_key, verify_file_token
from domain.enums import ReadingSource, Register
from tests.e2e.server import LiveServer, http_client
from tests.factories import World, make_metered_site, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

EXPORT_SITES = """
mutation($i: ExportSitesInput!) {
  exportSites(input: $i) { url expiresAt rowCount errors { field code message } }
}
"""

EXPORT_READINGS = """
mutation($i: ExportReadingsInput!) {
  exportReadings(input: $i) { url expiresAt rowCount errors { field code message } }
}
"""

EXPORT_CONSUMPTION = """
mutation($i: ExportConsumptionInput!) {
  exportConsumption(input: $i) { url expiresAt rowCount errors { field code message } }
}
"""

SITE_CONSUMPTION = """
query($ids: [ID!]!) {
  siteConsumption(siteIds: $ids, fromMonth: "2026-01", toMonth: "2026-03") {
    months { month kwh kind }
  }
}
"""

BASE = Register.BASE
ACTUAL = ReadingSource.DISTRIBUTOR_ACTUAL


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    """A tenant whose accounts[0] also has a metered site with readings."""
    world = await make_world(session_factory, "Export")
    site, _ = await make_metered_site(
        session_factory,
        world.accounts[0],
        registers=(Register.HP, Register.HC),
        readings=[
            (date(2025, 12, 31), Register.HP, 99_900, ACTUAL, False),
            (date(2025, 12, 31), Register.HC, 500, ACTUAL, False),
            (date(2026, 1, 31), Register.HP, 400, ACTUAL, True),
            (date(2026, 1, 31), Register.HC, 800, ACTUAL, False),
            (date(2026, 2, 28), Register.HP, 900, ReadingSource.SUPPLIER_ESTIMATED, False),
            (date(2026, 2, 28), Register.HC, 1000, ReadingSource.SUPPLIER_ESTIMATED, False),
        ],
    )
    return World(
        world.name,
        world.group,
        world.member,
        world.other_member,
        world.accounts,
        (*world.sites, site),
        world.people,
        world.grants,
    )


async def download(server: LiveServer, url: str) -> tuple[int, bytes, str]:
    async with http_client(server.url) as client:
        response = await client.get(urlsplit(url).path)
    return response.status_code, response.content, response.headers.get("content-type", "")


def parse_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, for French Excel"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def parse_xlsx(body: bytes) -> list[list[Any]]:
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    rows = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    return rows


async def test_the_perimeter_file_lists_every_site_of_the_filter_in_csv(
    runner: Runner, world: World, live_server: LiveServer
) -> None:
    # given: an ADMIN of the tenant
    # when
    data = await runner.run(EXPORT_SITES, {"i": {"format": "CSV"}}, as_user=world.people["ADMIN"])
    # then
    payload = data["exportSites"]
    assert payload["errors"] == []
    assert payload["rowCount"] == len(world.sites)
    status, body, _ = await download(live_server, payload["url"])
    assert status == 200
    rows = parse_csv(body)
    header, lines = rows[0], rows[1:]
    assert header[:3] == ["PRM / PCE", "Énergie", "Segment"]
    assert "Index heures pleines (HP)" in header
    assert sorted(line[0] for line in lines) == sorted(s.point_number for s in world.sites)
    metered = next(line for line in lines if line[0] == world.sites[-1].point_number)
    assert metered[header.index("Dernière relève réelle")] == "31/01/2026"
    assert metered[header.index("Index heures pleines (HP)")] == "400"
    assert metered[header.index("Membre")] == world.member.legal_name


async def test_a_third_party_only_gets_its_billing_accounts_sites_in_xlsx(
    runner: Runner, world: World, live_server: LiveServer
) -> None:
    # given: the third party holds accounts[0] and accounts[2]
    theirs = [
        s
        for s in world.sites
        if s.billing_account_id in {world.accounts[0].id, world.accounts[2].id}
    ]
    # when
    data = await runner.run(
        EXPORT_SITES, {"i": {"format": "XLSX"}}, as_user=world.people["THIRD_PARTY"]
    )
    # then
    payload = data["exportSites"]
    assert payload["rowCount"] == len(theirs)
    status, body, content_type = await download(live_server, payload["url"])
    assert status == 200
    assert "spreadsheetml" in content_type
    rows = parse_xlsx(body)
    assert rows[0][0] == "PRM / PCE"
    assert sorted(r[0] for r in rows[1:]) == sorted(s.point_number for s in theirs)


async def test_the_readings_export_has_consumption_with_rollovers(
    runner: Runner, world: World, live_server: LiveServer
) -> None:
    # given
    site = world.sites[-1]
    # when: January and February only (the December readings are the previous ones)
    data = await runner.run(
        EXPORT_READINGS,
        {
            "i": {
                "format": "CSV",
                "from": "2026-01-01",
                "to": "2026-02-28",
                "filter": {"billingAccountIds": [gid("BillingAccount", world.accounts[0].id)]},
            }
        },
        as_user=world.people["INFRA_USER"],
    )
    # then
    payload = data["exportReadings"]
    assert payload["errors"] == []
    assert payload["rowCount"] == 4
    _, body, _ = await download(live_server, payload["url"])
    header, *lines = parse_csv(body)
    mine = [dict(zip(header, line, strict=True)) for line in lines if line[0] == site.point_number]
    january_hp = next(
        r for r in mine if r["Date de relève"] == "31/01/2026" and r["Poste"] == "Heures pleines"
    )
    assert january_hp["Tour de compteur"] == "oui"
    assert january_hp["Consommation (kWh)"] == "500"  # 99,900 → 100,000 → 400
    february = [r for r in mine if r["Date de relève"] == "28/02/2026"]
    assert {r["Estimé"] for r in february} == {"oui"}


async def test_the_consumption_export_matches_the_site_series(
    runner: Runner, world: World, live_server: LiveServer
) -> None:
    # given
    site = world.sites[-1]
    series = await runner.run(
        SITE_CONSUMPTION, {"ids": [gid("Site", site.id)]}, as_user=world.people["USER"]
    )
    months = series["siteConsumption"][0]["months"]
    # when
    data = await runner.run(
        EXPORT_CONSUMPTION,
        {"i": {"format": "XLSX", "fromMonth": "2026-01", "toMonth": "2026-03"}},
        as_user=world.people["USER"],
    )
    # then: one row per site of the member (accounts[0] and [1])
    payload = data["exportConsumption"]
    assert payload["errors"] == []
    member_sites = [s for s in world.sites if s.member_id == world.member.id]
    assert payload["rowCount"] == len(member_sites)
    _, body, _ = await download(live_server, payload["url"])
    header, *lines = parse_xlsx(body)
    row = dict(zip(header, next(r for r in lines if r[0] == site.point_number), strict=True))
    assert [row[f"{m['month']} (kWh)"] for m in months] == [m["kwh"] for m in months]
    assert row["2026-01 nature"] == "Réel"
    assert row["2026-02 nature"] == "Estimé"
    assert row["Total (kWh)"] == sum(m["kwh"] for m in months)


async def test_a_tampered_or_expired_url_is_refused(
    runner: Runner, world: World, live_server: LiveServer
) -> None:
    # given: a valid export URL
    data = await runner.run(EXPORT_SITES, {"i": {"format": "CSV"}}, as_user=world.people["USER"])
    url = data["exportSites"]["url"]
    token = urlsplit(url).path.rsplit("/", 1)[1]
    secret = live_server.settings.secret_key.get_secret_value()  # type: ignore[union-attr]
    file_key = verify_file_token(secret, token)
    payload_part, signature = token.split(".")
    # when: the signature altered, the payload pointing elsewhere, or the token expired
    forged_key = base64.urlsafe_b64encode(f"{file_key}x|9999999999".encode()).decode().rstrip("=")
    expired = sign_file_key(secret, file_key, -5)
    wrong_secret = sign_file_key("another-secret-another-secret-0123456789", file_key, 300)
    for bad in (
        f"{payload_part}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        f"{forged_key}.{signature}",
        expired,
        wrong_secret,
        "garbage",
    ):
        status, body, _ = await download(live_server, f"/files/{bad}")
        # then
        assert status == 404
        assert b"PRM" not in body
    assert (await download(live_server, url))[0] == 200


async def test_another_tenants_filter_is_not_found_and_writes_nothing(
    runner: Runner,
    world: World,
    session_factory: async_sessionmaker[AsyncSession],
    live_server: LiveServer,
) -> None:
    # given: tenant B
    other = await make_world(session_factory, "ExportB")
    exports_dir = live_server.settings.files_dir / "exports"
    before = set(exports_dir.iterdir()) if exports_dir.exists() else set()
    for document, extra in (
        (EXPORT_SITES, {}),
        (EXPORT_READINGS, {"from": "2026-01-01", "to": "2026-02-28"}),
        (EXPORT_CONSUMPTION, {"fromMonth": "2026-01", "toMonth": "2026-02"}),
    ):
        for flt in (
            {"memberIds": [gid("Member", other.member.id)]},
            {"billingAccountIds": [gid("BillingAccount", other.accounts[0].id)]},
        ):
            # when
            data = await runner.run(
                document,
                {"i": {"format": "CSV", "filter": flt, **extra}},
                as_user=world.people["ADMIN"],
            )
            # then
            [payload] = data.values()
            assert payload["url"] is None and payload["rowCount"] is None
            assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    after = set(exports_dir.iterdir()) if exports_dir.exists() else set()
    assert after == before
    # and tenant B's own export never holds tenant A's sites
    data = await runner.run(EXPORT_SITES, {"i": {"format": "CSV"}}, as_user=other.people["ADMIN"])
    _, body, _ = await download(live_server, data["exportSites"]["url"])
    numbers = {line[0] for line in parse_csv(body)[1:]}
    assert numbers == {s.point_number for s in other.sites}
    assert not numbers & {s.point_number for s in world.sites}


@pytest.mark.parametrize(
    ("document", "extra", "code", "field"),
    [
        (EXPORT_READINGS, {"from": "2026-03-01", "to": "2026-01-01"}, "INVALID", "to"),
        (EXPORT_READINGS, {"from": "2023-01-01", "to": "2026-01-01"}, "PERIOD_TOO_LONG", "to"),
        (
            EXPORT_CONSUMPTION,
            {"fromMonth": "2026-03", "toMonth": "2026-01"},
            "INVALID",
            "toMonth",
        ),
        (
            EXPORT_CONSUMPTION,
            {"fromMonth": "2023-01", "toMonth": "2026-01"},
            "PERIOD_TOO_LONG",
            "toMonth",
        ),
    ],
)
async def test_bad_periods_are_user_errors(
    runner: Runner, world: World, document: str, extra: dict[str, str], code: str, field: str
) -> None:
    # given / when
    data = await runner.run(
        document, {"i": {"format": "XLSX", **extra}}, as_user=world.people["ADMIN"]
    )
    # then
    [payload] = data.values()
    assert payload["url"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]


async def test_statements_do_not_grow_with_the_number_of_sites(
    runner: Runner, world: World, count_sql: SqlCounter
) -> None:
    # given: a one-site filter, then one naming every billing account of the tenant
    counts: dict[str, list[int]] = {}
    for name, document, extra in (
        ("sites", EXPORT_SITES, {}),
        ("readings", EXPORT_READINGS, {"from": "2026-01-01", "to": "2026-02-28"}),
        ("consumption", EXPORT_CONSUMPTION, {"fromMonth": "2026-01", "toMonth": "2026-02"}),
    ):
        for accounts in (world.accounts[1:2], world.accounts):
            flt = {"billingAccountIds": [gid("BillingAccount", a.id) for a in accounts]}
            with count_sql() as statements:
                # when
                data = await runner.run(
                    document,
                    {"i": {"format": "CSV", "filter": flt, **extra}},
                    as_user=world.people["ADMIN"],
                )
            [payload] = data.values()
            assert payload["errors"] == []
            counts.setdefault(name, []).append(len(statements))
    # then
    for name, (one_site, all_sites) in counts.items():
        assert one_site == all_sites, name


UPDATE_REFERENCES = """
mutation($input: UpdateSiteReferencesInput!) {
  updateSiteReferences(input: $input) { errors { field code message } }
}
"""


async def test_a_formula_stored_as_a_reference_is_neutralised_in_the_csv(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], live_server: LiveServer
) -> None:
    # given: a member user stores a formula as a site's designation
    world = await make_world(session_factory, "Formule")
    formula = '=HYPERLINK("http://x","y")'
    site = world.sites[0]
    data = await runner.run(
        UPDATE_REFERENCES,
        {"input": {"siteId": gid("Site", site.id), "designation": formula}},
        as_user=world.people["USER"],
    )
    assert data["updateSiteReferences"]["errors"] == []
    # when the coordinator exports the parc
    payload = (
        await runner.run(EXPORT_SITES, {"i": {"format": "CSV"}}, as_user=world.people["ADMIN"])
    )["exportSites"]
    # then the file is dated, and the cell is text a spreadsheet will not run
    secret = runner.settings.secret_key.get_secret_value()  # type: ignore[union-attr]
    key = verify_file_token(secret, payload["url"].rsplit("/", 1)[1])
    assert re.fullmatch(r"parc-\d{8}\.csv", key.rsplit("/", 1)[1])
    _, body, _ = await download(live_server, payload["url"])
    rows = parse_csv(body)
    line = next(r for r in rows[1:] if r[0] == site.point_number)
    assert line[rows[0].index("Désignation")] == "'" + formula
    assert not any(cell.startswith(("=", "+", "@")) for r in rows for cell in r)
