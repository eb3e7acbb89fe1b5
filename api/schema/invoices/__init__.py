"""Invoices in the schema, the Saleor way: `types` (the invoice and its parts), `filters`
(the invoice filter), `summaries` (summary and history types), `queries` and `mutations`.

`api/schema/roots.py` composes the root types from `InvoiceQueries` and `InvoiceMutations`;
`INVOICE_TYPES` lists the types reachable only through the `node` field.
"""

from api.schema.invoices.filters import InvoiceFilter
from api.schema.invoices.mutations import InvoiceMutations
from api.schema.invoices.queries import InvoiceQueries
from api.schema.invoices.types import Invoice

INVOICE_TYPES: tuple[type, ...] = (Invoice,)

__all__ = ["INVOICE_TYPES", "Invoice", "InvoiceFilter", "InvoiceMutations", "InvoiceQueries"]
