"""The `comptoir` command as a person runs it: one clear line and a non-zero exit on bad input.

In process (see conftest.py), but for two smoke tests at the end that start a real process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from db.migrate import head_revision
from tests.cli.conftest import CliDemoDatabase, CliResult, RunCli


def run_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COMPTOIR_")}
    return subprocess.run(
        [sys.executable, "-m", "comptoir.cli", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=120,
        check=False,
    )


def assert_one_clear_line(result: CliResult | subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("comptoir")
    return lines[0]


def test_unknown_scale(run_cli: RunCli) -> None:
    line = assert_one_clear_line(run_cli("demo-data", "--scale", "huge"), 2)
    assert "huge" in line


def test_unknown_command(run_cli: RunCli) -> None:
    assert_one_clear_line(run_cli("dance"), 2)


def test_unreachable_database(run_cli: RunCli) -> None:
    result = run_cli(
        "migrate", env={"COMPTOIR_DATABASE_URL": "postgresql://postgres:s3cret@127.0.0.1:9/none"}
    )
    line = assert_one_clear_line(result, 1)
    assert "injoignable" in line
    assert "s3cret" not in line


def test_unreadable_sqlite_location(run_cli: RunCli, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli("migrate", env={"COMPTOIR_DATABASE_URL": f"sqlite:///{blocker}/db.sqlite"})
    assert_one_clear_line(result, 1)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("COMPTOIR_PORT", "eighty", "COMPTOIR_PORT"),
        ("COMPTOIR_DATABASE_URL", "mysql://root@localhost/x", "COMPTOIR_DATABASE_URL"),
        ("COMPTOIR_ENV", "staging", "COMPTOIR_ENV"),
    ],
)
def test_malformed_settings(run_cli: RunCli, variable: str, value: str, expected: str) -> None:
    line = assert_one_clear_line(run_cli("migrate", env={variable: value}), 1)
    assert expected in line


def test_production_without_a_secret(run_cli: RunCli) -> None:
    line = assert_one_clear_line(run_cli("migrate", env={"COMPTOIR_ENV": "production"}), 1)
    assert "COMPTOIR_SECRET_KEY" in line


def test_export_schema(run_cli: RunCli, tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    result = run_cli("export-schema", "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert "interface Node" in target.read_text(encoding="utf-8")


def test_demo_data_loads_once_and_prints_the_logins(
    run_cli: RunCli, cli_demo_database: CliDemoDatabase, tmp_path: Path
) -> None:
    # the session's database was migrated, then loaded by `demo-data --if-empty` when empty
    first = cli_demo_database.first_load
    assert first.returncode == 0, first.stderr
    assert "chargées" in first.stdout
    assert "admin@demo.comptoir.fr" in first.stdout
    env = cli_demo_database.copy(tmp_path / "demo.db")

    again = run_cli("demo-data", "--scale", "small", "--if-empty", env=env)
    assert again.returncode == 0, again.stderr
    assert "déjà présentes" in again.stdout
    assert "admin@demo.comptoir.fr" in again.stdout

    forced = run_cli("demo-data", "--scale", "small", env=env)
    assert_one_clear_line(forced, 1)


def test_demo_data_needs_a_migrated_database(run_cli: RunCli, tmp_path: Path) -> None:
    env = {"COMPTOIR_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    line = assert_one_clear_line(run_cli("demo-data", env=env), 1)
    assert "comptoir migrate" in line


def test_send_welcome_packs_for_a_group(
    run_cli: RunCli, cli_demo_database: CliDemoDatabase, tmp_path: Path
) -> None:
    # a migrated database with the `small` demo data, of this test's own
    env = cli_demo_database.copy(tmp_path / "welcome.db")
    env["COMPTOIR_MAIL_DIR"] = str(tmp_path / "mail")
    first = run_cli("send-welcome-packs", "--group", "SDE41", env=env)
    assert first.returncode == 0, first.stderr
    assert "mis en file" in first.stdout
    again = run_cli("send-welcome-packs", "--group", "SDE41", env=env)
    assert " 0 mail(s) mis en file" in again.stdout
    sent = run_cli("worker", "--once", env=env)
    assert sent.returncode == 0, sent.stderr
    assert list((tmp_path / "mail").glob("*.eml"))
    unknown = run_cli("send-welcome-packs", "--member", "NOPE", env=env)
    assert_one_clear_line(unknown, 1)


def test_send_collection_reminders_once_a_day(
    run_cli: RunCli, cli_demo_database: CliDemoDatabase, tmp_path: Path
) -> None:
    # The demo's campaign: the demo USER's member is halfway, so its person is reminded.
    import sqlite3

    env = cli_demo_database.copy(tmp_path / "reminders.db")
    with sqlite3.connect(tmp_path / "reminders.db") as db:
        [(expected,)] = db.execute(
            "SELECT count(DISTINCT g.user_id) FROM access_grants g JOIN collection_journeys j "
            "ON j.member_id = g.member_id JOIN users u ON u.id = g.user_id "
            "WHERE j.campaign_id = 1 AND j.status != 'VALIDATED' AND g.tier = 'USER' "
            "AND g.revoked_at IS NULL AND g.suspended_at IS NULL AND u.status != 'SUSPENDED'"
        ).fetchall()
    assert expected >= 1
    first = run_cli("send-collection-reminders", "--campaign", "1", env=env)
    assert first.returncode == 0, first.stderr
    assert f" {expected} mail(s) mis en file" in first.stdout, first.stdout
    again = run_cli("send-collection-reminders", "--campaign", "1", env=env)
    assert " 0 mail(s) mis en file" in again.stdout
    unknown = run_cli("send-collection-reminders", "--campaign", "999", env=env)
    assert_one_clear_line(unknown, 1)


# -- smoke tests in a real process: the entry point, its imports and its exit status ----------


def test_help_in_a_real_process() -> None:
    result = run_process("--help")
    assert result.returncode == 0, result.stderr
    assert "export-schema" in result.stdout


def test_migrate_creates_a_fresh_sqlite_database(run_cli: RunCli, tmp_path: Path) -> None:
    database = tmp_path / "sub" / "comptoir.db"
    env = {"COMPTOIR_DATABASE_URL": f"sqlite:///{database}"}
    result = run_process("migrate", env=env)
    assert result.returncode == 0, result.stderr
    assert f"révision {head_revision()}" in result.stdout
    assert database.exists()
    # running it again is harmless
    assert run_cli("migrate", env=env).returncode == 0
