"""Exports and perimeter consumption on the `full` demo data (~13,000 sites).

.venv/bin/python bench/exports_bench.py    # the full demo data of bench/full_data.py (loaded once)
.venv/bin/python bench/exports_bench.py --database-url postgresql+asyncpg://…/db_with_full_demo

Prints, for the ADMIN perimeter (the whole group):
- the perimeter file (exportSites) in CSV and XLSX: wall time, tracemalloc peak and peak RSS
  growth, beside a plain reference (one hand-written SQL query for the sites and one for the
  last actual indexes, written with csv / xlsxwriter, no resolver) run in the same way;
- the same export for the gas sites only (~1,750), to show memory does not grow with rows;
- perimeterConsumption over 12 months (median of 5), beside a hand-written GROUP BY month.

Each case runs in its own process, so peak RSS is that case's.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

from sqlalchemy import make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.full_data import full_database_url
from comptoir.settings import Settings, normalise_database_url

TODAY = date(2026, 11, 15)  # the demo data is loaded as of 2026-11-01
FROM_MONTH, TO_MONTH = "2025-11", "2026-10"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the cases, each run in a child process ------------------------------------------------

REFERENCE_SITES = """
SELECT s.point_number, s.energy, s.segment, s.status, m.legal_name, m.siren, b.number,
       b.invoice_label, s.distributor_name, s.tariff_option, s.transport_tariff, s.connection,
       s.subscribed_power_kva, s.car_kwh, s.profile, s.green_share_pct, s.street, s.postcode,
       s.city, s.supply_start, s.supply_end, s.internal_code, s.designation,
       s.other_reference, mt.serial, mt.kind, mt.is_communicating, mt.digits,
       mt.reading_coefficient, mt.id
FROM sites s JOIN members m ON m.id = s.member_id
JOIN billing_accounts b ON b.id = s.billing_account_id
LEFT JOIN meters mt ON mt.site_id = s.id AND mt.removed_on IS NULL
WHERE m.group_id = :group
ORDER BY m.legal_name, s.point_number, s.id
"""

REFERENCE_LAST = """
SELECT r.meter_id, r.register_code, r.read_on, r.index_value FROM readings r
JOIN (SELECT meter_id, register_code, MAX(read_on) AS d FROM readings
      WHERE source IN ('DISTRIBUTOR_ACTUAL', 'SELF_READING', 'SPECIAL')
        AND (self_reading_status IS NULL OR self_reading_status <> 'REJECTED')
      GROUP BY meter_id, register_code) l
  ON l.meter_id = r.meter_id AND l.register_code = r.register_code AND l.d = r.read_on
