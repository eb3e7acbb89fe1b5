"""What the builders hand each other: plain rows, and the facts later steps need of a member
or a site (grants and requests point at them; invoices and alerts read a site's meters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from demo.billing import SiteTariff
from demo.meters import MeterSim

Row = dict[str, Any]
Batch = tuple[str, list[Row]]

# Months of history before `as_of`: month-end positions k = 0..WINDOW_MONTHS.
WINDOW_MONTHS = 24

# The winter season of the C4 time-of-use registers (HPH/HCH); the rest of the year is summer.
WINTER_MONTHS = frozenset({11, 12, 1, 2, 3})


def instant(day: date, hour: int = 6, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


@dataclass(slots=True)
class SiteInfo:
    """What later steps (requests, grants) need to know of a site."""

    id: int
    member_id: int
    account_id: int
    energy: str
    segment: str
    point_number: str
    communicating: bool
    street: str
    postcode: str
    city: str
    kva: Decimal | None
    tariff_option: str


@dataclass(slots=True)
class MemberInfo:
    id: int
    energy: str
    legal_name: str
    commune: str
    postcode: str
    street: str
    email_domain: str
    account_ids: list[int] = field(default_factory=list)
    account_labels: dict[int, str] = field(default_factory=dict)
    account_delivery: dict[int, str] = field(default_factory=dict)
    account_address: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    sites: list[SiteInfo] = field(default_factory=list)
    siren: str = ""
    switched_on: date | None = None

    @property
    def email(self) -> str:
        return f"energie@{self.email_domain}"


@dataclass(slots=True)
class SiteDraft:
    """A site being built: its row, its meters and its consumption."""

    row: Row
    segment: str
    oddity: str | None
    registers: list[str]
    hc_share: float
    kinds: list[str]  # meter kinds over time (two when replaced)
    account_slot: int = -1
    consumption: dict[str, list[int]] = field(default_factory=dict)
    meters: list[MeterSim] = field(default_factory=list)
    last_k: int = WINDOW_MONTHS
    zero_from: int | None = None
    excess_from: int | None = None
    missing_after: int | None = None
    phase: int = 1
    tariff: SiteTariff | None = None

    def register_part(self, register: str, month: int) -> float:
        """The share of a month's (1–12) consumption that `register` counts: all of it on
        BASE; full or off-peak hours on HP/HC; on the four C4 registers, only the season's
        two count (winter: November to March)."""
        if register == "BASE":
            return 1.0
        if register in ("HP", "HC"):
            return self.hc_share if register == "HC" else 1 - self.hc_share
        if (register in ("HPH", "HCH")) != (month in WINTER_MONTHS):
            return 0.0
        return self.hc_share if register in ("HCH", "HCE") else 1 - self.hc_share
