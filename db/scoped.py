"""The perimeter of a request and the scoped query helpers that apply it in SQL.

A perimeter is what one request may reach: whole groups (ADMIN grants), whole members (USER)
and chosen billing accounts (INFRA_USER, THIRD_PARTY). `auth/` computes it once per request
from the caller's grants; every query on customer data is built from the helpers below, so
the filter is in the SQL of every statement and a forbidden object looks exactly like a
missing one. Nothing is fetched first and filtered in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from db.core import ACCOUNTS, INVOICES, LINES, SHARES, SITES
from db.models import (
    Alert,
    BillingAccount,
    CollectionCampaign,
    CollectionJourney,
    Contact,
    Group,
    InvoiceDispute,
    Member,
    Meter,
    OptimisationProposal,
    Reading,
    SelfCareRequest,
    Site,
    TechnicalRequest,
)


@dataclass(frozen=True, slots=True)
class Perimeter:
    group_ids: frozenset[int] = field(default_factory=frozenset)
    member_ids: frozenset[int] = field(default_factory=frozenset)
    billing_account_ids: frozenset[int] = field(default_factory=frozenset)
    # Data retention (domain/retention.py): the earliest contract end still served, computed
    # once per request from its clock. Sites whose supply ended before it, their readings and
    # their invoices are out of every scoped query. None: no cut-off (batch jobs that must see
    # everything, such as the purge itself).
    served_since: date | None = None

    @classmethod
    def nobody(cls) -> Perimeter:
        """An anonymous caller's perimeter (and the back office's, for customer data)."""
        return cls()

    @property
    def is_empty(self) -> bool:
        return not (self.group_ids or self.member_ids or self.billing_account_ids)


def billing_account_in(
    perimeter: Perimeter, billing_account_id: Any, member_id: Any
) -> ColumnElement[bool]:
    """The predicate "this row's billing account is in the perimeter".

    Rows carry their member denormalised (kept consistent by a composite foreign key), so a
    USER's or ADMIN's scope needs no join.
    """
    clauses: list[ColumnElement[bool]] = []
    if perimeter.billing_account_ids:
        clauses.append(billing_account_id.in_(sorted(perimeter.billing_account_ids)))
    if perimeter.member_ids:
        clauses.append(member_id.in_(sorted(perimeter.member_ids)))
    if perimeter.group_ids:
        clauses.append(member_id.in_(members_of_groups(perimeter.group_ids)))
    return sa.or_(*clauses) if clauses else sa.false()


def members_of_groups(group_ids: frozenset[int] | set[int]) -> Any:
    """`SELECT members.id` of these groups: what an ADMIN grant reaches (and manages)."""
    return select(Member.id).where(col(Member.group_id).in_(sorted(group_ids)))


def site_in(perimeter: Perimeter) -> ColumnElement[bool]:
    """The predicate "this site is in the perimeter", for statements that select from sites
    with further criteria (the parc filter). A site past its retention is in no perimeter."""
    inside = billing_account_in(perimeter, Site.billing_account_id, Site.member_id)
    if perimeter.served_since is None:
        return inside
    return sa.and_(inside, _none_of(col(Site.id), expired_sites(perimeter.served_since)))


def site_served(since: date, supply_end: Any) -> ColumnElement[bool]:
    """The predicate "this site's contract ended on `since` or later, or has not ended"."""
    return sa.or_(supply_end.is_(None), supply_end >= since)


def _none_of(column: Any, expired: sa.Select[Any]) -> ColumnElement[bool]:
    """`column NOT IN (expired)`, skipped outright when `expired` is empty: the EXISTS is
    uncorrelated, so the database computes it once per statement, and once
    `comptoir purge-expired` has run (daily) no row pays for a probe at all."""
    return sa.or_(~expired.exists(), column.not_in(expired))


# The aliases of the retention subqueries, made once: an alias builds a proxy of every column
# of its table (measured 1.9 ms of CPU per request when made per statement).
_EXPIRED_SITE = SITES.alias("expired_sites")
_EXPIRED_SHARE = SHARES.alias("expired_shares")
_KEPT_SHARE, _KEPT_SITE = SHARES.alias("kept_shares"), SITES.alias("kept_sites")


def expired_sites(since: date) -> sa.Select[Any]:
    """`SELECT id FROM sites` whose contract ended before `since`: a handful of rows found
    through the supply_end index, so `id NOT IN (…)` costs next to nothing (measured on the
    full demo, bench/retention_bench.py; `supply_end IS NULL OR supply_end >= …` on every
    row cost 4× the plain count). An alias: an outer statement on sites must not absorb it."""
    site = _EXPIRED_SITE
    return sa.select(site.c.id).where(site.c.supply_end < since)


def expired_invoices(since: date) -> sa.Select[Any]:
    """`SELECT invoice_id` of the invoices whose every site's contract ended before `since`
    (an invoice that also covers a served site stays). Starts from the few expired sites and
    checks their invoices only, so it is cheap whatever the number of invoices."""
    share, site = _EXPIRED_SHARE, _EXPIRED_SITE
    other_share, other_site = _KEPT_SHARE, _KEPT_SITE
    covers_a_served_site = sa.exists().where(
        other_share.c.invoice_id == share.c.invoice_id,
        other_site.c.id == other_share.c.site_id,
        site_served(since, other_site.c.supply_end),
    )
    return (
        sa.select(share.c.invoice_id)
        .select_from(share.join(site, site.c.id == share.c.site_id))
        .where(site.c.supply_end < since, ~covers_a_served_site)
    )


def scoped_sites(perimeter: Perimeter, *columns: Any) -> Any:
    """`SELECT … FROM sites` limited to the perimeter: the Site objects when no column is
    named. Built with sqlmodel's `select`, so `session.exec` yields scalars for one column."""
    selected = columns or (Site,)
    return select(*selected).where(site_in(perimeter))


