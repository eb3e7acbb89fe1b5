"""The annual management sheet (exportManagementSheet) on the `full` demo data (12,967 sites).

.venv/bin/python bench/management_sheet_bench.py    # full demo of bench/full_data.py
.venv/bin/python bench/management_sheet_bench.py --database-url postgresql+asyncpg://…/db

Prints, for the ADMIN perimeter (the whole group) over the 12 months from 2025-12: the sheet
in CSV and in XLSX (the resolver and the one table writer, as the mutation runs them), and
for the gas sites only (~1,750: memory must not grow with the number of sites); each beside
a plain reference run the same way: one hand-written SQL statement reading the same rows (the
sites and their monthly sums), fetched and dropped. Wall time, CPU time (user + system) and
peak RSS of each case, each case in its own process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.full_data import full_database_url
from comptoir.settings import Settings, normalise_database_url

TODAY = date(2026, 12, 1)
FROM_MONTH = date(2025, 12, 1)
START, END = date(2025, 12, 1), date(2026, 11, 30)

REFERENCE = """
SELECT s.id, m.id, m.legal_name, m.siren, b.id, b.number, b.invoice_label, b.is_multi_site,
       s.energy, s.point_number, s.internal_code, s.designation, s.city,
       x.y, x.m, x.n, x.kwh, x.supply, x.transport, x.taxes, x.vat, x.total
FROM sites s
JOIN billing_accounts b ON b.id = s.billing_account_id
JOIN members m ON m.id = s.member_id
LEFT JOIN (
  SELECT sh.site_id, EXTRACT(YEAR FROM i.accounting_date) AS y,
         EXTRACT(MONTH FROM i.accounting_date) AS m, COUNT(sh.id) AS n,
         SUM(sh.consumption_kwh) AS kwh, SUM(sh.subscription_amount + sh.energy_amount) AS supply,
         SUM(sh.transport_amount) AS transport, SUM(sh.taxes_amount) AS taxes,
         SUM(sh.vat_amount) AS vat, SUM(sh.total_incl_tax) AS total
  FROM invoice_sites sh JOIN invoices i ON i.id = sh.invoice_id
  WHERE i.accounting_date BETWEEN :start AND :end
  GROUP BY sh.site_id, EXTRACT(YEAR FROM i.accounting_date), EXTRACT(MONTH FROM i.accounting_date)
) x ON x.site_id = s.id
WHERE m.group_id = :group {energy}
ORDER BY m.legal_name, m.id, b.number, s.point_number, s.id, x.y, x.m
"""


def _sqlite_reference(sql: str) -> str:
    # SQLite has no EXTRACT: the same year and month from strftime.
    return sql.replace(
        "EXTRACT(YEAR FROM i.accounting_date)", "strftime('%Y', i.accounting_date)"
    ).replace("EXTRACT(MONTH FROM i.accounting_date)", "strftime('%m', i.accounting_date)")


def _usage() -> tuple[float, float]:
    """CPU seconds (user + system) and peak RSS in MB of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


async def _run_case(url: str, case: str) -> dict[str, object]:
    from api.resolvers.export_files import write_export
    from api.resolvers.management_sheets import management_sheet
    from api.resolvers.portfolio import SiteCriteria
    from db.engine import create_engine, create_session_factory
    from db.scoped import Perimeter
    from documents.tables import FileFormat
    from domain.enums import Energy

    settings = Settings(database_url=url, files_dir=Path("var/bench/files"))
    engine = create_engine(settings)
    try:
        kind, scope = case.rsplit("-", 1)
        if kind == "reference":
            sql = REFERENCE.format(energy="AND s.energy = 'GAS'" if scope == "gas" else "")
            if engine.dialect.name == "sqlite":
                sql = _sqlite_reference(sql)
            rows = 0
            async with engine.connect() as connection:
                result = await connection.stream(
                    text(sql), {"group": 1, "start": START, "end": END}
                )
                async for partition in result.partitions(5_000):
                    rows += len(partition)
            return {"rows": rows, "bytes": 0}
        sessions = create_session_factory(engine)
        criteria = SiteCriteria(energies=(Energy.GAS,)) if scope == "gas" else SiteCriteria()
        table = await management_sheet(
            sessions,
            Perimeter(group_ids=frozenset({1})),
            criteria=criteria,
            from_month=FROM_MONTH,
            today=TODAY,
        )
        fmt = FileFormat(kind.split("-")[1].upper())
        exported = await write_export(settings, table, fmt, today=TODAY)
        size = (settings.files_dir / exported.file_key).stat().st_size
        return {"rows": exported.row_count, "bytes": size}
    finally:
        await engine.dispose()


def child(url: str, case: str) -> None:
    cpu_before, _ = _usage()
    started = time.perf_counter()
    result = asyncio.run(_run_case(url, case))
    seconds = time.perf_counter() - started
    cpu_after, rss_peak = _usage()
    result |= {"seconds": seconds, "cpu": cpu_after - cpu_before, "rss_peak_mb": rss_peak}
    print(json.dumps(result, default=str))


def run_child(url: str, case: str) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", case, "--database-url", url]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a database holding the full demo data")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database_url, args.child)
        return
    url = normalise_database_url(args.database_url) if args.database_url else full_database_url()
    print(f"backend={make_url(url).get_backend_name()}")
    print(f"{'case':18} {'rows':>7} {'wall s':>7} {'CPU s':>7} {'RSS peak MB':>12} {'MB':>7}")
    for case in (
        "reference-all",
        "sheet-csv-all",
        "sheet-xlsx-all",
        "reference-gas",
        "sheet-csv-gas",
        "sheet-xlsx-gas",
    ):
        r = run_child(url, case)
        print(
            f"{case:18} {r['rows']:>7} {r['seconds']:>7.2f} {r['cpu']:>7.2f} "
            f"{r['rss_peak_mb']:>12.1f} {int(r['bytes']) / 1e6:>7.1f}"  # type: ignore[call-overload]
        )


if __name__ == "__main__":
    main()
