"""`sipuma-dlq`: dead-lettered messages per consumer group: list, show, replay, purge.

Answers are JSON on stdout (one object per line for lists), errors one line on stderr with exit
code 2 (bad arguments) or 1 (not found, Kafka). Replay and purge change the cluster: they need
`--actor` (who, for the audit) and, unless `--yes`, a typed confirmation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

from sipuma.ops.audit import AuditTrail
from sipuma.ops.kafka_log import KafkaDeadLetterLog
from sipuma.ops.service import DeadLetters, NotFound, Position
from sipuma.ops.settings import OpsSettings
from sipuma.shared.logging import configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sipuma-dlq",
        description="Dead-lettered messages of SIPUMA's consumer groups (SIPUMA_KAFKA_BOOTSTRAP, "
        "SIPUMA_TOPIC_PREFIX, SIPUMA_AUDIT_FILE). Personal data is masked.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("groups", help="dead-letter topics and how many messages each holds")
    listing = commands.add_parser("list", help="a group's dead letters: reason, origin, ids")
    listing.add_argument("group", help="consumer group without prefix, e.g. registry")
    listing.add_argument("--limit", type=int, default=None)
    show = commands.add_parser("show", help="one dead letter, headers and body masked")
    show.add_argument("group")
    show.add_argument("position", type=Position.parse, help="partition:offset, e.g. 0:17")
    replay = commands.add_parser("replay", help="back to the original topic (after a fix)")
    replay.add_argument("group")
    replay.add_argument("positions", nargs="*", type=Position.parse, metavar="partition:offset")
    replay.add_argument("--all", action="store_true", help="every message the topic holds")
    purge = commands.add_parser("purge", help="delete dead letters (all, or below offsets)")
    purge.add_argument("group")
    purge.add_argument(
        "--before",
        nargs="*",
        type=Position.parse,
        default=None,
        metavar="partition:offset",
        help="per partition, delete the records below this offset",
    )
    purge.add_argument("--all", action="store_true", help="everything the topic holds now")
    for changing in (replay, purge):
        changing.add_argument("--actor", required=True, help="who does this (NIP / user id)")
        changing.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    show.add_argument("--actor", default=None, help="who reads (NIP / user id), for the audit")
    return parser


def _print(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def _confirm(args: argparse.Namespace, what: str) -> bool:
    if args.yes is True:
        return True
    if not sys.stdin.isatty():
        print(f"refusing to {what} without --yes (no terminal to confirm on)", file=sys.stderr)
        return False
    answer = input(f"{what}? type the group name to confirm: ").strip()
    return bool(answer == args.group)


async def _run(args: argparse.Namespace, settings: OpsSettings) -> int:
    kafka = KafkaDeadLetterLog(settings.kafka_bootstrap, settings.kafka_timeout_s)
    audit = AuditTrail(settings.audit_file, getattr(args, "actor", None))
    dead = DeadLetters(kafka, audit, settings.topic_prefix)
    try:
        if args.command == "groups":
            for group, count in (await dead.groups()).items():
                _print({"group": group, "topic": dead.topic(group), "messages": count})
        elif args.command == "list":
            for item in await dead.listing(args.group, args.limit):
                _print(item)
        elif args.command == "show":
            _print(await dead.show(args.group, args.position))
        elif args.command == "replay":
            if bool(args.all) == bool(args.positions):
                print("replay: give partition:offset positions or --all", file=sys.stderr)
                return 2
            if not _confirm(args, f"replay {'all' if args.all else len(args.positions)}"):
                return 1
            for item in await dead.replay(args.group, None if args.all else args.positions):
                _print(item)
        elif args.command == "purge":
            if bool(args.all) == bool(args.before):
                print("purge: give --before partition:offset ... or --all", file=sys.stderr)
                return 2
            if not _confirm(args, "purge"):
                return 1
            before = None if args.all else {p.partition: p.offset for p in args.before}
            deleted = await dead.purge(args.group, before)
            _print({"deleted": sum(deleted.values()), "per_partition": deleted})
    except (NotFound, TimeoutError) as failed:
        print(str(failed), file=sys.stderr)
        return 1
    finally:
        await kafka.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = OpsSettings()
    # Logs (with the audit lines) on stderr, answers on stdout.
    configure_logging(settings.service, settings.log_level, settings.log_format, sys.stderr)
    return asyncio.run(_run(args, settings))


if __name__ == "__main__":
    sys.exit(main())
