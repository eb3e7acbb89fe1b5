"""An account statement ("relevé de compte") as a PDF, with the look and the legal identity of
the invoices (documents/invoice_pdf.py's building blocks: header, tables, French numbers).

One job: `render_statement_pdf(data) -> bytes`, from plain data. The header carries the
supplier's legal identity, the recipient (member, or billing account with its billing
address) and the period; a summary (documents, debits, credits, balance, still to settle);
then every document in accounting order with its payment status and the running balance.
The footer repeats the legal identity and the customer-service contacts on every page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from documents.invoice_pdf import (
    BOLD,
    GREY,
    PAGE_WIDTH,
    PdfSupplier,
    _add,
    _day,
    _safe,
    _table,
    _text_height,
    _title,
    euros,
    legal_identity,
)
from domain.account_statement import StatementEntry, StatementTotals
from domain.enums import InvoiceKind, PaymentStatus
from domain.labels import INVOICE_KIND_LABELS, PAYMENT_STATUS_LABELS


@dataclass(slots=True)
class StatementPdfData:
    supplier: PdfSupplier
    contact_lines: list[str]  # the customer-service block (mailers.contacts)
    reference: str  # what the footer names (the request's reference, or the file's)
    group_name: str
    legal_name: str
    customer_number: str
    siren: str
    address: tuple[str, str, str]  # the billing address of an account, else the member's
    billing_account_number: str | None  # None: the member's statement (all its accounts)
    invoice_label: str | None
    period_start: date
    period_end: date
    issued_on: date
    totals: StatementTotals
    entries: list[StatementEntry] = field(default_factory=list)


class _Statement(FPDF):
    def __init__(self, data: StatementPdfData) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.data = data
        self.core_fonts_encoding = "windows-1252"
        self.set_auto_page_break(auto=True, margin=28)
        self.set_margins(14, 14, 14)
        self.set_title(f"Relevé de compte {data.reference}")
        self.set_author(data.supplier.legal_name)
        self.set_creator("comptoir")

    def footer(self) -> None:
        d = self.data
        self.set_y(-25)
        self.set_draw_color(180)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1)
        self.set_font("helvetica", size=6.8)
        self.set_text_color(70)
        self.multi_cell(
            0,
            3,
            _safe(
                f"{d.supplier.name}, fournisseur d'énergie du groupement « {d.group_name} ». "
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
        self.set_text_color(0)
        self.cell(
            0,
            3,
            _safe(f"Relevé de compte {d.reference} – page {self.page_no()}/{{nb}}"),
            align="R",
        )


def render_statement_pdf(data: StatementPdfData) -> bytes:
    pdf = _Statement(data)
    pdf.alias_nb_pages()
    pdf.add_page()
    _header(pdf, data)
    _summary(pdf, data)
    _documents(pdf, data)
    return bytes(pdf.output())


def _header(pdf: _Statement, d: StatementPdfData) -> None:
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
    pdf.set_font("helvetica", "B", 13)
    pdf.cell(0, 7, _safe("Relevé de compte"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    facts = [
        ("Période", f"du {_day(d.period_start)} au {_day(d.period_end)}"),
        ("Établi le", _day(d.issued_on)),
        ("Référence", d.reference),
        (
            "Périmètre",
            f"compte de contrat {d.billing_account_number}"
            if d.billing_account_number
            else "tous les comptes de contrat de l'adhérent",
        ),
    ]
    top = pdf.get_y() + 1
    pdf.set_y(top)
    for label, value in facts:
        pdf.set_font("helvetica", "B", 9)
        pdf.cell(26, 4.8, _safe(label))
        pdf.set_font("helvetica", size=9)
        pdf.multi_cell(66, 4.8, _safe(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_end = pdf.get_y()
    street, postcode, city = d.address
    client = [d.legal_name, street, f"{postcode} {city}", f"N° client : {d.customer_number}"]
    if d.billing_account_number:
        client.append(f"Compte de contrat : {d.billing_account_number}")
    if d.invoice_label:
        client.append(f"Libellé de facture : {d.invoice_label}")
    client.append(f"SIREN : {d.siren}")
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


def _summary(pdf: _Statement, d: StatementPdfData) -> None:
    t = d.totals
    _title(pdf, "Synthèse de la période")
    with _table(pdf, (110.0, 50.0), ("LEFT", "RIGHT"), headings=False) as table:
        _add(table, ["Documents de la période", str(t.documents)])
        _add(table, ["Total débité (factures)", euros(t.debit)])
        _add(table, ["Total crédité (avoirs et annulations)", euros(t.credit)])
        _add(table, ["Solde de la période", euros(t.balance)], style=BOLD)
        _add(table, ["Dont documents restant à régler", euros(t.open_amount)])


def _documents(pdf: _Statement, d: StatementPdfData) -> None:
    _title(pdf, "Détail des documents")
    if not d.entries:
        pdf.set_font("helvetica", size=9)
        pdf.cell(0, 6, _safe("Aucun document sur la période."), new_x=XPos.LMARGIN)
        return
    many_accounts = d.billing_account_number is None
    heads = ["Date", "N° document", "Type", "Période", "Échéance", "Paiement"]
    heads += ["Débit", "Crédit", "Solde"]
    widths = [15.0, 24.0, 27.0, 27.0, 15.0, 23.0, 17.0, 17.0, 17.0]
    if many_accounts:  # the account of each document in a column of its own
        heads.insert(2, "Compte")
        widths = [15.0, 24.0, 22.0, 19.0, 19.0, 15.0, 17.0, 17.0, 17.0, 17.0]
    aligns = ("LEFT",) * (len(heads) - 3) + ("RIGHT",) * 3
    with _table(pdf, widths, aligns, size=6.8) as table:
        _add(table, heads)
        for e in d.entries:
            doc = e.document
            kind = INVOICE_KIND_LABELS[InvoiceKind(doc.kind)]
            if doc.cancels_number:
                kind += f" (annule {doc.cancels_number})"
            cells = [
                _day(doc.accounting_date),
                doc.number,
                kind,
                f"du {_day(doc.period_start)} au {_day(doc.period_end)}",
                _day(doc.due_date),
                PAYMENT_STATUS_LABELS[PaymentStatus(doc.payment_status)],
                euros(e.debit) if e.debit else "",
                euros(e.credit) if e.credit else "",
                euros(e.balance),
            ]
            if many_accounts:
                cells.insert(2, doc.billing_account_number)
            _add(table, cells)
        row = table.row(style=BOLD)
        row.cell(_safe("Total de la période"), colspan=len(heads) - 3)
        for value in (euros(d.totals.debit), euros(d.totals.credit), euros(d.totals.balance)):
            row.cell(_safe(value))
