"""Portfolio types: the group, its members, their billing accounts, sites and meters.

Every type is a Relay node; `resolve_nodes` loads through the perimeter-scoped helpers, so an
ID outside the caller's perimeter resolves exactly like an unknown one (null).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any, Self

import strawberry
from strawberry import relay

from api.resolvers import nodes
from api.schema.enums import (
    BillingFrequency,
    Distributor,
    Energy,
    InvoiceDelivery,
    MeterKind,
    PaymentMethod,
    Register,
    Segment,
    SiteStatus,
)


@cache
def _init_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)  # type: ignore[arg-type]


class _ScopedNode:
    """A node built from a database row, loaded by id inside the caller's perimeter.

    Listed before `relay.Node` in the bases so its `resolve_nodes` is the one used; the
    GraphQL type name (the class name) says which table to read.
    """

    @classmethod
    def from_row(cls, row: Any) -> Self:
        # A table object or a Core row: both expose the columns as attributes.
        names = _init_fields(cls)
        return cls(**{name: getattr(row, name) for name in names})

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [int(i) if str(i).isdigit() else None for i in node_ids]
        rows = await nodes.load_nodes(
            info.context.sessions, info.context.perimeter, cls.__name__, ids
        )
        return [cls.from_row(row) if row is not None else None for row in rows]


@strawberry.type(description="Groupement de commandes (coordonnateur et ses membres).")
class Group(_ScopedNode, relay.Node):
    id: relay.NodeID[int]
    code: str = strawberry.field(description="Code court du groupement.")
    name: str = strawberry.field(description="Nom du groupement.")
    coordinator_name: str = strawberry.field(description="Structure coordonnatrice.")


@strawberry.type(description="Membre du groupement (collectivité, établissement public…).")
class Member(_ScopedNode, relay.Node):
    id: relay.NodeID[int]
    customer_number: str = strawberry.field(description="Numéro de client.")
    legal_name: str = strawberry.field(description="Raison sociale.")
    siren: str = strawberry.field(description="SIREN (9 chiffres).")
    street: str = strawberry.field(description="Adresse du siège : voie.")
    postcode: str = strawberry.field(description="Adresse du siège : code postal.")
    city: str = strawberry.field(description="Adresse du siège : commune.")


@strawberry.type(description="Compte de contrat : l'unité de facturation d'un membre.")
class BillingAccount(_ScopedNode, relay.Node):
    id: relay.NodeID[int]
    number: str = strawberry.field(description="Numéro du compte de contrat.")
    energy: Energy = strawberry.field(description="Énergie facturée sur ce compte.")
    invoice_label: str = strawberry.field(description="Libellé de facture (30 caractères).")
    is_multi_site: bool = strawberry.field(description="Facture multi-sites ou mono-site.")
    payment_method: PaymentMethod = strawberry.field(description="Mode de paiement.")
    billing_frequency: BillingFrequency = strawberry.field(description="Périodicité.")
    invoice_delivery: InvoiceDelivery = strawberry.field(description="Mode d'envoi.")
    billing_street: str = strawberry.field(description="Adresse de facturation : voie.")
    billing_postcode: str = strawberry.field(description="Adresse de facturation : code postal.")
    billing_city: str = strawberry.field(description="Adresse de facturation : commune.")
    segment_typology: str = strawberry.field(description="Typologie de segment du compte.")


@strawberry.type(description="Point de livraison : PDL/PRM (électricité) ou PCE (gaz).")
class Site(_ScopedNode, relay.Node):
    id: relay.NodeID[int]
    energy: Energy = strawberry.field(description="Énergie livrée.")
    point_number: str = strawberry.field(description="Numéro de PDL/PRM ou de PCE (14 chiffres).")
    distributor: Distributor = strawberry.field(description="Gestionnaire de réseau.")
    distributor_name: str = strawberry.field(description="Nom du gestionnaire de réseau.")
    segment: Segment = strawberry.field(description="Segment d'acheminement.")
    tariff_option: str = strawberry.field(description="Option tarifaire.")
    transport_tariff: str = strawberry.field(description="Tarif d'acheminement (TURPE, ATRD).")
    connection: str | None = strawberry.field(description="Raccordement (ex. BT < 36 kVA).")
    subscribed_power_kva: Decimal | None = strawberry.field(
        description="Puissance souscrite en kVA (électricité)."
    )
    car_kwh: int = strawberry.field(description="Consommation annuelle de référence (kWh).")
    profile: str = strawberry.field(description="Profil de consommation.")
    green_share_pct: int = strawberry.field(
        description="Part d'énergie renouvelable ou de biométhane (%)."
    )
    street: str = strawberry.field(description="Adresse du site : voie.")
    postcode: str = strawberry.field(description="Adresse du site : code postal.")
    city: str = strawberry.field(description="Adresse du site : commune.")
    status: SiteStatus = strawberry.field(description="État du contrat.")
    supply_start: date = strawberry.field(description="Début de fourniture.")
    supply_end: date | None = strawberry.field(description="Fin de fourniture.")
    internal_code: str | None = strawberry.field(description="Code interne du client (35 car.).")
    designation: str | None = strawberry.field(description="Désignation du client (35 car.).")
    other_reference: str | None = strawberry.field(description="Autre référence (40 car.).")


@strawberry.type(description="Compteur installé (ou déposé) sur un site.")
class Meter(_ScopedNode, relay.Node):
    id: relay.NodeID[int]
    serial: str = strawberry.field(description="Numéro de série.")
    kind: MeterKind = strawberry.field(description="Type de compteur.")
    is_communicating: bool = strawberry.field(description="Compteur communicant (télérelevé).")
    digits: int = strawberry.field(description="Nombre de chiffres de l'index.")
    registers: list[Register] = strawberry.field(description="Postes horaires relevés.")
    installed_on: date = strawberry.field(description="Date de pose.")
    removed_on: date | None = strawberry.field(description="Date de dépose.")


NODE_TYPES: tuple[type, ...] = (Group, Member, BillingAccount, Site, Meter)
