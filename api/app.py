"""The Starlette application: /graphql, the probes (/health…), /metrics and /files/{token}."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import lru_cache
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, parse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from api.access_log import AccessLog, record_of
from api.authentication import Authentication, authenticate
from api.compiled import CompiledOperations
from api.context import Context
from api.files import download
from api.graphiql import ASSETS_ROUTE, PAGE, POLICY, graphiql_asset
from api.graphql_over_http import GRAPHQL_RESPONSE, is_request_error, wants_graphql_response
from api.http import RequestBodyGuard, SecurityHeaders
from api.metrics import Metrics
from api.persisted import PersistedOperations, trusted_manifest
from api.schema.schema import build_schema
from api.unsubscribe import unsubscribe
from comptoir.scheduled import running_alert_detection
from comptoir.settings import Settings, get_settings
from db import migrate
from db.engine import create_engine, create_session_factory
from db.request_reads import RequestReads
from db.types import utcnow
from mailers.worker import running_worker

log = logging.getLogger("comptoir.api")

# Operation names label log lines and metrics: a client's name that is not a GraphQL name (or
# an absurdly long one) is reported as such, never copied.
OPERATION_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")


@lru_cache(maxsize=512)
def _named_operation(query: str) -> str | None:
    """The name of a document's only operation (the one run when no operationName is sent)."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) == 1 and operations[0].name is not None:
        return operations[0].name.value
    return None


@lru_cache(maxsize=512)
def _operation_kinds(query: str) -> dict[str | None, str]:
    """Each operation's type by name (None: the document's only operation)."""
    try:
        document = parse(query)
    except GraphQLError:
        return {}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    kinds: dict[str | None, str] = {
        o.name.value: o.operation.value for o in operations if o.name is not None
    }
    if len(operations) == 1:
        kinds[None] = operations[0].operation.value
    return kinds


def operation_kind(request_data: GraphQLRequestData) -> str | None:
    """ "query", "mutation" or "subscription"; None when the document does not say."""
    if not isinstance(request_data.query, str):
        return None
    return _operation_kinds(request_data.query).get(request_data.operation_name)


def operation_name(request_data: GraphQLRequestData) -> str:
    name = request_data.operation_name
    if name is None and isinstance(request_data.query, str):
        name = _named_operation(request_data.query)
    if name is None:
        return "(anonymous)"
    return name if OPERATION_NAME.match(name) else "(invalid)"


def error_codes(result: ExecutionResult) -> list[str]:
    """The codes of the answer: its top-level errors, and the `errors` of mutation payloads."""
    codes = [str((error.extensions or {}).get("code", "")) for error in result.errors or []]
    if isinstance(result.data, dict):
        for value in result.data.values():
            if isinstance(value, dict) and isinstance(value.get("errors"), list):
                codes += [
                    str(problem.get("code", ""))
                    for problem in value["errors"]
                    if isinstance(problem, dict)
                ]
    return [code for code in codes if code]


