"""`comptoir purge-expired` on a copy of the demo data: the dissolved syndicate's sites
(demo/retention.py) ended at known distances from the demo's day, so the purge is run at five
years minus a day and plus a day after one of them. A dry run changes nothing; `--apply`
removes the site with its meter, readings and invoices, audited; a second run finds nothing."""

from __future__ import annotations

import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path

from demo.retention import ENDINGS
from tests.cli.conftest import CliDemoDatabase, RunCli


def demo_day(database: CliDemoDatabase) -> date:
    found = re.search(r"au (\d\d)/(\d\d)/(\d{4})", database.first_load.stdout)
    assert found, database.first_load.stdout
    day, month, year = (int(x) for x in found.groups())
    return date(year, month, day)


def rows(path: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return list(connection.execute(sql, args).fetchall())


def five_years_after(day: date) -> date:
    return day.replace(year=day.year + 5)


def test_purge_expired_at_five_years_minus_and_plus_a_day(
    run_cli: RunCli, cli_demo_database: CliDemoDatabase, tmp_path: Path
) -> None:
    path = tmp_path / "purge.db"
    env = cli_demo_database.copy(path)
    as_of = demo_day(cli_demo_database)
    ended = as_of - timedelta(days=ENDINGS[1][0])  # the water tower, about to expire
    ((point,),) = rows(
        path, "SELECT point_number FROM sites WHERE supply_end = ?", ended.isoformat()
    )
    past = as_of - timedelta(days=ENDINGS[0][0])  # the pumping station, long expired
    ((old_point, old_id),) = rows(
        path, "SELECT point_number, id FROM sites WHERE supply_end = ?", past.isoformat()
    )
    counts = "SELECT (SELECT COUNT(*) FROM sites), (SELECT COUNT(*) FROM readings)"
    before = rows(path, counts)

    # five years minus a day after the water tower's end: only the pumping station would go
    day_before = (five_years_after(ended) - timedelta(days=1)).isoformat()
    dry = run_cli("purge-expired", "--as-of", day_before, env=env)
    assert dry.returncode == 0, dry.stderr
    assert old_point in dry.stdout and point not in dry.stdout
    assert "1 site(s) à supprimer (simulation" in dry.stdout
    assert "2 relevés" in dry.stdout
    assert rows(path, counts) == before  # a dry run changes nothing

    # five years plus a day: the water tower goes too
    day_after = (five_years_after(ended) + timedelta(days=1)).isoformat()
    later = run_cli("purge-expired", "--as-of", day_after, env=env)
    assert old_point in later.stdout and point in later.stdout
    assert "2 site(s) à supprimer" in later.stdout

    # --apply at the day before removes the pumping station only, audited
    applied = run_cli("purge-expired", "--as-of", day_before, "--apply", env=env)
    assert applied.returncode == 0, applied.stderr
    assert "1 site(s) supprimé(s)" in applied.stdout
    assert rows(path, "SELECT COUNT(*) FROM sites WHERE point_number = ?", old_point) == [(0,)]
    assert rows(path, "SELECT COUNT(*) FROM readings WHERE site_id = ?", old_id) == [(0,)]
    assert rows(path, "SELECT COUNT(*) FROM meters WHERE site_id = ?", old_id) == [(0,)]
    assert rows(path, "SELECT COUNT(*) FROM sites WHERE point_number = ?", point) == [(1,)]
    assert rows(path, counts) == [(before[0][0] - 1, before[0][1] - 2)]
    audited = rows(
        path,
        "SELECT object_type, object_id, details FROM audit_log WHERE action = 'retention.purge'",
    )
    assert [(t, i) for t, i, _ in audited] == [("Site", str(old_id))]
    assert old_point in str(audited[0][2])

    # a second run finds nothing left
    again = run_cli("purge-expired", "--as-of", day_before, "--apply", env=env)
    assert "0 site(s) supprimé(s)" in again.stdout