WHERE r.source IN ('DISTRIBUTOR_ACTUAL', 'SELF_READING', 'SPECIAL')
"""

REFERENCE_MONTHS = """
SELECT i.period_start, SUM(x.consumption_kwh) FROM invoice_sites x
JOIN invoices i ON i.id = x.invoice_id
JOIN sites s ON s.id = x.site_id JOIN members m ON m.id = s.member_id
WHERE m.group_id = :group AND i.period_end >= :start AND i.period_start <= :end
GROUP BY i.period_start
"""


async def _reference_export(url: str, out: Path, fmt: str) -> int:
    """The same file without the resolver: two hand-written queries, rows written as read."""
    import xlsxwriter

    from db.engine import create_engine

    engine = create_engine(Settings(database_url=url))
    async with engine.connect() as connection:
        last: dict[int, dict[str, int]] = {}
        for meter_id, register, _day, index in await connection.execute(text(REFERENCE_LAST)):
            last.setdefault(meter_id, {})[register] = index
        rows = (await connection.execute(text(REFERENCE_SITES), {"group": 1})).all()
    await engine.dispose()
    registers = ["BASE", "HP", "HC"]
    count = 0
    if fmt == "CSV":
        with out.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f, delimiter=";")
            for row in rows:
                of_meter = last.get(row[-1], {})
                writer.writerow([*row[:-1], *(of_meter.get(r) for r in registers)])
                count += 1
    else:
        book = xlsxwriter.Workbook(str(out), {"constant_memory": True})
        sheet = book.add_worksheet()
        for i, row in enumerate(rows, start=1):
            of_meter = last.get(row[-1], {})
            values = [*row[:-1], *(of_meter.get(r) for r in registers)]
            for c, v in enumerate(values):
                if v is not None:
                    sheet.write(i, c, v if isinstance(v, int | float | str) else str(v))
            count += 1
        book.close()
    return count


async def _run_case(url: str, case: str) -> dict[str, object]:
    from api.resolvers import consumption, exports
    from api.resolvers.export_files import write_export
    from api.resolvers.portfolio import SiteCriteria
    from db.engine import create_engine, create_session_factory
    from db.scoped import Perimeter
    from documents.tables import FileFormat
    from domain.enums import Energy

    settings = Settings(database_url=url, files_dir=Path("var/bench/files"))
    perimeter = Perimeter(group_ids=frozenset({1}))
    if case.startswith("reference-export"):
        fmt = case.rsplit("-", 1)[1].upper()
        out = Path(f"var/bench/files/reference.{fmt.lower()}")
        out.parent.mkdir(parents=True, exist_ok=True)
        return {"rows": await _reference_export(url, out, fmt), "bytes": 0}
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    try:
        if case.startswith("sites"):
            _, fmt, scope = case.split("-")
            criteria = SiteCriteria(energies=(Energy.GAS,)) if scope == "gas" else SiteCriteria()
            table = await exports.export_sites(sessions, perimeter, criteria=criteria)
            exported = await write_export(settings, table, FileFormat(fmt.upper()), today=TODAY)
            size = (settings.files_dir / exported.file_key).stat().st_size
            return {"rows": exported.row_count, "bytes": size}
        if case == "perimeter-consumption":
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                result = await consumption.perimeter_consumption(
                    sessions,
                    perimeter,
                    criteria=SiteCriteria(),
                    from_month=FROM_MONTH,
                    to_month=TO_MONTH,
                    today=TODAY,
                )
                timings.append(time.perf_counter() - started)
            return {"total_kwh": result.total_kwh, "p50_ms": statistics.median(timings) * 1000}
        if case == "reference-consumption":
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                async with engine.connect() as connection:
                    rows = (
                        await connection.execute(
                            text(REFERENCE_MONTHS),
                            {"group": 1, "start": date(2025, 11, 1), "end": date(2026, 10, 31)},
                        )
                    ).all()
                timings.append(time.perf_counter() - started)
            return {"months": len(rows), "p50_ms": statistics.median(timings) * 1000}
        raise SystemExit(f"unknown case {case}")
    finally:
        await engine.dispose()


def child(url: str, case: str, traced: bool) -> None:
    if traced:
        tracemalloc.start()
    baseline = _rss_mb()
    started = time.perf_counter()
    result = asyncio.run(_run_case(url, case))
    seconds = time.perf_counter() - started
    result |= {"seconds": seconds, "rss_growth_mb": _rss_mb() - baseline, "rss_peak_mb": _rss_mb()}
    if traced:
        result["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    print(json.dumps(result, default=str))


def run_child(url: str, case: str, traced: bool) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", case, "--database-url", url]
    if traced:
        command.append("--traced")
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a database holding the full demo data")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database_url, args.child, args.traced)
        return
    url = normalise_database_url(args.database_url) if args.database_url else full_database_url()
    print(f"backend={make_url(url).get_backend_name()}")
    titles = ("rows", "seconds", "RSS +MB", "RSS peak")
    print(f"{'case':28} {titles[0]:>7} {titles[1]:>8} {titles[2]:>8} {titles[3]:>9} tracemalloc")
    for case in (
        "sites-csv-all",
        "reference-export-csv",
        "sites-xlsx-all",
        "reference-export-xlsx",
        "sites-csv-gas",
        "sites-xlsx-gas",
    ):
        timed = run_child(url, case, traced=False)
        traced = run_child(url, case, traced=True)
        print(
            f"{case:28} {timed['rows']:>7} {timed['seconds']:>8.2f} "
            f"{timed['rss_growth_mb']:>8.1f} {timed['rss_peak_mb']:>9.1f} "
            f"{traced['tracemalloc_peak_mb']:>10.1f}MB"
        )
    for case in ("perimeter-consumption", "reference-consumption"):
        timed = run_child(url, case, traced=False)
        print(f"{case:28} 12 months: p50 {timed['p50_ms']:.0f} ms")


if __name__ == "__main__":
    main()
