"""Backup → wipe → restore (docs/backup.md): the registry's database (the test's own, on the real
store) and an evidence bucket (the test's own, on the real MinIO) through
`python -m sipuma.shared.backup`; after the restore the registry continues numbering every
office without a gap, keeps the numbers it had, and the objects are back byte for byte."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from minio import Minio
from registry_testkit.events import OFFICES, received
from registry_testkit.wiring import BuildRegistry, register

from sipuma.registry.store import Store
from sipuma.shared.backup import main as backup
from tests.harness.endpoints import Endpoints

pytestmark = pytest.mark.integration


@pytest.fixture
def bucket(endpoints: Endpoints, unique_name: Callable[[str], str]) -> Iterator[str]:
    s3 = Minio(
        endpoints.s3_endpoint,
        access_key=endpoints.s3_access_key,
        secret_key=endpoints.s3_secret_key,
        secure=False,
    )
    name = unique_name("backup")
    s3.make_bucket(name)
    try:
        yield name
    finally:
        for item in s3.list_objects(name, recursive=True):
            s3.remove_object(name, item.object_name or "")
        s3.remove_bucket(name)


async def _seqs(store: Store) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for doc in await store.numbers.find({}).to_list():
        found.setdefault(doc["office_code"], []).append(doc["seq"])
    return {office: sorted(seqs) for office, seqs in found.items()}


async def test_backup_wipe_restore_numbering_continues_without_gap(
    build_registry: BuildRegistry,
    store: Store,
    endpoints: Endpoints,
    bucket: str,
    tmp_path: Path,
) -> None:
    runtime, _ = build_registry()
    first = {office: [received(office) for _ in range(3)] for office in OFFICES[:2]}
    numbers = {}
    for events in first.values():
        for event in events:
            numbers[event.complaint_id] = (await register(runtime.registry, event))["number"]
    s3 = Minio(
        endpoints.s3_endpoint,
        access_key=endpoints.s3_access_key,
        secret_key=endpoints.s3_secret_key,
        secure=False,
    )
    objects = {f"complaints/{n}/berita-acara.txt": f"isi {n}\n".encode() for n in range(3)}
    for key, data in objects.items():
        s3.put_object(bucket, key, io.BytesIO(data), len(data), content_type="text/plain")
    connection = [
        "--mongo-uri",
        endpoints.mongo_uri,
        "--s3-endpoint",
        endpoints.s3_endpoint,
        "--s3-access-key",
        endpoints.s3_access_key,
        "--s3-secret-key",
        endpoints.s3_secret_key,
    ]
    db = store.db.name

    assert (
        backup(["dump", "--out", str(tmp_path), *connection, "--database", db, "--bucket", bucket])
        == 0
    )

    # Wipe: the database and every object gone (the disaster the backup is for).
    await store.client.drop_database(db)
    for key in objects:
        s3.remove_object(bucket, key)
    assert await store.numbers.count_documents({}) == 0

    assert backup(["restore", "--from", str(tmp_path), *connection]) == 0

    assert await _seqs(store) == {office: [1, 2, 3] for office in OFFICES[:2]}
    for key, data in objects.items():
        assert s3.get_object(bucket, key).read() == data
    # A new process (no remembered seqs): numbering goes on where the backup left off, and a
    # redelivered old complaint keeps its number.
    after, _ = build_registry()
    for office in OFFICES:
        await register(after.registry, received(office))
    old = first[OFFICES[0]][0]
    assert (await register(after.registry, old))["number"] == numbers[old.complaint_id]
    assert await _seqs(store) == {
        OFFICES[0]: [1, 2, 3, 4],
        OFFICES[1]: [1, 2, 3, 4],
        OFFICES[2]: [1],
    }
    # The unique indexes came back too: a second number for a numbered complaint is refused.
    indexes = {i["name"]: i for i in await (await store.numbers.list_indexes()).to_list()}
    assert any(i.get("unique") for name, i in indexes.items() if name != "_id_")
