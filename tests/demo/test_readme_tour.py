"""Every example of the README's tour ("A short tour of the API": its ```graphql blocks) runs
against the small demo, in the README's order, as the person its comment names (the demo ADMIN
otherwise), and returns data: no top-level error, every root field answered, a mutation's
payload without errors, and something in it (a row, a count above zero, a text).

Read from the README itself, so a new example is checked the day it is written, and an example
that stops returning data on the demo fails here."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse, print_ast
from sqlalchemy import select
from sqlalchemy.pool import NullPool

from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine, create_session_factory
from db.models import User
from demo import load_demo_data
from tests.conftest import ThrowawayDatabases
from tests.runner import Runner

README = Path(__file__).resolve().parents[2] / "README.md"
# The tour's day: the self-reading example's `readOn` is "today's date".
TOUR_DAY = date(2026, 12, 1)
TOUR_NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

# Examples that need what an earlier answer or a mail hands out (a refresh token, an
# activation link): their shape is checked by the session tests, not here.
NEEDS_A_SECRET = {"refreshToken", "activateAccount"}
# Who runs an example, where its comment says so (the ADMIN otherwise).
AS_USER = {"acknowledgeAlert", "resolveAlert"}
EMAILS = {
    "ADMIN": "admin@demo.comptoir.fr",
    "USER": "utilisateur@demo.comptoir.fr",
}


def tour_operations() -> list[tuple[str, str]]:
    """(root field, document) of each operation of the tour's graphql blocks, in order."""
    text = README.read_text(encoding="utf-8")
    tour = text[text.index("## A short tour of the API") : text.index("### Self-readings")]
    operations = []
    for block in re.findall(r"```graphql\n(.*?)```", tour, re.DOTALL):
        for definition in parse(block).definitions:
            assert isinstance(definition, OperationDefinitionNode)
            root = definition.selection_set.selections[0].name.value  # type: ignore[attr-defined]
            operations.append((root, print_ast(definition)))
    return operations


def who_runs(root: str, document: str) -> str:
    if root in AS_USER:
        return "USER"
    if root == "inviteUser" and "tier: INFRA_USER" in document:
        return "USER"  # "A USER of one member creates an infra-user"
    return "ADMIN"


def has_something(value: Any) -> bool:
    """A row, a count above zero, a true flag or a text (not a bare __typename)."""
    if isinstance(value, dict):
        return any(has_something(v) for k, v in value.items() if k != "__typename")
    if isinstance(value, list):
        return any(has_something(v) for v in value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0
    return value is not None and value != ""


@pytest.fixture(scope="module")
async def tour_runner(databases: ThrowawayDatabases, test_settings: Settings) -> Runner:
    """The small demo dated TOUR_DAY, in a database of its own (the tour's mutations write)."""
    url = await databases.new_url()
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    await load_demo_data(engine, scale="small", as_of=TOUR_DAY)
    settings = test_settings.model_copy(update={"database_url": url})
    return Runner(settings, create_session_factory(engine), now=TOUR_NOW)


def test_the_tour_has_examples() -> None:
    roots = [root for root, _ in tour_operations()]
    assert len(roots) >= 25
    assert {"logIn", "sites", "invoices", "alerts" if "alerts" in roots else "alertCounts"} <= set(
        roots
    )


@pytest.mark.slow
async def test_every_tour_example_returns_data_on_the_small_demo(tour_runner: Runner) -> None:
    people: dict[str, User] = {}
    async with tour_runner.sessions() as session:
        for tier, email in EMAILS.items():
            people[tier] = (await session.exec(select(User).where(User.email == email))).one()[0]  # type: ignore[call-overload]
    problems: list[str] = []
    ran = 0
    for root, document in tour_operations():
        if root in NEEDS_A_SECRET:
            continue
        result = await tour_runner.raw(document, as_user=people[who_runs(root, document)])
        ran += 1
        if result.errors:
            problems.append(f"{root}: {[e.message for e in result.errors]}")
            continue
        assert result.data is not None
        for field, value in result.data.items():
            if value is None:
                problems.append(f"{root}.{field}: null")
            elif isinstance(value, dict) and value.get("errors"):
                problems.append(f"{root}.{field}: {value['errors']}")
            elif not has_something(value):
                problems.append(f"{root}.{field}: nothing")
    assert problems == [], "tour examples that fail or return nothing on the small demo:\n" + (
        "\n".join(problems)
    )
    assert ran >= 23
