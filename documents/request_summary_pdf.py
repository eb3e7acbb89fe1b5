"""A request's summary as a one-page PDF, joined to the confirmation mail: what was filed, as
the customer keeps it for its records (the same lines as the mail, rendered with fpdf2 in the
core font, like the invoices)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from documents.invoice_pdf import printable

HEADING = FontFace(emphasis="BOLD", fill_color=(235, 239, 244))
NAVY = (18, 53, 91)


@dataclass(frozen=True, slots=True)
class RequestSummary:
    """What the summary prints: a title, the reference, the day it was filed, the (label,
    value) lines of the form in its order, and whom to call."""

    title: str  # e.g. "Demande technique : Changement de puissance"
    reference: str
    filed_on: date
    supplier_name: str
    lines: Sequence[tuple[str, str]]
    customer_service: Sequence[str]  # name, phone, email, opening hours


def render_request_summary_pdf(summary: RequestSummary) -> bytes:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_margins(14, 14, 14)
    pdf.set_title(printable(f"{summary.title} – {summary.reference}"))
    pdf.set_author(printable(summary.supplier_name))
    pdf.set_creator("comptoir")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 15)
    pdf.set_text_color(*NAVY)
    pdf.cell(0, 7, printable(summary.supplier_name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 8, printable(summary.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.set_font("helvetica", size=9)
    pdf.cell(
        0,
        5,
        printable(f"Référence {summary.reference} – déposée le {summary.filed_on:%d/%m/%Y}"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(3)
    with pdf.table(
        col_widths=(55, 127),
        text_align=("LEFT", "LEFT"),
        line_height=4.5,
        padding=(1, 1.5),
        headings_style=HEADING,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
    ) as table:
        heading = table.row()
        heading.cell("Rubrique")
        heading.cell("Valeur")
        for label, value in summary.lines:
            row = table.row()
            row.cell(printable(label))
            row.cell(printable(value))
    pdf.ln(4)
    pdf.set_font("helvetica", size=8)
    pdf.multi_cell(
        0,
        4,
        printable(
            "Vous suivez cette demande dans l'onglet « Demandes techniques » de votre espace "
            "client. Votre service clients : " + " – ".join(summary.customer_service)
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())
