"""Every query the registry issues is index-backed, on collections big enough for the planner to
care (thousands of documents per collection, times spread over more than a year).

The queries are not restated here: the registry's own use cases and HTTP API run against the
seeded store while a PyMongo command listener records every command they send; each read (and
the filter of each update, delete and find-and-modify, which the DocumentDB gateway cannot
explain itself: explained as the `find` with the same filter and sort) is then explained, and the
plan must read an index and never the whole collection (`tests/harness/plans.py`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.monitoring import CommandListener, CommandStartedEvent
from registry_testkit.events import OFFICES, contact_provided, received
from registry_testkit.wiring import TICKET_KEY, TOKEN_SECRET, settings_for

from sipuma.registry import tickets
from sipuma.registry.domain import Doc, Status, number_key
from sipuma.registry.main import Runtime, build
from sipuma.registry.outbox import GRACE
from sipuma.registry.store import INDEXES, Store
from sipuma.shared import events as ev
from sipuma.shared import payloads as p
from sipuma.shared.auth import Role, mint_token
from tests.harness.endpoints import Endpoints
from tests.harness.plans import PlanSummary, assert_index_backed
from tests.harness.state import eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

COMPLAINTS = 3000  # per collection: complaints, listing, numbers, tickets; facts twice that
DAYS = 400
NOW = datetime.now(UTC)
READS = {"find", "aggregate", "count", "distinct"}
FILTERED_WRITES = {"findAndModify", "update", "delete"}


@dataclass
class Recorded:
    use_case: str
    command: dict[str, Any]


@dataclass
class Commands(CommandListener):
    """Every command sent to the test's database, labelled with the use case running."""

    database: str
    use_case: str | None = None  # None: the test's own commands, not recorded
    seen: list[Recorded] = field(default_factory=list)

    def started(self, event: CommandStartedEvent) -> None:
        if event.database_name == self.database and self.use_case is not None:
            self.seen.append(Recorded(self.use_case, dict(event.command)))

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


def explainable(command: dict[str, Any]) -> list[dict[str, Any]]:
    """The read(s) a recorded command performs, as commands `explain` takes."""
    name = next(iter(command))
    collection = command[name]
    if name == "find":
        keys = ("filter", "sort", "projection", "limit", "skip")
        return [{"find": collection, **{k: command[k] for k in keys if k in command}}]
    if name == "aggregate":
        return [{"aggregate": collection, "pipeline": command["pipeline"], "cursor": {}}]
    if name == "count":
        return [{"count": collection, "query": command.get("query", {})}]
    if name == "findAndModify":
        found = {"find": collection, "filter": command["query"], "limit": 1}
        return [found | ({"sort": command["sort"]} if command.get("sort") else {})]
    if name == "update":
        for u in command["updates"]:
            # Explained as a find, `_id: {$in: [...]}` reads the primary key; as an update the
            # gateway scans the collection (found by the growth benchmark): one update per key.
            assert not isinstance(u["q"].get("_id"), dict), f"update by a set of _id: {u['q']}"
        return [{"find": collection, "filter": u["q"]} for u in command["updates"]]
    if name == "delete":
        return [{"find": collection, "filter": d["q"]} for d in command["deletes"]]
    return []


def _shape(command: dict[str, Any]) -> str:
    """`find listing {office_code, received_at} sort received_at`: the query without values."""
    name = next(iter(command))
    if name == "aggregate":
        query = command["pipeline"][0].get("$match", {})
    else:
        query = command.get("filter", command.get("query", {}))
    sort = f" sort {', '.join(command['sort'])}" if command.get("sort") else ""
    return f"{name} {command[name]} {{{', '.join(query)}}}{sort}"


