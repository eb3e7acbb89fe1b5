"""The Help tab in the schema: `guides` and `contacts` for everyone logged in; the back office
(OPERATOR) maintains both (`createGuide`/`updateGuide`/`deleteGuide`, `createContact`/
`updateContact`/`deleteContact`). Contacts are also the customer-service block of every mail
and PDF (mailers/contacts.py): a change here shows in the next one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from api.graphql.downloads import signed_file_url
from api.graphql.enums import described_enum
from api.graphql.errors import UserError, attempt
from api.graphql.ids import pk_of
from api.graphql.permissions import IsAuthenticated, WritesData, holds_tier
from api.resolvers import help as cases
from api.schema.access import DonePayload
from api.schema.technical_requests import ClosesUpload
from comptoir.settings import Settings
from db.models import Contact as ContactRow
from db.models import Guide as GuideRow
from domain.enums import ContactRole, GuideAudience, Tier
from domain.errors import ErrorCode, Refusal

OperatorsOnly = holds_tier(Tier.OPERATOR)

described_enum(
    ContactRole,
    {
        ContactRole.CUSTOMER_SERVICE: "Service clients : le bloc de contact de chaque mail et "
        "de chaque facture.",
        ContactRole.ACCOUNT_MANAGER: "Chargé(e) de compte du coordonnateur.",
        ContactRole.BUSINESS_DEVELOPER: "Développeur commercial du coordonnateur.",
        ContactRole.DEDICATED_ADVISER: "Conseiller(ère) dédié(e) d'un membre.",
        ContactRole.TECHNICAL_SUPPORT: "Support technique.",
        ContactRole.CHORUS_PRO: "Équipe Chorus Pro (factures déposées sur Chorus Pro).",
    },
    description="Rôle d'un interlocuteur.",
)
described_enum(
    GuideAudience,
    {
        GuideAudience.EVERYONE: "Tout le monde.",
        GuideAudience.COORDINATORS: "Le coordonnateur du groupement (administrateurs).",
        GuideAudience.MEMBERS: "Les utilisateurs des membres.",
        GuideAudience.THIRD_PARTIES: "Les tiers habilités (conseillers en énergie…).",
    },
    description="À qui un guide s'adresse.",
)


@strawberry.type(description="Un interlocuteur (onglet Aide, « vos interlocuteurs »).")
class Contact:
    id: relay.GlobalID = strawberry.field(description="Identifiant de l'interlocuteur.")
    role: ContactRole = strawberry.field(description="Son rôle.")
    name: str = strawberry.field(description="Nom (personne ou équipe).")
    phone: str = strawberry.field(description="Téléphone.")
    email: str = strawberry.field(description="Courriel.")
    opening_hours: str = strawberry.field(description="Horaires d'ouverture.")
    group_id: relay.GlobalID | None = strawberry.field(
        description="Le groupement dont il est l'interlocuteur ; absent pour ceux du fournisseur."
    )
    member_id: relay.GlobalID | None = strawberry.field(
        description="Le membre dont il est l'interlocuteur dédié ; absent sinon."
    )

    @classmethod
    def of(cls, row: ContactRow) -> Contact:
        return cls(
            id=relay.GlobalID("Contact", str(row.id)),
            role=row.role,
            name=row.name,
            phone=row.phone,
            email=row.email,
            opening_hours=row.opening_hours,
            group_id=relay.GlobalID("Group", str(row.group_id)) if row.group_id else None,
            member_id=relay.GlobalID("Member", str(row.member_id)) if row.member_id else None,
        )


@strawberry.type(description="Un guide du fournisseur (onglet Aide), en PDF.")
class Guide:
    id: relay.GlobalID = strawberry.field(description="Identifiant du guide.")
    title: str = strawberry.field(description="Titre.")
    description: str = strawberry.field(description="Ce que contient le guide.")
    audience: GuideAudience = strawberry.field(description="À qui il s'adresse.")
    filename: str = strawberry.field(description="Nom du fichier.")
    size_bytes: int = strawberry.field(description="Taille du fichier, en octets.")
    updated_at: datetime = strawberry.field(description="Dernière mise à jour.")
    download_url: str = strawberry.field(
        description="Lien signé de téléchargement, valable quelques minutes."
    )

    @classmethod
    def of(cls, settings: Settings, row: GuideRow) -> Guide:
        return cls(
            id=relay.GlobalID("Guide", str(row.id)),
            title=row.title,
            description=row.description,
            audience=row.audience,
            filename=row.filename,
            size_bytes=row.size_bytes,
            updated_at=row.updated_at or row.created_at,
            download_url=signed_file_url(settings, row.storage_key),
        )


@strawberry.type
class HelpQueries:
    @strawberry.field(
        description="Vos interlocuteurs : ceux du fournisseur (support technique, équipe Chorus "
        "Pro, service clients), ceux de vos groupements (service clients, chargé de compte, "
        "développeur commercial) et les conseillers dédiés de vos membres ; le back-office les "
        "voit tous. Filtrable sur un groupement ou un membre.",
        permission_classes=[IsAuthenticated],
    )
    async def contacts(
        self,
        info: strawberry.Info,
        group_id: Annotated[
            relay.GlobalID | None,
            strawberry.argument(description="Seulement le fournisseur et ce groupement."),
        ] = None,
        member_id: Annotated[
            relay.GlobalID | None,
            strawberry.argument(description="Seulement le groupement et ce membre."),
        ] = None,
    ) -> list[Contact]:
        ctx = info.context
        try:
            group = pk_of(group_id, "Group", "groupId")
            member = pk_of(member_id, "Member", "memberId")
        except Refusal:
            return []  # an identifier of nothing: nobody to show
        rows = await cases.list_contacts(ctx.sessions, ctx.caller, group_id=group, member_id=member)
        return [Contact.of(row) for row in rows]

    @strawberry.field(
        description="Les guides du fournisseur qui vous sont destinés (PDF, lien signé).",
        permission_classes=[IsAuthenticated],
    )
    async def guides(self, info: strawberry.Info) -> list[Guide]:
        ctx = info.context
        rows = await cases.list_guides(ctx.sessions, ctx.caller)
        return [Guide.of(ctx.settings, row) for row in rows]


@strawberry.input(description="Un nouvel interlocuteur (back-office).")
class CreateContactInput:
    role: ContactRole = strawberry.field(description="Son rôle.")
    name: str = strawberry.field(description="Nom (120 caractères au plus).")
    phone: str = strawberry.field(description="Téléphone.")
    email: str = strawberry.field(description="Courriel.")
    opening_hours: str | None = strawberry.field(
        default=None, description="Horaires (200 caractères au plus ; ceux du bureau sinon)."
    )
    group_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Le groupement ; aucun pour un interlocuteur du fournisseur."
    )
    member_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Le membre, pour un conseiller dédié (son groupement suit)."
    )


@strawberry.input(description="Ce qui change d'un interlocuteur ; un champ absent reste tel quel.")
class UpdateContactInput:
    contact_id: relay.GlobalID = strawberry.field(description="L'interlocuteur.")
    role: ContactRole | None = strawberry.field(default=None, description="Rôle.")
    name: str | None = strawberry.field(default=None, description="Nom.")
    phone: str | None = strawberry.field(default=None, description="Téléphone.")
    email: str | None = strawberry.field(default=None, description="Courriel.")
    opening_hours: str | None = strawberry.field(default=None, description="Horaires.")


@strawberry.input(description="Un interlocuteur à retirer.")
class DeleteContactInput:
    contact_id: relay.GlobalID = strawberry.field(description="L'interlocuteur.")


@strawberry.type(description="Résultat d'une action sur un interlocuteur.")
class ContactPayload:
    contact: Contact | None = strawberry.field(description="L'interlocuteur après l'action.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.input(
    description="Un nouveau guide : le fichier PDF (reconnu à son contenu) envoyé selon la "
    "spécification « GraphQL multipart request »."
)
class CreateGuideInput:
    title: str = strawberry.field(description="Titre (120 caractères au plus).")
    description: str = strawberry.field(description="Description (500 caractères au plus).")
    audience: GuideAudience = strawberry.field(description="À qui il s'adresse.")
    file: Upload = strawberry.field(description="Le PDF (10 Mo au plus par défaut).")


@strawberry.input(description="Ce qui change d'un guide ; un champ absent reste tel quel.")
class UpdateGuideInput:
    guide_id: relay.GlobalID = strawberry.field(description="Le guide.")
    title: str | None = strawberry.field(default=None, description="Titre.")
    description: str | None = strawberry.field(default=None, description="Description.")
    audience: GuideAudience | None = strawberry.field(default=None, description="Public.")
    file: Upload | None = strawberry.field(
        default=None, description="Un nouveau PDF, qui remplace l'ancien."
    )


@strawberry.input(description="Un guide à retirer.")
class DeleteGuideInput:
    guide_id: relay.GlobalID = strawberry.field(description="Le guide.")


@strawberry.type(description="Résultat d'une action sur un guide.")
class GuidePayload:
    guide: Guide | None = strawberry.field(description="Le guide après l'action.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


async def _read_upload(upload: Any, settings: Settings) -> cases.Upload:
    if not hasattr(upload, "read"):
        raise Refusal(
            ErrorCode.INVALID,
            "Envoyez le fichier en requête multipart (GraphQL multipart request).",
            field="file",
        )
    # One byte more than allowed is enough to tell the file is too big.
    content = await upload.read(settings.max_attachment_bytes + 1)
    return cases.Upload(getattr(upload, "filename", None), content)


@strawberry.type
class HelpMutations:
    @strawberry.mutation(
        description="Back-office : ajoute un interlocuteur (du fournisseur, d'un groupement ou "
        "d'un membre).",
        permission_classes=[OperatorsOnly],
        extensions=[WritesData()],
    )
    async def create_contact(
        self,
        info: strawberry.Info,
        input: Annotated[CreateContactInput, strawberry.argument(description="L'interlocuteur.")],
    ) -> ContactPayload:
        ctx = info.context

        async def work() -> Contact:
            row = await cases.create_contact(
                ctx.sessions,
                ctx.caller,
                change=cases.ContactChange(
                    role=input.role,
                    name=input.name,
                    phone=input.phone,
                    email=input.email,
                    opening_hours=input.opening_hours,
                ),
                group_id=pk_of(input.group_id, "Group", "groupId"),
                member_id=pk_of(input.member_id, "Member", "memberId"),
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return Contact.of(row)

        contact, errors = await attempt(work)
        return ContactPayload(contact=contact, errors=errors)

    @strawberry.mutation(
        description="Back-office : modifie un interlocuteur ; le prochain mail et la prochaine "
        "facture en tiennent compte.",
        permission_classes=[OperatorsOnly],
        extensions=[WritesData()],
    )
    async def update_contact(
        self,
        info: strawberry.Info,
        input: Annotated[UpdateContactInput, strawberry.argument(description="Les changements.")],
    ) -> ContactPayload:
        ctx = info.context

        async def work() -> Contact:
            row = await cases.update_contact(
                ctx.sessions,
                ctx.caller,
                contact_id=pk_of(input.contact_id, "Contact", "contactId"),
                change=cases.ContactChange(
                    role=input.role,
                    name=input.name,
                    phone=input.phone,
                    email=input.email,
                    opening_hours=input.opening_hours,
                ),
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return Contact.of(row)

        contact, errors = await attempt(work)
        return ContactPayload(contact=contact, errors=errors)

    @strawberry.mutation(
        description="Back-office : retire un interlocuteur (INVALID_STATE pour le dernier "
        "service clients du fournisseur).",
        permission_classes=[OperatorsOnly],
        extensions=[WritesData()],
    )
    async def delete_contact(
        self,
        info: strawberry.Info,
        input: Annotated[DeleteContactInput, strawberry.argument(description="L'interlocuteur.")],
    ) -> DonePayload:
        ctx = info.context

        async def work() -> bool:
            await cases.delete_contact(
                ctx.sessions,
                ctx.caller,
                contact_id=pk_of(input.contact_id, "Contact", "contactId"),
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return True

        done, errors = await attempt(work)
        return DonePayload(
            ok=bool(done), message="Interlocuteur retiré." if done else None, errors=errors
        )

    @strawberry.mutation(
        description="Back-office : publie un guide (PDF seulement, reconnu à son contenu ; "
        "TOO_LONG au-delà de la taille permise, INVALID pour un autre format).",
        permission_classes=[OperatorsOnly],
        # The last extension runs outermost: the file is closed even when the guard refuses.
        extensions=[WritesData(), ClosesUpload()],
    )
    async def create_guide(
        self,
        info: strawberry.Info,
        input: Annotated[CreateGuideInput, strawberry.argument(description="Le guide.")],
    ) -> GuidePayload:
        ctx = info.context

        async def work() -> Guide:
            row = await cases.create_guide(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                change=cases.GuideChange(input.title, input.description, input.audience),
                upload=await _read_upload(input.file, ctx.settings),
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return Guide.of(ctx.settings, row)

        guide, errors = await attempt(work)
        return GuidePayload(guide=guide, errors=errors)

    @strawberry.mutation(
        description="Back-office : modifie un guide ou remplace son PDF.",
        permission_classes=[OperatorsOnly],
        extensions=[WritesData(), ClosesUpload()],
    )
    async def update_guide(
        self,
        info: strawberry.Info,
        input: Annotated[UpdateGuideInput, strawberry.argument(description="Les changements.")],
    ) -> GuidePayload:
        ctx = info.context

        async def work() -> Guide:
            upload = (
                await _read_upload(input.file, ctx.settings) if input.file is not None else None
            )
            row = await cases.update_guide(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                guide_id=pk_of(input.guide_id, "Guide", "guideId"),
                change=cases.GuideChange(input.title, input.description, input.audience),
                upload=upload,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return Guide.of(ctx.settings, row)

        guide, errors = await attempt(work)
        return GuidePayload(guide=guide, errors=errors)

    @strawberry.mutation(
        description="Back-office : retire un guide et son fichier.",
        permission_classes=[OperatorsOnly],
        extensions=[WritesData()],
    )
    async def delete_guide(
        self,
        info: strawberry.Info,
        input: Annotated[DeleteGuideInput, strawberry.argument(description="Le guide.")],
    ) -> DonePayload:
        ctx = info.context

        async def work() -> bool:
            await cases.delete_guide(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                guide_id=pk_of(input.guide_id, "Guide", "guideId"),
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return True

        done, errors = await attempt(work)
        return DonePayload(ok=bool(done), message="Guide retiré." if done else None, errors=errors)
