"""What the retention cut-off costs in SQL (db/scoped.py), on the full demo data (SQLite): the
statements the code builds for the main group's ADMIN, compiled to SQL and run on the raw
driver — without the cut-off (the reference), with it (the demo's one expired site), and with
it once `purge-expired` has run (nothing expired: the NOT IN is skipped) — alternately, best of
15 (the machine is shared: the minimum is the least noisy).

    .venv/bin/python bench/retention_bench.py
"""

from __future__ import annotations

import sqlite3
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.full_data import AS_OF, BENCH_DIR, full_database_url
from db.core import INVOICES
from db.models import Site
from db.scoped import Perimeter, scoped_invoices, scoped_sites
from domain.retention import served_since


def statements(perimeter: Perimeter) -> dict[str, Any]:
    return {
        "invoices: count and total": scoped_invoices(
            perimeter, sa.func.count(), sa.func.sum(INVOICES.c.total_incl_tax)
        ),
        "invoices: newest page of 50": scoped_invoices(perimeter, INVOICES.c.id, INVOICES.c.number)
        .order_by(INVOICES.c.accounting_date.desc(), INVOICES.c.id.desc())
        .limit(50),
        "sites: count": scoped_sites(perimeter, sa.func.count(Site.id)),  # type: ignore[arg-type]
    }


def sql_of(statement: Any) -> str:
    return str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def main() -> None:
    full_database_url()  # builds the file if missing
    connection = sqlite3.connect(BENCH_DIR / f"full-{AS_OF.isoformat()}.sqlite")
    perimeters = {
        "reference": Perimeter(group_ids=frozenset({1})),
        "with cut-off": Perimeter(group_ids=frozenset({1}), served_since=served_since(AS_OF)),
        # after a purge: no contract ended before the cut-off (none before 2015)
        "cut-off, nothing expired": Perimeter(
            group_ids=frozenset({1}), served_since=date(2015, 1, 1)
        ),
    }
    for name in statements(perimeters["reference"]):
        sqls = {label: sql_of(statements(p)[name]) for label, p in perimeters.items()}
        best = dict.fromkeys(sqls, float("inf"))
        answers: dict[str, Any] = {}
        for _ in range(15):
            for label, sql in sqls.items():
                started = time.perf_counter()
                rows = connection.execute(sql).fetchall()
                best[label] = min(best[label], (time.perf_counter() - started) * 1000)
                answers[label] = rows[0] if len(rows) == 1 else len(rows)
        print(f"{name}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in best.items()))
        print(f"    answers: {answers}")


if __name__ == "__main__":
    main()