class GraphQLApp(GraphQL[Context, None]):
    """strawberry's ASGI app with the request context, persisted operations and a faster JSON
    encoder."""

    persisted: PersistedOperations
    compiled: CompiledOperations | None

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        state = request.app.state
        now = utcnow()
        http_request = request if isinstance(request, Request) else None
        reads = None
        # The lifespan sets the engine; an app whose state only got `sessions` (some tests)
        # reads through their engine.
        engine = getattr(state, "engine", None) or state.sessions.kw.get("bind")
        if http_request is not None and engine is not None:
            # Given back by `run` when the request ends, whatever happens.
            reads = http_request.scope["comptoir.reads"] = RequestReads(engine)
        authentication = (
            await authenticate(
                http_request,
                state.sessions,
                state.settings,
                now=now,
                reads=reads.sessions if reads is not None else None,
            )
            if http_request is not None
            else Authentication()
        )
        record = record_of(request)
        if record is not None and authentication.caller is not None:
            record.user_id = authentication.caller.user_id
        return Context(
            request=http_request,
            settings=state.settings,
            sessions=state.sessions,
            authentication=authentication,
            now=now,
            reads=reads,
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        record = record_of(request)
        resolved = self.persisted.resolve(request_data)
        if isinstance(resolved, ExecutionResult):  # an unknown hash, or outside the manifest
            if record is not None:
                record.operation = operation_name(request_data)
                record.error_codes = error_codes(resolved)
            return resolved
        request_data = resolved
        if record is not None:
            record.operation = operation_name(request_data)
        if context.reads is not None and operation_kind(request_data) == "query":
            # A query's resolvers and loaders share the request's read connection; a mutation
            # keeps the application's factory (one transaction each).
            context.sessions = context.reads.sessions
            if self.compiled is not None:
                answer = await self.compiled.execute(request_data, context)
                if answer is not None:
                    return answer
        else:
            context.sessions = request.app.state.sessions
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        if record is not None:
            record.error_codes = error_codes(result)
        if wants_graphql_response(request.headers.get("accept", "")) and is_request_error(
            result.data, result.errors
        ):
            # GraphQL over HTTP: nothing was executed, the request itself is at fault.
            sub_response.status_code = 400
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        answer = await super().process_result(request, result)
        if wants_graphql_response(request.headers.get("accept", "")) and is_request_error(
            result.data, result.errors
        ):
            # The spec: a request error's answer has no `data` entry at all (not null).
            answer.pop("data", None)
        return answer

    async def run(
        self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET
    ) -> Any:
        try:
            response = await super().run(request, context, root_value)
        finally:
            # The request's read connection goes back to the pool, whatever happened.
            reads = request.scope.get("comptoir.reads") if isinstance(request, Request) else None
            if reads is not None:
                await reads.close()
        if (
            isinstance(request, Request)
            and isinstance(response, Response)
            and response.media_type == "application/json"
            and wants_graphql_response(request.headers.get("accept", ""))
        ):
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    @property
    def graphql_ide_html(self) -> str:
        # The app's own page and assets (api/graphiql.py), not strawberry's CDN page.
        return PAGE


async def live(request: Request) -> Response:
    """Liveness: the process answers (a restart would not help with anything else)."""
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    """Readiness (also `/health`): the database answers and its migrations are at head, so a
    worker started before `comptoir migrate` gets no traffic."""
    state = request.app.state
    try:
        current = await migrate.current_revision(state.engine)
    except Exception as exc:  # any database failure means "not ready"
        log.warning("readiness check failed: %s", type(exc).__name__)
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    if current != state.head_revision:
        return JSONResponse(
            {"status": "error", "database": "ok", "migrations": "not_at_head"}, status_code=503
        )
    return JSONResponse({"status": "ok", "database": "ok", "migrations": "ok"})


async def metrics(request: Request) -> Response:
    state = request.app.state
    return Response(await state.metrics.exposition(state.engine), media_type=CONTENT_TYPE_LATEST)


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

    app_metrics = Metrics()
    schema = build_schema(
        introspection=bool(settings.introspection), suggestions=settings.suggests_fields
    )
    graphql = GraphQLApp(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=False,
        multipart_uploads_enabled=True,
    )
    graphql.persisted = PersistedOperations(
        trusted_manifest(), only_manifest=settings.persisted_operations_only
    )
    # The manifest's operations compiled once (api/compiled.py); the setting turns it off.
    graphql.compiled = (
        CompiledOperations(schema, [o.body for o in trusted_manifest().values()])
        if settings.compiled_operations
        else None
    )
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", ready, methods=["GET"]),
            Route("/health/live", live, methods=["GET"]),
            Route("/health/ready", ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/files/{token}", download, methods=["GET"]),
            Route("/alertes/desabonnement/{token}", unsubscribe, methods=["GET", "POST"]),
            *(
                [Route(ASSETS_ROUTE + "/{name}", graphiql_asset, methods=["GET"])]
                if settings.graphiql
                else []
            ),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(AccessLog, observers=[app_metrics.observe]),
            Middleware(
                SecurityHeaders,
                hsts_max_age_seconds=settings.hsts_max_age_seconds,
                graphiql_policy=POLICY if settings.graphiql else None,
            ),
            # Front ends on other origins send bearer tokens, never cookies: no credentials.
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_allowed_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
                allow_credentials=False,
                expose_headers=["X-Request-ID"],
                max_age=600,
            ),
            Middleware(RequestBodyGuard, max_bytes=settings.max_request_bytes),
        ],
    )
    app.state.settings = settings
    app.state.compiled_answers = graphql.compiled.answered if graphql.compiled else {}
    app.state.metrics = app_metrics
    app.state.head_revision = migrate.head_revision()
    return app


def serve_app() -> Starlette:
    """The app of one `comptoir serve --workers N` process (uvicorn's factory): settings from
    the environment, start-up objects frozen out of the collector (see STYLE.md)."""
    import gc

    app = create_app()
    gc.freeze()
    return app