def scoped_billing_accounts(perimeter: Perimeter, *columns: Any) -> Any:
    selected = columns or (BillingAccount,)
    return select(*selected).where(
        billing_account_in(perimeter, BillingAccount.id, BillingAccount.member_id)
    )


def scoped_members(perimeter: Perimeter, *columns: Any) -> Any:
    """Members the perimeter reaches at least one billing account of."""
    selected = columns or (Member,)
    reachable = scoped_billing_accounts(perimeter, BillingAccount.member_id)
    return select(*selected).where(col(Member.id).in_(reachable))


def scoped_groups(perimeter: Perimeter, *columns: Any) -> Any:
    """Groups the perimeter reaches at least one member of."""
    selected = columns or (Group,)
    return select(*selected).where(col(Group.id).in_(scoped_members(perimeter, Member.group_id)))


def scoped_meters(perimeter: Perimeter, *columns: Any) -> Any:
    selected = columns or (Meter,)
    return select(*selected).where(col(Meter.site_id).in_(scoped_sites(perimeter, Site.id)))


def scoped_invoices(perimeter: Perimeter, *columns: Any) -> sa.Select[Any]:
    """`SELECT … FROM invoices JOIN billing_accounts` limited to the perimeter (Core rows).

    An invoice belongs to the perimeter through its billing account; further joins (member,
    group, per-site rows) are added by the caller with `.join(...)`.
    """
    statement = (
        sa.select(*columns)
        .select_from(INVOICES.join(ACCOUNTS, ACCOUNTS.c.id == INVOICES.c.billing_account_id))
        .where(billing_account_in(perimeter, ACCOUNTS.c.id, ACCOUNTS.c.member_id))
    )
    if perimeter.served_since is not None:
        statement = statement.where(
            _none_of(INVOICES.c.id, expired_invoices(perimeter.served_since))
        )
    return statement


def scoped_invoice_sites(perimeter: Perimeter, *columns: Any) -> sa.Select[Any]:
    """An invoice's per-site rows (`invoice_sites`) whose invoice is in the perimeter (and,
    past a retention cut-off, whose own site is still served)."""
    statement = scoped_invoices(perimeter, *columns).join(
        SHARES, SHARES.c.invoice_id == INVOICES.c.id
    )
    if perimeter.served_since is not None:
        statement = statement.where(
            _none_of(SHARES.c.site_id, expired_sites(perimeter.served_since))
        )
    return statement


def scoped_invoice_lines(perimeter: Perimeter, *columns: Any) -> sa.Select[Any]:
    """An invoice's lines (`invoice_lines`) read on their own, whose invoice is in the
    perimeter. (Lines loaded for invoices already selected need no second scope.)"""
    return scoped_invoices(perimeter, *columns).join(LINES, LINES.c.invoice_id == INVOICES.c.id)


def scoped_readings(perimeter: Perimeter, *columns: Any) -> Any:
    """Readings of the perimeter's sites (the Reading objects when no column is named)."""
    selected = columns or (Reading,)
    return select(*selected).where(col(Reading.site_id).in_(scoped_sites(perimeter, Site.id)))


