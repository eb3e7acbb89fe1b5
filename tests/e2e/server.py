"""A real uvicorn server on a free loopback port, talked to over HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import uvicorn

from api.app import create_app
from comptoir.settings import Settings


@dataclass(frozen=True)
class LiveServer:
    url: str
    settings: Settings


def serve(settings: Settings) -> Iterator[LiveServer]:
    """Runs the app in a background thread until the generator is closed."""
    # uvicorn binds the port itself, as `comptoir serve` does: handed a pre-bound socket, its
    # connections answered kept-alive requests ~40 ms late (Nagle against delayed ACKs).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def graphql(
    server: LiveServer,
    query: str,
    variables: dict[str, object] | None = None,
    *,
    token: str | None = None,
) -> dict[str, object]:
    """POST a GraphQL document over HTTP; returns the decoded body (200 expected)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http_client(server.url) as client:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    assert response.status_code == 200, response.text
    return response.json()


def data_of(body: dict[str, object]) -> dict[str, object]:
    """The data of an answer that must have no top-level error."""
    assert "errors" not in body, body.get("errors")
    return body["data"]  # type: ignore[return-value]


def http_client(base_url: str = "") -> httpx.AsyncClient:
    """An HTTP client for the test server (Nagle off, as browsers do)."""
    transport = httpx.AsyncHTTPTransport(
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    )
    return httpx.AsyncClient(base_url=base_url, transport=transport)
