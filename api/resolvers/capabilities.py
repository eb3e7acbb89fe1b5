"""What the caller may do on a site, as the technical sheet shows it (capability flags).

Computed from the caller's grants and the site's scope (its group, member, billing account);
the mutations check the same rules in SQL through the write perimeter (self-readings) and
`references_perimeter` (reference edits), by way of `api/resolvers/writable.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.caller import Caller, GrantScope, perimeter_for
from db.scoped import Perimeter
from domain.enums import Tier

REFERENCE_EDITORS = frozenset({Tier.ADMIN, Tier.USER, Tier.INFRA_USER})


@dataclass(frozen=True, slots=True)
class SiteScope:
    group_id: int | None
    member_id: int
    billing_account_id: int


def grant_reaches(grant: GrantScope, site: SiteScope) -> bool:
    match grant.tier:
        case Tier.ADMIN:
            return grant.group_id is not None and grant.group_id == site.group_id
        case Tier.USER:
            return grant.member_id == site.member_id
        case Tier.INFRA_USER | Tier.THIRD_PARTY:
            return site.billing_account_id in grant.billing_account_ids
        case _:
            return False


def may_edit_references(caller: Caller | None, site: SiteScope) -> bool:
    """ADMIN, USER and INFRA_USER edit the references of the sites they reach; third parties
    never do, even when they may submit readings."""
    if caller is None or caller.write_perimeter.is_empty:  # e.g. a read-only API key
        return False
    return any(
        grant.tier in REFERENCE_EDITORS and grant_reaches(grant, site) for grant in caller.grants
    )


def may_write(caller: Caller | None, site: SiteScope) -> bool:
    """A grant that allows submissions (self-readings, requests) reaches the site: the same
    rule as the write perimeter that the mutations apply in SQL."""
    if caller is None or caller.write_perimeter.is_empty:
        return False
    return any(grant.allows_writes and grant_reaches(grant, site) for grant in caller.grants)


def references_perimeter(caller: Caller) -> Perimeter:
    """Where the caller may edit site references, in SQL terms: the reach of its ADMIN, USER
    and INFRA_USER grants, nothing when it may write nothing (e.g. a read-only API key)."""
    if caller.write_perimeter.is_empty:
        return Perimeter.nobody()
    return perimeter_for(g for g in caller.grants if g.tier in REFERENCE_EDITORS)
