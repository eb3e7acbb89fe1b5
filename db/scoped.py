"""The perimeter of a request and the scoped query helpers that apply it in SQL.

A perimeter is what one request may reach: whole groups (ADMIN grants), whole members (USER)
and chosen billing accounts (INFRA_USER, THIRD_PARTY). `auth/` computes it once per request
from the caller's grants; every query on customer data is built from the helpers below, so
the filter is in the SQL of every statement and a forbidden object looks exactly like a
missing one. Nothing is fetched first and filtered in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from db.core import ACCOUNTS, INVOICES, LINES, SHARES
from db.models import (
    Alert,
    BillingAccount,
    CollectionCampaign,
    CollectionJourney,
    Group,
    Member,
    Meter,
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
    with further criteria (the parc filter)."""
    return billing_account_in(perimeter, Site.billing_account_id, Site.member_id)


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
    return (
        sa.select(*columns)
        .select_from(INVOICES.join(ACCOUNTS, ACCOUNTS.c.id == INVOICES.c.billing_account_id))
        .where(billing_account_in(perimeter, ACCOUNTS.c.id, ACCOUNTS.c.member_id))
    )


def scoped_invoice_sites(perimeter: Perimeter, *columns: Any) -> sa.Select[Any]:
    """An invoice's per-site rows (`invoice_sites`) whose invoice is in the perimeter."""
    return scoped_invoices(perimeter, *columns).join(SHARES, SHARES.c.invoice_id == INVOICES.c.id)


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
