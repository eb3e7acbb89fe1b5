"""`comptoir import-curves FILE`: distributors' CSV exports of load curves and of daily gas
consumption, streamed, all or nothing per file, idempotent per day.

Accepted files (UTF-8 with or without BOM, `;` or `,`, optionally gzip-compressed `.gz`;
the header names the kind, columns in any order, case and accents ignored):

- load curve (Enedis-style): `prm;horodate;valeur[;unite][;pas][;nature]`. `horodate` is the
  START of the interval, ISO 8601 with its UTC offset (`2026-10-25T02:30:00+01:00`: the offset
  tells the two 02:30 of the October change apart); `valeur` the mean power over the step;
  `unite` W (default) or kW; `pas` 10 or 30 minutes (`PT10M` accepted, default 30); `nature`
  R réelle (default), E estimée, C corrigée, M manquante (empty `valeur`).
- daily gas (GRDF Gazpar-style): `pce;date;volume_m3;coefficient[;energie_kwh][;qualite]`.
  `date` the gas day (AAAA-MM-JJ); `coefficient` the kWh per m³ (PCS × correction); the energy
  is computed when absent and must match volume × coefficient to the kWh when given.

On PostgreSQL a load curve goes through `curve_import_sql`: the file's bytes are COPYed as
they are and checked, converted and written by set-based SQL (what repeats — instants, values,
kinds, point numbers — checked once per distinct value here, with the same rules and words).
Elsewhere (SQLite, daily gas) it is read a chunk of lines at a time into a
temporary staging table, so memory stays flat whatever its size. Either way every bad line is
reported with its number and then nothing is written. Otherwise, in the same transaction,
every (site, Paris day) the file touches is replaced: the day's previous points are deleted,
the file's inserted. Re-importing a file changes nothing; importing a corrected day replaces
it whole.
"""

from __future__ import annotations

import csv
import gzip
import io
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.curve_import_sql import import_curves_in_sql
from api.resolvers.invoice_import import ImportRejected
from db.core import METERS, SITES
from db.curve_partitions import ensure_month_partitions
from db.engine import transaction
from domain.calendar import PARIS
from domain.curves import LineError, PowerLines, gas_day, paris_day_bounds
from domain.enums import Energy

POWER_COLUMNS = ("prm", "horodate", "valeur", "unite", "pas", "nature")
POWER_REQUIRED = ("prm", "horodate", "valeur")
GAS_COLUMNS = ("pce", "date", "volume_m3", "coefficient", "energie_kwh", "qualite")
GAS_REQUIRED = ("pce", "date", "volume_m3", "coefficient")
CHUNK = 20_000
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE for a duplicate key
MAX_PROBLEMS = 10_000  # beyond this the file is plainly the wrong one: stop reading it

__all__ = ["CurveImportReport", "ImportRejected", "import_curves"]


@dataclass(frozen=True, slots=True)
class CurveImportReport:
    kind: str  # "load_curve" or "gas_daily"
    points: int
    site_days: int
    sites: int
    seconds: float


