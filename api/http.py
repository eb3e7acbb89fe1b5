"""HTTP-level guards in front of the GraphQL view: request bodies capped (413), and a JSON body
that is not an object, or whose operationName is not a string, answered 400 (strawberry
answers 500 to those); the security headers of every answer."""

from __future__ import annotations

import orjson
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Room for a multipart body's operations, map and part headers around the uploaded file.
MULTIPART_OVERHEAD_BYTES = 64_000


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


class RequestBodyGuard:
    """Reads a POST body up to `max_bytes` (413 beyond, whatever Content-Length claims), checks
    that a JSON body is an object, then hands the body on to the app unchanged."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        max_bytes = self.max_bytes
        if headers.get(b"content-type", b"").startswith(b"multipart/form-data"):
            # An upload (a technical request's attachment): its own cap answers a UserError,
            # so the door lets a file slightly over it through.
            settings = scope["app"].state.settings
            max_bytes = max(max_bytes, settings.max_attachment_bytes + MULTIPART_OVERHEAD_BYTES)
        too_big = _refusal(
            413, "TOO_LONG", f"Corps de requête trop gros : {max_bytes} octets au plus."
        )
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > max_bytes:
            await too_big(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                await too_big(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if b"json" in headers.get(b"content-type", b"") and body.strip():
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, dict):
                await _refusal(
                    400, "INVALID", "Le corps JSON doit être un objet GraphQL (query, variables)."
                )(scope, receive, send)
                return
            if not isinstance(parsed.get("operationName"), str | None):
                # strawberry would hand a number or an object to graphql-core (a 500).
                await _refusal(
                    400, "INVALID", "operationName doit être une chaîne de caractères ou null."
                )(scope, receive, send)
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# Every answer: no MIME sniffing, never framed, no referrer leaked to another site. An API
# answer (JSON, a file) runs nothing: its policy forbids everything.
BASE_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


class SecurityHeaders:
    """Adds the security headers to every answer; HSTS only on answers served over HTTPS
    (the scheme, which uvicorn takes from X-Forwarded-Proto when the proxy is trusted)."""

    def __init__(
        self, app: ASGIApp, *, hsts_max_age_seconds: int, graphiql_policy: str | None
    ) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age_seconds}" if hsts_max_age_seconds else None
        self.graphiql_policy = graphiql_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in BASE_HEADERS:
                    headers.setdefault(name, value)
                policy = API_POLICY
                is_html = headers.get("content-type", "").startswith("text/html")
                if is_html and scope["path"] == "/graphql" and self.graphiql_policy:
                    policy = self.graphiql_policy
                headers["content-security-policy"] = policy
                if https and self.hsts:
                    headers["strict-transport-security"] = self.hsts
            await send(message)

        await self.app(scope, receive, send_with_headers)
