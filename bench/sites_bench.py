"""`sites(first: 50)` with nested fields, beside a hand-written SQL endpoint, on full data.

.venv/bin/python bench/sites_bench.py [--seconds 10] [--connections 4]

Serves the app with uvicorn on loopback, adds a reference route that answers the same JSON
with hand-written SQL in the same process, and loads both with wrk (Debian package `wrk`)
as the demo ADMIN (the whole group, 12,967 sites). Prints requests/s and p50/p99 for each,
and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.full_data import full_database_url
from comptoir.settings import Settings
from demo import DEMO_PASSWORD
from tests.e2e import server as test_server

SITES = """query { sites(first: 50) { totalCount edges { cursor node {
  id pointNumber energy segment status city postcode internalCode designation carKwh
  member { legalName } billingAccount { number invoiceLabel }
  currentMeter { serial kind isCommunicating }
  lastActualReadings { register index readOn source } } } } }"""

PAGE_SQL = """
SELECT s.id, s.point_number, s.energy, s.segment, s.status, s.city, s.postcode,
       s.internal_code, s.designation, s.car_kwh, m.legal_name, b.number, b.invoice_label,
       mt.serial, mt.kind, mt.is_communicating
FROM sites s
JOIN members m ON m.id = s.member_id
JOIN billing_accounts b ON b.id = s.billing_account_id
LEFT JOIN meters mt ON mt.site_id = s.id AND mt.removed_on IS NULL
WHERE m.group_id = :group_id
ORDER BY s.point_number, s.id
LIMIT 50
"""
COUNT_SQL = """SELECT count(*) FROM sites s JOIN members m ON m.id = s.member_id
WHERE m.group_id = :group_id"""
READINGS_SQL = """
SELECT site_id, register_code, index_value, read_on, source FROM (
  SELECT r.site_id, r.register_code, r.index_value, r.read_on, r.source,
         row_number() OVER (PARTITION BY r.site_id, r.register_code
                            ORDER BY r.read_on DESC, r.id DESC) AS rank
  FROM readings r JOIN meters mt ON mt.id = r.meter_id AND mt.removed_on IS NULL
  WHERE r.site_id IN ({ids})
    AND r.source IN ('DISTRIBUTOR_ACTUAL', 'SELF_READING', 'SPECIAL')
    AND (r.self_reading_status IS NULL OR r.self_reading_status != 'REJECTED')
) ranked WHERE rank = 1
"""


async def reference_sites(request: Request) -> Response:
    """The same answer as the GraphQL query, written by hand (no auth, no GraphQL)."""
    engine = request.app.state.engine
    async with engine.connect() as connection:
        total = (await connection.execute(sa.text(COUNT_SQL), {"group_id": 1})).scalar()
        rows = (await connection.execute(sa.text(PAGE_SQL), {"group_id": 1})).all()
        ids = ",".join(str(r[0]) for r in rows)
        readings: dict[int, list[dict[str, Any]]] = {}
        for site_id, register, index, read_on, source in (
            await connection.execute(sa.text(READINGS_SQL.format(ids=ids)))
        ).all():
            readings.setdefault(site_id, []).append(
                {"register": register, "index": index, "readOn": str(read_on), "source": source}
            )
    edges = [
        {
            "cursor": str(r[0]),
            "node": {
                "id": str(r[0]),
                "pointNumber": r[1],
                "energy": r[2],
                "segment": r[3],
                "status": r[4],
                "city": r[5],
                "postcode": r[6],
                "internalCode": r[7],
                "designation": r[8],
                "carKwh": r[9],
                "member": {"legalName": r[10]},
                "billingAccount": {"number": r[11], "invoiceLabel": r[12]},
                "currentMeter": {"serial": r[13], "kind": r[14], "isCommunicating": bool(r[15])},
                "lastActualReadings": readings.get(r[0], []),
            },
        }
        for r in rows
    ]
    body = {"data": {"sites": {"totalCount": total, "edges": edges}}}
    return Response(orjson.dumps(body), media_type="application/json")


def wrk(url: str, body: str, token: str, seconds: int, connections: int) -> dict[str, float]:
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def millis(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"rps": rate, "p50": millis("50%"), "p99": millis("99%")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--database-url", help="a database already holding the full demo data (default: SQLite)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    url = args.database_url or full_database_url()
    folder = Path(tempfile.mkdtemp(prefix="comptoir-bench-"))
    settings = Settings(database_url=url, files_dir=folder, mail_dir=folder)
    original = test_server.create_app

    def app_with_reference(settings: Settings) -> Any:
        app = original(settings)
        app.router.routes.append(Route("/reference/sites", reference_sites, methods=["POST"]))
        return app

    test_server.create_app = app_with_reference  # type: ignore[assignment]
    for live in test_server.serve(settings):
        login = httpx.post(
            f"{live.url}/graphql",
            json={
                "query": 'mutation { logIn(input: {email: "admin@demo.comptoir.fr", password: "'
                + DEMO_PASSWORD
                + '"}) { tokens { accessToken } } }'
            },
        ).json()
        token = login["data"]["logIn"]["tokens"]["accessToken"]
        graphql_body = json.dumps({"query": SITES})
        ours = httpx.post(
            f"{live.url}/graphql",
            content=graphql_body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        ).json()
        theirs = httpx.post(f"{live.url}/reference/sites").json()
        same = [e["node"]["pointNumber"] for e in ours["data"]["sites"]["edges"]] == [
            e["node"]["pointNumber"] for e in theirs["data"]["sites"]["edges"]
        ]
        print(f"same 50 sites in both answers: {same}; answer {len(orjson.dumps(ours)) // 1024} kB")
        results = {}
        for name, path, body in (
            ("reference SQL + Starlette", "/reference/sites", "{}"),
            ("GraphQL sites(first: 50)", "/graphql", graphql_body),
        ):
            wrk(f"{live.url}{path}", body, token, 2, args.connections)  # warm-up
            results[name] = wrk(f"{live.url}{path}", body, token, args.seconds, args.connections)
        for name, r in results.items():
            print(
                f"{name:28} {r['rps']:8.1f} req/s   p50 {r['p50']:7.1f} ms   p99 {r['p99']:7.1f} ms"
            )
        ratio = (
            results["GraphQL sites(first: 50)"]["rps"] / results["reference SQL + Starlette"]["rps"]
        )
        print(f"GraphQL / reference throughput: {ratio:.2f}")
    asyncio.get_event_loop_policy()


if __name__ == "__main__":
    main()
