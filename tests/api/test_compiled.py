"""The differential test of the compiled path (issue 11): every operation of the trusted
manifest, for every tier and anonymous, with generated variables (valid, foreign, missing and
malformed values), answered by an app with compiled plans and by one without: the answers
must be identical, data and errors. It also checks that the plans did answer (not everything
fell back)."""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.persisted import trusted_manifest
from comptoir.settings import Settings
from db.models import Meter
from domain.enums import InvoiceKind, MeterKind, ReadingSource, Register, Segment, Tier
from tests.api.test_round_trips import app_client, token_of
from tests.factories import World, make_invoice, make_metered_site, make_person, make_world

SITE_ORDERS = [
    "POINT_NUMBER",
    "LEGAL_NAME",
    "CITY",
    "POSTCODE",
    "INTERNAL_CODE",
    "SEGMENT",
    "CAR_DESC",
    "SUPPLY_START_DESC",
]


class Tenants:
    def __init__(self, mine: World, other: World, operator_email: str) -> None:
        self.mine = mine
        self.other = other
        self.operator_email = operator_email


@pytest.fixture(scope="module")
async def tenants(session_factory: async_sessionmaker[AsyncSession]) -> Tenants:
    mine = await make_world(session_factory, "Differ")
    other = await make_world(session_factory, "Autre")
    # Readings on two registers, and a site whose meter was replaced (two meters on its sheet).
    for account, kind in (
        (mine.accounts[0], MeterKind.ELECTROMECHANICAL),
        (mine.accounts[2], MeterKind.LINKY),
    ):
        site, meter = await make_metered_site(
            session_factory,
            account,
            kind=kind,
            registers=(Register.HP, Register.HC),
            segment=Segment.C5,
            readings=[
                (date(2026, 3, 1), Register.HP, 1200, ReadingSource.DISTRIBUTOR_ACTUAL, False),
                (date(2026, 3, 1), Register.HC, 800, ReadingSource.DISTRIBUTOR_ACTUAL, False),
                (date(2026, 6, 1), Register.HP, 1900, ReadingSource.SELF_READING, False),
                (date(2026, 6, 1), Register.HC, 950, ReadingSource.DISTRIBUTOR_ESTIMATED, False),
            ],
        )
        async with session_factory() as session, session.begin():
            session.add(
                Meter(
                    site_id=site.id,
                    serial=f"OLD{meter.id:08d}",
                    kind=MeterKind.ELECTROMECHANICAL,
                    is_communicating=False,
                    digits=5,
                    registers=[Register.BASE],
                    installed_on=date(2010, 1, 1),
                    removed_on=date(2019, 12, 31),
                )
            )
    first = await make_invoice(
        session_factory, mine.accounts[0], [mine.sites[0]], accounting_date=date(2026, 3, 15)
    )
    await make_invoice(
        session_factory,
        mine.accounts[0],
        [mine.sites[0]],
        accounting_date=date(2026, 4, 15),
        kind=InvoiceKind.CANCELLATION,
        cancels=first,
    )
    await make_invoice(
        session_factory, mine.accounts[2], [mine.sites[2]], accounting_date=date(2026, 7, 15)
    )
    await make_invoice(
        session_factory, other.accounts[0], [other.sites[0]], accounting_date=date(2026, 5, 15)
    )
    operator, _ = await make_person(
        session_factory, f"operateur{mine.group.id}@differ.test", tier=Tier.OPERATOR
    )
    return Tenants(mine, other, operator.email)


def gid(kind: str, pk: int) -> str:
    return base64.b64encode(f"{kind}:{pk}".encode()).decode()


