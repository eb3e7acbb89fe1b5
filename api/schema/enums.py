"""The domain's vocabularies as GraphQL enums (values UPPER_SNAKE_CASE, as stored).

Each domain class is registered with strawberry here, by side effect on the class itself: the
names below are the very classes of `domain.enums`, so schema modules annotate fields with
them (valid types for mypy) and resolvers keep returning domain members. Every value carries a
French description: the customer's label from `domain/labels.py` where one exists, followed by
a few words of meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from api.graphql.enums import described_enum
from domain.enums import (
    BillingFrequency,
    Distributor,
    EditionStatus,
    Energy,
    IndexBasis,
    InvoiceComponent,
    InvoiceDelivery,
    InvoiceKind,
    MailStatus,
    MeterKind,
    PaymentMethod,
    PaymentStatus,
    ReadingSource,
    Register,
    Segment,
    SelfCareRequestKind,
    SelfReadingStatus,
    SiteStatus,
    TechnicalRequestType,
    Tier,
    UserStatus,
)
from domain.labels import (
    BILLING_FREQUENCY_LABELS,
    ENERGY_LABELS,
    INVOICE_DELIVERY_LABELS,
    METER_KIND_LABELS,
    PAYMENT_METHOD_LABELS,
    READING_SOURCE_LABELS,
    REGISTER_LABELS,
    SEGMENT_LABELS,
    SELF_CARE_REQUEST_LABELS,
    SITE_STATUS_LABELS,
    TECHNICAL_REQUEST_TYPES,
)

__all__ = [
    "BillingFrequency",
    "Distributor",
    "EditionStatus",
    "Energy",
    "IndexBasis",
    "InvoiceComponent",
    "InvoiceDelivery",
    "InvoiceKind",
    "MailStatus",
    "MeterKind",
    "PaymentMethod",
    "PaymentStatus",
    "ReadingSource",
    "Register",
    "Segment",
    "SelfCareRequestKind",
    "SelfReadingStatus",
    "SiteStatus",
    "TechnicalRequestType",
    "Tier",
    "UserStatus",
]

E = TypeVar("E", bound=Enum)


def labelled(labels: Mapping[E, str], notes: Mapping[E, str]) -> dict[E, str]:
    """Each value's customer label, then its note where the label alone says too little."""
    return {
        value: f"{label} : {notes[value]}" if value in notes else f"{label}."
        for value, label in labels.items()
    }


