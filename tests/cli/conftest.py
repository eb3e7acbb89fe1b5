"""Running `comptoir` in process: `comptoir.cli.main` called with a clean COMPTOIR_* environment,
its exit status and what it printed collected as a subprocess would report them.

A real process costs an interpreter start and every import (seconds each on the shared CI
machine); only the smoke tests at the end of test_cli.py pay for one.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from comptoir import cli


@dataclass(frozen=True, slots=True)
class CliResult:
    """The fields of `subprocess.CompletedProcess` the tests read."""

    returncode: int
    stdout: str
    stderr: str


RunCli = Callable[..., CliResult]


def _main(args: tuple[str, ...]) -> int:
    try:
        return cli.main(list(args))
    except SystemExit as exit_:  # argparse's usage errors and --help
        return exit_.code if isinstance(exit_.code, int) else 1


def invoke(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """The command with only `env` as its COMPTOIR_* settings, in this process.

    The CLI calls `asyncio.run`, which refuses to start inside a running loop: it runs in a
    thread of its own, so async tests can call it too.
    """
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("COMPTOIR_")]:
            patch.delenv(name)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            ThreadPoolExecutor(max_workers=1) as pool,
        ):
            code = pool.submit(_main, args).result(timeout=120)
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def run_cli() -> RunCli:
    """`run_cli(*args, env={...})`: see `invoke`."""
    return invoke


@dataclass(frozen=True, slots=True)
class CliDemoDatabase:
    """A SQLite file migrated and loaded with the `small` demo data through the CLI."""

    path: Path
    first_load: CliResult  # what `demo-data --if-empty` printed on the empty database

    def copy(self, target: Path) -> dict[str, str]:
        """A private copy for one test, as the CLI's environment."""
        shutil.copyfile(self.path, target)
        return {"COMPTOIR_DATABASE_URL": f"sqlite:///{target}"}


@pytest.fixture(scope="session")
def cli_demo_database(tmp_path_factory: pytest.TempPathFactory) -> CliDemoDatabase:
    """Loaded once per session: the demo load is the slow part of the CLI tests."""
    path = tmp_path_factory.mktemp("cli-demo") / "demo.db"
    # the demo's guides are rendered into the files directory: the test's, not the worktree's
    env = {
        "COMPTOIR_DATABASE_URL": f"sqlite:///{path}",
        "COMPTOIR_FILES_DIR": str(path.parent / "files"),
    }
    assert invoke("migrate", env=env).returncode == 0
    return CliDemoDatabase(path, invoke("demo-data", "--scale", "small", "--if-empty", env=env))
