"""Every error a client can get carries a code from `ErrorCode` and a French message: the
query's own errors (syntax, validation, limits), bad IDs and cursors, permissions, and bugs."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.schema import sites as sites_schema
from domain.errors import ErrorCode
from tests.factories import World, make_world
from tests.runner import Runner

ENGLISH = ("Syntax Error", "Cannot query", "exceeds", "aliases found", "Unexpected error")


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Codes")


async def errors_of(runner: Runner, document: str, world: World | None = None) -> list[Any]:
    result = await runner.raw(document, as_user=world.people["ADMIN"] if world else None)
    assert result.errors, result
    return result.errors


def assert_coded(error: Any, code: ErrorCode) -> None:
    assert error.extensions["code"] == code.value, (error.message, error.extensions)
    assert not any(word in error.message for word in ENGLISH), error.message


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("query { sites(first: 1) { totalCount ", ErrorCode.SYNTAX_ERROR),
        ("query { noSuchField }", ErrorCode.INVALID_QUERY),
        ("query { sites(first: 1) { totalCount noSuchField } }", ErrorCode.INVALID_QUERY),
        (
            "query {" + " ".join(f"a{i}: viewer {{ person {{ email }} }}" for i in range(31)) + "}",
            ErrorCode.QUERY_TOO_COMPLEX,
        ),
        ("query { " + "x " * 4100 + "}", ErrorCode.QUERY_TOO_COMPLEX),
        ("query { sites(first: 1) { edges { node { member { legalName } } } } }", None),
    ],
)
async def test_the_query_s_own_errors_have_a_code_and_french_text(
    runner: Runner, world: World, document: str, code: ErrorCode | None
) -> None:
    if code is None:  # a legal query: no error at all
        result = await runner.raw(document, as_user=world.people["ADMIN"])
        assert result.errors is None
        return
    errors = await errors_of(runner, document, world)
    for error in errors:
        assert_coded(error, code)
        assert error.extensions.get("detail"), "the original text stays for developers"


async def test_too_deep_a_query_is_refused_with_a_code(runner: Runner, world: World) -> None:
    deep = (
        'query { invoice(number: "F1") { ' + "cancelsInvoice { " * 13 + "number" + " }" * 14 + " }"
    )
    (error,) = await errors_of(runner, deep, world)
    assert_coded(error, ErrorCode.QUERY_TOO_COMPLEX)
    assert "12" in error.message


async def test_a_bad_global_id_and_a_bad_cursor_have_codes(runner: Runner, world: World) -> None:
    (bad_id,) = await errors_of(runner, 'query { node(id: "not base64 !") { id } }', world)
    assert_coded(bad_id, ErrorCode.INVALID)
    (bad_cursor,) = await errors_of(
        runner, 'query { sites(first: 1, after: "###") { totalCount } }', world
    )
    assert_coded(bad_cursor, ErrorCode.INVALID)


async def test_anonymous_callers_get_unauthenticated(runner: Runner) -> None:
    (error,) = await errors_of(runner, "query { sites(first: 1) { totalCount } }")
    assert_coded(error, ErrorCode.UNAUTHENTICATED)


async def test_a_bug_is_masked_with_a_code(
    runner: Runner, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(sites_schema.summaries, "portfolio_summary", broken)
    errors = await errors_of(runner, "query { portfolioSummary { sites } }", world)
    (error,) = errors
    assert_coded(error, ErrorCode.INTERNAL_ERROR)
    assert "hunter2" not in str(error.formatted)
