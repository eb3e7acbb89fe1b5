"""Enqueueing: in the caller's transaction, once per idempotency key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import transaction
from domain.enums import MailStatus
from mailers.outbox import enqueue_mail, message_id, to_json
from tests.mailers.conftest import queue_confirmations, rows

Sessions = async_sessionmaker[AsyncSession]


class _Abort(Exception):
    pass


async def test_a_rolled_back_change_queues_no_mail(
    session_factory: Sessions, key_prefix: str
) -> None:
    # given a change that fails after queueing its mail
    with pytest.raises(_Abort):
        async with transaction(session_factory) as session:
            queued = await enqueue_mail(
                session,
                template="activation_confirmation",
                recipients=["a@mairie-exemple.fr"],
                context={
                    "supplier_name": "Comptoir Énergie",
                    "customer_service": {
                        "name": "SC",
                        "email": "s@c.fr",
                        "phone": "1",
                        "hours": "h",
                    },
                    "full_name": "A",
                    "email": "a@mairie-exemple.fr",
                },
                idempotency_key=f"{key_prefix}rolled-back",
            )
            assert queued
            raise _Abort

    # then
    assert await rows(session_factory, key_prefix) == []


async def test_a_committed_change_queues_one_pending_mail_with_its_subject(
    session_factory: Sessions, key_prefix: str
) -> None:
    # when
    await queue_confirmations(session_factory, key_prefix, 1)

    # then
    [row] = await rows(session_factory, key_prefix)
    assert row.status == MailStatus.PENDING
    assert row.attempts == 0
    assert row.subject == "Votre accès à l'espace client Comptoir Énergie est activé"
    assert row.recipients == ["agent0@mairie-exemple.fr"]


async def test_the_same_key_twice_queues_one_mail(
    session_factory: Sessions, key_prefix: str
) -> None:
    # given
    await queue_confirmations(session_factory, key_prefix, 1)

    # when the same mail is queued again, in the same and in another transaction
    async with transaction(session_factory) as session:
        again = await queue_confirmations_in(session, f"{key_prefix}0")

    # then
    assert again is False
    assert len(await rows(session_factory, key_prefix)) == 1


async def queue_confirmations_in(session: AsyncSession, key: str) -> bool:
    return await enqueue_mail(
        session,
        template="activation_confirmation",
        recipients=["b@mairie-exemple.fr"],
        context={
            "supplier_name": "Comptoir Énergie",
            "customer_service": {"name": "SC", "email": "s@c.fr", "phone": "1", "hours": "h"},
            "full_name": "B",
            "email": "b@mairie-exemple.fr",
        },
        idempotency_key=key,
    )


async def test_a_concurrent_duplicate_returns_false_and_keeps_the_callers_transaction(
    session_factory: Sessions, key_prefix: str
) -> None:
    # given a first transaction that queued the mail but has not committed yet
    key = f"{key_prefix}concurrent"
    async with session_factory() as first, first.begin():
        assert await queue_confirmations_in(first, key)

        # when a second transaction queues the same key meanwhile (it waits on the lock)
        async def second() -> tuple[bool, bool]:
            async with transaction(session_factory) as session:
                duplicate = await queue_confirmations_in(session, key)
                other = await queue_confirmations_in(session, f"{key}-other")
            return duplicate, other

        racing = asyncio.create_task(second())
        await asyncio.sleep(0.2)
    duplicate, other = await racing

    # then the duplicate is refused without aborting the second transaction's other work
    assert (duplicate, other) == (False, True)
    assert {row.idempotency_key for row in await rows(session_factory, key)} == {
        key,
        f"{key}-other",
    }


def test_context_is_stored_as_json_without_floats() -> None:
    stored = to_json(
        {"at": datetime(2026, 3, 1, 8, tzinfo=UTC), "amount": Decimal("12.50"), "n": (1, 2)}
    )
    assert stored == {"at": "2026-03-01T08:00:00+00:00", "amount": "12.50", "n": [1, 2]}
    with pytest.raises(ValueError):
        to_json({"at": datetime(2026, 3, 1, 8)})


def test_message_id_is_derived_from_the_key() -> None:
    assert message_id("activation:1") == message_id("activation:1")
    assert message_id("activation:1") != message_id("activation:2")
    assert message_id("activation:1").endswith("@comptoir>")
