"""People, their grants and the viewer (who am I, what can I reach)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Self

import strawberry
from strawberry import relay

from api.graphql.enums import described_enum
from api.graphql.loaders import node_by_id_loader
from api.resolvers import people
from api.schema.enums import Energy, Tier, UserStatus
from api.schema.portfolio import BillingAccount, Group, Member
from auth.grants import GrantRow


class GrantStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"


described_enum(
    GrantStatus,
    {
        GrantStatus.ACTIVE: "Active : ouvre l'accès à son périmètre.",
        GrantStatus.SUSPENDED: "Suspendue : l'accès est fermé jusqu'à sa réactivation.",
        GrantStatus.REVOKED: "Révoquée : l'accès est fermé définitivement.",
    },
    description="État d'une habilitation.",
)


@strawberry.type(description="Une habilitation : un niveau d'accès et son périmètre.")
class Grant(relay.Node):
    id: relay.NodeID[int]
    tier: Tier = strawberry.field(description="Niveau d'accès.")
    may_submit: bool = strawberry.field(
        description="Pour un tiers : autorisé aussi à saisir des auto-relèves et des demandes."
    )
    created_at: datetime = strawberry.field(description="Date de création.")
    status: GrantStatus = strawberry.field(description="Active, suspendue ou révoquée.")
    group_id: strawberry.Private[int | None]
    member_id: strawberry.Private[int | None]
    billing_account_ids: strawberry.Private[tuple[int, ...]]

    @classmethod
    def from_row(cls, row: GrantRow) -> Self:
        status = (
            GrantStatus.REVOKED
            if row.revoked_at
            else GrantStatus.SUSPENDED
            if row.suspended_at
            else GrantStatus.ACTIVE
        )
        return cls(
            id=row.id,
            tier=row.tier,
            may_submit=row.may_submit,
            created_at=row.created_at,
            status=status,
            group_id=row.group_id,
            member_id=row.member_id,
            billing_account_ids=row.billing_account_ids,
        )

    @strawberry.field(description="Le groupement (ADMIN, tiers), s'il est dans votre périmètre.")
    async def group(self, info: strawberry.Info) -> Group | None:
        if self.group_id is None:
            return None
        row = await node_by_id_loader(info.context, "Group").load(self.group_id)
        return Group.from_row(row) if row is not None else None

    @strawberry.field(description="Le membre (USER, INFRA_USER), s'il est dans votre périmètre.")
    async def member(self, info: strawberry.Info) -> Member | None:
        if self.member_id is None:
            return None
        row = await node_by_id_loader(info.context, "Member").load(self.member_id)
        return Member.from_row(row) if row is not None else None

    @strawberry.field(
        description="Les comptes de contrat choisis (INFRA_USER, tiers) visibles de vous."
    )
    async def billing_accounts(self, info: strawberry.Info) -> list[BillingAccount]:
        rows = await node_by_id_loader(info.context, "BillingAccount").load_many(
            list(self.billing_account_ids)
        )
        return [BillingAccount.from_row(row) for row in rows if row is not None]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        # Grants are reached through people; a direct lookup is not offered.
        return [None for _ in node_ids]


@strawberry.type(description="Une personne : un compte de connexion nominatif.")
class Person(relay.Node):
    id: relay.NodeID[int]
    email: str = strawberry.field(description="Adresse email (identifiant de connexion).")
    full_name: str = strawberry.field(description="Nom et prénom.")
    phone: str | None = strawberry.field(description="Téléphone.")
    status: UserStatus = strawberry.field(description="Invité, actif ou suspendu.")
    last_login_at: datetime | None = strawberry.field(description="Dernière connexion.")
    created_at: datetime = strawberry.field(description="Date de création du compte.")
    grants: list[Grant] = strawberry.field(description="Ses habilitations.")

    @classmethod
    def from_row(cls, row: people.PersonRow) -> Self:
        return cls(
            id=row.id,
            email=row.email,
            full_name=row.full_name,
            phone=row.phone,
            status=row.status,
            last_login_at=row.last_login_at,
            created_at=row.created_at,
            grants=[Grant.from_row(g) for g in row.grants],
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return [None for _ in node_ids]


@strawberry.type(description="Nombre de sites d'une énergie.")
class EnergyCount:
    energy: Energy = strawberry.field(description="Énergie.")
    sites: int = strawberry.field(description="Nombre de sites.")


@strawberry.type(description="Ce que votre périmètre contient.")
class PerimeterSummary:
    members: int = strawberry.field(description="Membres atteints.")
    billing_accounts: int = strawberry.field(description="Comptes de contrat atteints.")
    sites: int = strawberry.field(description="Sites atteints.")
    sites_by_energy: list[EnergyCount] = strawberry.field(description="Sites par énergie.")


@strawberry.type(description="La personne connectée, ses habilitations et son périmètre.")
class Viewer:
    person: Person = strawberry.field(description="La personne connectée.")
    via_api_key: bool = strawberry.field(description="Vrai si la requête vient d'une clé d'API.")

    @strawberry.field(description="Le contenu de votre périmètre, par énergie.")
    async def perimeter(self, info: strawberry.Info) -> PerimeterSummary:
        summary = await people.perimeter_summary(info.context.sessions, info.context.perimeter)
        return PerimeterSummary(
            members=summary.members,
            billing_accounts=summary.billing_accounts,
            sites=summary.sites,
            sites_by_energy=[
                EnergyCount(energy=energy, sites=count)
                for energy, count in summary.sites_by_energy.items()
            ],
        )


@strawberry.type
class AccountQueries:
    @strawberry.field(
        description="La personne connectée ; null sans authentification valide.",
    )
    async def viewer(self, info: strawberry.Info) -> Viewer | None:
        caller = info.context.caller
        if caller is None:
            return None
        row = await people.viewer_person(info.context.sessions, caller.user_id)
        # The grants this request acts under (an API key may carry only one of them).
        live = {g.id for g in caller.grants}
        row = dataclasses.replace(row, grants=tuple(g for g in row.grants if g.id in live))
        return Viewer(person=Person.from_row(row), via_api_key=caller.api_key_id is not None)
