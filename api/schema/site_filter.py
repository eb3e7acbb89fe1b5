"""`SiteFilter`: the parc's multi-criteria filter, shared by the list, the summary and exports."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from api.graphql.ids import pks_of
from api.resolvers.portfolio import SiteCriteria
from api.schema.enums import Distributor, Energy, MeterKind, Segment, SiteStatus


@strawberry.input(
    description="Filtre du parc ; les critères se cumulent, une liste vide vaut tout."
)
class SiteFilter:
    text: str | None = strawberry.field(
        default=None,
        description="Texte libre (sans accents ni casse) : raison sociale, code interne, "
        "désignation, autre référence, PRM/PCE, commune, voie, code postal.",
    )
    energies: list[Energy] | None = strawberry.field(default=None, description="Énergies.")
    segments: list[Segment] | None = strawberry.field(default=None, description="Segments.")
    statuses: list[SiteStatus] | None = strawberry.field(default=None, description="États.")
    member_ids: list[relay.GlobalID] | None = strawberry.field(default=None, description="Membres.")
    billing_account_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Comptes de contrat."
    )
    distributors: list[Distributor] | None = strawberry.field(
        default=None, description="Gestionnaires de réseau."
    )
    meter_kinds: list[MeterKind] | None = strawberry.field(
        default=None, description="Types du compteur en place."
    )
    communicating: bool | None = strawberry.field(
        default=None, description="Compteur en place communicant (ou non)."
    )
    with_open_alerts: bool | None = strawberry.field(
        default=None, description="Sites avec (ou sans) alerte non résolue."
    )

    def to_criteria(self) -> SiteCriteria:
        """The resolver-level criteria; IDs of another type simply match nothing."""
        return SiteCriteria(
            text=self.text,
            energies=tuple(self.energies or ()),
            segments=tuple(self.segments or ()),
            statuses=tuple(self.statuses or ()),
            member_ids=_ids(self.member_ids, "Member"),
            billing_account_ids=_ids(self.billing_account_ids, "BillingAccount"),
            distributors=tuple(self.distributors or ()),
            meter_kinds=tuple(self.meter_kinds or ()),
            communicating=self.communicating,
            with_open_alerts=self.with_open_alerts,
        )


def criteria_of(site_filter: SiteFilter | None) -> SiteCriteria:
    return site_filter.to_criteria() if site_filter is not None else SiteCriteria()


def _ids(global_ids: list[relay.GlobalID] | None, type_name: str) -> tuple[int, ...]:
    if not global_ids:
        return ()
    valid = [g for g in global_ids if g.type_name == type_name and str(g.node_id).isdigit()]
    # A filter naming only foreign or malformed IDs must match nothing, not everything.
    return tuple(pks_of(valid, type_name, "filter")) if valid else (-1,)


# The `filter` argument of every field that takes the parc's filter, described once.
SiteFilterArgument = Annotated[
    SiteFilter | None,
    strawberry.argument(description="Filtre du parc ; tout votre périmètre s'il est absent."),
]
