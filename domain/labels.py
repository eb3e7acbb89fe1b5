"""French labels of the domain's vocabularies, as customers read them (forms, mails, exports)."""

from __future__ import annotations

from domain.enums import (
    AlertKind,
    AlertStatus,
    BillingFrequency,
    CustomerCategory,
    EditionStatus,
    Energy,
    IndexBasis,
    InvoiceComponent,
    InvoiceDelivery,
    InvoiceKind,
    MeterKind,
    PaymentMethod,
    PaymentStatus,
    ReadingSource,
    Register,
    Segment,
    SelfCareRequestKind,
    SiteStatus,
    TechnicalRequestType,
)

ENERGY_LABELS: dict[Energy, str] = {
    Energy.GAS: "Gaz naturel",
    Energy.ELECTRICITY: "Électricité",
}

SEGMENT_LABELS: dict[Segment, str] = {
    Segment.T1: "T1 — gaz, moins de 6 MWh/an",
    Segment.T2: "T2 — gaz, de 6 à 300 MWh/an",
    Segment.T3: "T3 — gaz, de 300 MWh à 5 GWh/an",
    Segment.T4: "T4 — gaz, plus de 5 GWh/an",
    Segment.C5: "C5 — électricité basse tension, jusqu'à 36 kVA",
    Segment.C4: "C4 — électricité basse tension, plus de 36 kVA",
    Segment.C3: "C3 — électricité haute tension A",
    Segment.C2: "C2 — électricité haute tension A, grands sites",
}

SEGMENT_ENERGY: dict[Segment, Energy] = {
    Segment.T1: Energy.GAS,
    Segment.T2: Energy.GAS,
    Segment.T3: Energy.GAS,
    Segment.T4: Energy.GAS,
    Segment.C5: Energy.ELECTRICITY,
    Segment.C4: Energy.ELECTRICITY,
    Segment.C3: Energy.ELECTRICITY,
    Segment.C2: Energy.ELECTRICITY,
}

# (label, energies it applies to, whether it targets a site already in the portfolio)
TECHNICAL_REQUEST_TYPES: dict[TechnicalRequestType, tuple[str, frozenset[Energy], bool]] = {
    TechnicalRequestType.TELEMETRY_ACTIVATION: (
        "Activation de la télérelève",
        frozenset(Energy),
        True,
    ),
    TechnicalRequestType.TEMPORARY_CONNECTION: ("Branchement provisoire", frozenset(Energy), True),
    TechnicalRequestType.BREAKER_CHANGE: (
        "Changement de disjoncteur",
        frozenset({Energy.ELECTRICITY}),
        True,
    ),
    TechnicalRequestType.SUPPLIER_CHANGE: ("Changement de fournisseur", frozenset(Energy), True),
    TechnicalRequestType.POWER_CHANGE: (
        "Changement de puissance",
        frozenset({Energy.ELECTRICITY}),
        True,
    ),
    TechnicalRequestType.TARIFF_OPTION_CHANGE: (
        "Changement d'option tarifaire",
        frozenset(Energy),
        True,
    ),
    TechnicalRequestType.DISTRIBUTOR_COMMUNICATION: (
        "Communication à l'initiative du distributeur",
        frozenset(Energy),
        True,
    ),
    TechnicalRequestType.MISCELLANEOUS: ("Demande diverse", frozenset(Energy), True),
    TechnicalRequestType.METER_MOVE: ("Déplacement de compteur", frozenset(Energy), True),
    TechnicalRequestType.METER_REMOVAL: ("Dépose de compteur", frozenset(Energy), True),
    TechnicalRequestType.COMMISSIONING: ("Mise en service", frozenset(Energy), True),
    TechnicalRequestType.EXPRESS_COMMISSIONING: (
        "Mise en service express",
        frozenset({Energy.ELECTRICITY}),
        True,
    ),
    TechnicalRequestType.OPTIMISATION: ("Optimisation tarifaire", frozenset(Energy), True),
    TechnicalRequestType.CONNECTION: ("Raccordement", frozenset(Energy), True),
    TechnicalRequestType.TERMINATION: ("Résiliation", frozenset(Energy), True),
    TechnicalRequestType.CLAIM: ("Réclamation", frozenset(Energy), True),
    TechnicalRequestType.NETWORK_SEPARATION: ("Séparation de réseau", frozenset(Energy), True),
    TechnicalRequestType.METER_CHECK: ("Vérification de compteur", frozenset(Energy), True),
    TechnicalRequestType.TEMPORARY_CUT: (
        "Coupure temporaire et/ou dépose",
        frozenset(Energy),
        True,
    ),
    TechnicalRequestType.ADD_SITE_SUPPLIER_CHANGE: (
        "Ajout d'un site avec changement de fournisseur",
        frozenset(Energy),
        False,
    ),
    TechnicalRequestType.ADD_SITE_COMMISSIONING: (
        "Ajout d'un site avec mise en service",
        frozenset(Energy),
        False,
    ),
}

SELF_CARE_REQUEST_LABELS: dict[SelfCareRequestKind, str] = {
    SelfCareRequestKind.CHANGE_LEGAL_NAME: "Modification de la raison sociale",
    SelfCareRequestKind.CHANGE_LEGAL_ADDRESS: "Modification de l'adresse du siège",
    SelfCareRequestKind.CHANGE_INVOICE_DELIVERY: "Modification du mode d'envoi des factures",
    SelfCareRequestKind.CHANGE_BILLING_ADDRESS: "Modification de l'adresse de facturation",
    SelfCareRequestKind.ACCOUNT_STATEMENT: "Demande de relevé de compte",
}

