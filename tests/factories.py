"""Small, valid objects for tests: one tenant's group → member → billing account → site → meter."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import (
    AccessGrant,
    BillingAccount,
    GrantBillingAccount,
    Group,
    Member,
    Meter,
    Site,
    User,
)
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
