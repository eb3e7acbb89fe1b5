"""Runtime settings, read once from `COMPTOIR_*` environment variables (and `.env`)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from domain.identifiers import is_valid_siren, is_valid_siret, siren_of

# Only ever used when COMPTOIR_ENV=development (or test): production refuses to start without
# a secret of its own.
DEVELOPMENT_SECRET = "comptoir-development-secret-do-not-use-in-production"
MIN_SECRET_LENGTH = 32


def intra_eu_vat_number(siren: str) -> str:
    """The French intra-EU VAT number of a company: FR, a two-digit key, the SIREN."""
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class MailTransport(StrEnum):
    FILE = "file"
    SMTP = "smtp"


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver the app runs on."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"URL de base de données illisible : {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(
            f"base de données non prise en charge : {backend!r} (SQLite ou PostgreSQL attendu)"
        )
    return parsed.render_as_string(hide_password=False)


class Settings(BaseSettings):
    """Every knob of a comptoir process. See the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="COMPTOIR_", env_file=".env", extra="ignore", validate_default=True
    )

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///var/comptoir.db"
    database_echo: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    public_url: str = ""
    # The customer space front end: the links in mails (activation, reset) point there.
    customer_space_url: str = ""
    secret_key: SecretStr | None = None

    mail_transport: MailTransport | None = None
    mail_dir: Path = Path("var/mail")
    mail_from: str = "Comptoir <no-reply@comptoir.example>"
    smtp_host: str | None = None
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0

    # Who the mails come from (header of every mail). Whom customers call is data: the
    # contacts table (Help tab, mailers/contacts.py), maintained by the back office.
    supplier_name: str = "Comptoir Énergie"
    # The supplier's legal identity, printed on every invoice (a public accountant refuses an
    # invoice without it). The demo defaults are a consistent fictitious company: a Luhn-valid
    # SIREN, the SIRET of its head office and the intra-EU VAT number derived from the SIREN.
    supplier_legal_name: str = "Comptoir Énergie SAS"
    supplier_share_capital: str = "2 500 000 €"
    supplier_address: str = "18 rue de la Bourse, 69002 Lyon"
    supplier_siren: Annotated[str, Field(pattern=r"^\d{9}$")] = "812453173"
    supplier_siret: Annotated[str, Field(pattern=r"^\d{14}$")] = "81245317300021"
    supplier_rcs: str = "RCS Lyon 812 453 173"
    supplier_vat_number: Annotated[str, Field(pattern=r"^FR[0-9A-Z]{2}\d{9}$")] = "FR82812453173"

    mail_max_attempts: Annotated[int, Field(ge=1, le=50)] = 8
    mail_retry_base_seconds: Annotated[float, Field(gt=0)] = 30.0
    mail_retry_max_seconds: Annotated[float, Field(gt=0)] = 3600.0
    mail_poll_seconds: Annotated[float, Field(gt=0)] = 2.0
    mail_batch_size: Annotated[int, Field(ge=1, le=1000)] = 50
    # A claim holds its mails this long; the worker renews it every third of it while it
    # lives, so a crashed worker's mails are free again within this time.
    mail_lease_seconds: Annotated[float, Field(ge=0.3, le=3600)] = 60.0
    # The bound of one whole send (connection, dialogue, data), whatever the server does.
    mail_send_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    # `make run` sends mails from the API process; production runs `comptoir worker` apart.
    run_mail_worker: bool = False

    access_token_ttl_seconds: Annotated[int, Field(ge=60, le=3600)] = 900
    refresh_token_ttl_days: Annotated[int, Field(ge=1, le=365)] = 30
    activation_link_ttl_hours: Annotated[int, Field(ge=1, le=168)] = 24
    reset_link_ttl_minutes: Annotated[int, Field(ge=5, le=1440)] = 60
    api_key_max_days: Annotated[int, Field(ge=1, le=1095)] = 365

    graphiql: bool | None = None
    introspection: bool | None = None
    files_dir: Path = Path("var/files")
    signed_url_ttl_seconds: Annotated[int, Field(ge=10, le=3600)] = 300
    # Alert detection inside the API process every N minutes (`make run`); 0 = off, as in
    # production, where cron or an orchestrator calls `comptoir detect-alerts`.
    alert_detection_interval_minutes: Annotated[int, Field(ge=0, le=10080)] = 0
    # A daily alert digest lists this many alerts at most, then counts the rest.
    alert_digest_max_items: Annotated[int, Field(ge=1, le=1000)] = 100
    # Production may refuse every operation outside the first-party apps' trusted manifest
    # (persisted-operations.json), whether sent by hash or in full (api/persisted.py).
    persisted_operations_only: bool = False
    # The manifest's queries answered by compiled plans (api/compiled.py); off = every
    # operation through graphql-core (the differential test compares both).
    compiled_operations: bool = True

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        return normalise_database_url(value)

    @model_validator(mode="after")
    def _derive_defaults(self) -> Settings:
        is_production = self.env is Environment.PRODUCTION
        if self.secret_key is None:
            if is_production:
                raise ValueError("COMPTOIR_SECRET_KEY est obligatoire en production")
            self.secret_key = SecretStr(DEVELOPMENT_SECRET)
        secret = self.secret_key.get_secret_value()
        if is_production and (secret == DEVELOPMENT_SECRET or len(secret) < MIN_SECRET_LENGTH):
            raise ValueError(
                f"COMPTOIR_SECRET_KEY doit compter au moins {MIN_SECRET_LENGTH} caractères "
                "et ne pas être la clé de développement"
            )
        if self.mail_transport is None:
            self.mail_transport = MailTransport.SMTP if self.smtp_host else MailTransport.FILE
        if self.mail_transport is MailTransport.SMTP and not self.smtp_host:
            raise ValueError("COMPTOIR_SMTP_HOST est obligatoire avec le transport smtp")
        if self.graphiql is None:
            self.graphiql = not is_production
        if self.introspection is None:
            self.introspection = not is_production
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        if not self.customer_space_url:
            self.customer_space_url = self.public_url
        return self

    @model_validator(mode="after")
    def _consistent_legal_identity(self) -> Settings:
        # A typo in an identifier would be printed on every invoice: refuse it at start-up.
        if not is_valid_siren(self.supplier_siren):
            raise ValueError("COMPTOIR_SUPPLIER_SIREN n'est pas un SIREN valide")
        if not (
            is_valid_siret(self.supplier_siret)
            and siren_of(self.supplier_siret) == self.supplier_siren
        ):
            raise ValueError("COMPTOIR_SUPPLIER_SIRET n'est pas un SIRET valide de ce SIREN")
        if self.supplier_vat_number != intra_eu_vat_number(self.supplier_siren):
            raise ValueError(
                "COMPTOIR_SUPPLIER_VAT_NUMBER ne correspond pas au SIREN (attendu : "
                f"{intra_eu_vat_number(self.supplier_siren)})"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def signing_secret(self) -> str:
        """The key that signs tokens and file links: always set once validated (the
        development key outside production), though the field stays optional for input."""
        assert self.secret_key is not None
        return self.secret_key.get_secret_value()

    # Hardening (README "Security"). Every text of a GraphQL request (literal or variable) is
    # refused beyond this length or with a control character; every list beyond this count.
    max_input_text_length: Annotated[int, Field(ge=100, le=100_000)] = 4000
    max_input_list_items: Annotated[int, Field(ge=1, le=10_000)] = 100
    # Request bodies beyond this size answer 413 before they are read in full.
    max_request_bytes: Annotated[int, Field(ge=1024)] = 1_000_000
    # A technical request's attachment (the signed service order): larger files are refused
    # with a UserError; multipart bodies may exceed max_request_bytes by this much.
    max_attachment_bytes: Annotated[int, Field(ge=1024, le=50_000_000)] = 10_000_000
    # "Did you mean …?" in validation errors: development only (never in production).
    field_suggestions: bool = True
    # Front ends on other origins (comma-separated, e.g. `https://espace.example.fr`); none
    # by default. Credentials (cookies) are never allowed: the API takes bearer tokens.
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Strict-Transport-Security's max-age, sent on answers served over HTTPS; 0 = not sent.
    hsts_max_age_seconds: Annotated[int, Field(ge=0)] = 31_536_000

    # Log lines: one JSON object per line (production's default, for a log collector) or text.
    log_format: Literal["json", "text"] | None = None

    # `comptoir serve`: API worker processes on the one port (each its own pool and metrics);
    # and the proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated
    # addresses or networks, "*" for any: only behind a proxy that rewrites those headers).
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    forwarded_allow_ips: str = "127.0.0.1"

    @property
    def logs_as_json(self) -> bool:
        if self.log_format is None:
            return self.env is Environment.PRODUCTION
        return self.log_format == "json"

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @property
    def suggests_fields(self) -> bool:
        return self.field_suggestions and self.env is not Environment.PRODUCTION


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
