"""The account statement ("relevé de compte") in the schema: the direct download for an ADMIN
or USER (`exportAccountStatement`), and the files a self-care request produced once approved
(`SelfCareRequest.statement`, declared with the request type)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

import strawberry
from strawberry import relay

from api.graphql.downloads import signed_file_url
from api.graphql.enums import described_enum
from api.graphql.errors import attempt
from api.graphql.ids import pk_of
from api.graphql.permissions import holds_tier
from api.resolvers import account_statements as cases
from api.resolvers.account_statements import StatementFormat
from api.resolvers.export_files import WrittenExport
from api.schema.exports import ExportPayload
from domain.calendar import paris_date
from domain.enums import Tier

described_enum(
    StatementFormat,
    {
        StatementFormat.PDF: "PDF, à l'image des factures (identité légale du fournisseur).",
        StatementFormat.CSV: "CSV : séparateur « ; », UTF-8 avec BOM, pour Excel en français.",
        StatementFormat.XLSX: "Classeur Excel.",
    },
    name="AccountStatementFormat",
    description="Format d'un relevé de compte.",
)
AccountStatementFormat = StatementFormat


@strawberry.input(
    description="Un relevé de compte : un compte de facturation ou un adhérent (l'un ou "
    "l'autre), une période de trois ans au plus."
)
class ExportAccountStatementInput:
    billing_account_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Le compte de facturation."
    )
    member_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="L'adhérent (tous ses comptes de facturation) ; par défaut le vôtre "
        "(obligatoire pour un administrateur).",
    )
    from_: date = strawberry.field(name="from", description="Premier jour (date comptable).")
    to: date = strawberry.field(description="Dernier jour inclus (trois ans au plus).")
    format: AccountStatementFormat = strawberry.field(
        default=StatementFormat.PDF, description="Format du fichier."
    )


@strawberry.type(description="Les fichiers d'un relevé de compte produit par une demande.")
class AccountStatementFiles:
    pdf_url: str | None = strawberry.field(description="Le relevé en PDF (lien signé).")
    csv_url: str | None = strawberry.field(description="Le relevé en CSV (lien signé).")
    xlsx_url: str | None = strawberry.field(description="Le relevé en XLSX (lien signé).")
    expires_at: datetime = strawberry.field(description="Fin de validité des liens.")


def request_statement_files(info: strawberry.Info, reference: str) -> AccountStatementFiles | None:
    """The signed links of a request's statement (the request was read inside the caller's
    perimeter); null while none was produced."""
    ctx = info.context
    keys = cases.stored_statement_keys(ctx.settings, reference)
    if not keys:
        return None

    def url(file_format: StatementFormat) -> str | None:
        key = keys.get(file_format)
        return signed_file_url(ctx.settings, key) if key else None

    return AccountStatementFiles(
        pdf_url=url(StatementFormat.PDF),
        csv_url=url(StatementFormat.CSV),
        xlsx_url=url(StatementFormat.XLSX),
        expires_at=ctx.now + timedelta(seconds=ctx.settings.signed_url_ttl_seconds),
    )


@strawberry.type
class AccountStatementMutations:
    @strawberry.mutation(
        description="Établit le relevé de compte d'un compte de facturation ou d'un adhérent "
        "sur une période : chaque facture, avoir et facture d'annulation avec son statut de "
        "paiement et le solde cumulé ; en PDF, CSV ou XLSX. Réservé aux profils ADMIN et "
        "USER, sur un adhérent qu'ils détiennent en entier ; NOT_FOUND sinon.",
        permission_classes=[holds_tier(Tier.ADMIN, Tier.USER)],
    )
    async def export_account_statement(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportAccountStatementInput,
            strawberry.argument(description="Le compte ou l'adhérent, la période, le format."),
        ],
    ) -> ExportPayload:
        ctx = info.context

        async def work() -> WrittenExport:
            member_id = pk_of(input.member_id, "Member", "memberId")
            account_id = pk_of(input.billing_account_id, "BillingAccount", "billingAccountId")
            if member_id is None and account_id is None:
                member_id = cases.own_member(ctx.caller)
            target = cases.StatementTarget(
                member_id=member_id,
                billing_account_id=account_id,
                start=input.from_,
                end=input.to,
            )
            return await cases.export_account_statement(
                ctx.sessions,
                ctx.settings,
                ctx.perimeter,
                target,
                file_format=StatementFormat(input.format),
                today=paris_date(ctx.now),
            )

        exported, errors = await attempt(work)
        if exported is None:
            return ExportPayload(url=None, expires_at=None, row_count=None, errors=errors)
        return ExportPayload(
            url=signed_file_url(ctx.settings, exported.file_key),
            expires_at=ctx.now + timedelta(seconds=ctx.settings.signed_url_ttl_seconds),
            row_count=exported.row_count,
            errors=[],
        )
