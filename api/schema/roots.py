"""Which domain contributes which root fields: one line per domain module.

The root Query and Mutation inherit from these classes (in this order); `schema.py` builds
them. Adding a domain's fields is adding its class here.
"""

from __future__ import annotations

from api.schema.access import AccessMutations, AccessQueries
from api.schema.account_statements import AccountStatementMutations
from api.schema.accounts import AccountQueries
from api.schema.alert_preferences import AlertPreferenceMutations, AlertPreferenceQueries
from api.schema.alerts import ALERT_TYPES, AlertMutations, AlertQueries
from api.schema.api_keys import ApiKeyMutations, ApiKeyQueries
from api.schema.catalogue import CatalogueQueries
from api.schema.collection import COLLECTION_TYPES, CollectionMutations, CollectionQueries
from api.schema.consumption import ConsumptionQueries
from api.schema.curves import CurveExportMutations, CurveQueries
from api.schema.exports import ExportMutations
from api.schema.help import HelpMutations, HelpQueries
from api.schema.invoice_disputes import (
    INVOICE_DISPUTE_TYPES,
    InvoiceDisputeMutations,
    InvoiceDisputeQueries,
)
from api.schema.invoices import INVOICE_TYPES, InvoiceMutations, InvoiceQueries
from api.schema.management_sheets import ManagementSheetMutations
from api.schema.optimisation import (
    OPTIMISATION_TYPES,
    OptimisationMutations,
    OptimisationQueries,
)
from api.schema.outbox import OutboxMutations, OutboxQueries
from api.schema.portfolio import NODE_TYPES
from api.schema.readings import ReadingMutations, ReadingQueries
from api.schema.self_care_requests import (
    SELF_CARE_REQUEST_TYPES,
    SelfCareRequestMutations,
    SelfCareRequestQueries,
)
from api.schema.sessions import SessionMutations
from api.schema.sites import SiteMutations, SiteQueries
from api.schema.technical_requests import (
    TECHNICAL_REQUEST_TYPES,
    TechnicalRequestMutations,
    TechnicalRequestQueries,
)
from api.schema.welcome_packs import WelcomePackMutations

QUERIES: tuple[type, ...] = (
    SiteQueries,
    AccountQueries,
    AccessQueries,
    ApiKeyQueries,
    OutboxQueries,
    CatalogueQueries,
    ReadingQueries,
    InvoiceQueries,
    ConsumptionQueries,
    AlertPreferenceQueries,
    AlertQueries,
    TechnicalRequestQueries,
    SelfCareRequestQueries,
    OptimisationQueries,
    InvoiceDisputeQueries,
    HelpQueries,
    CollectionQueries,
    CurveQueries,
)

MUTATIONS: tuple[type, ...] = (
    SiteMutations,
    SessionMutations,
    AccessMutations,
    ApiKeyMutations,
    WelcomePackMutations,
    OutboxMutations,
    ReadingMutations,
    InvoiceMutations,
    ExportMutations,
    AlertPreferenceMutations,
    AlertMutations,
    TechnicalRequestMutations,
    SelfCareRequestMutations,
    OptimisationMutations,
    InvoiceDisputeMutations,
    AccountStatementMutations,
    ManagementSheetMutations,
    HelpMutations,
    CollectionMutations,
    CurveExportMutations,
)

# Types only reachable through the Node interface must be listed to exist in the schema.
EXTRA_TYPES: tuple[type, ...] = (
    *NODE_TYPES,
    *INVOICE_TYPES,
    *ALERT_TYPES,
    *TECHNICAL_REQUEST_TYPES,
    *SELF_CARE_REQUEST_TYPES,
    *OPTIMISATION_TYPES,
    *INVOICE_DISPUTE_TYPES,
    *COLLECTION_TYPES,
)
