"""Real `comptoir` processes (serve, worker) started as a deployment starts them, for tests
that must see what the command line does: its server, its workers, its settings."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

COMPTOIR = Path(sys.executable).parent / "comptoir"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def comptoir_env(database_url: str, tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a comptoir process: this one's, less any COMPTOIR_ setting that
    would leak in, plus the test's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMPTOIR_")}
    env.update(
        {
            "COMPTOIR_ENV": "test",
            "COMPTOIR_DATABASE_URL": database_url,
            "COMPTOIR_SECRET_KEY": "test-secret-key-test-secret-key-0123456789",
            "COMPTOIR_MAIL_DIR": str(tmp_path / "mail"),
            "COMPTOIR_FILES_DIR": str(tmp_path / "files"),
        }
    )
    env.update({f"COMPTOIR_{name.upper()}": value for name, value in settings.items()})
    return env


def run_comptoir(*args: str, env: Mapping[str, str], timeout: float = 120) -> str:
    done = subprocess.run(
        [str(COMPTOIR), *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextmanager
def running(
    *args: str, env: Mapping[str, str], log: Path, ready_url: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`comptoir ARGS` in its own process group, until the block ends (then SIGTERM, which the
    server and the worker take as "finish what you are doing and stop")."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(COMPTOIR), *args],
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        if ready_url is not None:
            _wait_until_ready(process, ready_url, log)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"comptoir exited ({process.returncode}): {log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"comptoir did not answer {url} in time: {log.read_text()}")
