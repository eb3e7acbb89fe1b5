"""The PostgreSQL path of `comptoir import-curves` for load curves: the file's bytes are
COPYed as they are into a staging table (numbered by an identity column in file order), then
checked, converted and written by set-based SQL.

Python never sees a line. What repeats is checked once per distinct value with the same rules
and messages as the Python reader (domain.curves): the instants (a file holds the same ones
for every site), the values, the (unit, step, quality) combinations and the point numbers.
Measured on 10 million points (README, bench table): the per-line Python reader cost four
times the bare COPY of the same rows.

Steps, all in the import's transaction:
1. COPY splits the lines into `curve_fields` with its own CSV reader (quotes included); a
   line of the wrong width (or blank) stops COPY, and the file is then COPYed again one whole
   line per row and split in SQL, each line's width kept for its message;
2. one scan collects the distinct instants, values, kinds and point numbers; Python checks
   them and sends back small lookup tables (instant → UTC instant and Paris day, value →
   watts, point number → site and meters with their validity);
3. one CREATE TABLE … AS converts every line into `curve_typed`, with the first problem of
   the line in French (in the order the Python reader checks);
4. problems → ImportRejected, every bad line with its number; otherwise the (site, day)s of
   the file are deleted and the points inserted; the primary key catches a point given twice,
   named then with both its lines.
A file COPY cannot split that also holds a double quote is left to the Python reader, which
the caller does when this returns None.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import AsyncIterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from api.resolvers.invoice_import import ImportRejected
from db.core import METERS, SITES
from db.curve_partitions import ensure_month_partitions
from domain.calendar import PARIS
from domain.curves import (
    MAX_POWER_W,
    LineError,
    _decimal,
    _point_number,
    _quality,
    paris_day_bounds,
    parse_instant,
)
from domain.enums import CurveQuality, Energy

log = logging.getLogger(__name__)
READ_SIZE = 1 << 20
TEMP_BUFFERS = "1GB"  # bytes sent to COPY at a time
FAR_DAY = date(9999, 12, 31)
UNIQUE_VIOLATION = "23505"
BAD_COPY_FORMAT = "22P04"  # a line with too few or too many columns
BAD_ENCODING = "22021"
# COPY's CSV mode with a delimiter and a quote that never appear in a distributor's file:
# each line arrives whole in one text column (an empty line as NULL).
_COPY_OPTIONS: dict[str, Any] = {"format": "csv", "delimiter": "\x01", "quote": "\x02"}


class _Timed:
    """The driver connection, each statement's time logged (debug): where an import's time
    goes, statement by statement."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.raw, name)

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                what = str(args[0])[:60].split("\n")[0] if args else name
                log.debug("%s %s: %.2f s", name, what, time.perf_counter() - started)

        return timed


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _QuotedFile(Exception):
    """The file uses CSV quoting: the Python reader takes it."""


async def _file_chunks(path: Path, *, quotes: bool) -> AsyncIterator[bytes]:
    """The file's bytes after its header, a chunk at a time; `quotes` False stops at the
    first double quote (_QuotedFile)."""
    raw: Any = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # noqa: SIM115
    with raw:
        raw.readline()  # the header, read apart by the caller
        while chunk := raw.read(READ_SIZE):
            if not quotes and b'"' in chunk:
                raise _QuotedFile
            yield chunk


def _kind(unit: str, step: str, quality: str, empty: bool) -> tuple[Any, ...]:
    """A (unit, step, quality, empty value) combination checked as domain.curves does:
    (step problem, minutes, problem, unit problem, factor, quality, missing)."""
    minutes_text = step.strip().upper().removeprefix("PT").removesuffix("M") or "30"
    step_problem = None
    minutes = 30
    if minutes_text not in ("10", "30"):
        step_problem = f"pas invalide « {step.strip()[:10]} » : 10 ou 30 minutes"
    else:
        minutes = int(minutes_text)
    problem = None
    kind = CurveQuality.ACTUAL
    try:
        kind = _quality(quality, empty_value=empty)
    except LineError as error:
        problem = str(error)
    missing = kind is CurveQuality.MISSING
    if problem is None:
        if missing and not empty:
            problem = "un point manquant (M) ne porte pas de valeur"
        elif not missing and empty:
            problem = "valeur manquante pour un point réel, estimé ou corrigé"
    unit_word = unit.strip().upper() or "W"
    unit_problem = (
        None if unit_word in ("W", "KW") else f"unité inconnue « {unit.strip()[:10]} » (W ou kW)"
    )
    factor = 1000 if unit_word == "KW" else 1
    return step_problem, minutes, problem, unit_problem, factor, kind.value, missing


