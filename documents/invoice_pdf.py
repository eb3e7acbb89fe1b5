"""An invoice as a PDF, in French, rendered with fpdf2 from the invoice's data.

One job: `render_invoice_pdf(data) -> bytes`. The data is plain (no database, no GraphQL).
What a public accountant checks is all there: the supplier's legal identity (legal name,
capital, address, SIREN, SIRET, RCS, intra-EU VAT number), the recipient's references (customer
number, billing account, invoice label, SIRET, Chorus Pro codes), the lines grouped as on the
supplier's invoices (energy; transport and delivery; taxes and contributions) with their
subtotals, the VAT of each rate the lines use with its base, the totals, and per site its
point, references, address, segment, connection, subscribed power, meter and coefficient, the
old and new index of every register with their dates and the consumption history with the
CAR. A grouped invoice lists its sites in a summary table first.

Every table cell wraps (fpdf2 tables): nothing is clipped or runs into the next column. The
core Helvetica font with the Windows-1252 encoding covers French (accents, €, œ, ³, no-break
space); `_safe` maps the few other characters that occur (≤, ≥, narrow no-break space).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace
from fpdf.table import Table

from domain.billing import FAMILY_OF
from domain.enums import InvoiceComponent

KIND_TITLES = {
    "INVOICE": "Facture",
    "CANCELLATION": "Facture d'annulation",
    "CREDIT_NOTE": "Avoir",
}
ENERGY_NAMES = {"GAS": "gaz naturel", "ELECTRICITY": "électricité"}
# With the elision French wants: « de gaz naturel », « d'électricité ».
SUPPLIER_OF = {"GAS": "fournisseur de gaz naturel", "ELECTRICITY": "fournisseur d'électricité"}
PAYMENT_NAMES = {
    "TRANSFER": "virement",
    "DIRECT_DEBIT": "prélèvement automatique",
    "PUBLIC_ACCOUNTING_MANDATE": "mandat administratif",
}
# The three groups of lines of the supplier's invoices, in print order.
SECTIONS = (
    ("energy", "Fourniture d'énergie"),
    ("transport", "Acheminement et livraison"),
    ("taxes", "Taxes et contributions"),
)
_SECTION_OF_FAMILY = {"subscription": "energy", "energy": "energy"}

NBSP = "\u00a0"  # in Windows-1252, unlike the narrow no-break space
HISTORY_LENGTH = 6
PAGE_WIDTH = 182.0  # A4 minus the 14 mm margins
GREY = (235, 239, 244)
HEADING = FontFace(emphasis="BOLD", fill_color=(221, 229, 240))
SECTION_ROW = FontFace(emphasis="BOLD", fill_color=GREY)
BOLD = FontFace(emphasis="BOLD")


@dataclass(slots=True)
class PdfSupplier:
    """The supplier's legal identity (settings)."""

    name: str  # the brand, as in the mails
    legal_name: str
    share_capital: str
    address: str
    siren: str
    siret: str
    rcs: str
    vat_number: str


@dataclass(slots=True)
class PdfLine:
    label: str
    quantity: Decimal | None
    unit: str | None
    unit_price: Decimal | None
    vat_rate: Decimal
    amount: Decimal
    component: str = InvoiceComponent.ENERGY.value
    vat_base: Decimal | None = None

    @property
    def is_vat(self) -> bool:
        return self.component == InvoiceComponent.VAT


@dataclass(slots=True)
class PdfRegister:
    """The old and new index of one register, as printed by the billing system."""

    register: str  # French label
    previous: int | None
    current: int | None
    consumption: int | None  # in the meter's units (a meter turn counted once)


@dataclass(slots=True)
class PdfConsumption:
    """One invoiced consumption of a site (its history)."""

    period_start: date
    period_end: date
    consumption_kwh: int
    index_basis: str