PAYMENT_METHOD_LABELS: dict[PaymentMethod, str] = {
    PaymentMethod.TRANSFER: "Virement",
    PaymentMethod.DIRECT_DEBIT: "Prélèvement automatique",
    PaymentMethod.PUBLIC_ACCOUNTING_MANDATE: "Mandat administratif",
}
BILLING_FREQUENCY_LABELS: dict[BillingFrequency, str] = {
    BillingFrequency.MONTHLY: "Mensuelle",
    BillingFrequency.BIMONTHLY: "Bimestrielle",
    BillingFrequency.QUARTERLY: "Trimestrielle",
}
INVOICE_DELIVERY_LABELS: dict[InvoiceDelivery, str] = {
    InvoiceDelivery.POST: "Courrier postal",
    InvoiceDelivery.EMAIL: "Courriel",
    InvoiceDelivery.CHORUS_PRO: "Chorus Pro",
}

INVOICE_KIND_LABELS: dict[InvoiceKind, str] = {
    InvoiceKind.INVOICE: "Facture",
    InvoiceKind.CANCELLATION: "Facture d'annulation",
    InvoiceKind.CREDIT_NOTE: "Avoir",
}
INDEX_BASIS_LABELS: dict[IndexBasis, str] = {
    IndexBasis.ACTUAL: "Réel",
    IndexBasis.ESTIMATED: "Estimé",
}
EDITION_STATUS_LABELS: dict[EditionStatus, str] = {
    EditionStatus.PENDING: "En attente d'édition",
    EditionStatus.ISSUED: "Émise",
    EditionStatus.REPRINTED: "Rééditée",
}
PAYMENT_STATUS_LABELS: dict[PaymentStatus, str] = {
    PaymentStatus.UNPAID: "À payer",
    PaymentStatus.PARTIALLY_PAID: "Partiellement payée",
    PaymentStatus.PAID: "Payée",
    PaymentStatus.CANCELLED: "Annulée",
}
# Each component as the billing file's column names it (amounts excluding VAT).
INVOICE_COMPONENT_LABELS: dict[InvoiceComponent, str] = {
    InvoiceComponent.SUBSCRIPTION: "Abonnement",
    InvoiceComponent.ENERGY: "Fourniture",
    InvoiceComponent.CAPACITY: "Capacité",
    InvoiceComponent.ENERGY_SAVING_CERTIFICATES: "CEE",
    InvoiceComponent.REGULARISATION: "Régularisation",
    InvoiceComponent.TRANSPORT: "Acheminement (TURPE/ATRD/ATRT)",
    InvoiceComponent.CTA: "CTA",
    InvoiceComponent.EXCISE: "Accise",
    InvoiceComponent.LOCAL_TAX: "Taxes locales",
    InvoiceComponent.VAT: "TVA",
}

REGISTER_LABELS: dict[Register, str] = {
    Register.BASE: "Base",
    Register.HP: "Heures pleines",
    Register.HC: "Heures creuses",
    Register.HPH: "Heures pleines hiver",
    Register.HCH: "Heures creuses hiver",
    Register.HPE: "Heures pleines été",
    Register.HCE: "Heures creuses été",
    Register.POINTE: "Pointe",
}

READING_SOURCE_LABELS: dict[ReadingSource, str] = {
    ReadingSource.DISTRIBUTOR_ACTUAL: "Relevé du distributeur",
    ReadingSource.DISTRIBUTOR_ESTIMATED: "Estimé par le distributeur",
    ReadingSource.SUPPLIER_ESTIMATED: "Estimé par le fournisseur",
    ReadingSource.SELF_READING: "Auto-relève",
    ReadingSource.SPECIAL: "Relève spéciale",
}

SITE_STATUS_LABELS: dict[SiteStatus, str] = {
    SiteStatus.ACTIVE: "Actif",
    SiteStatus.TERMINATING: "En cours de résiliation",
    SiteStatus.TERMINATED: "Résilié",
}

METER_KIND_LABELS: dict[MeterKind, str] = {
    MeterKind.GAZPAR: "Gazpar",
    MeterKind.GAS_CONVENTIONAL: "Compteur gaz classique",
    MeterKind.LINKY: "Linky",
    MeterKind.ELECTROMECHANICAL: "Électromécanique",
    MeterKind.ELECTRONIC: "Électronique",
}

CUSTOMER_CATEGORY_LABELS: dict[CustomerCategory, str] = {
    CustomerCategory.PUBLIC: "Client public",
    CustomerCategory.BUSINESS: "Professionnel",
    CustomerCategory.PRIVATE: "Particulier",
}

ALERT_KIND_LABELS: dict[AlertKind, str] = {
    AlertKind.MISSING_DISTRIBUTOR_READING: "Relevé du distributeur manquant",
    AlertKind.ZERO_CONSUMPTION: "Consommation nulle",
    AlertKind.NEGATIVE_CONSUMPTION: "Consommation négative",
    AlertKind.EXCESSIVE_CONSUMPTION: "Consommation excessive",
    AlertKind.REACTIVE_ENERGY: "Énergie réactive facturée",
    AlertKind.READ_NOT_BILLED: "Site relevé mais non facturé",
}

ALERT_STATUS_LABELS: dict[AlertStatus, str] = {
    AlertStatus.OPEN: "Ouverte",
    AlertStatus.ACKNOWLEDGED: "Prise en compte",
    AlertStatus.RESOLVED: "Résolue",
}
