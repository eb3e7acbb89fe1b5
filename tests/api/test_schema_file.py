"""The committed schema.graphql is the code's schema: regenerate with `comptoir export-schema`."""

from __future__ import annotations

from api.schema.schema import build_schema
from comptoir.cli import SCHEMA_FILE


def test_schema_graphql_matches_the_code() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert committed == build_schema().as_str() + "\n", (
        "schema.graphql is stale: run `comptoir export-schema` and commit it"
    )