def _instant(text: str) -> tuple[Any, ...]:
    """(problem, UTC instant, minute, on a whole minute, Paris day, day start, day end)."""
    try:
        starts_at = parse_instant(text)
    except LineError as error:
        return str(error), None, None, None, None, None, None
    day = starts_at.astimezone(PARIS).date()
    start, end = paris_day_bounds(day)
    whole = not starts_at.second and not starts_at.microsecond
    return None, starts_at, starts_at.minute, whole, day, start, end


async def _meters(connection: AsyncConnection, numbers: list[str]) -> list[tuple[Any, ...]]:
    """(text as in the file, site, meter, valid from, valid until, problem) per point number:
    each meter holds from its installation until the next one's."""
    stripped: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for text in numbers:
        try:
            stripped[text] = _point_number(text)
        except LineError as error:
            problems[text] = str(error)
    wanted = sorted({n for n in stripped.values() if n})
    found: dict[str, list[tuple[int, int, date]]] = {}
    for start in range(0, len(wanted), 5_000):
        rows = await connection.execute(
            sa.select(SITES.c.point_number, SITES.c.id, METERS.c.id, METERS.c.installed_on)
            .join(METERS, METERS.c.site_id == SITES.c.id)
            .where(
                SITES.c.energy == Energy.ELECTRICITY.value,
                SITES.c.point_number.in_(wanted[start : start + 5_000]),
            )
            .order_by(SITES.c.point_number, METERS.c.installed_on)
        )
        for number, site_id, meter_id, installed_on in rows:
            found.setdefault(number, []).append((site_id, meter_id, installed_on))
    out: list[tuple[Any, ...]] = []
    for text in numbers:
        if text in problems:
            out.append((text, None, None, None, None, problems[text]))
            continue
        number = stripped[text]
        meters = found.get(number or "")
        if not meters:
            out.append((text, None, None, None, None, f"PRM {number} inconnu"))
            continue
        for k, (site_id, meter_id, installed_on) in enumerate(meters):
            until = meters[k + 1][2] if k + 1 < len(meters) else FAR_DAY
            out.append((text, site_id, meter_id, installed_on, until, None))
    return out


def _value(text: str) -> tuple[Any, ...]:
    """A value as domain.curves reads it: (blank, problem, negative, watts if W, watts if kW);
    the watts are None beyond 100 MW."""
    if not text.strip():
        return True, None, False, None, None
    try:
        number = _decimal(text, "valeur")
    except LineError as error:
        return False, str(error), False, None, None
    watts = [(number * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP) for factor in (1, 1000)]
    return (
        False,
        None,
        number < 0,
        *(int(w) if w <= MAX_POWER_W else None for w in watts),
    )


async def _copy_fields(raw: Any, path: Path, delimiter: str, width: int) -> bool:
    """COPY the file's lines into `curve_fields`, split by COPY's own CSV reader (quotes
    included); False when a line has the wrong number of columns (or is blank), which
    COPY cannot report line by line."""
    columns = [f"f{k}" for k in range(width)]
    await raw.execute("SAVEPOINT curve_copy")
    try:
        await raw.copy_to_table(
            "curve_fields",
            source=_file_chunks(path, quotes=True),
            columns=columns,
            format="csv",
            delimiter=delimiter,
            null="\x01",  # never in a file: an empty field stays ''
        )
    except Exception as error:  # asyncpg's DataError family: a line the server cannot read
        sqlstate = str(getattr(error, "sqlstate", ""))
        if sqlstate == BAD_ENCODING:
            raise ImportRejected(
                [(_copy_line(error), "ligne illisible (texte non UTF-8 ?)")]
            ) from None
        if sqlstate != BAD_COPY_FORMAT:
            raise
        await raw.execute("ROLLBACK TO SAVEPOINT curve_copy")
        return False
    await raw.execute("RELEASE SAVEPOINT curve_copy")
    return True


