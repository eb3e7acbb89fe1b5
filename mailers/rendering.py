"""The Jinja2 environment of the mails: HTML autoescaped, every variable required.

Contexts come back from the outbox's JSON column, so instants arrive as ISO 8601 strings:
the filters below accept those as well as `datetime` objects.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.calendar import PARIS
from mailers.contacts import contact_lines

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def _as_datetime(value: datetime | str) -> datetime:
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    if instant.tzinfo is None:
        raise ValueError("naive datetime in a mail context: give a timezone-aware instant")
    return instant


def _as_date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def paris_datetime(value: datetime | str) -> str:
    """« 12 mars 2026 à 14 h 05 », in Europe/Paris time (business times are French)."""
    local = _as_datetime(value).astimezone(PARIS)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {_MONTHS[local.month - 1]} {local.year} à {local.hour} h {local.minute:02d}"


def french_date(value: date | str) -> str:
    """« 1er avril 2026 »."""
    day = _as_date(value)
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {_MONTHS[day.month - 1]} {day.year}"


def french_number(value: int | str) -> str:
    """« 12 345 »: thousands grouped by a narrow no-break space, as French typography wants."""
    number = int(value)
    return ("-" if number < 0 else "") + f"{abs(number):,}".replace(",", "\u202f")


def french_duration(seconds: float) -> str:
    """« 24 heures », « 1 heure », « 45 minutes »: how long a link stays valid."""
    minutes = round(seconds / 60)
    if minutes >= 60 and minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} heure{'s' if hours > 1 else ''}"
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    # One environment for all: autoescape by file extension, so the .txt templates (plain
    # text and subjects) are never HTML-escaped and the .html ones always are.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["paris_datetime"] = paris_datetime
    env.filters["french_date"] = french_date
    env.filters["contact_lines"] = contact_lines
    env.filters["french_number"] = french_number
    return env


def render_subject(template: str, context: dict[str, Any]) -> str:
    """The subject on one line (a header cannot hold a newline)."""
    text = environment().get_template(f"{template}.subject.txt").render(context)
    return " ".join(text.split())


def render_bodies(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """(plain text, HTML) of one mail."""
    env = environment()
    text = env.get_template(f"{template}.txt").render(context)
    html = env.get_template(f"{template}.html").render(context)
    return text, html
