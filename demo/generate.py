"""The demo data set, builder after builder: group and users, then member by member its
accounts, sites, meters, readings, alerts and invoices, then grants and requests; then a
second, smaller group built the same way (after everything of the first, whose ids and rows
therefore do not depend on it); last, the main group's electricity C4 sites (same reason).

Rows are plain dicts ready for SQLAlchemy Core `insert()`; they are yielded member by member
so the full scale never sits in memory at once. The builders share one `BuildState` (the
random stream, the calendar, the ids) and are called in a fixed order, so the same
(scale, seed, as_of) always yields the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from demo import names
from demo.alerts import AlertBuilder
from demo.collection import CollectionBuilder
from demo.curves import CurveBuilder
from demo.disputes import DisputeBuilder
from demo.help import contact_rows
from demo.invoices import InvoiceBuilder
from demo.logins import ADMIN_ID, DEMO_MEMBER_ID, GROUP_ID, SECOND_ADMIN_ID, SECOND_GROUP_ID
from demo.members import MemberBuilder
from demo.parc import ParcBuilder, plan_oddities
from demo.people import (
    grant_batches,
    group_row,
    second_group_batches,
    second_group_grants,
    user_rows,
)
from demo.plan import SECOND_GROUP_PLANS, MemberLayout, Scale, c4_holders, member_layouts
from demo.readings import ReadingBuilder
from demo.retention import retention_batches
from demo.self_care import SelfCareBuilder
from demo.shapes import Batch, MemberInfo, Row, SiteDraft, SiteInfo
from demo.state import BuildState
from demo.tariff_grids import grid_rows
from demo.technical_requests import TechnicalRequestBuilder
from domain.enums import COMMUNICATING_METER_KINDS


class DemoGenerator:
    """Builds the demo rows for one (scale, seed, as_of)."""

    def __init__(self, scale: Scale, seed: int, as_of: date, password_hash: str) -> None:
        self.state = BuildState(scale, seed, as_of, password_hash)
        self.layouts = member_layouts(self.state.plan, self.state.rng)
        self.communes = names.commune_names(len(self.layouts), self.state.rng)
        self.oddity_plan = plan_oddities(self.state, self.layouts)
        self.members: list[MemberInfo] = []
        self.member_builder = MemberBuilder(self.state)
        self.parc = ParcBuilder(self.state)
        self.readings = ReadingBuilder(self.state)
        self.alerts = AlertBuilder(self.state)
        self.invoices = InvoiceBuilder(self.state)
        # Interval data: after everything, from its own random stream (demo/curves.py).
        self.curves = CurveBuilder(self.state, seed)

    @property
    def sites_by_segment(self) -> dict[str, int]:
        return self.parc.sites_by_segment

    def batches(self) -> Iterator[Batch]:
        yield "groups", [group_row(self.state)]
        yield "tariff_grids", grid_rows()
        yield "users", user_rows(self.state)
        for index, layout in enumerate(self.layouts):
            commune, postcode = self.communes[index]
            oddities = self.oddity_plan.get(index, [])
            yield from self._member(index, layout, commune, postcode, oddities, GROUP_ID, ADMIN_ID)
        yield from grant_batches(self.state, self.members)
        yield from TechnicalRequestBuilder(
            self.state, self.members, self.parc.point_counter
        ).batches()
        yield from SelfCareBuilder(self.state, self.members).batches()
        yield from DisputeBuilder(self.state, self.members, self.invoices).batches()
        yield from self._second_group()
        yield from self._c4_sites()
        # Last: the sites at the edge of data retention and the Help tab's contacts.
        yield from retention_batches(self.state, self.parc.point_counter)
        yield "contacts", contact_rows(self.state.as_of, [m.id for m in self.members])
        # Last of all: the collection campaign in progress (its own random stream).
        yield from CollectionBuilder(self.state, self.members).batches()

    def _second_group(self) -> Iterator[Batch]:
        yield from second_group_batches(self.state)
        layouts = member_layouts(SECOND_GROUP_PLANS[self.state.scale], self.state.rng)
        first = len(self.layouts)
        communes = names.commune_names(first + len(layouts), self.state.rng)[first:]
        for offset, (layout, (commune, postcode)) in enumerate(zip(layouts, communes, strict=True)):
            yield from self._member(
                first + offset, layout, commune, postcode, [], SECOND_GROUP_ID, SECOND_ADMIN_ID
            )
        yield second_group_grants(self.state)

    def _member(
        self,
        index: int,
        layout: MemberLayout,
        commune: str,
        postcode: str,
        oddities: list[str],
        group_id: int,
        admin_id: int,
    ) -> Iterator[Batch]:
        member_row, info, siren, kind, switched_on = self.member_builder.member(
            index, layout, commune, postcode, group_id
        )
        if group_id == GROUP_ID:  # grants and requests are the main group's
            self.members.append(info)
        sites = self.parc.sites(layout, info, switched_on, oddities)
        accounts = self.member_builder.accounts(layout, info, siren, sites, kind)
        out: dict[str, list[Row]] = {
            k: []
            for k in ("meters", "readings", "invoices", "invoice_lines", "invoice_sites", "alerts")
        }
        site_rows = []
        for site in sites:
            account = accounts[site.account_slot]
            site_rows.append(self._place(site, info, account))
            self.readings.simulate(site, info, out)
            self.curves.remember(site, demo_member=info.id == DEMO_MEMBER_ID)
            self.alerts.alerts(site, info, out, admin_id)
        yield "members", [member_row]
        yield "billing_accounts", accounts
        yield "sites", site_rows
        yield "meters", out["meters"]
        yield "readings", out["readings"]
        for account in accounts:
            account_sites = [s for s in sites if s.row["billing_account_id"] == account["id"]]
            self.invoices.invoices(account, account_sites, out)
        yield "invoices", out["invoices"]
        yield "invoice_lines", out["invoice_lines"]
        yield "invoice_sites", out["invoice_sites"]
        yield "alerts", out["alerts"]

    def _place(self, site: SiteDraft, info: MemberInfo, account: Row) -> Row:
        """The site's row, in `account`, and what later steps need to know of it."""
        row = site.row
        row["billing_account_id"] = account["id"]
        info.sites.append(
            SiteInfo(
                row["id"],
                info.id,
                account["id"],
                row["energy"],
                site.segment,
                row["point_number"],
                site.kinds[-1] in COMMUNICATING_METER_KINDS,
                row["street"],
                row["postcode"],
                row["city"],
                row["subscribed_power_kva"],
                row["tariff_option"],
            )
        )
        return row

    def _c4_sites(self) -> Iterator[Batch]:
        """Electricity C4 sites on the main group's largest electricity members, after all
        else, so no id or row built before them depends on them: each site with its own
        account billed monthly (one invoice per C4 site), its meter, readings and invoices."""
        electricity = [m for m in self.members if m.energy == "ELECTRICITY"]
        shares = c4_holders(self.state.plan, [len(m.sites) for m in electricity])
        index = 0
        for info, count in zip(electricity, shares, strict=True):
            if not count:
                continue
            assert info.switched_on is not None
            sites = []
            for _ in range(count):
                sites.append(self.parc.c4_site(info, info.switched_on, index))
                index += 1
            accounts = [self.member_builder.c4_account(info, site) for site in sites]
            out: dict[str, list[Row]] = {
                k: [] for k in ("meters", "readings", "invoices", "invoice_lines", "invoice_sites")
            }
            site_rows = []
            for site, account in zip(sites, accounts, strict=True):
                site_rows.append(self._place(site, info, account))
                self.readings.simulate(site, info, out)
                self.curves.remember(site, demo_member=False)
            for site, account in zip(sites, accounts, strict=True):
                self.invoices.invoices(account, [site], out)
            yield "billing_accounts", accounts
            yield "sites", site_rows
            yield from out.items()
