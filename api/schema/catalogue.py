"""Public reference data that front ends build their forms from (no customer data)."""

from __future__ import annotations

import strawberry

from api.schema.enums import Energy, Segment, SelfCareRequestKind, TechnicalRequestType
from domain.labels import (
    SEGMENT_ENERGY,
    SEGMENT_LABELS,
    SELF_CARE_REQUEST_LABELS,
    TECHNICAL_REQUEST_TYPES,
)


@strawberry.type(description="Un type de demande technique du catalogue distributeur.")
class TechnicalRequestTypeEntry:
    code: TechnicalRequestType = strawberry.field(description="Code du type.")
    label: str = strawberry.field(description="Libellé en français.")
    energies: list[Energy] = strawberry.field(description="Énergies concernées.")
    targets_existing_site: bool = strawberry.field(
        description="Vrai si la demande porte sur un site du parc, faux pour un ajout de site."
    )


@strawberry.type(description="Un segment d'acheminement.")
class SegmentEntry:
    code: Segment = strawberry.field(description="Code du segment.")
    label: str = strawberry.field(description="Libellé en français.")
    energy: Energy = strawberry.field(description="Énergie du segment.")


@strawberry.type(description="Un type de demande selfcare.")
class SelfCareRequestKindEntry:
    code: SelfCareRequestKind = strawberry.field(description="Code du type.")
    label: str = strawberry.field(description="Libellé en français.")


@strawberry.type(description="Référentiels publics de l'espace client.")
class Catalogue:
    @strawberry.field(description="Les types de demandes techniques.")
    def technical_request_types(self) -> list[TechnicalRequestTypeEntry]:
        return [
            TechnicalRequestTypeEntry(
                code=code,
                label=label,
                energies=sorted(energies, key=list(Energy).index),
                targets_existing_site=existing,
            )
            for code, (label, energies, existing) in TECHNICAL_REQUEST_TYPES.items()
        ]

    @strawberry.field(description="Les segments d'acheminement.")
    def segments(self) -> list[SegmentEntry]:
        return [
            SegmentEntry(code=code, label=label, energy=SEGMENT_ENERGY[code])
            for code, label in SEGMENT_LABELS.items()
        ]

    @strawberry.field(description="Les types de demandes selfcare.")
    def self_care_request_kinds(self) -> list[SelfCareRequestKindEntry]:
        return [
            SelfCareRequestKindEntry(code=code, label=label)
            for code, label in SELF_CARE_REQUEST_LABELS.items()
        ]


@strawberry.type
class CatalogueQueries:
    @strawberry.field(description="Référentiels publics (types de demandes, segments…).")
    def catalogue(self) -> Catalogue:
        return Catalogue()
