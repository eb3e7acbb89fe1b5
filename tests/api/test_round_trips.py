"""SQL round trips per request over HTTP, authentication included (issue 11): one connection
per query request, no BEGIN/ROLLBACK around reads, a constant count whatever the page size;
and the shared read connection holding up under concurrent sibling resolvers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.app import create_app
from comptoir.settings import Settings
from tests.factories import TEST_PASSWORD, World, make_world
from tests.sql_counter import RoundTrips, count_round_trips

SITES = """query($first: Int) { sites(first: $first) { totalCount pageInfo { hasNextPage }
  edges { cursor node { id pointNumber member { legalName } billingAccount { number }
    currentMeter { serial kind } lastActualReadings { register index readOn } } } } }"""
SHEET = """query($p: String!) { siteByPointNumber(pointNumber: $p) { pointNumber segment
  member { legalName } billingAccount { number invoiceLabel }
  currentMeter { serial } meters { serial installedOn removedOn }
  lastActualReadings { register index readOn source } canSubmitSelfReading canEditReferences } }"""
LOG_IN = """mutation($email: String!, $password: String!) {
  logIn(input: {email: $email, password: $password}) { tokens { accessToken } } }"""


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Allers")


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://comptoir.test"
        ) as client,
    ):
        yield client, app


async def token_of(client: httpx.AsyncClient, email: str) -> str:
    answer = await client.post(
        "/graphql", json={"query": LOG_IN, "variables": {"email": email, "password": TEST_PASSWORD}}
    )
    token: str = answer.json()["data"]["logIn"]["tokens"]["accessToken"]
    return token


async def measured(
    client: httpx.AsyncClient, app: Any, token: str, query: str, variables: dict[str, Any]
) -> tuple[dict[str, Any], RoundTrips]:
    with count_round_trips(app.state.engine) as counted:
        answer = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    return body, counted


@pytest.mark.parametrize("tier", ["ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"])
async def test_sites_page_takes_at_most_four_round_trips_whatever_its_size(
    world: World, test_settings: Settings, tier: str
) -> None:
    async with app_client(test_settings) as (client, app):
        token = await token_of(client, world.email(tier))
        small, one = await measured(client, app, token, SITES, {"first": 1})
        large, many = await measured(client, app, token, SITES, {"first": 50})
    assert len(small["data"]["sites"]["edges"]) == 1
    assert len(large["data"]["sites"]["edges"]) == large["data"]["sites"]["totalCount"] >= 1
    # authentication, count, page (member, account and meter joined), last readings
    assert one.total == many.total <= 4, many.statements
    assert one.checkouts == many.checkouts == 1


@pytest.mark.parametrize("tier", ["ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"])
async def test_technical_sheet_takes_at_most_three_round_trips(
    world: World, test_settings: Settings, tier: str
) -> None:
    async with app_client(test_settings) as (client, app):
        token = await token_of(client, world.email(tier))
        body, counted = await measured(
            client, app, token, SHEET, {"p": world.sites[0].point_number}
        )
    sheet = body["data"]["siteByPointNumber"]
    assert sheet["pointNumber"] == world.sites[0].point_number
    assert sheet["meters"] and sheet["member"]["legalName"]
    # authentication; the site with member, account and meters; the last readings
    assert counted.total <= 3, counted.statements
    assert counted.checkouts == 1


async def test_concurrent_sibling_resolvers_share_the_one_read_connection(
    world: World, test_settings: Settings
) -> None:
    """Root fields and their loaders resolve concurrently: they take turns on the request's
    connection (a connection runs one statement at a time) and answer as they would alone."""
    point = world.sites[0].point_number
    query = f"""{{
      a: siteByPointNumber(pointNumber: "{point}") {{ pointNumber meters {{ serial }} }}
      b: sites(first: 3) {{ edges {{ node {{ pointNumber lastActualReadings {{ index }} }} }} }}
      c: viewer {{ person {{ email }} perimeter {{ sites members }} }}
      d: portfolioSummary {{ sites }}
      e: siteByPointNumber(pointNumber: "{point}") {{ canSubmitSelfReading canEditReferences }}
    }}"""
    async with app_client(test_settings) as (client, app):
        token = await token_of(client, world.email("ADMIN"))
        body, counted = await measured(client, app, token, query, {})
        alone = await client.post(
            "/graphql",
            json={"query": "{ portfolioSummary { sites } viewer { perimeter { sites } } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    data = body["data"]
    assert data["a"]["pointNumber"] == point and data["a"]["meters"]
    assert len(data["b"]["edges"]) == 3
    assert data["c"]["person"]["email"] == world.email("ADMIN")
    assert data["d"]["sites"] == alone.json()["data"]["portfolioSummary"]["sites"] == 3
    assert data["e"]["canEditReferences"] is True
    assert counted.checkouts == 1
    assert counted.boundaries == 0


async def test_a_mutation_keeps_its_own_transaction(world: World, test_settings: Settings) -> None:
    mutation = """mutation($input: UpdateSiteReferencesInput!) {
      updateSiteReferences(input: $input) { site { designation } errors { code } } }"""
    site_id = f"Site:{world.sites[0].id}"
    import base64

    gid = base64.b64encode(site_id.encode()).decode()
    async with app_client(test_settings) as (client, app):
        token = await token_of(client, world.email("USER"))
        body, counted = await measured(
            client, app, token, mutation, {"input": {"siteId": gid, "designation": "Gymnase"}}
        )
    assert body["data"]["updateSiteReferences"] == {
        "site": {"designation": "Gymnase"},
        "errors": [],
    }
    assert counted.boundaries >= 2  # BEGIN … COMMIT around the writes


@pytest.mark.parametrize("tier", ["ADMIN", "THIRD_PARTY"])
async def test_viewer_takes_three_round_trips(
    world: World, test_settings: Settings, tier: str
) -> None:
    query = """{ viewer { viaApiKey person { email fullName grants { tier } }
      perimeter { members billingAccounts sites sitesByEnergy { energy sites } } } }"""
    async with app_client(test_settings) as (client, app):
        token = await token_of(client, world.email(tier))
        body, counted = await measured(client, app, token, query, {})
    viewer = body["data"]["viewer"]
    assert viewer["person"]["email"] == world.email(tier)
    assert [g["tier"] for g in viewer["person"]["grants"]] == [tier]
    # authentication; the person with their grants; the perimeter's counts
    assert counted.total <= 3, counted.statements
