"""Logging in, refreshing and logging out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from api.graphql.errors import UserError
from api.graphql.permissions import IsAuthenticated
from api.resolvers import sessions
from domain.errors import Refusal


@strawberry.input(description="Identifiants de connexion.")
class LogInInput:
    email: str = strawberry.field(description="Adresse email.")
    password: str = strawberry.field(description="Mot de passe.")


@strawberry.input(description="Le jeton de rafraîchissement reçu à la connexion.")
class RefreshTokenInput:
    refresh_token: str = strawberry.field(description="Jeton de rafraîchissement (usage unique).")


@strawberry.input(description="Déconnexion.")
class LogOutInput:
    refresh_token: str | None = strawberry.field(
        default=None,
        description="Jeton de rafraîchissement de la session à fermer ; par défaut, la session "
        "du jeton d'accès utilisé.",
    )


@strawberry.type(description="Jetons d'une session ouverte.")
class SessionTokens:
    access_token: str = strawberry.field(
        description="Jeton d'accès (environ 15 minutes), à envoyer en `Authorization: Bearer`."
    )
    access_token_expires_at: datetime = strawberry.field(description="Expiration du jeton d'accès.")
    refresh_token: str = strawberry.field(
        description="Jeton de rafraîchissement, à usage unique : chaque usage en donne un nouveau."
    )
    refresh_token_expires_at: datetime = strawberry.field(description="Expiration de la session.")

    @classmethod
    def from_tokens(cls, tokens: sessions.Tokens) -> SessionTokens:
        return cls(
            access_token=tokens.access_token,
            access_token_expires_at=tokens.access_expires_at,
            refresh_token=tokens.refresh_token,
            refresh_token_expires_at=tokens.refresh_expires_at,
        )


@strawberry.type(description="Résultat d'une connexion ou d'un rafraîchissement.")
class SessionPayload:
    tokens: SessionTokens | None = strawberry.field(description="Les jetons, en cas de succès.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.type(description="Résultat d'une déconnexion.")
class LogOutPayload:
    ok: bool = strawberry.field(description="Vrai quand la session est close.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.type
class SessionMutations:
    @strawberry.mutation(description="Ouvre une session avec un email et un mot de passe.")
    async def log_in(
        self,
        info: strawberry.Info,
        input: Annotated[LogInInput, strawberry.argument(description="Identifiants de connexion.")],
    ) -> SessionPayload:
        ctx = info.context
        try:
            tokens = await sessions.log_in(
                ctx.sessions,
                ctx.settings,
                email=input.email,
                password=input.password,
                client_address=ctx.client_address,
            )
        except Refusal as refusal:
            return SessionPayload(tokens=None, errors=[UserError.from_refusal(refusal)])
        return SessionPayload(tokens=SessionTokens.from_tokens(tokens), errors=[])

    @strawberry.mutation(
        description="Échange un jeton de rafraîchissement contre de nouveaux jetons. Un jeton "
        "déjà utilisé, présenté à nouveau, ferme toute la session."
    )
    async def refresh_token(
        self,
        info: strawberry.Info,
        input: Annotated[
            RefreshTokenInput,
            strawberry.argument(description="Le jeton de rafraîchissement reçu à la connexion."),
        ],
    ) -> SessionPayload:
        ctx = info.context
        try:
            tokens = await sessions.refresh_session(
                ctx.sessions, ctx.settings, refresh_token=input.refresh_token
            )
        except Refusal as refusal:
            return SessionPayload(tokens=None, errors=[UserError.from_refusal(refusal)])
        return SessionPayload(tokens=SessionTokens.from_tokens(tokens), errors=[])

    @strawberry.mutation(
        description="Ferme la session : ses jetons ne sont plus acceptés.",
        permission_classes=[IsAuthenticated],
    )
    async def log_out(
        self,
        info: strawberry.Info,
        input: Annotated[
            LogOutInput | None, strawberry.argument(description="Déconnexion.")
        ] = None,
    ) -> LogOutPayload:
        ctx = info.context
        family = ctx.caller.family_id
        if input is not None and input.refresh_token:
            family = await sessions.family_of(ctx.sessions, input.refresh_token)
            if family is not None and family != ctx.caller.family_id:
                owner = await sessions.owner_of_family(ctx.sessions, family)
                family = family if owner == ctx.caller.user_id else None
        if family is not None:
            await sessions.log_out(ctx.sessions, family_id=family)
        return LogOutPayload(ok=family is not None, errors=[])
