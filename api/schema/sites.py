"""The parc: the sites list, a site by its point number, the summary, reference edits."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from api.graphql.enums import described_enum
from api.graphql.errors import UserError, attempt
from api.graphql.ids import pk_of
from api.graphql.lookahead import selects
from api.graphql.pagination import After, Connection, First, connection
from api.graphql.permissions import IsAuthenticated, WritesData
from api.resolvers import portfolio, site_references, summaries
from api.resolvers.cursors import decode_cursor, page_size
from api.resolvers.portfolio import SiteOrder
from api.schema.enums import Energy, Segment, SiteStatus
from api.schema.portfolio import LastIndex, Site, site_from_page_row, site_from_sheet
from api.schema.site_filter import SiteFilterArgument, criteria_of

described_enum(
    SiteOrder,
    {
        SiteOrder.POINT_NUMBER: "Par numéro PRM ou PCE, croissant.",
        SiteOrder.LEGAL_NAME: "Par raison sociale de l'adhérent, de A à Z.",
        SiteOrder.CITY: "Par commune, de A à Z.",
        SiteOrder.POSTCODE: "Par code postal, croissant.",
        SiteOrder.INTERNAL_CODE: "Par code interne du client, de A à Z (sites sans code d'abord).",
        SiteOrder.SEGMENT: "Par segment d'acheminement.",
        SiteOrder.CAR_DESC: "Par consommation annuelle de référence (CAR), la plus forte d'abord.",
        SiteOrder.SUPPLY_START_DESC: "Par date de début de fourniture, la plus récente d'abord.",
    },
    description="Ordre de la liste des sites.",
)


@strawberry.type(description="Nombre de sites d'une énergie.")
class EnergyBucket:
    energy: Energy = strawberry.field(description="Énergie.")
    sites: int = strawberry.field(description="Nombre de sites.")


@strawberry.type(description="Nombre de sites d'un segment.")
class SegmentBucket:
    segment: Segment = strawberry.field(description="Segment.")
    sites: int = strawberry.field(description="Nombre de sites.")


@strawberry.type(description="Nombre de sites d'un état de contrat.")
class StatusBucket:
    status: SiteStatus = strawberry.field(description="État.")
    sites: int = strawberry.field(description="Nombre de sites.")


@strawberry.type(description="Une classe de consommation annuelle de référence (CAR).")
class ConsumptionClass:
    label: str = strawberry.field(description="Libellé de la classe.")
    min_kwh: int = strawberry.field(description="Borne basse incluse (kWh/an).")
    max_kwh: int | None = strawberry.field(description="Borne haute exclue (kWh/an), ou aucune.")
    sites: int = strawberry.field(description="Nombre de sites actifs dans la classe.")


@strawberry.type(description="Synthèse du parc pour un filtre.")
class PortfolioSummary:
    sites: int = strawberry.field(description="Nombre total de sites.")
    by_energy: list[EnergyBucket] = strawberry.field(description="Par énergie.")
    by_segment: list[SegmentBucket] = strawberry.field(description="Par segment.")
    by_status: list[StatusBucket] = strawberry.field(description="Par état de contrat.")
    consumption_classes: list[ConsumptionClass] = strawberry.field(
        description="Répartition par classe de CAR, sites résiliés ou en résiliation exclus."
    )
    excluded_from_distribution: int = strawberry.field(
        description="Sites résiliés ou en cours de résiliation, comptés à part."
    )


@strawberry.input(description="Références client d'un site ; un champ absent reste inchangé.")
class UpdateSiteReferencesInput:
    site_id: strawberry.relay.GlobalID = strawberry.field(description="Le site.")
    internal_code: str | None = strawberry.field(
        default=strawberry.UNSET, description="Code interne (35 caractères), null pour effacer."
    )
    designation: str | None = strawberry.field(
        default=strawberry.UNSET, description="Désignation (35 caractères), null pour effacer."
    )
    other_reference: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Autre référence (40 caractères), null pour effacer.",
    )


@strawberry.type(description="Résultat d'une modification de références.")
class UpdateSiteReferencesPayload:
    site: Site | None = strawberry.field(description="Le site modifié.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues, une par champ.")


async def sites_page(
    ctx: Any,
    filter: Any,
    order_by: SiteOrder,
    first: int | None,
    after: str | None,
    *,
    with_last_readings: bool,
    columns: tuple[str, ...] | None = None,
) -> tuple[portfolio.SitePage, list[Any] | None]:
    """The `sites` field's page from its arguments (the compiled path runs it too, naming the
    `columns` it reads)."""
    cursor = decode_cursor(after)
    page = await portfolio.list_sites(
        ctx.sessions,
        ctx.perimeter,
        criteria=criteria_of(filter),
        order=order_by,
        first=page_size(first),
        after=cursor,
        with_last_readings=with_last_readings,
        columns=columns,
    )
    return page, cursor


@strawberry.type
class SiteQueries:
    @strawberry.field(
        description="Les sites de votre périmètre, filtrés et triés, par pages.",
        permission_classes=[IsAuthenticated],
    )
    async def sites(
        self,
        info: strawberry.Info,
        filter: SiteFilterArgument = None,
        order_by: Annotated[
            SiteOrder, strawberry.argument(description="Ordre de la liste.")
        ] = SiteOrder.POINT_NUMBER,
        first: First = None,
        after: After = None,
    ) -> Connection[Site] | None:
        page, cursor = await sites_page(
            info.context,
            filter,
            order_by,
            first,
            after,
            with_last_readings=selects(info, "edges", "node", "lastActualReadings"),
        )
        sites = [
            site_from_page_row(
                row,
                [LastIndex.from_row(r) for r in page.last_readings.get(row.id, [])],
            )
            for row in page.rows
        ]
        return connection(
            sites,
            page.cursors,
            total_count=page.total_count,
            has_next_page=page.has_next_page,
            has_previous_page=cursor is not None,
        )

    @strawberry.field(
        description="Un site par son numéro de PDL/PRM ou de PCE ; null s'il est inconnu ou "
        "hors de votre périmètre.",
        permission_classes=[IsAuthenticated],
    )
    async def site_by_point_number(
        self,
        info: strawberry.Info,
        point_number: Annotated[
            str,
            strawberry.argument(description="Numéro PRM (électricité) ou PCE (gaz), 14 chiffres."),
        ],
        energy: Annotated[
            Energy | None,
            strawberry.argument(description="L'énergie, si un même numéro existe pour les deux."),
        ] = None,
    ) -> Site | None:
        # The sheet's relations come with the site (two statements), not through loaders.
        sheet = await portfolio.technical_sheet(
            info.context.sessions,
            info.context.perimeter,
            point_number=point_number,
            energy=energy,
            with_last_readings=selects(info, "lastActualReadings"),
        )
        return site_from_sheet(sheet) if sheet is not None else None

    @strawberry.field(
        description="Synthèse du parc : par énergie, segment, état, et classes de CAR.",
        permission_classes=[IsAuthenticated],
    )
    async def portfolio_summary(
        self, info: strawberry.Info, filter: SiteFilterArgument = None
    ) -> PortfolioSummary:
        summary = await summaries.portfolio_summary(
            info.context.sessions, info.context.perimeter, criteria_of(filter)
        )
        return PortfolioSummary(
            sites=summary.sites,
            by_energy=[EnergyBucket(energy=k, sites=v) for k, v in summary.by_energy.items()],
            by_segment=[SegmentBucket(segment=k, sites=v) for k, v in summary.by_segment.items()],
            by_status=[StatusBucket(status=k, sites=v) for k, v in summary.by_status.items()],
            consumption_classes=[
                ConsumptionClass(label=c.label, min_kwh=c.min_kwh, max_kwh=c.max_kwh, sites=n)
                for c, n in summary.classes
            ],
            excluded_from_distribution=summary.excluded,
        )


@strawberry.type
class SiteMutations:
    @strawberry.mutation(
        description="Modifie les références client d'un site (ADMIN, USER, INFRA_USER).",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def update_site_references(
        self,
        info: strawberry.Info,
        input: Annotated[
            UpdateSiteReferencesInput,
            strawberry.argument(
                description="Références client d'un site ; un champ absent reste inchangé."
            ),
        ],
    ) -> UpdateSiteReferencesPayload:
        ctx = info.context
        changes = {
            name: getattr(input, name)
            for name in ("internal_code", "designation", "other_reference")
            if getattr(input, name) is not strawberry.UNSET
        }

        async def work() -> Site:
            row = await site_references.update_site_references(
                ctx.sessions,
                ctx.caller,
                site_id=pk_of(input.site_id, "Site", "siteId"),
                changes=changes,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return Site.from_row(row)

        site, errors = await attempt(work)
        return UpdateSiteReferencesPayload(site=site, errors=errors)
