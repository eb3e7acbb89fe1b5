"""The invoice mutations: the zip of PDFs and the billing file, each handed out as a signed
link."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import strawberry

from api.graphql.downloads import signed_file_url
from api.graphql.errors import UserError, attempt
from api.graphql.permissions import IsAuthenticated
from api.resolvers import billing_file, invoice_pdfs
from api.schema.exports import ExportFormat
from api.schema.invoices.filters import InvoiceFilter, to_query
from domain.calendar import paris_date


@strawberry.input(description="Export des PDF d'un ensemble de factures (500 au plus).")
class ExportInvoicePdfsInput:
    filter: InvoiceFilter = strawberry.field(description="Les factures à exporter.")


@strawberry.input(description="Export du fichier de facturation (une ligne par facture et site).")
class ExportBillingFileInput:
    filter: InvoiceFilter | None = strawberry.field(
        default=None, description="Les factures (12 mois au plus ; les 12 derniers par défaut)."
    )
    format: ExportFormat = strawberry.field(
        default=ExportFormat.CSV,
        description="CSV (séparateur « ; », UTF-8) ou XLSX.",
    )


@strawberry.type(description="Un fichier prêt à télécharger.")
class InvoiceFilePayload:
    url: str | None = strawberry.field(description="Lien signé, valable quelques minutes.")
    expires_at: datetime | None = strawberry.field(description="Expiration du lien.")
    invoice_count: int | None = strawberry.field(description="Factures incluses.")
    row_count: int | None = strawberry.field(description="Lignes écrites (ou PDF dans l'archive).")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


def _file_payload(
    info: strawberry.Info, exported: invoice_pdfs.ExportedFile | None, errors: list[UserError]
) -> InvoiceFilePayload:
    ctx = info.context
    if exported is None:
        return InvoiceFilePayload(
            url=None, expires_at=None, invoice_count=None, row_count=None, errors=errors
        )
    return InvoiceFilePayload(
        url=signed_file_url(ctx.settings, exported.file_key),
        expires_at=ctx.now + timedelta(seconds=ctx.settings.signed_url_ttl_seconds),
        invoice_count=exported.invoice_count,
        row_count=exported.row_count,
        errors=errors,
    )


@strawberry.type
class InvoiceMutations:
    @strawberry.mutation(
        description="Archive zip des PDF des factures du filtre (500 au plus : TOO_MANY_ITEMS "
        "au-delà), en lien signé.",
        permission_classes=[IsAuthenticated],
    )
    async def export_invoice_pdfs(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportInvoicePdfsInput,
            strawberry.argument(
                description="Export des PDF d'un ensemble de factures (500 au plus)."
            ),
        ],
    ) -> InvoiceFilePayload:
        ctx = info.context

        async def work() -> invoice_pdfs.ExportedFile:
            return await invoice_pdfs.export_pdf_zip(
                ctx.sessions,
                ctx.settings,
                ctx.perimeter,
                to_query(input.filter),
                today=paris_date(ctx.now),
            )

        exported, errors = await attempt(work)
        return _file_payload(info, exported, errors)

    @strawberry.mutation(
        description="Fichier de facturation (« Direct View ») : une ligne par facture et par "
        "site avec chaque composante, en CSV ou XLSX, en lien signé.",
        permission_classes=[IsAuthenticated],
    )
    async def export_billing_file(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportBillingFileInput,
            strawberry.argument(
                description="Export du fichier de facturation (une ligne par facture et site)."
            ),
        ],
    ) -> InvoiceFilePayload:
        ctx = info.context

        async def work() -> invoice_pdfs.ExportedFile:
            return await billing_file.export_billing_file(
                ctx.sessions,
                ctx.settings,
                ctx.perimeter,
                to_query(input.filter),
                file_format=ExportFormat(input.format),
                today=paris_date(ctx.now),
            )

        exported, errors = await attempt(work)
        return _file_payload(info, exported, errors)