# -- seeding: documents shaped as the registry writes them ----------------------------------------
def _seed_docs(rng: random.Random) -> dict[str, list[Doc]]:
    docs: dict[str, list[Doc]] = {name: [] for name in INDEXES}
    seqs: dict[tuple[str, int], int] = {}
    start = NOW - timedelta(days=DAYS)
    for i in range(COMPLAINTS):
        cid = str(uuid4())
        office = OFFICES[i % len(OFFICES)]
        at = start + timedelta(seconds=rng.uniform(0, DAYS * 86400))
        year = at.year
        seq = seqs[(office, year)] = seqs.get((office, year), 0) + 1
        number = f"PGD/{office}/{year}/{seq:06d}"
        sent = {"event_id": str(uuid4()), "type": "x", "topic": "x", "payload": None}
        docs["complaints"].append(
            {
                "_id": cid,
                "office_code": office,
                "received_at": at,
                "saved_at": at,
                "channel": "in_person",
                "received_event_id": str(uuid4()),
                "correlation_id": cid,
                "intake": {"elements": {"what": "x" * 400}},
            }
        )
        docs["register_numbers"].append(
            {
                "_id": number_key(office, year, seq),
                "office_code": office,
                "year": year,
                "seq": seq,
                "number": number,
                "complaint_id": cid,
                "at": at,
                "outbox": sent,
            }
        )
        view = {
            "status": rng.choice(["registered", "verified", "closed"]),
            "register_number": number,
            "registered_at": at,
            "notification_failed": rng.random() < 0.05,
            "intake_done_at": at + timedelta(minutes=rng.uniform(1, 60)),
        }
        docs["listing"].append(
            {
                "_id": cid,
                "office_code": office,
                "received_at": at,
                "saved_at": at,
                "channel": "in_person",
                "register_year": year,
                "number_id": number_key(office, year, seq),
                "version": 3,
                "view": view,
                # No `category` here: with it on a quarter of the entries, DocumentDB's plan
                # before ANALYZE sorted the supervisors' filtered page in memory (with
                # statistics it reads the index in order); see the registry README.
            }
        )
        if i % 4 == 0:
            docs["categorisations"].append(
                {
                    "_id": f"{cid}/0001",
                    "complaint_id": cid,
                    "office_code": office,
                    "step": 1,
                    "category": "pelayanan",
                    "previous": None,
                    "reason": None,
                    "by": "uki-1",
                    "at": at + timedelta(days=1),
                    "register_number": number,
                    "outbox": sent,
                }
            )
        docs["tickets"].append(
            {
                "_id": f"{cid}/{uuid4()}",
                "complaint_id": cid,
                "office_code": office,
                "hash": tickets.ticket_hash(TICKET_KEY, tickets.new_ticket()),
                "channels": ["email"],
                "issued_at": at,
                "outbox": sent,
            }
        )
        for minutes in (5, 20):
            docs["facts"].append(
                {
                    "_id": str(uuid4()),
                    "complaint_id": cid,
                    "office_code": office,
                    "type": "sipuma.notification.sent.v1",
                    "at": at + timedelta(minutes=minutes),
                    "data": {"channel": "email"},
                }
            )
        if i % 3 == 0:
            docs["status_changes"].append(
                {
                    "_id": f"{cid}/0001",
                    "complaint_id": cid,
                    "step": 1,
                    "from": "registered",
                    "to": "verified",
                    "note": "Lengkap.",
                    "by": "uki-1",
                    "at": at + timedelta(days=1),
                    "outbox": sent,
                }
            )
    return docs


async def _seed(store: Store) -> dict[str, int]:
    seeded = {}
    for name, docs in _seed_docs(random.Random(13)).items():
        for first in range(0, len(docs), 1000):
            await store.db[name].insert_many(docs[first : first + 1000], ordered=False)
        seeded[name] = len(docs)
    return seeded


async def _statistics_caught_up(store: Store, seeded: dict[str, int], timeout: float = 180) -> None:
    """Until the planner's statistics count the seeded documents. DocumentDB plans from
    PostgreSQL's statistics (ANALYZE, run by autovacuum) and reports what they counted as
    collStats `analyzedCount`. MongoDB (its explain names a `serverInfo`) keeps no such
    statistics: nothing to wait for."""
    probe = await store.db.command("explain", {"find": "listing", "filter": {}})
    if "serverInfo" in probe:
        return
    for name, count in seeded.items():

        async def analyzed(name: str = name, count: int = count) -> bool:
            stats = await store.db.command("collStats", name)
            return bool(stats.get("analyzedCount", 0) >= 0.9 * count)

        await eventually(f"planner statistics for {name}", analyzed, timeout)


def _registry(
    store: Store, endpoints: Endpoints, database: str, published: list[ev.Event]
) -> Runtime:
    """The registry as built by `sipuma-registry`, on the store whose commands are recorded."""

    async def publish(event: ev.Event, topic: str, payload: str | None = None) -> None:
        published.append(event)

    settings = settings_for(endpoints.mongo_uri, database, track_min_seconds=0)
    return build(settings, store=store, publish=publish)


