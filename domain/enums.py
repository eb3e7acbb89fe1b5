"""The domain's closed vocabularies. Stored as strings in the database, exposed as GraphQL enums.

This is the bottom layer: pure Python, imported by `db/` for its columns and by the rules.
"""

from enum import StrEnum


class Energy(StrEnum):
    GAS = "GAS"
    ELECTRICITY = "ELECTRICITY"


class Distributor(StrEnum):
    GRDF = "GRDF"
    ENEDIS = "ENEDIS"
    LOCAL = "LOCAL"  # an entreprise locale de distribution (ELD); its name is on the site


class Segment(StrEnum):
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    C5 = "C5"
    C4 = "C4"
    C3 = "C3"
    C2 = "C2"


GAS_SEGMENTS = frozenset({Segment.T1, Segment.T2, Segment.T3, Segment.T4})
ELECTRICITY_SEGMENTS = frozenset({Segment.C5, Segment.C4, Segment.C3, Segment.C2})


class SiteStatus(StrEnum):
    ACTIVE = "ACTIVE"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"


class MeterKind(StrEnum):
    GAZPAR = "GAZPAR"
    GAS_CONVENTIONAL = "GAS_CONVENTIONAL"  # diaphragm meter read on site
    LINKY = "LINKY"
    ELECTROMECHANICAL = "ELECTROMECHANICAL"
    ELECTRONIC = "ELECTRONIC"  # C4 and above: remotely read electronic meter


COMMUNICATING_METER_KINDS = frozenset({MeterKind.GAZPAR, MeterKind.LINKY, MeterKind.ELECTRONIC})


class Register(StrEnum):
    """Poste horaire: which part of the day (and season) an index counts."""

    BASE = "BASE"
    HP = "HP"
    HC = "HC"
    HPH = "HPH"
    HCH = "HCH"
    HPE = "HPE"
    HCE = "HCE"
    POINTE = "POINTE"


class ReadingSource(StrEnum):
    DISTRIBUTOR_ACTUAL = "DISTRIBUTOR_ACTUAL"
    DISTRIBUTOR_ESTIMATED = "DISTRIBUTOR_ESTIMATED"
    SUPPLIER_ESTIMATED = "SUPPLIER_ESTIMATED"
    SELF_READING = "SELF_READING"
    SPECIAL = "SPECIAL"


ESTIMATED_SOURCES = frozenset(
    {ReadingSource.DISTRIBUTOR_ESTIMATED, ReadingSource.SUPPLIER_ESTIMATED}
)


