"""The cross-tenant matrix: every field and mutation that takes an ID, called by a person of
each tier of tenant A on an object of tenant B, answers exactly like an object that does not
exist. A new field joins the matrix with one line in CASES.

Its other half (READ_ONLY_CASES): a mutation on an object the caller sees but may not change
(a read-only grant or API key) answers FORBIDDEN with a French message, never NOT_FOUND — the
rule of `api/resolvers/writable.py`."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import UploadFile

from db.models import (
    ApiKey,
    InvoiceDispute,
    OutboxMail,
    SelfCareRequest,
    TechnicalRequest,
    User,
)
from domain.enums import (
    DisputeReason,
    DisputeStatus,
    MailStatus,
    SelfCareRequestKind,
    SelfCareRequestStatus,
    TechnicalRequestStatus,
    TechnicalRequestType,
)
from tests.clock import NOW, TODAY
from tests.factories import (
    World,
    make_alert,
    make_invoice,
    make_optimisation_proposal,
    make_person,
    make_world,
)
from tests.ids import gid
from tests.runner import Runner

MISSING = 10**9
SERVICE_ORDER_PDF = (
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


@dataclass(frozen=True)
class Target:
    """Global IDs of tenant B's objects, or of objects that do not exist."""

    group: str
    member: str
    billing_account: str
    site: str
    meter: str
    grant: str
    api_key: str
    point_number: str
    person: str
    invoice: str = gid("Invoice", MISSING)  # set by the fixture for tenant B
    invoice_number: str = "FA000000000000"
    mail: str = gid("OutboxMail", MISSING)  # set by the fixture: a dead mail to tenant B
    alert: str = gid("Alert", MISSING)  # set by the fixture: an open alert of tenant B
    # set by the fixture: a submitted technical request of tenant B
    technical_request: str = gid("TechnicalRequest", MISSING)
    technical_request_reference: str = "DT-2026-999999"
    # set by the fixture: a submitted self-care request of tenant B (on its accounts[0])
    self_care_request: str = gid("SelfCareRequest", MISSING)
    self_care_request_reference: str = "SC-2026-999999"
    # set by the fixture: an unanswered optimisation proposal of tenant B (on its sites[0])
    optimisation_proposal: str = gid("OptimisationProposal", MISSING)
    # set by the fixture: a received dispute of tenant B's invoice
    invoice_dispute: str = gid("InvoiceDispute", MISSING)
    invoice_dispute_reference: str = "CF-2026-999999"
    # set by the fixture: tenant B's group customer-service contact (Help tab)
    contact: str = gid("Contact", MISSING)
    guide: str = gid("Guide", MISSING)  # guides are the supplier's: only the back office edits
    # set by the fixture: tenant B's collection campaign and its member's journey
    collection_campaign: str = gid("CollectionCampaign", MISSING)
    collection_journey: str = gid("CollectionJourney", MISSING)
    person_email: str = "personne@inconnue.test"  # tenant B's INFRA_USER for `Target.of`

    @classmethod
    def of(cls, world: World, api_key_id: int, meter_id: int) -> Target:
        return cls(
            group=gid("Group", world.group.id),
            member=gid("Member", world.member.id),
            billing_account=gid("BillingAccount", world.accounts[0].id),
            site=gid("Site", world.sites[0].id),
            meter=gid("Meter", meter_id),
            grant=gid("Grant", world.grants["INFRA_USER"].id),
            api_key=gid("ApiKey", api_key_id),
            point_number=world.sites[0].point_number,
            person=gid("Person", world.people["INFRA_USER"].id),
            person_email=world.people["INFRA_USER"].email,
        )

    @classmethod
    def missing(cls) -> Target:
        return cls(
            *(
                gid(name, MISSING)
                for name in (
                    "Group",
                    "Member",
                    "BillingAccount",
                    "Site",
                    "Meter",
                    "Grant",
                    "ApiKey",
                )
            ),
            point_number="99999999999999",
            person=gid("Person", MISSING),
        )


@dataclass(frozen=True)
class Case:
    name: str
    document: str
    variables: Callable[[World, Target], dict[str, Any]]
    # The supplier's back office is no tenant: where it acts on every group by design, it is
    # left out of the matrix (its own tests say what it may do).
    tiers: tuple[str, ...] = ("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY", "OPERATOR")


def _node(kind: str) -> Case:
    return Case(
        f"node({kind})",
        "query($id: ID!) { node(id: $id) { id } }",
        lambda a, t: {"id": getattr(t, kind)},
    )


_ERRORS = "errors { field code message }"
_SUBMIT_SELF_CARE = (
    "mutation($b: ID!) { submitSelfCareRequest(input: {changeBillingAddress: "
    '{billingAccountId: $b, street: "1 rue", postcode: "29000", city: "Quimper"}}) '
    "{ selfCareRequest { id } " + _ERRORS + " } }"
)


def _grant_action(name: str) -> str:
    return (
        f"mutation($id: ID!) {{ {name}(input: {{grantId: $id}}) {{ grant {{ id }} {_ERRORS} }} }}"
    )