def _copy_line(error: Exception) -> int:
    """The file's line COPY stopped at (its context says "COPY t, line N", the header
    not sent)."""
    context = str(getattr(error, "context", "") or "")
    if "line " not in context:
        return 2
    return int(context.rsplit("line ", 1)[-1].split(",")[0].split(":")[0]) + 1


async def _copy_lines(raw: Any, path: Path, delimiter: str, width: int) -> bool:
    """The slower way for a file COPY could not split: each line whole into `curve_raw`,
    then split in SQL, its number of columns kept for the message. False for a quoted file
    (left to the Python reader)."""
    await raw.execute(
        "CREATE TEMP TABLE curve_raw (line bigint GENERATED ALWAYS AS IDENTITY (START WITH 2),"
        " raw text) ON COMMIT DROP"
    )
    try:
        await raw.copy_to_table(
            "curve_raw", source=_file_chunks(path, quotes=False), columns=["raw"], **_COPY_OPTIONS
        )
    except _QuotedFile:
        return False
    except Exception as error:
        if str(getattr(error, "sqlstate", "")) != BAD_ENCODING:
            raise
        raise ImportRejected([(_copy_line(error), "ligne illisible (texte non UTF-8 ?)")]) from None
    d = _literal(delimiter)
    parts = ", ".join(f"split_part(raw, {d}, {k + 1})" for k in range(width))
    await raw.execute(
        f"INSERT INTO curve_fields SELECT line, {parts},"
        f" length(raw) - length(replace(raw, {d}, '')) + 1 FROM curve_raw"
        f" WHERE raw IS NOT NULL AND NOT (btrim(raw) = '' AND strpos(raw, {d}) = 0)"
    )
    return True


