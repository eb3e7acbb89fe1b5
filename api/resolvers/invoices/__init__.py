"""Invoices: the use cases behind the invoice fields, one module per sub-domain.

- `query`: the filter (`InvoiceQuery`), its order, the 12-month search rule (`bounded`) and
  the WHERE clauses it adds (`filtered`);
- `listing`: the list (keyset pages) and the detail, with lines and per-site rows;
- `summaries`: the billing summary and the home summary (whole months, a site's share);
- `history`: the per-site history ("suivi par compteur");
- `documents`: what PDFs and exports need.

Every statement starts from `db.scoped` (`scoped_invoices`, `scoped_invoice_sites`), so an
invoice outside the perimeter is exactly a missing one.
"""

from api.resolvers.invoices.documents import cancelled_numbers, document_rows, ordered_ids
from api.resolvers.invoices.history import HistoryEntry, SiteHistory, site_history
from api.resolvers.invoices.listing import (
    HEADER_COLUMNS,
    InvoiceDetail,
    InvoicePage,
    invoice_by_number,
    list_invoices,
    load_invoices,
    with_levels,
)
from api.resolvers.invoices.query import InvoiceOrder, InvoiceQuery, bounded, filtered
from api.resolvers.invoices.summaries import (
    AccountTotals,
    BillingSummary,
    MonthTotals,
    Totals,
    billing_summary,
    home_summary,
    summary_window,
)

__all__ = [
    "HEADER_COLUMNS",
    "AccountTotals",
    "BillingSummary",
    "HistoryEntry",
    "InvoiceDetail",
    "InvoiceOrder",
    "InvoicePage",
    "InvoiceQuery",
    "MonthTotals",
    "SiteHistory",
    "Totals",
    "billing_summary",
    "bounded",
    "cancelled_numbers",
    "document_rows",
    "filtered",
    "home_summary",
    "invoice_by_number",
    "list_invoices",
    "load_invoices",
    "ordered_ids",
    "site_history",
    "summary_window",
    "with_levels",
]
