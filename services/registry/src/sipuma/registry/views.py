"""Pure functions that fold the stored facts of one complaint into what people read: the
listing cache (`view`), the staff detail, and the public timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sipuma.registry.domain import LABELS, RECEIVED, Doc
from sipuma.shared import events as ev

SENT, FAILED = ev.NotificationSent.TYPE, ev.NotificationFailed.TYPE
TOLD = ev.RegisterNumberCommunicated.TYPE
OUTCOMES = ("told", "unreachable")
# A registry fact (no event): staff corrected the complainant's phone, address or e-mail.
COMPLAINANT_CORRECTED = "sipuma.registry.complainant-corrected"
CORRECTABLE = ("phone", "address", "email")
COMMUNICATION_FIELDS = ("outcome", "method", "unreachable_reason", "note", "officer_id")
# The public timeline's entries for "register number told" and "complainant unreachable".
COMMUNICATED = {"told": "number_told", "unreachable": "unreachable"}


def intake_end(facts: list[Doc]) -> tuple[datetime, str] | None:
    """SOP service standard: the intake ends when the ticket went out (`ticket_sent`), the
    number was told (`told`) or the complainant could not be reached (`unreachable`: SOP step
    6 lets the receiver finish the intake then), whichever came first; with that outcome."""
    ends = [
        (f["at"], "ticket_sent" if f["type"] == SENT else f["data"].get("outcome"))
        for f in facts
        if f["type"] == SENT or (f["type"] == TOLD and f["data"].get("outcome") in OUTCOMES)
    ]
    return min(ends) if ends else None


def intake_done_at(facts: list[Doc]) -> datetime | None:
    end = intake_end(facts)
    return end[0] if end else None


def communications(facts: list[Doc]) -> list[Doc]:
    """ "Register number told / unreachable" entries. A repeat of the same record (two requests
    without an Idempotency-Key: same outcome, method, reason, note and officer) is shown once,
    with how often it came."""
    kept: list[Doc] = []
    for fact in facts:
        if fact["type"] != TOLD:
            continue
        entry = {k: fact["data"].get(k) for k in COMMUNICATION_FIELDS} | {"at": fact["at"]}
        same = [c for c in kept if all(c[k] == entry[k] for k in COMMUNICATION_FIELDS)]
        if same:
            same[0]["repeated"] += 1
            continue
        kept.append(entry | {"repeated": 0})
    return kept


def deliveries(facts: list[Doc]) -> list[Doc]:
    """Every delivery outcome, in order: a second ticket's e-mail is not hidden by the first."""
    return [
        {
            "channel": f["data"]["channel"],
            "status": "sent" if f["type"] == SENT else "failed",
            "at": f["at"],
            "ticket_event_id": f["data"].get("ticket_event_id"),
            "attempts": f["data"].get("attempts"),
            "reason": f["data"].get("reason"),
            "final": f["data"].get("final", True),
        }
        for f in facts
        if f["type"] in (SENT, FAILED)
    ]


def contact_key(ticket: Doc) -> tuple[str, str]:
    """When the ticket's contact was given (older tickets: when issued), then its key."""
    moment = ticket.get("contact_at") or ticket["issued_at"]
    return moment.isoformat() if isinstance(moment, datetime) else str(moment), ticket["_id"]


def revocations(tickets: list[Doc]) -> dict[str, datetime | None]:
    """A corrected tracking contact revokes the tickets sent to the earlier contacts (a wrong
    address must not keep a working ticket): each ticket's revocation time, None when valid."""
    ordered = sorted(tickets, key=contact_key)
    revoked: dict[str, datetime | None] = {}
    for ticket, newer in zip(ordered, [*ordered[1:], None], strict=False):
        revoked[ticket["_id"]] = (
            None if newer is None else (newer.get("contact_at") or newer["issued_at"])
        )
    return revoked


def notifications(facts: list[Doc]) -> dict[str, Doc]:
    latest: dict[str, Doc] = {}
    for fact in facts:
        if fact["type"] in (SENT, FAILED):
            data = fact["data"]
            latest[data["channel"]] = {
                "status": "sent" if fact["type"] == SENT else "failed",
                "at": fact["at"],
                "attempts": data.get("attempts"),
                "reason": data.get("reason"),
                "final": data.get("final", True),
            }
    return latest


def build_view(
    complaint: Doc, number: Doc | None, changes: list[Doc], facts: list[Doc], tickets: list[Doc]
) -> Doc:
    status = changes[-1]["to"] if changes else ("registered" if number else RECEIVED)
    outcomes = notifications(facts)
    told = [f for f in facts if f["type"] == TOLD]
    end = intake_end(facts)
    return {
        "status": status,
        "register_number": number["number"] if number else None,
        "registered_at": number["at"] if number else None,
        "ticket_issued": bool(tickets),
        "notifications": outcomes,
        "notification_failed": any(o["status"] == "failed" for o in outcomes.values()),
        "communicated": told[-1]["data"]["outcome"] if told else None,
        "intake_done_at": end[0] if end else None,
        "intake_outcome": end[1] if end else None,
        "updated_at": max([complaint["saved_at"], *[f["at"] for f in facts]]),
    }


