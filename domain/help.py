"""Rules of the Help tab: who reads which guide, and what a contact's fields may hold."""

from __future__ import annotations

import re
from collections.abc import Iterable

from domain.enums import ContactRole, GuideAudience, Tier
from domain.errors import ErrorCode, Refusal
from domain.references import has_control_characters

# Whom each tier reads guides for, beside EVERYONE's.
AUDIENCES_OF_TIER: dict[Tier, GuideAudience] = {
    Tier.ADMIN: GuideAudience.COORDINATORS,
    Tier.USER: GuideAudience.MEMBERS,
    Tier.INFRA_USER: GuideAudience.MEMBERS,
    Tier.THIRD_PARTY: GuideAudience.THIRD_PARTIES,
}
GUIDE_TITLE_MAX = 120
GUIDE_DESCRIPTION_MAX = 500
CONTACT_NAME_MAX = 120
CONTACT_HOURS_MAX = 200
# A French or international number as people write it: digits, spaces, dots, dashes, a plus.
_PHONE = re.compile(r"^\+?[0-9][0-9 .\-]{5,30}$")
# The roles that belong to a group or to the supplier, never to one member.
NOT_FOR_A_MEMBER = frozenset({ContactRole.CUSTOMER_SERVICE, ContactRole.CHORUS_PRO})


def audiences_for(tiers: Iterable[Tier]) -> set[GuideAudience]:
    """The guides' audiences a person holding these tiers reads (OPERATOR: every one)."""
    held = set(tiers)
    if Tier.OPERATOR in held:
        return set(GuideAudience)
    return {GuideAudience.EVERYONE} | {AUDIENCES_OF_TIER[t] for t in held if t in AUDIENCES_OF_TIER}


def clean_text(value: str, limit: int, field: str, *, multiline: bool = False) -> str:
    """A title, name or description as stored: trimmed, not blank, not too long, without
    control characters (line breaks allowed in a description only)."""
    checked = value.replace("\n", " ").replace("\r", " ") if multiline else value
    if has_control_characters(checked):
        raise Refusal(ErrorCode.INVALID, "Caractères de contrôle interdits.", field=field)
    cleaned = value.strip()
    if not cleaned:
        raise Refusal(ErrorCode.REQUIRED, "Ce champ est obligatoire.", field=field)
    if len(cleaned) > limit:
        raise Refusal(ErrorCode.TOO_LONG, f"{limit} caractères au plus.", field=field)
    return cleaned


def clean_phone(value: str) -> str:
    cleaned = " ".join(value.split())
    if not _PHONE.match(cleaned):
        raise Refusal(
            ErrorCode.INVALID,
            "Numéro de téléphone invalide (chiffres, espaces, points ou tirets ; ex. "
            "« 02 54 78 10 20 »).",
            field="phone",
        )
    return cleaned
