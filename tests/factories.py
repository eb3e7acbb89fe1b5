"""Small, valid objects for tests: one tenant's group → member → billing account → site → meter."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import BillingAccount, Group, Member, Meter, Site
from domain.enums import (
    BillingFrequency,
    Distributor,
    Energy,
    InvoiceDelivery,
    MeterKind,
    PaymentMethod,
    Register,
    Segment,
    SiteStatus,
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
            customer_service_email="service@example.org",
            customer_service_phone="0102030405",
        )
        session.add(group)
        await session.flush()
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