def _folded(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.strip().lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.replace(" ", "_").replace("(", "").replace(")", "").replace("³", "3")


def _open_text(path: Path) -> io.TextIOBase:
    # The wrapper owns the binary file and closes it: the caller's `with` is on the wrapper.
    raw: Any = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


@dataclass(slots=True)
class _Meter:
    id: int
    installed_on: date


@dataclass(slots=True)
class _Site:
    id: int
    meters: list[_Meter]  # latest installation first

    def meter_on(self, day: date) -> int | None:
        for meter in self.meters:
            if meter.installed_on <= day:
                return meter.id
        return None


class _Sites:
    """Point number → site and meters, looked up a chunk at a time (no full preload)."""

    def __init__(self, connection: AsyncConnection, energy: Energy) -> None:
        self.connection = connection
        self.energy = energy
        self.known: dict[str, _Site | None] = {}

    async def load(self, numbers: set[str]) -> None:
        wanted = sorted(n for n in numbers if n not in self.known)
        if not wanted:
            return
        for number in wanted:
            self.known[number] = None
        rows = await self.connection.execute(
            sa.select(SITES.c.point_number, SITES.c.id, METERS.c.id, METERS.c.installed_on)
            .join(METERS, METERS.c.site_id == SITES.c.id)
            .where(SITES.c.energy == self.energy.value, SITES.c.point_number.in_(wanted))
            .order_by(SITES.c.point_number, METERS.c.installed_on.desc())
        )
        for number, site_id, meter_id, installed_on in rows:
            site = self.known[number]
            if site is None:
                site = self.known[number] = _Site(site_id, [])
            site.meters.append(_Meter(meter_id, installed_on))


def _sqlite_instant(value: datetime) -> str:
    """SQLAlchemy's storage format for a (naive UTC) datetime on SQLite."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


class _Staging:
    """The temporary table the file is streamed into, per backend."""

    direct = False

    def __init__(self, connection: AsyncConnection, gas: bool) -> None:
        self.connection = connection
        self.gas = gas
        self.postgresql = connection.dialect.name == "postgresql"
        self.raw: Any = None
        # One name per kind: asyncpg caches the column types of a COPY target by its name.
        self.name = "gas_staging" if gas else "curve_staging"

    async def create(self) -> None:
        if self.gas:
            columns = (
                "line integer, site_id bigint, day date, meter_id bigint, volume_m3 numeric,"
                " coefficient numeric, energy_kwh numeric, quality varchar(9)"
            )
        else:
            columns = (
                "line integer, site_id bigint, starts_at timestamptz, meter_id bigint,"
                " minutes smallint, power_w integer, quality varchar(9),"
                " day_start timestamptz, day_end timestamptz"
            )
        if self.postgresql:
            await self.connection.exec_driver_sql(
                f"CREATE TEMP TABLE {self.name} ({columns}) ON COMMIT DROP"
            )
            fairy = await self.connection.get_raw_connection()
            self.raw = fairy.driver_connection
        else:
            await self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{self.name}")
            await self.connection.exec_driver_sql(
                f"CREATE TEMP TABLE {self.name} ({columns.replace('timestamptz', 'text')})"
            )

    async def write(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.postgresql:
            await self.raw.copy_records_to_table(self.name, records=rows)
            return
        marks = ",".join("?" * len(rows[0]))
        await self.connection.exec_driver_sql(f"INSERT INTO {self.name} VALUES ({marks})", rows)

    def power_row(
        self, line: int, site_id: int, meter_id: int, point: Any, day: tuple[datetime, datetime]
    ) -> tuple[Any, ...]:
        if self.postgresql:
            return (
                line, site_id, point.starts_at, meter_id, point.minutes, point.power_w,
                point.quality, day[0], day[1],
            )  # fmt: skip
        return (
            line, site_id, _sqlite_instant(point.starts_at), meter_id, point.minutes,
            point.power_w, point.quality.value, _sqlite_instant(day[0]), _sqlite_instant(day[1]),
        )  # fmt: skip

    def gas_row(self, line: int, site_id: int, meter_id: int, g: Any) -> tuple[Any, ...]:
        if self.postgresql:
            return (
                line, site_id, g.day, meter_id, g.volume_m3, g.coefficient, g.energy_kwh,
                g.quality.value,
            )  # fmt: skip
        # FixedDecimal's SQLite storage: integers of 10^-scale units.
        return (
            line, site_id, g.day.isoformat(), meter_id, _scaled(g.volume_m3, 2),
            _scaled(g.coefficient, 5), _scaled(g.energy_kwh, 2), g.quality.value,
        )  # fmt: skip


class _DirectCurves(_Staging):
    """PostgreSQL, load curves: each chunk is COPYed straight into `load_curve_points`,
    after the (site, day)s it is the first to touch are deleted, all in the import's
    transaction. No staging table: writing every point twice (COPY, then INSERT … SELECT)
    cost as much as the rest of the import. A point given twice is caught in the chunk, or
    by the primary key against an earlier chunk (the COPY runs under a savepoint)."""

    direct = True

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection, gas=False)
        self.replaced: set[tuple[int, datetime]] = set()
        self.months: set[date] = set()
        self.sites: set[int] = set()
        self.problems: list[tuple[int, str]] = []

    async def create(self) -> None:
        fairy = await self.connection.get_raw_connection()
        self.raw = fairy.driver_connection

    async def write(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        seen: dict[tuple[int, datetime], int] = {}
        fresh: dict[tuple[int, datetime], datetime] = {}
        for row in rows:
            key = (row[1], row[2])
            if key in seen:
                self.problems.append((row[0], f"point en double : déjà donné ligne {seen[key]}"))
            seen[key] = row[0]
            day = (row[1], row[7])
            if day not in self.replaced:
                fresh[day] = row[8]
        if self.problems:
            return
        if fresh:
            months = {start.astimezone(PARIS).date().replace(day=1) for _, start in fresh}
            for month in sorted(months - self.months):
                await ensure_month_partitions(self.connection, month, month)
                self.months.add(month)
            await self.raw.execute(
                "DELETE FROM load_curve_points p USING unnest($1::bigint[], $2::timestamptz[],"
                " $3::timestamptz[]) AS d(site_id, day_start, day_end) WHERE p.site_id = d.site_id"
                " AND p.starts_at >= d.day_start AND p.starts_at < d.day_end",
                [k[0] for k in fresh],
                [k[1] for k in fresh],
                list(fresh.values()),
            )
            self.replaced.update(fresh)
            self.sites.update(k[0] for k in fresh)
        await self.raw.execute("SAVEPOINT curve_chunk")
        try:
            await self.raw.copy_records_to_table(
                "load_curve_points",
                records=[r[1:7] for r in rows],
                columns=["site_id", "starts_at", "meter_id", "minutes", "power_w", "quality"],
            )
        except Exception as error:  # the driver's own class: asyncpg ships no type hints
            if getattr(error, "sqlstate", None) != UNIQUE_VIOLATION:
                raise
            await self.raw.execute("ROLLBACK TO SAVEPOINT curve_chunk")
            self.problems.append((_line_of(error, rows), "point en double : déjà donné plus haut"))
            return
        await self.raw.execute("RELEASE SAVEPOINT curve_chunk")


def _line_of(error: Exception, rows: list[tuple[Any, ...]]) -> int:
    """The chunk's line whose key the primary key refused (PostgreSQL names it)."""
    detail = str(getattr(error, "detail", "") or "")
    for row in rows:
        if f"=({row[1]}, " in detail:
            stamp = row[2].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
            if stamp in detail.replace("+00", "").replace("T", " "):
                return int(row[0])
    return int(rows[0][0])


def _scaled(value: Decimal | None, scale: int) -> int | None:
    return None if value is None else int(value.scaleb(scale))


def _header(reader: Iterator[list[str]]) -> tuple[bool, dict[str, int]]:
    try:
        names = [_folded(n) for n in next(reader)]
    except StopIteration:
        raise ImportRejected([(1, "fichier vide")]) from None
    index = {name: i for i, name in enumerate(names)}
    if all(c in index for c in POWER_REQUIRED):
        return False, index
    if all(c in index for c in GAS_REQUIRED):
        return True, index
    raise ImportRejected(
        [
            (
                1,
                "en-tête non reconnu : attendu « prm;horodate;valeur[;unite][;pas][;nature] » "
                "(courbe de charge) ou « pce;date;volume_m3;coefficient[;energie_kwh][;qualite] »"
                " (gaz journalier)",
            )
        ]
    )


async def import_curves(
    sessions: async_sessionmaker[AsyncSession], path: Path, *, in_sql: bool | None = None
) -> CurveImportReport:
    """Imports one file in one transaction, or nothing (ImportRejected, every bad line).

    On PostgreSQL a load curve is checked and converted in SQL (curve_import_sql) unless
    `in_sql` is False (the tests run both readers) or the file uses CSV quoting."""
    started = time.perf_counter()
    async with transaction(sessions) as session:
        connection = await session.connection()
        with _open_text(path) as text:
            first = text.readline()
            delimiter = ";" if first.count(";") >= first.count(",") else ","
            gas, index = _header(iter([next(csv.reader([first], delimiter=delimiter), [])]))
            postgresql = connection.dialect.name == "postgresql"
            if postgresql and not gas and in_sql is not False and '"' not in first:
                done = await import_curves_in_sql(connection, path, delimiter, index, MAX_PROBLEMS)
                if done is not None:
                    points, site_days, site_count = done
                    return CurveImportReport(
                        "load_curve", points, site_days, site_count, time.perf_counter() - started
                    )
            reader = csv.reader(text, delimiter=delimiter)
            staging = (
                _DirectCurves(connection) if postgresql and not gas else _Staging(connection, gas)
            )
            await staging.create()
            sites = _Sites(connection, Energy.GAS if gas else Energy.ELECTRICITY)
            problems: list[tuple[int, str]] = []
            points = await _stream(reader, index, gas, sites, staging, problems)
        if isinstance(staging, _DirectCurves):
            problems += staging.problems
        if problems:
            raise ImportRejected(sorted(problems))
        if not points:
            raise ImportRejected([(2, "le fichier ne contient aucune ligne de données")])
        if isinstance(staging, _DirectCurves):
            return CurveImportReport(
                "load_curve",
                points,
                len(staging.replaced),
                len(staging.sites),
                time.perf_counter() - started,
            )
        try:
            # The primary key finds a point given twice; only then is the staging table
            # grouped to name the lines (a GROUP BY of every import cost seconds per million).
            await connection.exec_driver_sql("SAVEPOINT curve_points")
            site_days, site_count = await _replace(connection, gas)
        except sa.exc.IntegrityError:
            await connection.exec_driver_sql("ROLLBACK TO SAVEPOINT curve_points")
            await _check_duplicates(connection, gas, problems)
            if not problems:
                raise
            raise ImportRejected(problems) from None
    return CurveImportReport(
        "gas_daily" if gas else "load_curve",
        points,
        site_days,
        site_count,
        time.perf_counter() - started,
    )


async def _stream(
    reader: Iterator[list[str]],
    index: dict[str, int],
    gas: bool,
    sites: _Sites,
    staging: _Staging,
    problems: list[tuple[int, str]],
) -> int:
    """Reads the file a chunk at a time into the staging table; returns the good points."""
    names = GAS_COLUMNS if gas else POWER_COLUMNS
    positions = [index.get(n) for n in names]
    width = len(index)
    lines = PowerLines()
    parse: Any = gas_day if gas else lines.parse
    count = 0
    line = 1
    days: dict[date, tuple[datetime, datetime]] = {}
    while True:
        chunk: list[tuple[int, Any]] = []
        for row in reader:
            line += 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                problems.append((line, f"{len(row)} colonnes au lieu de {width}"))
                continue
            try:
                parsed = parse(*[row[i] if i is not None else "" for i in positions])
            except LineError as error:
                problems.append((line, str(error)))
                continue
            chunk.append((line, parsed))
            if len(chunk) >= CHUNK:
                break
        if not chunk:
            return count
        if len(problems) >= MAX_PROBLEMS:
            problems.append((line, "trop d'erreurs : lecture du fichier arrêtée"))
            return count
        await sites.load({p.point_number for _, p in chunk})
        rows: list[tuple[Any, ...]] = []
        for number, parsed in chunk:
            site = sites.known[parsed.point_number]
            kind = "PCE" if gas else "PRM"
            if site is None:
                problems.append((number, f"{kind} {parsed.point_number} inconnu"))
                continue
            day = parsed.day
            meter_id = site.meter_on(day)
            if meter_id is None:
                problems.append(
                    (
                        number,
                        f"aucun compteur posé le {day:%d/%m/%Y} sur le {kind} "
                        f"{parsed.point_number}",
                    )
                )
                continue
            if problems:
                continue  # the file is refused anyway: only look for more bad lines
            if gas:
                rows.append(staging.gas_row(number, site.id, meter_id, parsed))
            else:
                bounds = days.get(day)
                if bounds is None:
                    bounds = days[day] = paris_day_bounds(day)
                rows.append(staging.power_row(number, site.id, meter_id, parsed, bounds))
        if not problems and not getattr(staging, "problems", None):
            await staging.write(rows)
            count += len(rows)


async def _check_duplicates(
    connection: AsyncConnection, gas: bool, problems: list[tuple[int, str]]
) -> None:
    key, table = ("day", "gas_staging") if gas else ("starts_at", "curve_staging")
    rows = await connection.exec_driver_sql(
        f"SELECT max(line), min(line) FROM {table} GROUP BY site_id, {key}"
        f" HAVING count(*) > 1 ORDER BY 1 LIMIT {MAX_PROBLEMS}"
    )
    for row in rows:
        values: tuple[Any, ...] = tuple(row)
        problems.append((values[0], f"point en double : déjà donné ligne {values[1]}"))


async def _replace(connection: AsyncConnection, gas: bool) -> tuple[int, int]:
    """Deletes every (site, day) the file touches, then inserts the file's points."""
    postgresql = connection.dialect.name == "postgresql"
    staging = "gas_staging" if gas else "curve_staging"
    sites = (
        await connection.exec_driver_sql(f"SELECT count(DISTINCT site_id) FROM {staging}")
    ).scalar_one()
    if gas:
        site_days = (
            await connection.exec_driver_sql(
                "SELECT count(*) FROM (SELECT DISTINCT site_id, day FROM gas_staging) d"
            )
        ).scalar_one()
        await connection.exec_driver_sql(
            "DELETE FROM gas_daily_consumptions WHERE (site_id, day) IN"
            " (SELECT site_id, day FROM gas_staging)"
        )
        await connection.exec_driver_sql(
            "INSERT INTO gas_daily_consumptions (site_id, day, meter_id, volume_m3, coefficient,"
            " energy_kwh, quality) SELECT site_id, day, meter_id, volume_m3, coefficient,"
            " energy_kwh, quality FROM gas_staging"
        )
        if not postgresql:
            await connection.exec_driver_sql("DROP TABLE gas_staging")
        return int(site_days), int(sites)
    bounds: tuple[Any, ...] = tuple(
        (
            await connection.exec_driver_sql(
                "SELECT min(day_start), max(day_start) FROM curve_staging"
            )
        ).one()
    )
    first, last = bounds[0], bounds[1]
    if postgresql:
        await ensure_month_partitions(
            connection, first.astimezone(PARIS).date(), last.astimezone(PARIS).date()
        )
    await connection.exec_driver_sql(
        "CREATE TEMP TABLE curve_days AS SELECT DISTINCT site_id, day_start, day_end"
        " FROM curve_staging"
    )
    if postgresql:
        await connection.exec_driver_sql("ANALYZE curve_days")  # a temp table has no stats
    site_days = (await connection.exec_driver_sql("SELECT count(*) FROM curve_days")).scalar_one()
    if postgresql:
        await connection.exec_driver_sql(
            "DELETE FROM load_curve_points p USING curve_days d WHERE p.site_id = d.site_id"
            " AND p.starts_at >= d.day_start AND p.starts_at < d.day_end"
        )
    else:
        # SQLite has no DELETE … USING: one range delete per day, each on the primary key.
        days = (
            await connection.exec_driver_sql("SELECT site_id, day_start, day_end FROM curve_days")
        ).all()
        if days:
            await connection.exec_driver_sql(
                "DELETE FROM load_curve_points WHERE site_id = ? AND starts_at >= ?"
                " AND starts_at < ?",
                [tuple(d) for d in days],
            )
    await connection.exec_driver_sql("DROP TABLE curve_days")
    await connection.exec_driver_sql(
        "INSERT INTO load_curve_points (site_id, starts_at, meter_id, minutes, power_w, quality)"
        " SELECT site_id, starts_at, meter_id, minutes, power_w, quality FROM curve_staging"
    )
    if not postgresql:
        await connection.exec_driver_sql("DROP TABLE curve_staging")
    return int(site_days), int(sites)
