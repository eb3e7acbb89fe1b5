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
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
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
        sock.close()


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
    """An HTTP client with Nagle off: httpx writes headers and body apart, and on a kept-alive
    connection Nagle + delayed ACK add ~40 ms to each request (curl measured 3 ms)."""
    transport = httpx.AsyncHTTPTransport(
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    )
    return httpx.AsyncClient(base_url=base_url, transport=transport)
