"""Readings of a site (relèves) and self-readings (auto-relèves)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry import relay

from api.graphql.enums import described_enum
from api.graphql.errors import UserError
from api.graphql.ids import pk_of
from api.graphql.pagination import After, Connection, First, connection
from api.graphql.permissions import IsAuthenticated, WritesData
from api.resolvers import readings
from api.resolvers.cursors import decode_cursor, encode_cursor, page_size
from api.schema.enums import ReadingSource, Register, SelfReadingStatus
from domain import readings as reading_rules
from domain.errors import ErrorCode, Refusal
from domain.readings import ReadingKind

described_enum(
    ReadingKind,
    {
        ReadingKind.ACTUAL: "Réel : relevé ou télérelevé par le distributeur.",
        ReadingKind.ESTIMATED: "Estimé, par le distributeur ou par le fournisseur.",
        ReadingKind.SELF_READING: "Auto-relève : transmis par le client.",
        ReadingKind.SPECIAL: "Relève spéciale : à la demande ou lors d'un changement de compteur.",
    },
    description="Famille d'origine d'un index : relevé réel du distributeur, estimation, "
    "auto-relève ou relève spéciale.",
)


@strawberry.type(description="Un index relevé sur un poste du compteur d'un site, à une date.")
class Reading:
    read_on: date = strawberry.field(description="Date de la relève.")
    register: Register = strawberry.field(description="Poste horaire de l'index.")
    index: int = strawberry.field(description="Index affiché par le compteur.")
    source: ReadingSource = strawberry.field(description="Origine de l'index.")
    kind: ReadingKind = strawberry.field(
        description="Famille d'origine (réel, estimé, auto-relève, spécial)."
    )
    estimated: bool = strawberry.field(
        description="Vrai si l'index est estimé (distributeur ou fournisseur), non relevé."
    )
    rollover: bool = strawberry.field(
        description="Le compteur a fait un tour (passé son maximum) depuis la relève précédente."
    )
    rollover_count: int = strawberry.field(
        description="Nombre de tours du compteur enregistrés sur ce poste jusqu'à cette relève."
    )
    index_unit: str = strawberry.field(
        description="Unité de l'index et de `consumption` : « m³ » pour un compteur de gaz, "
        "« kWh » pour un compteur d'électricité."
    )
    consumption: int | None = strawberry.field(
        description="Consommation de ce poste sur ce compteur depuis la relève datée "
        "`consumptionSince`, en unités de l'index (`indexUnit`), tour de compteur compris. "
        "Pour une auto-relève, elle se mesure depuis le dernier relevé pris en compte (réel, "
        "spécial ou auto-relève acceptée, jamais une estimation), comme le vérifient les règles "
        "de l'auto-relève et comme l'annonce le courriel de confirmation ; elle n'est jamais "
        "négative pour une auto-relève acceptée (un index plus bas est un tour de compteur). "
        "Pour les autres relèves, elle se mesure depuis la relève précédente, quelle qu'elle "
        "soit, et est négative quand un index réel corrige une estimation trop haute. Vide pour "
        "la première relève d'un poste ou une auto-relève rejetée."
    )
    consumption_kwh: int | None = strawberry.field(
        description="La même consommation en kWh (coefficient de conversion du compteur)."
    )
    consumption_since: date | None = strawberry.field(
        description="Date de la relève depuis laquelle `consumption` est mesurée."
    )
    self_reading_status: SelfReadingStatus | None = strawberry.field(
        description="Pour une auto-relève : acceptée ou rejetée."
    )
    rejection_reason: str | None = strawberry.field(
        description="Pour une auto-relève rejetée : le motif."
    )
    meter_serial: str = strawberry.field(description="Numéro de série du compteur relevé.")
    received_at: datetime = strawberry.field(description="Date d'enregistrement de l'index.")

    @classmethod
    def from_row(cls, row: readings.ReadingRow) -> Reading:
        return cls(
            read_on=row.read_on,
            register=row.register,
            index=row.index,
            source=row.source,
            kind=row.kind,
            estimated=row.estimated,
            rollover=row.rollover,
            rollover_count=row.rollover_count,
            consumption=row.consumption,
            consumption_kwh=row.consumption_kwh,
            consumption_since=row.consumption_since,
            index_unit=row.index_unit,
            self_reading_status=row.self_reading_status,
            rejection_reason=row.rejection_reason,
            meter_serial=row.meter_serial,
            received_at=row.created_at,
        )


@strawberry.input(description="Filtre des relèves d'un site.")
class ReadingFilter:
    read_from: date | None = strawberry.field(
        default=None, description="Relèves datées de ce jour ou après."
    )
    read_to: date | None = strawberry.field(
        default=None, description="Relèves datées de ce jour ou avant."
    )
    kinds: list[ReadingKind] | None = strawberry.field(
        default=None, description="Seulement ces familles d'origine (toutes par défaut)."
    )
    registers: list[Register] | None = strawberry.field(
        default=None, description="Seulement ces postes horaires (tous par défaut)."
    )


@strawberry.input(description="L'index d'un poste du compteur, tel qu'il est affiché.")
class RegisterIndexInput:
    register: Register = strawberry.field(description="Le poste horaire.")
    index: str = strawberry.field(
        description="Les chiffres affichés (sans les décimales ; zéros de tête permis)."
    )


@strawberry.input(description="Une auto-relève : un index par poste du compteur en service.")
class SubmitSelfReadingInput:
    site_id: relay.GlobalID = strawberry.field(description="Le site.")
    read_on: date = strawberry.field(
        description="Date de la relève (ni dans le futur, ni avant la dernière relève)."
    )
    indexes: list[RegisterIndexInput] = strawberry.field(
        description="Un index par poste du compteur, ni plus ni moins."
    )
    confirmed: bool = strawberry.field(
        description="La personne confirme que les index saisis sont ceux du compteur."
    )
    copy_to_email: str | None = strawberry.field(
        default=None, description="Adresse à qui envoyer aussi la confirmation."
    )


@strawberry.type(description="Résultat d'une auto-relève.")
class SubmitSelfReadingPayload:
    readings: list[Reading] | None = strawberry.field(
        description="Les index enregistrés, un par poste."
    )
    counts_in_next_billing_cycle: bool | None = strawberry.field(
        description="Vrai si l'auto-relève, reçue avant le 20 du mois (heure de Paris), compte "
        "dans la prochaine facturation ; faux si elle compte dans la suivante."
    )
    errors: list[UserError] = strawberry.field(
        description="Erreurs attendues : une par règle non respectée."
    )


@strawberry.type
class ReadingQueries:
    @strawberry.field(
        description="Les relèves d'un site de votre périmètre, les plus récentes d'abord, avec la "
        "consommation depuis la relève précédente de chaque poste. Vide (null) pour un site "
        "inconnu ou hors de votre périmètre.",
        permission_classes=[IsAuthenticated],
    )
    async def readings(
        self,
        info: strawberry.Info,
        site_id: Annotated[relay.GlobalID, strawberry.argument(description="Le site.")],
        filter: Annotated[
            ReadingFilter | None,
            strawberry.argument(description="Période, nature et postes ; tout s'il est absent."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Reading] | None:
        ctx = info.context
        size = page_size(first)
        cursor = _reading_cursor(decode_cursor(after))
        try:
            pk = pk_of(site_id, "Site", "siteId")
        except Refusal:  # an ID of another kind: unknown, like a site outside the perimeter
            return None
        kinds = filter.kinds if filter and filter.kinds else None
        page = await readings.list_readings(
            ctx.sessions,
            ctx.perimeter,
            site_id=pk,
            period_from=filter.read_from if filter else None,
            period_to=filter.read_to if filter else None,
            sources=reading_rules.sources_of(kinds) if kinds else None,
            registers=filter.registers if filter else None,
            first=size,
            after=cursor,
        )
        if page is None:
            return None
        return connection(
            [Reading.from_row(r) for r in page.readings],
            [encode_cursor(r.read_on.isoformat(), r.id) for r in page.readings],
            total_count=page.total_count,
            has_next_page=page.has_next_page,
            has_previous_page=cursor is not None,
        )


def _reading_cursor(values: list[object] | None) -> tuple[date, int] | None:
    if values is None:
        return None
    try:
        day, pk = values
        if not isinstance(pk, int | str | float):  # what int() takes; anything else is refused
            raise TypeError(pk)
        return date.fromisoformat(str(day)), int(pk)
    except (TypeError, ValueError):
        raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after") from None


@strawberry.type
class ReadingMutations:
    @strawberry.mutation(
        description="Transmet une auto-relève (compteurs non communicants : gaz T1/T2, "
        "électricité C5 électromécanique) : un index par poste, la date de relève et la "
        "confirmation des chiffres. Un mail de confirmation part vers vous et l'adresse en "
        "copie. Une auto-relève par site et par jour.",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def submit_self_reading(
        self,
        info: strawberry.Info,
        input: Annotated[
            SubmitSelfReadingInput,
            strawberry.argument(
                description="Une auto-relève : un index par poste du compteur en service."
            ),
        ],
    ) -> SubmitSelfReadingPayload:
        ctx = info.context
        try:
            result = await readings.submit_self_reading(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                ctx.write_perimeter,
                site_id=pk_of(input.site_id, "Site", "siteId"),
                read_on=input.read_on,
                indexes=[(Register(i.register), i.index) for i in input.indexes],
                confirmed=input.confirmed,
                copy_to=input.copy_to_email,
                now=ctx.now,
                client_address=ctx.client_address,
            )
        except readings.SelfReadingRefused as refused:
            return _refused([UserError.from_refusal(r) for r in refused.refusals])
        except Refusal as refusal:
            return _refused([UserError.from_refusal(refusal)])
        return SubmitSelfReadingPayload(
            readings=[Reading.from_row(r) for r in result.readings],
            counts_in_next_billing_cycle=result.counts_in_next_billing_cycle,
            errors=[],
        )


def _refused(errors: list[UserError]) -> SubmitSelfReadingPayload:
    return SubmitSelfReadingPayload(readings=None, counts_in_next_billing_cycle=None, errors=errors)
