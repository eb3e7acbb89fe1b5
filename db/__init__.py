"""Data layer: SQLModel tables, engine and sessions, perimeter-scoped query helpers."""