def sha(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def generated_variables(
    name: str, tenants: Tenants, cursors: list[str], rng: random.Random
) -> list[dict[str, Any]]:
    mine, other = tenants.mine, tenants.other
    if name == "SitesPage":
        filters: list[Any] = [
            None,
            {"energies": ["GAS"]},
            {"energies": ["ELECTRICITY"], "statuses": ["ACTIVE"]},
            {"text": "parc"},
            {"text": "Differ parc 2"},
            {"text": "x" * 5000},
            {"memberIds": [gid("Member", mine.member.id)]},
            {"memberIds": [gid("Member", other.member.id)]},
            {"billingAccountIds": [gid("BillingAccount", mine.accounts[2].id)]},
            {"memberIds": ["pas-un-id"]},
            {"withOpenAlerts": False, "communicating": False},
        ]
        afters = [None, None, "n'importe quoi", base64.b64encode(b"[1]").decode(), *cursors]
        variants = []
        for _ in range(30):
            variables: dict[str, Any] = {
                "first": rng.choice([None, 1, 2, 50, 100, 101, 0, -1]),
                "orderBy": rng.choice([None, *SITE_ORDERS]),
                "filter": rng.choice(filters),
                "after": rng.choice(afters),
            }
            variants.append(
                {k: v for k, v in variables.items() if v is not None or rng.random() < 0.3}
            )
        return variants
    if name == "TechnicalSheet":
        points = [s.point_number for s in mine.sites] + [
            other.sites[0].point_number,
            "00000000000000",
            " ".join(mine.sites[0].point_number[i : i + 2] for i in range(0, 14, 2)),
            "abc",
            "9" * 5000,
        ]
        return [
            {"pointNumber": p, **({"energy": e} if e else {})}
            for p in points
            for e in (None, "ELECTRICITY", "GAS")
        ] + [{}]
    if name == "InvoiceList":
        invoice_filters: list[Any] = [
            None,
            {"accountingDateFrom": "2026-01-01", "accountingDateTo": "2026-11-30"},
            {"accountingDateFrom": "2020-01-01"},
            {"accountingDateFrom": "2026-06-01", "accountingDateTo": "2026-01-01"},
            {"kinds": ["INVOICE", "CREDIT_NOTE"]},
            {"siteId": gid("Site", mine.sites[0].id)},
            {"siteId": gid("Site", other.sites[0].id)},
            {"billingAccountIds": [gid("BillingAccount", mine.accounts[1].id)]},
            {"invoiceIds": ["rien"]},
            {"number": " ft000001000001 "},
            {"minTotalInclTax": "10.00", "maxTotalInclTax": "99999.99"},
            {"minTotalInclTax": "1.234"},
            {"excludeDisputed": True, "accountingDateFrom": "2026-01-01"},
        ]
        orders = [
            "ACCOUNTING_DATE_DESC",
            "ACCOUNTING_DATE_ASC",
            "TOTAL_INCL_TAX_DESC",
            "TOTAL_INCL_TAX_ASC",
            "NUMBER_ASC",
            "NUMBER_DESC",
        ]
        afters = [
            None,
            None,
            "zzz",
            base64.b64encode(b'["2026-05-01", 3]').decode(),
            base64.b64encode(b'["120.00", 3]').decode(),
            base64.b64encode(b'["FT000001000002", 3]').decode(),
        ]
        return [
            {
                "first": rng.choice([None, 1, 3, 50, 101]),
                "orderBy": rng.choice(orders),
                "filter": rng.choice(invoice_filters),
                "after": rng.choice(afters),
            }
            for _ in range(20)
        ]
    if name == "Readings":
        return [
            {"siteId": gid("Site", mine.sites[0].id)},
            {"siteId": gid("Site", other.sites[0].id)},
            {"siteId": "rien"},
        ]
    return [{}]


async def answer(
    client: httpx.AsyncClient, body: str, variables: dict[str, Any], token: str | None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql",
        json={
            "variables": variables,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(body)}},
        },
        headers=headers,
    )
    return response.status_code, response.json()


async def test_every_manifest_query_answers_the_same_through_both_paths(
    tenants: Tenants, test_settings: Settings
) -> None:
    generic_settings = test_settings.model_copy(update={"compiled_operations": False})
    queries = [o for o in trusted_manifest().values() if o.type == "query"]
    rng = random.Random(11)
    compared = 0
    async with (
        app_client(test_settings) as (compiled, compiled_app),
        app_client(generic_settings) as (generic, _),
    ):
        plans = compiled_app.state.compiled_answers
        emails = [tenants.mine.email(t) for t in ("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY")]
        identities: list[str | None] = [*emails, tenants.operator_email, None]
        for email in identities:
            token = await token_of(generic, email) if email else None
            sites_page = next(o for o in queries if o.name == "SitesPage").body
            cursors = []
            for order in SITE_ORDERS[:4]:
                _, first_page = await answer(
                    generic, sites_page, {"first": 1, "orderBy": order}, token
                )
                end = ((first_page.get("data") or {}).get("sites") or {}).get("pageInfo", {})
                if end.get("endCursor"):
                    cursors.append(end["endCursor"])
            for operation in queries:
                for variables in generated_variables(operation.name, tenants, cursors, rng):
                    ours = await answer(compiled, operation.body, variables, token)
                    theirs = await answer(generic, operation.body, variables, token)
                    assert ours == theirs, (email, operation.name, variables)
                    compared += 1
    assert compared > 300
    # The plans answered most requests of the compiled operations themselves.
    assert plans["SitesPage"] >= 30 and plans["TechnicalSheet"] >= 30, plans
    assert plans["InvoiceList"] >= 10, plans
    assert plans["Viewer"] >= 5, plans
