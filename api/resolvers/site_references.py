"""Editing a site's customer references (internal code, designation, other reference)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.capabilities import references_perimeter
from api.resolvers.writable import site_to_change
from auth.caller import Caller
from db import audit
from db.engine import transaction
from db.models import Site
from db.site_search import refresh_site_search
from domain.errors import ErrorCode, Refusal, Refusals
from domain.references import SITE_REFERENCE_LIMITS, ReferenceProblem, clean_reference

FIELD_NAMES = {
    "internal_code": "internalCode",
    "designation": "designation",
    "other_reference": "otherReference",
}

_MESSAGES = {
    ReferenceProblem.REQUIRED: "Valeur vide : envoyez null pour effacer la référence.",
    ReferenceProblem.TOO_LONG: "{limit} caractères au plus.",
    ReferenceProblem.INVALID: "Caractères de contrôle (tabulation, retour à la ligne) interdits.",
}


def validated(changes: dict[str, str | None]) -> dict[str, str | None]:
    """Every field checked; all problems reported together, one per field."""
    cleaned: dict[str, str | None] = {}
    refusals: list[Refusal] = []
    for name, value in changes.items():
        if value is None:
            cleaned[name] = None
            continue
        limit = SITE_REFERENCE_LIMITS[name]
        stored, problem = clean_reference(value, limit)
        if problem is not None:
            refusals.append(
                Refusal(
                    ErrorCode(problem.value),
                    _MESSAGES[problem].format(limit=limit),
                    field=FIELD_NAMES[name],
                )
            )
        else:
            cleaned[name] = stored
    if refusals:
        raise Refusals(refusals)
    return cleaned


async def update_site_references(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    site_id: int,
    changes: dict[str, Any],
    now: datetime,
    client_address: str | None,
) -> Site:
    cleaned = validated(changes)
    async with transaction(sessions) as session:
        site = await site_to_change(
            session,
            site_id,
            perimeter=caller.perimeter,
            write_perimeter=references_perimeter(caller),
            forbidden="Votre habilitation permet de consulter ce site, pas de modifier ses "
            "références.",
        )
        before = {name: getattr(site, name) for name in cleaned}
        for name, value in cleaned.items():
            setattr(site, name, value)
        site.updated_at = now
        session.add(site)
        await session.flush()
        await refresh_site_search(session, site_ids=[site_id])
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="site.references_updated",
            object_type="Site",
            object_id=site_id,
            now=now,
            client_address=client_address,
            details={"before": before, "after": cleaned},
        )
    return site
