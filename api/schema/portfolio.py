"""Portfolio types: the group, its members, their billing accounts, sites and meters.

Every type is a Relay node; `resolve_nodes` loads through the perimeter-scoped helpers, so an
ID outside the caller's perimeter resolves exactly like an unknown one (null).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Self, TypeAlias, TypeVar

import strawberry
from strawberry import relay

from api.graphql.ids import key_of
from api.graphql.loaders import (
    last_readings_by_site_loader,
    meters_by_site_loader,
    node_by_id_loader,
)
from api.resolvers import capabilities, nodes, portfolio, readings
from api.schema.enums import (
    BillingFrequency,
    Distributor,
    Energy,
    InvoiceDelivery,
    MeterKind,
    PaymentMethod,
    ReadingSource,
    Register,
    Segment,
    SiteStatus,
)

if TYPE_CHECKING:
    from api.schema.alerts import Alert

_MISSING = object()


_INIT_FIELDS: dict[type, tuple[str, ...]] = {}


def _init_fields(cls: type) -> tuple[str, ...]:
    """The constructor's fields of a strawberry type (a dataclass), listed once per class."""
    if cls not in _INIT_FIELDS:
        _INIT_FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return _INIT_FIELDS[cls]


class _ScopedNode(relay.Node):
    """A node built from a database row, loaded by id inside the caller's perimeter.

    The GraphQL type name (the class name) says which table to read.
    """

    @classmethod
    def from_row(cls, row: Any, prefix: str = "", **extra: Any) -> Self:
        """From a table object or a Core row (columns as attributes, `prefix` for the joined
        tables of a flat row); fields the row lacks keep their defaults."""
        values = {}
        for name in _init_fields(cls):
            value = getattr(row, f"{prefix}{name}", _MISSING)
            if value is not _MISSING:
                values[name] = value
        return cls(**values, **extra)

    @classmethod
    # strawberry types this method with one overload per `required`; an id outside the
    # perimeter answers None whatever it says, as a missing one does.
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [key_of(i) for i in node_ids]
        rows = await nodes.load_nodes(
            info.context.sessions, info.context.perimeter, cls.__name__, ids
        )
        return [cls.from_row(row) if row is not None else None for row in rows]


N = TypeVar("N", bound=_ScopedNode)
T = TypeVar("T")
# A relation field's answer: the prefetched value, or a loader's awaitable (graphql-core awaits it)
PrefetchedOrLoaded: TypeAlias = T | Awaitable[T]


@strawberry.type(description="Groupement de commandes (coordonnateur et ses membres).")
class Group(_ScopedNode):
    id: relay.NodeID[int]
    code: str = strawberry.field(description="Code court du groupement.")
    name: str = strawberry.field(description="Nom du groupement.")
    coordinator_name: str = strawberry.field(description="Structure coordonnatrice.")


@strawberry.type(description="Membre du groupement (collectivité, établissement public…).")
class Member(_ScopedNode):
    id: relay.NodeID[int]
    customer_number: str = strawberry.field(description="Numéro de client.")
    legal_name: str = strawberry.field(description="Raison sociale.")
    siren: str = strawberry.field(description="SIREN (9 chiffres).")
    street: str = strawberry.field(description="Adresse du siège : voie.")
    postcode: str = strawberry.field(description="Adresse du siège : code postal.")
    city: str = strawberry.field(description="Adresse du siège : commune.")
    group_id: strawberry.Private[int | None] = None


@strawberry.type(description="Compte de contrat : l'unité de facturation d'un membre.")
class BillingAccount(_ScopedNode):
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


@strawberry.type(description="Compteur installé (ou déposé) sur un site.")
class Meter(_ScopedNode):
    id: relay.NodeID[int]
    serial: str = strawberry.field(description="Numéro de série.")
    kind: MeterKind = strawberry.field(description="Type de compteur.")
    is_communicating: bool = strawberry.field(description="Compteur communicant (télérelevé).")
    digits: int = strawberry.field(description="Nombre de chiffres de l'index.")
    registers: list[Register] = strawberry.field(description="Postes horaires relevés.")
    installed_on: date = strawberry.field(description="Date de pose.")
    removed_on: date | None = strawberry.field(description="Date de dépose.")
    reading_coefficient: strawberry.Private[Decimal] = Decimal(1)


@strawberry.type(description="Le dernier index réel relevé sur un poste du compteur.")
class LastIndex:
    register: Register = strawberry.field(description="Poste horaire.")
    index: int = strawberry.field(description="Index relevé.")
    read_on: date = strawberry.field(description="Date de la relève.")
    source: ReadingSource = strawberry.field(description="Origine de l'index.")

    @classmethod
    def from_row(cls, row: portfolio.RegisterIndexRow) -> LastIndex:
        return cls(register=row.register, index=row.index, read_on=row.read_on, source=row.source)


