"""Alembic owns the schema: it upgrades from empty, downgrades to base and matches the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.pool import NullPool

import db.models
from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine
from tests.conftest import ThrowawayDatabases


def _table_names(sync_connection: sa.Connection) -> set[str]:
    return set(sa.inspect(sync_connection).get_table_names()) - {"alembic_version"}


async def test_upgrade_from_empty_then_downgrade_to_base(databases: ThrowawayDatabases) -> None:
    # given an empty database
    engine = create_engine(Settings(database_url=await databases.new_url()), poolclass=NullPool)
    try:
        # when it is upgraded to head
        await migrate.upgrade(engine)
        # then every model table exists, at the head revision
        async with engine.connect() as connection:
            tables = await connection.run_sync(_table_names)
        assert tables == set(db.models.metadata.tables)
        assert await migrate.current_revision(engine) == migrate.head_revision()

        # when it is downgraded to base, then nothing of ours is left
        await migrate.downgrade(engine, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_table_names) == set()
        assert await migrate.current_revision(engine) is None

        # and it upgrades again cleanly
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_models_and_migrations_do_not_drift(engine: sa.ext.asyncio.AsyncEngine) -> None:
    def differences(sync_connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
        return compare_metadata(context, db.models.metadata)

    async with engine.connect() as connection:
        diff = await connection.run_sync(differences)
    assert diff == [], f"autogenerate would change the schema: {diff}"


async def test_upgrade_of_a_database_that_holds_data(databases: ThrowawayDatabases) -> None:
    # given a database at the first revision with a site, its meter and a reading
    engine = create_engine(Settings(database_url=await databases.new_url()), poolclass=NullPool)
    try:
        await migrate.upgrade(engine, "0001")
        now = "2026-01-01 00:00:00"
        async with engine.begin() as connection:
            for statement in (
                "INSERT INTO groups (id, code, name, coordinator_name, customer_service_email,"
                " customer_service_phone, created_at) VALUES (1, 'G', 'Groupement', 'Syndicat',"
                f" 's@x.fr', '01', '{now}')",
                "INSERT INTO members (id, group_id, customer_number, legal_name, siren, street,"
                " postcode, city, created_at) VALUES (1, 1, 'C1', 'Commune de Saint-Niel',"
                f" '123456789', '1 rue', '41000', 'Blois', '{now}')",
                "INSERT INTO billing_accounts (id, member_id, number, energy, invoice_label,"
                " is_multi_site, payment_method, billing_frequency, invoice_delivery,"
                " billing_street, billing_postcode, billing_city, recipient_siret,"
                " segment_typology, created_at) VALUES (1, 1, 'BA1', 'GAS', 'Mairie', false,"
                " 'TRANSFER', 'MONTHLY', 'POST', '1 rue', '41000', 'Blois', '12345678900011',"
                f" 'T2', '{now}')",
                "INSERT INTO sites (id, member_id, billing_account_id, energy, point_number,"
                " distributor, distributor_name, segment, tariff_option, transport_tariff,"
                " car_kwh, profile, green_share_pct, street, postcode, city, status,"
                " supply_start, designation, created_at) VALUES (1, 1, 1, 'GAS',"
                " '12345678901234', 'GRDF', 'GRDF', 'T2', 'T2', 'ATRD7', 20000, 'P012', 0,"
                f" '2 place de l''Église', '41000', 'Blois', 'ACTIVE', '2025-01-01', 'École',"
                f" '{now}')",
                "INSERT INTO meters (id, site_id, serial, kind, is_communicating, digits,"
                " registers, reading_coefficient, installed_on) VALUES (1, 1, 'GZ1', 'GAZPAR',"
                " true, 6, '[\"BASE\"]', :coefficient, '2020-01-01')",
                "INSERT INTO readings (id, site_id, meter_id, register_code, read_on, index_value,"
                " source, rollover, created_at) VALUES (1, 1, 1, 'BASE', '2026-01-01', 1234,"
                f" 'DISTRIBUTOR_ACTUAL', false, '{now}')",
            ):
                # 1.0 as stored: scaled by 10^5 on SQLite, NUMERIC on PostgreSQL
                coefficient = 100000 if engine.dialect.name == "sqlite" else 1
                await connection.execute(sa.text(statement), {"coefficient": coefficient})
        # when it is upgraded to head
        await migrate.upgrade(engine)
        # then the data is still there, and the new search column is filled
        async with engine.connect() as connection:
            text = (await connection.execute(sa.text("SELECT search_text FROM sites"))).scalar()
            readings = (await connection.execute(sa.text("SELECT count(*) FROM readings"))).scalar()
            contacts = (
                await connection.execute(
                    sa.text(
                        "SELECT group_id, role, email, phone FROM contacts"
                        " ORDER BY group_id IS NOT NULL, group_id"
                    )
                )
            ).all()
        assert readings == 1
        assert "saint niel" in text and "ecole" in text and "12345678901234" in text
        # and the group's customer service moved into the contacts, beside the supplier's
        assert [tuple(c) for c in contacts] == [
            (None, "CUSTOMER_SERVICE", "service-clients@comptoir.example", "09 70 00 00 00"),
            (1, "CUSTOMER_SERVICE", "s@x.fr", "01"),
        ]
    finally:
        await engine.dispose()