def scoped_alerts(perimeter: Perimeter, *columns: Any) -> Any:
    """Alerts on the perimeter's sites."""
    selected = columns or (Alert,)
    return select(*selected).where(col(Alert.site_id).in_(scoped_sites(perimeter, Site.id)))


def scoped_technical_requests(perimeter: Perimeter, *columns: Any) -> Any:
    """Technical requests of the perimeter. A request carries its member and, when it is
    about a site or an account, that billing account: a request without one (a new site not
    yet attached) is its member's business, seen by USER and ADMIN grants only."""
    selected = columns or (TechnicalRequest,)
    return select(*selected).where(
        billing_account_in(
            perimeter, TechnicalRequest.billing_account_id, TechnicalRequest.member_id
        )
    )


def scoped_self_care_requests(perimeter: Perimeter, *columns: Any) -> Any:
    """Self-care requests of the perimeter: through their billing account when they name
    one, otherwise (a change of legal name or address) their member's, as above."""
    selected = columns or (SelfCareRequest,)
    return select(*selected).where(
        billing_account_in(perimeter, SelfCareRequest.billing_account_id, SelfCareRequest.member_id)
    )


def member_held(perimeter: Perimeter, member_id: Any) -> ColumnElement[bool]:
    """The predicate "this member is held whole by the perimeter" (a USER's member, an
    ADMIN's group): what may see and change the member itself (its legal name, its address)."""
    clauses: list[ColumnElement[bool]] = []
    if perimeter.member_ids:
        clauses.append(member_id.in_(sorted(perimeter.member_ids)))
    if perimeter.group_ids:
        clauses.append(member_id.in_(members_of_groups(perimeter.group_ids)))
    return sa.or_(*clauses) if clauses else sa.false()


def scoped_held_members(perimeter: Perimeter, *columns: Any) -> Any:
    """Members the perimeter holds whole (see `member_held`)."""
    selected = columns or (Member,)
    return select(*selected).where(member_held(perimeter, Member.id))


def scoped_optimisation_proposals(perimeter: Perimeter, *columns: Any) -> Any:
    """Tariff optimisation proposals of the perimeter's sites (a proposal carries its site's
    billing account and member, as requests do)."""
    selected = columns or (OptimisationProposal,)
    return select(*selected).where(
        billing_account_in(
            perimeter, OptimisationProposal.billing_account_id, OptimisationProposal.member_id
        )
    )


def scoped_invoice_disputes(perimeter: Perimeter, *columns: Any) -> Any:
    """Invoice disputes of the perimeter: through the disputed invoice's billing account (and
    its member), carried on the dispute row."""
    selected = columns or (InvoiceDispute,)
    return select(*selected).where(
        billing_account_in(perimeter, InvoiceDispute.billing_account_id, InvoiceDispute.member_id)
    )


def scoped_held_billing_accounts(perimeter: Perimeter, *columns: Any) -> Any:
    """Billing accounts of the members the perimeter holds whole (a USER's, an ADMIN's group's):
    what the account statement may be asked on directly."""
    selected = columns or (BillingAccount,)
    return select(*selected).where(member_held(perimeter, BillingAccount.member_id))


def scoped_contacts(perimeter: Perimeter, *columns: Any) -> Any:
    """The contacts ("vos interlocuteurs") a perimeter reads: the supplier's (no group), those
    of the groups it reaches (no member) and those of the members it reaches."""
    selected = columns or (Contact,)
    return select(*selected).where(
        sa.or_(
            col(Contact.group_id).is_(None),
            sa.and_(
                col(Contact.member_id).is_(None),
                col(Contact.group_id).in_(scoped_groups(perimeter, Group.id)),
            ),
            col(Contact.member_id).in_(scoped_members(perimeter, Member.id)),
        )
    )


def scoped_collection_campaigns(perimeter: Perimeter, *columns: Any) -> Any:
    """Collection campaigns of the groups the perimeter holds (an ADMIN's: the coordinator's
    view). A member's people reach their journey, never the campaign's other members."""
    selected = columns or (CollectionCampaign,)
    groups = sorted(perimeter.group_ids)
    return select(*selected).where(
        col(CollectionCampaign.group_id).in_(groups) if groups else sa.false()
    )


def scoped_collection_journeys(perimeter: Perimeter, *columns: Any) -> Any:
    """Collection journeys of the members the perimeter holds whole: a USER's own member's,
    an ADMIN's group's. Billing-account grants (infra-users, third parties) reach none."""
    selected = columns or (CollectionJourney,)
    return select(*selected).where(member_held(perimeter, CollectionJourney.member_id))
