"""The store as an attacker with a disk or a backup sees it: every document of a database as
text, read around the services (no decryption). On the local store that is PostgreSQL itself
(DocumentDB's tables, `psql` as the read-only user; docs/store.md); elsewhere the raw documents
through the MongoDB wire protocol."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from bson import json_util
from pymongo import AsyncMongoClient

from tests.harness.endpoints import RUN_DIR, Endpoints


async def wire_texts(client: AsyncMongoClient[Any], database: str) -> list[str]:
    db = client[database]
    texts = []
    for name in await db.list_collection_names():
        async for doc in db[name].find({}):
            texts.append(json_util.dumps(doc))
    return texts


def postgres_texts(endpoints: Endpoints, database: str) -> list[str] | None:
    """Each stored document of `database` as PostgreSQL returns it; None when the store is not
    the local PostgreSQL + DocumentDB (Docker's MongoDB, a given URI)."""
    secret = RUN_DIR / "store" / "secrets" / "readonly"
    if endpoints.origin != "local" or not secret.exists():
        return None
    port = os.environ.get("SIPUMA_STORE_PG_PORT", "5433")

    def sql(query: str) -> list[str]:
        done = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                port,
                "-U",
                "sipuma_readonly",
                "-At",
                "-c",
                query,
                "postgres",
            ],
            env={**os.environ, "PGPASSWORD": secret.read_text().strip()},
            capture_output=True,
            text=True,
            check=True,
            stdin=subprocess.DEVNULL,
        )
        return [line for line in done.stdout.splitlines() if line]

    ids = sql(
        "SELECT collection_id FROM documentdb_api_catalog.collections "
        f"WHERE database_name = '{database}'"
    )
    rows: list[str] = []
    for collection_id in ids:
        rows += sql(f"SELECT document::text FROM documentdb_data.documents_{int(collection_id)}")
    return rows