def timeline(
    complaint: Doc, number: Doc | None, changes: list[Doc], facts: list[Doc] | None = None
) -> list[Doc]:
    """The public timeline. "Diterima" is when the officer received the complaint (the SOP's
    receipt time), not when it was saved. The register number's communication is an entry
    (outcome and date only, never the note)."""
    steps = [(RECEIVED, complaint["received_at"])]
    if number:
        steps.append(("registered", number["at"]))
    steps += [(c["to"], c["at"]) for c in changes]
    told = [(COMMUNICATED[c["outcome"]], c["at"]) for c in communications(facts or [])]
    entries = [
        {"status": status, "at": at, "label": {"id": LABELS[status][0], "en": LABELS[status][1]}}
        for status, at in steps
    ]
    events = [
        {"status": kind, "at": at, "label": {"id": LABELS[kind][0], "en": LABELS[kind][1]}}
        for kind, at in told
    ]
    # Chronological; a stable sort keeps the statuses' own order.
    entries = sorted(entries + events, key=lambda e: e["at"])
    return entries


def detail(
    complaint: Doc, number: Doc | None, changes: list[Doc], facts: list[Doc], tickets: list[Doc]
) -> dict[str, Any]:
    """Everything staff may see about one complaint, supplements as append-only history."""
    intake = complaint.get("intake", {})
    by_type: dict[str, list[Doc]] = {}
    for fact in facts:
        by_type.setdefault(fact["type"], []).append(fact)
    supplements = [f["data"] for f in by_type.get(ev.ComplaintSupplemented.TYPE, [])]
    employees = list(intake.get("elements", {}).get("who", []))
    told = communications(facts)
    revoked = revocations(tickets)
    current, corrections = complainant_details(complaint, facts)
    for supplement in supplements:
        employees += supplement.get("reported_employees", [])
    return {
        "complaint_id": complaint["_id"],
        "office_code": complaint["office_code"],
        "register_number": number["number"] if number else None,
        "registered_at": number["at"] if number else None,
        "status": build_view(complaint, number, changes, facts, tickets)["status"],
        "channel": complaint["channel"],
        "channel_other": intake.get("channel_other"),
        "received_at": complaint["received_at"],
        "saved_at": complaint["saved_at"],
        "receiving_officer_id": intake.get("receiving_officer_id"),
        "complainant": intake.get("complainant"),  # as received, never edited
        "complainant_current": current,
        "complainant_corrections": corrections,
        "elements": intake.get("elements"),
        "paper_archive_ref": intake.get("paper_archive_ref"),
        "tracking_contact": intake.get("tracking_contact"),
        "reported_employees": employees,
        "supplements": supplements,
        # Who gave each tracking contact and when (a correction is a new entry, never an edit).
        "contacts": [
            {"contact": f["data"]["contact"], "officer_id": f["data"].get("officer_id")}
            | {"at": f["at"]}
            for f in by_type.get(ev.TrackingContactProvided.TYPE, [])
        ],
        "evidence": [
            {
                k: f["data"][k]
                for k in ("evidence_id", "kind", "content_type", "size_bytes", "sha256")
            }
            | {"at": f["at"]}
            for f in by_type.get(ev.EvidenceStored.TYPE, [])
        ],
        "communications": told,
        "notifications": notifications(facts),
        "deliveries": deliveries(facts),
        "tickets": [
            {
                "issued_at": t["issued_at"],
                "channels": t["channels"],
                "revoked_at": revoked[t["_id"]],
            }
            for t in sorted(tickets, key=contact_key)
        ],
        "status_history": history(changes, told),
        "intake_done_at": intake_done_at(facts),
        "intake_outcome": (intake_end(facts) or (None, None))[1],
    }


def complainant_details(complaint: Doc, facts: list[Doc]) -> tuple[Doc, list[Doc]]:
    """The complainant's current details (the record as received, with every correction
    applied in order) and the corrections, each field with its previous and new value."""
    current = dict(complaint.get("intake", {}).get("complainant") or {})
    trail: list[Doc] = []
    for fact in facts:
        if fact["type"] != COMPLAINANT_CORRECTED:
            continue
        data = fact["data"]
        changed = [
            {"field": name, "previous": current.get(name), "value": value}
            for name, value in data["changes"].items()
        ]
        current.update(data["changes"])
        trail.append(
            {"changes": changed, "reason": data["reason"], "by": data["officer_id"]}
            | {"at": fact["at"]}
        )
    return current, trail


def history(changes: list[Doc], told: list[Doc]) -> list[Doc]:
    """Status steps and the register number's communication, in time order, each with its
    `kind` (`change`, `reopen`, `undo`, `communication`)."""
    fields = ("from", "to", "note", "by", "at", "reason", "undoes", "destination", "reference")
    # kind: change (a follow-up step), reopen or undo (supervisor corrections, with a reason)
    steps = [{"kind": c.get("kind", "change")} | {k: c.get(k) for k in fields} for c in changes]
    said = [
        {"kind": "communication", "outcome": c["outcome"], "note": c["note"]}
        | {"by": c["officer_id"], "at": c["at"]}
        for c in told
    ]
    return sorted(steps + said, key=lambda entry: entry["at"])
