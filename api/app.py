"""The Starlette application: /graphql, /health and /files/{token}."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.authentication import Authentication, authenticate
from api.context import Context
from api.files import download
from api.http import RequestBodyGuard
from api.schema.schema import build_schema
from api.unsubscribe import unsubscribe
from comptoir.scheduled import running_alert_detection
from comptoir.settings import Settings, get_settings
from db.engine import create_engine, create_session_factory
from db.types import utcnow
from mailers.worker import running_worker

log = logging.getLogger("comptoir.api")


class GraphQLApp(GraphQL[Context, None]):
    """strawberry's ASGI app with the request context and a faster JSON encoder."""

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        state = request.app.state
        now = utcnow()
        http_request = request if isinstance(request, Request) else None
        authentication = (
            await authenticate(http_request, state.sessions, state.settings, now=now)
            if http_request is not None
            else Authentication()
        )
        return Context(
            request=http_request,
            settings=state.settings,
            sessions=state.sessions,
            authentication=authentication,
            now=now,
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


async def health(request: Request) -> Response:
    """Liveness and readiness: answers 200 only when the database answers."""
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not ready"
        log.warning("health check failed: %s", type(exc).__name__)
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.sessions = create_session_factory(engine)
        try:
            async with AsyncExitStack() as background:
                if settings.run_mail_worker:
                    # `make run`: one process does everything; production runs
                    # `comptoir worker` on its own.
                    await background.enter_async_context(
                        running_worker(settings, app.state.sessions)
                    )
                if settings.alert_detection_interval_minutes:
                    await background.enter_async_context(
                        running_alert_detection(settings, app.state.sessions)
                    )
                yield
        finally:
            await engine.dispose()

    graphql = GraphQLApp(
        build_schema(
            introspection=bool(settings.introspection), suggestions=settings.suggests_fields
        ),
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=False,
        multipart_uploads_enabled=True,
    )
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/files/{token}", download, methods=["GET"]),
            Route("/alertes/desabonnement/{token}", unsubscribe, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
        middleware=[Middleware(RequestBodyGuard, max_bytes=settings.max_request_bytes)],
    )
    app.state.settings = settings
    return app
