"""`comptoir import-curves FILE`: load curves and daily gas, daylight-saving days, re-imports
replacing a day, every bad line reported with its number, all or nothing."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.curve_import import ImportRejected, import_curves
from comptoir.settings import Settings
from db.models import Meter, Site
from domain.calendar import PARIS
from tests.cli.conftest import RunCli
from tests.factories import World, make_gas_site, make_world

POWER_HEADER = "prm;horodate;valeur;unite;pas;nature"


def day_lines(point: str, day: date, *, watts: int = 1000, quality: str = "R") -> list[str]:
    """Every half-hour of a Paris day, written as a distributor would (local time + offset)."""
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), PARIS).astimezone(UTC)
    lines, t = [], start
    while t < end:
        lines.append(f"{point};{t.astimezone(PARIS).isoformat()};{watts};W;30;{quality}")
        t += timedelta(minutes=30)
    return lines


def write(path: Path, header: str, lines: list[str]) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(params=["sql", "python"])
def in_sql(request: pytest.FixtureRequest, engine: AsyncEngine) -> bool | None:
    """Each import test runs through both readers on PostgreSQL: the set-based SQL one
    (the default there) and the Python one (SQLite's, and PostgreSQL's for quoted files)."""
    if request.param == "sql" and engine.dialect.name != "postgresql":
        pytest.skip("the SQL reader is PostgreSQL's")
    return None if request.param == "sql" else False


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Courbes")


@pytest.fixture(scope="module")
async def gas(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> tuple[Site, Meter]:
    return await make_gas_site(session_factory, world)


async def points_per_day(engine: AsyncEngine, site_id: int) -> dict[date, tuple[int, int]]:
    """(points, sum of watts) per Paris day, read back with plain SQL and zoneinfo."""
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.text(
                    "SELECT starts_at, power_w FROM load_curve_points WHERE site_id = :s"
                ).bindparams(s=site_id)
            )
        ).all()
    out: dict[date, tuple[int, int]] = {}
    for starts_at, power in rows:
        instant = (
            datetime.fromisoformat(starts_at).replace(tzinfo=UTC)
            if isinstance(starts_at, str)
            else starts_at
        )
        day = instant.astimezone(PARIS).date()
        count, total = out.get(day, (0, 0))
        out[day] = (count + 1, total + (power or 0))
    return out


async def test_daylight_saving_days_have_46_and_50_half_hours(
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    world: World,
    tmp_path: Path,
    in_sql: bool | None,
) -> None:
    # given a file with the March change, an ordinary day and the October change
    site = world.sites[0]
    days = [date(2026, 3, 29), date(2026, 3, 30), date(2026, 10, 25)]
    lines = [line for d in days for line in day_lines(site.point_number, d)]
    # when it is imported
    report = await import_curves(
        session_factory, write(tmp_path / "c.csv", POWER_HEADER, lines), in_sql=in_sql
    )
    # then each Paris day holds its own number of half-hours
    assert (report.points, report.site_days, report.sites) == (46 + 48 + 50, 3, 1)
    stored = await points_per_day(engine, site.id)
    assert {d: stored[d][0] for d in days} == {days[0]: 46, days[1]: 48, days[2]: 50}


async def test_reimporting_a_day_replaces_it_whole_and_leaves_the_others(
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    world: World,
    tmp_path: Path,
    in_sql: bool | None,
) -> None:
    # given two days imported
    site = world.sites[1]
    first = [date(2026, 5, 4), date(2026, 5, 5)]
    path = write(
        tmp_path / "a.csv",
        POWER_HEADER,
        [line for d in first for line in day_lines(site.point_number, d, watts=1000)],
    )
    await import_curves(session_factory, path, in_sql=in_sql)
    # when the same file comes again, nothing changes
    await import_curves(session_factory, path, in_sql=in_sql)
    assert (await points_per_day(engine, site.id))[first[0]] == (48, 48_000)
    # when a corrected 5 May comes with only its first 40 half-hours, in kW and estimated
    corrected = [
        line.replace(";1000;W;30;R", ";2,5;kW;PT30M;E")
        for line in day_lines(site.point_number, first[1])[:40]
    ]
    await import_curves(
        session_factory, write(tmp_path / "b.csv", POWER_HEADER, corrected), in_sql=in_sql
    )
    # then 5 May is the new file's day only, and 4 May is untouched
    stored = await points_per_day(engine, site.id)
    assert stored[first[1]] == (40, 40 * 2500)
    assert stored[first[0]] == (48, 48_000)
    async with engine.connect() as connection:
        qualities = (
            (
                await connection.execute(
                    sa.text(
                        "SELECT DISTINCT quality FROM load_curve_points WHERE site_id = :s"
                        " AND power_w = 2500"
                    ).bindparams(s=site.id)
                )
            )
            .scalars()
            .all()
        )
    assert qualities == ["ESTIMATED"]


async def test_every_bad_line_is_reported_with_its_number_and_nothing_is_written(
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    world: World,
    tmp_path: Path,
    in_sql: bool | None,
) -> None:
    # given a file of good lines with bad ones among them
    site = world.sites[2]
    lines = day_lines(site.point_number, date(2026, 6, 1))
    lines[3] = lines[3].replace("+02:00", "")  # no offset
    lines[5] = lines[5].replace(";1000;", ";-5;")  # negative
    lines[7] = "99999999999999" + lines[7][14:]  # unknown point
    lines[9] = lines[9].replace(";30;", ";15;")  # bad step
    lines[11] = lines[11].replace(";R", ";X")  # unknown quality
    lines[13] = lines[13] + ";extra"  # a column too many
    lines[15] = lines[15].replace(";1000;", ";;")  # an actual point without a value
    lines.append(lines[20])  # a duplicate would be reported once the others are fixed
    before = await points_per_day(engine, site.id)
    # when it is imported, then it is refused with every bad line's number (header = line 1)
    with pytest.raises(ImportRejected) as rejected:
        await import_curves(
            session_factory, write(tmp_path / "bad.csv", POWER_HEADER, lines), in_sql=in_sql
        )
    numbers = [line for line, _ in rejected.value.problems]
    assert numbers == [5, 7, 9, 11, 13, 15, 17]
    messages = dict(rejected.value.problems)
    assert "décalage" in messages[5] and "inconnu" in messages[9] and "pas" in messages[11]
    # and nothing of it was written
    assert await points_per_day(engine, site.id) == before
    # when only the duplicate is left, then it is reported with both lines
    good = day_lines(site.point_number, date(2026, 6, 1))
    with pytest.raises(ImportRejected) as duplicate:
        await import_curves(
            session_factory,
            write(tmp_path / "dup.csv", POWER_HEADER, [*good, good[20]]),
            in_sql=in_sql,
        )
    assert duplicate.value.problems == [(len(good) + 2, "point en double : déjà donné ligne 22")]
    assert await points_per_day(engine, site.id) == before


async def test_daily_gas_with_its_conversion_and_a_missing_day(
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    gas: tuple[Site, Meter],
    tmp_path: Path,
    in_sql: bool | None,
) -> None:
    site, meter = gas
    header = "PCE;Date;Volume (m³);Coefficient;Énergie (kWh);Qualité"
    lines = [
        f"{site.point_number};2026-01-10;12,5;11,21000;;Mesuré",
        f"{site.point_number};2026-01-11;10;11.21;112.1;E",
        f"{site.point_number};2026-01-12;;11.21;;M",
    ]
    path = tmp_path / "gaz.csv.gz"
    path.write_bytes(gzip.compress(("\n".join([header, *lines]) + "\n").encode("utf-8-sig")))
    report = await import_curves(session_factory, path, in_sql=in_sql)
    assert (report.kind, report.points, report.site_days) == ("gas_daily", 3, 3)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.text(
                    "SELECT day, meter_id, volume_m3, energy_kwh, quality"
                    " FROM gas_daily_consumptions WHERE site_id = :s ORDER BY day"
                ).bindparams(s=site.id)
            )
        ).all()
    scale = 100 if engine.dialect.name == "sqlite" else 1  # SQLite keeps scaled integers
    assert [(r.meter_id, r.quality) for r in rows] == [
        (meter.id, "ACTUAL"), (meter.id, "ESTIMATED"), (meter.id, "MISSING")
    ]  # fmt: skip
    assert [r.volume_m3 and float(r.volume_m3) / scale for r in rows] == [12.5, 10.0, None]
    assert [r.energy_kwh and float(r.energy_kwh) / scale for r in rows] == [140.13, 112.1, None]
    # a wrong energy is refused with its line
    bad = tmp_path / "gaz_bad.csv"
    write(bad, header, [f"{site.point_number};2026-01-13;10;11.21;150;R"])
    with pytest.raises(ImportRejected) as rejected:
        await import_curves(session_factory, bad, in_sql=in_sql)
    assert rejected.value.problems[0][0] == 2
    assert "incohérente" in rejected.value.problems[0][1]


def test_the_command_reports_each_bad_line_and_exits_non_zero(
    run_cli: RunCli, test_settings: Settings, world: World, tmp_path: Path
) -> None:
    site = world.sites[0]
    lines = day_lines(site.point_number, date(2026, 7, 1))
    lines[0] = lines[0].replace(";1000;", ";abc;")
    env = {"COMPTOIR_DATABASE_URL": test_settings.database_url}
    result = run_cli("import-curves", str(write(tmp_path / "x.csv", POWER_HEADER, lines)), env=env)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    err = result.stderr.strip().splitlines()
    assert err[0].startswith("ligne 2 : valeur invalide")
    assert err[-1].startswith("comptoir: erreur : fichier refusé (1 erreur(s))")
    good = day_lines(site.point_number, date(2026, 7, 1))
    result = run_cli("import-curves", str(write(tmp_path / "y.csv", POWER_HEADER, good)), env=env)
    assert result.returncode == 0, result
    assert "48 points de courbe de charge importés" in result.stdout


async def test_a_point_repeated_in_a_later_chunk_is_reported_with_its_line(
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_sql: bool | None,
) -> None:
    # given a file read ten lines at a time, whose 40th line repeats its 3rd
    import api.resolvers.curve_import as curve_import

    monkeypatch.setattr(curve_import, "CHUNK", 10)
    site = world.sites[2]
    lines = day_lines(site.point_number, date(2026, 8, 3))
    lines.insert(38, lines[1])
    before = await points_per_day(engine, site.id)
    # when it is imported, then that line is named and nothing is written
    with pytest.raises(ImportRejected) as rejected:
        await import_curves(
            session_factory, write(tmp_path / "d.csv", POWER_HEADER, lines), in_sql=in_sql
        )
    [(line, message)] = rejected.value.problems
    assert line == 40 and "en double" in message
    assert await points_per_day(engine, site.id) == before


@pytest.mark.parametrize("short_line", [True, False], ids=["lines-split-in-sql", "copy-split"])
async def test_both_readers_refuse_the_same_lines_with_the_same_messages(
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    world: World,
    tmp_path: Path,
    short_line: bool,
) -> None:
    # given a file with one of each mistake the readers check, among good lines
    if engine.dialect.name != "postgresql":
        pytest.skip("the SQL reader is PostgreSQL's")
    site = world.sites[0]
    number = site.point_number
    lines = day_lines(number, date(2026, 9, 1))
    bad = {
        3: f"{number};2026-09-01T01:00:00;1000;W;30;R",  # no offset
        4: f"{number};2026-09-01T25:00:00+02:00;1000;W;30;R",  # not an instant
        5: f"{number};2026-09-01T01:10:00+02:00;1000;W;30;R",  # off the half-hour
        6: f"{number};2026-09-01T01:00:00+02:00;1000;W;15;R",  # step
        7: f"{number};2026-09-01T01:00:00+02:00;1000;W;30;Z",  # quality
        8: f"{number};2026-09-01T01:00:00+02:00;1000;W;30;M",  # missing with a value
        9: f"{number};2026-09-01T01:00:00+02:00;;W;30;E",  # estimated without one
        10: f"{number};2026-09-01T01:00:00+02:00;1e;W;30;R",  # not a number
        11: f"{number};2026-09-01T01:00:00+02:00;1000;MW;30;R",  # unit
        12: f"{number};2026-09-01T01:00:00+02:00;-0,4;W;30;R",  # negative
        13: f"{number};2026-09-01T01:00:00+02:00;100000,001;kW;30;R",  # too much
        14: "12345;2026-09-01T01:00:00+02:00;1000;W;30;R",  # not a point number
        15: "99999999999999;2026-09-01T01:00:00+02:00;1000;W;30;R",  # unknown point
        16: f"{number};1990-01-01T01:00:00+01:00;1000;W;30;R",  # before the meter
        17: f"{number};2026-09-01T01:00:00+02:00;999999999;W;30;R",  # too much, digits
    }
    if short_line:  # COPY cannot split the file: its lines are split in SQL
        bad[18] = f"{number};2026-09-01T01:00:00+02:00;1000;W;30"
    for position, line in bad.items():
        lines[position] = line
    path = write(tmp_path / "all.csv", POWER_HEADER, lines)
    # when both readers read it
    refused = {}
    for in_sql in (None, False):
        with pytest.raises(ImportRejected) as rejected:
            await import_curves(session_factory, path, in_sql=in_sql)
        refused[in_sql] = rejected.value.problems
    # then they name the same lines with the same words
    assert [line for line, _ in refused[None]] == [p + 2 for p in bad]
    assert refused[None] == refused[False]


@pytest.mark.parametrize("blank_line", [True, False])
async def test_kilowatts_decimals_ten_minutes_crlf_and_blank_lines(
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    world: World,
    tmp_path: Path,
    in_sql: bool | None,
    blank_line: bool,
) -> None:
    # given a day of ten-minute points in kW with decimal commas, a blank line, CRLF endings
    site = world.sites[0]
    day = date(2026, 9, 2)
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)
    lines = [
        f"{site.point_number};{(start + timedelta(minutes=10 * k)).astimezone(PARIS).isoformat()}"
        f";1,2345;kW;PT10M;C"
        for k in range(144)
    ]
    if blank_line:
        lines.insert(50, "")
    path = tmp_path / "ten.csv"
    path.write_bytes(("\r\n".join([POWER_HEADER, *lines]) + "\r\n").encode("utf-8-sig"))
    # when it is imported
    report = await import_curves(session_factory, path, in_sql=in_sql)
    # then every point is there, rounded to the watt (1234.5 W → 1235 W, half up)
    assert (report.points, report.site_days) == (144, 1)
    assert (await points_per_day(engine, site.id))[day] == (144, 144 * 1235)


async def test_a_quoted_file_is_read_by_the_csv_reader(
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    world: World,
    tmp_path: Path,
) -> None:
    # given a file whose fields are quoted (a delimiter inside quotes is data, not a column)
    site = world.sites[0]
    day = date(2026, 9, 3)
    lines = [
        ";".join(f'"{field}"' for field in line.split(";"))
        for line in day_lines(site.point_number, day, watts=2000)
    ]
    # when it is imported (on PostgreSQL the SQL reader hands it to the CSV one)
    report = await import_curves(session_factory, write(tmp_path / "q.csv", POWER_HEADER, lines))
    # then it is read as the distributor meant it
    assert report.points == 48
    assert (await points_per_day(engine, site.id))[day] == (48, 96_000)


async def test_a_meter_change_gives_each_day_the_meter_installed_then(
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    world: World,
    tmp_path: Path,
    in_sql: bool | None,
) -> None:
    # given a site whose meter was replaced on 10 November 2026
    site = world.sites[1]
    columns = [c.name for c in Meter.__table__.c if c.name != "id"]  # type: ignore[attr-defined]
    copied = ", ".join(
        {"serial": f"'NEW{site.id:08d}'", "installed_on": "'2026-11-10'", "removed_on": "NULL"}.get(
            c, c
        )
        for c in columns
    )
    async with engine.begin() as connection:
        count = (
            await connection.execute(
                sa.text("SELECT count(*) FROM meters WHERE site_id = :s").bindparams(s=site.id)
            )
        ).scalar_one()
        if count == 1:  # the first run of the test adds the new meter, the next keep it
            await connection.execute(
                sa.text(
                    "UPDATE meters SET removed_on = '2026-11-10' WHERE site_id = :s"
                ).bindparams(s=site.id)
            )
            await connection.execute(
                sa.text(
                    f"INSERT INTO meters ({', '.join(columns)}) SELECT {copied} FROM meters"
                    " WHERE site_id = :s"
                ).bindparams(s=site.id)
            )
    async with engine.connect() as connection:
        meters = dict(
            (
                await connection.execute(
                    sa.text(
                        "SELECT installed_on, id FROM meters WHERE site_id = :s ORDER BY 1"
                    ).bindparams(s=site.id)
                )
            ).all()
        )
    days = [date(2026, 11, 9), date(2026, 11, 10)]
    lines = [line for d in days for line in day_lines(site.point_number, d)]
    # when both days are imported
    await import_curves(
        session_factory, write(tmp_path / "m.csv", POWER_HEADER, lines), in_sql=in_sql
    )
    # then the 9th is on the old meter and the 10th on the new one
    async with engine.connect() as connection:
        rows = (
            (
                await connection.execute(
                    sa.text(
                        "SELECT DISTINCT meter_id FROM load_curve_points WHERE site_id = :s"
                        " AND starts_at >= :a AND starts_at < :b"
                    ).bindparams(s=site.id, a=_utc_midnight(days[0]), b=_utc_midnight(days[1]))
                )
            )
            .scalars()
            .all()
        )
        later = (
            (
                await connection.execute(
                    sa.text(
                        "SELECT DISTINCT meter_id FROM load_curve_points WHERE site_id = :s"
                        " AND starts_at >= :a AND starts_at < :b"
                    ).bindparams(
                        s=site.id, a=_utc_midnight(days[1]), b=_utc_midnight(date(2026, 11, 11))
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(meters) == 2
    assert list(rows) == [meters[min(meters)]]
    assert list(later) == [meters[max(meters)]]


def _utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)
