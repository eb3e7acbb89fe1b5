"""The domain's vocabularies as GraphQL enums (values UPPER_SNAKE_CASE, as stored)."""

from __future__ import annotations

import strawberry

from domain import enums

Energy = strawberry.enum(enums.Energy, description="Énergie livrée : gaz naturel ou électricité.")
Distributor = strawberry.enum(
    enums.Distributor, description="Gestionnaire du réseau de distribution du point."
)
Segment = strawberry.enum(
    enums.Segment, description="Segment d'acheminement : T1 à T4 (gaz), C5 à C2 (électricité)."
)
SiteStatus = strawberry.enum(enums.SiteStatus, description="État du contrat de fourniture du site.")
MeterKind = strawberry.enum(enums.MeterKind, description="Type de compteur.")
Register = strawberry.enum(enums.Register, description="Poste horaire d'un index.")
PaymentMethod = strawberry.enum(enums.PaymentMethod, description="Mode de paiement.")
BillingFrequency = strawberry.enum(
    enums.BillingFrequency, description="Périodicité de facturation."
)
InvoiceDelivery = strawberry.enum(enums.InvoiceDelivery, description="Mode d'envoi des factures.")
TechnicalRequestType = strawberry.enum(
    enums.TechnicalRequestType, description="Type de demande technique (catalogue distributeur)."
)
SelfCareRequestKind = strawberry.enum(
    enums.SelfCareRequestKind, description="Type de demande selfcare."
)
ReadingSource = strawberry.enum(enums.ReadingSource, description="Origine d'un index.")
