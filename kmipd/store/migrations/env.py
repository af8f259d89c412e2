"""Alembic environment for kmipd (used through L{kmipd.store.migrations})."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from kmipd.store import node_state as _node_state  # noqa: F401  (their tables join the metadata)
from kmipd.store import tickets as _tickets  # noqa: F401
from kmipd.store.migrations import VERSION_TABLE
from kmipd.store.models import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from kmipd.store.engine import create_store_engine

    engine = create_store_engine(config.get_main_option("sqlalchemy.url") or "", pool_size=1)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
