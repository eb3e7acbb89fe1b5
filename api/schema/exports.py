"""Exports of the parc: the perimeter file, readings and monthly consumption, CSV or XLSX.

Each mutation checks the filter against the caller's perimeter, writes the file (streamed)
and answers a signed URL valid a few minutes (`COMPTOIR_SIGNED_URL_TTL_SECONDS`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Annotated

import strawberry

from api.graphql.downloads import signed_file_url
from api.graphql.enums import described_enum
from api.graphql.errors import UserError, attempt
from api.graphql.permissions import IsAuthenticated
from api.graphql.scalars import Month
from api.resolvers import alerts, exports
from api.resolvers.export_files import WrittenExport, write_export
from api.schema.alerts import AlertFilter
from api.schema.alerts import to_query as alert_query
from api.schema.site_filter import SiteFilter, criteria_of
from documents.tables import FileFormat, Table
from domain.calendar import paris_date

described_enum(
    FileFormat,
    {
        FileFormat.CSV: "CSV : séparateur « ; », UTF-8 avec BOM, dates jj/mm/aaaa et virgule "
        "décimale, pour Excel en français ; aucune cellule ne commence une formule.",
        FileFormat.XLSX: "Classeur Excel : en-tête figé avec filtre, dates et montants en "
        "nombres formatés, identifiants en texte.",
    },
    name="ExportFormat",
    description="Format d'un fichier exporté (un seul rédacteur pour tous les exports).",
)
ExportFormat = FileFormat


@strawberry.input(description="Export du fichier de périmètre : les sites d'un filtre.")
class ExportSitesInput:
    filter: SiteFilter | None = strawberry.field(
        default=None, description="Filtre du parc ; tout votre périmètre s'il est absent."
    )
    format: ExportFormat = strawberry.field(description="Format du fichier.")


@strawberry.input(description="Export des relèves des sites d'un filtre entre deux dates.")
class ExportReadingsInput:
    filter: SiteFilter | None = strawberry.field(
        default=None, description="Filtre du parc ; tout votre périmètre s'il est absent."
    )
    format: ExportFormat = strawberry.field(description="Format du fichier.")
    from_: date = strawberry.field(name="from", description="Première date de relève incluse.")
    to: date = strawberry.field(description="Dernière date de relève incluse (24 mois au plus).")


@strawberry.input(description="Export de la consommation mensuelle des sites d'un filtre.")
class ExportConsumptionInput:
    filter: SiteFilter | None = strawberry.field(
        default=None, description="Filtre du parc ; tout votre périmètre s'il est absent."
    )
    format: ExportFormat = strawberry.field(description="Format du fichier.")
    from_month: Month = strawberry.field(description="Premier mois.")
    to_month: Month = strawberry.field(description="Dernier mois (24 mois au plus).")


@strawberry.input(description="Export de la liste des alertes d'un filtre.")
class ExportAlertsInput:
    filter: AlertFilter | None = strawberry.field(
        default=None,
        description="Filtre des alertes ; toutes celles de votre périmètre s'il est absent.",
    )
    format: ExportFormat = strawberry.field(description="Format du fichier.")


@strawberry.type(description="Résultat d'un export : un lien de téléchargement temporaire.")
class ExportPayload:
    url: str | None = strawberry.field(
        description="Lien signé de téléchargement, valable quelques minutes."
    )
    expires_at: datetime | None = strawberry.field(description="Fin de validité du lien.")
    row_count: int | None = strawberry.field(description="Nombre de lignes (hors en-tête).")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


async def export_file(
    info: strawberry.Info,
    export_format: FileFormat,
    describe: Callable[[], Awaitable[Table]],
) -> ExportPayload:
    ctx = info.context

    async def work() -> WrittenExport:
        table = await describe()
        return await write_export(
            ctx.settings, table, FileFormat(export_format), today=paris_date(ctx.now)
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


@strawberry.type
class ExportMutations:
    @strawberry.mutation(
        description="Exporte le fichier de périmètre : chaque site du filtre avec ses données "
        "techniques, références, état, membre, compte de contrat, compteur en place et dernier "
        "index réel par poste.",
        permission_classes=[IsAuthenticated],
    )
    async def export_sites(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportSitesInput,
            strawberry.argument(
                description="Export du fichier de périmètre : les sites d'un filtre."
            ),
        ],
    ) -> ExportPayload:
        ctx = info.context
        return await export_file(
            info,
            input.format,
            lambda: exports.export_sites(
                ctx.sessions, ctx.perimeter, criteria=criteria_of(input.filter)
            ),
        )

    @strawberry.mutation(
        description="Exporte les relèves des sites du filtre entre deux dates, avec la "
        "consommation depuis la relève précédente (tours de compteur compris).",
        permission_classes=[IsAuthenticated],
    )
    async def export_readings(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportReadingsInput,
            strawberry.argument(
                description="Export des relèves des sites d'un filtre entre deux dates."
            ),
        ],
    ) -> ExportPayload:
        ctx = info.context
        return await export_file(
            info,
            input.format,
            lambda: exports.export_readings(
                ctx.sessions,
                ctx.perimeter,
                criteria=criteria_of(input.filter),
                start=input.from_,
                end=input.to,
            ),
        )

    @strawberry.mutation(
        description="Exporte la consommation mensuelle (réelle ou estimée) de chaque site du "
        "filtre sur 24 mois au plus.",
        permission_classes=[IsAuthenticated],
    )
    async def export_consumption(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportConsumptionInput,
            strawberry.argument(
                description="Export de la consommation mensuelle des sites d'un filtre."
            ),
        ],
    ) -> ExportPayload:
        ctx = info.context
        return await export_file(
            info,
            input.format,
            lambda: exports.export_consumption(
                ctx.sessions,
                ctx.perimeter,
                criteria=criteria_of(input.filter),
                from_month=input.from_month,
                to_month=input.to_month,
                today=paris_date(ctx.now),
            ),
        )

    @strawberry.mutation(
        description="Exporte les alertes du filtre (les plus récentes d'abord) : date, type, "
        "état, site, membre, message, prise en compte et résolution.",
        permission_classes=[IsAuthenticated],
    )
    async def export_alerts(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportAlertsInput,
            strawberry.argument(description="Export de la liste des alertes d'un filtre."),
        ],
    ) -> ExportPayload:
        ctx = info.context
        return await export_file(
            info,
            input.format,
            lambda: alerts.alerts_table(ctx.sessions, ctx.perimeter, alert_query(input.filter)),
        )