async def import_curves_in_sql(
    connection: AsyncConnection,
    path: Path,
    delimiter: str,
    index: dict[str, int],
    max_problems: int,
) -> tuple[int, int, int] | None:
    """(points, site-days, sites) imported, ImportRejected, or None for a file to leave to
    the Python reader."""
    width = len(index)
    columns = ", ".join(f"f{k} text" for k in range(width))
    # Staging tables of millions of rows stay in the backend's memory rather than going
    # through the OS page by page (temp_buffers is 8 MB by default; memory is only taken as
    # the tables grow). Settable only before the session's first temporary table: a pooled
    # connection that already had one keeps its value.
    try:
        async with connection.begin_nested():  # a refusal rolls back to here, not the import
            await connection.exec_driver_sql(f"SET LOCAL temp_buffers = '{TEMP_BUFFERS}'")
    except sa.exc.DBAPIError:
        pass
    # Through SQLAlchemy first: it opens the transaction the driver's statements then join.
    await connection.exec_driver_sql(
        "CREATE TEMP TABLE curve_fields (line bigint GENERATED BY DEFAULT AS IDENTITY"
        f" (START WITH 2), {columns}, width int NOT NULL DEFAULT {width}) ON COMMIT DROP"
    )
    fairy = await connection.get_raw_connection()
    raw: Any = _Timed(fairy.driver_connection)
    # Per-row expressions are simple: compiling them (JIT) cost more than it saved.
    await raw.execute("SET LOCAL jit = off")
    if not await _copy_fields(raw, path, delimiter, width) and not await _copy_lines(
        raw, path, delimiter, width
    ):
        return None
    await raw.execute("ANALYZE curve_fields")  # a temporary table has no statistics otherwise

    p, h, v, u, s, q = (
        "''" if index.get(name) is None else f"f{index[name]}"
        for name in ("prm", "horodate", "valeur", "unite", "pas", "nature")
    )
    fields = (
        f"SELECT line, width, {p} AS prm, {h} AS instant, {v} AS value, {u} AS unit,"
        f" {s} AS step, {q} AS quality FROM curve_fields"
    )
    distinct = await raw.fetch(
        "SELECT grouping(prm, instant, value, unit) AS g, prm, instant, value, unit, step,"
        f" quality FROM ({fields}) f WHERE width = {width}"
        " GROUP BY GROUPING SETS ((prm), (instant), (value), (unit, step, quality))"
    )
    # grouping() sets a bit per column left out, the first column the highest
    numbers = [r["prm"] for r in distinct if r["g"] == 0b0111]
    instants = [r["instant"] for r in distinct if r["g"] == 0b1011]
    values = [r["value"] for r in distinct if r["g"] == 0b1101]
    kinds = [r for r in distinct if r["g"] == 0b1110]
    await raw.execute(
        "CREATE TEMP TABLE curve_instants (text text PRIMARY KEY, problem text,"
        " starts_at timestamptz, minute int, whole boolean, day date, day_start timestamptz,"
        " day_end timestamptz) ON COMMIT DROP;"
        "CREATE TEMP TABLE curve_values (text text PRIMARY KEY, blank boolean, problem text,"
        " negative boolean, watts int, kilowatts int) ON COMMIT DROP;"
        "CREATE TEMP TABLE curve_kinds (unit text, step text, quality text, empty boolean,"
        " step_problem text, minutes smallint, problem text, unit_problem text, factor int,"
        " kind text, missing boolean) ON COMMIT DROP;"
        "CREATE TEMP TABLE curve_sites (text text, site_id bigint, meter_id bigint,"
        " valid_from date, valid_until date, problem text) ON COMMIT DROP"
    )
    await raw.copy_records_to_table("curve_instants", records=[(t, *_instant(t)) for t in instants])
    await raw.copy_records_to_table("curve_values", records=[(t, *_value(t)) for t in values])
    await raw.copy_records_to_table(
        "curve_kinds",
        records=[
            (k["unit"], k["step"], k["quality"], empty,
             *_kind(k["unit"], k["step"], k["quality"], empty))
            for k in kinds
            for empty in (False, True)
        ],
    )  # fmt: skip
    await raw.copy_records_to_table("curve_sites", records=await _meters(connection, numbers))
    # One row per point number; its meter when the site has only one (nearly always), else
    # looked up by day in curve_sites (a second join on every line cost seconds per million).
    await raw.execute(
        "CREATE TEMP TABLE curve_numbers ON COMMIT DROP AS SELECT text, min(site_id) AS site_id,"
        " min(problem) AS problem, CASE WHEN count(*) = 1 THEN min(meter_id) END AS meter_id,"
        " min(valid_from) AS valid_from FROM curve_sites GROUP BY text;"
        "ANALYZE curve_instants; ANALYZE curve_values; ANALYZE curve_kinds; ANALYZE curve_sites;"
        "ANALYZE curve_numbers"
    )
    await raw.execute(
        f"""
        CREATE TEMP TABLE curve_typed ON COMMIT DROP AS
        SELECT line, site_id, starts_at, meter_id, minutes, kind AS quality, day_start, day_end,
          CASE WHEN NOT missing THEN watts END AS power_w,
          CASE
            WHEN width <> {width} THEN width || ' colonnes au lieu de {width}'
            WHEN instant_problem IS NOT NULL THEN instant_problem
            WHEN step_problem IS NOT NULL THEN step_problem
            WHEN NOT whole OR minute % minutes <> 0
              THEN 'l''horodate ne tombe pas sur un pas de ' || minutes || ' minutes'
            WHEN problem IS NOT NULL THEN problem
            WHEN missing THEN site_problem
            WHEN value_problem IS NOT NULL THEN value_problem
            WHEN unit_problem IS NOT NULL THEN unit_problem
            WHEN negative THEN 'puissance négative'
            WHEN watts IS NULL THEN 'puissance hors limites (100 MW au plus)'
            ELSE site_problem
          END AS problem
        FROM (
          SELECT f.line, f.width, s.site_id, i.starts_at, k.minutes, k.kind,
            CASE
              WHEN s.site_id IS NULL OR i.day < s.valid_from THEN NULL
              WHEN s.meter_id IS NOT NULL THEN s.meter_id
              ELSE (SELECT m.meter_id FROM curve_sites m WHERE m.text = f.prm
                    AND i.day >= m.valid_from AND i.day < m.valid_until)
            END AS meter_id,
            i.day_start, i.day_end, k.missing, i.problem AS instant_problem, k.step_problem,
            i.whole, i.minute, k.problem, k.unit_problem, v.problem AS value_problem,
            v.negative, CASE k.factor WHEN 1 THEN v.watts ELSE v.kilowatts END AS watts,
            CASE
              WHEN s.problem IS NOT NULL THEN s.problem
              WHEN s.site_id IS NULL OR i.day < s.valid_from OR (s.meter_id IS NULL
                AND NOT EXISTS (SELECT FROM curve_sites m WHERE m.text = f.prm
                  AND i.day >= m.valid_from AND i.day < m.valid_until))
                THEN 'aucun compteur posé le '
                || to_char(i.day, 'DD/MM/YYYY') || ' sur le PRM ' || btrim(f.prm)
            END AS site_problem
          FROM ({fields}) f
          LEFT JOIN curve_instants i ON i.text = f.instant
          LEFT JOIN curve_values v ON v.text = f.value
          LEFT JOIN curve_kinds k ON k.unit = f.unit AND k.step = f.step
            AND k.quality = f.quality AND k.empty = v.blank
          LEFT JOIN curve_numbers s ON s.text = f.prm
        ) c
        """
    )
    problems = [
        (int(r["line"]), str(r["problem"]))
        for r in await raw.fetch(
            "SELECT line, problem FROM curve_typed WHERE problem IS NOT NULL"
            f" ORDER BY line LIMIT {max_problems + 1}"
        )
    ]
    if len(problems) > max_problems:
        line = problems.pop()[0]
        problems.append((line, "trop d'erreurs : lecture du fichier arrêtée"))
    if problems:
        raise ImportRejected(problems)
    await raw.execute(
        "CREATE TEMP TABLE curve_days ON COMMIT DROP AS SELECT site_id, day_start, day_end,"
        " count(*) AS points FROM curve_typed GROUP BY site_id, day_start, day_end;"
        "ANALYZE curve_days"
    )
    days = await raw.fetchrow(
        "SELECT coalesce(sum(points), 0) AS points, count(*) AS days,"
        " count(DISTINCT site_id) AS sites, min(day_start) AS first, max(day_start) AS last"
        " FROM curve_days"
    )
    if not days["points"]:
        raise ImportRejected([(2, "le fichier ne contient aucune ligne de données")])
    await ensure_month_partitions(
        connection,
        days["first"].astimezone(PARIS).date(),
        days["last"].astimezone(PARIS).date(),
    )
    # One primary-key range scan per (site, day): a hash join on the site alone read whole
    # partitions and filtered every stored point against every day of its site.
    await raw.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
    await raw.execute(
        "DELETE FROM load_curve_points p USING curve_days d WHERE p.site_id = d.site_id"
        " AND p.starts_at >= d.day_start AND p.starts_at < d.day_end"
    )
    await raw.execute("RESET enable_hashjoin; RESET enable_mergejoin")
    await raw.execute("SAVEPOINT curve_insert")
    try:
        await raw.execute(
            "INSERT INTO load_curve_points (site_id, starts_at, meter_id, minutes, power_w,"
            " quality) SELECT site_id, starts_at, meter_id, minutes, power_w, quality"
            " FROM curve_typed"
        )
    except Exception as error:  # asyncpg's UniqueViolationError (the driver ships no hints)
        if getattr(error, "sqlstate", None) != UNIQUE_VIOLATION:
            raise
        await raw.execute("ROLLBACK TO SAVEPOINT curve_insert")
        duplicates = await raw.fetch(
            "SELECT max(line) AS line, min(line) AS first FROM curve_typed"
            f" GROUP BY site_id, starts_at HAVING count(*) > 1 ORDER BY 1 LIMIT {max_problems}"
        )
        raise ImportRejected(
            [
                (int(d["line"]), f"point en double : déjà donné ligne {d['first']}")
                for d in duplicates
            ]
        ) from None
    await raw.execute("RELEASE SAVEPOINT curve_insert")
    return int(days["points"]), int(days["days"]), int(days["sites"])


__all__ = ["import_curves_in_sql"]
