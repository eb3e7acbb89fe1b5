"""The annual management sheet ("feuillet de gestion annuel") in the schema: one mutation
that writes it (CSV or XLSX, the one export writer) and answers a signed link."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.graphql.permissions import IsAuthenticated
from api.graphql.scalars import Month
from api.resolvers import management_sheets
from api.schema.exports import ExportFormat, ExportPayload, export_file
from api.schema.site_filter import SiteFilter, criteria_of
from domain.calendar import paris_date


@strawberry.input(description="Le feuillet de gestion annuel des sites d'un filtre.")
class ExportManagementSheetInput:
    filter: SiteFilter | None = strawberry.field(
        default=None, description="Filtre du parc ; tout votre périmètre s'il est absent."
    )
    from_month: Month = strawberry.field(
        description="Premier des 12 mois consécutifs (le dernier ne dépasse pas le mois en cours)."
    )
    format: ExportFormat = strawberry.field(description="Format du fichier.")


@strawberry.type
class ManagementSheetMutations:
    @strawberry.mutation(
        description="Exporte le feuillet de gestion annuel : par site, 12 mois consécutifs de "
        "kWh et de coûts (fourniture, acheminement, taxes, TVA, total TTC) selon la date "
        "comptable des factures, le compte de contrat et son regroupement de facturation, puis "
        "les totaux par compte de contrat, par adhérent et général.",
        permission_classes=[IsAuthenticated],
    )
    async def export_management_sheet(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportManagementSheetInput,
            strawberry.argument(description="Les sites, le premier mois, le format."),
        ],
    ) -> ExportPayload:
        ctx = info.context
        return await export_file(
            info,
            input.format,
            lambda: management_sheets.management_sheet(
                ctx.sessions,
                ctx.perimeter,
                criteria=criteria_of(input.filter),
                from_month=input.from_month,
                today=paris_date(ctx.now),
            ),
        )
