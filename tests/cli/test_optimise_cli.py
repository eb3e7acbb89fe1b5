"""`comptoir optimise` and the study the demo load runs: proposals exist after `demo-data`
(what `make run` shows), a re-run supersedes the unanswered ones, an unknown group is one
clear line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.cli.conftest import CliDemoDatabase, RunCli
from tests.cli.test_cli import assert_one_clear_line


def _proposals(path: Path) -> list[tuple[str, str, str, int]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT p.status, p.current_option, p.proposed_option, p.net_gain "
            "FROM optimisation_proposals p JOIN sites s ON s.id = p.site_id "
            "WHERE s.status = 'ACTIVE' ORDER BY p.id"
        ).fetchall()


def test_the_demo_load_runs_the_study_and_the_command_runs_it_again(
    run_cli: RunCli, cli_demo_database: CliDemoDatabase, tmp_path: Path
) -> None:
    # the demo load ran the study: at least one T3 boiler room consuming like a T2 is proposed
    assert "Optimisation tarifaire" in cli_demo_database.first_load.stdout
    path = tmp_path / "optimise.db"
    env = cli_demo_database.copy(path)
    first = _proposals(path)
    assert first and all(status == "PROPOSED" for status, *_ in first)
    assert ("T3", "T2") in {(current, proposed) for _, current, proposed, _ in first}
    # net gains are stored in cents on SQLite: every one reaches the 500 € threshold
    assert all(gain >= 500_00 for *_, gain in first)
    # a re-run of one group at a zero threshold supersedes its open proposals and keeps more
    again = run_cli("optimise", "--group", "SDE41", "--threshold", "0", env=env)
    assert again.returncode == 0, again.stderr
    assert "seuil 0.00 €" in again.stdout and "remplacées" in again.stdout
    after = _proposals(path)
    assert len([s for s, *_ in after if s == "SUPERSEDED"]) >= 1
    assert len([s for s, *_ in after if s == "PROPOSED"]) > len(first)
    unknown = run_cli("optimise", "--group", "NOPE", env=env)
    assert "NOPE" in assert_one_clear_line(unknown, 1)
    bad = run_cli("optimise", "--threshold", "beaucoup", env=env)
    assert bad.returncode == 2
