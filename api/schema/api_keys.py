"""API keys for third parties and integrations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry import relay

from api.graphql.errors import UserError, attempt
from api.graphql.ids import pk_of
from api.graphql.permissions import IsAuthenticated, WritesData
from api.resolvers import api_keys


@strawberry.type(description="Une clé d'API (le secret n'est montré qu'à la création).")
class ApiKey(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Nom donné à la clé.")
    prefix: str = strawberry.field(description="Début visible de la clé, pour la reconnaître.")
    scopes: list[str] = strawberry.field(description="Portées : read, write.")
    expires_at: datetime = strawberry.field(description="Expiration.")
    last_used_at: datetime | None = strawberry.field(description="Dernier usage (à la minute).")
    created_at: datetime = strawberry.field(description="Création.")
    revoked_at: datetime | None = strawberry.field(description="Révocation.")
    owner_id: relay.GlobalID = strawberry.field(description="La personne qui agit par la clé.")
    grant_id: relay.GlobalID | None = strawberry.field(
        description="L'habilitation à laquelle la clé est limitée, le cas échéant."
    )

    @classmethod
    def from_row(cls, row: api_keys.ApiKeyRow) -> Self:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            scopes=list(row.scopes),
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            owner_id=relay.GlobalID("Person", str(row.user_id)),
            grant_id=relay.GlobalID("Grant", str(row.grant_id)) if row.grant_id else None,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: list[str], required: bool = False
    ) -> list[Self | None]:
        return [None for _ in node_ids]  # listed through `apiKeys`


@strawberry.input(description="Création d'une clé d'API.")
class CreateApiKeyInput:
    name: str = strawberry.field(description="Nom de la clé (l'intégration qui l'utilise).")
    grant_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="Limiter la clé à une habilitation : la vôtre, ou celle d'un tiers de votre "
        "groupement (ADMIN). Sans elle, la clé agit avec toutes vos habilitations.",
    )
    expires_in_days: int = strawberry.field(default=90, description="Validité en jours.")
    scopes: list[str] = strawberry.field(
        default_factory=lambda: ["read"], description="Portées : read, write."
    )


@strawberry.input(description="Une clé d'API à révoquer.")
class RevokeApiKeyInput:
    api_key_id: relay.GlobalID = strawberry.field(description="La clé.")


@strawberry.type(description="Résultat de la création d'une clé.")
class CreateApiKeyPayload:
    api_key: ApiKey | None = strawberry.field(description="La clé créée.")
    secret: str | None = strawberry.field(
        description="La clé complète, à copier maintenant : elle ne sera plus jamais montrée."
    )
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.type(description="Résultat de la révocation d'une clé.")
class RevokeApiKeyPayload:
    api_key: ApiKey | None = strawberry.field(description="La clé révoquée.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.type
class ApiKeyQueries:
    @strawberry.field(
        description="Vos clés d'API et celles des tiers que vous administrez.",
        permission_classes=[IsAuthenticated],
    )
    async def api_keys(
        self,
        info: strawberry.Info,
        include_revoked: Annotated[
            bool, strawberry.argument(description="Inclure les clés révoquées ou expirées.")
        ] = False,
    ) -> list[ApiKey]:
        rows = await api_keys.list_api_keys(
            info.context.sessions, info.context.caller, include_revoked=include_revoked
        )
        return [ApiKey.from_row(r) for r in rows]


@strawberry.type
class ApiKeyMutations:
    @strawberry.mutation(
        description="Crée une clé d'API ; son secret n'est montré qu'une fois.",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def create_api_key(
        self,
        info: strawberry.Info,
        input: Annotated[
            CreateApiKeyInput, strawberry.argument(description="Création d'une clé d'API.")
        ],
    ) -> CreateApiKeyPayload:
        ctx = info.context
        created, errors = await attempt(
            lambda: api_keys.create_api_key(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                name=input.name,
                grant_id=pk_of(input.grant_id, "Grant", "grantId"),
                expires_in_days=input.expires_in_days,
                scopes=list(input.scopes),
                now=ctx.now,
                client_address=ctx.client_address,
            )
        )
        if created is None:
            return CreateApiKeyPayload(api_key=None, secret=None, errors=errors)
        row, secret = created
        return CreateApiKeyPayload(api_key=ApiKey.from_row(row), secret=secret, errors=[])

    @strawberry.mutation(
        description="Révoque une clé d'API.",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def revoke_api_key(
        self,
        info: strawberry.Info,
        input: Annotated[
            RevokeApiKeyInput, strawberry.argument(description="Une clé d'API à révoquer.")
        ],
    ) -> RevokeApiKeyPayload:
        ctx = info.context

        async def work() -> api_keys.ApiKeyRow:
            return await api_keys.revoke_api_key(
                ctx.sessions,
                ctx.caller,
                api_key_id=pk_of(input.api_key_id, "ApiKey", "apiKeyId"),
                now=ctx.now,
                client_address=ctx.client_address,
            )

        row, errors = await attempt(work)
        return RevokeApiKeyPayload(api_key=ApiKey.from_row(row) if row else None, errors=errors)
