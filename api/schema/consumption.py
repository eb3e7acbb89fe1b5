"""Consumption: the comparison view (up to four sites, month by month) and a perimeter's total.

Like every query, an expected refusal (a bad period, too many sites, a site outside the
perimeter) nulls the field only and comes as an error with `extensions.code` and a French
message, so the page's other fields survive; a foreign site answers exactly like a missing one.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from api.graphql.enums import described_enum
from api.graphql.ids import pks_of
from api.graphql.permissions import IsAuthenticated
from api.graphql.scalars import Month
from api.resolvers import consumption
from api.resolvers.consumption import PerimeterConsumption as PerimeterConsumptionData
from api.resolvers.consumption import SiteSeries
from api.schema.enums import labelled
from api.schema.portfolio import Site
from api.schema.site_filter import SiteFilterArgument, criteria_of
from domain import consumption as rules
from domain.calendar import paris_date
from domain.consumption import CONSUMPTION_KIND_LABELS, ConsumptionKind, MonthRule

described_enum(
    ConsumptionKind,
    labelled(
        CONSUMPTION_KIND_LABELS,
        {
            ConsumptionKind.ACTUAL: "consommation calculée sur des index relevés uniquement.",
            ConsumptionKind.ESTIMATED: "un index estimé ou une estimation par la CAR et le "
            "profil y contribue.",
            ConsumptionKind.NO_SUPPLY: "le site n'était pas fourni ce mois-là (et rien n'a été "
            "relevé).",
        },
    ),
    description="Nature d'une consommation mensuelle : réelle (index relevés), estimée (index "
    "estimé ou estimation par la CAR et le profil), ou hors période de fourniture.",
)
described_enum(
    MonthRule,
    rules.MONTH_RULE_DESCRIPTIONS,
    description="Règle d'affectation des kWh facturés aux mois : le mois de la facture (date "
    "comptable, par défaut partout) ou la répartition sur la période facturée au prorata des "
    "jours.",
)


FromMonth = Annotated[Month, strawberry.argument(description="Premier mois de la période.")]
ToMonth = Annotated[
    Month,
    strawberry.argument(
        description="Dernier mois de la période (24 mois au plus, mois en cours au plus tard)."
    ),
]


@strawberry.type(description="La consommation d'un site sur un mois.")
class MonthlyConsumption:
    month: Month = strawberry.field(description="Le mois.")
    kwh: int = strawberry.field(
        description="Consommation en kWh (négative si une régularisation l'emporte)."
    )
    kind: ConsumptionKind = strawberry.field(description="Réelle, estimée ou hors fourniture.")


@strawberry.type(description="La série mensuelle d'un site sur la période demandée.")
class SiteConsumption:
    site: Site = strawberry.field(description="Le site.")
    total_kwh: int = strawberry.field(description="Total de la période, en kWh.")
    months: list[MonthlyConsumption] = strawberry.field(description="Les mois, dans l'ordre.")

    @classmethod
    def of(cls, series: SiteSeries) -> SiteConsumption:
        return cls(
            site=Site.from_row(series.site),
            total_kwh=series.total_kwh,
            months=[
                MonthlyConsumption(
                    month=Month(m.month),
                    kwh=m.kwh,
                    kind=m.kind,
                )
                for m in series.months
            ],
        )


@strawberry.type(description="Ce qui a été facturé pour un mois, tous sites du filtre.")
class BilledMonth:
    month: Month = strawberry.field(description="Le mois.")
    kwh: int = strawberry.field(
        description="Consommation facturée en kWh ; négative quand les régularisations et avoirs "
        "l'emportent."
    )
    estimated_kwh: int = strawberry.field(description="La part facturée sur index estimés, en kWh.")


@strawberry.type(
    description="Consommation facturée d'un périmètre : total et répartition mensuelle, lues "
    "sur les lignes par site des factures (la part de chaque site, avoirs et annulations "
    "compris). Chaque facture compte dans le mois de sa date comptable, sauf si la requête "
    "demande la répartition au prorata des jours (argument `rule`)."
)
class PerimeterConsumption:
    site_count: int = strawberry.field(description="Nombre de sites du filtre.")
    total_kwh: int = strawberry.field(description="Total de la période, en kWh.")
    estimated_kwh: int = strawberry.field(description="Dont facturé sur index estimés, en kWh.")
    months: list[BilledMonth] = strawberry.field(description="Les mois, dans l'ordre.")

    @classmethod
    def of(cls, data: PerimeterConsumptionData) -> PerimeterConsumption:
        return cls(
            site_count=data.site_count,
            total_kwh=data.total_kwh,
            estimated_kwh=data.estimated_kwh,
            months=[
                BilledMonth(
                    month=Month(m.month),
                    kwh=m.kwh,
                    estimated_kwh=m.estimated_kwh,
                )
                for m in data.months
            ],
        )


@strawberry.type
class ConsumptionQueries:
    @strawberry.field(
        description="Compare la consommation mensuelle de 1 à 4 sites sur 24 mois au plus, "
        "chaque mois marqué réel ou estimé (relèves, sinon CAR et profil de consommation) : "
        "une série par site, dans l'ordre demandé. Null avec une erreur codée (TOO_MANY_ITEMS, "
        "REQUIRED, PERIOD_TOO_LONG, INVALID, NOT_FOUND) si la demande est refusée.",
        permission_classes=[IsAuthenticated],
    )
    async def site_consumption(
        self,
        info: strawberry.Info,
        site_ids: Annotated[
            list[relay.GlobalID], strawberry.argument(description="Les sites à comparer, 1 à 4.")
        ],
        from_month: FromMonth,
        to_month: ToMonth,
    ) -> list[SiteConsumption] | None:
        ctx = info.context
        series = await consumption.compare_sites_consumption(
            ctx.sessions,
            ctx.perimeter,
            site_ids=pks_of(site_ids, "Site", "siteIds"),
            from_month=from_month,
            to_month=to_month,
            today=paris_date(ctx.now),
        )
        return [SiteConsumption.of(s) for s in series]

    @strawberry.field(
        description="Consommation facturée des sites d'un filtre de votre périmètre sur 24 mois "
        "au plus : total et répartition mensuelle, régularisations négatives comprises, lue sur "
        "la part de chaque site dans les factures. Par défaut chaque facture compte dans le "
        "mois de sa date comptable (comme le résumé de l'accueil et le bilan de facturation) ; "
        "`rule: PRO_RATA_DAYS` la répartit sur sa période au prorata des jours. Null avec une "
        "erreur codée si la demande est refusée (période, filtre hors périmètre).",
        permission_classes=[IsAuthenticated],
    )
    async def perimeter_consumption(
        self,
        info: strawberry.Info,
        from_month: FromMonth,
        to_month: ToMonth,
        filter: SiteFilterArgument = None,
        rule: Annotated[
            MonthRule,
            strawberry.argument(
                description="Règle d'affectation des kWh aux mois : mois de la facture par "
                "défaut, ou prorata des jours de sa période."
            ),
        ] = MonthRule.ACCOUNTING_MONTH,
    ) -> PerimeterConsumption | None:
        ctx = info.context
        data = await consumption.perimeter_consumption(
            ctx.sessions,
            ctx.perimeter,
            criteria=criteria_of(filter),
            from_month=from_month,
            to_month=to_month,
            today=paris_date(ctx.now),
            rule=rule,
        )
        return PerimeterConsumption.of(data)