@dataclass(slots=True)
class PdfSite:
    point_number: str
    internal_code: str | None
    designation: str | None
    address: str
    segment: str
    meter_serial: str | None
    consumption_kwh: int
    total_excl_tax: Decimal
    vat_amount: Decimal
    total_incl_tax: Decimal
    other_reference: str | None = None
    tariff_option: str | None = None
    transport_tariff: str | None = None
    connection: str | None = None
    subscribed_power_kva: Decimal | None = None
    car_kwh: int | None = None
    reading_coefficient: Decimal | None = None
    index_unit: str = "kWh"
    index_basis: str = "ACTUAL"
    previous_index_on: date | None = None
    current_index_on: date | None = None
    registers: list[PdfRegister] = field(default_factory=list)
    subscription_amount: Decimal = Decimal(0)
    energy_amount: Decimal = Decimal(0)
    transport_amount: Decimal = Decimal(0)
    taxes_amount: Decimal = Decimal(0)
    history: list[PdfConsumption] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " – ".join(x for x in (self.internal_code, self.designation) if x) or self.address


@dataclass(slots=True)
class InvoicePdfData:
    supplier: PdfSupplier
    contact_lines: list[str]  # the customer-service block (mailers.contacts)
    number: str
    kind: str
    energy: str
    accounting_date: date
    period_start: date
    period_end: date
    due_date: date
    index_basis: str
    consumption_kwh: int
    total_excl_tax: Decimal
    vat_reduced: Decimal
    vat_standard: Decimal
    total_incl_tax: Decimal
    group_name: str
    legal_name: str
    customer_number: str
    siren: str
    recipient_siret: str
    billing_account_number: str
    invoice_label: str
    billing_address: tuple[str, str, str]
    payment_method: str
    chorus_service_code: str | None = None
    chorus_commitment_number: str | None = None
    cancels_number: str | None = None
    lines: list[PdfLine] = field(default_factory=list)
    sites: list[PdfSite] = field(default_factory=list)


# -- French numbers -------------------------------------------------------------------------


