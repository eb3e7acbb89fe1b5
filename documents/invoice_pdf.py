"""An invoice as a PDF, in French, rendered with fpdf2 from the invoice's data.

One job: `render_invoice_pdf(data) -> bytes`. The data is plain (no database, no GraphQL):
the header with the references of the customer space (customer number, billing account,
invoice label, SIRET, Chorus Pro codes), the lines by component, the VAT split by rate with
its base, the totals and, for a multi-site invoice, the table of sites. The core Helvetica
font with the Windows-1252 encoding covers French (accents, €, œ, dashes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

KIND_TITLES = {
    "INVOICE": "Facture",
    "CANCELLATION": "Facture d'annulation",
    "CREDIT_NOTE": "Avoir",
}
ENERGY_NAMES = {"GAS": "gaz naturel", "ELECTRICITY": "électricité"}
PAYMENT_NAMES = {
    "TRANSFER": "virement",
    "DIRECT_DEBIT": "prélèvement automatique",
    "PUBLIC_ACCOUNTING_MANDATE": "mandat administratif",
}


@dataclass(slots=True)
class PdfLine:
    label: str
    quantity: Decimal | None
    unit: str | None
    unit_price: Decimal | None
    vat_rate: Decimal
    amount: Decimal
    is_vat: bool = False
    vat_base: Decimal | None = None


@dataclass(slots=True)
class PdfSite:
    point_number: str
    internal_code: str | None
    designation: str | None
    address: str
    segment: str
    meter_serial: str | None
    indexes: str
    consumption_kwh: int
    total_excl_tax: Decimal
    vat_amount: Decimal
    total_incl_tax: Decimal


@dataclass(slots=True)
class InvoicePdfData:
    supplier_name: str
    customer_service: str
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


def euros(value: Decimal) -> str:
    """1234.5 → "1 234,50 €" (French grouping, a plain space so text extraction is simple)."""
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{' '.join(groups)},{cents} €"


def _number(value: Decimal | int | None, places: int | None = None) -> str:
    if value is None:
        return ""
    if places is not None:
        text = f"{Decimal(value):.{places}f}"
    else:
        text = f"{Decimal(value).normalize():f}"
    return text.replace(".", ",")


def _rate(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",") + " %"


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


class _Document(FPDF):
    def __init__(self, data: InvoicePdfData) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.data = data
        self.core_fonts_encoding = "windows-1252"
        self.set_auto_page_break(auto=True, margin=22)
        self.set_margins(14, 14, 14)
        self.set_title(f"{KIND_TITLES.get(data.kind, 'Facture')} {data.number}")
        self.set_author(data.supplier_name)
        self.set_creator("comptoir")

    def footer(self) -> None:
        self.set_y(-18)
        self.set_font("helvetica", size=7)
        self.set_text_color(90)
        self.multi_cell(
            0,
            3.2,
            _safe(
                f"{self.data.supplier_name} – fournisseur d'"
                f"{ENERGY_NAMES.get(self.data.energy, '')}"
                f" pour le groupement « {self.data.group_name} ». {self.data.customer_service}. "
                "En cas de retard de paiement : pénalités au taux légal et indemnité forfaitaire "
                "pour frais de recouvrement de 40 € (art. L441-10 du code de commerce). "
                "Pas d'escompte pour paiement anticipé."
            ),
        )
        self.set_text_color(0)
        self.cell(0, 3, f"Page {self.page_no()}/{{nb}}", align="R")


def _safe(text: str | None) -> str:
    """What the core font can print: anything outside Windows-1252 becomes '?'."""
    return (text or "").encode("windows-1252", errors="replace").decode("windows-1252")


def render_invoice_pdf(data: InvoicePdfData) -> bytes:
    pdf = _Document(data)
    pdf.alias_nb_pages()
    pdf.add_page()
    _header(pdf, data)
    _lines(pdf, data)
    _totals(pdf, data)
    if data.sites:
        _sites(pdf, data)
    return bytes(pdf.output())


def _header(pdf: _Document, d: InvoicePdfData) -> None:
    title = KIND_TITLES.get(d.kind, "Facture")
    pdf.set_font("helvetica", "B", 15)
    pdf.cell(0, 8, _safe(d.supplier_name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "B", 13)
    pdf.cell(0, 7, _safe(f"{title} n° {d.number}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=9)
    facts = [
        ("Date de facture", _day(d.accounting_date)),
        ("Période facturée", f"du {_day(d.period_start)} au {_day(d.period_end)}"),
        ("Échéance", _day(d.due_date)),
        ("Énergie", ENERGY_NAMES.get(d.energy, d.energy)),
        ("Index", "réels" if d.index_basis == "ACTUAL" else "estimés"),
        ("Mode de paiement", PAYMENT_NAMES.get(d.payment_method, d.payment_method)),
    ]
    if d.cancels_number:
        facts.append(("Annule la facture", d.cancels_number))
    top = pdf.get_y() + 2
    pdf.set_y(top)
    for label, value in facts:
        pdf.set_font("helvetica", "B", 9)
        pdf.cell(38, 5, _safe(label))
        pdf.set_font("helvetica", size=9)
        pdf.cell(55, 5, _safe(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_end = pdf.get_y()
    pdf.set_xy(112, top)
    street, postcode, city = d.billing_address
    client = [
        d.legal_name,
        street,
        f"{postcode} {city}",
        f"N° client : {d.customer_number}",
        f"Compte de contrat : {d.billing_account_number}",
        f"Libellé de facture : {d.invoice_label}",
        f"SIREN : {d.siren} – SIRET destinataire : {d.recipient_siret}",
    ]
    if d.chorus_service_code:
        client.append(f"Chorus Pro – code service : {d.chorus_service_code}")
    if d.chorus_commitment_number:
        client.append(f"N° d'engagement : {d.chorus_commitment_number}")
    for k, text in enumerate(client):
        pdf.set_x(112)
        pdf.set_font("helvetica", "B" if k == 0 else "", 9)
        pdf.multi_cell(84, 4.6, _safe(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(left_end, pdf.get_y()) + 4)


def _row(pdf: _Document, widths: list[float], cells: list[str], *, bold: bool = False) -> None:
    pdf.set_font("helvetica", "B" if bold else "", 8)
    aligns = ["L"] + ["R"] * (len(cells) - 1)
    for width, text, align in zip(widths, cells, aligns, strict=True):
        pdf.cell(width, 5, _safe(text), border="B" if bold else 0, align=align)  # type: ignore[arg-type]
    pdf.ln(5)


def _lines(pdf: _Document, d: InvoicePdfData) -> None:
    pdf.set_font("helvetica", "B", 10)
    pdf.cell(0, 6, "Détail de la facture", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    widths = [84.0, 22.0, 14.0, 22.0, 14.0, 26.0]
    _row(
        pdf,
        widths,
        ["Libellé", "Quantité", "Unité", "Prix unit. HT", "TVA", "Montant HT"],
        bold=True,
    )
    for line in d.lines:
        if line.is_vat:
            continue
        label = line.label if len(line.label) <= 58 else line.label[:57] + "…"
        _row(
            pdf,
            widths,
            [
                label,
                _number(line.quantity),
                line.unit or "",
                _number(line.unit_price),
                _rate(line.vat_rate),
                euros(line.amount),
            ],
        )
    pdf.ln(2)


def _totals(pdf: _Document, d: InvoicePdfData) -> None:
    pdf.set_font("helvetica", "B", 10)
    pdf.cell(0, 6, "TVA par taux", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    widths = [60.0, 40.0, 40.0]
    _row(pdf, widths, ["Taux", "Base HT", "TVA"], bold=True)
    for line in d.lines:
        if line.is_vat:
            _row(
                pdf,
                widths,
                [
                    f"TVA {_rate(line.vat_rate)}",
                    euros(line.vat_base or Decimal(0)),
                    euros(line.amount),
                ],
            )
    pdf.ln(2)
    totals = [
        ("Total HT", d.total_excl_tax),
        ("TVA à 5,5 %", d.vat_reduced),
        ("TVA à 20 %", d.vat_standard),
        ("Total TTC", d.total_incl_tax),
    ]
    for label, amount in totals:
        pdf.set_x(110)
        pdf.set_font("helvetica", "B" if label == "Total TTC" else "", 10)
        pdf.cell(46, 6, _safe(label))
        pdf.cell(40, 6, _safe(euros(amount)), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=8)
    pdf.cell(
        0,
        5,
        _safe(f"Consommation facturée : {_number(d.consumption_kwh)} kWh"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(3)


def _sites(pdf: _Document, d: InvoicePdfData) -> None:
    pdf.set_font("helvetica", "B", 10)
    point = "PCE" if d.energy == "GAS" else "PRM"
    pdf.cell(0, 6, _safe(f"Détail par site ({len(d.sites)})"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    widths = [28.0, 50.0, 30.0, 18.0, 20.0, 18.0, 18.0]
    _row(pdf, widths, [point, "Site", "Index", "kWh", "Total HT", "TVA", "Total TTC"], bold=True)
    for site in d.sites:
        name = " – ".join(x for x in (site.internal_code, site.designation) if x) or site.address
        _row(
            pdf,
            widths,
            [
                site.point_number,
                name[:30],
                site.indexes[:20],
                _number(site.consumption_kwh),
                euros(site.total_excl_tax),
                euros(site.vat_amount),
                euros(site.total_incl_tax),
            ],
        )


def indexes_text(register_indexes: list[dict[str, Any]]) -> str:
    """ "HP 12345→12891 HC 4567→4701" from the printed register indexes."""
    return " ".join(
        f"{r.get('register', '')} {r.get('previous', '')}→{r.get('current', '')}"
        for r in register_indexes
    ).replace("→", ">")
