"""Settings: sensible defaults in development, refusals in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from comptoir.settings import DEVELOPMENT_SECRET, MailTransport, Settings


def test_development_defaults() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite+aiosqlite:///var/comptoir.db"
    assert settings.mail_transport is MailTransport.FILE
    assert settings.graphiql is True and settings.introspection is True
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET


def test_production_refuses_a_missing_secret() -> None:
    with pytest.raises(ValidationError, match="COMPTOIR_SECRET_KEY"):
        Settings(env="production")


@pytest.mark.parametrize("secret", [DEVELOPMENT_SECRET, "too-short"])
def test_production_refuses_a_weak_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="COMPTOIR_SECRET_KEY"):
        Settings(env="production", secret_key=secret)


def test_production_turns_graphiql_and_introspection_off() -> None:
    settings = Settings(env="production", secret_key="p" * 40)
    assert settings.graphiql is False and settings.introspection is False


def test_smtp_host_selects_the_smtp_transport() -> None:
    assert Settings(smtp_host="127.0.0.1").mail_transport is MailTransport.SMTP
    with pytest.raises(ValidationError, match="COMPTOIR_SMTP_HOST"):
        Settings(mail_transport="smtp")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/comptoir", "postgresql+asyncpg://u:p@db:5432/comptoir"),
        ("postgres://u@db/comptoir", "postgresql+asyncpg://u@db/comptoir"),
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
    ],
)
def test_database_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert Settings(database_url=given).database_url == expected


@pytest.mark.parametrize("url", ["mysql://root@localhost/x", "not a url"])
def test_unsupported_databases_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match=r"COMPTOIR|base de données"):
        Settings(database_url=url)


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPTOIR_PORT", "8123")
    assert Settings().port == 8123
    monkeypatch.setenv("COMPTOIR_PORT", "eighty")
    with pytest.raises(ValidationError):
        Settings()
