"""Row builders: members, billing accounts, sites, meters, readings, invoices, alerts.

Everything comes from one `random.Random(seed)` consumed in a fixed order, and ids are given
here, so the same (scale, seed, as_of) always yields the same rows. Rows are plain dicts
ready for SQLAlchemy Core `insert()`; they are yielded member by member so the full scale
never sits in memory at once.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from demo import identifiers as ids
from demo import names
from demo.billing import BuiltInvoice, SitePeriod, SiteTariff, build_invoice, site_charges
from demo.meters import (
    MeterSim,
    digits_for,
    lay_readings,
    month_end_dates,
    starting_index,
    to_kwh,
    true_totals,
)
from demo.plan import MemberLayout, Scale, member_layouts, plan_for
from domain.consumption_profile import monthly_shares

Row = dict[str, Any]
Batch = tuple[str, list[Row]]

WINDOW_MONTHS = 24
GAS_KINDS = ("GAZPAR", "GAS_CONVENTIONAL")

# Fixed ids of the demo logins (users are created first, so anything may point at them).
ADMIN_ID, MEMBER_USER_ID, INFRA_USER_ID, THIRD_PARTY_ID, OPERATOR_ID = 1, 2, 3, 4, 5
GROUP_ID = 1
DEMO_MEMBER_ID = 1  # the largest electricity member

ODDITIES = (
    "rollover",
    "replacement",
    "zero_credit",
    "zero_comm",
    "missing",
    "excessive",
    "terminated",
    "terminating",
    "cancellation",
    "self_rejected",
)


def instant(day: date, hour: int = 6, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


@dataclass(slots=True)
class SiteInfo:
    """What later steps (requests, grants) need to know of a site."""

    id: int
    member_id: int
    account_id: int
    energy: str
    segment: str
    point_number: str
    communicating: bool
    street: str
    postcode: str
    city: str
    kva: Decimal | None
    tariff_option: str


@dataclass(slots=True)
class MemberInfo:
    id: int
    energy: str
    legal_name: str
    commune: str
    postcode: str
    street: str
    email_domain: str
    account_ids: list[int] = field(default_factory=list)
    account_labels: dict[int, str] = field(default_factory=dict)
    account_delivery: dict[int, str] = field(default_factory=dict)
    account_address: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    sites: list[SiteInfo] = field(default_factory=list)


@dataclass(slots=True)
class _Site:
    """A site being built: its row, its meters and its consumption."""

    row: Row
    segment: str
    oddity: str | None
    registers: list[str]
    hc_share: float
    kinds: list[str]  # meter kinds over time (two when replaced)
    account_slot: int = -1
    consumption: dict[str, list[int]] = field(default_factory=dict)
    meters: list[MeterSim] = field(default_factory=list)
    last_k: int = WINDOW_MONTHS
    zero_from: int | None = None
    excess_from: int | None = None
    missing_after: int | None = None
    phase: int = 1
    tariff: SiteTariff | None = None


class DemoGenerator:
    """Builds the demo rows for one (scale, seed, as_of)."""

    def __init__(self, scale: Scale, seed: int, as_of: date, password_hash: str) -> None:
        self.scale = scale
        self.plan = plan_for(scale)
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.password_hash = password_hash
        self.window_start = add_months(date(as_of.year, as_of.month, 1), -WINDOW_MONTHS)
        self.ends = month_end_dates(self.window_start)  # k = 0..24
        self.starts = [add_months(self.window_start, m) for m in range(WINDOW_MONTHS + 1)]
        self.next_id: dict[str, int] = {}
        self.invoice_seq: dict[str, int] = {}
        self.members: list[MemberInfo] = []
        self.layouts = member_layouts(scale, self.rng)
        self.communes = names.commune_names(len(self.layouts), self.rng)
        self.siren_serials: dict[str, int] = {}
        self.point_counter = {"GAS": 0, "ELECTRICITY": 0}
        self.meter_counter = 0
        self.oddity_plan = self._plan_oddities()
        self._instants: dict[date, datetime] = {}
        self.sites_by_segment: dict[str, int] = {}

    # -- helpers ---------------------------------------------------------------------------

    def new_id(self, table: str) -> int:
        value = self.next_id.get(table, 0) + 1
        self.next_id[table] = value
        return value

    def created(self, day: date) -> datetime:
        value = self._instants.get(day)
        if value is None:
            value = self._instants[day] = instant(day + timedelta(days=1), 5)
        return value

    def _plan_oddities(self) -> dict[int, list[str]]:
        """Which member gets which planted oddity: spread over members with room for them."""
        roomy = [i for i, layout in enumerate(self.layouts) if sum(layout.sites.values()) >= 5]
        self.rng.shuffle(roomy)
        plan: dict[int, list[str]] = {}
        cursor = 0
        for oddity in ODDITIES:
            for _ in range(self.plan.oddities):
                plan.setdefault(roomy[cursor % len(roomy)], []).append(oddity)
                cursor += 1
        # The demo member always shows a bit of everything its users can act on.
        plan.setdefault(0, []).extend(["zero_credit", "missing"])
        return plan

    # -- the whole thing -------------------------------------------------------------------

    def batches(self) -> Iterator[Batch]:
        yield "groups", [self._group()]
        yield "users", self._users()
        for index, layout in enumerate(self.layouts):
            yield from self._member(index, layout)
        yield from self._grants()
        from demo.requests import RequestBuilder

        yield from RequestBuilder(self).batches()

    def _group(self) -> Row:
        return {
            "id": GROUP_ID,
            "code": "SDE41",
            "name": "Syndicat départemental d'énergie de Loir-et-Cher",
            "coordinator_name": "SDE 41 – service achats d'énergie",
            "customer_service_email": "service.client@energie-collectivites.fr",
            "customer_service_phone": "09 70 81 41 41",
            "created_at": instant(self.window_start - timedelta(days=400), 9),
        }

    def _users(self) -> list[Row]:
        from demo.load import DEMO_LOGINS

        since = instant(self.window_start - timedelta(days=30), 9)
        rows = []
        for index, login in enumerate(DEMO_LOGINS, start=1):
            self.new_id("users")
            rows.append(
                {
                    "id": index,
                    "email": login.email,
                    "full_name": login.full_name,
                    "phone": names.phone(self.rng),
                    "password_hash": self.password_hash,
                    "status": "ACTIVE",
                    "last_login_at": None,
                    "created_at": since,
                }
            )
        extras = [
            ("claire.morel@sde41.fr", "Claire Morel", "ACTIVE"),
            ("paul.girard@mairie-blois.fr", "Paul Girard", "INVITED"),
            ("sophie.roux@mairie-blois.fr", "Sophie Roux", "SUSPENDED"),
        ]
        for email, full_name, status in extras:
            rows.append(
                {
                    "id": self.new_id("users"),
                    "email": email,
                    "full_name": full_name,
                    "phone": None,
                    "password_hash": None if status == "INVITED" else self.password_hash,
                    "status": status,
                    "last_login_at": None,
                    "created_at": since,
                }
            )
        return rows

    # -- one member ------------------------------------------------------------------------

    def _member(self, index: int, layout: MemberLayout) -> Iterator[Batch]:
        rng = self.rng
        member_id = self.new_id("members")
        commune, postcode = self.communes[index]
        n_sites = sum(layout.sites.values())
        kind, legal_name = self._legal_name(index, layout, commune, n_sites)
        serial = self.siren_serials.get(ids.SIREN_PREFIXES[kind], 0) + 1
        self.siren_serials[ids.SIREN_PREFIXES[kind]] = serial
        siren = ids.siren(kind, serial * 37 % 10_000)
        street = names.street_address(rng)
        domain = f"{names.ascii_slug(commune)}.fr"
        switched_on = self.window_start - timedelta(days=rng.randint(40, 900))
        member_row = {
            "id": member_id,
            "group_id": GROUP_ID,
            "customer_number": ids.customer_number(index),
            "legal_name": legal_name,
            "siren": siren,
            "street": street,
            "postcode": postcode,
            "city": commune,
            "contact_email": f"energie@{domain}",
            "switched_on": switched_on,
            "created_at": instant(switched_on - timedelta(days=20), 10),
        }
        info = MemberInfo(member_id, layout.energy, legal_name, commune, postcode, street, domain)
        self.members.append(info)

        sites = self._sites(layout, info, switched_on, self.oddity_plan.get(index, []))
        accounts = self._accounts(layout, info, siren, sites, kind)
        out: dict[str, list[Row]] = {
            k: []
            for k in ("meters", "readings", "invoices", "invoice_lines", "invoice_sites", "alerts")
        }
        site_rows = []
        for site in sites:
            account = accounts[site.account_slot]
            site.row["billing_account_id"] = account["id"]
            site_rows.append(site.row)
            row = site.row
            info.sites.append(
                SiteInfo(
                    row["id"],
                    info.id,
                    account["id"],
                    row["energy"],
                    site.segment,
                    row["point_number"],
                    site.kinds[-1] in ("GAZPAR", "LINKY"),
                    row["street"],
                    row["postcode"],
                    row["city"],
                    row["subscribed_power_kva"],
                    row["tariff_option"],
                )
            )
            self._simulate(site, info, out)
        yield "members", [member_row]
        yield "billing_accounts", accounts
        yield "sites", site_rows
        yield "meters", out["meters"]
        yield "readings", out["readings"]
        for account in accounts:
            members_sites = [s for s in sites if s.row["billing_account_id"] == account["id"]]
            self._invoices(account, members_sites, out)
        yield "invoices", out["invoices"]
        yield "invoice_lines", out["invoice_lines"]
        yield "invoice_sites", out["invoice_sites"]
        yield "alerts", out["alerts"]

    def _legal_name(
        self, index: int, layout: MemberLayout, commune: str, n_sites: int
    ) -> tuple[str, str]:
        rng = self.rng
        if index == 0 or n_sites >= 40:
            return "commune", f"Commune de {commune}"
        roll = rng.random()
        if layout.energy == "GAS" and layout.sites.get("T3", 0) and roll < 0.3:
            return "health", f"Centre hospitalier de {commune}"
        if roll < 0.62:
            return "commune", f"Commune de {commune}"
        if roll < 0.70:
            return "epci", f"Communauté de communes {rng.choice(_EPCI_NAMES)} – {commune}"
        if roll < 0.76:
            return "ccas", f"Centre communal d'action sociale de {commune}"
        if roll < 0.84:
            return "school", f"Collège {rng.choice(names.NOTABLES)} de {commune}"
        if roll < 0.90:
            return "health", f"EHPAD {rng.choice(_EHPAD_NAMES)} de {commune}"
        if roll < 0.95:
            return "syndicat", f"Syndicat intercommunal des eaux de {commune}"
        return "syndicat", f"SIVOS de {commune}"

    # -- sites -----------------------------------------------------------------------------

    def _sites(
        self, layout: MemberLayout, info: MemberInfo, switched_on: date, oddities: list[str]
    ) -> list[_Site]:
        rng = self.rng
        sites: list[_Site] = []
        local = layout.energy == "ELECTRICITY" and info.id % 97 == 50
        for segment in ("T3", "T2", "T1", "C5"):
            for _ in range(layout.sites.get(segment, 0)):
                sites.append(self._site(segment, info, switched_on, local))
                self.sites_by_segment[segment] = self.sites_by_segment.get(segment, 0) + 1
        # Planted oddities go on distinct sites, never on T3 (always read, always billed).
        candidates = [i for i, s in enumerate(sites) if s.segment != "T3"]
        rng.shuffle(candidates)
        for oddity, slot in zip(oddities, candidates, strict=False):
            self._apply_oddity(sites[slot], oddity)
        return sites

    def _site(self, segment: str, info: MemberInfo, switched_on: date, local: bool) -> _Site:
        rng = self.rng
        energy = "GAS" if segment != "C5" else "ELECTRICITY"
        counter = self.point_counter[energy]
        self.point_counter[energy] = counter + 1
        lighting = False
        kva: Decimal | None = None
        if energy == "GAS":
            point = ids.pce(counter)
            car = {
                "T1": lambda: rng.randint(1_500, 5_900),
                "T2": lambda: int(6_000 * (50 ** rng.random() ** 1.6)),
                "T3": lambda: int(300_000 * (16.6 ** rng.random() ** 1.5)),
            }[segment]()
            profile = {
                "T1": rng.choice(("P011", "P012")),
                "T2": rng.choice(("P012", "P013", "P014")),
                "T3": rng.choice(("P014", "P015", "P016")),
            }[segment]
            registers = ["BASE"]
            option, transport = segment, f"ATRD7 {segment}"
            connection = "Moyenne pression" if segment == "T3" else "Basse pression"
            kinds = ["GAZPAR" if segment == "T3" or rng.random() < 0.8 else "GAS_CONVENTIONAL"]
            designation = rng.choice(names.GAS_DESIGNATIONS)
            distributor, distributor_name = "GRDF", "GRDF"
        else:
            point = ids.prm(counter)
            lighting = rng.random() < 0.3
            kva = Decimal(
                rng.choice(
                    (3, 6, 6, 9, 9, 12) if lighting else (3, 6, 9, 9, 12, 12, 15, 18, 24, 30, 36)
                )
            )
            hours = rng.uniform(1_800, 4_200) if lighting else rng.uniform(500, 1_700)
            car = max(1_500, min(60_000, int(float(kva) * hours * 0.9)))
            hphc = not lighting and rng.random() < 0.45
            registers = ["HP", "HC"] if hphc else ["BASE"]
            option = "HP/HC" if hphc else "BASE"
            transport = "MU4" if hphc else "CU4"
            profile = (
                "EP1"
                if lighting
                else (rng.choice(("RES2", "PRO2")) if hphc else rng.choice(("RES1", "PRO1")))
            )
            connection = "BT ≤ 36 kVA"
            kinds = ["LINKY" if rng.random() < 0.85 else "ELECTROMECHANICAL"]
            designation = rng.choice(
                names.LIGHTING_DESIGNATIONS if lighting else names.ELECTRICITY_DESIGNATIONS
            )
            if local:
                distributor, distributor_name = "LOCAL", "Régie d'électricité de Mer"
            else:
                distributor, distributor_name = "ENEDIS", "Enedis"
        designation = designation.format(
            notable=rng.choice(names.NOTABLES),
            n=rng.randint(1, 40),
            street=rng.choice(names.STREETS).split(" ", 2)[-1].capitalize(),
        )[:35]
        site_id = self.new_id("sites")
        referenced = rng.random() < 0.7
        green = rng.choices((0, 10, 50, 100), (80, 8, 7, 5))[0]
        supply_start = min(switched_on + timedelta(days=rng.randint(0, 30)), self.ends[0])
        row: Row = {
            "id": site_id,
            "member_id": info.id,
            "billing_account_id": None,
            "energy": energy,
            "point_number": point,
            "distributor": distributor,
            "distributor_name": distributor_name,
            "segment": segment,
            "tariff_option": option,
            "transport_tariff": transport,
            "connection": connection,
            "subscribed_power_kva": kva,
            "car_kwh": car,
            "profile": profile,
            "green_share_pct": green,
            "street": names.street_address(rng) if rng.random() < 0.8 else info.street,
            "postcode": info.postcode,
            "city": info.commune,
            "status": "ACTIVE",
            "supply_start": supply_start,
            "supply_end": None,
            "internal_code": (
                f"{'EP' if lighting else 'BAT'}-{rng.randint(1, 999):03d}" if referenced else None
            ),
            "designation": designation if referenced or rng.random() < 0.5 else None,
            "other_reference": (
                rng.choice(
                    (
                        f"Marché 2024-EN-{rng.randint(1, 99):03d} lot 2",
                        "Budget annexe eau",
                        "Imputation 6061",
                        f"Bâtiment n° {rng.randint(1, 120)}",
                    )
                )
                if referenced and rng.random() < 0.5
                else None
            ),
            "created_at": instant(supply_start - timedelta(days=10), 10),
            "updated_at": None,
        }
        site = _Site(
            row=row,
            segment=segment,
            oddity=None,
            registers=registers,
            hc_share=rng.uniform(0.3, 0.42),
            kinds=kinds,
        )
        site.tariff = SiteTariff(energy, segment, transport, kva, reduced_vat=segment != "T3")
        site.phase = rng.choice((1, 3, 5))
        return site

    def _apply_oddity(self, site: _Site, oddity: str) -> None:
        rng = self.rng
        site.oddity = oddity
        gas = site.row["energy"] == "GAS"
        old_kind = "GAS_CONVENTIONAL" if gas else "ELECTROMECHANICAL"
        new_kind = "GAZPAR" if gas else "LINKY"
        if oddity == "replacement":
            site.kinds = [old_kind, new_kind]
        elif oddity in ("zero_credit", "missing", "self_rejected"):
            site.kinds = [old_kind]
        elif oddity in ("zero_comm", "excessive", "cancellation"):
            site.kinds = [new_kind]
        if oddity == "zero_credit":
            # Big enough that four months of estimates outweigh the fixed charges.
            site.row["car_kwh"] = max(site.row["car_kwh"], 12_000)
            site.phase = 1
            site.zero_from = 8  # right after the actual reading at the end of month 7
        elif oddity == "zero_comm":
            site.zero_from = WINDOW_MONTHS - rng.randint(4, 7)
        elif oddity == "excessive":
            site.excess_from = WINDOW_MONTHS - 3
        elif oddity == "missing":
            site.missing_after = site.phase + 6  # month index of the last actual reading
        elif oddity == "terminated":
            t = rng.choice((11, 13, 15, 17))  # an odd month: a bimonthly period end
            site.last_k = t + 1
            site.row["status"] = "TERMINATED"
            site.row["supply_end"] = self.ends[t + 1]
        elif oddity == "terminating":
            site.row["status"] = "TERMINATING"
            site.row["supply_end"] = add_months(
                self.as_of.replace(day=1), rng.randint(1, 3)
            ) - timedelta(days=1)

    # -- billing accounts ------------------------------------------------------------------

    def _accounts(
        self, layout: MemberLayout, info: MemberInfo, siren: str, sites: list[_Site], kind: str
    ) -> list[Row]:
        rng = self.rng
        groups: list[tuple[str, str, list[_Site]]] = []  # (label, frequency, sites)
        mono = [s for s in sites if s.oddity in ("zero_credit", "cancellation")]
        rest = [s for s in sites if s.oddity not in ("zero_credit", "cancellation")]
        spare = [rng.random() < 0.08 and s.segment != "T3" for s in rest]
        mono += [s for s, alone in zip(rest, spare, strict=True) if alone]
        rest = [s for s, alone in zip(rest, spare, strict=True) if not alone]
        t3 = [s for s in rest if s.segment == "T3"]
        rest = [s for s in rest if s.segment != "T3"]
        if t3:
            groups.append(("Chaufferies T3", "MONTHLY", t3))
        if rest:
            if layout.energy == "GAS":
                labels = list(_GAS_LABELS)
            else:
                labels = list(_ELECTRICITY_LABELS)
                if kind != "commune":
                    labels = ["Budget principal", "Bâtiments", "Annexes"]
            count = max(1, min(len(labels), round(len(rest) ** 0.5 / 2)))
            monthly = layout.energy == "ELECTRICITY" and len(rest) > 60 and rng.random() < 0.5
            buckets: list[list[_Site]] = [[] for _ in range(count)]
            for i, site in enumerate(rest):
                lighting = site.row["profile"] == "EP1"
                slot = 1 if lighting and count > 1 else (i % count)
                buckets[slot].append(site)
            for i, bucket in enumerate(buckets):
                if bucket:
                    groups.append(
                        (labels[i], "MONTHLY" if monthly and i == 0 else "BIMONTHLY", bucket)
                    )
        for site in mono:
            label = (site.row["designation"] or f"Site {site.row['point_number'][-6:]}")[:30]
            groups.append((label, "BIMONTHLY", [site]))

        rows = []
        for slot, (label, frequency, members_sites) in enumerate(groups):
            account_id = self.new_id("billing_accounts")
            delivery = rng.choices(("POST", "EMAIL", "CHORUS_PRO"), (50, 20, 30))[0]
            chorus = delivery == "CHORUS_PRO"
            segments = sorted({s.segment for s in members_sites})
            typology = (
                f"{'Gaz' if layout.energy == 'GAS' else 'Électricité'} "
                f"{'/'.join(segments)} – {'multisite' if len(members_sites) > 1 else 'monosite'}"
            )
            billing_street = (
                info.street if rng.random() < 0.8 else "Service comptabilité, " + info.street
            )
            rows.append(
                {
                    "id": account_id,
                    "member_id": info.id,
                    "number": ids.billing_account_number(account_id),
                    "energy": layout.energy,
                    "invoice_label": label[:30],
                    "is_multi_site": len(members_sites) > 1,
                    "payment_method": rng.choices(
                        ("TRANSFER", "PUBLIC_ACCOUNTING_MANDATE", "DIRECT_DEBIT"), (70, 20, 10)
                    )[0],
                    "billing_frequency": frequency,
                    "invoice_delivery": delivery,
                    "billing_street": billing_street[:200],
                    "billing_postcode": info.postcode,
                    "billing_city": info.commune,
                    "recipient_siret": ids.siret(siren, 1 + (slot % 3)),
                    "chorus_service_code": rng.choice(
                        ("FINANCES", "SERVICES-TECHNIQUES", "COMPTABILITE")
                    )
                    if chorus
                    else None,
                    "chorus_commitment_number": (
                        f"EJ{self.as_of.year - 1}-{rng.randint(1, 9999):05d}"
                        if chorus and rng.random() < 0.5
                        else None
                    ),
                    "segment_typology": typology[:40],
                    "created_at": instant(self.window_start - timedelta(days=60), 10),
                }
            )
            info.account_ids.append(account_id)
            info.account_labels[account_id] = label[:30]
            info.account_delivery[account_id] = delivery
            info.account_address[account_id] = (billing_street[:200], info.postcode, info.commune)
            for site in members_sites:
                site.account_slot = slot
        return rows

    # -- meters and readings ---------------------------------------------------------------

    def _simulate(self, site: _Site, info: MemberInfo, out: dict[str, list[Row]]) -> None:
        rng = self.rng
        row = site.row
        shares = monthly_shares(row["profile"])
        car = row["car_kwh"]
        gas = row["energy"] == "GAS"
        coefficient = (
            Decimal(rng.randint(1_095_000, 1_145_000)) / 100_000 if gas else Decimal("1.00000")
        )
        # True consumption per month, per register, in the meter's native unit.
        kwh = []
        for m in range(WINDOW_MONTHS):
            value = car * float(shares[self.starts[m].month - 1]) * rng.uniform(0.86, 1.14)
            if site.zero_from is not None and m >= site.zero_from:
                value = 0.0
            if site.excess_from is not None and m >= site.excess_from:
                value *= rng.uniform(2.6, 3.2)
            kwh.append(value)
        for register in site.registers:
            part = (
                1.0
                if register == "BASE"
                else (site.hc_share if register == "HC" else 1 - site.hc_share)
            )
            native = [round(v * part / float(coefficient)) for v in kwh]
            site.consumption[register] = native
        expected = [0.0]
        for m in range(WINDOW_MONTHS):
            expected.append(expected[-1] + float(shares[self.starts[m].month - 1]))

        swap = None
        if len(site.kinds) == 2:
            swap = site.phase + 6 + 1  # the position (k) of the old meter's last reading
        spans = (
            [(site.kinds[0], 0, swap), (site.kinds[1], swap, site.last_k)]
            if swap
            else [(site.kinds[0], 0, site.last_k)]
        )
        two_years = max(sum(v) for v in site.consumption.values())
        for number, (kind, k_from, k_to) in enumerate(spans):
            self.meter_counter += 1
            communicating = kind in ("GAZPAR", "LINKY")
            digits = digits_for(kind, two_years)
            if number == 0:
                start = {r: starting_index(rng, digits, two_years) for r in site.registers}
                if site.oddity == "rollover":
                    # Close to the maximum: the index wraps some months into the window.
                    first = site.registers[0]
                    months = rng.randint(4, 12)
                    start[first] = 10**digits - sum(site.consumption[first][:months]) + 1
                    start[first] = max(10**digits - two_years // 2, start[first])
            else:
                start = {r: rng.randint(0, 40) for r in site.registers}
            meter = MeterSim(
                id=self.new_id("meters"),
                kind=kind,
                serial=ids.meter_serial(kind, self.meter_counter),
                communicating=communicating,
                digits=digits,
                registers=site.registers,
                coefficient=coefficient,
                k_from=k_from,
                k_to=k_to,
                start=start,
            )
            if communicating:
                meter.actual_ks = set(range(k_from, k_to + 1))
            else:
                meter.actual_ks = {
                    k for k in range(k_from, k_to + 1) if (k - 1) % 6 == site.phase and k >= 1
                }
                meter.actual_ks |= (
                    {k_from, k_to} if (swap or site.last_k < WINDOW_MONTHS) else {k_from}
                )
                if site.missing_after is not None:
                    meter.actual_ks = {k for k in meter.actual_ks if k <= site.missing_after + 1}
            true_totals(meter, site.consumption)
            lay_readings(meter, expected)
            site.meters.append(meter)
            installed_on = (
                self.ends[k_from]
                if number
                else date(2012 + rng.randint(0, 10), rng.randint(1, 12), 1)
            )
            out["meters"].append(
                {
                    "id": meter.id,
                    "site_id": row["id"],
                    "serial": meter.serial,
                    "kind": kind,
                    "is_communicating": communicating,
                    "digits": digits,
                    "registers": list(site.registers),
                    "reading_coefficient": coefficient,
                    "installed_on": min(installed_on, self.ends[k_from]),
                    "removed_on": self.ends[k_to] if swap and number == 0 else None,
                }
            )
            self._readings(site, meter, info, out, replaced=bool(swap), first=number == 0)
        self._alerts(site, info, out)

    def _readings(
        self,
        site: _Site,
        meter: MeterSim,
        info: MemberInfo,
        out: dict[str, list[Row]],
        *,
        replaced: bool,
        first: bool,
    ) -> None:
        rng = self.rng
        gas = site.row["energy"] == "GAS"
        estimated_source = "SUPPLIER_ESTIMATED" if gas else "DISTRIBUTOR_ESTIMATED"
        modulus = 10**meter.digits
        site_id = site.row["id"]
        # Self-readings: on some estimated months of non-communicating meters, sent before
        # the 20th so they count in the next billing cycle.
        self_months: dict[int, str] = {}
        if not meter.communicating:
            estimated = [
                k for k in range(meter.k_from + 1, meter.k_to + 1) if k not in meter.actual_ks
            ]
            if site.oddity == "self_rejected" and estimated:
                self_months[estimated[-1]] = "REJECTED"
            if estimated and rng.random() < 0.3:
                for k in rng.sample(estimated, min(len(estimated), rng.randint(1, 2))):
                    self_months.setdefault(k, "ACCEPTED")
        submitter = MEMBER_USER_ID if info.id == DEMO_MEMBER_ID else None
        readings = out["readings"]
        self_dates = {k: self.ends[k] - timedelta(days=rng.randint(11, 14)) for k in self_months}
        for register in meter.registers:
            shown = meter.shown[register]
            previous_turns = shown[meter.k_from] // modulus
            for k in range(meter.k_from, meter.k_to + 1):
                if k in self_months:
                    low, high = shown[k - 1], shown[k]
                    value = low + (high - low) * 3 // 5
                    turns = value // modulus
                    read_on = self_dates[k]
                    status = self_months[k]
                    readings.append(
                        {
                            "id": self.new_id("readings"),
                            "site_id": site_id,
                            "meter_id": meter.id,
                            "register_code": register,
                            "read_on": read_on,
                            "index_value": value % modulus,
                            "source": "SELF_READING",
                            "rollover": turns > previous_turns,
                            "submitted_by_user_id": submitter,
                            "self_reading_status": status,
                            "rejection_reason": (
                                "Photo du compteur illisible, merci de renouveler la saisie"
                                if status == "REJECTED"
                                else None
                            ),
                            "confirmation_emails": [info_email(info)],
                            "created_at": instant(read_on, 8, 30),
                        }
                    )
                    previous_turns = turns
                value = shown[k]
                turns = value // modulus
                if (k == meter.k_from and not first) or (k == meter.k_to and replaced and first):
                    source = "SPECIAL"  # meter change: removal and installation indexes
                elif k in meter.actual_ks:
                    source = "DISTRIBUTOR_ACTUAL"
                else:
                    source = estimated_source
                readings.append(
                    {
                        "id": self.new_id("readings"),
                        "site_id": site_id,
                        "meter_id": meter.id,
                        "register_code": register,
                        "read_on": self.ends[k],
                        "index_value": value % modulus,
                        "source": source,
                        "rollover": turns > previous_turns,
                        "submitted_by_user_id": None,
                        "self_reading_status": None,
                        "rejection_reason": None,
                        "confirmation_emails": None,
                        "created_at": self.created(self.ends[k]),
                    }
                )
                previous_turns = turns

    # -- invoices --------------------------------------------------------------------------

    def _invoices(self, account: Row, sites: list[_Site], out: dict[str, list[Row]]) -> None:
        monthly = account["billing_frequency"] == "MONTHLY"
        step = 1 if monthly else 2
        t3 = any(s.segment == "T3" for s in sites)
        billed_since: dict[int, dict[str, int]] = {s.row["id"]: {} for s in sites}
        cancel = any(s.oddity == "cancellation" for s in sites)
        built_invoices: list[tuple[Row, BuiltInvoice]] = []
        for m0 in range(0, WINDOW_MONTHS, step):
            m1 = m0 + step - 1
            run = self.starts[m1 + 1] + timedelta(days=9 if t3 else 0)
            if run > self.as_of:
                break
            periods = []
            for site in sites:
                period = self._site_period(site, m0, m1, billed_since[site.row["id"]])
                if period is not None:
                    periods.append(period)
            if not periods:
                continue
            built = build_invoice(periods)
            invoice = self._invoice_row(account, built, self.starts[m0], self.ends[m1 + 1], run)
            built_invoices.append((invoice, built))
            self._emit_invoice(invoice, built, out)
        if cancel:
            old = [
                (inv, b)
                for inv, b in built_invoices
                if inv["kind"] == "INVOICE"
                and inv["accounting_date"] < self.as_of - timedelta(days=120)
            ]
            if old:
                self._cancel_and_reissue(account, *old[len(old) // 2], out)

    def _site_period(
        self, site: _Site, m0: int, m1: int, billed_since: dict[str, int]
    ) -> SitePeriod | None:
        k0, k1 = m0, min(m1 + 1, site.last_k)
        if k1 <= k0:
            return None
        months = k1 - k0
        meter = next(mt for mt in site.meters if mt.k_from <= k0 and k1 <= mt.k_to)
        row = site.row
        assert site.tariff is not None
        energy: dict[str, int] = {}
        regul: dict[str, int] = {}
        if meter.communicating:
            basis = "ACTUAL"
            for r in meter.registers:
                energy[r] = to_kwh(meter.true[r][k1] - meter.true[r][k0], meter.coefficient)
        else:
            shares = monthly_shares(row["profile"])
            estimate = round(
                row["car_kwh"] * float(sum(shares[self.starts[m].month - 1] for m in range(k0, k1)))
            )
            for r in meter.registers:
                part = 1.0 if r == "BASE" else (site.hc_share if r == "HC" else 1 - site.hc_share)
                energy[r] = round(estimate * part)
            if k1 in meter.actual_ks:
                basis = "ACTUAL"
                last = max([k for k in meter.actual_ks if k <= k0] or [meter.k_from])
                for r in meter.registers:
                    actual = to_kwh(meter.true[r][k1] - meter.true[r][last], meter.coefficient)
                    regul[r] = actual - billed_since.get(r, 0) - energy[r]
                    billed_since[r] = 0
            else:
                basis = "ESTIMATED"
                for r in meter.registers:
                    billed_since[r] = billed_since.get(r, 0) + energy[r]
        modulus = 10**meter.digits
        return SitePeriod(
            site_id=row["id"],
            charges=site_charges(site.tariff, self.starts[m0], months, energy, regul),
            consumption_kwh=sum(energy.values()) + sum(regul.values()),
            basis=basis,
            meter_serial=meter.serial,
            previous_index_on=self.ends[k0],
            current_index_on=self.ends[k1],
            register_indexes=[
                {
                    "register": r,
                    "previous": meter.shown[r][k0] % modulus,
                    "current": meter.shown[r][k1] % modulus,
                }
                for r in meter.registers
            ],
        )

    def _number(self, prefix: str, day: date) -> str:
        key = f"{prefix}{day.year}{day.month:02d}"
        seq = self.invoice_seq.get(key, 0) + 1
        self.invoice_seq[key] = seq
        return f"{key}{seq:06d}"

    def _invoice_row(
        self, account: Row, built: BuiltInvoice, start: date, end: date, run: date
    ) -> Row:
        rng = self.rng
        negative = built.total_incl_tax < 0
        due = run + timedelta(days=30)
        if due < self.as_of:
            payment = "PAID" if rng.random() < 0.96 else rng.choice(("PARTIALLY_PAID", "UNPAID"))
        else:
            payment = "UNPAID" if rng.random() < 0.85 else "PARTIALLY_PAID"
        if negative and payment == "PARTIALLY_PAID":
            payment = "UNPAID"
        edition = (
            "PENDING"
            if run + timedelta(days=7) > self.as_of
            else (
                "REPRINTED"
                if account["invoice_delivery"] == "CHORUS_PRO" and rng.random() < 0.03
                else "ISSUED"
            )
        )
        return {
            "id": self.new_id("invoices"),
            "number": self._number("AV" if negative else "FA", run),
            "billing_account_id": account["id"],
            "energy": account["energy"],
            "kind": "CREDIT_NOTE" if negative else "INVOICE",
            "accounting_date": run,
            "period_start": start,
            "period_end": end,
            "index_basis": built.basis,
            "consumption_kwh": built.consumption_kwh,
            "total_excl_tax": built.total_excl_tax,
            "vat_reduced": built.vat_reduced,
            "vat_standard": built.vat_standard,
            "total_incl_tax": built.total_incl_tax,
            "due_date": due,
            "delivery_mode": account["invoice_delivery"],
            "edition_status": edition,
            "payment_status": payment,
            "cancels_invoice_id": None,
            "pdf_key": None,
            "created_at": instant(run, 4),
        }

    def _emit_invoice(self, invoice: Row, built: BuiltInvoice, out: dict[str, list[Row]]) -> None:
        out["invoices"].append(invoice)
        for position, line in enumerate(built.lines, start=1):
            out["invoice_lines"].append(
                {
                    "id": self.new_id("invoice_lines"),
                    "invoice_id": invoice["id"],
                    "position": position,
                    **line,
                }
            )
        for site_row in built.sites:
            out["invoice_sites"].append(
                {"id": self.new_id("invoice_sites"), "invoice_id": invoice["id"], **site_row}
            )

    def _cancel_and_reissue(
        self, account: Row, original: Row, built: BuiltInvoice, out: dict[str, list[Row]]
    ) -> None:
        """A disputed invoice (wrong SIRET): a cancellation invoice, then a corrected one."""
        original["payment_status"] = "CANCELLED"
        day = original["accounting_date"] + timedelta(days=rng_days(self.rng))
        negated = BuiltInvoice(
            lines=[
                {
                    **line,
                    "quantity": -line["quantity"] if line["quantity"] is not None else None,
                    "vat_base": -line["vat_base"] if line["vat_base"] is not None else None,
                    "amount": -line["amount"],
                }
                for line in built.lines
            ],
            sites=[
                {
                    **row,
                    "consumption_kwh": -row["consumption_kwh"],
                    **{key: -row[key] for key in _SITE_AMOUNTS},
                }
                for row in built.sites
            ],
            total_excl_tax=-built.total_excl_tax,
            vat_reduced=-built.vat_reduced,
            vat_standard=-built.vat_standard,
            total_incl_tax=-built.total_incl_tax,
            consumption_kwh=-built.consumption_kwh,
            basis=built.basis,
        )
        cancellation = {
            **original,
            "id": self.new_id("invoices"),
            "number": self._number("AN", day),
            "kind": "CANCELLATION",
            "accounting_date": day,
            "due_date": day + timedelta(days=30),
            "consumption_kwh": negated.consumption_kwh,
            "total_excl_tax": negated.total_excl_tax,
            "vat_reduced": negated.vat_reduced,
            "vat_standard": negated.vat_standard,
            "total_incl_tax": negated.total_incl_tax,
            "payment_status": "PAID",
            "edition_status": "ISSUED",
            "cancels_invoice_id": original["id"],
            "created_at": instant(day, 4),
        }
        self._emit_invoice(cancellation, negated, out)
        corrected = {
            **original,
            "id": self.new_id("invoices"),
            "number": self._number("FA", day),
            "accounting_date": day,
            "due_date": day + timedelta(days=30),
            "edition_status": "ISSUED",
            "payment_status": "PAID" if day + timedelta(days=30) < self.as_of else "UNPAID",
            "created_at": instant(day, 4, 5),
        }
        self._emit_invoice(corrected, built, out)

    # -- alerts ----------------------------------------------------------------------------

    def _alerts(self, site: _Site, info: MemberInfo, out: dict[str, list[Row]]) -> None:
        rng = self.rng
        row = site.row
        point = row["point_number"]
        label = "PCE" if row["energy"] == "GAS" else "PRM"
        found: list[tuple[str, date, str, dict[str, Any]]] = []
        if site.zero_from is not None:
            since = self.starts[site.zero_from]
            detected = self.ends[min(site.zero_from + 3, WINDOW_MONTHS)] + timedelta(days=2)
            if detected <= self.as_of:
                found.append(
                    (
                        "ZERO_CONSUMPTION",
                        detected,
                        f"Consommation nulle depuis le {since:%d/%m/%Y} sur le {label} {point}",
                        {"since": since.isoformat(), "months": WINDOW_MONTHS - site.zero_from},
                    )
                )
        if site.oddity == "zero_credit":
            detected = self.ends[site.zero_from + 6] + timedelta(days=5)
            found.append(
                (
                    "NEGATIVE_CONSUMPTION",
                    detected,
                    f"Consommation négative facturée après régularisation sur le {label} {point}",
                    {"period_end": self.ends[site.zero_from + 6].isoformat()},
                )
            )
        if site.missing_after is not None:
            last = self.ends[site.missing_after + 1]
            detected = add_months(last, 7)
            if detected <= self.as_of:
                found.append(
                    (
                        "MISSING_DISTRIBUTOR_READING",
                        detected,
                        f"Aucun relevé réel du distributeur depuis le {last:%d/%m/%Y} "
                        f"sur le {label} {point}",
                        {"last_actual_reading_on": last.isoformat()},
                    )
                )
        if site.excess_from is not None:
            month = self.starts[site.excess_from]
            expected = round(
                row["car_kwh"] * float(monthly_shares(row["profile"])[month.month - 1])
            )
            found.append(
                (
                    "EXCESSIVE_CONSUMPTION",
                    self.ends[site.excess_from + 1] + timedelta(days=2),
                    f"Consommation très supérieure à la consommation de référence sur le "
                    f"{label} {point}",
                    {"month": month.isoformat(), "expected_kwh": expected, "ratio": "2.8"},
                )
            )
        for kind, detected, message, details in found:
            age = (self.as_of - detected).days
            status = (
                "RESOLVED"
                if age > 200 and rng.random() < 0.7
                else "ACKNOWLEDGED"
                if age > 30 and rng.random() < 0.5
                else "OPEN"
            )
            acknowledged = status != "OPEN"
            out["alerts"].append(
                {
                    "id": self.new_id("alerts"),
                    "site_id": row["id"],
                    "kind": kind,
                    "status": status,
                    "detected_on": detected,
                    "message": message[:300],
                    "details": details,
                    "acknowledged_by_user_id": (
                        MEMBER_USER_ID if info.id == DEMO_MEMBER_ID else ADMIN_ID
                    )
                    if acknowledged
                    else None,
                    "acknowledged_at": instant(detected + timedelta(days=3), 9)
                    if acknowledged
                    else None,
                    "resolved_at": instant(detected + timedelta(days=40), 9)
                    if status == "RESOLVED"
                    else None,
                    "notified_at": instant(detected, 7),
                    "created_at": instant(detected, 6),
                }
            )

    # -- access ----------------------------------------------------------------------------

    def _grants(self) -> Iterator[Batch]:
        demo = self.members[DEMO_MEMBER_ID - 1]
        others = [m for m in self.members[1:] if m.account_ids]
        third_party_members = [others[0], others[1], next(m for m in others if m.energy == "GAS")]
        created = instant(self.window_start - timedelta(days=20), 9)
        grants = [
            (ADMIN_ID, "ADMIN", GROUP_ID, None, True),
            (MEMBER_USER_ID, "USER", None, demo.id, True),
            (INFRA_USER_ID, "INFRA_USER", None, demo.id, True),
            (THIRD_PARTY_ID, "THIRD_PARTY", GROUP_ID, None, False),
            (OPERATOR_ID, "OPERATOR", None, None, True),
            (6, "ADMIN", GROUP_ID, None, True),
            (7, "USER", None, demo.id, True),
            (8, "USER", None, demo.id, True),
        ]
        rows = []
        for user_id, tier, group_id, member_id, may_submit in grants:
            rows.append(
                {
                    "id": self.new_id("access_grants"),
                    "user_id": user_id,
                    "tier": tier,
                    "group_id": group_id,
                    "member_id": member_id,
                    "may_submit": may_submit,
                    "granted_by_user_id": None if tier in ("ADMIN", "OPERATOR") else ADMIN_ID,
                    "created_at": created,
                    "suspended_at": created + timedelta(days=200) if user_id == 8 else None,
                    "revoked_at": None,
                }
            )
        yield "access_grants", rows
        limited = [(3, demo.account_ids[:2])]
        limited.append((4, [m.account_ids[0] for m in third_party_members]))
        yield (
            "grant_billing_accounts",
            [
                {"grant_id": grant_id, "billing_account_id": account_id}
                for grant_id, accounts in limited
                for account_id in accounts
            ],
        )


def info_email(info: MemberInfo) -> str:
    return f"energie@{info.email_domain}"


def rng_days(rng: random.Random) -> int:
    return rng.randint(10, 15)


_SITE_AMOUNTS = (
    "subscription_amount",
    "energy_amount",
    "transport_amount",
    "taxes_amount",
    "total_excl_tax",
    "vat_amount",
    "total_incl_tax",
)
_EPCI_NAMES = (
    "du Grand Chambord",
    "Val de Cher-Controis",
    "des Collines du Perche",
    "Beauce Val de Loire",
    "Cœur de Sologne",
    "du Perche et Haut Vendômois",
    "Sologne des Rivières",
    "des Territoires Vendômois",
)
_EHPAD_NAMES = (
    "Les Tilleuls",
    "Le Clos Fleuri",
    "La Roseraie",
    "Les Jardins de la Loire",
    "Résidence du Parc",
    "Les Hauts de Sologne",
)
_ELECTRICITY_LABELS = (
    "Budget principal",
    "Éclairage public",
    "Écoles",
    "Eau et assainissement",
    "Bâtiments sportifs",
    "Bâtiments culturels",
    "Services techniques",
    "Logements communaux",
)
_GAS_LABELS = ("Bâtiments communaux", "Groupe scolaire", "Équipements sportifs", "Logements")


def fingerprint_of(point_numbers: list[str], invoice_totals: list[tuple[str, Decimal]]) -> str:
    """A cheap digest of what must not change between two runs with the same inputs."""
    digest = hashlib.sha256()
    for point in sorted(point_numbers):
        digest.update(point.encode())
    for number, total in sorted(invoice_totals):
        digest.update(f"{number}={total}".encode())
    return digest.hexdigest()
