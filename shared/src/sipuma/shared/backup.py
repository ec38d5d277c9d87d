"""Logical backup and restore of a service's store databases and its S3 buckets (docs/backup.md).

Through the MongoDB wire protocol, so the same tool serves the local store (PostgreSQL +
DocumentDB behind its gateway) and MongoDB: `pg_dump` of DocumentDB 0.108 leaves out the
collection catalog (documentdb/documentdb#737, fixed in 0.118), and `mongodump` is not published
as a Go module. The files are what `mongodump` writes (one `<collection>.bson` of concatenated
BSON documents per collection, indexes beside it as JSON), copied byte for byte
(`find_raw_batches`, restored as `RawBSONDocument`): no type is converted on the way.

    python -m sipuma.shared.backup dump    --out DIR --mongo-uri URI --database DB ... \
        [--s3-endpoint HOST:PORT --s3-access-key K --s3-secret-key S --bucket B ...]
    python -m sipuma.shared.backup restore --from DIR --mongo-uri URI [same S3 options]

A consistent backup needs the writers quiet (the procedure in docs/backup.md stops the consuming
services; intake keeps accepting into Kafka meanwhile). Restore refuses a database or bucket
that is not empty unless `--replace` is given.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bson import decode_file_iter, json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from minio import Minio
from pymongo import IndexModel, MongoClient

MANIFEST = "manifest.json"
# Index options carried over; others (v, ns, server-internal ones) are the server's business.
INDEX_OPTIONS = ("unique", "sparse", "partialFilterExpression", "expireAfterSeconds", "collation")
BATCH = 1000


@dataclass
class S3:
    endpoint: str
    access_key: str
    secret_key: str
    secure: bool = False

    def client(self) -> Minio:
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=self.secure,
        )


@dataclass
class Manifest:
    created_at: str
    databases: dict[str, dict[str, int]] = field(default_factory=dict)  # db → collection → docs
    buckets: dict[str, int] = field(default_factory=dict)  # bucket → objects

    def write(self, folder: Path) -> None:
        (folder / MANIFEST).write_text(json.dumps(self.__dict__, indent=2, sort_keys=True))

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        return cls(**json.loads((folder / MANIFEST).read_text()))


def dump(
    out: Path,
    mongo_uri: str,
    databases: list[str],
    s3: S3 | None = None,
    buckets: tuple[str, ...] = (),
) -> Manifest:
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(created_at=datetime.now(UTC).isoformat())
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    with client:
        for name in databases:
            db = client[name]
            folder = out / "store" / name
            folder.mkdir(parents=True, exist_ok=True)
            manifest.databases[name] = {}
            for collection in sorted(db.list_collection_names()):
                count = 0
                with (folder / f"{collection}.bson").open("wb") as target:
                    for batch in db[collection].find_raw_batches(sort=[("_id", 1)]):
                        raw_batch: bytes = batch  # type: ignore[assignment]  # typed as a doc
                        target.write(raw_batch)
                        count += _count(raw_batch)
                indexes = [i for i in db[collection].list_indexes() if i["name"] != "_id_"]
                (folder / f"{collection}.indexes.json").write_text(json_util.dumps(indexes))
                manifest.databases[name][collection] = count
    if s3 is not None:
        minio = s3.client()
        for bucket in buckets:
            folder = out / "s3" / bucket
            count = 0
            for item in minio.list_objects(bucket, recursive=True):
                assert item.object_name is not None
                minio.fget_object(bucket, item.object_name, str(folder / item.object_name))
                count += 1
            manifest.buckets[bucket] = count
    manifest.write(out)
    return manifest


def _count(batch: bytes) -> int:
    """Documents in a raw batch: each starts with its int32 length."""
    count, at = 0, 0
    while at < len(batch):
        at += int.from_bytes(batch[at : at + 4], "little")
        count += 1
    return count


def restore(
    source: Path, mongo_uri: str, s3: S3 | None = None, *, replace: bool = False
) -> Manifest:
    manifest = Manifest.read(source)
    raw = CodecOptions(document_class=RawBSONDocument)
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    with client:
        for name, collections in manifest.databases.items():
            if client[name].list_collection_names() and not replace:
                raise RuntimeError(f"database {name} is not empty (use --replace)")
            if replace:
                client.drop_database(name)
            db = client[name]
            for collection in collections:
                folder = source / "store" / name
                target = db.get_collection(collection, codec_options=raw)
                db.create_collection(collection)
                models = [
                    IndexModel(
                        list(spec["key"].items()),
                        name=spec["name"],
                        **{k: spec[k] for k in INDEX_OPTIONS if k in spec},
                    )
                    for spec in json_util.loads((folder / f"{collection}.indexes.json").read_text())
                ]
                if models:
                    target.create_indexes(models)
                with (folder / f"{collection}.bson").open("rb") as docs:
                    batch: list[RawBSONDocument] = []
                    for doc in decode_file_iter(docs, raw):
                        batch.append(doc)
                        if len(batch) == BATCH:
                            target.insert_many(batch, ordered=True)
                            batch = []
                    if batch:
                        target.insert_many(batch, ordered=True)
    if s3 is not None:
        minio = s3.client()
        for bucket in manifest.buckets:
            if not minio.bucket_exists(bucket):
                minio.make_bucket(bucket)
            elif any(True for _ in minio.list_objects(bucket)) and not replace:
                raise RuntimeError(f"bucket {bucket} is not empty (use --replace)")
            folder = source / "s3" / bucket
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                key = path.relative_to(folder).as_posix()
                kind = mimetypes.guess_type(key)[0] or "application/octet-stream"
                minio.fput_object(bucket, key, str(path), content_type=kind)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sipuma.shared.backup", description=__doc__)
    parser.add_argument("action", choices=["dump", "restore"])
    parser.add_argument("--out", "--from", dest="folder", type=Path, required=True)
    # Secrets from the environment by default: a command line shows up in `ps` and shell history.
    parser.add_argument("--mongo-uri", default=os.environ.get("SIPUMA_MONGO_URI"))
    parser.add_argument("--database", action="append", default=[])
    parser.add_argument("--s3-endpoint", default=os.environ.get("SIPUMA_S3_ENDPOINT"))
    parser.add_argument("--s3-access-key", default=os.environ.get("SIPUMA_S3_ACCESS_KEY"))
    parser.add_argument("--s3-secret-key", default=os.environ.get("SIPUMA_S3_SECRET_KEY"))
    parser.add_argument("--s3-secure", action="store_true")
    parser.add_argument("--bucket", action="append", default=[])
    parser.add_argument("--replace", action="store_true", help="restore over existing data")
    args = parser.parse_args(argv)
    if not args.mongo_uri:
        parser.error("--mongo-uri or SIPUMA_MONGO_URI is required")
    s3 = None
    if args.s3_endpoint and (args.bucket or args.action == "restore"):
        s3 = S3(
            args.s3_endpoint, args.s3_access_key or "", args.s3_secret_key or "", args.s3_secure
        )
    if args.action == "dump":
        manifest = dump(args.folder, args.mongo_uri, args.database, s3, tuple(args.bucket))
    else:
        manifest = restore(args.folder, args.mongo_uri, s3, replace=args.replace)
    # Counts only: never a document, a key or an URI (they hold personal data and passwords).
    print(json.dumps({"action": args.action, **manifest.__dict__}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
