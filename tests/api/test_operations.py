"""Operations over HTTP: CORS and security headers, access logs, probes and metrics."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.access_log import logging_config
from api.app import create_app
from comptoir.settings import Settings
from tests.conftest import ThrowawayDatabases
from tests.factories import TEST_PASSWORD, make_world

FRONT = "https://espace.example.fr"
STRANGER = "https://pirate.example.com"
TYPENAME = {"query": "query Ping { __typename }"}


@asynccontextmanager
async def client_for(
    settings: Settings, base_url: str = "http://comptoir.test"
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app in process, its lifespan (engine, sessions) running."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client,
    ):
        yield client


@pytest.fixture
def cors_settings(test_settings: Settings) -> Settings:
    return test_settings.model_copy(update={"cors_allowed_origins": [FRONT]})


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_an_allowed_origin_gets_its_preflight_and_its_answer(
    cors_settings: Settings,
) -> None:
    async with client_for(cors_settings) as client:
        answer = await client.options("/graphql", headers=preflight(FRONT))
        request = await client.post("/graphql", json=TYPENAME, headers={"Origin": FRONT})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == FRONT
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    # bearer tokens, never cookies: credentials are not allowed
    assert "access-control-allow-credentials" not in answer.headers
    assert request.status_code == 200 and request.json() == {"data": {"__typename": "Query"}}
    assert request.headers["access-control-allow-origin"] == FRONT


async def test_another_origin_gets_no_cors_header(cors_settings: Settings) -> None:
    async with client_for(cors_settings) as client:
        answer = await client.options("/graphql", headers=preflight(STRANGER))
        request = await client.post("/graphql", json=TYPENAME, headers={"Origin": STRANGER})
    assert answer.status_code == 400
    assert request.status_code == 200  # the browser, not the server, withholds the answer
    # without Access-Control-Allow-Origin the browser refuses both
    for response in (answer, request):
        assert "access-control-allow-origin" not in response.headers


async def test_no_origin_is_allowed_by_default(test_settings: Settings) -> None:
    assert test_settings.cors_allowed_origins == []
    async with client_for(test_settings) as client:
        answer = await client.options("/graphql", headers=preflight(FRONT))
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/graphql"), ("GET", "/health"), ("GET", "/files/not-a-token")],
)
async def test_security_headers_on_every_answer(
    test_settings: Settings, method: str, path: str
) -> None:
    async with client_for(test_settings) as client:
        answer = await client.request(method, path, json=TYPENAME if method == "POST" else None)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    # plain HTTP: no HSTS (a browser ignores it there, and it must not pin a test host)
    assert "strict-transport-security" not in answer.headers


async def test_hsts_over_https(test_settings: Settings) -> None:
    async with client_for(test_settings, base_url="https://comptoir.test") as client:
        answer = await client.get("/health")
    assert answer.headers["strict-transport-security"] == (
        f"max-age={test_settings.hsts_max_age_seconds}"
    )


async def test_the_graphiql_page_may_load_from_this_server_only(test_settings: Settings) -> None:
    async with client_for(test_settings) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    directives = {
        part.split()[0]: part.split()[1:]
        for part in page.headers["content-security-policy"].split(";")
        if part.strip()
    }
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    # No other origin anywhere: 'self', 'none', inline styles and data: fonts/images only.
    sources = {source for values in directives.values() for source in values}
    assert sources <= {"'self'", "'none'", "'unsafe-inline'", "data:"}
    assert "'unsafe-inline'" not in directives["script-src"]


async def test_one_unauthenticated_query_writes_one_access_line_and_no_traceback(
    test_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    query = {"query": "query Alertes { alerts(first: 1) { totalCount } }"}
    async with client_for(test_settings) as client:
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            answer = await client.post(
                "/graphql", json=query, headers={"X-Request-ID": "abc-123-xyz"}
            )
    assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert answer.headers["x-request-id"] == "abc-123-xyz"
    access = [r for r in caplog.records if r.name == "comptoir.access"]
    assert len(access) == 1
    fields = access[0].access  # type: ignore[attr-defined]
    assert fields["request_id"] == "abc-123-xyz"
    assert fields["operation"] == "Alertes" and fields["route"] == "/graphql"
    assert fields["status"] == 200 and fields["outcome"] == "UNAUTHENTICATED"
    assert fields["user_id"] is None and fields["duration_ms"] > 0
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]


async def test_a_request_id_that_is_not_a_plain_token_is_replaced(
    test_settings: Settings,
) -> None:
    async with client_for(test_settings) as client:
        answer = await client.get("/health", headers={"X-Request-ID": "x\\n{forged}"})
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])


LOG_IN = """
mutation Login($email: String!, $password: String!) {
  logIn(input: {email: $email, password: $password}) {
    tokens { accessToken refreshToken }
    errors { code }
  }
}
"""
WRONG_PASSWORD = "Pas-le-bon-mot-de-passe-9"


async def test_no_secret_reaches_the_logs(
    test_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = await make_world(session_factory, "Journaux")
    email = world.email("USER")
    async with client_for(test_settings) as client:
        with caplog.at_level(logging.DEBUG):
            good = await client.post(
                "/graphql",
                json={"query": LOG_IN, "variables": {"email": email, "password": TEST_PASSWORD}},
            )
            await client.post(
                "/graphql",
                json={"query": LOG_IN, "variables": {"email": email, "password": WRONG_PASSWORD}},
            )
            tokens = good.json()["data"]["logIn"]["tokens"]
            await client.post(
                "/graphql",
                json={"query": "query Moi { viewer { viaApiKey } }"},
                headers={"Authorization": f"Bearer {tokens['accessToken']}"},
            )
    secrets = [TEST_PASSWORD, WRONG_PASSWORD, tokens["accessToken"], tokens["refreshToken"]]
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert not any(secret in text for secret in secrets), record
    lines = [r.access for r in caplog.records if r.name == "comptoir.access"]  # type: ignore[attr-defined]
    assert [line["operation"] for line in lines] == ["Login", "Login", "Moi"]
    assert lines[0]["outcome"] == "ok" and lines[1]["outcome"] == "INVALID_CREDENTIALS"
    assert lines[2]["user_id"] is not None and lines[2]["outcome"] == "ok"


def test_json_logs_in_production_one_object_per_line() -> None:
    assert Settings(env="production", secret_key="s" * 40).logs_as_json is True
    assert Settings(env="development").logs_as_json is False
    assert Settings(env="development", log_format="json").logs_as_json is True
    config = logging_config(level="info", as_json=True)
    formatter = config["formatters"]["default"]["()"]()
    record = logging.LogRecord("comptoir.access", logging.INFO, "", 0, "POST /graphql", (), None)
    record.access = {"request_id": "abc", "status": 200, "outcome": "ok"}
    line = json.loads(formatter.format(record))
    assert line["logger"] == "comptoir.access" and line["level"] == "INFO"
    assert line["request_id"] == "abc" and line["status"] == 200 and line["outcome"] == "ok"


async def test_live_and_ready_on_a_migrated_database(test_settings: Settings) -> None:
    async with client_for(test_settings) as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
        health = await client.get("/health")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert ready.status_code == health.status_code == 200
    assert ready.json() == health.json() == {"status": "ok", "database": "ok", "migrations": "ok"}


async def test_ready_is_503_on_an_unmigrated_database(
    test_settings: Settings, databases: ThrowawayDatabases
) -> None:
    empty = test_settings.model_copy(update={"database_url": await databases.new_url()})
    async with client_for(empty) as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
        health = await client.get("/health")
    assert live.status_code == 200
    assert ready.status_code == health.status_code == 503
    assert ready.json() == {"status": "error", "database": "ok", "migrations": "not_at_head"}


async def test_metrics_after_a_request(test_settings: Settings, engine: AsyncEngine) -> None:
    async with client_for(test_settings) as client:
        await client.post("/graphql", json=TYPENAME)
        await client.post("/graphql", json={"query": "query Alertes { alerts { totalCount } }"})
        await client.get("/health/ready")
        exposition = (await client.get("/metrics")).text
    assert 'comptoir_requests_total{operation="Ping",outcome="ok"} 1.0' in exposition
    assert 'comptoir_requests_total{operation="Alertes",outcome="error"} 1.0' in exposition
    assert 'comptoir_requests_total{operation="GET /health/ready",outcome="ok"} 1.0' in exposition
    assert 'comptoir_request_duration_seconds_count{operation="Ping"} 1.0' in exposition
    assert 'comptoir_errors_total{code="UNAUTHENTICATED"} 1.0' in exposition
    async with engine.connect() as connection:
        pending = (
            await connection.execute(
                text("SELECT count(*) FROM mail_outbox WHERE status = 'PENDING'")
            )
        ).scalar_one()
    assert f'comptoir_outbox_mails{{status="PENDING"}} {float(pending)}' in exposition
    for status in ("SENDING", "SENT", "DEAD"):
        assert f'comptoir_outbox_mails{{status="{status}"}}' in exposition
    assert "comptoir_db_pool_checked_out " in exposition
    assert "comptoir_db_pool_size " in exposition
