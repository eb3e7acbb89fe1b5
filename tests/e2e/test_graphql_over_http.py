"""The GraphQL-over-HTTP spec: `application/graphql-response+json` answered with status codes
that say what happened, and the graphql-http package's server audits against a live
`comptoir serve` (run with node when it is there)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from api.graphql_over_http import wants_graphql_response
from tests.e2e.processes import comptoir_env, free_port, run_comptoir, running
from tests.e2e.server import LiveServer

AUDIT_DIR = Path(__file__).parent / "graphql_http"
GRAPHQL_RESPONSE = "application/graphql-response+json"


async def post(
    server: LiveServer, body: object, accept: str | None = GRAPHQL_RESPONSE
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if accept is not None:
        headers["Accept"] = accept
    async with httpx.AsyncClient(base_url=server.url) as client:
        return await client.post("/graphql", content=json.dumps(body), headers=headers)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (GRAPHQL_RESPONSE, True),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", True),
        (f"application/json, {GRAPHQL_RESPONSE}", True),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", False),
        (f"{GRAPHQL_RESPONSE};q=0", False),
        ("application/json", False),
        ("*/*", False),
        ("", False),
    ],
)
def test_the_media_type_follows_the_accept_header(accept: str, expected: bool) -> None:
    assert wants_graphql_response(accept) is expected


async def test_a_good_query_answers_200_in_the_media_type_asked_for(
    live_server: LiveServer,
) -> None:
    response = await post(live_server, {"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json() == {"data": {"__typename": "Query"}}

    legacy = await post(live_server, {"query": "{ __typename }"}, accept=None)
    assert legacy.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{"}, "SYNTAX_ERROR"),
        ({"query": "{ noSuchField }"}, "INVALID_QUERY"),
        (
            {"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": [1, 2]}},
            "INVALID_QUERY",
        ),
        ({"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {}}, "INVALID_QUERY"),
        ({"query": "{ __typename }", "variables": {"x": "\x00"}}, "INVALID"),
    ],
    ids=["parse", "validation", "coercion", "missing-variable", "input-limit"],
)
async def test_a_request_error_is_a_400_without_data(
    live_server: LiveServer, body: dict[str, object], code: str
) -> None:
    response = await post(live_server, body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    answer = response.json()
    assert "data" not in answer
    assert [error["extensions"]["code"] for error in answer["errors"]] == [code]

    # The same request as application/json: 200 and `data: null`, as clients expect.
    legacy = await post(live_server, body, accept="application/json")
    assert legacy.status_code == 200
    assert legacy.json()["data"] is None


async def test_a_field_error_stays_a_200_with_its_data(live_server: LiveServer) -> None:
    # `sites` needs a caller: an execution error, part of a result, not a request error.
    response = await post(live_server, {"query": "{ __typename sites { totalCount } }"})
    assert response.status_code == 200
    answer = response.json()
    assert answer["data"]["__typename"] == "Query"
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("operation_name", [{"obj": "ect"}, 0, False, ["array"]])
async def test_an_operation_name_that_is_not_a_string_is_a_400(
    live_server: LiveServer, operation_name: object
) -> None:
    response = await post(live_server, {"query": "{ __typename }", "operationName": operation_name})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID"


def _audit_dependencies() -> str:
    """node, and the audit's packages (installed from the lock file on first use)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node is not installed: the graphql-http audits need it")
    if not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=AUDIT_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"npm could not install graphql-http: {done.stderr[-300:]}")
    return node


@pytest.mark.slow
def test_the_graphql_http_server_audits_report_no_warning(tmp_path: Path) -> None:
    node = _audit_dependencies()
    port = free_port()
    env = comptoir_env(f"sqlite+aiosqlite:///{tmp_path / 'audit.sqlite'}", tmp_path)
    run_comptoir("migrate", env=env)
    url = f"http://127.0.0.1:{port}"
    with running(
        "serve",
        "--port",
        str(port),
        env=env,
        log=tmp_path / "serve.log",
        ready_url=f"{url}/health/live",
    ):
        done = subprocess.run(
            [node, str(AUDIT_DIR / "audit.mjs"), f"{url}/graphql"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    report = json.loads(done.stdout)
    problems = [p for p in report["problems"] if p["status"] in {"warn", "error"}]
    assert problems == [], problems
    assert report["warn"] == 0 and report["error"] == 0
    # Every audit ran; the only notices are the GETs this API refuses on purpose (a query
    # by GET would be a cross-site request a browser sends without asking).
    assert report["total"] >= 60
    assert {p["id"] for p in report["problems"]} <= {"5A70", "D6D5", "6A70"}