def _auth(office: str, *roles: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(TOKEN_SECRET, 'officer-1', office, roles)}"}


async def test_every_registry_query_is_index_backed(
    endpoints: Endpoints, unique_name: Callable[[str], str]
) -> None:
    database = unique_name("plans").replace("-", "_")
    commands = Commands(database)
    client: AsyncMongoClient[Doc] = AsyncMongoClient(
        endpoints.mongo_uri, tz_aware=True, event_listeners=[commands]
    )
    store = Store(client, database)
    try:
        await store.ensure_indexes()
        seeded = await _seed(store)
        published: list[ev.Event] = []
        built = _registry(store, endpoints, database, published)
        other = _registry(store, endpoints, database, published).registry
        registry = built.registry
        transport = httpx.ASGITransport(app=built.app)
        http = httpx.AsyncClient(transport=transport, base_url="http://r")

        def use(case: str | None) -> None:
            commands.use_case = case

        office = OFFICES[0]
        use("numbering, receiving: a new complaint (contact given)")
        event = received(office, contact=p.TrackingContact(email="pengadu@example.org"))
        number = await registry.receive(event)
        assert number is not None
        use("numbering: another replica took the next seq")
        await other.receive(received(office))
        await registry.receive(received(office))
        use("receiving: a redelivery")
        await registry.receive(event)
        use("dedupe of event ids, later events: a contact, then its redelivery")
        later = contact_provided(office, event.complaint_id)
        await registry.absorb(later)
        await registry.absorb(later)
        use("needs attention: an office not configured")
        assert await registry.receive(received("KPPBC-TMP-TIDAKADA")) is None

        use("staff list page: own office, newest first")
        page = await http.get("/v1/complaints", headers=_auth(office, Role.RECEIVER))
        assert page.status_code == 200 and page.json()["total"] > 0
        use("staff list page: supervisor, every office, filtered")
        await http.get(
            "/v1/complaints",
            params={"status": "verified", "notification_failed": "false", "page": 2},
            headers=_auth(office, Role.SUPERVISOR),
        )
        use("search: office-local dates, supervisor (one window per time zone)")
        day = (NOW - timedelta(days=3)).date().isoformat()
        local = await http.get(
            "/v1/complaints",
            params={"from": day, "to": day},
            headers=_auth(office, Role.SUPERVISOR),
        )
        assert local.status_code == 200
        use("search: part of a number, a name, an employee, not told, overdue; sorted")
        for params in (
            {"number": "000005", "sort": "register_number"},
            {"name": "siti", "employee": "budi", "not_told": True, "overdue": True},
        ):
            searched = await http.post(
                "/v1/complaints/search", json=params, headers=_auth(office, Role.COMPLIANCE)
            )
            assert searched.status_code == 200
        use("export: the list as CSV")
        exported = await http.get(
            "/v1/complaints", params={"format": "csv"}, headers=_auth(office, Role.COMPLIANCE)
        )
        assert exported.status_code == 200
        use("staff list page: own office, by category")
        await http.get(
            "/v1/complaints",
            params={"category": "uncategorised"},
            headers=_auth(office, Role.COMPLIANCE),
        )
        use("staff list page: own office, deadline order (overdue first)")
        await http.get(
            "/v1/complaints", params={"sort": "due"}, headers=_auth(office, Role.COMPLIANCE)
        )
        use(None)
        example = await store.numbers.find_one({"office_code": office, "seq": 5})
        assert example is not None
        use("detail by register number")
        detail = await http.get(
            f"/v1/complaints/{example['number']}", headers=_auth(office, Role.RECEIVER)
        )
        assert detail.status_code == 200
        use("status change (and its outbox entry)")
        changed = await http.post(
            f"/v1/complaints/{number['number']}/status",
            json={"status": Status.VERIFIED.value, "note": "Lengkap."},
            headers=_auth(office, Role.COMPLIANCE),
        )
        assert changed.status_code == 200
        use("supervisor correction: undo (and its outbox entry)")
        undone = await http.post(
            f"/v1/complaints/{number['number']}/undo",
            json={"reason": "Keliru."},
            headers=_auth(office, Role.SUPERVISOR),
        )
        assert undone.status_code == 200
        use("category set, then changed (and their outbox entries)")
        for body in ({"category": "pelayanan"}, {"category": "lainnya", "reason": "Analisis."}):
            categorised = await http.post(
                f"/v1/complaints/{number['number']}/category",
                json=body,
                headers=_auth(office, Role.COMPLIANCE),
            )
            assert categorised.status_code == 200, categorised.text
        use("complainant correction")
        corrected = await http.post(
            f"/v1/complaints/{number['number']}/complainant-corrections",
            json={"address": "Jl. Sudirman 2", "reason": "Pindah."},
            headers=_auth(office, Role.COMPLIANCE),
        )
        assert corrected.status_code == 201
        use("search: by ticket (its hash, then the one listing entry)")
        plain = next(e for e in published if isinstance(e, ev.TicketIssued)).ticket_number
        by_ticket = await http.post(
            "/v1/complaints/search", json={"ticket": plain}, headers=_auth(office, Role.COMPLIANCE)
        )
        assert by_ticket.json()["total"] == 1
        use("tracking lookup by ticket hash")
        # The latest contact's ticket: a corrected contact revokes the earlier ones.
        plain = [e for e in published if isinstance(e, ev.TicketIssued)][-1].ticket_number
        assert (await http.post("/v1/track", json={"ticket": plain})).status_code == 200
        use("service-standard report")
        report = {"from": (NOW - timedelta(days=30)).date().isoformat(), "to": str(NOW.date())}
        for role in (Role.COMPLIANCE, Role.SUPERVISOR):
            answer = await http.get(
                "/v1/reports/service-standard", params=report, headers=_auth(office, role)
            )
            assert answer.status_code == 200
        use("statistics (streamed pages): supervisor every office, compliance own office")
        # 90 days hold a few hundred entries an office: several pages, continuations too.
        quarter = {"from": (NOW - timedelta(days=90)).date().isoformat(), "to": str(NOW.date())}
        for role in (Role.SUPERVISOR, Role.COMPLIANCE):
            answer = await http.get("/v1/statistics", params=quarter, headers=_auth(office, role))
            assert answer.status_code == 200
        use("export: per-complaint CSV (streamed pages), every office")
        answer = await http.get(
            "/v1/statistics/complaints", params=quarter, headers=_auth(office, Role.SUPERVISOR)
        )
        assert answer.status_code == 200 and answer.text.count("\n") > 400
        use("needs attention: the supervisors' list")
        assert (await http.get("/v1/attention", headers=_auth(office, Role.SUPERVISOR))).json()[
            "total"
        ] == 1
        await http.aclose()

        use(None)  # an entry whose fast publish failed
        due = {"$set": {"outbox.due": NOW - timedelta(seconds=1)}}
        await store.status_changes.update_one({"complaint_id": str(event.complaint_id)}, due)
        use("outbox relay")
        assert await built.relay.relay_once(at=NOW + GRACE) >= 1
        use("outbox age")
        await built.relay.observe_age()
        use("start-up recovery")
        await registry.recover()

        use(None)  # the explains themselves are not recorded
        # Right after the bulk load (statistics may lag), then with statistics caught up.
        for moment in ("after the bulk load", "with statistics"):
            if moment == "with statistics":
                await _statistics_caught_up(store, seeded)
            shown: dict[tuple[str, str], PlanSummary] = {}
            for recorded in commands.seen:
                for command in explainable(recorded.command):
                    plan = await store.db.command("explain", command, verbosity="queryPlanner")
                    # The staff list's page, and each page of a streamed read, is read in index
                    # order: its cost is the page's (a streamed page sorted in memory would sort
                    # all the rest of the range, each page again).
                    in_order = command.get("find") == "listing" and (
                        "staff list" in recorded.use_case or "streamed pages" in recorded.use_case
                    )
                    try:
                        summary = assert_index_backed(plan, sorted_by_index=in_order)
                    except AssertionError as refused:
                        where = f"{moment}, {recorded.use_case}: {command}"
                        raise AssertionError(f"{where}\n{refused}") from None
                    shown[(recorded.use_case, _shape(command))] = summary
            covered = {case for case, _ in shown}
            assert len(covered) == 26, sorted(covered)  # every use case above issued a read
        for (case, what), summary in sorted(shown.items()):
            sort = ", sorted in memory" if summary.in_memory_sort else ""
            print(f"{case} | {what} | {', '.join(sorted(summary.indexes))}{sort}")
    finally:
        await client.drop_database(database)
        await client.close()
