"""consumptionCurve and gasDailyConsumption: points, totals, maxima and quality shares
checked against SQL written here; Paris days of 46 and 50 half-hours; refusals; exports;
statements that do not grow with the number of sites."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import GasDailyConsumption, LoadCurvePoint, Site
from tests.api.test_exports import download, parse_csv
from tests.factories import World, make_gas_site, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

PARIS = ZoneInfo("Europe/Paris")
CURVE = """
query($ids: [ID!]!, $from: Date!, $to: Date!, $step: CurveStep!) {
  consumptionCurve(siteIds: $ids, from: $from, to: $to, step: $step) {
    site { pointNumber } step totalKwh maxPowerKw maxPowerAt
    shares { actual corrected estimated missing }
    points { start energyKwh meanPowerKw maxPowerKw quality }
  }
}"""
GAS = """
query($ids: [ID!]!, $from: Date!, $to: Date!, $step: CurveStep!) {
  gasDailyConsumption(siteIds: $ids, from: $from, to: $to, step: $step) {
    site { pointNumber } totalM3 totalKwh maxDailyKwh maxDay
    shares { actual estimated missing }
    points { start volumeM3 energyKwh quality }
  }
}"""
EXPORT = """
mutation($i: ExportCurveInput!) { exportConsumptionCurve(input: $i) {
  url rowCount errors { code field message } } }"""


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Courbes API")


@pytest.fixture(scope="module")
async def curves(session_factory: async_sessionmaker[AsyncSession], world: World) -> World:
    """Site 0: every half-hour of 28–30 March 2026 (the 29th has 46), the first five of the
    28th estimated, two of the 30th missing; 10-minute points on 25 October (50 half-hours'
    worth). Site 2 (the other member): 29 March at 500 W."""
    rows: list[dict[str, Any]] = []
    site, meter = world.sites[0], await _meter_of(session_factory, world.sites[0])
    t, end, i = _utc(date(2026, 3, 28)), _utc(date(2026, 3, 31)), 0
    while t < end:
        quality = "ESTIMATED" if i < 5 else "MISSING" if i in (120, 121) else "ACTUAL"
        power = None if quality == "MISSING" else 1000 + 10 * (i % 70)
        rows.append(_point(site.id, meter, t, 30, power, quality))
        t, i = t + timedelta(minutes=30), i + 1
    t, end = _utc(date(2026, 10, 25)), _utc(date(2026, 10, 26))
    while t < end:
        rows.append(_point(site.id, meter, t, 10, 600 + t.minute * 10, "CORRECTED"))
        t += timedelta(minutes=10)
    other, other_meter = world.sites[2], await _meter_of(session_factory, world.sites[2])
    t, end = _utc(date(2026, 3, 29)), _utc(date(2026, 3, 30))
    while t < end:
        rows.append(_point(other.id, other_meter, t, 30, 500, "ACTUAL"))
        t += timedelta(minutes=30)
    async with session_factory() as session, session.begin():
        await (await session.connection()).execute(sa.insert(LoadCurvePoint), rows)
    return world


def _point(site_id: int, meter: int, t: datetime, minutes: int, power: int | None, q: str) -> Any:
    return {"site_id": site_id, "starts_at": t, "meter_id": meter, "minutes": minutes,
            "power_w": power, "quality": q}  # fmt: skip


async def _meter_of(sessions: async_sessionmaker[AsyncSession], site: Site) -> int:
    async with sessions() as session:
        connection = await session.connection()
        found = await connection.execute(
            sa.text(f"SELECT id FROM meters WHERE site_id = {site.id}")
        )
        return int(found.scalar_one())


async def _watt_minutes(engine: AsyncEngine, site_id: int, start: datetime, end: datetime) -> int:
    """Σ W × minutes of a site between two instants, plain SQL."""
    points = sa.table(
        "load_curve_points",
        sa.column("site_id"),
        sa.column("starts_at", LoadCurvePoint.__table__.c.starts_at.type),  # type: ignore[attr-defined]
        sa.column("power_w"),
        sa.column("minutes"),
    )
    async with engine.connect() as connection:
        value = await connection.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(points.c.power_w * points.c.minutes), 0)).where(
                points.c.site_id == site_id, points.c.starts_at >= start, points.c.starts_at < end
            )
        )
    return int(value)


async def test_by_day_across_the_march_change(
    runner: Runner, engine: AsyncEngine, curves: World
) -> None:
    site = curves.sites[0]
    data = await runner.run(
        CURVE,
        {"ids": [gid("Site", site.id)], "from": "2026-03-28", "to": "2026-03-30", "step": "DAY"},
        as_user=curves.people["ADMIN"],
    )
    [curve] = data["consumptionCurve"]
    days = [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    assert [p["start"] for p in curve["points"]] == [
        "2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"
    ]  # fmt: skip
    expected = [await _watt_minutes(engine, site.id, _utc(d), _utc(d + timedelta(1))) for d in days]
    assert [p["energyKwh"] for p in curve["points"]] == [round(e / 60_000, 3) for e in expected]
    assert curve["totalKwh"] == round(sum(expected) / 60_000, 3)
    assert [p["quality"] for p in curve["points"]] == ["ESTIMATED", "ACTUAL", "MISSING"]
    # the 29th is 23 hours long: its mean power is its energy over 23 h
    assert curve["points"][1]["meanPowerKw"] == round(expected[1] / 60 / 23 / 1000, 3)
    # 142 half-hours, 2 missing, 5 estimated: shares of the 71 hours
    assert curve["shares"] == {
        "actual": round(135 / 142, 4), "corrected": 0.0, "estimated": round(5 / 142, 4),
        "missing": round(2 / 142, 4),
    }  # fmt: skip
    # the maximum: 1690 W, first reached at the 70th half-hour (i = 69)
    assert curve["maxPowerKw"] == 1.69
    assert (
        curve["maxPowerAt"]
        == (_utc(days[0]) + timedelta(minutes=30 * 69)).astimezone(PARIS).isoformat()
    )


async def test_half_hours_and_hours_on_the_change_days(runner: Runner, curves: World) -> None:
    site = gid("Site", curves.sites[0].id)
    admin = curves.people["ADMIN"]
    march = await runner.run(
        CURVE, {"ids": [site], "from": "2026-03-29", "to": "2026-03-29", "step": "HALF_HOUR"},
        as_user=admin,
    )  # fmt: skip
    points = march["consumptionCurve"][0]["points"]
    assert len(points) == 46
    assert [p["start"][11:] for p in points[3:5]] == ["01:30:00+01:00", "03:00:00+02:00"]
    october = await runner.run(
        CURVE, {"ids": [site], "from": "2026-10-25", "to": "2026-10-25", "step": "HOUR"},
        as_user=admin,
    )  # fmt: skip
    [curve] = october["consumptionCurve"]
    assert len(curve["points"]) == 25
    assert [p["start"][11:] for p in curve["points"][2:4]] == ["02:00:00+02:00", "02:00:00+01:00"]
    # six 10-minute points per hour at 600, 700 … 1100 W: 0.85 kWh, mean 850 W, max 1100 W
    assert {(p["energyKwh"], p["meanPowerKw"], p["maxPowerKw"]) for p in curve["points"]} == {
        (0.85, 0.85, 1.1)
    }
    assert curve["shares"]["corrected"] == 1.0 and curve["totalKwh"] == 25 * 0.85


async def test_a_step_too_fine_names_the_finest_allowed(runner: Runner, curves: World) -> None:
    result = await runner.raw(
        CURVE,
        {"ids": [gid("Site", curves.sites[0].id)], "from": "2026-01-01", "to": "2026-02-09",
         "step": "HALF_HOUR"},
        as_user=curves.people["ADMIN"],
    )  # fmt: skip
    assert result.data == {"consumptionCurve": None}
    [error] = result.errors
    assert (error.extensions["code"], error.extensions["field"]) == ("STEP_TOO_FINE", "step")
    assert "HOUR (heure)" in error.message


@pytest.mark.parametrize(
    ("case", "code", "field"),
    [
        ("five", "TOO_MANY_ITEMS", "siteIds"),
        ("none", "REQUIRED", "siteIds"),
        ("reversed", "INVALID", "to"),
        ("gas", "INVALID", "siteIds"),
        ("long", "PERIOD_TOO_LONG", "to"),
    ],
)
async def test_bad_requests_are_user_errors(
    runner: Runner,
    session_factory: async_sessionmaker[AsyncSession],
    curves: World,
    case: str,
    code: str,
    field: str,
) -> None:
    ids = [gid("Site", curves.sites[0].id)]
    start, end = "2026-03-01", "2026-03-31"
    if case == "five":
        ids = [gid("Site", curves.sites[0].id + k) for k in range(5)]
    elif case == "none":
        ids = []
    elif case == "reversed":
        start, end = end, start
    elif case == "gas":
        gas_site, _ = await make_gas_site(session_factory, curves)
        ids = [gid("Site", gas_site.id)]
    elif case == "long":
        start = "2020-01-01"
    result = await runner.raw(
        CURVE,
        {"ids": ids, "from": start, "to": end, "step": "DAY"},
        as_user=curves.people["ADMIN"],
    )
    assert result.data == {"consumptionCurve": None}
    [error] = result.errors
    assert (error.extensions["code"], error.extensions["field"]) == (code, field)


async def test_a_site_out_of_reach_is_not_found(runner: Runner, curves: World) -> None:
    # the INFRA_USER holds accounts[0] only: the other member's site does not exist for them
    result = await runner.raw(
        CURVE,
        {"ids": [gid("Site", curves.sites[2].id)], "from": "2026-03-29", "to": "2026-03-29",
         "step": "DAY"},
        as_user=curves.people["INFRA_USER"],
    )  # fmt: skip
    assert result.data == {"consumptionCurve": None}
    assert result.errors[0].extensions["code"] == "NOT_FOUND"


async def test_statements_do_not_grow_with_the_number_of_sites(
    runner: Runner, curves: World, count_sql: SqlCounter
) -> None:
    counts = []
    for ids in ([curves.sites[0]], [curves.sites[0], curves.sites[1], curves.sites[2]]):
        with count_sql() as statements:
            data = await runner.run(
                CURVE,
                {"ids": [gid("Site", s.id) for s in ids], "from": "2026-03-28",
                 "to": "2026-03-30", "step": "HOUR"},
                as_user=curves.people["ADMIN"],
            )  # fmt: skip
        assert len(data["consumptionCurve"]) == len(ids)
        counts.append(len(statements))
    assert counts[0] == counts[1]


async def test_daily_gas_by_month_against_sql(
    runner: Runner,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    site, meter = await make_gas_site(session_factory, world)
    rows = []
    day = date(2026, 1, 1)
    while day <= date(2026, 2, 28):
        missing = day == date(2026, 2, 10)
        volume = None if missing else Decimal(10 + day.day % 7) + Decimal("0.25")
        rows.append(
            {"site_id": site.id, "day": day, "meter_id": meter.id, "volume_m3": volume,
             "coefficient": Decimal("11.20000"),
             "energy_kwh": None if volume is None else (volume * Decimal("11.2")).quantize(
                 Decimal("0.01")),
             "quality": "MISSING" if missing else "ACTUAL"}
        )  # fmt: skip
        day += timedelta(days=1)
    async with session_factory() as session, session.begin():
        await (await session.connection()).execute(sa.insert(GasDailyConsumption), rows)
    data = await runner.run(
        GAS,
        {"ids": [gid("Site", site.id)], "from": "2026-01-01", "to": "2026-02-28", "step": "MONTH"},
        as_user=world.people["USER"],
    )
    [series] = data["gasDailyConsumption"]
    expected = []
    for first, last in (
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
    ):
        async with engine.connect() as connection:
            m3, kwh = (
                await connection.execute(
                    sa.select(
                        sa.func.sum(GasDailyConsumption.__table__.c.volume_m3),  # type: ignore[attr-defined]
                        sa.func.sum(GasDailyConsumption.__table__.c.energy_kwh),  # type: ignore[attr-defined]
                    ).where(
                        sa.text(f"site_id = {site.id}"),
                        GasDailyConsumption.__table__.c.day.between(first, last),  # type: ignore[attr-defined]
                    )
                )
            ).one()
        expected.append((float(m3), float(kwh)))
    assert [(p["volumeM3"], p["energyKwh"]) for p in series["points"]] == expected
    assert [p["quality"] for p in series["points"]] == ["ACTUAL", "MISSING"]
    assert series["shares"] == {"actual": round(58 / 59, 4), "estimated": 0.0,
                                "missing": round(1 / 59, 4)}  # fmt: skip
    assert series["maxDailyKwh"] == round(16.25 * 11.2, 2)
    assert series["maxDay"] == "2026-01-06"  # the first day with day % 7 == 6


async def test_the_curve_exports_as_csv(runner: Runner, curves: World, live_server: Any) -> None:
    data = await runner.run(
        EXPORT,
        {"i": {"siteIds": [gid("Site", curves.sites[0].id)], "from": "2026-03-28",
               "to": "2026-03-30", "step": "DAY", "format": "CSV"}},
        as_user=curves.people["ADMIN"],
    )  # fmt: skip
    payload = data["exportConsumptionCurve"]
    assert payload["errors"] == [] and payload["rowCount"] == 3
    status, body, _ = await download(live_server, payload["url"])
    assert status == 200
    header, *lines = parse_csv(body)
    assert header[:2] == ["PRM", "Date"] and header[-1] == "Qualité"
    assert [line[1] for line in lines] == ["28/03/2026", "29/03/2026", "30/03/2026"]
    assert [line[-1] for line in lines] == ["estimée", "réelle", "manquante"]


# -- the README's tour, on the demo ----------------------------------------------------------

TOUR_CURVE = """query { consumptionCurve(siteIds: ["U2l0ZTox"], from: "2026-03-01",
  to: "2026-03-31", step: DAY) { site { pointNumber } totalKwh maxPowerKw maxPowerAt
  shares { actual estimated missing } points { start energyKwh maxPowerKw quality } } }"""
TOUR_GAS = """query { gasDailyConsumption(siteIds: ["U2l0ZToyNjE="], from: "2026-01-01",
  to: "2026-03-31", step: MONTH) { site { pointNumber } totalM3 totalKwh maxDay
  points { start volumeM3 energyKwh quality } } }"""


async def test_the_readme_tour_returns_demo_curves(demo_runner: Runner) -> None:
    from sqlmodel import select

    from db.models import User
    from demo.logins import ADMIN_ID, MEMBER_USER_ID

    async with demo_runner.sessions() as session:
        user = (await session.exec(select(User).where(User.id == MEMBER_USER_ID))).one()
        admin = (await session.exec(select(User).where(User.id == ADMIN_ID))).one()
    [curve] = (await demo_runner.run(TOUR_CURVE, as_user=user))["consumptionCurve"]
    assert len(curve["points"]) == 31 and curve["totalKwh"] > 0
    assert all(p["energyKwh"] is not None for p in curve["points"])
    [gas] = (await demo_runner.run(TOUR_GAS, as_user=admin))["gasDailyConsumption"]
    assert len(gas["points"]) == 3 and gas["totalM3"] > 0


async def test_the_series_holds_the_same_points_in_columns(runner: Runner, curves: World) -> None:
    document = CURVE.replace(
        "points { start energyKwh meanPowerKw maxPowerKw quality }",
        "points { start energyKwh meanPowerKw maxPowerKw quality }"
        " series { starts energyKwh meanPowerKw maxPowerKw qualities }",
    )
    data = await runner.run(
        document,
        {"ids": [gid("Site", curves.sites[0].id)], "from": "2026-03-28", "to": "2026-03-30",
         "step": "HALF_HOUR"},
        as_user=curves.people["ADMIN"],
    )  # fmt: skip
    [curve] = data["consumptionCurve"]
    points, series = curve["points"], curve["series"]
    assert len(points) == 48 + 46 + 48
    assert series == {
        "starts": [p["start"] for p in points],
        "energyKwh": [p["energyKwh"] for p in points],
        "meanPowerKw": [p["meanPowerKw"] for p in points],
        "maxPowerKw": [p["maxPowerKw"] for p in points],
        "qualities": [p["quality"] for p in points],
    }
