"""Deterministic, realistic demo data for comptoir, and its fast bulk loader."""

from demo.load import DemoDataError, DemoReport, database_is_empty, load_demo_data
from demo.logins import DEMO_LOGINS, DEMO_PASSWORD, DemoLogin
from demo.plan import planned_member_counts, planned_site_counts

__all__ = [
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "DemoDataError",
    "DemoLogin",
    "DemoReport",
    "database_is_empty",
    "load_demo_data",
    "planned_member_counts",
    "planned_site_counts",
]
