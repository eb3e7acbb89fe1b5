"""The parc: each member's sites (gas T1–T3, electricity C5 and C4) and the oddities planted
on them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from demo import identifiers as ids
from demo import names
from demo.billing import SiteTariff
from demo.plan import MemberLayout
from demo.shapes import WINDOW_MONTHS, MemberInfo, Row, SiteDraft, instant
from demo.state import BuildState
from domain.billing import add_months_clamped

# Electricity C4: subscribed powers (kVA), the supply option and the four registers (hours
# full and off-peak, winter and summer).
C4_KVA = (42, 48, 54, 60, 72, 84, 96, 108, 120, 144, 180, 216, 240)
C4_OPTION = "HPH/HCH/HPE/HCE"
C4_REGISTERS = ("HPH", "HCH", "HPE", "HCE")

# Planted on a few sites each, so every screen and alert has something to show.
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


def plan_oddities(state: BuildState, layouts: list[MemberLayout]) -> dict[int, list[str]]:
    """Which member gets which planted oddity: spread over members with room for them."""
    roomy = [i for i, layout in enumerate(layouts) if sum(layout.sites.values()) >= 5]
    state.rng.shuffle(roomy)
    plan: dict[int, list[str]] = {}
    cursor = 0
    for oddity in ODDITIES:
        for _ in range(state.plan.oddities):
            plan.setdefault(roomy[cursor % len(roomy)], []).append(oddity)
            cursor += 1
    # The demo member always shows a bit of everything its users can act on.
    plan.setdefault(0, []).extend(["zero_credit", "missing"])
    return plan


class ParcBuilder:
    def __init__(self, state: BuildState) -> None:
        self.state = state
        self.rng = state.rng
        self.point_counter = {"GAS": 0, "ELECTRICITY": 0}
        self.sites_by_segment: dict[str, int] = {}
        self.t3_built = 0

    def sites(
        self, layout: MemberLayout, info: MemberInfo, switched_on: date, oddities: list[str]
    ) -> list[SiteDraft]:
        rng = self.rng
        sites: list[SiteDraft] = []
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

    def _site(self, segment: str, info: MemberInfo, switched_on: date, local: bool) -> SiteDraft:
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
            if segment == "T3":
                self.t3_built += 1
                # Every third boiler room lost most of its building (a school merged, a wing
                # closed): still on T3, it now consumes like a T2 site — what the yearly
                # tariff optimisation study is for. No random draw, so the stream is unchanged.
                if self.t3_built % 3 == 1:
                    car //= 8
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
        row = self._row(
            segment,
            info,
            switched_on,
            (energy, point, distributor, distributor_name),
            (option, transport, connection, kva, car, profile),
            designation,
            "EP" if lighting else "BAT",
        )
        site = SiteDraft(
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

    def c4_site(self, info: MemberInfo, switched_on: date, index: int) -> SiteDraft:
        """A site over 36 kVA (school group, pool, treatment plant…): electronic meter read
        every month on four time-of-use registers, TURPE C4. Three in five draw reactive
        energy beyond the free allowance (tan φ above 0.4), billed on their invoices; a third
        of those fitted capacitors during the window, so their last invoices bill none."""
        rng = self.rng
        counter = self.point_counter["ELECTRICITY"]
        self.point_counter["ELECTRICITY"] = counter + 1
        kva = Decimal(rng.choice(C4_KVA))
        hours = rng.uniform(700, 2_600)
        long_use = hours > 1_800
        car = int(float(kva) * hours)
        local = info.id % 97 == 50  # the member's own distributor, as for its C5 sites
        distributor = ("LOCAL", "Régie d'électricité de Mer") if local else ("ENEDIS", "Enedis")
        row = self._row(
            "C4",
            info,
            switched_on,
            ("ELECTRICITY", ids.prm(counter), *distributor),
            (
                C4_OPTION,
                "BTSUPLU4" if long_use else "BTSUPCU4",
                "BT > 36 kVA",
                kva,
                car,
                "ENT2" if long_use else "ENT1",
            ),
            rng.choice(names.C4_DESIGNATIONS),
            "BAT",
        )
        self.sites_by_segment["C4"] = self.sites_by_segment.get("C4", 0) + 1
        site = SiteDraft(
            row=row,
            segment="C4",
            oddity=None,
            registers=list(C4_REGISTERS),
            hc_share=rng.uniform(0.22, 0.35),
            kinds=["ELECTRONIC"],
        )
        draws_reactive = index % 5 in (0, 2, 3)
        tan_phi = Decimal(rng.randint(44, 72) if draws_reactive else rng.randint(12, 36)) / 100
        compensated = (
            self.state.starts[WINDOW_MONTHS - rng.randint(5, 9)] if index % 5 == 3 else None
        )
        site.tariff = SiteTariff(
            "ELECTRICITY",
            "C4",
            row["transport_tariff"],
            kva,
            reduced_vat=False,
            tan_phi=tan_phi,
            compensated_from=compensated,
        )
        return site

    def _row(
        self,
        segment: str,
        info: MemberInfo,
        switched_on: date,
        point: tuple[str, str, str, str],  # energy, point number, distributor and its name
        supply: tuple[str, str, str, Decimal | None, int, str],  # option…kVA, CAR, profile
        designation: str,
        code_prefix: str,
    ) -> Row:
        rng = self.rng
        energy, point_number, distributor, distributor_name = point
        option, transport, connection, kva, car, profile = supply
        designation = designation.format(
            notable=rng.choice(names.NOTABLES),
            n=rng.randint(1, 40),
            street=rng.choice(names.STREETS).split(" ", 2)[-1].capitalize(),
        )[:35]
        site_id = self.state.new_id("sites")
        referenced = rng.random() < 0.7
        green = rng.choices((0, 10, 50, 100), (80, 8, 7, 5))[0]
        supply_start = min(switched_on + timedelta(days=rng.randint(0, 30)), self.state.ends[0])
        row: Row = {
            "id": site_id,
            "member_id": info.id,
            "billing_account_id": None,
            "energy": energy,
            "point_number": point_number,
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
            "internal_code": (f"{code_prefix}-{rng.randint(1, 999):03d}" if referenced else None),
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
        return row

    def _apply_oddity(self, site: SiteDraft, oddity: str) -> None:
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
            site.row["supply_end"] = self.state.ends[t + 1]
        elif oddity == "terminating":
            site.row["status"] = "TERMINATING"
            site.row["supply_end"] = add_months_clamped(
                self.state.as_of.replace(day=1), rng.randint(1, 3)
            ) - timedelta(days=1)
