"""Who hears about an alert, and how: deliveries, defaults per tier, the kinds' French names.

A person's preference is per alert kind: IMMEDIATE (one mail per new alert), DAILY_DIGEST (one
mail a day listing the new alerts of their perimeter) or OFF. A person who never chose gets
the default of their tiers (`default_delivery`); a stored choice always wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from domain.enums import AlertKind, Tier


class AlertDelivery(StrEnum):
    IMMEDIATE = "IMMEDIATE"
    DAILY_DIGEST = "DAILY_DIGEST"
    OFF = "OFF"


ALERT_DELIVERY_LABELS: dict[AlertDelivery, str] = {
    AlertDelivery.IMMEDIATE: "Un courriel par alerte, dès son ouverture",
    AlertDelivery.DAILY_DIGEST: "Un récapitulatif quotidien des nouvelles alertes",
    AlertDelivery.OFF: "Aucun courriel",
}


# Tiers whose perimeter is wide: a group (ADMIN) or accounts across members (an adviser).
_WIDE_TIERS = frozenset({Tier.ADMIN, Tier.THIRD_PARTY})
# Tiers whose perimeter is a member's few sites, looked after by the people on site.
_NARROW_TIERS = frozenset({Tier.USER, Tier.INFRA_USER})


def default_delivery(tiers: Iterable[Tier]) -> AlertDelivery:
    """The delivery of a person who chose nothing, from the tiers of their live grants.

    - ADMIN (a whole purchasing group, up to 13,000 sites) and THIRD_PARTY (an energy adviser
      over accounts of several members): a DAILY_DIGEST. A group-wide detection run opens
      hundreds of alerts at once; one mail each would bury the coordinator's mailbox and teach
      them to ignore it, whereas a daily list is read and acted upon.
    - USER and INFRA_USER (one member's sites, or a few billing accounts of it): IMMEDIATE. Their
      alerts are few, and the person is the one who can act at once (a self-reading, a look at
      the meter).
    - OPERATOR (the back office) and a person with no customer grant: OFF. They see no customer
      data, so there is nothing of theirs to tell.

    A person holding both a wide and a narrow grant gets the digest: their perimeter is the
    wide one, and its volume is what the default must bear.
    """
    held = set(tiers)
    if held & _WIDE_TIERS:
        return AlertDelivery.DAILY_DIGEST
    if held & _NARROW_TIERS:
        return AlertDelivery.IMMEDIATE
    return AlertDelivery.OFF


def effective_deliveries(
    tiers: Iterable[Tier], chosen: Mapping[AlertKind, AlertDelivery]
) -> dict[AlertKind, AlertDelivery]:
    """Every kind's delivery for one person: their choice where they made one, else the
    default of their tiers."""
    default = default_delivery(tiers)
    return {kind: chosen.get(kind, default) for kind in AlertKind}
