"""Importing invoices from the billing system (operators): a CSV or JSON file, all or nothing.

Every invoice is checked before anything is written: its lines add up to its totals to the
cent, its VAT bases match the rates (domain/billing.py), its billing account and sites
exist (the sites on that billing account), a cancellation points to an existing invoice (in
the database or earlier in the file), its number is new, and a regularisation charged to the
customer does not reach back beyond the member's limit (2 years for a private person, 4 for a
public customer, 5 for a business: `domain/billing.py`). Every bad row is reported with its
line number; one bad row and nothing is imported.

CSV (`;` or `,`, UTF-8 with or without BOM): a `record` column says what the row is —
`invoice` (the header), `line` or `site` (attached to the invoice of the same `number`).
JSON: an array of invoices, each with `lines` and `sites` arrays, same field names.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.core import ACCOUNTS, INVOICES, MEMBERS, SITES, core
from db.engine import transaction
from db.models import Invoice, InvoiceLine, InvoiceSite
from db.models.base import persisted_id
from domain.billing import (
    CORRECTION_LIMIT_YEARS,
    DraftInvoice,
    DraftLine,
    DraftSite,
    correction_reaches_too_far,
    earliest_correction_start,
    invoice_problems,
    site_parts_of,
)
from domain.enums import (
    CustomerCategory,
    EditionStatus,
    Energy,
    IndexBasis,
    InvoiceComponent,
    InvoiceDelivery,
    InvoiceKind,
    PaymentStatus,
)
from domain.labels import CUSTOMER_CATEGORY_LABELS

CSV_COLUMNS = [
    "record",
    "number",
    "billing_account",
    "kind",
    "accounting_date",
    "period_start",
    "period_end",
    "due_date",
    "index_basis",
    "consumption_kwh",
    "total_excl_tax",
    "vat_reduced",
    "vat_standard",
    "total_incl_tax",
    "delivery_mode",
    "edition_status",
    "payment_status",
    "cancels",
    "pdf_key",
    "component",
    "label",
    "quantity",
    "unit",
    "unit_price",
    "vat_rate",
    "vat_base",
    "amount",
    "point_number",
    "meter_serial",
    "previous_index_on",
    "current_index_on",
    "register_indexes",
    "subscription_amount",
    "energy_amount",
    "transport_amount",
    "taxes_amount",
    "vat_amount",
]


E = TypeVar("E", bound=StrEnum)


class ImportRejected(Exception):
    """The file is refused: (line number, French message) for every bad row."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(problems)} erreur(s)")
        self.problems = sorted(problems)


@dataclass(frozen=True, slots=True)
class ImportReport:
    invoices: int
    lines: int
    sites: int


@dataclass(slots=True)
class _Record:
    line: int
    values: dict[str, Any]


@dataclass(slots=True)
class _Parsed:
    line: int
    header: dict[str, Any]
    lines: list[_Record] = field(default_factory=list)
    sites: list[_Record] = field(default_factory=list)


class _BadValue(Exception):
    pass


# -- reading the file -------------------------------------------------------------------------