described_enum(
    Energy,
    labelled(
        ENERGY_LABELS,
        {
            Energy.GAS: "acheminé par GRDF ou une entreprise locale de distribution.",
            Energy.ELECTRICITY: "acheminée par Enedis ou une entreprise locale de distribution.",
        },
    ),
    description="Énergie livrée : gaz naturel ou électricité.",
)
described_enum(
    Distributor,
    {
        Distributor.GRDF: "GRDF, gestionnaire du réseau de distribution de gaz naturel.",
        Distributor.ENEDIS: "Enedis, gestionnaire du réseau de distribution d'électricité.",
        Distributor.LOCAL: "Entreprise locale de distribution (ELD) ; son nom figure sur le site.",
    },
    description="Gestionnaire du réseau de distribution du point.",
)
described_enum(
    Segment,
    labelled(SEGMENT_LABELS, {}),
    description="Segment d'acheminement : T1 à T4 (gaz), C5 à C2 (électricité).",
)
described_enum(
    SiteStatus,
    labelled(
        SITE_STATUS_LABELS,
        {
            SiteStatus.ACTIVE: "le site est fourni.",
            SiteStatus.TERMINATING: "la fourniture prend fin à une date prévue.",
            SiteStatus.TERMINATED: "le site n'est plus fourni.",
        },
    ),
    description="État du contrat de fourniture du site.",
)
described_enum(
    MeterKind,
    labelled(
        METER_KIND_LABELS,
        {
            MeterKind.GAZPAR: "compteur gaz communicant, relevé à distance.",
            MeterKind.GAS_CONVENTIONAL: "compteur à membrane, relevé sur place.",
            MeterKind.LINKY: "compteur électrique communicant, relevé à distance.",
            MeterKind.ELECTROMECHANICAL: "compteur électrique à disque, relevé sur place.",
            MeterKind.ELECTRONIC: "compteur des sites C4 et au-delà, relevé à distance.",
        },
    ),
    description="Type de compteur.",
)
described_enum(
    Register,
    labelled(
        REGISTER_LABELS,
        {
            Register.BASE: "un seul index, à toute heure.",
            Register.HP: "option heures pleines / heures creuses.",
            Register.HC: "option heures pleines / heures creuses.",
            Register.HPH: "option à postes saisonniers.",
            Register.HCH: "option à postes saisonniers.",
            Register.HPE: "option à postes saisonniers.",
            Register.HCE: "option à postes saisonniers.",
            Register.POINTE: "heures de pointe de l'hiver.",
        },
    ),
    description="Poste horaire d'un index.",
)
described_enum(
    ReadingSource,
    labelled(
        READING_SOURCE_LABELS,
        {
            ReadingSource.DISTRIBUTOR_ACTUAL: "index réel, relevé ou télérelevé par le "
            "gestionnaire de réseau.",
            ReadingSource.DISTRIBUTOR_ESTIMATED: "index calculé par le gestionnaire de réseau "
            "faute de relève.",
            ReadingSource.SUPPLIER_ESTIMATED: "index calculé par le fournisseur pour facturer "
            "entre deux relèves.",
            ReadingSource.SELF_READING: "index transmis par le client.",
            ReadingSource.SPECIAL: "relève à la demande ou lors d'un changement de compteur.",
        },
    ),
    description="Origine d'un index.",
)
described_enum(
    SelfReadingStatus,
    {
        SelfReadingStatus.ACCEPTED: "Acceptée : l'index est enregistré et compte dans les "
        "consommations.",
        SelfReadingStatus.REJECTED: "Refusée : l'index est conservé pour mémoire mais ne compte "
        "pas.",
    },
    description="Ce qu'est devenue une auto-relève.",
)
described_enum(
    PaymentMethod,
    labelled(
        PAYMENT_METHOD_LABELS,
        {
            PaymentMethod.TRANSFER: "le client paie par virement bancaire.",
            PaymentMethod.DIRECT_DEBIT: "le montant est prélevé sur le compte du client à "
            "l'échéance.",
            PaymentMethod.PUBLIC_ACCOUNTING_MANDATE: "paiement par le comptable public "
            "(collectivités et établissements publics).",
        },
    ),
    description="Mode de paiement.",
)
described_enum(
    BillingFrequency,
    labelled(
        BILLING_FREQUENCY_LABELS,
        {
            BillingFrequency.MONTHLY: "une facture par mois.",
            BillingFrequency.BIMONTHLY: "une facture tous les deux mois.",
            BillingFrequency.QUARTERLY: "une facture tous les trois mois.",
        },
    ),
    description="Périodicité de facturation.",
)
described_enum(
    InvoiceDelivery,
    labelled(
        INVOICE_DELIVERY_LABELS,
        {
            InvoiceDelivery.POST: "factures imprimées, envoyées à l'adresse de facturation.",
            InvoiceDelivery.EMAIL: "factures envoyées en PDF par courriel.",
            InvoiceDelivery.CHORUS_PRO: "factures déposées sur la plateforme de facturation "
            "des entités publiques.",
        },
    ),
    description="Mode d'envoi des factures.",
)
described_enum(
    InvoiceKind,
    {
        InvoiceKind.INVOICE: "Facture : un montant dû par le client.",
        InvoiceKind.CANCELLATION: "Annulation : annule entièrement une facture précédente.",
        InvoiceKind.CREDIT_NOTE: "Avoir : un montant rendu au client.",
    },
    description="Nature d'une facture : facture, annulation ou avoir.",
)
described_enum(
    IndexBasis,
    {
        IndexBasis.ACTUAL: "Sur index réels, relevés.",
        IndexBasis.ESTIMATED: "Sur index estimés, régularisés à la prochaine relève réelle.",
    },
    description="Facture établie sur index réels ou estimés.",
)
described_enum(
    EditionStatus,
    {
        EditionStatus.PENDING: "En attente : calculée, pas encore imprimée ni envoyée.",
        EditionStatus.ISSUED: "Émise : envoyée au client.",
        EditionStatus.REPRINTED: "Rééditée sous le même numéro (par exemple après correction "
        "des références Chorus).",
    },
    description="État d'édition d'une facture.",
)
described_enum(
    PaymentStatus,
    {
        PaymentStatus.UNPAID: "Non payée : tout le montant reste dû.",
        PaymentStatus.PARTIALLY_PAID: "Partiellement payée : un solde reste dû.",
        PaymentStatus.PAID: "Payée.",
        PaymentStatus.CANCELLED: "Annulée par une facture d'annulation : plus rien n'est dû.",
    },
    description="État de paiement d'une facture.",
)
described_enum(
    InvoiceComponent,
    {
        InvoiceComponent.SUBSCRIPTION: "Abonnement : la part fixe de la période.",
        InvoiceComponent.ENERGY: "Fourniture : les kWh consommés au prix unitaire.",
        InvoiceComponent.CAPACITY: "Mécanisme de capacité (électricité).",
        InvoiceComponent.ENERGY_SAVING_CERTIFICATES: "Certificats d'économies d'énergie (CEE).",
        InvoiceComponent.TRANSPORT: "Acheminement : ATRD et ATRT (gaz), TURPE (électricité).",
        InvoiceComponent.CTA: "Contribution tarifaire d'acheminement (CTA).",
        InvoiceComponent.EXCISE: "Accise sur l'énergie (ex-CSPE, ex-TICGN).",
        InvoiceComponent.LOCAL_TAX: "Taxes locales sur l'électricité (TCCFE, TDCFE), avant "
        "leur intégration à l'accise.",
        InvoiceComponent.REGULARISATION: "Régularisation : la consommation réelle moins ce qui "
        "avait été facturé sur estimation.",
        InvoiceComponent.VAT: "TVA.",
    },
    description="Composante d'une ligne de facture.",
)
described_enum(
    Tier,
    {
        Tier.ADMIN: "Administrateur du groupement : tout le groupement, invite les utilisateurs "
        "des adhérents et habilite des tiers.",
        Tier.USER: "Utilisateur d'un adhérent : tous les sites de son adhérent.",
        Tier.INFRA_USER: "Utilisateur restreint : les sites de certains comptes de facturation "
        "d'un adhérent.",
        Tier.THIRD_PARTY: "Tiers (conseiller en énergie…) : lecture seule sur des comptes de "
        "facturation choisis, auto-relèves et demandes si l'habilitation le permet.",
        Tier.OPERATOR: "Opérateur du fournisseur : back-office, sans périmètre client.",
    },
    description="Niveau d'accès d'une habilitation.",
)
described_enum(
    UserStatus,
    {
        UserStatus.INVITED: "Invité : le compte existe mais n'a pas encore été activé.",
        UserStatus.ACTIVE: "Actif : la personne peut se connecter.",
        UserStatus.SUSPENDED: "Suspendu : la personne ne peut plus se connecter.",
    },
    description="État d'un compte de connexion.",
)
described_enum(
    MailStatus,
    {
        MailStatus.PENDING: "En attente d'envoi (ou d'une nouvelle tentative).",
        MailStatus.SENDING: "En cours d'envoi.",
        MailStatus.SENT: "Envoyé.",
        MailStatus.DEAD: "Abandonné après la dernière tentative ; un opérateur peut le remettre "
        "dans la file.",
    },
    description="État d'un mail dans la file d'envoi.",
)


