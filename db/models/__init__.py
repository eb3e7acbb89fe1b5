"""Every table of comptoir. Importing this package registers them all on the metadata."""

from db.models.accounts import (
    AccessGrant,
    ActionToken,
    ApiKey,
    GrantBillingAccount,
    RefreshToken,
    ThrottleCounter,
    User,
)
from db.models.base import SQLModel
from db.models.billing import Invoice, InvoiceLine, InvoiceSite
from db.models.collection import (
    CollectionCampaign,
    CollectionJourney,
    CollectionLot,
    CollectionSite,
)
from db.models.curves import GasDailyConsumption, LoadCurvePoint
from db.models.disputes import (
    InvoiceDispute,
    InvoiceDisputeAttachment,
    InvoiceDisputeEvent,
    InvoicePdfVersion,
)
from db.models.help import Contact, Guide
from db.models.journal import AuditEntry, OutboxMail
from db.models.notifications import AlertDigest, AlertNotification, AlertPreference
from db.models.optimisation import (
    OptimisationCampaign,
    OptimisationProposal,
    TariffGrid,
)
from db.models.organisation import BillingAccount, Group, Member
from db.models.portfolio import Meter, Site
from db.models.readings import Reading
from db.models.requests import (
    Alert,
    SelfCareRequest,
    SelfCareRequestEvent,
    TechnicalRequest,
    TechnicalRequestAttachment,
    TechnicalRequestEvent,
)

metadata = SQLModel.metadata

__all__ = [
    "AccessGrant",
    "ActionToken",
    "Alert",
    "AlertDigest",
    "AlertNotification",
    "AlertPreference",
    "ApiKey",
    "AuditEntry",
    "BillingAccount",
    "CollectionCampaign",
    "CollectionJourney",
    "CollectionLot",
    "CollectionSite",
    "Contact",
    "GasDailyConsumption",
    "GrantBillingAccount",
    "Group",
    "Guide",
    "Invoice",
    "InvoiceDispute",
    "InvoiceDisputeAttachment",
    "InvoiceDisputeEvent",
    "InvoiceLine",
    "InvoicePdfVersion",
    "InvoiceSite",
    "LoadCurvePoint",
    "Member",
    "Meter",
    "OptimisationCampaign",
    "OptimisationProposal",
    "OutboxMail",
    "Reading",
    "RefreshToken",
    "SQLModel",
    "SelfCareRequest",
    "SelfCareRequestEvent",
    "Site",
    "TariffGrid",
    "TechnicalRequest",
    "TechnicalRequestAttachment",
    "TechnicalRequestEvent",
    "ThrottleCounter",
    "User",
    "metadata",
]
