"""The cloud store's storage: ``open_store(url)`` gives a ``Store`` on SQLite or PostgreSQL.

The contract both backends implement is ``db.Db`` / ``db.Tx`` (documented there); ``Store``
(``store.py``) is written once against it and ``tests/cloud`` runs one suite against both.
Migrations (``schema.py``) are applied when the store opens.
"""

import asyncio
from pathlib import Path

from config.private_files import private_database
from sync.cloud.errors import StoreError
from sync.cloud.store.db import Db, Tx
from sync.cloud.store.schema import migrations
from sync.cloud.store.store import Store
from sync.cloud.store.tenancy import Principal


async def open_db(url: str) -> Db:
    """The ``Db`` for ``sqlite:///PATH`` or ``postgresql://...`` (no migrations)."""
    if url.startswith("sqlite:///"):
        from sync.cloud.store.sqlite import SqliteDb

        path = url.removeprefix("sqlite:///")
        if path != ":memory:":
            # device secrets and the card-link key live here (file system calls: off the loop)
            await asyncio.to_thread(private_database, Path(path))
        return await SqliteDb.open(path)
    if url.startswith(("postgresql://", "postgres://")):
        from sync.cloud.store.postgres import PgDb

        return await PgDb.open(url)
    raise StoreError(f"unsupported database URL {url.split(':', 1)[0]!r}")


async def open_store(url: str) -> Store:
    """Open the database at ``url``, apply pending migrations, and return the store."""
    db = await open_db(url)
    try:
        version = await db.migrate(migrations(db.dialect))
        store = Store(db, version)
        await store.start()
    except BaseException:
        await db.close()
        raise
    return store


__all__ = ["Db", "Principal", "Store", "StoreError", "Tx", "open_db", "open_store"]
