"""Pure functions that fold the stored facts of one complaint into what people read: the
listing cache (`view`), the staff detail, and the public timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sipuma.registry.domain import LABELS, RECEIVED, Doc
from sipuma.shared import events as ev

SENT, FAILED = ev.NotificationSent.TYPE, ev.NotificationFailed.TYPE
TOLD = ev.RegisterNumberCommunicated.TYPE


def intake_done_at(facts: list[Doc]) -> datetime | None:
    """SOP service standard: intake ends when the ticket went out or the number was told."""
    moments = [
        f["at"]
        for f in facts
        if f["type"] == SENT or (f["type"] == TOLD and f["data"].get("outcome") == "told")
    ]
    return min(moments) if moments else None


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
    return {
        "status": status,
        "register_number": number["number"] if number else None,
        "registered_at": number["at"] if number else None,
        "ticket_issued": bool(tickets),
        "notifications": outcomes,
        "notification_failed": any(o["status"] == "failed" for o in outcomes.values()),
        "communicated": told[-1]["data"]["outcome"] if told else None,
        "intake_done_at": intake_done_at(facts),
        "updated_at": max([complaint["saved_at"], *[f["at"] for f in facts]]),
    }


def timeline(complaint: Doc, number: Doc | None, changes: list[Doc]) -> list[Doc]:
    """The public timeline. "Diterima" is when the officer received the complaint (the SOP's
    receipt time), not when it was saved."""
    steps = [(RECEIVED, complaint["received_at"])]
    if number:
        steps.append(("registered", number["at"]))
    steps += [(c["to"], c["at"]) for c in changes]
    return [
        {"status": status, "at": at, "label": {"id": LABELS[status][0], "en": LABELS[status][1]}}
        for status, at in steps
    ]


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
        "complainant": intake.get("complainant"),
        "elements": intake.get("elements"),
        "paper_archive_ref": intake.get("paper_archive_ref"),
        "tracking_contact": intake.get("tracking_contact"),
        "reported_employees": employees,
        "supplements": supplements,
        "contacts": [
            f["data"]["contact"] for f in by_type.get(ev.TrackingContactProvided.TYPE, [])
        ],
        "evidence": [
            {
                k: f["data"][k]
                for k in ("evidence_id", "kind", "content_type", "size_bytes", "sha256")
            }
            | {"at": f["at"]}
            for f in by_type.get(ev.EvidenceStored.TYPE, [])
        ],
        "communications": [
            {
                k: f["data"].get(k)
                for k in ("outcome", "method", "unreachable_reason", "note", "officer_id")
            }
            | {"at": f["at"]}
            for f in by_type.get(TOLD, [])
        ],
        "notifications": notifications(facts),
        "tickets": [{"issued_at": t["issued_at"], "channels": t["channels"]} for t in tickets],
        "status_history": [{k: c[k] for k in ("from", "to", "note", "by", "at")} for c in changes],
        "intake_done_at": intake_done_at(facts),
    }
