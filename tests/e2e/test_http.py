"""End to end over HTTP: health, GraphiQL, the schema's protections, signed downloads."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.graphql.downloads import signed_file_url
from auth.signed_urls import sign_file_key
from comptoir.settings import Settings
from tests.e2e.server import LiveServer, serve
from tests.factories import make_tenant
from tests.ids import gid

CATALOGUE = """
query Catalogue {
  catalogue {
    technicalRequestTypes { code label energies targetsExistingSite }
    segments { code label energy }
    selfCareRequestKinds { code label }
  }
}
"""

NODE = """
query Node($id: ID!) {
  node(id: $id) { id ... on Site { pointNumber } }
}
"""


async def post_graphql(server: LiveServer, query: str, variables: dict | None = None) -> dict:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


async def test_health_answers_when_the_database_does(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "migrations": "ok"}


async def test_health_says_503_when_the_database_is_unreachable(
    test_settings: Settings, tmp_path: Path
) -> None:
    broken = test_settings.model_copy(
        update={"database_url": "postgresql+asyncpg://nobody@127.0.0.1:9/none"}
    )
    for server in serve(broken):
        async with httpx.AsyncClient(base_url=server.url) as client:
            response = await client.get("/health")
        assert response.status_code == 503
        assert response.json()["database"] == "unreachable"


async def test_graphiql_is_served_in_development(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_graphiql_works_offline_every_asset_from_this_server(
    live_server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        # No URL with a scheme or a protocol-relative one: nothing from another host.
        assert re.search(r"(?:https?:)?//", page.text) is None, page.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert len(assets) == 6
        answers = {asset: await client.get(asset) for asset in assets}
        script = answers["/graphiql/comptoir-graphiql.js"].text
        missing = await client.get("/graphiql/..%2Fapp.py")
    for asset, answer in answers.items():
        assert asset.startswith("/graphiql/")
        assert answer.status_code == 200, asset
        expected = "text/css" if asset.endswith(".css") else "text/javascript"
        assert answer.headers["content-type"].startswith(expected)
        assert len(answer.content) > 100
    # The page opens on a ready logIn and says where the token goes.
    assert "logIn(input: $input)" in script and "Headers tab" in script
    assert '"Authorization": "Bearer <accessToken>"' in script
    assert missing.status_code == 404


async def test_no_graphiql_assets_when_graphiql_is_off(test_settings: Settings) -> None:
    for server in serve(test_settings.model_copy(update={"graphiql": False})):
        async with httpx.AsyncClient(base_url=server.url) as client:
            response = await client.get("/graphiql/graphiql.min.js")
        assert response.status_code == 404


async def test_the_public_catalogue(live_server: LiveServer) -> None:
    body = await post_graphql(live_server, CATALOGUE)
    assert "errors" not in body
    catalogue = body["data"]["catalogue"]
    types = {entry["code"]: entry for entry in catalogue["technicalRequestTypes"]}
    assert types["EXPRESS_COMMISSIONING"]["energies"] == ["ELECTRICITY"]
    assert types["ADD_SITE_COMMISSIONING"]["targetsExistingSite"] is False
    assert {s["code"] for s in catalogue["segments"]} >= {"T1", "T2", "T3", "C5"}
    assert len(catalogue["selfCareRequestKinds"]) == 5


async def test_an_anonymous_caller_reaches_no_object(
    live_server: LiveServer, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given a site that exists
    tenant = await make_tenant(session_factory, "Anonyme")
    # when an anonymous caller asks for it, or for an id that does not exist
    existing = await post_graphql(live_server, NODE, {"id": gid("Site", tenant.site.id)})
    missing = await post_graphql(live_server, NODE, {"id": gid("Site", 10**9)})
    # then both answers are the same "not found"
    assert existing == missing == {"data": {"node": None}}


async def test_malformed_ids_and_queries_get_graphql_errors(live_server: LiveServer) -> None:
    body = await post_graphql(live_server, NODE, {"id": "not-a-global-id"})
    assert body["data"] is None or body["data"]["node"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID"
    body = await post_graphql(live_server, "query { nope }")
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_QUERY"
    assert error["message"].startswith("La requête ne correspond pas au schéma")
    assert "Cannot query field 'nope'" in error["extensions"]["detail"]


async def test_alias_flooding_is_refused(live_server: LiveServer) -> None:
    assert "errors" not in await post_graphql(
        live_server, "query { catalogue { segments { code } } }"
    )
    too_many_aliases = (
        "query {" + " ".join(f"a{i}: catalogue {{ segments {{ code }} }}" for i in range(40)) + "}"
    )
    body = await post_graphql(live_server, too_many_aliases)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "alias" in body["errors"][0]["message"].lower()


async def test_introspection_can_be_turned_off(test_settings: Settings) -> None:
    closed = test_settings.model_copy(update={"introspection": False, "graphiql": False})
    for server in serve(closed):
        body = await post_graphql(server, "query { __schema { types { name } } }")
        assert "introspection" in body["errors"][0]["message"].lower()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        async with httpx.AsyncClient(base_url=server.url) as client:
            response = await client.get("/graphql", headers={"Accept": "text/html"})
        assert response.status_code != 200 or "graphiql" not in response.text.lower()


@pytest.fixture
def stored_file(test_settings: Settings) -> str:
    folder = test_settings.files_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "parc.csv").write_text("point;commune\n30000000000001;Quimper\n", encoding="utf-8")
    return "exports/parc.csv"


async def test_a_signed_url_serves_its_file(live_server: LiveServer, stored_file: str) -> None:
    url = signed_file_url(live_server.settings, stored_file)
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert "Quimper" in response.text


async def test_tampered_expired_and_escaping_urls_are_refused(
    live_server: LiveServer, stored_file: str
) -> None:
    secret = live_server.settings.secret_key.get_secret_value()  # type: ignore[union-attr]
    valid = signed_file_url(live_server.settings, stored_file).rsplit("/", 1)[1]
    expired = sign_file_key(secret, stored_file, 10, now=0)
    escaping = sign_file_key(secret, "../../etc/passwd", 300)
    unknown = sign_file_key(secret, "exports/none.csv", 300)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for token in (valid[:-3] + "xyz", expired, escaping, unknown):
            response = await client.get(f"/files/{token}")
            assert response.status_code == 404
            assert response.text == "Fichier introuvable ou lien expiré."
