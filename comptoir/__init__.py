"""comptoir: headless customer space for energy suppliers (GraphQL API)."""

__version__ = "0.1.0"
