"""The hand-written reference that bench/compare.py measures comptoir against.

Starlette + the raw driver (asyncpg, or sqlite3 through aiosqlite) + orjson, serving the very
bytes comptoir answers to the four queries of the bench (checked before any timing). It does
what a careful hand-written endpoint must do and nothing more: it checks the bearer token,
reads the caller's ADMIN grants and live session in one statement, and scopes every query to
the caller's groups and to the data still retained (domain/retention.py). It is a yardstick,
not a second implementation: it serves one tier (ADMIN) and exactly the selections of
bench/compare.py.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.resolvers.cursors import encode_cursor
from auth.tokens import InvalidAccessToken, read_access_token
from domain.calendar import paris_today
from domain.enums import MeterKind, Register, Segment, SiteStatus
from domain.retention import served_since
from domain.self_reading import MeterFacts, SiteFacts, self_reading_possible


class Database:
    """One pool (asyncpg) or one connection (aiosqlite) and `fetch(sql, *args)` on either:
    the SQL below uses `?` placeholders, rewritten to `$n` for PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        self._pool: Any = None
        self._sqlite: Any = None
        self._sql: dict[str, str] = {}

    async def open(self) -> None:
        if self.sqlite:
            import aiosqlite

            self._sqlite = await aiosqlite.connect(self.url.split("///", 1)[1])
        else:
            import asyncpg

            dsn = self.url.replace("postgresql+asyncpg://", "postgresql://")
            self._pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)

    async def close(self) -> None:
        if self._sqlite is not None:
            await self._sqlite.close()
        if self._pool is not None:
            await self._pool.close()

    def _native(self, sql: str) -> str:
        native = self._sql.get(sql)
        if native is None:
            if self.sqlite:
                native = sql
            else:
                parts = sql.split("?")
                native = parts[0] + "".join(f"${i}{p}" for i, p in enumerate(parts[1:], 1))
            self._sql[sql] = native
        return native

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        native = self._native(sql)
        if self.sqlite:
            async with self._sqlite.execute(native, args) as cursor:
                return list(await cursor.fetchall())
        async with self._pool.acquire() as connection:
            return list(await connection.fetch(native, *args))

    def money(self, value: Any, scale: int = 2) -> str | None:
        """A FixedDecimal column as comptoir serialises it (SQLite stores scaled integers)."""
        if value is None:
            return None
        if self.sqlite:
            return str(Decimal(int(value)).scaleb(-scale))
        return str(Decimal(value).quantize(Decimal(1).scaleb(-scale)))

    def day(self, value: Any) -> str | None:
        if value is None:
            return None
        return value if isinstance(value, str) else value.isoformat()

    def since(self) -> Any:
        """The retention cut-off (domain/retention.py) as the driver binds a date column."""
        cut_off = served_since(paris_today())
        return cut_off.isoformat() if self.sqlite else cut_off

    def instant(self, value: Any) -> datetime:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def global_id(kind: str, pk: int) -> str:
    return base64.b64encode(f"{kind}:{pk}".encode()).decode()


AUTH_SQL = """
SELECT u.id, u.email, u.full_name, g.tier, g.group_id
FROM users u
JOIN access_grants g ON g.user_id = u.id AND g.revoked_at IS NULL AND g.suspended_at IS NULL
WHERE u.id = ? AND u.status = 'ACTIVE'
  AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = ? AND t.revoked_at IS NULL
              AND t.expires_at > ?)
ORDER BY g.id
"""


async def caller_groups(request: Request) -> tuple[list[Any], list[int]] | None:
    """The caller's grant rows and ADMIN groups, from the bearer token: one statement."""
    state = request.app.state
    header = request.headers.get("authorization", "")
    try:
        claims = read_access_token(state.settings.signing_secret, header.partition(" ")[2])
    except InvalidAccessToken:
        return None
    db: Database = state.reference
    now: Any = datetime.now(UTC)
    if db.sqlite:
        now = now.replace(tzinfo=None).isoformat(sep=" ")
    rows = await db.fetch(AUTH_SQL, claims.user_id, claims.family_id, now)
    groups = sorted({r[4] for r in rows if r[3] == "ADMIN" and r[4] is not None})
    return (rows, groups) if rows else None


