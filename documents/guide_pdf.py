"""A guide of the Help tab as a PDF (the demo's guides; the supplier uploads its own): a title,
a summary and sections of paragraphs, with the same fonts and margins as the invoices.

One job: `render_guide_pdf(data) -> bytes`, plain data in, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from documents.invoice_pdf import _safe


@dataclass(frozen=True, slots=True)
class GuideSection:
    heading: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GuideData:
    title: str
    summary: str
    sections: tuple[GuideSection, ...]
    supplier_name: str
    edition: date  # printed, and the document's creation date (the same bytes each time)


class _Guide(FPDF):
    def __init__(self, data: GuideData) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.data = data
        self.core_fonts_encoding = "windows-1252"
        self.set_auto_page_break(auto=True, margin=20)
        self.set_margins(18, 18, 18)
        self.set_title(data.title)
        self.set_author(data.supplier_name)
        self.set_creator("comptoir")
        self.set_creation_date(
            datetime(data.edition.year, data.edition.month, data.edition.day, tzinfo=UTC)
        )

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("helvetica", size=7.5)
        self.set_text_color(90)
        self.cell(
            0,
            4,
            _safe(
                f"{self.data.supplier_name} – {self.data.title} – édition du "
                f"{self.data.edition:%d/%m/%Y} – page {self.page_no()}/{{nb}}"
            ),
            align="R",
        )


def render_guide_pdf(data: GuideData) -> bytes:
    pdf = _Guide(data)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("helvetica", style="B", size=18)
    pdf.set_text_color(20, 50, 100)
    pdf.multi_cell(0, 9, _safe(data.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("helvetica", style="I", size=10.5)
    pdf.set_text_color(60)
    pdf.multi_cell(0, 5.5, _safe(data.summary), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for number, section in enumerate(data.sections, start=1):
        pdf.ln(5)
        pdf.set_font("helvetica", style="B", size=12.5)
        pdf.set_text_color(20, 50, 100)
        pdf.multi_cell(
            0, 7, _safe(f"{number}. {section.heading}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.set_font("helvetica", size=10.5)
        pdf.set_text_color(0)
        for paragraph in section.paragraphs:
            pdf.ln(1.5)
            pdf.multi_cell(0, 5.5, _safe(paragraph), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