_FILE = "{ url invoiceCount rowCount " + _ERRORS + " }"
INVOICE_CASES: list[Case] = [
    _node("invoice"),
    Case(
        "node(Invoice).pdfUrl",
        "query($id: ID!) { node(id: $id) { ... on Invoice { pdfUrl } } }",
        lambda a, t: {"id": t.invoice},
    ),
    Case(
        "invoice(number)",
        "query($n: String!) { invoice(number: $n) { id pdfUrl } }",
        lambda a, t: {"n": t.invoice_number},
    ),
    Case(
        "invoices(filter.billingAccountIds)",
        "query($b: ID!) { invoices(filter: {billingAccountIds: [$b]}) "
        "{ totalCount edges { node { id } } } }",
        lambda a, t: {"b": t.billing_account},
    ),
    Case(
        "invoices(filter.siteId)",
        "query($s: ID!) { invoices(filter: {siteId: $s}) { totalCount edges { node { id } } } }",
        lambda a, t: {"s": t.site},
    ),
    Case(
        "billingSummary(filter.billingAccountIds)",
        "query($b: ID!) { billingSummary(filter: {billingAccountIds: [$b]}) "
        "{ totals { invoiceCount } } }",
        lambda a, t: {"b": t.billing_account},
    ),
    Case(
        "siteBillingHistory(siteId)",
        "query($s: ID!) { siteBillingHistory(siteId: $s) { pointNumber } }",
        lambda a, t: {"s": t.site},
    ),
    Case(
        "exportInvoicePdfs(invoiceIds)",
        "mutation($i: ID!) { exportInvoicePdfs(input: {filter: {invoiceIds: [$i]}}) "
        + _FILE
        + " }",
        lambda a, t: {"i": t.invoice},
    ),
    Case(
        "exportInvoicePdfs(billingAccountIds)",
        "mutation($b: ID!) { exportInvoicePdfs(input: {filter: {billingAccountIds: [$b]}}) "
        + _FILE
        + " }",
        lambda a, t: {"b": t.billing_account},
    ),
    Case(
        "exportBillingFile(billingAccountIds)",
        "mutation($b: ID!) { exportBillingFile(input: {filter: {billingAccountIds: [$b]}}) "
        + _FILE
        + " }",
        lambda a, t: {"b": t.billing_account},
    ),
    Case(
        "exportBillingFile(siteId)",
        "mutation($s: ID!) { exportBillingFile(input: {format: XLSX, filter: {siteId: $s}}) "
        + _FILE
        + " }",
        lambda a, t: {"s": t.site},
    ),
    # Operators run the outbox for every group by design; customers may not touch it at all.
    Case(
        "requeueMail",
        "mutation($id: ID!) { requeueMail(input: {mailId: $id}) { ok " + _ERRORS + " } }",
        lambda a, t: {"id": t.mail},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
]

_ALERT = "{ alert { id status } " + _ERRORS + " }"
ALERT_CASES: list[Case] = [
    _node("alert"),
    Case(
        "alert(id)",
        "query($id: ID!) { alert(id: $id) { id message site { id } } }",
        lambda a, t: {"id": t.alert},
    ),
    *(
        Case(
            f"alerts(filter.{name})",
            f"query($x: {kind}) {{ alerts(filter: {{{name}: $x}}) "
            "{ totalCount edges { node { id } } } }",
            lambda a, t, attr=attr, many=kind.startswith("["): {
                "x": [getattr(t, attr)] if many else getattr(t, attr)
            },
        )
        for name, kind, attr in (
            ("siteId", "ID!", "site"),
            ("memberIds", "[ID!]!", "member"),
            ("billingAccountIds", "[ID!]!", "billing_account"),
        )
    ),
    Case(
        "alertCounts(filter.siteId)",
        "query($s: ID!) { alertCounts(filter: {siteId: $s}) { open acknowledged resolved } }",
        lambda a, t: {"s": t.site},
    ),
    Case(
        "alertCounts(filter.memberIds)",
        "query($m: ID!) { alertCounts(filter: {memberIds: [$m]}) { open acknowledged resolved } }",
        lambda a, t: {"m": t.member},
    ),
    Case(
        "acknowledgeAlert",
        "mutation($id: ID!) { acknowledgeAlert(input: {alertId: $id}) " + _ALERT + " }",
        lambda a, t: {"id": t.alert},
    ),
    Case(
        "resolveAlert",
        'mutation($id: ID!) { resolveAlert(input: {alertId: $id, comment: "Vu."}) ' + _ALERT + " }",
        lambda a, t: {"id": t.alert},
    ),
]

_REQUEST_CONTACT = '{name: "A", phone: "0612345678", email: "a@b.test"}'
TECHNICAL_REQUEST_CASES: list[Case] = [
    Case(
        "submitTechnicalRequest(site.siteId)",
        "mutation($s: ID!) { submitTechnicalRequest(input: {requestType: MISCELLANEOUS, "
        f"site: {{siteId: $s}}, contact: {_REQUEST_CONTACT}, "
        'characteristics: {description: "x"}}) '
        "{ technicalRequest { id } " + _ERRORS + " } }",
        lambda a, t: {"s": t.site},
    ),
    Case(
        "submitTechnicalRequest(site.pointNumber)",
        "mutation($p: String!) { submitTechnicalRequest(input: {requestType: MISCELLANEOUS, "
        f"site: {{pointNumber: $p}}, contact: {_REQUEST_CONTACT}, "
        'characteristics: {description: "x"}}) '
        "{ technicalRequest { id } " + _ERRORS + " } }",
        lambda a, t: {"p": t.point_number},
    ),
    Case(
        "submitTechnicalRequest(newSite.billingAccountId)",
        "mutation($b: ID!) { submitTechnicalRequest(input: {requestType: ADD_SITE_SUPPLIER_CHANGE, "
        'newSite: {pointNumber: "01234567890123", street: "1 rue", postcode: "29000", '
        'city: "Q", energy: ELECTRICITY, segment: C5, billingAccountId: $b}, '
        f'contact: {_REQUEST_CONTACT}, characteristics: {{wishedDates: ["2026-12-01"]}}}}) '
        "{ technicalRequest { id } " + _ERRORS + " } }",
        lambda a, t: {"b": t.billing_account},
    ),
    _node("technical_request"),
    Case(
        "technicalRequest(reference)",
        "query($r: String!) { technicalRequest(reference: $r) { id events { status } "
        "attachments { filename } } }",
        lambda a, t: {"r": t.technical_request_reference},
    ),
    *(
        Case(
            f"{field}(filter.{name})",
            document.format(kind=kind, name=name),
            lambda a, t, attr=attr, many=kind.startswith("["): {
                "x": [getattr(t, attr)] if many else getattr(t, attr)
            },
        )
        for field, document in (
            (
                "technicalRequests",
                "query($x: {kind}) {{ technicalRequests(filter: {{{name}: $x}}) "
                "{{ totalCount edges {{ node {{ id }} }} }} }}",
            ),
            (
                "exportTechnicalRequests",
                "mutation($x: {kind}) {{ exportTechnicalRequests(input: {{format: CSV, "
                "filter: {{{name}: $x}}}}) {{ url rowCount errors {{ field code message }} }} }}",
            ),
        )
        for name, kind, attr in (("siteId", "ID!", "site"), ("memberIds", "[ID!]!", "member"))
    ),
    Case(
        "abandonTechnicalRequest",
        'mutation($id: ID!) { abandonTechnicalRequest(input: {requestId: $id, reason: "x"}) '
        "{ technicalRequest { id } " + _ERRORS + " } }",
        lambda a, t: {"id": t.technical_request},
    ),
    Case(
        "exportTechnicalRequestReview(memberIds)",
        "mutation($m: [ID!]!) { exportTechnicalRequestReview(input: {year: 2026, "
        "memberIds: $m, format: XLSX}) { url rowCount " + _ERRORS + " } }",
        lambda a, t: {"m": [t.member]},
    ),
    # In process, an Upload variable is the file object the multipart parser would give.
    Case(
        "attachServiceOrder",
        "mutation($id: ID!, $f: Upload!) { attachServiceOrder(input: "
        "{technicalRequestId: $id, file: $f}) { technicalRequest { id } " + _ERRORS + " } }",
        lambda a, t: {
            "id": t.technical_request,
            "f": UploadFile(io.BytesIO(SERVICE_ORDER_PDF), filename="bon-de-commande.pdf"),
        },
    ),
    _node("self_care_request"),
    Case(
        "selfCareRequest(reference)",
        "query($r: String!) { selfCareRequest(reference: $r) { id events { status } } }",
        lambda a, t: {"r": t.self_care_request_reference},
    ),
    *(
        Case(
            f"selfCareRequests(filter.{name})",
            f"query($x: {kind}) {{ selfCareRequests(filter: {{{name}: $x}}) "
            "{ totalCount edges { node { id } } } }",
            lambda a, t, attr=attr, many=kind.startswith("["): {
                "x": [getattr(t, attr)] if many else getattr(t, attr)
            },
        )
        for name, kind, attr in (
            ("billingAccountId", "ID!", "billing_account"),
            ("memberIds", "[ID!]!", "member"),
        )
    ),
    Case(
        "submitSelfCareRequest(changeBillingAddress.billingAccountId)",
        _SUBMIT_SELF_CARE,
        lambda a, t: {"b": t.billing_account},
    ),
    Case(
        "submitSelfCareRequest(changeLegalName.memberId)",
        "mutation($m: ID!) { submitSelfCareRequest(input: {changeLegalName: "
        '{memberId: $m, legalName: "X"}}) { selfCareRequest { id } ' + _ERRORS + " } }",
        lambda a, t: {"m": t.member},
    ),
    # The back office decides every group's requests by design (test_self_care_requests).
    Case(
        "advanceSelfCareRequest",
        "mutation($id: ID!) { advanceSelfCareRequest(input: {requestId: $id, "
        "status: IN_PROGRESS}) { selfCareRequest { id } " + _ERRORS + " } }",
        lambda a, t: {"id": t.self_care_request},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
    # The back office moves every group's requests by design (tests/api/test_technical_requests).
    Case(
        "advanceTechnicalRequest",
        "mutation($id: ID!) { advanceTechnicalRequest(input: {requestId: $id, "
        'status: FORWARDED, caseNumber: "SGE1234567890"}) '
        "{ technicalRequest { id } " + _ERRORS + " } }",
        lambda a, t: {"id": t.technical_request},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
]

_CONTEST = (
    'mutation($i: ID!) { contestInvoice(input: {invoiceId: $i, reason: WRONG_TAXES, comment: "x"}) '
    "{ invoiceDispute { id } " + _ERRORS + " } }"
)
DISPUTE_CASES: list[Case] = [
    _node("invoice_dispute"),
    Case(
        "invoiceDispute(reference)",
        "query($r: String!) { invoiceDispute(reference: $r) { id events { status } } }",
        lambda a, t: {"r": t.invoice_dispute_reference},
    ),
    Case(
        "node(Invoice).dispute",
        "query($id: ID!) { node(id: $id) { ... on Invoice { dispute { id } } } }",
        lambda a, t: {"id": t.invoice},
    ),
    Case(
        "invoiceDisputes(filter.memberIds)",
        "query($m: ID!) { invoiceDisputes(filter: {memberIds: [$m]}) "
        "{ totalCount edges { node { id } } } }",
        lambda a, t: {"m": t.member},
    ),
    Case(
        "invoiceDisputeCountsByReason(memberIds)",
        "query($m: ID!) { invoiceDisputeCountsByReason(year: 2026, memberIds: [$m]) { total } }",
        lambda a, t: {"m": t.member},
    ),
    Case(
        "exportInvoiceDisputes(filter.memberIds)",
        "mutation($m: ID!) { exportInvoiceDisputes(input: {format: CSV, "
        "filter: {memberIds: [$m]}}) { url rowCount " + _ERRORS + " } }",
        lambda a, t: {"m": t.member},
    ),
    Case("contestInvoice(invoiceId)", _CONTEST, lambda a, t: {"i": t.invoice}),
    # The back office settles every group's disputes by design (test_invoice_disputes).
    Case(
        "advanceInvoiceDispute",
        "mutation($id: ID!) { advanceInvoiceDispute(input: {disputeId: $id, "
        "status: IN_ANALYSIS}) { invoiceDispute { id } " + _ERRORS + " } }",
        lambda a, t: {"id": t.invoice_dispute},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
]


_ANSWER = "{ proposal { id state } " + _ERRORS + " } }"
OPTIMISATION_CASES: list[Case] = [
    _node("optimisation_proposal"),
    *(
        Case(
            f"{field}(filter.{name})",
            document.format(kind=kind, name=name),
            lambda a, t, attr=attr, many=kind.startswith("["): {
                "x": [getattr(t, attr)] if many else getattr(t, attr)
            },
        )
        for field, document in (
            (
                "optimisationProposals",
                "query($x: {kind}) {{ optimisationProposals(filter: {{{name}: $x}}) "
                "{{ totalCount edges {{ node {{ id netGain }} }} }} }}",
            ),
            (
                "exportOptimisationProposals",
                "mutation($x: {kind}) {{ exportOptimisationProposals(input: {{format: CSV, "
                "filter: {{{name}: $x}}}}) {{ url rowCount errors {{ field code message }} }} }}",
            ),
        )
        for name, kind, attr in (("siteId", "ID!", "site"), ("memberIds", "[ID!]!", "member"))
    ),
    Case(
        "acceptOptimisation",
        "mutation($id: ID!) { acceptOptimisation(input: {proposalId: $id, contact: "
        '{name: "A", phone: "0612345678", email: "a@a.test"}}) ' + _ANSWER,
        lambda a, t: {"id": t.optimisation_proposal},
    ),
    Case(
        "declineOptimisation",
        "mutation($id: ID!) { declineOptimisation(input: {proposalId: $id}) " + _ANSWER,
        lambda a, t: {"id": t.optimisation_proposal},
    ),
    Case(
        "runOptimisationCampaign(groupId)",
        'mutation($g: ID!) { runOptimisationCampaign(input: {groupId: $g, threshold: "500"}) '
        "{ campaign { proposals } " + _ERRORS + " } }",
        lambda a, t: {"g": t.group},
    ),
    Case(
        "runOptimisationCampaign(memberIds)",
        "mutation($g: ID!, $m: ID!) { runOptimisationCampaign(input: {groupId: $g, "
        'threshold: "500", memberIds: [$m]}) { campaign { proposals } ' + _ERRORS + " } }",
        lambda a, t: {"g": gid("Group", a.group.id), "m": t.member},
    ),
]


# The account statement (ADMIN and USER only) and the annual management sheet.
STATEMENT_CASES: list[Case] = [
    *(
        Case(
            f"exportAccountStatement({name})",
            f"mutation($x: ID!) {{ exportAccountStatement(input: {{{name}: $x, "
            'from: "2026-01-01", to: "2026-11-30", format: CSV}) { url rowCount '
            + _ERRORS
            + " } }",
            lambda a, t, attr=attr: {"x": getattr(t, attr)},
        )
        for name, attr in (("billingAccountId", "billing_account"), ("memberId", "member"))
    ),
    *(
        Case(
            f"exportManagementSheet(filter.{name})",
            f"mutation($x: {kind}) {{ exportManagementSheet(input: {{format: CSV, "
            f'fromMonth: "2025-11", filter: {{{name}: $x}}}}) {{ url rowCount ' + _ERRORS + " } }",
            lambda a, t, attr=attr, many=kind.startswith("["): {
                "x": [getattr(t, attr)] if many else getattr(t, attr)
            },
        )
        for name, kind, attr in (
            ("memberIds", "[ID!]!", "member"),
            ("billingAccountIds", "[ID!]!", "billing_account"),
        )
    ),
    Case(
        "selfCareRequest(reference).statement",
        "query($r: String!) { selfCareRequest(reference: $r) { statement { pdfUrl } } }",
        lambda a, t: {"r": t.self_care_request_reference},
    ),
]

# The Help tab. The back office maintains contacts and guides of every group by design: it is
# left out; customers name another tenant's group, member or contact like a missing one, and
# may change no contact and no guide at all.
_CUSTOMERS = ("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY")
_CONTACT_FIELDS = "{ id role name phone email groupId memberId }"
HELP_CASES: list[Case] = [
    Case(
        "contacts(groupId)",
        "query($g: ID) { contacts(groupId: $g) " + _CONTACT_FIELDS + " }",
        lambda a, t: {"g": t.group},
        tiers=_CUSTOMERS,
    ),
    Case(
        "contacts(memberId)",
        "query($m: ID) { contacts(memberId: $m) " + _CONTACT_FIELDS + " }",
        lambda a, t: {"m": t.member},
        tiers=_CUSTOMERS,
    ),
    Case(
        "createContact(groupId)",
        'mutation($g: ID!) { createContact(input: {role: ACCOUNT_MANAGER, name: "X", '
        'phone: "02 00 00 00 00", email: "x@x.test", groupId: $g}) '
        "{ contact { id } " + _ERRORS + " } }",
        lambda a, t: {"g": t.group},
        tiers=_CUSTOMERS,
    ),
    Case(
        "createContact(memberId)",
        'mutation($m: ID!) { createContact(input: {role: DEDICATED_ADVISER, name: "X", '
        'phone: "02 00 00 00 00", email: "x@x.test", memberId: $m}) '
        "{ contact { id } " + _ERRORS + " } }",
        lambda a, t: {"m": t.member},
        tiers=_CUSTOMERS,
    ),
    Case(
        "updateContact",
        'mutation($c: ID!) { updateContact(input: {contactId: $c, phone: "02 11 11 11 11"}) '
        "{ contact { id phone } " + _ERRORS + " } }",
        lambda a, t: {"c": t.contact},
        tiers=_CUSTOMERS,
    ),
    Case(
        "deleteContact",
        "mutation($c: ID!) { deleteContact(input: {contactId: $c}) { ok " + _ERRORS + " } }",
        lambda a, t: {"c": t.contact},
        tiers=_CUSTOMERS,
    ),
    Case(
        "updateGuide",
        'mutation($g: ID!) { updateGuide(input: {guideId: $g, title: "Pris"}) '
        "{ guide { id } " + _ERRORS + " } }",
        lambda a, t: {"g": t.guide},
        tiers=_CUSTOMERS,
    ),
    Case(
        "deleteGuide",
        "mutation($g: ID!) { deleteGuide(input: {guideId: $g}) { ok " + _ERRORS + " } }",
        lambda a, t: {"g": t.guide},
        tiers=_CUSTOMERS,
    ),
]


def _journey_change(name: str, input_type: str, extra: str) -> Case:
    return Case(
        f"{name}(journeyId)",
        f"mutation($j: ID!) {{ {name}(input: {{journeyId: $j, version: 1{extra}}}) "
        "{ journey { id } " + _ERRORS + " } }",
        lambda a, t: {"j": t.collection_journey},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY", "OPERATOR"),
    )


_NO_SITE = gid("CollectionSite", MISSING)
_CAMPAIGN_PERIOD = (
    'energy: GAS, name: "X", opensOn: "2026-11-01", closesOn: "2026-11-30", '
    'supplyStart: "2027-01-01"'
)
# The back office follows every group's campaigns and journeys by design
# (tests/api/test_collection.py): it is left out of the read cases.
_CUSTOMER_TIERS = ("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY")
COLLECTION_CASES: list[Case] = [
    dataclasses.replace(_node("collection_campaign"), tiers=_CUSTOMER_TIERS),
    dataclasses.replace(_node("collection_journey"), tiers=_CUSTOMER_TIERS),
    *(
        Case(
            f"collectionJourneys(filter.{name})",
            f"query($x: {kind}) {{ collectionJourneys(filter: {{{name}: $x}}) "
            "{ totalCount edges { node { id sites { id } } } } }",
            lambda a, t, attr=attr, many=kind.startswith("["): {
                "x": [getattr(t, attr)] if many else getattr(t, attr)
            },
            tiers=_CUSTOMER_TIERS,
        )
        for name, kind, attr in (
            ("campaignId", "ID!", "collection_campaign"),
            ("memberIds", "[ID!]!", "member"),
        )
    ),
    _journey_change("saveCollectionAdministrative", "", ', legalName: "X"'),
    _journey_change("updateCollectionSites", "", f', siteIds: ["{_NO_SITE}"], decision: CONFIRMED'),
    _journey_change(
        "addCollectionSite",
        "",
        ', pointNumber: "12345678901234", distributor: ENEDIS, segment: C5, '
        'tariffOption: "BASE", street: "1 rue", postcode: "29000", city: "Q", '
        'activationDate: "2027-01-01"',
    ),
    _journey_change(
        "saveCollectionLot",
        "",
        ', name: "Lot", segment: C5, multiSite: true, paymentMethod: TRANSFER, '
        "billingFrequency: MONTHLY, invoiceDelivery: POST",
    ),
    _journey_change("assignCollectionSites", "", f', siteIds: ["{_NO_SITE}"]'),
    _journey_change("removeCollectionLot", "", f', lotId: "{gid("CollectionLot", MISSING)}"'),
    _journey_change("validateCollectionJourney", "", ""),
    # The back office unlocks, reminds, closes and exports for every group by design
    # (tests/api/test_collection.py).
    Case(
        "unlockCollectionJourney",
        "mutation($j: ID!) { unlockCollectionJourney(input: {journeyId: $j}) "
        "{ journey { id } " + _ERRORS + " } }",
        lambda a, t: {"j": t.collection_journey},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
    Case(
        "sendCollectionReminders(campaignId)",
        "mutation($c: ID!) { sendCollectionReminders(input: {campaignId: $c}) "
        "{ members queued " + _ERRORS + " } }",
        lambda a, t: {"c": t.collection_campaign},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
    Case(
        "closeCollectionCampaign(campaignId)",
        "mutation($c: ID!) { closeCollectionCampaign(input: {campaignId: $c}) "
        "{ membersClosed " + _ERRORS + " } }",
        lambda a, t: {"c": t.collection_campaign},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
    Case(
        "exportCollectionProgress(campaignId)",
        "mutation($c: ID!) { exportCollectionProgress(input: {format: CSV, "
        "filter: {campaignId: $c}}) { url rowCount " + _ERRORS + " } }",
        lambda a, t: {"c": t.collection_campaign},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
    Case(
        "exportCollectionSwitchReport(campaignId)",
        "mutation($c: ID!) { exportCollectionSwitchReport(input: {format: CSV, "
        "campaignId: $c}) { url rowCount " + _ERRORS + " } }",
        lambda a, t: {"c": t.collection_campaign},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
    Case(
        "addCollectionCampaignMembers(campaignId)",
        "mutation($c: ID!, $m: ID!) { addCollectionCampaignMembers(input: {campaignId: $c, "
        "members: [{memberId: $m, sites: []}]}) { campaign { id } " + _ERRORS + " } }",
        lambda a, t: {"c": t.collection_campaign, "m": gid("Member", a.member.id)},  # type: ignore[arg-type]
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
    Case(
        "createCollectionCampaign(groupId)",
        "mutation($g: ID!) { createCollectionCampaign(input: {groupId: $g, "
        + _CAMPAIGN_PERIOD
        + "}) { campaign { id } "
        + _ERRORS
        + " } }",
        lambda a, t: {"g": t.group},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
    Case(
        "createCollectionCampaign(members.memberId)",
        "mutation($g: ID!, $m: ID!) { createCollectionCampaign(input: {groupId: $g, "
        + _CAMPAIGN_PERIOD
        + ", members: [{memberId: $m, sites: []}]}) { campaign { id } "
        + _ERRORS
        + " } }",
        lambda a, t: {"g": gid("Group", a.group.id), "m": t.member},  # type: ignore[arg-type]
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
]


def _service_order() -> Any:
    """A fresh upload of a signed service order (a PDF by its magic bytes)."""
    import io

    from starlette.datastructures import Headers, UploadFile

    return UploadFile(
        io.BytesIO(b"%PDF-1.7\n%%EOF\n"),
        filename="bon.pdf",
        headers=Headers({"content-type": "application/pdf"}),
    )


# The fields and mutations the hardening pass found outside the matrix.
HARDENING_CASES: list[Case] = [
    Case(
        "people(search)",
        "query($q: String) { people(filter: {search: $q}) { totalCount edges { node { id } } } }",
        lambda a, t: {"q": t.person_email},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
    Case(
        "attachServiceOrder(technicalRequestId)",
        "mutation($i: AttachServiceOrderInput!) { attachServiceOrder(input: $i) "
        "{ technicalRequest { id } " + _ERRORS + " } }",
        lambda a, t: {"i": {"technicalRequestId": t.technical_request, "file": _service_order()}},
    ),
]


CASES: list[Case] = [
    _node("group"),
    _node("member"),
    _node("billing_account"),
    _node("site"),
    _node("meter"),
    Case(
        "inviteUser(memberId)",
        "mutation($i: InviteUserInput!) { inviteUser(input: $i) { person { id } "
        + _ERRORS
        + " } }",
        lambda a, t: {
            "i": {
                "email": "cible@b.test",
                "fullName": "Cible",
                "tier": "USER",
                "memberId": t.member,
            }
        },
    ),
    Case(
        "inviteUser(billingAccountIds)",
        "mutation($i: InviteUserInput!) { inviteUser(input: $i) { person { id } "
        + _ERRORS
        + " } }",
        lambda a, t: {
            "i": {
                "email": "cible2@b.test",
                "fullName": "Cible",
                "tier": "INFRA_USER",
                "memberId": gid("Member", a.member.id),
                "billingAccountIds": [t.billing_account],
            }
        },
    ),
    Case(
        "changeGrantScope(grantId)",
        "mutation($i: ChangeGrantScopeInput!) { changeGrantScope(input: $i) { grant { id } "
        + _ERRORS
        + " } }",
        lambda a, t: {
            "i": {
                "grantId": t.grant,
                "billingAccountIds": [gid("BillingAccount", a.accounts[0].id)],
            }
        },
    ),
    Case(
        "changeGrantScope(billingAccountIds)",
        "mutation($i: ChangeGrantScopeInput!) { changeGrantScope(input: $i) { grant { id } "
        + _ERRORS
        + " } }",
        lambda a, t: {
            "i": {
                "grantId": gid("Grant", a.grants["INFRA_USER"].id),
                "billingAccountIds": [t.billing_account],
            }
        },
    ),
    Case("suspendGrant", _grant_action("suspendGrant"), lambda a, t: {"id": t.grant}),
    Case("resumeGrant", _grant_action("resumeGrant"), lambda a, t: {"id": t.grant}),
    Case("revokeGrant", _grant_action("revokeGrant"), lambda a, t: {"id": t.grant}),
    # The back office resends any invitation by design (tests/api/test_access.py).
    Case(
        "resendInvitation(personId)",
        "mutation($id: ID!) { resendInvitation(input: {personId: $id}) { person { id } "
        + _ERRORS
        + " } }",
        lambda a, t: {"id": t.person},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
    Case(
        "createApiKey(grantId)",
        "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret " + _ERRORS + " } }",
        lambda a, t: {"i": {"name": "intrus", "grantId": t.grant}},
    ),
    Case(
        "revokeApiKey",
        "mutation($id: ID!) { revokeApiKey(input: {apiKeyId: $id}) "
        "{ apiKey { id } " + _ERRORS + " } }",
        lambda a, t: {"id": t.api_key},
    ),
    Case(
        "sendWelcomePacks(memberIds)",
        "mutation($i: SendWelcomePacksInput!) { sendWelcomePacks(input: $i) { queued "
        + _ERRORS
        + " } }",
        lambda a, t: {"i": {"memberIds": [t.member]}},
        tiers=("ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"),
    ),
    Case(
        "readings(siteId)",
        "query($s: ID!) { readings(siteId: $s) { totalCount edges { node { index } } } }",
        lambda a, t: {"s": t.site},
    ),
    Case(
        "submitSelfReading(siteId)",
        "mutation($i: SubmitSelfReadingInput!) { submitSelfReading(input: $i) { readings "
        "{ index } countsInNextBillingCycle " + _ERRORS + " } }",
        lambda a, t: {
            "i": {
                "siteId": t.site,
                "readOn": "2020-01-01",
                "indexes": [{"register": "BASE", "index": "1"}],
                "confirmed": True,
            }
        },
    ),
    Case(
        "siteByPointNumber",
        "query($p: String!) { siteByPointNumber(pointNumber: $p) { id } }",
        lambda a, t: {"p": t.point_number},
    ),
    Case(
        "sites(filter.memberIds)",
        "query($m: ID!) { sites(filter: {memberIds: [$m]}) { totalCount edges { node { id } } } }",
        lambda a, t: {"m": t.member},
    ),
    Case(
        "portfolioSummary(filter.billingAccountIds)",
        "query($b: ID!) { portfolioSummary(filter: {billingAccountIds: [$b]}) { sites } }",
        lambda a, t: {"b": t.billing_account},
    ),
    Case(
        "updateSiteReferences(siteId)",
        'mutation($s: ID!) { updateSiteReferences(input: {siteId: $s, designation: "X"}) '
        "{ site { id } " + _ERRORS + " } }",
        lambda a, t: {"s": t.site},
    ),
    Case(
        "siteConsumption(siteIds)",
        'query($s: ID!) { siteConsumption(siteIds: [$s], fromMonth: "2026-01", '
        'toMonth: "2026-03") { totalKwh } }',
        lambda a, t: {"s": t.site},
    ),
    Case(
        "perimeterConsumption(filter.memberIds)",
        'query($m: ID!) { perimeterConsumption(filter: {memberIds: [$m]}, fromMonth: "2026-01", '
        'toMonth: "2026-03") { totalKwh } }',
        lambda a, t: {"m": t.member},
    ),
    *(
        Case(
            f"exportAlerts(filter.{name})",
            f"mutation($x: {kind}) {{ exportAlerts(input: {{format: CSV, filter: {{{name}: $x}}}}) "
            "{ rowCount " + _ERRORS + " } }",
            lambda a, t, attr=attr, many=kind.startswith("["): {
                "x": [getattr(t, attr)] if many else getattr(t, attr)
            },
        )
        for name, kind, attr in (
            ("siteId", "ID!", "site"),
            ("memberIds", "[ID!]!", "member"),
            ("billingAccountIds", "[ID!]!", "billing_account"),
        )
    ),
    Case(
        "exportSites(filter.memberIds)",
        "mutation($m: ID!) { exportSites(input: {format: CSV, filter: {memberIds: [$m]}}) "
        "{ url rowCount " + _ERRORS + " } }",
        lambda a, t: {"m": t.member},
    ),
    Case(
        "exportReadings(filter.billingAccountIds)",
        "mutation($b: ID!) { exportReadings(input: {format: XLSX, filter: "
        '{billingAccountIds: [$b]}, from: "2026-01-01", to: "2026-03-31"}) '
        "{ url rowCount " + _ERRORS + " } }",
        lambda a, t: {"b": t.billing_account},
    ),
    Case(
        "exportConsumption(filter.memberIds)",
        "mutation($m: ID!) { exportConsumption(input: {format: CSV, filter: {memberIds: [$m]}, "
        'fromMonth: "2026-01", toMonth: "2026-03"}) { url rowCount ' + _ERRORS + " } }",
        lambda a, t: {"m": t.member},
    ),
    *INVOICE_CASES,
    *ALERT_CASES,
    *TECHNICAL_REQUEST_CASES,
    *OPTIMISATION_CASES,
    *DISPUTE_CASES,
    *STATEMENT_CASES,
    *HELP_CASES,
    *COLLECTION_CASES,
    *HARDENING_CASES,
    Case(
        "consumptionCurve(siteIds)",
        'query($s: ID!) { consumptionCurve(siteIds: [$s], from: "2026-03-01", to: "2026-03-31", '
        "step: DAY) { totalKwh } }",
        lambda a, t: {"s": t.site},
    ),
    Case(
        "gasDailyConsumption(siteIds)",
        'query($s: ID!) { gasDailyConsumption(siteIds: [$s], from: "2026-03-01", '
        'to: "2026-03-31", step: DAY) { totalKwh } }',
        lambda a, t: {"s": t.site},
    ),
    *(
        Case(
            f"{field}(siteIds)",
            f"mutation($s: ID!) {{ {field}(input: {{siteIds: [$s], format: CSV, "
            'from: "2026-03-01", to: "2026-03-31", step: DAY}) { url rowCount ' + _ERRORS + " } }",
            lambda a, t: {"s": t.site},
        )
        for field in ("exportConsumptionCurve", "exportGasDailyConsumption")
    ),
]


# Tenant A's open alert on sites[0] (accounts[0]: the read-only third party sees it), by group.
ALERT_OF: dict[int, str] = {}
# Tenant A's submitted technical request on sites[0], by group.
REQUEST_OF: dict[int, str] = {}
# Tenant A's unanswered optimisation proposal on sites[0], by group.
PROPOSAL_OF: dict[int, str] = {}
# Tenant A's member's collection journey, by group.
JOURNEY_OF: dict[int, str] = {}


async def _collection(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> tuple[int, int]:
    """An open collection campaign of the world's group, with its USER's member's journey
    (one pre-filled site); returns (campaign id, journey id)."""
    from datetime import date

    from db.models import CollectionCampaign, CollectionJourney, CollectionSite
    from domain.collection import JourneyStatus, SiteDecision
    from domain.enums import Distributor, Energy, InvoiceDelivery, PaymentMethod, Segment

    async with session_factory() as session, session.begin():
        campaign = CollectionCampaign(
            group_id=world.group.id,  # type: ignore[arg-type]
            energy=Energy.ELECTRICITY,
            name=f"Collecte {world.name}",
            opens_on=date(2026, 11, 1),
            closes_on=date(2026, 11, 30),
            supply_start=date(2027, 1, 1),
            default_payment_method=PaymentMethod.TRANSFER,
            default_invoice_delivery=InvoiceDelivery.POST,
        )
        session.add(campaign)
        await session.flush()
        journey = CollectionJourney(
            campaign_id=campaign.id,  # type: ignore[arg-type]
            member_id=world.member.id,  # type: ignore[arg-type]
            status=JourneyStatus.NOT_STARTED,
            sites_total=1,
        )
        session.add(journey)
        await session.flush()
        session.add(
            CollectionSite(
                journey_id=journey.id,  # type: ignore[arg-type]
                energy=Energy.ELECTRICITY,
                point_number=f"{88000000000000 + world.group.id:014d}",  # type: ignore[operator]
                distributor=Distributor.ENEDIS,
                distributor_name="Enedis",
                segment=Segment.C5,
                tariff_option="BASE",
                transport_tariff="CU4",
                profile="PRO1",
                street="1 rue",
                postcode="29000",
                city="Quimper",
                distributor_status="En service",
                decision=SiteDecision.PENDING,
            )
        )
    return campaign.id, journey.id  # type: ignore[return-value]


@dataclass(frozen=True)
class Tenants:
    a: World
    b: Target
    operator: User
    submitting_third_party: User  # tenant A's third party allowed to self-read on accounts[0]


async def _technical_request(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> TechnicalRequest:
    """A submitted request on the world's sites[0] (accounts[0]), filed by its USER."""
    site = world.sites[0]
    async with session_factory() as session, session.begin():
        request = TechnicalRequest(
            reference=f"DT-T-{world.group.id:06d}",
            member_id=world.member.id,
            billing_account_id=site.billing_account_id,
            site_id=site.id,
            request_type=TechnicalRequestType.MISCELLANEOUS,
            status=TechnicalRequestStatus.SUBMITTED,
            energy=site.energy,
            point_number=site.point_number,
            contact_name="Contact",
            contact_phone="0612345678",
            contact_email="contact@t.test",
            details={"characteristics": {"description": "x"}},
            submitted_by_user_id=world.people["USER"].id,
            submitted_at=NOW,
        )
        session.add(request)
    return request


async def _self_care_request(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> SelfCareRequest:
    """A submitted change of billing address on the world's accounts[0], filed by its USER."""
    async with session_factory() as session, session.begin():
        request = SelfCareRequest(
            reference=f"SC-T-{world.group.id:06d}",
            member_id=world.member.id,
            billing_account_id=world.accounts[0].id,
            kind=SelfCareRequestKind.CHANGE_BILLING_ADDRESS,
            status=SelfCareRequestStatus.SUBMITTED,
            payload={"street": "1 rue", "postcode": "29000", "city": "Quimper"},
            submitted_by_user_id=world.people["USER"].id,
            submitted_at=NOW,
        )
        session.add(request)
    return request


# Tenant A's invoice on accounts[0], by group (the read-only callers see it).
INVOICE_OF: dict[int, str] = {}


async def _invoice_dispute(
    session_factory: async_sessionmaker[AsyncSession], world: World, invoice: Any
) -> InvoiceDispute:
    """A received dispute of the world's invoice (on accounts[0]), filed by its USER."""
    async with session_factory() as session, session.begin():
        dispute = InvoiceDispute(
            reference=f"CF-T-{world.group.id:06d}",
            invoice_id=invoice.id,
            billing_account_id=world.accounts[0].id,
            member_id=world.member.id,
            reason=DisputeReason.WRONG_TAXES,
            status=DisputeStatus.RECEIVED,
            comment="TVA",
            received_on=TODAY,
            due_on=TODAY,
            submitted_by_user_id=world.people["USER"].id,
            submitted_at=NOW,
        )
        session.add(dispute)
    return dispute


async def _group_contact(sessions: async_sessionmaker[AsyncSession], group_id: int) -> int:
    """The group's customer-service contact (tests.factories gives every group one)."""
    import sqlalchemy as sa

    async with sessions() as session:
        found = await session.exec(  # type: ignore[call-overload]
            sa.text(
                "SELECT id FROM contacts WHERE group_id = :g AND role = 'CUSTOMER_SERVICE'"
            ).bindparams(g=group_id)
        )
        return int(found.one()[0])


async def _guide(sessions: async_sessionmaker[AsyncSession], n: int) -> int:
    """A published guide (the supplier's, not a tenant's: customers may change none)."""
    from db.models import Guide
    from domain.enums import GuideAudience

    async with sessions() as session, session.begin():
        guide = Guide(
            title="Guide",
            description="Un guide.",
            audience=GuideAudience.EVERYONE,
            filename="guide.pdf",
            content_type="application/pdf",
            size_bytes=1,
            sha256="0" * 64,
            storage_key=f"guides/matrix-{n}/guide.pdf",
        )
        session.add(guide)
        await session.flush()
        assert guide.id is not None
        return guide.id


@pytest.fixture(scope="module")
async def tenants(session_factory: async_sessionmaker[AsyncSession]) -> Tenants:
    from db.models import Meter
    from domain.enums import Tier

    a = await make_world(session_factory, "Alpha")
    b = await make_world(session_factory, "Bravo")
    operator, _ = await make_person(
        session_factory, f"operateur{a.group.id}@comptoir.test", tier=Tier.OPERATOR
    )
    adviser, _ = await make_person(
        session_factory,
        f"conseil{a.group.id}@alpha.test",
        tier=Tier.THIRD_PARTY,
        group_id=a.group.id,
        billing_account_ids=(a.accounts[0].id,),
        may_submit=True,
    )
    async with session_factory() as session, session.begin():
        key = ApiKey(
            user_id=b.people["USER"].id,
            name="B",
            prefix=f"cpt_b{b.group.id:011d}",
            key_hash="0" * 64,
            scopes=["read"],
            expires_at=NOW,
        )
        session.add(key)
        meter = (
            await session.exec(
                Meter.__table__.select().where(Meter.site_id == b.sites[0].id)  # type: ignore[attr-defined]
            )
        ).first()
    invoice = await make_invoice(
        session_factory, b.accounts[0], [b.sites[0]], accounting_date=TODAY
    )
    async with session_factory() as session, session.begin():
        mail = OutboxMail(
            idempotency_key=f"matrix-dead:{b.group.id}",
            template="activation",
            recipients=[b.email("USER")],
            subject="Activez votre accès",
            context={},
            status=MailStatus.DEAD,
            attempts=8,
            next_attempt_at=NOW,
        )
        session.add(mail)
    theirs = await make_alert(session_factory, b.sites[0], detected_on=TODAY)
    ours = await make_alert(session_factory, a.sites[0], detected_on=TODAY)
    request = await _technical_request(session_factory, b)
    self_care = await _self_care_request(session_factory, b)
    dispute = await _invoice_dispute(session_factory, b, invoice)
    INVOICE_OF[a.group.id] = gid(
        "Invoice",
        (
            await make_invoice(session_factory, a.accounts[0], [a.sites[0]], accounting_date=TODAY)
        ).id,
    )
    REQUEST_OF[a.group.id] = gid(
        "TechnicalRequest", (await _technical_request(session_factory, a)).id
    )
    ALERT_OF[a.group.id] = gid("Alert", ours.id)
    their_proposal = await make_optimisation_proposal(
        session_factory, b.sites[0], group_id=b.group.id
    )
    PROPOSAL_OF[a.group.id] = gid(
        "OptimisationProposal",
        (await make_optimisation_proposal(session_factory, a.sites[0], group_id=a.group.id)).id,
    )
    their_campaign, their_journey = await _collection(session_factory, b)
    JOURNEY_OF[a.group.id] = gid("CollectionJourney", (await _collection(session_factory, a))[1])
    target = dataclasses.replace(
        Target.of(b, key.id, meter.id),  # type: ignore[arg-type]
        invoice=gid("Invoice", invoice.id),  # type: ignore[arg-type]
        invoice_number=invoice.number,
        mail=gid("OutboxMail", mail.id),  # type: ignore[arg-type]
        alert=gid("Alert", theirs.id),
        technical_request=gid("TechnicalRequest", request.id),  # type: ignore[arg-type]
        technical_request_reference=request.reference,
        self_care_request=gid("SelfCareRequest", self_care.id),  # type: ignore[arg-type]
        self_care_request_reference=self_care.reference,
        optimisation_proposal=gid("OptimisationProposal", their_proposal.id),
        invoice_dispute=gid("InvoiceDispute", dispute.id),  # type: ignore[arg-type]
        invoice_dispute_reference=dispute.reference,
        contact=gid("Contact", await _group_contact(session_factory, b.group.id)),
        guide=gid("Guide", await _guide(session_factory, b.group.id)),
        collection_campaign=gid("CollectionCampaign", their_campaign),
        collection_journey=gid("CollectionJourney", their_journey),
    )
    return Tenants(a=a, b=target, operator=operator, submitting_third_party=adviser)


def _answer(result: Any) -> str:
    """What the caller sees: data and top-level errors, as JSON."""
    errors = [{"message": e.message, "extensions": e.extensions} for e in result.errors or []]
    return json.dumps({"data": result.data, "errors": errors}, sort_keys=True, default=str)


def _says_not_found(result: Any) -> bool:
    """A null node, a payload whose only error is NOT_FOUND, a query field nulled with a
    NOT_FOUND error, or a refusal of the field itself (a tier that may not call it at all,
    whatever the ID)."""
    if result.errors:
        codes = {(e.extensions or {}).get("code") for e in result.errors}
        return codes in ({"FORBIDDEN"}, {"NOT_FOUND"})
    for value in (result.data or {}).values():
        if value is None or value == [] or _empty_list(value):
            continue
        codes = {error["code"] for error in value.get("errors", [])}
        if codes != {"NOT_FOUND"}:
            return False
    return True


MATRIX = [
    pytest.param(case, tier, id=f"{case.name}-{tier}") for case in CASES for tier in case.tiers
]


@pytest.mark.parametrize(("case", "tier"), MATRIX)
async def test_another_tenants_object_looks_missing(
    runner: Runner, tenants: Tenants, case: Case, tier: str
) -> None:
    person = tenants.operator if tier == "OPERATOR" else tenants.a.people[tier]
    theirs = await runner.raw(case.document, case.variables(tenants.a, tenants.b), as_user=person)
    missing = await runner.raw(
        case.document, case.variables(tenants.a, Target.missing()), as_user=person
    )
    assert _answer(theirs) == _answer(missing)
    assert (
        _says_not_found(theirs)
        or "UNAUTHENTICATED" in _answer(theirs)
        or ("EXCEEDS_OWN_SCOPE" in _answer(theirs) or "FORBIDDEN" in _answer(theirs))
    ), _answer(theirs)
    assert result_has_no_success(theirs)


def _empty_list(value: dict[str, Any]) -> bool:
    """A list or a count filtered on another tenant's IDs: nothing, as for unknown IDs."""
    return (
        value.get("totalCount") == 0
        or value.get("sites") == 0
        or (value.get("totals") or {}).get("invoiceCount") == 0
        or value == {"open": 0, "acknowledged": 0, "resolved": 0}
    )


def result_has_no_success(result: Any) -> bool:
    """Nothing of tenant B came back: no node, no person, no grant, no key, no secret."""
    data = result.data or {}
    for value in data.values():
        if isinstance(value, dict) and (value.get("queued") == 0 or _empty_list(value)):
            continue
        if value is None or value == []:
            continue
        for key, inner in value.items():
            if key != "errors" and inner is not None:
                return False
    return True


# -- the other half: visible, but read-only -------------------------------------------------


@dataclass(frozen=True)
class ReadOnlyCase:
    """A mutation on tenant A's own object, which the read-only caller sees."""

    name: str
    document: str
    variables: Callable[[World], dict[str, Any]]
    callers: tuple[str, ...]  # tiers of tenant A, or "<TIER>_KEY" for that tier's read-only key


def _self_reading(world: World) -> dict[str, Any]:
    return {
        "i": {
            "siteId": gid("Site", world.sites[0].id),
            "readOn": "2020-01-01",
            "indexes": [{"register": "BASE", "index": "1"}],
            "confirmed": True,
        }
    }


_SUBMIT = next(c for c in CASES if c.name == "submitSelfReading(siteId)").document
_REFERENCES = next(c for c in CASES if c.name == "updateSiteReferences(siteId)").document
_BY_NAME = {c.name: c for c in CASES}

READ_ONLY_CASES: list[ReadOnlyCase] = [
    # accounts[0] holds sites[0]: the read-only third party and every key of tenant A see it.
    ReadOnlyCase(
        "submitSelfReading", _SUBMIT, _self_reading, ("THIRD_PARTY", "USER_KEY", "ADMIN_KEY")
    ),
    ReadOnlyCase(
        "updateSiteReferences",
        _REFERENCES,
        lambda a: {"s": gid("Site", a.sites[0].id)},
        ("THIRD_PARTY", "SUBMITTING_THIRD_PARTY", "USER_KEY", "INFRA_USER_KEY"),
    ),
    # Access management with an ADMIN's read-only key, on objects the ADMIN manages.
    ReadOnlyCase(
        "inviteUser",
        _BY_NAME["inviteUser(memberId)"].document,
        lambda a: {
            "i": {
                "email": "cle@a.test",
                "fullName": "Clé",
                "tier": "USER",
                "memberId": gid("Member", a.member.id),
            }
        },
        ("ADMIN_KEY",),
    ),
    ReadOnlyCase(
        "changeGrantScope",
        _BY_NAME["changeGrantScope(grantId)"].document,
        lambda a: {
            "i": {
                "grantId": gid("Grant", a.grants["THIRD_PARTY"].id),
                "billingAccountIds": [gid("BillingAccount", a.accounts[0].id)],
            }
        },
        ("ADMIN_KEY",),
    ),
    *(
        ReadOnlyCase(
            name,
            _grant_action(name),
            lambda a: {"id": gid("Grant", a.grants["INFRA_USER"].id)},
            ("ADMIN_KEY",),
        )
        for name in ("suspendGrant", "resumeGrant", "revokeGrant")
    ),
    ReadOnlyCase(
        "resendInvitation",
        _BY_NAME["resendInvitation(personId)"].document,
        lambda a: {"id": gid("Person", a.people["INFRA_USER"].id)},
        ("ADMIN_KEY",),
    ),
    # A read-only grant or key reads the alert but neither acknowledges nor resolves it.
    *(
        ReadOnlyCase(
            name,
            _BY_NAME[name].document,
            lambda a: {"id": ALERT_OF[a.group.id]},
            ("THIRD_PARTY", "USER_KEY", "ADMIN_KEY", "INFRA_USER_KEY"),
        )
        for name in ("acknowledgeAlert", "resolveAlert")
    ),
    # A read-only grant or key sees the site and the requests but files or cancels none.
    ReadOnlyCase(
        "submitTechnicalRequest",
        _BY_NAME["submitTechnicalRequest(site.siteId)"].document,
        lambda a: {"s": gid("Site", a.sites[0].id)},
        ("THIRD_PARTY", "USER_KEY", "ADMIN_KEY"),
    ),
    ReadOnlyCase(
        "submitSelfCareRequest",
        _SUBMIT_SELF_CARE,
        lambda a: {"b": gid("BillingAccount", a.accounts[0].id)},
        ("THIRD_PARTY", "USER_KEY", "ADMIN_KEY"),
    ),
    ReadOnlyCase(
        "abandonTechnicalRequest",
        _BY_NAME["abandonTechnicalRequest"].document,
        lambda a: {"id": REQUEST_OF[a.group.id]},
        ("THIRD_PARTY", "USER_KEY", "ADMIN_KEY"),
    ),
    # A read-only key sees its member's journey but saves nothing in it.
    ReadOnlyCase(
        "saveCollectionAdministrative",
        _BY_NAME["saveCollectionAdministrative(journeyId)"].document,
        lambda a: {"j": JOURNEY_OF[a.group.id]},
        ("USER_KEY", "ADMIN_KEY"),
    ),
    ReadOnlyCase(
        "sendWelcomePacks",
        _BY_NAME["sendWelcomePacks(memberIds)"].document,
        lambda a: {"i": {"memberIds": [gid("Member", a.member.id)]}},
        ("ADMIN_KEY",),
    ),
    # A read-only grant or key sees the optimisation proposal but answers none.
    *(
        ReadOnlyCase(
            name,
            _BY_NAME[name].document,
            lambda a: {"id": PROPOSAL_OF[a.group.id]},
            ("THIRD_PARTY", "USER_KEY", "ADMIN_KEY", "INFRA_USER_KEY"),
        )
        for name in ("acceptOptimisation", "declineOptimisation")
    ),
    # A read-only grant or key sees the invoice but contests nothing.
    ReadOnlyCase(
        "contestInvoice",
        _CONTEST,
        lambda a: {"i": INVOICE_OF[a.group.id]},
        ("THIRD_PARTY", "USER_KEY", "ADMIN_KEY", "INFRA_USER_KEY"),
    ),
]


async def _read_only_context(runner: Runner, tenants: Tenants, who: str) -> Any:
    from api.authentication import Authentication
    from api.context import Context
    from auth.caller import load_caller

    if who == "SUBMITTING_THIRD_PARTY":
        return await runner.context(tenants.submitting_third_party)
    if not who.endswith("_KEY"):
        return await runner.context(tenants.a.people[who])
    user = tenants.a.people[who.removesuffix("_KEY")]
    async with runner.sessions() as session, session.begin():
        key = ApiKey(
            user_id=user.id,  # type: ignore[arg-type]
            name="lecture",
            prefix=f"cpt_r{user.id:011d}",
            key_hash=f"{user.id:064d}",
            scopes=["read"],
            expires_at=NOW,
        )
        existing = (
            await session.exec(ApiKey.__table__.select().where(ApiKey.prefix == key.prefix))  # type: ignore[attr-defined]
        ).first()
        if existing is None:
            session.add(key)
            await session.flush()
        key_id = existing.id if existing is not None else key.id
    async with runner.sessions() as session:
        caller = await load_caller(
            session, user_id=user.id, now=NOW, api_key_id=key_id, api_key_scopes=["read"]
        )  # type: ignore[arg-type]
    return Context(
        request=None,
        settings=runner.settings,
        sessions=runner.sessions,
        authentication=Authentication(caller),
        now=NOW,
    )


READ_ONLY_MATRIX = [
    pytest.param(case, who, id=f"{case.name}-{who}")
    for case in READ_ONLY_CASES
    for who in case.callers
]


@pytest.mark.parametrize(("case", "who"), READ_ONLY_MATRIX)
async def test_a_visible_object_the_caller_may_not_change_is_forbidden(
    runner: Runner, tenants: Tenants, case: ReadOnlyCase, who: str
) -> None:
    from api.schema.schema import build_schema
    from db.models import AccessGrant, AuditEntry, Reading, Site, TechnicalRequestEvent

    async def snapshot() -> tuple[Any, ...]:
        async with runner.sessions() as session:
            site = await session.get(Site, tenants.a.sites[0].id)
            return (
                site.designation if site else None,
                await runner.count(Reading, Reading.site_id == tenants.a.sites[0].id),
                await runner.count(AccessGrant),
                await runner.count(OutboxMail),
                await runner.count(AuditEntry),
                await runner.count(TechnicalRequest),
                await runner.count(TechnicalRequestEvent),
                await runner.count(InvoiceDispute),
            )

    before = await snapshot()
    context = await _read_only_context(runner, tenants, who)
    result = await build_schema().execute(
        case.document, case.variables(tenants.a), context_value=context
    )
    assert result.errors is None, result.errors
    [payload] = result.data.values()
    [error] = payload["errors"]
    assert error["code"] == "FORBIDDEN", payload
    assert "lecture seule" in error["message"] or "consulter" in error["message"], error
    assert result_has_no_success(result)
    assert await snapshot() == before


async def test_the_technical_request_targets_are_real(runner: Runner, tenants: Tenants) -> None:
    """The matrix compares tenant B's request with a missing one: it must exist."""
    import base64

    pk = int(base64.b64decode(tenants.b.technical_request).decode().split(":")[1])
    async with runner.sessions() as session:
        request = await session.get(TechnicalRequest, pk)
    assert request is not None and request.reference == tenants.b.technical_request_reference


# -- every root field and mutation is in the matrix, or says why it need not be --------------

# Root fields that take no object of a tenant (no ID, no filter naming one): there is no
# "another tenant's object" to try on them. Each says why; keep this list short.
NOT_TENANT_SCOPED: dict[str, str] = {
    "Query.catalogue": "public reference data (request types, segments), the same for all",
    "Query.viewer": "the caller itself, no argument",
    "Query.apiKeys": "the caller's own keys, no ID argument",
    "Query.alertPreferences": "the caller's own preferences, keyed by alert kind",
    "Mutation.updateAlertPreferences": "the caller's own preferences, keyed by alert kind",
    "Query.homeBillingSummary": "no argument: totals of the caller's own perimeter",
    "Query.outboxCounts": "back office (OPERATOR) only, no argument; tested in "
    "test_outbox_operators.py",
    "Query.outboxMails": "back office (OPERATOR) only, no tenant argument; tested in "
    "test_outbox_operators.py",
    "Query.disputeReasons": "public reference data: the reasons of the supplier's memo",
    "Query.guides": "the supplier's documents, chosen by the caller's tiers; no argument",
    "Mutation.createGuide": "back office (OPERATOR) only, a new supplier's document; no "
    "tenant's object (tested in the Help tab's tests)",
    "Query.optimisationsCarriedOut": "a year only: the caller's own perimeter's record",
    "Query.collectionCampaigns": "no argument: the caller's own group's campaigns (a campaign "
    "of another group by ID is node(collection_campaign), in the matrix)",
    "Mutation.logIn": "session: the caller's own credentials",
    "Mutation.logOut": "session: the caller's own tokens",
    "Mutation.refreshToken": "session: the caller's own refresh token",
    "Mutation.activateAccount": "session: a single-use token sent by mail, no object ID",
    "Mutation.requestPasswordReset": "session: an email address, same answer for any",
    "Mutation.resetPassword": "session: a single-use token sent by mail, no object ID",
}


def _root_fields(document: str) -> set[str]:
    from graphql import FieldNode, OperationDefinitionNode, parse

    fields = set()
    for definition in parse(document).definitions:
        if isinstance(definition, OperationDefinitionNode):
            root = "Mutation" if definition.operation.value == "mutation" else "Query"
            fields |= {
                f"{root}.{selection.name.value}"
                for selection in definition.selection_set.selections
                if isinstance(selection, FieldNode)
            }
    return fields


def test_every_root_field_and_mutation_has_a_case_in_the_matrix() -> None:
    from api.schema.schema import build_schema

    schema = build_schema()._schema
    assert schema.mutation_type is not None
    in_schema = {f"Query.{name}" for name in schema.query_type.fields} | {
        f"Mutation.{name}" for name in schema.mutation_type.fields
    }
    covered: set[str] = set()
    for case in [*CASES, *READ_ONLY_CASES]:
        covered |= _root_fields(case.document)
    missing = in_schema - covered - set(NOT_TENANT_SCOPED)
    assert missing == set(), (
        f"root fields without a cross-tenant case: {sorted(missing)} (add a Case to CASES, or, "
        "if the field takes no tenant's object at all, a reason to NOT_TENANT_SCOPED)"
    )
    assert set(NOT_TENANT_SCOPED) <= in_schema, "stale names in NOT_TENANT_SCOPED"
    assert not set(NOT_TENANT_SCOPED) & covered, "a field both in the matrix and exempted"
