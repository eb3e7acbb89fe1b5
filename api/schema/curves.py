"""Interval data: load curves (`consumptionCurve`) and daily gas (`gasDailyConsumption`) of
up to four sites, aggregated in SQL at the step asked, and their CSV/XLSX exports.

As everywhere, an expected refusal (a step too fine for the period, too many sites, a site
outside the perimeter) nulls the field only, with a coded error and a French message.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, cast

import strawberry
from strawberry import relay

from api.graphql.enums import described_enum
from api.graphql.ids import pks_of
from api.graphql.permissions import IsAuthenticated
from api.resolvers import curves
from api.schema.exports import ExportFormat, ExportPayload, export_file
from api.schema.portfolio import Site
from domain.curves import MAX_POINTS, CurveStep
from domain.enums import CurveQuality

described_enum(
    CurveStep,
    {
        CurveStep.HALF_HOUR: "Demi-heure (la courbe telle que mesurée, 46 ou 50 points les "
        "jours de changement d'heure).",
        CurveStep.HOUR: "Heure.",
        CurveStep.DAY: "Jour (de Paris).",
        CurveStep.WEEK: "Semaine, du lundi au dimanche.",
        CurveStep.MONTH: "Mois civil.",
    },
    description="Pas des points d'une courbe : les plus fins sont refusés sur les longues "
    f"périodes ({MAX_POINTS} points au plus par site).",
)
described_enum(
    CurveQuality,
    {
        CurveQuality.ACTUAL: "Mesurée par le compteur.",
        CurveQuality.CORRECTED: "Mesurée puis corrigée par le distributeur.",
        CurveQuality.ESTIMATED: "Estimée par le distributeur.",
        CurveQuality.MISSING: "Absente : le compteur ne l'a pas transmise.",
    },
    description="Qualité d'une donnée de courbe ; pour un point agrégé, la moins bonne de "
    "celles qui le composent.",
)

SiteIds = Annotated[
    list[relay.GlobalID], strawberry.argument(description="Les sites à comparer, 1 à 4.")
]
FromDay = Annotated[
    date, strawberry.argument(name="from", description="Premier jour (Paris), inclus.")
]
ToDay = Annotated[date, strawberry.argument(description="Dernier jour (Paris), inclus.")]
Step = Annotated[CurveStep, strawberry.argument(description="Pas des points.")]


@strawberry.type(description="Répartition du temps de la période (courbe) ou de ses jours (gaz).")
class QualityShares:
    actual: float = strawberry.field(description="Part réelle (0 à 1).")
    corrected: float = strawberry.field(description="Part corrigée (0 à 1).")
    estimated: float = strawberry.field(description="Part estimée (0 à 1).")
    missing: float = strawberry.field(description="Part manquante ou absente (0 à 1).")

    @classmethod
    def of(cls, shares: curves.QualityShares) -> QualityShares:
        return cls(
            actual=shares.actual,
            corrected=shares.corrected,
            estimated=shares.estimated,
            missing=shares.missing,
        )


@strawberry.type(description="Un point d'une courbe de charge au pas demandé.")
class LoadCurvePoint:
    start: datetime = strawberry.field(description="Début du point (heure de Paris).")
    energy_kwh: float | None = strawberry.field(
        description="Énergie consommée sur le point, en kWh ; null si rien n'a été mesuré."
    )
    mean_power_kw: float | None = strawberry.field(
        description="Puissance moyenne sur le temps mesuré du point, en kW."
    )
    max_power_kw: float | None = strawberry.field(
        description="Plus forte puissance moyenne d'un pas de mesure (10 ou 30 min), en kW."
    )
    quality: CurveQuality = strawberry.field(description="La moins bonne qualité du point.")


@strawberry.type(
    description="Les mêmes points en colonnes (une liste par grandeur, dans l'ordre des "
    "points) : pour tracer un mois de demi-heures, quelques listes au lieu de milliers "
    "d'objets, bien moins coûteuses à produire et à lire."
)
class LoadCurveSeries:
    starts: list[datetime] = strawberry.field(description="Début de chaque point (Paris).")
    energy_kwh: list[float | None] = strawberry.field(description="Énergie de chaque point, kWh.")
    mean_power_kw: list[float | None] = strawberry.field(
        description="Puissance moyenne de chaque point, kW."
    )
    max_power_kw: list[float | None] = strawberry.field(
        description="Puissance maximale de chaque point, kW."
    )
    qualities: list[CurveQuality] = strawberry.field(description="Qualité de chaque point.")


@strawberry.type(description="La courbe de charge d'un site sur la période.")
class SiteLoadCurve:
    site: Site = strawberry.field(description="Le site.")
    step: CurveStep = strawberry.field(description="Pas des points.")
    total_kwh: float = strawberry.field(description="Énergie totale de la période, en kWh.")
    _curve: strawberry.Private[curves.SiteCurve]

    @strawberry.field(
        description="Tous les points de la période, dans l'ordre (les absents en MISSING)."
    )
    def points(self) -> list[LoadCurvePoint]:
        # The resolver's points carry this type's fields under the same names: returned as
        # they are (a strawberry object per point cost more than reading them).
        return cast("list[LoadCurvePoint]", self._curve.points)

    @strawberry.field(description="Les mêmes points, en colonnes.")
    def series(self) -> LoadCurveSeries:
        points = self._curve.points
        return LoadCurveSeries(
            starts=[p.start for p in points],
            energy_kwh=[p.energy_kwh for p in points],
            mean_power_kw=[p.mean_power_kw for p in points],
            max_power_kw=[p.max_power_kw for p in points],
            qualities=[p.quality for p in points],
        )

    max_power_kw: float | None = strawberry.field(
        description="Puissance maximale atteinte sur la période, en kW."
    )
    max_power_at: datetime | None = strawberry.field(
        description="Début du pas de mesure où elle a été atteinte (le premier en cas d'égalité)."
    )
    shares: QualityShares = strawberry.field(description="Qualité des données de la période.")

    @classmethod
    def of(cls, curve: curves.SiteCurve) -> SiteLoadCurve:
        return cls(
            site=Site.from_row(curve.site),
            step=curve.step,
            total_kwh=curve.total_kwh,
            max_power_kw=curve.max_kw,
            max_power_at=curve.max_at,
            shares=QualityShares.of(curve.shares),
            _curve=curve,
        )


@strawberry.type(description="Un point de consommation de gaz au pas demandé.")
class GasConsumptionPoint:
    start: date = strawberry.field(description="Premier jour du point.")
    volume_m3: float | None = strawberry.field(description="Volume en m³ ; null si absent.")
    energy_kwh: float | None = strawberry.field(
        description="Énergie en kWh (volume × coefficient de conversion du jour)."
    )
    quality: CurveQuality = strawberry.field(description="La moins bonne qualité du point.")


@strawberry.type(description="La consommation de gaz journalière d'un site sur la période.")
class SiteGasConsumption:
    site: Site = strawberry.field(description="Le site.")
    step: CurveStep = strawberry.field(description="Pas des points.")
    points: list[GasConsumptionPoint] = strawberry.field(
        description="Tous les points de la période, dans l'ordre (les absents en MISSING)."
    )
    total_m3: float = strawberry.field(description="Volume total, en m³.")
    total_kwh: float = strawberry.field(description="Énergie totale, en kWh.")
    max_daily_kwh: float | None = strawberry.field(description="Plus forte journée, en kWh.")
    max_day: date | None = strawberry.field(description="Jour de la plus forte consommation.")
    shares: QualityShares = strawberry.field(description="Qualité des jours de la période.")

    @classmethod
    def of(cls, series: curves.SiteGas) -> SiteGasConsumption:
        return cls(
            site=Site.from_row(series.site),
            step=series.step,
            points=[
                GasConsumptionPoint(
                    start=p.start,
                    volume_m3=None if p.volume_m3 is None else float(p.volume_m3),
                    energy_kwh=None if p.energy_kwh is None else float(p.energy_kwh),
                    quality=p.quality,
                )
                for p in series.points
            ],
            total_m3=float(series.total_m3),
            total_kwh=float(series.total_kwh),
            max_daily_kwh=None if series.max_kwh is None else float(series.max_kwh),
            max_day=series.max_day,
            shares=QualityShares.of(series.shares),
        )


@strawberry.input(description="Export de courbes de charge ou de gaz journalier.")
class ExportCurveInput:
    site_ids: list[relay.GlobalID] = strawberry.field(description="Les sites, 1 à 4.")
    from_: date = strawberry.field(name="from", description="Premier jour (Paris), inclus.")
    to: date = strawberry.field(description="Dernier jour (Paris), inclus.")
    step: CurveStep = strawberry.field(description="Pas des points.")
    format: ExportFormat = strawberry.field(description="Format du fichier.")


@strawberry.type
class CurveQueries:
    @strawberry.field(
        description="Courbes de charge de 1 à 4 sites d'électricité : pour chacun, les points au "
        "pas demandé (énergie sommée, puissance moyenne et maximale), la puissance maximale "
        "atteinte et quand, le total et la part réelle, estimée ou manquante. Null avec une "
        "erreur codée si la demande est refusée (STEP_TOO_FINE nomme le pas le plus fin permis, "
        "TOO_MANY_ITEMS, PERIOD_TOO_LONG, INVALID, NOT_FOUND).",
        permission_classes=[IsAuthenticated],
    )
    async def consumption_curve(
        self, info: strawberry.Info, site_ids: SiteIds, from_: FromDay, to: ToDay, step: Step
    ) -> list[SiteLoadCurve] | None:
        ctx = info.context
        found = await curves.consumption_curves(
            ctx.sessions,
            ctx.perimeter,
            site_ids=pks_of(site_ids, "Site", "siteIds"),
            first=from_,
            last=to,
            step=step,
        )
        return [SiteLoadCurve.of(c) for c in found]

    @strawberry.field(
        description="Consommation de gaz journalière (Gazpar) de 1 à 4 sites : par jour, semaine "
        "ou mois, volume et énergie, la plus forte journée, les totaux et la part réelle, estimée "
        "ou manquante. Null avec une erreur codée si la demande est refusée.",
        permission_classes=[IsAuthenticated],
    )
    async def gas_daily_consumption(
        self, info: strawberry.Info, site_ids: SiteIds, from_: FromDay, to: ToDay, step: Step
    ) -> list[SiteGasConsumption] | None:
        ctx = info.context
        found = await curves.gas_consumption(
            ctx.sessions,
            ctx.perimeter,
            site_ids=pks_of(site_ids, "Site", "siteIds"),
            first=from_,
            last=to,
            step=step,
        )
        return [SiteGasConsumption.of(s) for s in found]


@strawberry.type
class CurveExportMutations:
    @strawberry.mutation(
        description="Exporte les courbes de charge de 1 à 4 sites (mêmes points que "
        "`consumptionCurve`) : une ligne par site et point.",
        permission_classes=[IsAuthenticated],
    )
    async def export_consumption_curve(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportCurveInput,
            strawberry.argument(description="Export de courbes de charge."),
        ],
    ) -> ExportPayload:
        ctx = info.context
        return await export_file(
            info,
            input.format,
            lambda: curves.curve_table(
                ctx.sessions,
                ctx.perimeter,
                site_ids=pks_of(input.site_ids, "Site", "siteIds"),
                first=input.from_,
                last=input.to,
                step=input.step,
            ),
        )

    @strawberry.mutation(
        description="Exporte la consommation de gaz journalière de 1 à 4 sites (mêmes points que "
        "`gasDailyConsumption`) : une ligne par site et point.",
        permission_classes=[IsAuthenticated],
    )
    async def export_gas_daily_consumption(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportCurveInput,
            strawberry.argument(description="Export de gaz journalier."),
        ],
    ) -> ExportPayload:
        ctx = info.context
        return await export_file(
            info,
            input.format,
            lambda: curves.gas_table(
                ctx.sessions,
                ctx.perimeter,
                site_ids=pks_of(input.site_ids, "Site", "siteIds"),
                first=input.from_,
                last=input.to,
                step=input.step,
            ),
        )
