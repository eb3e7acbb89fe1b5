"""Public reference data that front ends build their forms from (no customer data)."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from api.graphql.enums import described_enum
from api.schema.enums import Energy, Segment, SelfCareRequestKind, TechnicalRequestType
from domain.labels import (
    SEGMENT_ENERGY,
    SEGMENT_LABELS,
    SELF_CARE_REQUEST_LABELS,
)
from domain.technical_requests import CATALOGUE, CHARACTERISTIC_LABELS, Characteristic

described_enum(
    Characteristic,
    CHARACTERISTIC_LABELS,
    name="TechnicalRequestCharacteristic",
    description="Caractéristique souhaitée qu'un type de demande technique exige (le nom du "
    "champ de `characteristics` dans `submitTechnicalRequest`).",
)


@strawberry.type(description="Frais facturés par le distributeur pour l'intervention (€ HT).")
class TechnicalRequestFees:
    standard: Decimal | None = strawberry.field(
        description="Prix standard ; null si sur devis ou sans frais."
    )
    express: Decimal | None = strawberry.field(
        description="Prix express (standard + supplément) quand l'intervention a lieu dans le "
        "délai express ; null si le type n'a pas de version express."
    )
    express_within_working_days: int | None = strawberry.field(
        description="Délai express en jours ouvrés après la planification."
    )
    wasted_trip: Decimal | None = strawberry.field(
        description="Frais de déplacement vain, si le client est absent au rendez-vous."
    )


@strawberry.type(description="Un type de demande technique du catalogue distributeur.")
class TechnicalRequestTypeEntry:
    code: TechnicalRequestType = strawberry.field(description="Code du type.")
    label: str = strawberry.field(description="Libellé en français.")
    energies: list[Energy] = strawberry.field(description="Énergies concernées.")
    targets_existing_site: bool = strawberry.field(
        description="Vrai si la demande porte sur un site du parc, faux pour un ajout de site."
    )
    required_characteristics: list[Characteristic] = strawberry.field(
        description="Caractéristiques souhaitées exigées (la puissance ne l'est que pour "
        "l'électricité)."
    )
    lead_time_working_days: int = strawberry.field(
        description="Délai standard du distributeur en jours ouvrés : la première date de "
        "rendez-vous qu'on peut souhaiter."
    )
    fees: TechnicalRequestFees = strawberry.field(description="Frais du distributeur.")


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
                label=spec.label,
                energies=sorted(spec.energies, key=list(Energy).index),
                targets_existing_site=spec.targets_existing_site,
                required_characteristics=sorted(spec.required, key=list(Characteristic).index),
                lead_time_working_days=spec.lead_time_working_days,
                fees=TechnicalRequestFees(
                    standard=spec.fees.standard,
                    express=spec.fees.express,
                    express_within_working_days=spec.fees.express_within_working_days,
                    wasted_trip=spec.fees.wasted_trip,
                ),
            )
            for code, spec in CATALOGUE.items()
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