def _records_csv(text: str) -> Iterator[_Record]:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if reader.fieldnames is None or "record" not in reader.fieldnames:
        raise ImportRejected([(1, "en-tête CSV sans colonne « record »")])
    for row in reader:
        values = {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
        yield _Record(reader.line_num, {k: v for k, v in values.items() if v not in ("", None)})


def _records_json(
    text: str,
) -> Iterator[tuple[_Record, list[dict[str, Any]], list[dict[str, Any]]]]:
    """Each invoice of the array with the line number where its object starts."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    position = len(text) - len(text.lstrip())
    if not text[position:].startswith("["):
        raise ImportRejected([(1, "le JSON doit être un tableau de factures")])
    position += 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text):
            raise ImportRejected([(text.count("\n") + 1, "tableau JSON non refermé")])
        if text[position] == "]":
            return
        line = text.count("\n", 0, position) + 1
        try:
            item, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise ImportRejected([(exc.lineno, f"JSON illisible : {exc.msg}")]) from None
        if not isinstance(item, dict):
            raise ImportRejected([(line, "chaque facture doit être un objet JSON")])
        lines = item.pop("lines", []) or []
        sites = item.pop("sites", []) or []
        yield _Record(line, item), lines, sites


def parse(path: Path) -> list[_Parsed]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRejected([(0, f"fichier illisible : {exc}")]) from None
    parsed: list[_Parsed] = []
    if path.suffix.lower() == ".json" or text.lstrip().startswith("["):
        for record, lines, sites in _records_json(text):
            parsed.append(
                _Parsed(
                    record.line,
                    record.values,
                    [_Record(record.line, x) for x in lines],
                    [_Record(record.line, x) for x in sites],
                )
            )
        return parsed
    problems: list[tuple[int, str]] = []
    by_number: dict[str, _Parsed] = {}
    for record in _records_csv(text):
        kind = str(record.values.get("record", "")).lower()
        number = str(record.values.get("number", "")).upper()
        if kind in ("invoice", "facture"):
            item = _Parsed(record.line, record.values)
            parsed.append(item)
            by_number.setdefault(number, item)
        elif kind in ("line", "ligne", "site"):
            owner = by_number.get(number)
            if owner is None:
                problems.append((record.line, f"aucune facture {number or '(sans numéro)'} avant"))
            elif kind == "site":
                owner.sites.append(record)
            else:
                owner.lines.append(record)
        else:
            problems.append((record.line, f"type d'enregistrement inconnu : « {kind} »"))
    if problems:
        raise ImportRejected(problems)
    return parsed


# -- typed values -----------------------------------------------------------------------------


def _text(values: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = values.get(name)
    if value in (None, ""):
        if required:
            raise _BadValue(f"{name} manquant")
        return None
    return str(value).strip()


def _money(values: dict[str, Any], name: str, *, required: bool = True) -> Decimal | None:
    value = values.get(name)
    if value in (None, ""):
        if required:
            raise _BadValue(f"{name} manquant")
        return None
    if isinstance(value, float):  # never: JSON floats are parsed as Decimal
        raise _BadValue(f"{name} : nombre flottant refusé")
    try:
        number = Decimal(str(value).replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        raise _BadValue(f"{name} : nombre invalide « {value} »") from None
    if not number.is_finite():
        raise _BadValue(f"{name} : nombre invalide « {value} »")
    return number


def _int(values: dict[str, Any], name: str) -> int:
    number = _money(values, name)
    assert number is not None
    if number != number.to_integral_value():
        raise _BadValue(f"{name} : nombre entier attendu")
    return int(number)


def _day(values: dict[str, Any], name: str, *, required: bool = True) -> date | None:
    text = _text(values, name, required=required)
    if text is None:
        return None
    try:
        if "/" in text:
            day, month, year = text.split("/")
            return date(int(year), int(month), int(day))
        return date.fromisoformat(text)
    except ValueError:
        raise _BadValue(f"{name} : date invalide « {text} »") from None


def _enum(values: dict[str, Any], name: str, enum: type[E], default: E | None = None) -> E:
    text = _text(values, name, required=default is None)
    if text is None:
        assert default is not None
        return default
    try:
        return enum(text.upper())
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise _BadValue(f"{name} : « {text} » inconnu ({allowed})") from None


# -- the import -------------------------------------------------------------------------------


_SITE_FIGURES = (
    "subscription_amount",
    "energy_amount",
    "transport_amount",
    "taxes_amount",
    "total_excl_tax",
    "vat_amount",
    "total_incl_tax",
    "consumption_kwh",
)


@dataclass(slots=True)
class _Ready:
    line: int
    invoice: dict[str, Any]
    billing_account: str
    cancels: str | None
    lines: list[dict[str, Any]]
    sites: list[tuple[int, str, dict[str, Any]]]  # (line, point number, values)
    line_numbers: list[int] = field(default_factory=list)  # the file line of each of `lines`


def _typed(item: _Parsed, problems: list[tuple[int, str]]) -> _Ready | None:
    h = item.header
    try:
        invoice: dict[str, Any] = {
            "number": (_text(h, "number") or "").upper(),
            "kind": _enum(h, "kind", InvoiceKind),
            "accounting_date": _day(h, "accounting_date"),
            "period_start": _day(h, "period_start"),
            "period_end": _day(h, "period_end"),
            "due_date": _day(h, "due_date"),
            "index_basis": _enum(h, "index_basis", IndexBasis),
            "consumption_kwh": _int(h, "consumption_kwh"),
            "total_excl_tax": _money(h, "total_excl_tax"),
            "vat_reduced": _money(h, "vat_reduced"),
            "vat_standard": _money(h, "vat_standard"),
            "total_incl_tax": _money(h, "total_incl_tax"),
            "delivery_mode": _enum(h, "delivery_mode", InvoiceDelivery),
            "edition_status": _enum(h, "edition_status", EditionStatus, EditionStatus.ISSUED),
            "payment_status": _enum(h, "payment_status", PaymentStatus, PaymentStatus.UNPAID),
            "pdf_key": _text(h, "pdf_key", required=False),
        }
        account = _text(h, "billing_account") or ""
        cancels = _text(h, "cancels", required=False)
    except _BadValue as bad:
        problems.append((item.line, str(bad)))
        return None
    if len(invoice["number"]) > 20:
        problems.append((item.line, "numéro de facture de plus de 20 caractères"))
    lines: list[dict[str, Any]] = []
    line_numbers: list[int] = []
    for position, record in enumerate(item.lines, start=1):
        v = record.values
        try:
            component = _enum(v, "component", InvoiceComponent)
            lines.append(
                {
                    "position": position,
                    "component": component,
                    "label": (_text(v, "label") or "")[:120],
                    "quantity": _money(v, "quantity", required=False),
                    "unit": _text(v, "unit", required=False),
                    "unit_price": _money(v, "unit_price", required=False),
                    "vat_rate": _money(v, "vat_rate"),
                    "vat_base": _money(v, "vat_base", required=component is InvoiceComponent.VAT),
                    "amount": _money(v, "amount"),
                }
            )
            line_numbers.append(record.line)
        except _BadValue as bad:
            problems.append((record.line, str(bad)))
    sites: list[tuple[int, str, dict[str, Any]]] = []
    for record in item.sites:
        v = record.values
        try:
            indexes = v.get("register_indexes") or []
            if isinstance(indexes, str):
                indexes = json.loads(indexes, parse_float=Decimal)
            sites.append(
                (
                    record.line,
                    _text(v, "point_number") or "",
                    {
                        "meter_serial": _text(v, "meter_serial", required=False),
                        "previous_index_on": _day(v, "previous_index_on", required=False),
                        "current_index_on": _day(v, "current_index_on", required=False),
                        "register_indexes": [
                            {k: (int(x) if isinstance(x, Decimal) else x) for k, x in r.items()}
                            for r in indexes
                        ],
                        "index_basis": _enum(v, "index_basis", IndexBasis, invoice["index_basis"]),
                        "consumption_kwh": _int(v, "consumption_kwh"),
                        "subscription_amount": _money(v, "subscription_amount"),
                        "energy_amount": _money(v, "energy_amount"),
                        "transport_amount": _money(v, "transport_amount"),
                        "taxes_amount": _money(v, "taxes_amount"),
                        "total_excl_tax": _money(v, "total_excl_tax"),
                        "vat_amount": _money(v, "vat_amount"),
                        "total_incl_tax": _money(v, "total_incl_tax"),
                    },
                )
            )
        except (_BadValue, ValueError, AttributeError) as bad:
            problems.append((record.line, str(bad) or "register_indexes illisible"))
    draft = DraftInvoice(
        kind=invoice["kind"],
        period_start=invoice["period_start"],
        period_end=invoice["period_end"],
        accounting_date=invoice["accounting_date"],
        due_date=invoice["due_date"],
        consumption_kwh=invoice["consumption_kwh"],
        total_excl_tax=invoice["total_excl_tax"],
        vat_reduced=invoice["vat_reduced"],
        vat_standard=invoice["vat_standard"],
        total_incl_tax=invoice["total_incl_tax"],
        cancels=cancels,
        lines=[DraftLine(x["component"], x["amount"], x["vat_rate"], x["vat_base"]) for x in lines],
        sites=[DraftSite(**{k: s[k] for k in _SITE_FIGURES}) for _, _, s in sites],
    )
    if len(lines) == len(item.lines) and len(sites) == len(item.sites):
        for problem in invoice_problems(draft):
            problems.append((item.line, f"facture {invoice['number']} : {problem}"))
    return _Ready(
        item.line,
        invoice,
        account,
        cancels.upper() if cancels else None,
        lines,
        sites,
        line_numbers,
    )


async def import_invoices(sessions: async_sessionmaker[AsyncSession], path: Path) -> ImportReport:
    """Checks every invoice of the file, then imports them all in one transaction, or none."""
    parsed = parse(path)
    if not parsed:
        raise ImportRejected([(1, "le fichier ne contient aucune facture")])
    problems: list[tuple[int, str]] = []
    ready = [r for item in parsed if (r := _typed(item, problems)) is not None]
    async with transaction(sessions) as session:
        await _check_references(session, ready, problems)
        if problems:
            raise ImportRejected(problems)
        return await _write(session, ready)


async def _check_references(
    session: AsyncSession, ready: list[_Ready], problems: list[tuple[int, str]]
) -> None:
    accounts: dict[str, tuple[int, Energy]] = {}
    categories: dict[str, CustomerCategory] = {}
    for account_id, number, energy, category in await core(
        session,
        sa.select(ACCOUNTS.c.id, ACCOUNTS.c.number, ACCOUNTS.c.energy, MEMBERS.c.customer_category)
        .join(MEMBERS, MEMBERS.c.id == ACCOUNTS.c.member_id)
        .where(ACCOUNTS.c.number.in_(sorted({r.billing_account for r in ready}))),
    ):
        accounts[number] = (account_id, energy)
        categories[number] = CustomerCategory(category)
    points = sorted({p for r in ready for _, p, _ in r.sites})
    sites: dict[str, list[tuple[int, int]]] = {}
    for site_id, point, account_id in await core(
        session,
        sa.select(SITES.c.id, SITES.c.point_number, SITES.c.billing_account_id).where(
            SITES.c.point_number.in_(points)
        ),
    ):
        sites.setdefault(point, []).append((site_id, account_id))
    numbers = sorted({r.invoice["number"] for r in ready} | {r.cancels for r in ready if r.cancels})
    existing = {
        number: account_id
        for number, account_id in await core(
            session,
            sa.select(INVOICES.c.number, INVOICES.c.billing_account_id).where(
                INVOICES.c.number.in_(numbers)
            ),
        )
    }
    seen: dict[str, int] = {}
    for r in ready:
        number = r.invoice["number"]
        account = accounts.get(r.billing_account)
        if account is None:
            problems.append((r.line, f"compte de contrat inconnu : {r.billing_account}"))
        else:
            r.invoice["billing_account_id"], r.invoice["energy"] = account
        if number in existing:
            problems.append((r.line, f"la facture {number} existe déjà"))
        if number in seen:
            problems.append(
                (r.line, f"la facture {number} figure deux fois (ligne {seen[number]})")
            )
        if r.cancels and r.cancels not in existing and r.cancels not in seen:
            problems.append((r.line, f"la facture annulée {r.cancels} est introuvable"))
        seen.setdefault(number, r.line)
        if r.billing_account in categories:
            _check_correction_limits(r, categories[r.billing_account], problems)
        for line, point, values in r.sites:
            candidates = sites.get(point, [])
            match = [sid for sid, aid in candidates if account and aid == account[0]]
            if not match:
                problems.append(
                    (line, f"site {point} inconnu sur le compte de contrat {r.billing_account}")
                )
            else:
                values["site_id"] = match[0]


def _check_correction_limits(
    r: _Ready, category: CustomerCategory, problems: list[tuple[int, str]]
) -> None:
    """A correction charged to the customer may not reach back beyond the member's limit."""
    billed_on, start = r.invoice["accounting_date"], r.invoice["period_start"]
    for line, values in zip(r.line_numbers, r.lines, strict=True):
        if correction_reaches_too_far(
            category,
            component=values["component"],
            amount=values["amount"],
            period_start=start,
            billed_on=billed_on,
        ):
            earliest = earliest_correction_start(category, billed_on)
            problems.append(
                (
                    line,
                    f"facture {r.invoice['number']} : la régularisation remonte au "
                    f"{start:%d/%m/%Y}, au-delà de la limite de "
                    f"{CORRECTION_LIMIT_YEARS[category]} ans pour un "
                    f"{CUSTOMER_CATEGORY_LABELS[category].lower()} (au plus tôt le "
                    f"{earliest:%d/%m/%Y} pour une facture du {billed_on:%d/%m/%Y})",
                )
            )


async def _write(session: AsyncSession, ready: list[_Ready]) -> ImportReport:
    ids: dict[str, int] = {}
    if ready:
        found = await core(
            session,
            sa.select(INVOICES.c.number, INVOICES.c.id).where(
                INVOICES.c.number.in_(sorted({r.cancels for r in ready if r.cancels}))
            ),
        )
        ids.update(dict(found.all()))
    lines = sites = 0
    for r in ready:
        invoice = Invoice(**r.invoice, cancels_invoice_id=ids.get(r.cancels) if r.cancels else None)
        session.add(invoice)
        await session.flush()
        ids[invoice.number] = persisted_id(invoice)
        session.add_all(InvoiceLine(invoice_id=persisted_id(invoice), **x) for x in r.lines)
        parts = site_parts_of(r.lines)
        session.add_all(
            InvoiceSite.model_validate({"invoice_id": persisted_id(invoice), **v, **parts(v)})
            for _, _, v in r.sites
        )
        lines += len(r.lines)
        sites += len(r.sites)
    await session.flush()
    return ImportReport(len(ready), lines, sites)
