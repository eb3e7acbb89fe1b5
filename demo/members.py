"""Members (communes, hospitals, schools…) and their billing accounts."""

from __future__ import annotations

from datetime import date, timedelta

from demo import identifiers as ids
from demo import names
from demo.plan import MemberLayout
from demo.shapes import MemberInfo, Row, SiteDraft, instant
from demo.state import BuildState


class MemberBuilder:
    def __init__(self, state: BuildState) -> None:
        self.state = state
        self.rng = state.rng
        self.siren_serials: dict[str, int] = {}

    def member(
        self, index: int, layout: MemberLayout, commune: str, postcode: str, group_id: int
    ) -> tuple[Row, MemberInfo, str, str, date]:
        """The member's row and facts, its SIREN, its kind of body and its switch date."""
        rng = self.rng
        member_id = self.state.new_id("members")
        n_sites = sum(layout.sites.values())
        kind, legal_name = self._legal_name(index, layout, commune, n_sites)
        serial = self.siren_serials.get(ids.SIREN_PREFIXES[kind], 0) + 1
        self.siren_serials[ids.SIREN_PREFIXES[kind]] = serial
        siren = ids.siren(kind, serial * 37 % 10_000)
        street = names.street_address(rng)
        domain = f"{names.ascii_slug(commune)}.fr"
        switched_on = self.state.window_start - timedelta(days=rng.randint(40, 900))
        row = {
            "id": member_id,
            "group_id": group_id,
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
        info.siren, info.switched_on = siren, switched_on
        return row, info, siren, kind, switched_on

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

    def accounts(
        self,
        layout: MemberLayout,
        info: MemberInfo,
        siren: str,
        sites: list[SiteDraft],
        kind: str,
    ) -> list[Row]:
        """Billing accounts by budget; each site's `account_slot` says which one bills it."""
        rng = self.rng
        groups: list[tuple[str, str, list[SiteDraft]]] = []  # (label, frequency, sites)
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
            buckets: list[list[SiteDraft]] = [[] for _ in range(count)]
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
            rows.append(self._account(layout, info, siren, slot, label, frequency, members_sites))
        return rows

    def c4_account(self, info: MemberInfo, site: SiteDraft) -> Row:
        """A C4 site's own account: one invoice per site, monthly, as C4 sites are billed."""
        layout = MemberLayout("ELECTRICITY", {"C4": 1})
        slot = len(info.account_ids)
        label = site.row["designation"] or f"Site {site.row['point_number'][-6:]}"
        return self._account(layout, info, info.siren, slot, label, "MONTHLY", [site])

    def _account(
        self,
        layout: MemberLayout,
        info: MemberInfo,
        siren: str,
        slot: int,
        label: str,
        frequency: str,
        members_sites: list[SiteDraft],
    ) -> Row:
        rng = self.rng
        account_id = self.state.new_id("billing_accounts")
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
        row = {
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
            "chorus_service_code": rng.choice(("FINANCES", "SERVICES-TECHNIQUES", "COMPTABILITE"))
            if chorus
            else None,
            "chorus_commitment_number": (
                f"EJ{self.state.as_of.year - 1}-{rng.randint(1, 9999):05d}"
                if chorus and rng.random() < 0.5
                else None
            ),
            "segment_typology": typology[:40],
            "created_at": instant(self.state.window_start - timedelta(days=60), 10),
        }
        info.account_ids.append(account_id)
        info.account_labels[account_id] = label[:30]
        info.account_delivery[account_id] = delivery
        info.account_address[account_id] = (billing_street[:200], info.postcode, info.commune)
        for site in members_sites:
            site.account_slot = slot
        return row


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
