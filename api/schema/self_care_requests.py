"""Self-care requests in the schema: the `SelfCareRequest` node (with its history), the
tracking list, and the mutations (submit by the member; advance by the back office).

The submit input holds one optional sub-input per kind, exactly one given: its fields are what
that kind needs, so a client cannot send a legal name with a delivery mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Self

import strawberry
from strawberry import relay

from api.graphql.enums import described_enum
from api.graphql.errors import UserError, attempt
from api.graphql.ids import capped_pks_of, key_of, pk_of
from api.graphql.loaders import request_loader
from api.graphql.lookahead import selects
from api.graphql.pagination import After, Connection, First, connection
from api.graphql.permissions import IsAuthenticated, WritesData, holds_tier
from api.graphql.scalars import JsonObject
from api.resolvers import self_care_requests as cases
from api.resolvers.cursors import decode_cursor, encode_cursor, page_size
from api.schema.account_statements import AccountStatementFiles, request_statement_files
from api.schema.enums import InvoiceDelivery, SelfCareRequestKind
from domain import enums
from domain.errors import ErrorCode, Refusal
from domain.labels import SELF_CARE_REQUEST_LABELS
from domain.self_care_requests import STATUS_LABELS, Address, DeliveryChange

described_enum(
    enums.SelfCareRequestStatus,
    {
        enums.SelfCareRequestStatus.SUBMITTED: "Soumise, pas encore prise en charge.",
        enums.SelfCareRequestStatus.IN_PROGRESS: "Prise en charge par le service client.",
        enums.SelfCareRequestStatus.APPROVED: "Acceptée : la modification est appliquée.",
        enums.SelfCareRequestStatus.REJECTED: "Refusée, avec un motif.",
    },
    description="État d'une demande selfcare : soumise → en cours → acceptée ou refusée.",
)
SelfCareRequestStatus = enums.SelfCareRequestStatus


@strawberry.type(description="Une étape de l'historique d'une demande selfcare.")
class SelfCareRequestEvent:
    status: SelfCareRequestStatus = strawberry.field(description="État atteint.")
    occurred_at: datetime = strawberry.field(description="Quand.")
    actor_name: str | None = strawberry.field(description="Qui (nom de la personne).")
    note: str | None = strawberry.field(description="Commentaire ou motif.")


@strawberry.type(description="Une demande selfcare : un adhérent modifie lui-même son compte.")
class SelfCareRequest(relay.Node):
    id: relay.NodeID[int]
    reference: str = strawberry.field(description="Référence (ex. SC-2026-000123).")
    kind: SelfCareRequestKind = strawberry.field(description="Type de demande.")
    kind_label: str = strawberry.field(description="Libellé du type.")
    status: SelfCareRequestStatus = strawberry.field(description="État.")
    status_label: str = strawberry.field(description="Libellé de l'état.")
    member_legal_name: str = strawberry.field(description="Raison sociale actuelle du membre.")
    billing_account_number: str | None = strawberry.field(
        description="Numéro du compte de facturation visé ; null pour une demande sur "
        "l'adhérent lui-même."
    )
    requested: JsonObject = strawberry.field(
        description="Valeurs demandées : `legal_name` ; `street`, `postcode`, `city` ; "
        "`invoice_delivery`, `recipient_siret`, `chorus_service_code`, "
        "`chorus_commitment_number` ; `from`, `to` (période du relevé), selon le type."
    )
    answer: str | None = strawberry.field(description="Réponse du service client.")
    author_name: str | None = strawberry.field(description="Auteur de la demande.")
    submitted_at: datetime = strawberry.field(description="Date de dépôt.")
    updated_at: datetime | None = strawberry.field(description="Dernière étape.")

    @classmethod
    def from_row(cls, r: Any) -> Self:
        kind = enums.SelfCareRequestKind(r.kind)
        status = enums.SelfCareRequestStatus(r.status)
        return cls(
            id=r.id,
            reference=r.reference,
            kind=kind,
            kind_label=SELF_CARE_REQUEST_LABELS[kind],
            status=status,
            status_label=STATUS_LABELS[status],
            member_legal_name=r.member_legal_name,
            billing_account_number=r.billing_account_number,
            requested=JsonObject(r.payload or {}),
            answer=r.answer,
            author_name=r.author_name,
            submitted_at=r.submitted_at,
            updated_at=r.updated_at,
        )

    @strawberry.field(
        description="Le relevé de compte produit à l'acceptation d'une demande de relevé : "
        "liens signés (PDF, CSV, XLSX) ; null tant qu'il n'est pas établi."
    )
    def statement(self, info: strawberry.Info) -> AccountStatementFiles | None:
        if self.kind is not enums.SelfCareRequestKind.ACCOUNT_STATEMENT:
            return None
        if self.status is not enums.SelfCareRequestStatus.APPROVED:
            return None
        return request_statement_files(info, self.reference)

    @strawberry.field(description="L'historique, de la plus ancienne étape à la plus récente.")
    async def events(self, info: strawberry.Info) -> list[SelfCareRequestEvent]:
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[list[Any]]:
            return await cases.events_of_requests(ctx.sessions, ids)

        rows = await request_loader(ctx, "EventsBySelfCareRequestLoader", load).load(self.id)
        return [
            SelfCareRequestEvent(
                status=r.status, occurred_at=r.occurred_at, actor_name=r.actor_name, note=r.comment
            )
            for r in rows
        ]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]  # None for an id outside the perimeter
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [key_of(i) for i in node_ids]
        ctx = info.context
        rows = await cases.load_self_care_requests(ctx.sessions, ctx.perimeter, ids)
        return [cls.from_row(r) if r is not None else None for r in rows]


# -- the filter --------------------------------------------------------------------------------


@strawberry.input(description="Filtre des demandes selfcare ; les critères se cumulent.")
class SelfCareRequestFilter:
    kinds: list[SelfCareRequestKind] | None = strawberry.field(
        default=None, description="Types ; tous si absent ou vide."
    )
    statuses: list[SelfCareRequestStatus] | None = strawberry.field(
        default=None, description="États ; tous si absent ou vide."
    )
    member_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Les membres demandeurs (100 au plus)."
    )
    billing_account_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Un compte de facturation."
    )
    submitted_from: date | None = strawberry.field(
        default=None, description="Déposées à partir de ce jour (inclus, heure de Paris)."
    )
    submitted_to: date | None = strawberry.field(
        default=None, description="Déposées jusqu'à ce jour (inclus, heure de Paris)."
    )


def to_query(f: SelfCareRequestFilter | None) -> cases.SelfCareRequestQuery:
    if f is None:
        return cases.SelfCareRequestQuery()
    return cases.SelfCareRequestQuery(
        kinds=tuple(enums.SelfCareRequestKind(k) for k in f.kinds or ()),
        statuses=tuple(enums.SelfCareRequestStatus(s) for s in f.statuses or ()),
        member_ids=tuple(capped_pks_of(f.member_ids, "Member", "memberIds"))
        if f.member_ids
        else None,
        billing_account_id=pk_of(f.billing_account_id, "BillingAccount", "billingAccountId"),
        submitted_from=f.submitted_from,
        submitted_to=f.submitted_to,
    )


@strawberry.type
class SelfCareRequestQueries:
    @strawberry.field(
        description="Les demandes selfcare de votre périmètre (liste de suivi), les plus "
        "récentes d'abord, par pages.",
        permission_classes=[IsAuthenticated],
    )
    async def self_care_requests(
        self,
        info: strawberry.Info,
        filter: Annotated[
            SelfCareRequestFilter | None,
            strawberry.argument(description="Filtre ; toutes les demandes s'il est absent."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[SelfCareRequest] | None:
        ctx = info.context
        cursor = decode_cursor(after)
        page = await cases.list_self_care_requests(
            ctx.sessions,
            ctx.perimeter,
            to_query(filter),
            first=page_size(first),
            after=cursor,
            with_count=selects(info, "totalCount"),
        )
        return connection(
            [SelfCareRequest.from_row(r) for r in page.rows],
            [encode_cursor(*c) for c in page.cursors],
            total_count=page.total_count if page.total_count is not None else -1,
            has_next_page=page.has_next_page,
            has_previous_page=cursor is not None,
        )

    @strawberry.field(
        description="Une demande selfcare par sa référence (ex. SC-2026-000123) ; null si "
        "elle est inconnue ou hors périmètre.",
        permission_classes=[IsAuthenticated],
    )
    async def self_care_request(
        self,
        info: strawberry.Info,
        reference: Annotated[str, strawberry.argument(description="La référence.")],
    ) -> SelfCareRequest | None:
        ctx = info.context
        row = await cases.self_care_request_by_reference(ctx.sessions, ctx.perimeter, reference)
        return SelfCareRequest.from_row(row) if row is not None else None


# -- mutations ---------------------------------------------------------------------------------


@strawberry.input(description="Nouvelle raison sociale de l'adhérent.")
class ChangeLegalNameInput:
    member_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="L'adhérent ; par défaut le vôtre (obligatoire pour un administrateur).",
    )
    legal_name: str = strawberry.field(description="La raison sociale (200 caractères au plus).")


@strawberry.input(description="Nouvelle adresse du siège de l'adhérent.")
class ChangeLegalAddressInput:
    member_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="L'adhérent ; par défaut le vôtre (obligatoire pour un administrateur).",
    )
    street: str = strawberry.field(description="Numéro et voie (200 caractères au plus).")
    postcode: str = strawberry.field(description="Code postal (5 chiffres).")
    city: str = strawberry.field(description="Commune (100 caractères au plus).")


@strawberry.input(
    description="Nouveau mode d'envoi des factures d'un compte ; pour Chorus Pro, les "
    "identifiants que la plateforme demande."
)
class ChangeInvoiceDeliveryInput:
    billing_account_id: relay.GlobalID = strawberry.field(description="Le compte.")
    mode: InvoiceDelivery = strawberry.field(description="Le mode d'envoi.")
    recipient_siret: str | None = strawberry.field(
        default=None,
        description="Chorus Pro : SIRET du destinataire (14 chiffres, clé vérifiée).",
    )
    service_code: str | None = strawberry.field(
        default=None, description="Chorus Pro : code service (100 caractères au plus)."
    )
    commitment_number: str | None = strawberry.field(
        default=None,
        description="Chorus Pro : numéro d'engagement juridique (50 caractères au plus).",
    )


@strawberry.input(description="Nouvelle adresse de facturation d'un compte.")
class ChangeBillingAddressInput:
    billing_account_id: relay.GlobalID = strawberry.field(description="Le compte.")
    street: str = strawberry.field(description="Numéro et voie (200 caractères au plus).")
    postcode: str = strawberry.field(description="Code postal (5 chiffres).")
    city: str = strawberry.field(description="Commune (100 caractères au plus).")


@strawberry.input(
    description="Un relevé de compte, pour un compte de facturation ou pour un adhérent "
    "(l'un ou l'autre ; par défaut votre adhérent)."
)
class AccountStatementInput:
    billing_account_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Le compte."
    )
    member_id: relay.GlobalID | None = strawberry.field(
        default=None, description="L'adhérent (tous ses comptes)."
    )
    period_from: date = strawberry.field(description="Premier jour de la période.")
    period_to: date = strawberry.field(description="Dernier jour (trois ans au plus).")


@strawberry.input(description="Une demande selfcare : exactement un des champs, selon le type.")
class SubmitSelfCareRequestInput:
    change_legal_name: ChangeLegalNameInput | None = strawberry.field(
        default=None, description="Modifier la raison sociale."
    )
    change_legal_address: ChangeLegalAddressInput | None = strawberry.field(
        default=None, description="Modifier l'adresse du siège."
    )
    change_invoice_delivery: ChangeInvoiceDeliveryInput | None = strawberry.field(
        default=None, description="Modifier le mode d'envoi des factures."
    )
    change_billing_address: ChangeBillingAddressInput | None = strawberry.field(
        default=None, description="Modifier l'adresse de facturation."
    )
    account_statement: AccountStatementInput | None = strawberry.field(
        default=None, description="Demander un relevé de compte."
    )


@strawberry.input(description="Une étape du traitement d'une demande selfcare.")
class AdvanceSelfCareRequestInput:
    request_id: relay.GlobalID = strawberry.field(description="La demande.")
    status: SelfCareRequestStatus = strawberry.field(description="L'état visé.")
    note: str | None = strawberry.field(
        default=None, description="Commentaire ; motif obligatoire pour refuser."
    )


@strawberry.type(description="Résultat d'une action sur une demande selfcare.")
class SelfCareRequestPayload:
    self_care_request: SelfCareRequest | None = strawberry.field(
        description="La demande après l'action."
    )
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


def _member(value: relay.GlobalID | None, field: str) -> int | None:
    return pk_of(value, "Member", field)


def _account(value: relay.GlobalID | None, field: str) -> int | None:
    return pk_of(value, "BillingAccount", field)


def _submission(data: SubmitSelfCareRequestInput) -> cases.Submission:
    K = enums.SelfCareRequestKind
    given = [
        name
        for name in (
            "change_legal_name",
            "change_legal_address",
            "change_invoice_delivery",
            "change_billing_address",
            "account_statement",
        )
        if getattr(data, name) is not None
    ]
    if len(given) != 1:
        raise Refusal(
            ErrorCode.REQUIRED,
            "Remplissez exactement un type de demande.",
            field=None,
        )
    if (n := data.change_legal_name) is not None:
        return cases.Submission(
            K.CHANGE_LEGAL_NAME,
            "changeLegalName",
            member_id=_member(n.member_id, "changeLegalName.memberId"),
            legal_name=n.legal_name,
        )
    if (a := data.change_legal_address) is not None:
        return cases.Submission(
            K.CHANGE_LEGAL_ADDRESS,
            "changeLegalAddress",
            member_id=_member(a.member_id, "changeLegalAddress.memberId"),
            address=Address(a.street, a.postcode, a.city),
        )
    if (d := data.change_invoice_delivery) is not None:
        return cases.Submission(
            K.CHANGE_INVOICE_DELIVERY,
            "changeInvoiceDelivery",
            billing_account_id=_account(
                d.billing_account_id, "changeInvoiceDelivery.billingAccountId"
            ),
            delivery=DeliveryChange(
                enums.InvoiceDelivery(d.mode),
                recipient_siret=d.recipient_siret,
                service_code=d.service_code,
                commitment_number=d.commitment_number,
            ),
        )
    if (b := data.change_billing_address) is not None:
        return cases.Submission(
            K.CHANGE_BILLING_ADDRESS,
            "changeBillingAddress",
            billing_account_id=_account(
                b.billing_account_id, "changeBillingAddress.billingAccountId"
            ),
            address=Address(b.street, b.postcode, b.city),
        )
    s = data.account_statement
    assert s is not None
    if s.billing_account_id is not None and s.member_id is not None:
        raise Refusal(
            ErrorCode.INVALID,
            "Un relevé porte sur un compte ou sur un adhérent, pas les deux.",
            field="accountStatement",
        )
    return cases.Submission(
        K.ACCOUNT_STATEMENT,
        "accountStatement",
        member_id=_member(s.member_id, "accountStatement.memberId"),
        billing_account_id=_account(s.billing_account_id, "accountStatement.billingAccountId"),
        period=(s.period_from, s.period_to),
    )


@strawberry.type
class SelfCareRequestMutations:
    @strawberry.mutation(
        description="Dépose une demande selfcare (raison sociale, adresse du siège, mode "
        "d'envoi des factures, adresse de facturation, relevé de compte) ; un récapitulatif "
        "part par email. ALREADY_EXISTS si une demande du même type est en cours sur le même "
        "objet ; FORBIDDEN si votre habilitation ne permet que la consultation ; NOT_FOUND "
        "hors périmètre.",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def submit_self_care_request(
        self,
        info: strawberry.Info,
        input: Annotated[
            SubmitSelfCareRequestInput, strawberry.argument(description="La demande.")
        ],
    ) -> SelfCareRequestPayload:
        ctx = info.context

        async def work() -> SelfCareRequest:
            row = await cases.submit_self_care_request(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                submission=_submission(input),
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return SelfCareRequest.from_row(row)

        request, errors = await attempt(work)
        return SelfCareRequestPayload(self_care_request=request, errors=errors)

    @strawberry.mutation(
        description="Back-office : fait avancer une demande selfcare (prise en charge, puis "
        "acceptée ou refusée avec un motif). Acceptée, la modification est appliquée à "
        "l'adhérent ou au compte dans la même transaction, et tracée.",
        permission_classes=[holds_tier(enums.Tier.OPERATOR)],
        extensions=[WritesData()],
    )
    async def advance_self_care_request(
        self,
        info: strawberry.Info,
        input: Annotated[AdvanceSelfCareRequestInput, strawberry.argument(description="L'étape.")],
    ) -> SelfCareRequestPayload:
        ctx = info.context

        async def work() -> SelfCareRequest:
            row = await cases.advance_self_care_request(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                request_id=pk_of(input.request_id, "SelfCareRequest", "requestId"),
                to=enums.SelfCareRequestStatus(input.status),
                note=input.note,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return SelfCareRequest.from_row(row)

        request, errors = await attempt(work)
        return SelfCareRequestPayload(self_care_request=request, errors=errors)


SELF_CARE_REQUEST_TYPES: tuple[type, ...] = (SelfCareRequest,)