@strawberry.type(description="Point de livraison : PDL/PRM (électricité) ou PCE (gaz).")
class Site(_ScopedNode):
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
    member_id: strawberry.Private[int] = 0
    billing_account_id: strawberry.Private[int] = 0
    # Filled by the list's root resolver (one statement per level for the whole page); a site
    # fetched alone loads its relations through the request's DataLoaders instead.
    relations: strawberry.Private[SiteRelations | None] = None

    # The relation fields below are plain (sync) when the page prefetched them, and hand
    # graphql-core an awaitable from a DataLoader otherwise: a sync resolver keeps ~20 µs per
    # object off list pages (STYLE.md), and graphql-core awaits whatever is awaitable.

    @strawberry.field(description="Le membre titulaire du site.", graphql_type=Member | None)
    def member(self, info: strawberry.Info) -> PrefetchedOrLoaded[Member | None]:
        if self.relations is not None:
            return self.relations.member
        return _load_one(info, "Member", Member, self.member_id)

    @strawberry.field(
        description="Le compte de contrat qui facture le site.",
        graphql_type=BillingAccount | None,
    )
    def billing_account(self, info: strawberry.Info) -> PrefetchedOrLoaded[BillingAccount | None]:
        if self.relations is not None:
            return self.relations.billing_account
        return _load_one(info, "BillingAccount", BillingAccount, self.billing_account_id)

    @strawberry.field(description="Le compteur en place.", graphql_type=Meter | None)
    def current_meter(self, info: strawberry.Info) -> PrefetchedOrLoaded[Meter | None]:
        if self.relations is not None:
            return self.relations.current_meter
        return _current_meter(info, self.id)

    @strawberry.field(
        description="Tous les compteurs du site, en place et déposés, du plus récent."
    )
    async def meters(self, info: strawberry.Info) -> list[Meter]:
        if self.relations is not None and self.relations.meters is not None:
            return self.relations.meters
        rows = await meters_by_site_loader(info.context).load(self.id)
        return [Meter.from_row(r) for r in rows]

    @strawberry.field(
        description="Dernier index réel (distributeur, auto-relève, relève spéciale) de chaque "
        "poste du compteur en place.",
        graphql_type=list[LastIndex],
    )
    def last_actual_readings(self, info: strawberry.Info) -> PrefetchedOrLoaded[list[LastIndex]]:
        if self.relations is not None and self.relations.last_readings is not None:
            return self.relations.last_readings
        return _last_readings(info, self.id)

    @strawberry.field(
        description="Vrai si vous pouvez saisir une auto-relève sur ce site (compteur non "
        "communicant, habilitation qui l'autorise)."
    )
    async def can_submit_self_reading(self, info: strawberry.Info) -> bool:
        meter = self.relations.current_meter if self.relations else None
        if meter is None:
            meter = await _current_meter(info, self.id)
        # The same rules as `submitSelfReading`, so the button and the mutation agree.
        return readings.can_submit_self_reading(
            in_write_perimeter=capabilities.may_write(info.context.caller, await self._scope(info)),
            site=self,
            meter=meter,
        )

    @strawberry.field(
        description="Vrai si vous pouvez modifier les références client du site (ADMIN, USER, "
        "INFRA_USER)."
    )
    async def can_edit_references(self, info: strawberry.Info) -> bool:
        return capabilities.may_edit_references(info.context.caller, await self._scope(info))

    @strawberry.field(
        description="Les alertes non résolues du site (ouvertes ou prises en compte), les plus "
        "récemment détectées d'abord."
    )
    async def open_alerts(
        self, info: strawberry.Info
    ) -> list[Annotated[Alert, strawberry.lazy("api.schema.alerts")]]:
        from api.schema.alerts import unresolved_alerts_of_site  # the alert schema imports Site

        return await unresolved_alerts_of_site(info, self.id)

    async def _scope(self, info: strawberry.Info) -> capabilities.SiteScope:
        member = self.relations.member if self.relations else None
        if member is None:
            member = await _load_one(info, "Member", Member, self.member_id)
        return capabilities.SiteScope(
            group_id=member.group_id if member else None,
            member_id=self.member_id,
            billing_account_id=self.billing_account_id,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class SiteRelations:
    member: Member | None
    billing_account: BillingAccount | None
    current_meter: Meter | None
    last_readings: list[LastIndex] | None
    meters: list[Meter] | None = None  # every meter, newest first (the technical sheet)


def site_from_page_row(row: Any, last_readings: list[LastIndex] | None) -> Site:
    """A Site of a list page, its single relations already at hand (no query per site)."""
    meter = Meter.from_row(row, "meter__") if row.meter__id is not None else None
    return Site.from_row(
        row,
        relations=SiteRelations(
            member=Member.from_row(row, "member__"),
            billing_account=BillingAccount.from_row(row, "account__"),
            current_meter=meter,
            last_readings=last_readings,
        ),
    )


def site_from_sheet(sheet: portfolio.SiteSheet) -> Site:
    """The technical sheet's Site, its member, account, meters and last readings at hand."""
    first = sheet.rows[0]
    meters = [Meter.from_row(r, "meter__") for r in sheet.rows if r.meter__id is not None]
    current = next((m for m in meters if m.removed_on is None), None)
    return Site.from_row(
        first,
        relations=SiteRelations(
            member=Member.from_row(first, "member__"),
            billing_account=BillingAccount.from_row(first, "account__"),
            current_meter=current,
            last_readings=None
            if sheet.last_readings is None
            else [LastIndex.from_row(r) for r in sheet.last_readings],
            meters=meters,
        ),
    )


async def _load_one(info: strawberry.Info, kind: str, cls: type[N], pk: int) -> N | None:
    row = await node_by_id_loader(info.context, kind).load(pk)
    return cls.from_row(row) if row is not None else None


async def _current_meter(info: strawberry.Info, site_id: int) -> Meter | None:
    rows = await meters_by_site_loader(info.context).load(site_id)
    current = [r for r in rows if r.removed_on is None]
    return Meter.from_row(current[0]) if current else None


async def _last_readings(info: strawberry.Info, site_id: int) -> list[LastIndex]:
    rows = await last_readings_by_site_loader(info.context).load(site_id)
    return [LastIndex.from_row(r) for r in rows]


NODE_TYPES: tuple[type, ...] = (Group, Member, BillingAccount, Site, Meter)
