"""Files attached to mails, built at send time from the outbox row's context, with the one
table writer (documents/tables.py).

The row stores the data, not the file: a context stays small, readable and re-renderable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from documents.request_summary_pdf import RequestSummary, render_request_summary_pdf
from documents.tables import Column, ColumnKind, xlsx_bytes

XLSX_CONTENT_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
PDF_CONTENT_TYPE = ("application", "pdf")
SITES_FILENAME = "sites-basculés.xlsx"

# (column, context key). Point numbers and postcodes are identifiers (text): as numbers a
# spreadsheet would drop the postcode's leading zero and show a 14-digit PRM as 1.2E+13.
# The context already holds French labels (resolved when the mail was queued).
SITE_COLUMNS: tuple[tuple[Column, str], ...] = (
    (Column("PRM / PCE", ColumnKind.IDENTIFIER, 18), "point_number"),
    (Column("Énergie", ColumnKind.TEXT, 14), "energy"),
    (Column("Segment", ColumnKind.TEXT, 10), "segment"),
    (Column("Adresse", ColumnKind.TEXT, 36), "address"),
    (Column("Code postal", ColumnKind.IDENTIFIER, 12), "postcode"),
    (Column("Commune", ColumnKind.TEXT, 24), "city"),
    (Column("Code interne", ColumnKind.TEXT, 20), "internal_code"),
    (Column("Désignation", ColumnKind.TEXT, 30), "designation"),
    (Column("Compte de contrat", ColumnKind.IDENTIFIER, 20), "billing_account_number"),
    (Column("Début de fourniture", ColumnKind.DATE), "supply_start"),
)


def _value(key: str, value: Any) -> Any:
    if key == "supply_start" and value:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    return value


def switched_sites_xlsx(sites: Sequence[Mapping[str, Any]]) -> bytes:
    """One header row, then one row per site, in the order given."""
    rows = [[_value(key, site.get(key)) for _, key in SITE_COLUMNS] for site in sites]
    return xlsx_bytes([column for column, _ in SITE_COLUMNS], rows, "Sites basculés")


def technical_request_summary_pdf(context: Mapping[str, Any]) -> tuple[str, bytes]:
    """The confirmation's summary as a PDF (file name, bytes), from the mail's stored context:
    the same lines the mail lists."""
    service = context["customer_service"]
    summary = RequestSummary(
        title=f"Demande technique : {context['type_label']}",
        reference=context["reference"],
        filed_on=date.fromisoformat(context["filed_on"]),
        supplier_name=context["supplier_name"],
        lines=[(line["label"], line["value"]) for line in context["summary"]],
        customer_service=[
            service[key] for key in ("name", "phone", "email", "hours") if service.get(key)
        ],
    )
    return f"demande-{context['reference']}.pdf", render_request_summary_pdf(summary)


COLLECTION_FILENAME = "collecte-donnees.xlsx"

# Everything a validated journey collected, one row per site, with its billing perimeter.
# The context holds French labels already (resolved when the mail was queued).
COLLECTION_COLUMNS: tuple[tuple[Column, str], ...] = (
    (Column("PRM / PCE", ColumnKind.IDENTIFIER, 18), "point_number"),
    (Column("Segment", ColumnKind.TEXT, 10), "segment"),
    (Column("Distributeur", ColumnKind.TEXT, 14), "distributor"),
    (Column("Adresse", ColumnKind.TEXT, 36), "address"),
    (Column("Code postal", ColumnKind.IDENTIFIER, 12), "postcode"),
    (Column("Commune", ColumnKind.TEXT, 24), "city"),
    (Column("Décision", ColumnKind.TEXT, 20), "decision"),
    (Column("Motif du refus", ColumnKind.TEXT, 30), "refusal"),
    (Column("Code interne", ColumnKind.TEXT, 20), "internal_code"),
    (Column("Désignation", ColumnKind.TEXT, 30), "designation"),
    (Column("Autre référence", ColumnKind.TEXT, 30), "other_reference"),
    (Column("Contact du site", ColumnKind.TEXT, 30), "contact"),
    (Column("Périmètre de facturation", ColumnKind.TEXT, 30), "lot"),
    (Column("Type de facture", ColumnKind.TEXT, 12), "invoice_type"),
    (Column("Mode de paiement", ColumnKind.TEXT, 20), "payment_method"),
    (Column("Fréquence", ColumnKind.TEXT, 14), "billing_frequency"),
    (Column("Envoi des factures", ColumnKind.TEXT, 16), "invoice_delivery"),
    (Column("Part verte (%)", ColumnKind.INTEGER), "green_share"),
)


def collection_xlsx(sites: Sequence[Mapping[str, Any]]) -> bytes:
    rows = [[site.get(key) for _, key in COLLECTION_COLUMNS] for site in sites]
    return xlsx_bytes([column for column, _ in COLLECTION_COLUMNS], rows, "Données collectées")