def french_number(value: Decimal | int | None, places: int | None = None) -> str:
    """12345.5 → "12 345,5" (thousands grouped by a no-break space, decimal comma); `places`
    fixes the decimals, else they are those of the value without trailing zeros."""
    if value is None:
        return ""
    number = Decimal(value)
    text = f"{abs(number):.{places}f}" if places is not None else f"{abs(number).normalize():f}"
    whole, _, decimals = text.partition(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    sign = "-" if number < 0 and Decimal(text) != 0 else ""
    return sign + NBSP.join(groups) + ("," + decimals if decimals else "")


def euros(value: Decimal) -> str:
    """1234.5 → "1 234,50 €"."""
    return f"{french_number(value, 2)}{NBSP}€"


def _rate(value: Decimal) -> str:
    return f"{french_number(value)}{NBSP}%"


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _identifier(digits: str, *groups: int) -> str:
    """ "812453173" → "812 453 173" (the usual grouping of SIREN and SIRET)."""
    out, start = [], 0
    for size in groups:
        out.append(digits[start : start + size])
        start += size
    return " ".join(part for part in out if part)


_REPLACEMENTS = str.maketrans({"≤": "<=", "≥": ">=", "\u202f": NBSP, "→": ">", "…": "..."})


def _text_height(pdf: FPDF, width: float, line_height: float, text: str) -> float:
    """The height `text` takes wrapped in a cell `width` wide, measured without printing."""
    height = pdf.multi_cell(
        width, line_height, _safe(text), dry_run=True, output=MethodReturnValue.HEIGHT
    )
    # multi_cell's return type covers every `output` combination; HEIGHT alone gives a number.
    assert isinstance(height, float | int)
    return height


def _safe(text: str | None) -> str:
    """What the core font can print: a few known characters mapped, anything else outside
    Windows-1252 becomes '?'."""
    return (
        (text or "")
        .translate(_REPLACEMENTS)
        .encode("windows-1252", errors="replace")
        .decode("windows-1252")
    )


# Other documents printed with the core font (request summaries) take the same mapping.
printable = _safe


def legal_identity(supplier: PdfSupplier) -> str:
    """The mentions an invoice must carry about its issuer, on one paragraph."""
    return (
        f"{supplier.legal_name}, au capital de {supplier.share_capital} – {supplier.address} – "
        f"SIREN {_identifier(supplier.siren, 3, 3, 3)} – "
        f"SIRET {_identifier(supplier.siret, 3, 3, 3, 5)} – {supplier.rcs} – "
        f"N° de TVA intracommunautaire {supplier.vat_number}"
    )


# -- the document ---------------------------------------------------------------------------


class _Document(FPDF):
    def __init__(self, data: InvoicePdfData) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.data = data
        self.core_fonts_encoding = "windows-1252"
        self.set_auto_page_break(auto=True, margin=34)
        self.set_margins(14, 14, 14)
        self.set_title(f"{KIND_TITLES.get(data.kind, 'Facture')} {data.number}")
        self.set_author(data.supplier.legal_name)
        self.set_creator("comptoir")

    def footer(self) -> None:
        d = self.data
        self.set_y(-31)
        self.set_draw_color(180)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1)
        self.set_font("helvetica", size=6.8)
        self.set_text_color(70)
        energy = SUPPLIER_OF.get(d.energy, "fournisseur d'énergie")
        self.multi_cell(
            0,
            3,
            _safe(
                f"{d.supplier.name}, {energy} du groupement « {d.group_name} ». "
                f"{legal_identity(d.supplier)}."
            ),
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.multi_cell(
            0,
            3,
            _safe("Votre service clients : " + " – ".join(d.contact_lines)),
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.multi_cell(
            0,
            3,
            _safe(
                "En cas de retard de paiement : pénalités au taux légal et indemnité forfaitaire "
                "pour frais de recouvrement de 40 € (art. L441-10 du code de commerce). "
                "Pas d'escompte pour paiement anticipé."
            ),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.set_text_color(0)
        self.cell(
            0,
            3,
            _safe(
                f"{KIND_TITLES.get(d.kind, 'Facture')} n° {d.number} – page {self.page_no()}/{{nb}}"
            ),
            align="R",
        )


def render_invoice_pdf(data: InvoicePdfData) -> bytes:
    pdf = _Document(data)
    pdf.alias_nb_pages()
    pdf.add_page()
    _header(pdf, data)
    _lines(pdf, data)
    _totals(pdf, data)
    if len(data.sites) > 1:
        _site_summary(pdf, data)
    for position, site in enumerate(data.sites, start=1):
        _site_section(pdf, data, site, position)
    return bytes(pdf.output())


def _title(pdf: FPDF, text: str, size: float = 10.5) -> None:
    pdf.set_font("helvetica", "B", size)
    pdf.set_text_color(18, 53, 91)
    pdf.cell(0, 7, _safe(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)


def _header(pdf: _Document, d: InvoicePdfData) -> None:
    pdf.set_font("helvetica", "B", 15)
    pdf.set_text_color(18, 53, 91)
    pdf.cell(0, 7, _safe(d.supplier.name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(60)
    pdf.set_font("helvetica", size=7.5)
    pdf.multi_cell(
        PAGE_WIDTH,
        3.4,
        _safe(legal_identity(d.supplier)),
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(0)
    pdf.ln(2)
    title = KIND_TITLES.get(d.kind, "Facture")
    pdf.set_font("helvetica", "B", 13)
    pdf.cell(0, 7, _safe(f"{title} n° {d.number}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    facts = [
        ("Date de facture", _day(d.accounting_date)),
        ("Période facturée", f"du {_day(d.period_start)} au {_day(d.period_end)}"),
        ("Échéance", _day(d.due_date)),
        ("Énergie", ENERGY_NAMES.get(d.energy, d.energy)),
        ("Index", "réels" if d.index_basis == "ACTUAL" else "estimés"),
        ("Mode de paiement", PAYMENT_NAMES.get(d.payment_method, d.payment_method)),
        ("Consommation", f"{french_number(d.consumption_kwh)} kWh"),
    ]
    if d.cancels_number:
        facts.append(("Annule la facture", f"n° {d.cancels_number}"))
    top = pdf.get_y() + 1
    pdf.set_y(top)
    for label, value in facts:
        pdf.set_font("helvetica", "B", 9)
        pdf.cell(34, 4.8, _safe(label))
        pdf.set_font("helvetica", size=9)
        pdf.multi_cell(58, 4.8, _safe(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_end = pdf.get_y()
    street, postcode, city = d.billing_address
    client = [
        d.legal_name,
        street,
        f"{postcode} {city}",
        f"N° client : {d.customer_number}",
        f"Compte de contrat : {d.billing_account_number}",
        f"Libellé de facture : {d.invoice_label}",
        f"SIREN : {d.siren}",
        f"SIRET destinataire : {d.recipient_siret}",
    ]
    if d.chorus_service_code:
        client.append(f"Chorus Pro – code service : {d.chorus_service_code}")
    if d.chorus_commitment_number:
        client.append(f"N° d'engagement : {d.chorus_commitment_number}")
    pdf.set_font("helvetica", size=9)
    height = sum(_text_height(pdf, 84, 4.6, text) for text in client)
    pdf.set_xy(110, top)
    pdf.set_fill_color(*GREY)
    pdf.rect(108, top - 1.5, 88, height + 3, style="F")
    for k, text in enumerate(client):
        pdf.set_x(110)
        pdf.set_font("helvetica", "B" if k == 0 else "", 9)
        pdf.multi_cell(84, 4.6, _safe(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(left_end, pdf.get_y()) + 4)


@contextmanager
def _table(
    pdf: FPDF,
    widths: Sequence[float],
    aligns: Sequence[str],
    *,
    size: float = 8,
    headings: bool = True,
) -> Iterator[Table]:
    pdf.set_font("helvetica", size=size)
    with pdf.table(
        width=sum(widths),
        col_widths=tuple(widths),
        text_align=tuple(aligns),
        align="LEFT",
        line_height=size * 0.5,
        padding=(0.8, 1.2),
        first_row_as_headings=headings,
        headings_style=HEADING,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        repeat_headings=1,
    ) as table:
        yield table
    pdf.ln(2)


def _add(table: Table, cells: Sequence[str], style: FontFace | None = None) -> None:
    row = table.row(style=style)
    for text in cells:
        row.cell(_safe(text))


def _section_of(line: PdfLine) -> str:
    family = FAMILY_OF.get(InvoiceComponent(line.component), "energy")
    return _SECTION_OF_FAMILY.get(family, family)


def used_vat_rates(lines: Sequence[PdfLine]) -> set[Decimal]:
    """The VAT rates the charge lines use: a rate no line uses gets no VAT line."""
    return {line.vat_rate for line in lines if not line.is_vat}


def _lines(pdf: _Document, d: InvoicePdfData) -> None:
    _title(pdf, "Détail de la facture")
    widths = (76.0, 24.0, 13.0, 27.0, 15.0, 27.0)
    charges = [line for line in d.lines if not line.is_vat]
    with _table(pdf, widths, ("LEFT", "RIGHT", "LEFT", "RIGHT", "RIGHT", "RIGHT")) as table:
        _add(table, ["Libellé", "Quantité", "Unité", "Prix unitaire HT", "TVA", "Montant HT"])
        for key, title in SECTIONS:
            section = [line for line in charges if _section_of(line) == key]
            if not section:
                continue
            row = table.row(style=SECTION_ROW)
            row.cell(_safe(title), colspan=6)
            for line in section:
                _add(
                    table,
                    [
                        line.label,
                        french_number(line.quantity),
                        line.unit or "",
                        french_number(line.unit_price),
                        _rate(line.vat_rate),
                        euros(line.amount),
                    ],
                )
            subtotal = sum((line.amount for line in section), Decimal(0))
            row = table.row(style=BOLD)
            row.cell(_safe(f"Sous-total {title[0].lower()}{title[1:]}"), colspan=5)
            row.cell(_safe(euros(subtotal)))


def _totals(pdf: _Document, d: InvoicePdfData) -> None:
    used = used_vat_rates(d.lines)
    vat_lines = [line for line in d.lines if line.is_vat and line.vat_rate in used]
    pdf.set_x(pdf.l_margin)
    _title(pdf, "TVA par taux")
    with _table(pdf, (40.0, 40.0, 40.0), ("LEFT", "RIGHT", "RIGHT")) as table:
        _add(table, ["Taux", "Base HT", "TVA"])
        for line in vat_lines:
            _add(
                table,
                [
                    f"TVA {_rate(line.vat_rate)}",
                    euros(line.vat_base or Decimal(0)),
                    euros(line.amount),
                ],
            )
    totals = [("Total HT", d.total_excl_tax)]
    totals += [(f"TVA {_rate(line.vat_rate)}", line.amount) for line in vat_lines]
    totals.append(("Total TTC", d.total_incl_tax))
    if pdf.will_page_break(6.5 * len(totals)):
        pdf.add_page()
    for label, amount in totals:
        pdf.set_x(118)
        last = label == "Total TTC"
        pdf.set_font("helvetica", "B" if last else "", 10.5 if last else 9.5)
        if last:
            pdf.set_fill_color(*GREY)
        pdf.cell(38, 6.5, _safe(label), fill=last)
        pdf.cell(40, 6.5, _safe(euros(amount)), align="R", fill=last)
        pdf.ln(6.5)
    pdf.ln(3)


def _site_summary(pdf: _Document, d: InvoicePdfData) -> None:
    point = "PCE" if d.energy == "GAS" else "PRM"
    _title(pdf, f"Récapitulatif par site ({len(d.sites)} sites)")
    widths = (30.0, 62.0, 20.0, 24.0, 22.0, 24.0)
    aligns = ("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")
    with _table(pdf, widths, aligns, size=7.5) as table:
        _add(table, [point, "Site", "kWh", "Total HT", "TVA", "Total TTC"])
        for site in d.sites:
            _add(
                table,
                [
                    site.point_number,
                    site.name,
                    french_number(site.consumption_kwh),
                    euros(site.total_excl_tax),
                    euros(site.vat_amount),
                    euros(site.total_incl_tax),
                ],
            )
        row = table.row(style=BOLD)
        row.cell(_safe("Total"), colspan=2)
        for value in (
            french_number(sum(s.consumption_kwh for s in d.sites)),
            euros(sum((s.total_excl_tax for s in d.sites), Decimal(0))),
            euros(sum((s.vat_amount for s in d.sites), Decimal(0))),
            euros(sum((s.total_incl_tax for s in d.sites), Decimal(0))),
        ):
            row.cell(_safe(value))


def _site_facts(d: InvoicePdfData, site: PdfSite) -> list[tuple[str, str, str, str]]:
    """The site's facts, two per row (label, value, label, value)."""
    references = [
        ("code interne", site.internal_code),
        ("désignation", site.designation),
        ("autre référence", site.other_reference),
    ]
    tariff = " – ".join(
        x
        for x in (
            site.segment,
            f"option {site.tariff_option}" if site.tariff_option else None,
            f"tarif d'acheminement {site.transport_tariff}" if site.transport_tariff else None,
        )
        if x
    )
    coefficient = (
        french_number(site.reading_coefficient) if site.reading_coefficient is not None else "—"
    )
    meter = f"n° {site.meter_serial or '—'}, coefficient de lecture {coefficient}"
    if d.energy == "GAS":
        meter += " kWh/m³"
    power = (
        f"{french_number(site.subscribed_power_kva)} kVA"
        if site.subscribed_power_kva is not None
        else "—"
    )
    return [
        (
            "Références",
            " ; ".join(f"{k} : {v}" for k, v in references if v) or "—",
            "Segment",
            tariff,
        ),
        ("Adresse", site.address, "Raccordement", site.connection or "—"),
        ("Compteur", meter, "Puissance souscrite", power),
    ]


def _render_site(pdf: _Document, d: InvoicePdfData, site: PdfSite, position: int) -> None:
    point = "PCE" if d.energy == "GAS" else "PRM"
    heading = f"{point} {site.point_number} – {site.name}"
    if len(d.sites) > 1:
        heading = f"Site {position}/{len(d.sites)} : {heading}"
    _title(pdf, heading, size=10)
    widths = (22.0, 66.0, 28.0, 66.0)
    with _table(pdf, widths, ("LEFT",) * 4, headings=False) as table:
        for facts in _site_facts(d, site):
            row = table.row()
            for k, text in enumerate(facts):
                row.cell(_safe(text), style=BOLD if k % 2 == 0 else None)
    basis = "réels" if site.index_basis == "ACTUAL" else "estimés"
    unit = site.index_unit
    with _table(pdf, (46.0, 44.0, 44.0, 48.0), ("LEFT", "RIGHT", "RIGHT", "RIGHT")) as table:
        _add(
            table,
            [
                f"Poste (index {basis})",
                f"Ancien index au {_day(site.previous_index_on)}",
                f"Nouvel index au {_day(site.current_index_on)}",
                f"Écart ({unit})",
            ],
        )
        for register in site.registers:
            _add(
                table,
                [
                    register.register,
                    french_number(register.previous),
                    french_number(register.current),
                    french_number(register.consumption),
                ],
            )
        row = table.row(style=BOLD)
        row.cell(_safe("Consommation facturée"), colspan=3)
        row.cell(_safe(f"{french_number(site.consumption_kwh)} kWh"))
    amounts = [
        ("Abonnement", site.subscription_amount),
        ("Énergie", site.energy_amount),
        ("Acheminement", site.transport_amount),
        ("Taxes", site.taxes_amount),
        ("Total HT", site.total_excl_tax),
        ("TVA", site.vat_amount),
        ("Total TTC", site.total_incl_tax),
    ]
    with _table(pdf, (26.0,) * 7, ("RIGHT",) * 7, size=7.5) as table:
        _add(table, [label for label, _ in amounts])
        _add(table, [euros(amount) for _, amount in amounts])
    car = f" – CAR : {french_number(site.car_kwh)} kWh/an" if site.car_kwh is not None else ""
    if not site.history:
        pdf.set_font("helvetica", "B", 8.5)
        pdf.cell(
            0,
            5,
            _safe(f"Historique de consommation{car} : aucune consommation facturée"),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    else:
        pdf.set_font("helvetica", "B", 8.5)
        pdf.cell(
            0, 5, _safe(f"Historique de consommation{car}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        with _table(pdf, (80.0, 40.0, 30.0), ("LEFT", "RIGHT", "LEFT"), size=7.5) as table:
            _add(table, ["Période facturée", "Consommation", "Index"])
            for past in site.history:
                _add(
                    table,
                    [
                        f"du {_day(past.period_start)} au {_day(past.period_end)}",
                        f"{french_number(past.consumption_kwh)} kWh",
                        "réels" if past.index_basis == "ACTUAL" else "estimés",
                    ],
                )
    pdf.ln(2)


def _site_section(pdf: _Document, d: InvoicePdfData, site: PdfSite, position: int) -> None:
    """One site's section, kept on one page when it fits on one: a new page when its height
    (estimated from its rows; the tables wrap and break cleanly anyway) does not fit here."""
    rows = 4 + 2 + len(site.registers) + 2 + 1 + len(site.history)
    if pdf.will_page_break(24 + 4.8 * rows):
        pdf.add_page()
    _render_site(pdf, d, site, position)