def _answer(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _refused() -> Response:
    return Response(b'{"errors":[{"message":"refused"}]}', status_code=401)


def _in(values: list[int]) -> str:
    return ",".join("?" for _ in values)


def _last_readings_sql(count: int) -> str:
    return f"""
SELECT site_id, register_code, index_value, read_on, source FROM (
  SELECT r.site_id, r.register_code, r.index_value, r.read_on, r.source,
         row_number() OVER (PARTITION BY r.site_id, r.register_code
                            ORDER BY r.read_on DESC, r.id DESC) AS rank
  FROM readings r JOIN meters mt ON mt.id = r.meter_id AND mt.removed_on IS NULL
  WHERE r.site_id IN ({",".join("?" for _ in range(count))})
    AND r.source IN ('DISTRIBUTOR_ACTUAL', 'SELF_READING', 'SPECIAL')
    AND (r.self_reading_status IS NULL OR r.self_reading_status != 'REJECTED')
) ranked WHERE rank = 1 ORDER BY site_id, register_code
"""


async def _last_readings(db: Database, site_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not site_ids:
        return found
    for site_id, register, index, read_on, source in await db.fetch(
        _last_readings_sql(len(site_ids)), *site_ids
    ):
        found[site_id].append(
            {"register": register, "index": index, "readOn": db.day(read_on), "source": source}
        )
    return found


SITES_PAGE_SQL = """
SELECT s.id, s.point_number, s.energy, s.segment, s.status, s.city, s.postcode,
       s.internal_code, s.designation, s.car_kwh, m.legal_name, b.number, b.invoice_label,
       mt.serial, mt.kind, mt.is_communicating
FROM sites s
JOIN members m ON m.id = s.member_id
JOIN billing_accounts b ON b.id = s.billing_account_id
LEFT JOIN meters mt ON mt.site_id = s.id AND mt.removed_on IS NULL
WHERE s.member_id IN (SELECT id FROM members WHERE group_id IN ({groups}))
  AND s.id NOT IN (SELECT id FROM sites WHERE supply_end < ?)
ORDER BY s.point_number, s.id
LIMIT ?
"""
SITES_COUNT_SQL = """SELECT count(*) FROM sites s
WHERE s.member_id IN (SELECT id FROM members WHERE group_id IN ({groups}))
  AND s.id NOT IN (SELECT id FROM sites WHERE supply_end < ?)"""


async def sites(request: Request) -> Response:
    """`sites(first: 50)` with member, billing account, current meter and last readings."""
    caller = await caller_groups(request)
    if caller is None:
        return _refused()
    groups = caller[1]
    db: Database = request.app.state.reference
    first = 50
    since = db.since()
    total = (await db.fetch(SITES_COUNT_SQL.format(groups=_in(groups)), *groups, since))[0][0]
    rows = await db.fetch(SITES_PAGE_SQL.format(groups=_in(groups)), *groups, since, first + 1)
    shown = rows[:first]
    readings = await _last_readings(db, [r[0] for r in shown])
    edges = [
        {
            "cursor": encode_cursor(r[1], r[0]),
            "node": {
                "id": global_id("Site", r[0]),
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
                "currentMeter": None
                if r[13] is None
                else {"serial": r[13], "kind": r[14], "isCommunicating": bool(r[15])},
                "lastActualReadings": readings.get(r[0], []),
            },
        }
        for r in shown
    ]
    return _answer(
        {
            "data": {
                "sites": {
                    "totalCount": total,
                    "pageInfo": {
                        "hasNextPage": len(rows) > first,
                        "endCursor": edges[-1]["cursor"] if edges else None,
                    },
                    "edges": edges,
                }
            }
        }
    )


SHEET_SQL = """
SELECT s.id, s.point_number, s.energy, s.segment, s.tariff_option, s.subscribed_power_kva,
       s.car_kwh, s.status, s.supply_start, s.supply_end, s.street, s.postcode, s.city,
       s.profile, m.legal_name, b.number, b.invoice_label, s.internal_code, s.designation,
       s.other_reference
FROM sites s
JOIN members m ON m.id = s.member_id
JOIN billing_accounts b ON b.id = s.billing_account_id
WHERE s.point_number = ? AND m.group_id IN ({groups})
  AND (s.supply_end IS NULL OR s.supply_end >= ?)
ORDER BY s.energy LIMIT 1
"""
METERS_SQL = """SELECT serial, kind, installed_on, removed_on, is_communicating, digits, registers
FROM meters
WHERE site_id = ? ORDER BY installed_on DESC, id DESC"""


async def technical_sheet(request: Request) -> Response:
    """`siteByPointNumber` with member, account, every meter, last readings and the flags."""
    caller = await caller_groups(request)
    if caller is None:
        return _refused()
    groups = caller[1]
    db: Database = request.app.state.reference
    point_number = request.query_params["p"]
    found = await db.fetch(SHEET_SQL.format(groups=_in(groups)), point_number, *groups, db.since())
    if not found:
        return _answer({"data": {"siteByPointNumber": None}})
    s = found[0]
    meters = await db.fetch(METERS_SQL, s[0])
    readings = await _last_readings(db, [s[0]])
    current = next((m for m in meters if m[3] is None), None)
    may_submit = current is not None and self_reading_possible(
        SiteFacts(segment=Segment(s[3]), status=SiteStatus(s[7]), car_kwh=s[6], profile=s[13]),
        MeterFacts(
            kind=MeterKind(current[1]),
            is_communicating=bool(current[4]),
            digits=current[5],
            registers=tuple(Register(r) for r in orjson.loads(current[6])),
        ),
    )
    sheet = {
        "id": global_id("Site", s[0]),
        "pointNumber": s[1],
        "energy": s[2],
        "segment": s[3],
        "tariffOption": s[4],
        "subscribedPowerKva": db.money(s[5], 1),
        "carKwh": s[6],
        "status": s[7],
        "supplyStart": db.day(s[8]),
        "supplyEnd": db.day(s[9]),
        "street": s[10],
        "postcode": s[11],
        "city": s[12],
        "internalCode": s[17],
        "designation": s[18],
        "otherReference": s[19],
        "member": {"legalName": s[14]},
        "billingAccount": {"number": s[15], "invoiceLabel": s[16]},
        "meters": [
            {"serial": m[0], "kind": m[1], "installedOn": db.day(m[2]), "removedOn": db.day(m[3])}
            for m in meters
        ],
        "lastActualReadings": readings.get(s[0], []),
        "canSubmitSelfReading": may_submit,
        "canEditReferences": True,  # an ADMIN of the site's group
    }
    return _answer({"data": {"siteByPointNumber": sheet}})


INVOICES_SQL = """
SELECT i.id, i.number, i.kind, i.accounting_date, i.total_excl_tax, i.total_incl_tax,
       i.due_date, b.number, b.invoice_label
FROM invoices i JOIN billing_accounts b ON b.id = i.billing_account_id
WHERE b.member_id IN (SELECT id FROM members WHERE group_id IN ({groups}))
  AND i.id NOT IN ({expired})
  AND i.accounting_date >= ? AND i.accounting_date <= ?
ORDER BY i.accounting_date DESC, i.id DESC
LIMIT ?
"""
INVOICES_COUNT_SQL = """
SELECT count(*) FROM invoices i JOIN billing_accounts b ON b.id = i.billing_account_id
WHERE b.member_id IN (SELECT id FROM members WHERE group_id IN ({groups}))
  AND i.id NOT IN ({expired})
  AND i.accounting_date >= ? AND i.accounting_date <= ?
"""
# Invoices whose every site's contract ended before the retention cut-off.
EXPIRED_INVOICES_SQL = """SELECT sh.invoice_id FROM invoice_sites sh
JOIN sites st ON st.id = sh.site_id
WHERE st.supply_end < ? AND NOT EXISTS (
  SELECT 1 FROM invoice_sites k JOIN sites ks ON ks.id = k.site_id
  WHERE k.invoice_id = sh.invoice_id AND (ks.supply_end IS NULL OR ks.supply_end >= ?))"""
LINES_SQL = """SELECT invoice_id, label, amount FROM invoice_lines WHERE invoice_id IN ({ids})
ORDER BY invoice_id, position"""
INVOICE_PERIOD = (date(2026, 1, 1), date(2026, 11, 30))


async def invoices(request: Request) -> Response:
    """`invoices(first: 50)` over a fixed period, with their lines."""
    caller = await caller_groups(request)
    if caller is None:
        return _refused()
    groups = caller[1]
    db: Database = request.app.state.reference
    first = 50
    period: tuple[Any, ...] = INVOICE_PERIOD
    if db.sqlite:
        period = tuple(d.isoformat() for d in INVOICE_PERIOD)
    scope = {"groups": _in(groups), "expired": EXPIRED_INVOICES_SQL}
    since = db.since()
    rows = await db.fetch(INVOICES_SQL.format(**scope), *groups, since, since, *period, first + 1)
    total = (await db.fetch(INVOICES_COUNT_SQL.format(**scope), *groups, since, since, *period))[0][
        0
    ]
    shown = rows[:first]
    ids = [r[0] for r in shown]
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        for invoice_id, label, amount in await db.fetch(LINES_SQL.format(ids=_in(ids)), *ids):
            lines[invoice_id].append({"label": label, "amount": db.money(amount)})
    edges = [
        {
            "cursor": encode_cursor(db.day(r[3]), r[0]),
            "node": {
                "id": global_id("Invoice", r[0]),
                "number": r[1],
                "kind": r[2],
                "accountingDate": db.day(r[3]),
                "totalExclTax": db.money(r[4]),
                "totalInclTax": db.money(r[5]),
                "dueDate": db.day(r[6]),
                "billingAccountNumber": r[7],
                "invoiceLabel": r[8],
                "lines": lines.get(r[0], []),
            },
        }
        for r in shown
    ]
    page_info = {
        "hasNextPage": len(rows) > first,
        "endCursor": edges[-1]["cursor"] if edges else None,
    }
    return _answer(
        {"data": {"invoices": {"totalCount": total, "pageInfo": page_info, "edges": edges}}}
    )


PERIMETER_SQL = """
SELECT (SELECT count(*) FROM members WHERE group_id IN ({groups})),
       (SELECT count(*) FROM billing_accounts WHERE member_id IN
          (SELECT id FROM members WHERE group_id IN ({groups})))
"""
SITES_BY_ENERGY_SQL = """SELECT energy, count(*) FROM sites
WHERE member_id IN (SELECT id FROM members WHERE group_id IN ({groups}))
  AND id NOT IN (SELECT id FROM sites WHERE supply_end < ?) GROUP BY energy"""


async def viewer(request: Request) -> Response:
    """`viewer` with the person, their grants and the perimeter's counts."""
    caller = await caller_groups(request)
    if caller is None:
        return _refused()
    rows, groups = caller
    db: Database = request.app.state.reference
    members, accounts = (await db.fetch(PERIMETER_SQL.format(groups=_in(groups)), *groups * 2))[0]
    by_energy = dict(
        await db.fetch(SITES_BY_ENERGY_SQL.format(groups=_in(groups)), *groups, db.since())
    )
    gas, electricity = by_energy.get("GAS", 0), by_energy.get("ELECTRICITY", 0)
    body = {
        "data": {
            "viewer": {
                "viaApiKey": False,
                "person": {
                    "email": rows[0][1],
                    "fullName": rows[0][2],
                    "grants": [{"tier": r[3]} for r in rows],
                },
                "perimeter": {
                    "members": members,
                    "billingAccounts": accounts,
                    "sites": gas + electricity,
                    "sitesByEnergy": [
                        {"energy": "GAS", "sites": gas},
                        {"energy": "ELECTRICITY", "sites": electricity},
                    ],
                },
            }
        }
    }
    return _answer(body)


ROUTES = [
    Route("/reference/sites", sites, methods=["POST"]),
    Route("/reference/technical-sheet", technical_sheet, methods=["POST"]),
    Route("/reference/invoices", invoices, methods=["POST"]),
    Route("/reference/viewer", viewer, methods=["POST"]),
]
