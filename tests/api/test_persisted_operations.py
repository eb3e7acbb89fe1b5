"""Persisted operations (issue 10, item 10): the trusted manifest, by hash over HTTP, automatic
registration, and the production setting refusing anything outside the manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from graphql import parse, validate
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.persisted import (
    MANIFEST_FILE,
    manifest_json,
    operations_from_sources,
    trusted_manifest,
)
from api.schema.schema import build_schema
from comptoir.settings import Settings
from tests.api.test_round_trips import app_client, token_of
from tests.factories import TEST_PASSWORD, World, make_world

OPERATIONS = Path(__file__).resolve().parents[2] / "api" / "operations"
VIEWER_BODY = (OPERATIONS / "Viewer.graphql").read_text(encoding="utf-8")
LOG_IN_BODY = (OPERATIONS / "LogIn.graphql").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Persist")


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def by_hash(digest: str, query: str | None = None, **variables: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
        "variables": variables,
    }
    if query is not None:
        body["query"] = query
    return body


def test_the_manifest_file_is_generated_from_the_operation_sources() -> None:
    """`comptoir export-operations` after editing api/operations/*.graphql."""
    assert MANIFEST_FILE.read_text(encoding="utf-8") == manifest_json(operations_from_sources())


def test_every_manifest_operation_validates_against_the_schema() -> None:
    schema = build_schema()._schema
    manifest = trusted_manifest()
    names = {o.name for o in manifest.values()}
    assert {"SitesPage", "TechnicalSheet", "InvoiceList", "Home", "Viewer", "Readings"} <= names
    for digest, operation in manifest.items():
        assert digest == sha(operation.body)
        assert validate(schema, parse(operation.body)) == [], operation.name


async def test_a_manifest_operation_runs_by_its_hash(world: World, test_settings: Settings) -> None:
    async with app_client(test_settings) as (client, _):
        headers = {"Authorization": f"Bearer {await token_of(client, world.email('USER'))}"}
        hashed = await client.post("/graphql", json=by_hash(sha(VIEWER_BODY)), headers=headers)
        full = await client.post("/graphql", json={"query": VIEWER_BODY}, headers=headers)
    assert hashed.status_code == 200
    assert hashed.json() == full.json()
    assert hashed.json()["data"]["viewer"]["person"]["email"] == world.email("USER")


async def test_an_unknown_hash_is_registered_with_its_document(
    world: World, test_settings: Settings
) -> None:
    document = "query Mine { viewer { person { fullName } } }"
    async with app_client(test_settings) as (client, _):
        headers = {"Authorization": f"Bearer {await token_of(client, world.email('ADMIN'))}"}
        missed = (
            await client.post("/graphql", json=by_hash(sha(document)), headers=headers)
        ).json()
        sent = await client.post("/graphql", json=by_hash(sha(document), document), headers=headers)
        again = await client.post("/graphql", json=by_hash(sha(document)), headers=headers)
        wrong = await client.post(
            "/graphql", json=by_hash(sha("query { viewer { viaApiKey } }"), document)
        )
        malformed = await client.post(
            "/graphql",
            json={"query": document, "extensions": {"persistedQuery": {"sha256Hash": "x"}}},
        )
    assert missed["data"] is None
    assert missed["errors"][0]["extensions"] == {"code": "PERSISTED_QUERY_NOT_FOUND"}
    assert missed["errors"][0]["message"].startswith("PersistedQueryNotFound")
    assert sent.json() == again.json()
    assert again.json()["data"]["viewer"]["person"]["fullName"]
    assert wrong.json()["errors"][0]["extensions"]["code"] == "INVALID"
    assert malformed.json()["errors"][0]["extensions"]["code"] == "INVALID"


async def test_production_may_refuse_everything_outside_the_manifest(
    world: World, test_settings: Settings
) -> None:
    settings = test_settings.model_copy(update={"persisted_operations_only": True})
    outside = "query Mine { viewer { person { fullName } } }"
    async with app_client(settings) as (client, _):
        # The first-party login is in the manifest: sent by hash, it runs.
        logged_in = await client.post(
            "/graphql",
            json=by_hash(sha(LOG_IN_BODY), email=world.email("ADMIN"), password=TEST_PASSWORD),
        )
        token = logged_in.json()["data"]["logIn"]["tokens"]["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        by_text = await client.post("/graphql", json={"query": VIEWER_BODY}, headers=headers)
        hashed = await client.post("/graphql", json=by_hash(sha(VIEWER_BODY)), headers=headers)
        refused = [
            await client.post("/graphql", json={"query": outside}, headers=headers),
            await client.post("/graphql", json=by_hash(sha(outside), outside), headers=headers),
            await client.post("/graphql", json=by_hash(sha(outside)), headers=headers),
        ]
    assert by_text.json() == hashed.json()
    assert hashed.json()["data"]["viewer"]["person"]["email"] == world.email("ADMIN")
    for answer in refused:
        assert answer.status_code == 200
        assert answer.json()["data"] is None
        assert answer.json()["errors"][0]["extensions"] == {"code": "OPERATION_NOT_IN_MANIFEST"}
