"""Sites at the edge of data retention (domain/retention.py), so the rule can be seen on the
demo: a dissolved water syndicate of the main group whose three sites' supply ended long ago —
one past the five years (no longer served; `comptoir purge-expired` lists it), one a few weeks
short of them (readable, about to go), one four years ago (readable). Each keeps its meter and
its first and last index. Built after everything else, so no earlier id or row depends on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from demo import identifiers as ids
from demo.logins import GROUP_ID
from demo.shapes import Batch, Row, instant
from demo.state import BuildState
from domain.billing import add_months_clamped

# (days before as_of the supply ended, designation)
ENDINGS = (
    (5 * 365 + 120, "Station de pompage (fermée)"),  # past the five years: not served
    (5 * 365 - 30, "Château d'eau des Grouëts"),  # readable about a month more
    (4 * 365, "Réservoir de la Chaussée"),  # readable
)


def retention_batches(state: BuildState, point_counter: dict[str, int]) -> Iterator[Batch]:
    as_of = state.as_of
    member_id = state.new_id("members")
    account_id = state.new_id("billing_accounts")
    siren = ids.siren("syndicat", 9990)
    created = instant(as_of - timedelta(days=10 * 365), 9)
    yield (
        "members",
        [
            {
                "id": member_id,
                "group_id": GROUP_ID,
                "customer_number": "CL41999990",
                "legal_name": "Syndicat intercommunal des eaux de la Cisse (dissous)",
                "siren": siren,
                "street": "2 rue de la Mairie",
                "postcode": "41350",
                "city": "Vineuil",
                "contact_email": None,
                "switched_on": (as_of - timedelta(days=10 * 365)),
                "created_at": created,
            }
        ],
    )
    yield (
        "billing_accounts",
        [
            {
                "id": account_id,
                "member_id": member_id,
                "number": "CC4199999001",
                "energy": "ELECTRICITY",
                "invoice_label": "Eaux de la Cisse",
                "is_multi_site": True,
                "payment_method": "PUBLIC_ACCOUNTING_MANDATE",
                "billing_frequency": "BIMONTHLY",
                "invoice_delivery": "POST",
                "billing_street": "2 rue de la Mairie",
                "billing_postcode": "41350",
                "billing_city": "Vineuil",
                "recipient_siret": ids.siret(siren, 1),
                "chorus_service_code": None,
                "chorus_commitment_number": None,
                "segment_typology": "Électricité C5 – multisite",
                "created_at": created,
            }
        ],
    )
    sites: list[Row] = []
    meters: list[Row] = []
    readings: list[Row] = []
    for position, (days, designation) in enumerate(ENDINGS):
        site_id = state.new_id("sites")
        meter_id = state.new_id("meters")
        counter = point_counter["ELECTRICITY"]
        point_counter["ELECTRICITY"] = counter + 1
        ended = as_of - timedelta(days=days)
        started = add_months_clamped(ended, -72)
        sites.append(
            {
                "id": site_id,
                "member_id": member_id,
                "billing_account_id": account_id,
                "energy": "ELECTRICITY",
                "point_number": ids.prm(counter),
                "distributor": "ENEDIS",
                "distributor_name": "Enedis",
                "segment": "C5",
                "tariff_option": "BASE",
                "transport_tariff": "CU4",
                "connection": "BT ≤ 36 kVA",
                "subscribed_power_kva": 12,
                "car_kwh": 18_000 + 4_000 * position,
                "profile": "PRO1",
                "green_share_pct": 0,
                "street": f"{3 + position} chemin de la Cisse",
                "postcode": "41350",
                "city": "Vineuil",
                "status": "TERMINATED",
                "supply_start": started,
                "supply_end": ended,
                "internal_code": f"EAU-{position + 1:03d}",
                "designation": designation,
                "other_reference": None,
                "created_at": instant(started, 9),
                "updated_at": instant(ended, 9),
            }
        )
        meters.append(
            {
                "id": meter_id,
                "site_id": site_id,
                "serial": f"CBR{990_000_000 + counter % 10_000_000:09d}",
                "kind": "ELECTROMECHANICAL",
                "is_communicating": False,
                "digits": 6,
                "registers": ["BASE"],
                "reading_coefficient": 1,
                "installed_on": started,
                "removed_on": None,  # a terminated site keeps its meter, as in the parc
            }
        )
        for day, index in (
            (started, 10_000 * (position + 1)),
            (ended, 10_000 * (position + 1) + 96_000),
        ):
            readings.append(
                {
                    "id": state.new_id("readings"),
                    "site_id": site_id,
                    "meter_id": meter_id,
                    "register_code": "BASE",
                    "read_on": day,
                    "index_value": index,
                    "source": "DISTRIBUTOR_ACTUAL",
                    "rollover": False,
                    "submitted_by_user_id": None,
                    "self_reading_status": None,
                    "rejection_reason": None,
                    "confirmation_emails": None,
                    "created_at": instant(day + timedelta(days=1), 5),
                }
            )
    yield "sites", sites
    yield "meters", meters
    yield "readings", readings
