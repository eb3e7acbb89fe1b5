"""Access management and the account lifecycle (invitation, activation, password reset)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry import relay

from api.graphql.errors import UserError, attempt
from api.graphql.ids import pk_of, pks_of
from api.graphql.pagination import After, Connection, First, connection
from api.graphql.permissions import IsAuthenticated, WritesData
from api.resolvers import access, account_lifecycle
from api.resolvers.cursors import decode_cursor, encode_cursor, page_size
from api.schema.accounts import Grant, Person
from api.schema.enums import Tier
from domain.errors import ErrorCode, Refusal


@strawberry.input(description="Filtre de la liste des personnes.")
class PeopleFilter:
    search: str | None = strawberry.field(default=None, description="Nom ou email (partiel).")
    tier: Tier | None = strawberry.field(default=None, description="Niveau d'accès détenu.")


@strawberry.input(
    description="Invitation d'une personne : un compte inactif et un lien d'activation."
)
class InviteUserInput:
    email: str = strawberry.field(description="Adresse email de la personne.")
    full_name: str = strawberry.field(description="Nom et prénom.")
    tier: Tier = strawberry.field(description="Niveau d'accès accordé.")
    member_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="Le membre (USER, INFRA_USER). Un USER d'un seul membre qui crée un "
        "infra-utilisateur peut l'omettre : c'est le sien.",
    )
    group_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="Le groupement (ADMIN, THIRD_PARTY) ; par défaut le vôtre.",
    )
    billing_account_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Les comptes de contrat (INFRA_USER, THIRD_PARTY), 100 au plus."
    )
    may_submit: bool = strawberry.field(
        default=False,
        description="THIRD_PARTY : autoriser aussi auto-relèves et demandes (lecture seule sinon).",
    )


@strawberry.input(description="Nouveau périmètre d'une habilitation INFRA_USER ou THIRD_PARTY.")
class ChangeGrantScopeInput:
    grant_id: relay.GlobalID = strawberry.field(description="L'habilitation.")
    billing_account_ids: list[relay.GlobalID] = strawberry.field(
        description="Les comptes de contrat, 100 au plus."
    )
    may_submit: bool | None = strawberry.field(
        default=None, description="THIRD_PARTY : autoriser auto-relèves et demandes."
    )


@strawberry.input(description="Une habilitation à suspendre, réactiver ou révoquer.")
class GrantInput:
    grant_id: relay.GlobalID = strawberry.field(description="L'habilitation.")


@strawberry.input(description="Une invitation à renvoyer.")
class ResendInvitationInput:
    person_id: relay.GlobalID = strawberry.field(
        description="La personne invitée (compte pas encore activé)."
    )


@strawberry.input(description="Activation d'un compte invité.")
class ActivateAccountInput:
    token: str = strawberry.field(description="Le jeton du lien d'activation.")
    password: str = strawberry.field(
        description="Le mot de passe choisi (12 caractères au moins, ni courant ni l'email)."
    )


@strawberry.input(description="Demande de lien de réinitialisation du mot de passe.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="Adresse email du compte.")


@strawberry.input(description="Nouveau mot de passe, avec le jeton du lien reçu.")
class ResetPasswordInput:
    token: str = strawberry.field(description="Le jeton du lien de réinitialisation.")
    password: str = strawberry.field(description="Le nouveau mot de passe.")


@strawberry.type(description="Résultat d'une invitation.")
class InviteUserPayload:
    person: Person | None = strawberry.field(description="La personne invitée et son accès.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.type(description="Résultat d'un changement d'habilitation.")
class GrantPayload:
    grant: Grant | None = strawberry.field(description="L'habilitation modifiée.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.type(description="Résultat d'une action sans objet à renvoyer.")
class DonePayload:
    ok: bool = strawberry.field(description="Vrai en cas de succès.")
    message: str | None = strawberry.field(description="Message à montrer à la personne.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.type
class AccessQueries:
    @strawberry.field(
        description="Les personnes de votre périmètre et les habilitations que vous en voyez.",
        permission_classes=[IsAuthenticated],
    )
    async def people(
        self,
        info: strawberry.Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            PeopleFilter | None,
            strawberry.argument(description="Filtre par nom, email ou niveau d'accès."),
        ] = None,
    ) -> Connection[Person] | None:
        ctx = info.context
        size = page_size(first)
        after_id = _person_cursor(decode_cursor(after))
        page = await access.list_people(
            ctx.sessions,
            ctx.caller,
            first=size,
            after_id=after_id,
            search=filter.search if filter else None,
            tier=filter.tier if filter else None,
        )
        return connection(
            [Person.from_row(p) for p in page.people],
            [encode_cursor(p.id) for p in page.people],
            total_count=page.total_count,
            has_next_page=page.has_next_page,
            has_previous_page=after_id is not None,
        )


def _person_cursor(cursor: list[Any] | None) -> int | None:
    """People pages are keyed by person id: a cursor is [id]."""
    if cursor is None:
        return None
    if len(cursor) != 1 or not isinstance(cursor[0], int) or isinstance(cursor[0], bool):
        raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after")
    return cursor[0]


@strawberry.type
class AccessMutations:
    @strawberry.mutation(
        description="Invite une personne : compte inactif, habilitation et mail d'activation "
        "(lien valable 24 heures). Un ADMIN invite dans son groupement, un USER crée des "
        "infra-utilisateurs sur des comptes de son membre.",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def invite_user(
        self,
        info: strawberry.Info,
        input: Annotated[
            InviteUserInput,
            strawberry.argument(
                description="Invitation d'une personne : un compte inactif et un lien d'activation."
            ),
        ],
    ) -> InviteUserPayload:
        ctx = info.context

        async def work() -> Person:
            row = await access.invite_person(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                ctx.perimeter,
                email=input.email,
                full_name=input.full_name,
                tier=input.tier,
                member_id=pk_of(input.member_id, "Member", "memberId"),
                group_id=pk_of(input.group_id, "Group", "groupId"),
                billing_account_ids=pks_of(
                    input.billing_account_ids, "BillingAccount", "billingAccountIds"
                ),
                may_submit=input.may_submit,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return Person.from_row(row)

        person, errors = await attempt(work)
        return InviteUserPayload(person=person, errors=errors)

    @strawberry.mutation(
        description="Renvoie l'invitation d'une personne qui n'a pas encore activé son compte : "
        "un nouveau lien d'activation (valable 24 heures) part par mail et l'ancien ne sert "
        "plus. Pour qui peut inviter cette personne, et pour le back-office (OPERATOR).",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def resend_invitation(
        self,
        info: strawberry.Info,
        input: Annotated[
            ResendInvitationInput, strawberry.argument(description="Une invitation à renvoyer.")
        ],
    ) -> InviteUserPayload:
        ctx = info.context

        async def work() -> Person:
            row = await access.resend_invitation(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                user_id=pk_of(input.person_id, "Person", "personId"),
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return Person.from_row(row)

        person, errors = await attempt(work)
        return InviteUserPayload(person=person, errors=errors)

    @strawberry.mutation(
        description="Redéfinit les comptes de contrat d'une habilitation INFRA_USER ou tiers.",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def change_grant_scope(
        self,
        info: strawberry.Info,
        input: Annotated[
            ChangeGrantScopeInput,
            strawberry.argument(
                description="Nouveau périmètre d'une habilitation INFRA_USER ou THIRD_PARTY."
            ),
        ],
    ) -> GrantPayload:
        ctx = info.context

        async def work() -> Grant:
            grant_id = pk_of(input.grant_id, "Grant", "grantId")
            row = await access.change_grant_scope(
                ctx.sessions,
                ctx.caller,
                ctx.perimeter,
                grant_id=grant_id,
                billing_account_ids=pks_of(
                    input.billing_account_ids, "BillingAccount", "billingAccountIds"
                ),
                may_submit=input.may_submit,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return Grant.from_row(row)

        grant, errors = await attempt(work)
        return GrantPayload(grant=grant, errors=errors)

    @strawberry.mutation(
        description="Suspend une habilitation (réversible).",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def suspend_grant(
        self,
        info: strawberry.Info,
        input: Annotated[
            GrantInput,
            strawberry.argument(description="Une habilitation à suspendre, réactiver ou révoquer."),
        ],
    ) -> GrantPayload:
        return await _grant_action(info, input, "suspend")

    @strawberry.mutation(
        description="Réactive une habilitation suspendue.",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def resume_grant(
        self,
        info: strawberry.Info,
        input: Annotated[
            GrantInput,
            strawberry.argument(description="Une habilitation à suspendre, réactiver ou révoquer."),
        ],
    ) -> GrantPayload:
        return await _grant_action(info, input, "resume")

    @strawberry.mutation(
        description="Révoque définitivement une habilitation.",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def revoke_grant(
        self,
        info: strawberry.Info,
        input: Annotated[
            GrantInput,
            strawberry.argument(description="Une habilitation à suspendre, réactiver ou révoquer."),
        ],
    ) -> GrantPayload:
        return await _grant_action(info, input, "revoke")

    @strawberry.mutation(
        description="Active un compte invité en choisissant son mot de passe ; un mail de "
        "confirmation suit."
    )
    async def activate_account(
        self,
        info: strawberry.Info,
        input: Annotated[
            ActivateAccountInput, strawberry.argument(description="Activation d'un compte invité.")
        ],
    ) -> DonePayload:
        ctx = info.context
        done, errors = await attempt(
            lambda: account_lifecycle.activate_account(
                ctx.sessions,
                ctx.settings,
                token=input.token,
                password=input.password,
                now=ctx.now,
                client_address=ctx.client_address,
            )
        )
        message = "Votre compte est activé : vous pouvez vous connecter." if done else None
        return DonePayload(ok=done is not None, message=message, errors=errors)

    @strawberry.mutation(
        description="Envoie un lien de réinitialisation (valable une heure). La réponse est la "
        "même que l'adresse ait un compte ou non."
    )
    async def request_password_reset(
        self,
        info: strawberry.Info,
        input: Annotated[
            RequestPasswordResetInput,
            strawberry.argument(description="Demande de lien de réinitialisation du mot de passe."),
        ],
    ) -> DonePayload:
        ctx = info.context
        message, errors = await attempt(
            lambda: account_lifecycle.request_password_reset(
                ctx.sessions,
                ctx.settings,
                email=input.email,
                now=ctx.now,
                client_address=ctx.client_address,
            )
        )
        return DonePayload(ok=message is not None, message=message, errors=errors)

    @strawberry.mutation(
        description="Choisit un nouveau mot de passe avec le lien reçu ; ferme toutes les "
        "sessions ouvertes."
    )
    async def reset_password(
        self,
        info: strawberry.Info,
        input: Annotated[
            ResetPasswordInput,
            strawberry.argument(description="Nouveau mot de passe, avec le jeton du lien reçu."),
        ],
    ) -> DonePayload:
        ctx = info.context
        done, errors = await attempt(
            lambda: account_lifecycle.reset_password(
                ctx.sessions,
                token=input.token,
                password=input.password,
                now=ctx.now,
                client_address=ctx.client_address,
            )
        )
        message = "Mot de passe modifié : reconnectez-vous." if done else None
        return DonePayload(ok=done is not None, message=message, errors=errors)


async def _grant_action(info: strawberry.Info, input: GrantInput, action: str) -> GrantPayload:
    ctx = info.context

    async def work() -> Grant:
        row = await access.set_grant_state(
            ctx.sessions,
            ctx.caller,
            grant_id=pk_of(input.grant_id, "Grant", "grantId"),
            action=action,
            now=ctx.now,
            client_address=ctx.client_address,
        )
        return Grant.from_row(row)

    grant, errors = await attempt(work)
    return GrantPayload(grant=grant, errors=errors)