class SelfReadingStatus(StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class PaymentMethod(StrEnum):
    TRANSFER = "TRANSFER"
    DIRECT_DEBIT = "DIRECT_DEBIT"
    PUBLIC_ACCOUNTING_MANDATE = "PUBLIC_ACCOUNTING_MANDATE"  # mandat administratif


class BillingFrequency(StrEnum):
    MONTHLY = "MONTHLY"
    BIMONTHLY = "BIMONTHLY"
    QUARTERLY = "QUARTERLY"


BILLING_FREQUENCY_MONTHS = {
    BillingFrequency.MONTHLY: 1,
    BillingFrequency.BIMONTHLY: 2,
    BillingFrequency.QUARTERLY: 3,
}


class InvoiceDelivery(StrEnum):
    POST = "POST"
    EMAIL = "EMAIL"
    CHORUS_PRO = "CHORUS_PRO"


class InvoiceKind(StrEnum):
    INVOICE = "INVOICE"
    CANCELLATION = "CANCELLATION"
    CREDIT_NOTE = "CREDIT_NOTE"


class IndexBasis(StrEnum):
    ACTUAL = "ACTUAL"
    ESTIMATED = "ESTIMATED"


class EditionStatus(StrEnum):
    PENDING = "PENDING"  # computed, not yet printed or sent
    ISSUED = "ISSUED"
    REPRINTED = "REPRINTED"  # e.g. Chorus references corrected, same number


class PaymentStatus(StrEnum):
    UNPAID = "UNPAID"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    CANCELLED = "CANCELLED"  # the invoice was cancelled by a cancellation invoice


class InvoiceComponent(StrEnum):
    SUBSCRIPTION = "SUBSCRIPTION"  # abonnement
    ENERGY = "ENERGY"  # fourniture, kWh x unit price
    CAPACITY = "CAPACITY"  # mécanisme de capacité (electricity)
    ENERGY_SAVING_CERTIFICATES = "ENERGY_SAVING_CERTIFICATES"  # CEE
    TRANSPORT = "TRANSPORT"  # ATRD/ATRT (gas), TURPE (electricity)
    CTA = "CTA"  # contribution tarifaire d'acheminement
    EXCISE = "EXCISE"  # accise (ex-CSPE / ex-TICGN)
    LOCAL_TAX = "LOCAL_TAX"  # TCCFE / TDCFE before they merged into the excise
    REGULARISATION = "REGULARISATION"  # actual minus what was billed on estimates
    VAT = "VAT"


class AlertKind(StrEnum):
    MISSING_DISTRIBUTOR_READING = "MISSING_DISTRIBUTOR_READING"
    ZERO_CONSUMPTION = "ZERO_CONSUMPTION"
    NEGATIVE_CONSUMPTION = "NEGATIVE_CONSUMPTION"
    EXCESSIVE_CONSUMPTION = "EXCESSIVE_CONSUMPTION"
    REACTIVE_ENERGY = "REACTIVE_ENERGY"
    READ_NOT_BILLED = "READ_NOT_BILLED"  # actual readings, but no invoice for that cycle


class AlertStatus(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"


class TechnicalRequestType(StrEnum):
    TELEMETRY_ACTIVATION = "TELEMETRY_ACTIVATION"
    TEMPORARY_CONNECTION = "TEMPORARY_CONNECTION"
    BREAKER_CHANGE = "BREAKER_CHANGE"
    SUPPLIER_CHANGE = "SUPPLIER_CHANGE"
    POWER_CHANGE = "POWER_CHANGE"
    TARIFF_OPTION_CHANGE = "TARIFF_OPTION_CHANGE"
    DISTRIBUTOR_COMMUNICATION = "DISTRIBUTOR_COMMUNICATION"
    MISCELLANEOUS = "MISCELLANEOUS"
    METER_MOVE = "METER_MOVE"
    METER_REMOVAL = "METER_REMOVAL"
    COMMISSIONING = "COMMISSIONING"
    EXPRESS_COMMISSIONING = "EXPRESS_COMMISSIONING"
    OPTIMISATION = "OPTIMISATION"
    CONNECTION = "CONNECTION"
    TERMINATION = "TERMINATION"
    CLAIM = "CLAIM"
    NETWORK_SEPARATION = "NETWORK_SEPARATION"
    METER_CHECK = "METER_CHECK"
    TEMPORARY_CUT = "TEMPORARY_CUT"
    ADD_SITE_SUPPLIER_CHANGE = "ADD_SITE_SUPPLIER_CHANGE"
    ADD_SITE_COMMISSIONING = "ADD_SITE_COMMISSIONING"


NEW_SITE_REQUEST_TYPES = frozenset(
    {TechnicalRequestType.ADD_SITE_SUPPLIER_CHANGE, TechnicalRequestType.ADD_SITE_COMMISSIONING}
)


class TechnicalRequestStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    FORWARDED = "FORWARDED"
    SCHEDULED = "SCHEDULED"
    DONE = "DONE"
    ABANDONED = "ABANDONED"
    REJECTED = "REJECTED"


class SelfCareRequestKind(StrEnum):
    CHANGE_LEGAL_NAME = "CHANGE_LEGAL_NAME"
    CHANGE_LEGAL_ADDRESS = "CHANGE_LEGAL_ADDRESS"
    CHANGE_INVOICE_DELIVERY = "CHANGE_INVOICE_DELIVERY"
    CHANGE_BILLING_ADDRESS = "CHANGE_BILLING_ADDRESS"
    ACCOUNT_STATEMENT = "ACCOUNT_STATEMENT"


class SelfCareRequestStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    IN_PROGRESS = "IN_PROGRESS"
    APPROVED = "APPROVED"  # approved and applied to the data
    REJECTED = "REJECTED"


class Tier(StrEnum):
    ADMIN = "ADMIN"
    USER = "USER"
    INFRA_USER = "INFRA_USER"
    THIRD_PARTY = "THIRD_PARTY"
    OPERATOR = "OPERATOR"


class UserStatus(StrEnum):
    INVITED = "INVITED"  # exists, has not activated yet
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class ActionTokenPurpose(StrEnum):
    ACTIVATION = "ACTIVATION"
    PASSWORD_RESET = "PASSWORD_RESET"


class MailStatus(StrEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    DEAD = "DEAD"


class CustomerCategory(StrEnum):
    """What kind of customer a member is, in law: it sets how far back a correction billed
    against it may reach (`domain/billing.py`, CORRECTION_LIMIT_YEARS)."""

    PUBLIC = "PUBLIC"  # a public body (collectivité, établissement public): this market's members
    BUSINESS = "BUSINESS"
    PRIVATE = "PRIVATE"  # a private person


class DisputeReason(StrEnum):
    """Why a public buyer contests an invoice (the supplier's Chorus Pro memo): the data of each
    reason lives in `domain/invoice_disputes.py`."""

    MISSING_DOCUMENT = "MISSING_DOCUMENT"  # supporting document missing / explanation asked
    WRONG_CHORUS_REFERENCES = "WRONG_CHORUS_REFERENCES"  # legal commitment, service code
    DISPUTED_INDEX = "DISPUTED_INDEX"
    PRICE_NOT_MATCHING_SCHEDULE = "PRICE_NOT_MATCHING_SCHEDULE"
    WRONG_TAXES = "WRONG_TAXES"  # taxes or VAT
    WRONG_BILLING_STRUCTURE = "WRONG_BILLING_STRUCTURE"
    WRONG_SIRET = "WRONG_SIRET"  # transfer of competence, not the buyer's invoice


class ChorusStatus(StrEnum):
    """The status the buyer sets on the invoice in Chorus Pro."""

    SUSPENDED = "SUSPENDED"  # suspendue
    TO_RECYCLE = "TO_RECYCLE"  # à recycler
    REJECTED = "REJECTED"  # rejetée


class DisputeCorrection(StrEnum):
    """What the supplier does about a founded dispute."""

    CLARIFICATION = "CLARIFICATION"  # explanation or document sent, the invoice stands
    REPRINT = "REPRINT"  # data corrected, same invoice number reprinted
    CANCELLATION_AND_REISSUE = "CANCELLATION_AND_REISSUE"  # cancellation invoice + new invoice


class DisputeStatus(StrEnum):
    RECEIVED = "RECEIVED"
    IN_ANALYSIS = "IN_ANALYSIS"
    RESOLVED = "RESOLVED"  # closed by a correction (see DisputeCorrection)
    REJECTED = "REJECTED"  # closed: the invoice stands, with the explanation


class ContactRole(StrEnum):
    """Who a contact of the Help tab ("vos interlocuteurs") is for the customer."""

    CUSTOMER_SERVICE = "CUSTOMER_SERVICE"  # the block printed on every mail and PDF
    ACCOUNT_MANAGER = "ACCOUNT_MANAGER"  # the coordinator's account manager
    BUSINESS_DEVELOPER = "BUSINESS_DEVELOPER"  # the coordinator's business developer
    DEDICATED_ADVISER = "DEDICATED_ADVISER"  # a member's dedicated adviser
    TECHNICAL_SUPPORT = "TECHNICAL_SUPPORT"
    CHORUS_PRO = "CHORUS_PRO"  # the team that handles invoices sent through Chorus Pro


class GuideAudience(StrEnum):
    """Whom a guide of the Help tab is written for."""

    EVERYONE = "EVERYONE"
    COORDINATORS = "COORDINATORS"  # the group's coordinator staff (ADMIN)
    MEMBERS = "MEMBERS"  # member users (USER, INFRA_USER)
    THIRD_PARTIES = "THIRD_PARTIES"  # energy advisers holding a THIRD_PARTY grant


class CurveQuality(StrEnum):
    """How a point of interval data (a load-curve point, a gas day) was obtained."""

    ACTUAL = "ACTUAL"  # measured and transmitted by the meter
    ESTIMATED = "ESTIMATED"  # filled in by the distributor
    CORRECTED = "CORRECTED"  # measured, then corrected by the distributor
    MISSING = "MISSING"  # no value: the meter did not transmit it
