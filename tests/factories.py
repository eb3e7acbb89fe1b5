"""Small, valid objects for tests: one tenant's group → member → billing account → site → meter."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import (
    AccessGrant,
    Alert,
    BillingAccount,
    Contact,
    GrantBillingAccount,
    Group,
    Invoice,
    InvoiceLine,
    InvoiceSite,
    Member,
    Meter,
    Reading,
    Site,
    User,
)
from domain.billing import site_parts_of
from domain.enums import (
    GAS_SEGMENTS,
    AlertKind,
    AlertStatus,
    BillingFrequency,
    ContactRole,
    Distributor,
    EditionStatus,
    Energy,
    InvoiceDelivery,
    InvoiceKind,
    MeterKind,
    PaymentMethod,
    PaymentStatus,
    ReadingSource,
    Register,
    Segment,
    SelfReadingStatus,
    SiteStatus,
    Tier,
    UserStatus,
)

_sequence = itertools.count(1)


@dataclass(frozen=True)
class Tenant:
    group: Group
    member: Member
    billing_account: BillingAccount
    site: Site
    meter: Meter


async def make_tenant(sessions: async_sessionmaker[AsyncSession], name: str = "Test") -> Tenant:
    n = next(_sequence)
    async with sessions() as session, session.begin():
        group = Group(
            code=f"G{n:05d}",
            name=f"Groupement {name}",
            coordinator_name=f"Syndicat {name}",
        )
        session.add(group)
        await session.flush()
        # The group's customer service, as the migration moved it from the group's row.
        session.add(
            Contact(
                group_id=group.id,
                role=ContactRole.CUSTOMER_SERVICE,
                name=f"Service clients — Groupement {name}",
                email="service@example.org",
                phone="0102030405",
                opening_hours="du lundi au vendredi, de 8 h 30 à 17 h 30",
            )
        )
        member = Member(
            group_id=group.id,
            customer_number=f"C{n:08d}",
            legal_name=f"Commune de {name}",
            siren=f"{200000000 + n:09d}",
            street="1 place de la Mairie",
            postcode="29000",
            city=name,
        )
        session.add(member)
        await session.flush()
        account = BillingAccount(
            member_id=member.id,
            number=f"BA{n:08d}",
            energy=Energy.ELECTRICITY,
            invoice_label=f"Mairie {name}"[:30],
            payment_method=PaymentMethod.TRANSFER,
            billing_frequency=BillingFrequency.BIMONTHLY,
            invoice_delivery=InvoiceDelivery.POST,
            billing_street="1 place de la Mairie",
            billing_postcode="29000",
            billing_city=name,
            recipient_siret=f"{200000000 + n:09d}00011",
            segment_typology="C5 BT ≤ 36 kVA",
        )
        session.add(account)
        await session.flush()
        site = Site(
            member_id=member.id,
            billing_account_id=account.id,
            energy=Energy.ELECTRICITY,
            point_number=f"{30000000000000 + n:014d}",
            distributor=Distributor.ENEDIS,
            distributor_name="Enedis",
            segment=Segment.C5,
            tariff_option="BASE",
            transport_tariff="CU4",
            car_kwh=12000,
            profile="PRO1",
            street="2 rue de l'École",
            postcode="29000",
            city=name,
            status=SiteStatus.ACTIVE,
            supply_start=date(2024, 1, 1),
        )
        session.add(site)
        await session.flush()
        meter = Meter(
            site_id=site.id,
            serial=f"LK{n:010d}",
            kind=MeterKind.LINKY,
            is_communicating=True,
            digits=6,
            registers=[Register.BASE],
            installed_on=date(2020, 5, 4),
        )
        session.add(meter)
    return Tenant(group, member, account, site, meter)


# One argon2 hash shared by every test person: hashing costs ~100 ms each.
TEST_PASSWORD = "Velo-rouge-sur-la-digue-42"
_TEST_PASSWORD_HASH: str | None = None


def test_password_hash() -> str:
    global _TEST_PASSWORD_HASH
    if _TEST_PASSWORD_HASH is None:
        from auth.passwords import hash_password

        _TEST_PASSWORD_HASH = hash_password(TEST_PASSWORD)
    return _TEST_PASSWORD_HASH


@dataclass(frozen=True)
class World:
    """A tenant with two members and a person of every customer tier, plus one operator.

    member (USER's) → billing accounts `accounts[0]` and `accounts[1]`, one site each;
    other_member → `accounts[2]` with one site. INFRA_USER holds accounts[0]; THIRD_PARTY
    holds accounts[0] and accounts[2] (read-only).
    """

    name: str
    group: Group
    member: Member
    other_member: Member
    accounts: tuple[BillingAccount, ...]
    sites: tuple[Site, ...]
    people: dict[str, User]  # tier value → person
    grants: dict[str, AccessGrant]

    def email(self, tier: str) -> str:
        return self.people[tier].email


async def make_person(
    sessions: async_sessionmaker[AsyncSession],
    email: str,
    *,
    tier: Tier | None = None,
    group_id: int | None = None,
    member_id: int | None = None,
    billing_account_ids: tuple[int, ...] = (),
    may_submit: bool = True,
    status: UserStatus = UserStatus.ACTIVE,
) -> tuple[User, AccessGrant | None]:
    async with sessions() as session, session.begin():
        user = User(
            email=email.lower(),
            full_name=email.split("@")[0].replace(".", " ").title(),
            password_hash=test_password_hash() if status is not UserStatus.INVITED else None,
            status=status,
        )
        session.add(user)
        await session.flush()
        grant = None
        if tier is not None:
            grant = AccessGrant(
                user_id=user.id,
                tier=tier,
                group_id=group_id,
                member_id=member_id,
                may_submit=may_submit,
            )
            session.add(grant)
            await session.flush()
            for account_id in billing_account_ids:
                session.add(GrantBillingAccount(grant_id=grant.id, billing_account_id=account_id))
    return user, grant


async def make_world(sessions: async_sessionmaker[AsyncSession], name: str) -> World:
    n = next(_sequence)
    first = await make_tenant(sessions, name)
    async with sessions() as session, session.begin():
        second_account = BillingAccount.model_validate(
            first.billing_account.model_dump(exclude={"id"})
            | {"number": f"BA{n:08d}B", "invoice_label": f"Écoles {name}"[:30]}
        )
        session.add(second_account)
        other_member = Member.model_validate(
            first.member.model_dump(exclude={"id"})
            | {
                "customer_number": f"C{n:08d}B",
                "legal_name": f"CCAS de {name}",
                "siren": f"{300000000 + n:09d}",
            }
        )
        session.add(other_member)
        await session.flush()
        third_account = BillingAccount.model_validate(
            first.billing_account.model_dump(exclude={"id"})
            | {
                "number": f"BA{n:08d}C",
                "member_id": other_member.id,
                "invoice_label": f"CCAS {name}"[:30],
            }
        )
        session.add(third_account)
        await session.flush()
        sites = [first.site]
        for k, account in enumerate((second_account, third_account), start=1):
            site = Site.model_validate(
                first.site.model_dump(exclude={"id"})
                | {
                    "billing_account_id": account.id,
                    "member_id": account.member_id,
                    "point_number": f"{40000000000000 + n * 10 + k:014d}",
                }
            )
            session.add(site)
            sites.append(site)
        await session.flush()
        for k, site in enumerate(sites[1:], start=1):  # every site has its meter
            session.add(
                Meter.model_validate(
                    first.meter.model_dump(exclude={"id"})
                    | {"site_id": site.id, "serial": f"LW{n:08d}{k:02d}"}
                )
            )
    accounts = (first.billing_account, second_account, third_account)
    slug = f"{name.lower()}{n}"
    people: dict[str, User] = {}
    grants: dict[str, AccessGrant] = {}
    specs = {
        Tier.ADMIN: {"group_id": first.group.id},
        Tier.USER: {"member_id": first.member.id},
        Tier.INFRA_USER: {"member_id": first.member.id, "billing_account_ids": (accounts[0].id,)},
        Tier.THIRD_PARTY: {
            "group_id": first.group.id,
            "may_submit": False,
            "billing_account_ids": (accounts[0].id, accounts[2].id),
        },
    }
    for tier, scope in specs.items():
        user, grant = await make_person(
            sessions, f"{tier.value.lower()}@{slug}.test", tier=tier, **scope
        )  # type: ignore[arg-type]
        people[tier.value] = user
        grants[tier.value] = grant  # type: ignore[assignment]
    return World(
        name, first.group, first.member, other_member, accounts, tuple(sites), people, grants
    )


# (date, register, index, source, rollover) — a reading laid down by `make_metered_site`.
ReadingSpec = tuple[date, Register, int, ReadingSource, bool]


async def make_metered_site(
    sessions: async_sessionmaker[AsyncSession],
    account: BillingAccount,
    *,
    kind: MeterKind = MeterKind.ELECTROMECHANICAL,
    registers: tuple[Register, ...] = (Register.BASE,),
    digits: int = 5,
    segment: Segment = Segment.C5,
    car_kwh: int = 12000,
    profile: str = "PRO1",
    coefficient: Decimal = Decimal(1),
    status: SiteStatus = SiteStatus.ACTIVE,
    readings: Sequence[ReadingSpec] = (),
) -> tuple[Site, Meter]:
    """A site of `account` with one current meter (non-communicating by default: an
    electromechanical C5 meter) and the given readings."""
    n = next(_sequence)
    gas = segment in GAS_SEGMENTS
    async with sessions() as session, session.begin():
        site = Site(
            member_id=account.member_id,
            billing_account_id=account.id,
            energy=Energy.GAS if gas else Energy.ELECTRICITY,
            point_number=f"{50000000000000 + n:014d}",
            distributor=Distributor.GRDF if gas else Distributor.ENEDIS,
            distributor_name="GRDF" if gas else "Enedis",
            segment=segment,
            tariff_option=segment.value if gas else "HP/HC" if len(registers) > 1 else "BASE",
            transport_tariff="ATRD" if gas else "CU4",
            car_kwh=car_kwh,
            profile=profile,
            street="3 rue du Stade",
            postcode="29000",
            city="Quimper",
            status=status,
            supply_start=date(2023, 1, 1),
            designation=f"Salle {n}",
        )
        session.add(site)
        await session.flush()
        meter = Meter(
            site_id=site.id,
            serial=f"EM{n:010d}",
            kind=kind,
            is_communicating=kind in (MeterKind.LINKY, MeterKind.GAZPAR, MeterKind.ELECTRONIC),
            digits=digits,
            registers=list(registers),
            reading_coefficient=coefficient,
            installed_on=date(2020, 1, 1),
        )
        session.add(meter)
        await session.flush()
        for read_on, register, index, source, rollover in readings:
            self_read = source is ReadingSource.SELF_READING
            session.add(
                Reading(
                    site_id=site.id,
                    meter_id=meter.id,
                    register_code=register,
                    read_on=read_on,
                    index_value=index,
                    source=source,
                    rollover=rollover,
                    self_reading_status=SelfReadingStatus.ACCEPTED if self_read else None,
                )
            )
    return site, meter


_invoice_sequence = itertools.count(1)


async def make_invoice(
    sessions: async_sessionmaker[AsyncSession],
    billing_account: BillingAccount,
    sites: list[Site],
    *,
    accounting_date: date,
    kwh: int = 566,
    kind: InvoiceKind = InvoiceKind.INVOICE,
    cancels: Invoice | None = None,
    pdf_key: str | None = None,
) -> Invoice:
    """A coherent invoice of `sites` (lines adding up to the totals, per-site rows adding up
    to the lines), built by the demo's invoice builder; a cancellation negates `cancels`."""
    from demo.billing import SitePeriod, build_invoice
    from domain.enums import IndexBasis, InvoiceComponent
    from domain.enums import InvoiceDelivery as Delivery

    reduced, standard = Decimal("5.50"), Decimal("20.00")
    tariff = [
        (InvoiceComponent.SUBSCRIPTION, "Abonnement fourniture", "mois", "12.34", reduced),
        (InvoiceComponent.ENERGY, "Consommation d'électricité – base", "kWh", "0.123456", standard),
        (InvoiceComponent.CAPACITY, "Mécanisme de capacité", "kWh", "0.0041", standard),
        (InvoiceComponent.TRANSPORT, "TURPE – soutirage variable", "kWh", "0.0447", standard),
        (InvoiceComponent.CTA, "Contribution tarifaire d'acheminement", "€", "0.2193", reduced),
        (InvoiceComponent.EXCISE, "Accise sur l'électricité", "kWh", "0.0337", standard),
    ]

    def charges(k: int) -> list[tuple[Any, Decimal]]:
        quantities = {"mois": Decimal(2), "kWh": Decimal(k), "€": Decimal("30.50")}
        return [
            ((component, label, unit, Decimal(price), rate), quantities[unit])
            for component, label, unit, price, rate in tariff
        ]

    periods = [
        SitePeriod(
            site_id=site.id,  # type: ignore[arg-type]
            charges=charges(kwh + 37 * i),
            consumption_kwh=kwh + 37 * i,
            basis="ACTUAL",
            meter_serial=f"LK{site.id:010d}",
            previous_index_on=date(accounting_date.year, 1, 1),
            current_index_on=accounting_date,
            register_indexes=[{"register": "BASE", "previous": 1000, "current": 1000 + kwh}],
        )
        for i, site in enumerate(sites)
    ]
    built = build_invoice(periods)
    sign = -1 if kind is not InvoiceKind.INVOICE else 1
    n = next(_invoice_sequence)
    prefix = {
        InvoiceKind.INVOICE: "FT",
        InvoiceKind.CANCELLATION: "NT",
        InvoiceKind.CREDIT_NOTE: "VT",
    }
    async with sessions() as session, session.begin():
        invoice = Invoice(
            number=f"{prefix[kind]}{billing_account.id:06d}{n:06d}",
            billing_account_id=billing_account.id,  # type: ignore[arg-type]
            energy=billing_account.energy,
            kind=kind,
            accounting_date=accounting_date,
            period_start=date(accounting_date.year, 1, 1),
            period_end=accounting_date,
            index_basis=IndexBasis.ACTUAL,
            consumption_kwh=sign * built.consumption_kwh,
            total_excl_tax=sign * built.total_excl_tax,
            vat_reduced=sign * built.vat_reduced,
            vat_standard=sign * built.vat_standard,
            total_incl_tax=sign * built.total_incl_tax,
            due_date=accounting_date,
            delivery_mode=Delivery.EMAIL,
            edition_status=EditionStatus.ISSUED,
            payment_status=PaymentStatus.UNPAID,
            cancels_invoice_id=cancels.id if cancels is not None else None,
            pdf_key=pdf_key,
        )
        session.add(invoice)
        await session.flush()
        money = ("quantity", "vat_base", "amount")
        for position, line in enumerate(built.lines, start=1):
            values = {k: (sign * v if k in money and v is not None else v) for k, v in line.items()}  # type: ignore[operator]
            session.add(InvoiceLine(invoice_id=invoice.id, position=position, **values))  # type: ignore[arg-type]
        amounts = (
            "consumption_kwh", "subscription_amount", "energy_amount", "transport_amount",
            "taxes_amount", "total_excl_tax", "vat_amount", "total_incl_tax",
        )  # fmt: skip
        parts = site_parts_of(
            {"component": line["component"], "amount": sign * line["amount"]}  # type: ignore[operator]
            for line in built.lines
        )
        for row in built.sites:
            values = {k: (sign * v if k in amounts else v) for k, v in row.items()}  # type: ignore[operator]
            values |= parts(values)
            session.add(InvoiceSite(invoice_id=invoice.id, **values))  # type: ignore[arg-type]
    return invoice


async def make_alert(
    sessions: async_sessionmaker[AsyncSession],
    site: Site,
    *,
    detected_on: date,
    kind: AlertKind = AlertKind.ZERO_CONSUMPTION,
    status: AlertStatus = AlertStatus.OPEN,
    **values: Any,
) -> Alert:
    """An alert on `site` (at most one unresolved per site and kind: the database says so);
    `values` sets any other column (evidence, threshold, who handled it…)."""
    async with sessions() as session, session.begin():
        alert = Alert(
            site_id=site.id,  # type: ignore[arg-type]
            kind=kind,
            status=status,
            detected_on=detected_on,
            message=f"Alerte {kind.value} du {detected_on:%d/%m/%Y}",
            **values,
        )
        session.add(alert)
    return alert


async def make_optimisation_proposal(
    sessions: async_sessionmaker[AsyncSession], site: Site, *, group_id: int
) -> Any:
    """An unanswered proposal T3 → T2 on `site` (figures of a 80,000 kWh site), in a campaign
    of its group of its own: for tests that need one without running the study."""
    from datetime import UTC, datetime, timedelta

    from db.models import OptimisationCampaign, OptimisationProposal
    from domain.optimisation import ConsumptionBasis, ProposalStatus
    from tests.clock import NOW, TODAY

    async with sessions() as session, session.begin():
        campaign = OptimisationCampaign(
            group_id=group_id,
            as_of=TODAY,
            threshold=Decimal("500.00"),
            grid_versions={"GAS": "ATRD7-GRDF-2026-02"},
            sites_studied=1,
            proposals=1,
            run_at=NOW.astimezone(UTC),
        )
        session.add(campaign)
        await session.flush()
        proposal = OptimisationProposal(
            campaign_id=campaign.id,  # type: ignore[arg-type]
            site_id=site.id,  # type: ignore[arg-type]
            member_id=site.member_id,
            billing_account_id=site.billing_account_id,
            energy=site.energy,
            grid_version="ATRD7-GRDF-2026-02",
            current_option="T3",
            proposed_option="T2",
            consumption_kwh=80_000,
            consumption_basis=ConsumptionBasis.CAR,
            current_cost=Decimal("2015.32"),
            proposed_cost=Decimal("969.58"),
            gross_gain=Decimal("1045.74"),
            fees=Decimal("68.50"),
            net_gain=Decimal("977.24"),
            options=[],
            proposed_on=TODAY,
            answer_by=TODAY + timedelta(days=30),
            status=ProposalStatus.PROPOSED,
            created_at=datetime.now(UTC),
        )
        session.add(proposal)
    return proposal


async def make_gas_site(
    sessions: async_sessionmaker[AsyncSession], world: World, *, account: int = 0
) -> tuple[Site, Meter]:
    """A Gazpar gas site on one of the world's billing accounts (interval data tests)."""
    n = next(_sequence)
    base = world.accounts[account]
    async with sessions() as session, session.begin():
        site = Site(
            member_id=base.member_id,
            billing_account_id=base.id,
            energy=Energy.GAS,
            point_number=f"{60000000000000 + n:014d}",
            distributor=Distributor.GRDF,
            distributor_name="GRDF",
            segment=Segment.T2,
            tariff_option="T2",
            transport_tariff="ATRD7",
            car_kwh=60000,
            profile="P012",
            street="3 rue du Gaz",
            postcode="29000",
            city=world.name,
            status=SiteStatus.ACTIVE,
            supply_start=date(2024, 1, 1),
        )
        session.add(site)
        await session.flush()
        meter = Meter(
            site_id=site.id,
            serial=f"GZ{n:010d}",
            kind=MeterKind.GAZPAR,
            is_communicating=True,
            digits=5,
            registers=[Register.BASE],
            installed_on=date(2021, 3, 1),
        )
        session.add(meter)
    return site, meter