def _scope_of(kind: TechnicalRequestType) -> str:
    """What a technical request applies to, as the catalogue says (energies, new site)."""
    _, energies, existing_site = TECHNICAL_REQUEST_TYPES[kind]
    return (
        "pour un site à ajouter au portefeuille."
        if not existing_site
        else "électricité uniquement."
        if energies == {Energy.ELECTRICITY}
        else "gaz et électricité."
    )


described_enum(
    TechnicalRequestType,
    labelled(
        {kind: label for kind, (label, _, _) in TECHNICAL_REQUEST_TYPES.items()},
        {kind: _scope_of(kind) for kind in TECHNICAL_REQUEST_TYPES},
    ),
    description="Type de demande technique (catalogue distributeur).",
)
described_enum(
    SelfCareRequestKind,
    labelled(
        SELF_CARE_REQUEST_LABELS,
        {
            SelfCareRequestKind.CHANGE_LEGAL_NAME: "nouvelle raison sociale de l'adhérent.",
            SelfCareRequestKind.CHANGE_LEGAL_ADDRESS: "nouvelle adresse du siège de l'adhérent.",
            SelfCareRequestKind.CHANGE_INVOICE_DELIVERY: "courrier, courriel ou Chorus Pro.",
            SelfCareRequestKind.CHANGE_BILLING_ADDRESS: "adresse d'un compte de facturation.",
            SelfCareRequestKind.ACCOUNT_STATEMENT: "l'état des factures et des paiements "
            "d'un compte.",
        },
    ),
    description="Type de demande selfcare.",
)
